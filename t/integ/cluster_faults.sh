#!/usr/bin/env bash
# Faults in a three-node cluster.  A leader cut off from both followers
# (they are stopped with SIGSTOP) refuses writes with 503 instead of
# hanging, and once they run again the cluster heals, with the cut-off node
# caught up.  A follower killed with -9 comes back and catches up.  Then a
# rolling restart of all three nodes (SIGTERM, start,
# catch up, next) under a steady stream of submissions loses no
# acknowledged workload.
. "$(dirname "$0")/lib.sh"

t_require_tools
NODES=(1 2 3)
cluster_secrets
for id in "${NODES[@]}"; do
	node_init "$id"
done
for id in "${NODES[@]}"; do
	node_start "$id" --peers "$(node_peers "${NODES[@]}")"
done
wait_until "a leader among 1, 2, 3" 60 has_leader "${NODES[@]}" ||
    bail "no node became the ready leader"
LEADER=$(leader_of "${NODES[@]}")
pass "node $LEADER leads"
on "$LEADER"
start_cluster_worker w-a "${NODES[@]}"
start_cluster_worker w-b "${NODES[@]}"
wait_worker_alive w-a
wait_worker_alive w-b

# --- a leader cut off from the others ------------------------------------------
OTHERS=()
for id in "${NODES[@]}"; do
	[ "$id" != "$LEADER" ] && OTHERS+=("$id")
done
for id in "${OTHERS[@]}"; do
	unset "T_EXPECT[${NODE_PID[$id]}]"
	kill -STOP "${NODE_PID[$id]}"
done
on "$LEADER"
BODY='{"workload_type":"sleep","input_params":{"duration_ms":10},"max_retries":0}'
t0=$(now_ms)
api POST /v1/workloads "$BODY" >/dev/null
took=$(( $(now_ms) - t0 ))
is "$(api_status)" 503 "a write to the cut-off leader answers 503"
ok "with Retry-After" [ -n "$(api_header Retry-After)" ]
ok "within the propose timeout, not a hang (${took} ms)" [ "$took" -lt 12000 ]
stepped_down() {
	[ "$(health_field "$LEADER" .leader)" = false ]
}
ok "it steps down: no quorum" wait_until "node $LEADER to step down" 30 stepped_down
t0=$(now_ms)
api POST /v1/workloads "$BODY" >/dev/null
took=$(( $(now_ms) - t0 ))
is "$(api_status)" 503 "without a leader a write answers 503"
ok "at once (${took} ms)" [ "$took" -lt 3000 ]
is "$(t_http_code "$(node_url "$LEADER")/ready")" 503 "/ready says 503"

for id in "${OTHERS[@]}"; do
	kill -CONT "${NODE_PID[$id]}"
	T_EXPECT[${NODE_PID[$id]}]=node-$id
done
ok "the cluster elects a leader again" wait_until "a leader" 60 has_leader "${NODES[@]}"
LEADER=$(leader_of "${NODES[@]}")
on "$LEADER"
id=$(submit_sleep 10)
ok "writes are taken again" [ -n "$id" ]
ok "and run" wait_until "$id COMPLETED" 30 wl_status_is "$id" COMPLETED
all_caught_up() {
	local n
	for n in "${NODES[@]}"; do
		caught_up "$n" "$LEADER" || return 1
	done
}
ok "every node, the cut-off one too, catches up" \
    wait_until "all caught up" 60 all_caught_up

# --- a follower killed with -9 comes back and catches up ---------------------
VICTIM=""
for id in "${NODES[@]}"; do
	[ "$id" != "$LEADER" ] && VICTIM=$id && break
done
stop_proc "${NODE_PID[$VICTIM]}" KILL
is "$STOP_STATUS" 137 "kill -9 a follower (node $VICTIM)"
ids=()
for i in 1 2 3 4 5; do
	ids+=("$(submit_sleep 10)")
done
ok "the two others take writes meanwhile" [ "$(printf '%s\n' "${ids[@]}" | grep -c .)" -eq 5 ]
node_start "$VICTIM"
ok "the follower comes back and catches up" \
    wait_until "node $VICTIM to catch up" 60 caught_up "$VICTIM" "$LEADER"
on "$VICTIM"
ok "it answers for what was written while it was down" \
    wait_until "${ids[4]} COMPLETED" 30 wl_status_is "${ids[4]}" COMPLETED
on "$LEADER"

# --- rolling restart under load ---------------------------------------------------
ACKS=$T_DIR/acked
submitter "$ACKS" "${NODES[@]}" </dev/null 2>/dev/null &
SUBMITTER=$!
ok "submissions flow" wait_until "10 acknowledged" 60 acked_at_least "$ACKS" 10
for id in "${NODES[@]}"; do
	stop_proc "${NODE_PID[$id]}" TERM 30
	is "$STOP_STATUS" 0 "node $id stops cleanly on SIGTERM"
	node_start "$id"
	wait_until "a leader" 60 has_leader "${NODES[@]}" || bail "no leader after restarting node $id"
	LEADER=$(leader_of "${NODES[@]}")
	ok "node $id is back and caught up" \
	    wait_until "node $id to catch up" 60 caught_up "$id" "$LEADER"
	before=$(wc -l <"$ACKS")
	ok "submissions are acknowledged after restarting node $id" \
	    wait_until "5 more acknowledged" 60 acked_at_least "$ACKS" $((before + 5))
done
touch "$T_DIR/stop"
wait "$SUBMITTER"
LEADER=$(leader_of "${NODES[@]}")
on "$LEADER"
check_acked "$ACKS"

for w in w-a w-b; do
	stop_proc "${WORKER_PID[$w]}" TERM
	is "$STOP_STATUS" 0 "$w exits 0 on SIGTERM"
done
for id in "${NODES[@]}"; do
	stop_proc "${NODE_PID[$id]}" TERM 30
	is "$STOP_STATUS" 0 "node $id exits 0 on SIGTERM"
done
done_testing
