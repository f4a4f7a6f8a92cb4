#!/usr/bin/env bash
# No head-of-line blocking at the coordinator: a scheduling pass reads a
# window of the queue (4 × free slots + 256 here), and 300 workloads of a
# customer at its max_concurrent sit at the head.  A workload behind them
# must still be placed on the free slot: a pass whose window placed nothing
# while slots are free reads further.
. "$(dirname "$0")/lib.sh"

running_count() {
	jget "$(API_AS=$KC api GET '/v1/workloads?status=RUNNING&limit=100')" \
	    '.workloads | length'
}

one_running() {
	[ "$(running_count)" = 1 ]
}

# has_reason ID: the scheduler has said why ID waits.
has_reason() {
	[ -n "$(wl_field "$1" '.unschedulable_reason // empty')" ]
}

coord_init
start_coord
wait_coord_ready
start_worker w1 --capacity 2
wait_worker_alive w1

customer_create capped premium "$T_DIR/c.key" \
    '"rate_limit_rps":1000,"max_concurrent":1' >/dev/null ||
    bail "cannot create the customer"
KC=$(key_of "$T_DIR/c.key")
item='{"workload_type":"sleep","input_params":{"duration_ms":60000},"max_retries":0}'
body='{"workloads":['$item
for _ in $(seq 2 300); do
	body=$body,$item
done
body=$body']}'
reply=$(API_AS=$KC api POST /v1/workloads/batch "$body")
is "$(api_status)" 201 "the customer submits 300 long sleeps in one batch"
wait_until "one of them running" 30 one_running
ok "one runs: the customer's max_concurrent is 1" one_running
last=$(jget "$reply" '.workloads[299].id')
wait_until "the last to show why it waits" 20 has_reason "$last"
is "$(wl_field "$last" .unschedulable_reason)" customer_max_concurrent \
    "the others wait for the customer's quota"

# Premium outranks the admin's standard-weight work: this one queues
# behind all 299.
A=$(submit_sleep 200)
ok "a workload is submitted behind them" [ -n "$A" ] || bail "cannot submit"
wait_until "$A COMPLETED" 30 wl_status_is "$A" COMPLETED
ok "it runs on the free slot and completes" wl_status_is "$A" COMPLETED
is "$(running_count)" 1 "and the customer still runs only one"

done_testing
