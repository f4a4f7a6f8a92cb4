#!/usr/bin/env bash
# A worker declared dead while still alive cannot finish its old attempt.
# Worker wa (one slot) runs an 8 s sleep that checkpoints every 300 ms;
# once it has checkpointed, wa is frozen with SIGSTOP.  The coordinator
# (short heartbeat and dead timeouts) declares wa DEAD and puts the
# workload back to PENDING; worker wb joins and runs it as attempt 2,
# resumed from the checkpoint.  Then wa is thawed with SIGCONT while wb
# still runs it (usually): wa's late reports about attempt 1 must be
# fenced off.  The workload ends COMPLETED once, with attempt 2, on wb,
# with wb's result (resumed_from_ms > 0; attempt 1 started from zero).
# wa registers again, is ALIVE, and takes new work: a workload pinned to
# it COMPLETES there.  wa has one slot and one executor thread, so that
# workload can only run once wa is done with its stale attempt.
. "$(dirname "$0")/lib.sh"

checkpointed_or_over() {
	jtrue "$(wl_get "$1")" '.status == "RUNNING" and .checkpoint_seq >= 1' ||
	    wl_terminal "$1"
}

worker_dead() {
	[ "$(worker_field "$1" .status)" = DEAD ]
}

# running_on_or_over ID WORKER ATTEMPT: RUNNING on WORKER as ATTEMPT, or
# finished.
running_on_or_over() {
	jtrue "$(wl_get "$1")" ".status == \"RUNNING\" and .worker_id == \"$2\" and .attempt == $3" ||
	    wl_terminal "$1"
}

# requeued_or_over ID: back to PENDING (or further: placed again as
# attempt 2), or finished.
requeued_or_over() {
	jtrue "$(wl_get "$1")" '.status == "PENDING" or .attempt >= 2' ||
	    wl_terminal "$1"
}

coord_init
start_coord --worker-heartbeat-ms 300 --worker-dead-ms 2000
wait_coord_ready
start_worker wa --capacity 1
wait_worker_alive wa
WA=${WORKER_PID[wa]}

L=$(submit '{"workload_type":"sleep","input_params":{"duration_ms":8000,"checkpoint_ms":300},"max_retries":0}')
ok "submit an 8 s sleep with checkpoint_ms 300" [ -n "$L" ] || bail "cannot submit"
wait_until "$L RUNNING with a checkpoint" 30 checkpointed_or_over "$L"
ok "it RUNS on wa and checkpoints" \
    jtrue "$(wl_get "$L")" '.status == "RUNNING" and .worker_id == "wa" and .attempt == 1 and .checkpoint_seq >= 1' ||
    bail "the sleep did not checkpoint while running on wa: $(wl_get "$L")"

ok "freeze wa with SIGSTOP" kill -STOP "$WA"
ok "the coordinator declares wa DEAD" wait_until "wa DEAD" 30 worker_dead wa
ok "the workload goes back to PENDING" wait_until "$L requeued" 30 requeued_or_over "$L"
wl=$(wl_get "$L")
ok "PENDING, still attempt 1, nobody runs it ($(jget "$wl" '"\(.status) attempt \(.attempt)"'))" \
    jtrue "$wl" '.status == "PENDING" and .attempt == 1'

start_worker wb --capacity 1
wait_worker_alive wb
ok "wb takes it as attempt 2" \
    wait_until "$L RUNNING on wb" 30 running_on_or_over "$L" wb 2
diag "when wa is thawed the workload is $(wl_field "$L" '"\(.status) on \(.worker_id) attempt \(.attempt)"')"

echo "=== $(date '+%H:%M:%S') test: SIGCONT" >>"$T_DIR/worker-wa.log"
ok "thaw wa with SIGCONT" kill -CONT "$WA"
ok "wa registers again and is ALIVE" wait_until "wa ALIVE again" 30 worker_alive wa
ok "wa was told its registration is no longer current (REREGISTER)" \
    wait_until "REREGISTER in wa's log" 30 grep -q REREGISTER "$T_DIR/worker-wa.log"

# New work for wa: it runs only after wa's one executor is done with the
# stale attempt (its late report taken or refused).
P=$(submit_sleep 100 '"affinity_rules":{"hard_affinity":{"worker_id":"wa"}}')
ok "submit a short sleep pinned to wa" [ -n "$P" ]
ok "it COMPLETES" wait_until "$P COMPLETED" 30 wl_terminal "$P"
wl=$(wl_get "$P")
ok "on wa ($(jget "$wl" '"\(.status) on \(.worker_id) attempt \(.attempt)"'))" \
    jtrue "$wl" '.status == "COMPLETED" and .worker_id == "wa" and .attempt == 1'

# wa has now dealt with attempt 1; whatever it reported did not count.
wl=$(wl_get "$L")
ok "the old workload is still wb's attempt 2 ($(jget "$wl" '"\(.status) on \(.worker_id) attempt \(.attempt)"'))" \
    jtrue "$wl" '(.status == "RUNNING" or .status == "COMPLETED") and .worker_id == "wb" and .attempt == 2'
ok "it COMPLETES" wait_until "$L COMPLETED" 60 wl_terminal "$L"
wl=$(wl_get "$L")
is "$(jget "$wl" .status)" COMPLETED "its status is COMPLETED"
is "$(jget "$wl" .attempt)" 2 "attempt 2"
is "$(jget "$wl" .worker_id)" wb "on wb"
is "$(jget "$wl" .failures)" 0 "failures 0"
ok "with wb's result: resumed_from_ms > 0 (got $(jget "$wl" .result.resumed_from_ms))" \
    jtrue "$wl" '(.result.resumed_from_ms // 0) > 0 and .result.resumed_from_ms < 8000'

events=$(audit_all "workload_id=$L")
ok "GET /v1/audit-events?workload_id=... answers" [ -n "$events" ]
trail=$(status_trail "$events")
is "$trail" "->PENDING PENDING>SCHEDULED SCHEDULED>RUNNING RUNNING>PENDING PENDING>SCHEDULED SCHEDULED>RUNNING RUNNING>COMPLETED" \
    "the status trail: run on wa, back to PENDING, run on wb, COMPLETED"
is "$(jq '[.[] | select(.to == "COMPLETED")] | length' <<<"$events")" 1 \
    "exactly one transition to COMPLETED"
is "$(jq -r '[.[] | select(.to == "COMPLETED") | .actor] | join(",")' <<<"$events")" \
    "worker:wb" "the COMPLETED transition was reported by wb"
ok "no transition reported by wa ended or requeued the workload" \
    jtrue "$events" '[.[] | select(.actor == "worker:wa")] | all(.to != "COMPLETED" and .to != "FAILED" and .to != "PENDING")'

ok "wa's log, after SIGCONT, says what became of attempt 1" \
    eval 'sed -n "/test: SIGCONT/,\$p" "$T_DIR/worker-wa.log" | grep -q "$L#1"'
diag "wa's log about attempt 1 after SIGCONT:"
diag "$(sed -n '/test: SIGCONT/,$p' "$T_DIR/worker-wa.log" | grep -e "$L#1" -e REREGISTER -e REGISTERED | head -10)"

ok "wa is ALIVE" worker_alive wa
ok "wa's slot is free" \
    wait_until "wa used_slots 0" 30 eval '[ "$(worker_field wa .used_slots)" = 0 ]'
ok "wb's slot is free" \
    wait_until "wb used_slots 0" 30 eval '[ "$(worker_field wb .used_slots)" = 0 ]'

done_testing
