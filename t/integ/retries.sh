#!/usr/bin/env bash
# Retries with exponential backoff.  An exec workload that always exits 3,
# with max_retries 2, is attempted 3 times and ends FAILED with failures 3
# and the error "exited with status 3".  Its audit trail shows the two
# RUNNING -> PENDING requeues, and each retry waited at least its backoff:
# src/fsm.c's fsm_backoff_ms gives FSM_BACKOFF_BASE_MS (1000) << (failures
# - 1), plus 0..25% jitter, so the n-th requeue is placed again no sooner
# than 1000 ms, then 2000 ms, after it (both times are the coordinator's,
# from the same clock).  With max_retries 0 the workload fails at once
# after one attempt; a command that fails only on its first attempt
# COMPLETES on the second.
. "$(dirname "$0")/lib.sh"

# jq: an RFC 3339 time with milliseconds ("...T12:34:56.789Z") in ms.
JQ_MS='def ms: (.[0:19] + "Z" | fromdateiso8601) * 1000 + (.[20:23] | tonumber);'

coord_init
start_coord
wait_coord_ready
start_worker w1 --capacity 2
wait_worker_alive w1

R=$(submit '{"workload_type":"exec","input_params":{"argv":["sh","-c","exit 3"]},"max_retries":2}')
ok "submit an exec that exits 3, max_retries 2" [ -n "$R" ] || bail "cannot submit"
ok "it ends" wait_until "$R finished" 90 wl_terminal "$R"
wl=$(wl_get "$R")
is "$(jget "$wl" .status)" FAILED "its status is FAILED"
is "$(jget "$wl" .attempt)" 3 "after 3 attempts"
is "$(jget "$wl" .failures)" 3 "failures 3"
is "$(jget "$wl" .error)" "exited with status 3" "error: exited with status 3"
is "$(jget "$wl" .result.exit_code)" 3 "result.exit_code 3"
ok "finished_at is set" jtrue "$wl" '.finished_at | type == "string"'

events=$(audit_all "workload_id=$R")
ok "GET /v1/audit-events?workload_id=... answers" [ -n "$events" ]
run3="PENDING>SCHEDULED SCHEDULED>RUNNING"
is "$(status_trail "$events")" \
    "->PENDING $run3 RUNNING>PENDING $run3 RUNNING>PENDING $run3 RUNNING>FAILED" \
    "the status trail: three runs, two requeues, FAILED"
is "$(jq -r '[.[] | select(.kind == "status" and .from == "RUNNING") | .detail] | map(test("exited with status 3")) | all' <<<"$events")" \
    true "each failure's audit detail has the exit status"
is "$(jq -r '[.[] | select(.kind == "status" and .to == "SCHEDULED") | .detail | capture("attempt (?<n>[0-9]+)").n] | join(",")' <<<"$events")" \
    "1,2,3" "the placements were attempts 1, 2 and 3"

# The gap between each requeue and the next placement.
gaps=$(jq -r "$JQ_MS"'
	[.[] | select(.kind == "status")] as $s
	| [range(0; $s | length) as $i
	   | select($s[$i].from == "RUNNING" and $s[$i].to == "PENDING")
	   | ([$s[$i + 1:][] | select(.to == "SCHEDULED")][0].at | ms) - ($s[$i].at | ms)]
	| map(tostring) | join(" ")' <<<"$events")
read -r gap1 gap2 rest <<<"$gaps"
diag "gaps between each requeue and the next placement: $gaps ms"
ok "two retry gaps were measured" \
    eval '[ -n "${gap1:-}" ] && [ -n "${gap2:-}" ] && [ -z "${rest:-}" ]'
ok "the first retry waited at least 1000 ms (${gap1:-?} ms)" [ "${gap1:-0}" -ge 1000 ]
ok "the second retry waited at least 2000 ms (${gap2:-?} ms)" [ "${gap2:-0}" -ge 2000 ]
ok "and neither waited absurdly long (< 30 s)" \
    eval '[ "${gap1:-99999}" -lt 30000 ] && [ "${gap2:-99999}" -lt 30000 ]'

# max_retries 0: one attempt, then FAILED.
F=$(submit '{"workload_type":"exec","input_params":{"argv":["sh","-c","exit 3"]},"max_retries":0}')
ok "submit the same exec with max_retries 0" [ -n "$F" ]
ok "it ends" wait_until "$F finished" 30 wl_terminal "$F"
wl=$(wl_get "$F")
is "$(jget "$wl" .status)" FAILED "FAILED"
is "$(jget "$wl" .attempt)" 1 "after one attempt"
is "$(jget "$wl" .failures)" 1 "failures 1"
is "$(jget "$wl" .error)" "exited with status 3" "error: exited with status 3"
events=$(audit_all "workload_id=$F")
is "$(status_trail "$events")" "->PENDING PENDING>SCHEDULED SCHEDULED>RUNNING RUNNING>FAILED" \
    "the status trail has no retry"

# Fails on attempt 1 only (NIYANTA_ATTEMPT is set by exec): one retry, then
# COMPLETED.
S=$(submit '{"workload_type":"exec","input_params":{"argv":["sh","-c","[ \"$NIYANTA_ATTEMPT\" -ge 2 ] || exit 4"]},"max_retries":1}')
ok "submit an exec that fails only on attempt 1, max_retries 1" [ -n "$S" ]
ok "it ends" wait_until "$S finished" 30 wl_terminal "$S"
wl=$(wl_get "$S")
is "$(jget "$wl" .status)" COMPLETED "COMPLETED"
is "$(jget "$wl" .attempt)" 2 "on attempt 2"
is "$(jget "$wl" .failures)" 1 "failures 1"
is "$(jget "$wl" .result.exit_code)" 0 "result.exit_code 0"
events=$(audit_all "workload_id=$S")
is "$(status_trail "$events")" \
    "->PENDING $run3 RUNNING>PENDING $run3 RUNNING>COMPLETED" \
    "the status trail: one retry, then COMPLETED"

ok "w1's slots are free" \
    wait_until "w1 used_slots 0" 30 eval '[ "$(worker_field w1 .used_slots)" = 0 ]'

done_testing
