#!/usr/bin/env bash
# timeout_seconds: an exec workload running "sleep 30.<unique>" with
# timeout_seconds 1 and max_retries 0 ends FAILED within a few seconds,
# with an error that says it timed out, and its child process is really
# gone (killed by SIGTERM, not left behind).  With max_retries 1 it times
# out twice: attempt 2, failures 2, then FAILED, and no child is left.
# The first command is "sh -c 'echo $$ >PIDFILE; exec sleep ...'", so the
# test knows the child's pid without racing it.
. "$(dirname "$0")/lib.sh"

# A sleep argument no other process on the machine has.
ARG1=30.$$$RANDOM
ARG2=31.$$$RANDOM
PIDFILE=$T_DIR/child.pid

# children ARG: pids of "sleep ARG" processes still around.
children() {
	pgrep -fx "sleep ${1//./\\.}"
}

# ms_between WL FROM TO: milliseconds between two of the workload's times.
JQ_MS='def ms: (.[0:19] + "Z" | fromdateiso8601) * 1000 + (.[20:23] | tonumber);'
ms_between() {
	jq -r "$JQ_MS"' (.'"$3"' | ms) - (.'"$2"' | ms)' <<<"$1" 2>/dev/null
}

coord_init
start_coord
wait_coord_ready
start_worker w1 --capacity 2
wait_worker_alive w1

body=$(jq -cn --arg pf "$PIDFILE" --arg arg "$ARG1" \
    '{workload_type: "exec", timeout_seconds: 1, max_retries: 0,
      input_params: {argv: ["sh", "-c", "echo $$ >\"$0\"; exec sleep \"$1\"", $pf, $arg]}}')
t0=$(now_ms)
T=$(submit "$body")
ok "submit an exec of sleep $ARG1 with timeout_seconds 1, max_retries 0" [ -n "$T" ] ||
    bail "cannot submit"
ok "it ends" wait_until "$T finished" 30 wl_terminal "$T"
took=$(($(now_ms) - t0))
ok "within a few seconds of the submission ($took ms)" [ "$took" -lt 15000 ]
wl=$(wl_get "$T")
is "$(jget "$wl" .status)" FAILED "its status is FAILED"
like "$(jget "$wl" .error)" 'timed out' "the error says it timed out ($(jget "$wl" .error))"
is "$(jget "$wl" .attempt)" 1 "one attempt"
is "$(jget "$wl" .failures)" 1 "failures 1"
ran=$(ms_between "$wl" started_at finished_at)
ok "it ran at least the timeout, and not much longer (${ran:-?} ms from start to end)" \
    eval '[ "${ran:-0}" -ge 1000 ] && [ "${ran:-0}" -lt 10000 ]'
is "$(jget "$wl" .result.signal)" 15 "result.signal is 15: the child got SIGTERM"

pid=$(head -n 1 "$PIDFILE" 2>/dev/null)
ok "the child started (it wrote its pid, ${pid:-none})" [ -n "$pid" ]
ok "the child process is gone" eval '[ -n "$pid" ] && ! alive "$pid"'
ok "no sleep $ARG1 is left" eval '! children "$ARG1" >/dev/null'
is "$(status_trail "$(audit_all "workload_id=$T")")" \
    "->PENDING PENDING>SCHEDULED SCHEDULED>RUNNING RUNNING>FAILED" \
    "the status trail has no retry"

# max_retries 1: times out twice.
R=$(submit "{\"workload_type\":\"exec\",\"timeout_seconds\":1,\"max_retries\":1,\"input_params\":{\"argv\":[\"sleep\",\"$ARG2\"]}}")
ok "submit an exec of sleep $ARG2 with timeout_seconds 1, max_retries 1" [ -n "$R" ]
ok "it ends" wait_until "$R finished" 60 wl_terminal "$R"
wl=$(wl_get "$R")
is "$(jget "$wl" .status)" FAILED "its status is FAILED"
like "$(jget "$wl" .error)" 'timed out' "the error says it timed out"
is "$(jget "$wl" .attempt)" 2 "after attempt 2"
is "$(jget "$wl" .failures)" 2 "failures 2"
ok "no sleep $ARG2 is left" eval '! children "$ARG2" >/dev/null'
events=$(audit_all "workload_id=$R")
run3="PENDING>SCHEDULED SCHEDULED>RUNNING"
is "$(status_trail "$events")" "->PENDING $run3 RUNNING>PENDING $run3 RUNNING>FAILED" \
    "the status trail: two runs, one requeue, FAILED"
is "$(jq -r '[.[] | select(.kind == "status" and .from == "RUNNING") | .detail] | map(test("timed out")) | all' <<<"$events")" \
    true "both failures' audit details say it timed out"

ok "w1's slots are free" \
    wait_until "w1 used_slots 0" 30 eval '[ "$(worker_field w1 .used_slots)" = 0 ]'
ok "niyanta-worker exits 0 on SIGTERM" stop_proc "${WORKER_PID[w1]}" TERM 30
is "$STOP_STATUS" 0 "with status 0"
ok "still no sleep child of either workload" \
    eval '! children "$ARG1" >/dev/null && ! children "$ARG2" >/dev/null'

done_testing
