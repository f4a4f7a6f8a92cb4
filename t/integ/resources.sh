#!/usr/bin/env bash
# Resources: workers offer GPUs and memory (niyanta-worker --gpus,
# --memory-mb); a workload asking for some runs only where that much is
# free, and waits with unschedulable_reason insufficient_resources while
# slots are free but the resources are taken.  A workload asking for
# nothing still runs on a worker offering nothing.  The worker JSON shows
# what it offers; the scheduler metrics count the wait and are admin-only.
. "$(dirname "$0")/lib.sh"

wl_worker_is() {
	jtrue "$(wl_get "$1")" ".status == \"RUNNING\" and .worker_id == \"$2\""
}

reason_is() {
	[ "$(wl_field "$1" '.unschedulable_reason // empty')" = "$2" ]
}

coord_init
start_coord
wait_coord_ready
start_worker gpu --capacity 4 --gpus 1 --memory-mb 4096
start_worker plain --capacity 4
wait_worker_alive gpu
wait_worker_alive plain
is "$(worker_field gpu '.resources.gpus')" 1 "the GPU worker offers 1 GPU"
is "$(worker_field plain '.resources.gpus')" 0 "the other offers none"

G='{"workload_type":"sleep","input_params":{"duration_ms":3000},"max_retries":0,"resources":{"gpus":1,"memory_mb":1024}}'
A=$(submit "$G")
ok "submit a workload asking for a GPU and 1 GiB" [ -n "$A" ] || bail "cannot submit"
is "$(wl_field "$A" '.resources.gpus')" 1 "its record shows the request"
wait_until "$A RUNNING on gpu" 30 wl_worker_is "$A" gpu
ok "it runs on the GPU worker" wl_worker_is "$A" gpu
B=$(submit "$G")
ok "submit a second one" [ -n "$B" ]
wait_until "$B to wait for the GPU" 20 reason_is "$B" insufficient_resources
ok "it waits: insufficient_resources, though both workers have free slots" \
    reason_is "$B" insufficient_resources
is "$(wl_field "$B" .status)" PENDING "still PENDING"
m=$(api GET /v1/metrics/scheduler)
is "$(api_status)" 200 "GET /v1/metrics/scheduler"
ok "the metrics count the wait for resources and the placements" \
    jtrue "$m" '.unschedulable.insufficient_resources >= 1 and .placements >= 1 and .passes >= 1'
ok "and have a latency histogram ending in +Inf" \
    jtrue "$m" '(.pass_latency | last | .le_us) == "+Inf" and (.pass_latency | last | .count) == .passes'
C=$(submit_sleep 500)
wait_until "$C COMPLETED" 30 wl_status_is "$C" COMPLETED
ok "a workload asking for nothing runs meanwhile" wl_status_is "$C" COMPLETED
wait_until "$B RUNNING on gpu" 30 wl_worker_is "$B" gpu
ok "once the GPU is free, the second runs there" wl_worker_is "$B" gpu
wait_until "$B COMPLETED" 30 wl_status_is "$B" COMPLETED
ok "and completes" wl_status_is "$B" COMPLETED

body=$(api POST /v1/workloads '{"workload_type":"sleep","input_params":{"duration_ms":1},"resources":{"gpus":-1}}')
is "$(api_status)" 400 "a negative request is refused"
like "$body" 'resources.gpus' "naming resources.gpus"

customer_create acme standard "$T_DIR/acme.key" '"rate_limit_rps":1000' >/dev/null ||
    bail "cannot create a customer"
API_AS=$(key_of "$T_DIR/acme.key") api GET /v1/metrics/scheduler >/dev/null
is "$(api_status)" 403 "a customer may not read the scheduler metrics"

done_testing
