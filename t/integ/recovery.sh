#!/usr/bin/env bash
# No work lost when a worker dies: a 6 s sleep that checkpoints every
# 300 ms runs on worker wa; once it has checkpointed, a second worker wb
# joins and wa is killed with SIGKILL.  The coordinator (short heartbeat
# and dead timeouts) declares wa dead, the workload goes back to PENDING
# and runs again on wb as attempt 2, resumed from the checkpoint
# (result.resumed_from_ms > 0), and COMPLETES exactly once.  A worker's
# death is not the workload's failure: failures stays 0, and max_retries 0
# does not stop the second attempt.
. "$(dirname "$0")/lib.sh"

# checkpointed ID: RUNNING with at least one checkpoint, or finished
# (then waiting longer is pointless).
checkpointed_or_over() {
	jtrue "$(wl_get "$1")" '.status == "RUNNING" and .checkpoint_seq >= 1' ||
	    wl_terminal "$1"
}

# moved_or_over ID WORKER: the workload holds a slot on WORKER, or finished.
moved_or_over() {
	[ "$(wl_field "$1" .worker_id)" = "$2" ] || wl_terminal "$1"
}

worker_dead() {
	[ "$(worker_field "$1" .status)" = DEAD ]
}

coord_init
start_coord --worker-heartbeat-ms 300 --worker-dead-ms 2000
wait_coord_ready
start_worker wa --capacity 2
wait_worker_alive wa

L=$(submit '{"workload_type":"sleep","input_params":{"duration_ms":6000,"checkpoint_ms":300},"max_retries":0}')
ok "submit a 6 s sleep with checkpoint_ms 300 and max_retries 0" [ -n "$L" ] ||
    bail "cannot submit"
wait_until "$L RUNNING with a checkpoint" 30 checkpointed_or_over "$L"
wl=$(wl_get "$L")
ok "it RUNS on wa and checkpoints (checkpoint_seq $(jget "$wl" .checkpoint_seq))" \
    jtrue "$wl" '.status == "RUNNING" and .worker_id == "wa" and .attempt == 1 and .checkpoint_seq >= 1' ||
    bail "the sleep did not checkpoint while running on wa: $wl"

start_worker wb --capacity 2
wait_worker_alive wb
is "$(wl_field "$L" .worker_id)" wa "it stays on wa when wb joins"

stop_proc "${WORKER_PID[wa]}" KILL 10
is "$STOP_STATUS" 137 "kill -9 worker wa while it runs the workload"
t_kill=$(now_ms)
ok "the coordinator declares wa DEAD" wait_until "wa DEAD" 30 worker_dead wa
diag "wa declared dead $(($(now_ms) - t_kill)) ms after the kill"
ok "the workload moves to wb" wait_until "$L on wb" 30 moved_or_over "$L" wb
ok "it COMPLETES" wait_until "$L COMPLETED" 60 wl_terminal "$L"

wl=$(wl_get "$L")
is "$(jget "$wl" .status)" COMPLETED "its status is COMPLETED"
is "$(jget "$wl" .attempt)" 2 "it took attempt 2"
is "$(jget "$wl" .worker_id)" wb "it ran on wb"
is "$(jget "$wl" .failures)" 0 "the worker's death is not counted as a failure"
ok "result.resumed_from_ms > 0: attempt 2 resumed from the checkpoint (got $(jget "$wl" .result.resumed_from_ms))" \
    jtrue "$wl" '(.result.resumed_from_ms // 0) > 0 and .result.resumed_from_ms < 6000'
ok "result.slept_ms is reported" jtrue "$wl" '(.result.slept_ms | type) == "number"'
ok "its progress is 100" jtrue "$wl" '.progress == 100'

# The audit trail tells the whole story, once.
events=$(audit_all "workload_id=$L")
ok "GET /v1/audit-events?workload_id=... answers" [ -n "$events" ]
trail=$(status_trail "$events")
is "$trail" "->PENDING PENDING>SCHEDULED SCHEDULED>RUNNING RUNNING>PENDING PENDING>SCHEDULED SCHEDULED>RUNNING RUNNING>COMPLETED" \
    "the status trail: run on wa, back to PENDING, run on wb, COMPLETED"
is "$(jq '[.[] | select(.to == "COMPLETED")] | length' <<<"$events")" 1 \
    "exactly one transition to COMPLETED"
like "$(jq -r '[.[] | select(.kind == "status" and .from == "RUNNING" and .to == "PENDING")][0].detail // ""' <<<"$events")" \
    'dead' "the requeue says the worker died"
is "$(jq -r '[.[] | select(.kind == "status" and .to == "SCHEDULED") | .detail] | join(", ")' <<<"$events")" \
    "worker wa attempt 1, worker wb attempt 2" "attempt 1 was placed on wa, attempt 2 on wb"
ok "the coordinator logged wa's death" grep -q 'WORKERDEAD.*wa' "$COORD_LOG"

ok "wb's slot is free again" \
    wait_until "wb used_slots 0" 30 eval '[ "$(worker_field wb .used_slots)" = 0 ]'
is "$(worker_field wa .status)" DEAD "wa stays DEAD"

done_testing
