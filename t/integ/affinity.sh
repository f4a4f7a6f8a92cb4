#!/usr/bin/env bash
# Placement rules with two workers, gpu1 (tagged gpu=true) and cpu1: hard
# tag affinity, a hard worker id, soft and anti-affinity, and a workload no
# worker can take, which waits PENDING without blocking the others.
. "$(dirname "$0")/lib.sh"

coord_init
start_coord
wait_coord_ready
start_worker gpu1 --capacity 2 --tag gpu=true
start_worker cpu1 --capacity 2
wait_worker_alive gpu1
wait_worker_alive cpu1
is "$(worker_field gpu1 .tags.gpu)" true "gpu1 reports its tag"

# First in the queue: nobody has zone=mars.
stuck=$(submit_sleep 10 '"affinity_rules":{"hard_affinity":{"worker_tags":{"zone":"mars"}}}')
ok "submit a workload no worker can take" [ -n "$stuck" ]

gpu_ids=()
for i in 1 2 3 4 5 6; do
	gpu_ids+=("$(submit_sleep 200 '"affinity_rules":{"hard_affinity":{"worker_tags":{"gpu":"true"}}}')")
done
ok "submit 6 workloads that need gpu=true" [ "$(printf '%s\n' "${gpu_ids[@]}" | grep -c .)" -eq 6 ]
pinned=$(submit_sleep 100 '"affinity_rules":{"hard_affinity":{"worker_id":"cpu1"}}')
ok "submit a workload pinned to cpu1" [ -n "$pinned" ]
free_ids=()
for i in 1 2 3; do
	free_ids+=("$(submit_sleep 50)")
done

ok "the gpu workloads COMPLETE" \
    wait_until "6 gpu workloads COMPLETED" 60 all_status_is COMPLETED "${gpu_ids[@]}"
on_gpu=0
for id in "${gpu_ids[@]}"; do
	[ "$(wl_field "$id" .worker_id)" = gpu1 ] && on_gpu=$((on_gpu + 1))
done
is "$on_gpu" 6 "every gpu=true workload ran on gpu1"
ok "the pinned workload COMPLETES" \
    wait_until "pinned $pinned COMPLETED" 30 wl_status_is "$pinned" COMPLETED
is "$(wl_field "$pinned" .worker_id)" cpu1 "the pinned workload ran on cpu1"
ok "workloads without rules COMPLETE behind the stuck one" \
    wait_until "free workloads COMPLETED" 30 all_status_is COMPLETED "${free_ids[@]}"
wl=$(wl_get "$stuck")
is "$(jget "$wl" .status)" PENDING "the unplaceable workload stays PENDING"
is "$(jget "$wl" .worker_id)" null "the unplaceable workload has no worker"

# Soft affinity: with both workers idle, the preferred one gets it.
soft=$(submit_sleep 50 '"affinity_rules":{"soft_affinity":{"worker_id":"cpu1"}}')
ok "soft-affinity workload COMPLETES" \
    wait_until "soft $soft COMPLETED" 30 wl_status_is "$soft" COMPLETED
is "$(wl_field "$soft" .worker_id)" cpu1 "soft affinity picks the preferred idle worker"
soft_tag=$(submit_sleep 50 '"affinity_rules":{"soft_affinity":{"worker_tags":{"gpu":"true"}}}')
ok "soft tag workload COMPLETES" \
    wait_until "soft tag $soft_tag COMPLETED" 30 wl_status_is "$soft_tag" COMPLETED
is "$(wl_field "$soft_tag" .worker_id)" gpu1 "soft tag affinity picks the tagged idle worker"

# Anti-affinity: while gpu1 runs a sleep, "avoid sleep" goes to cpu1.
busy=$(submit_sleep 600000 '"affinity_rules":{"hard_affinity":{"worker_id":"gpu1"}}')
ok "a long sleep RUNS on gpu1" \
    wait_until "busy $busy RUNNING" 30 wl_status_is "$busy" RUNNING
anti=$(submit '{"workload_type":"exec","input_params":{"argv":["true"]},"max_retries":0,"affinity_rules":{"anti_affinity":{"workload_types":["sleep"]}}}')
ok "anti-affinity workload COMPLETES" \
    wait_until "anti $anti COMPLETED" 30 wl_status_is "$anti" COMPLETED
is "$(wl_field "$anti" .worker_id)" cpu1 "anti-affinity avoids the worker running that type"
api POST "/v1/workloads/$busy/cancel" >/dev/null
like "$(api_status)" '^20[02]$' "cancel the long sleep"

# Cancelling a PENDING workload is immediate.
body=$(api POST "/v1/workloads/$stuck/cancel")
is "$(api_status)" 200 "cancel of a PENDING workload answers 200"
is "$(jget "$body" .status)" CANCELLED "and it is CANCELLED at once"
ok "the long sleep ends CANCELLED" \
    wait_until "busy $busy CANCELLED" 30 wl_status_is "$busy" CANCELLED

done_testing
