#!/usr/bin/env bash
# Pause and resume with one worker: a 6 s sleep that checkpoints every
# 200 ms is paused once it has made progress (202 PAUSING, or 200), its
# worker checkpoints and stops, and it is PAUSED with its progress kept and
# its slot freed.  Resumed, it is PENDING, runs again from the checkpoint
# and COMPLETES with result.resumed_from_ms > 0.  Illegal transitions are
# 409 with details[0].status the current status.  A PENDING workload (no
# worker can take it) pauses at once.
. "$(dirname "$0")/lib.sh"

# running_past ID PCT: the workload is RUNNING with progress above PCT.
running_past() {
	jtrue "$(wl_get "$1")" ".status == \"RUNNING\" and (.progress // 0) > $2"
}

# running_past_or_over ID PCT: running_past, or the workload has finished
# (then waiting longer is pointless).
running_past_or_over() {
	running_past "$1" "$2" || wl_terminal "$1"
}

# paused_or_over ID: PAUSED, or finished.
paused_or_over() {
	wl_status_is "$1" PAUSED || wl_terminal "$1"
}

# conflict_status JSON: details[0].status of a 409.
conflict_status() {
	jget "$1" '.error.details[0].status // empty'
}

coord_init
start_coord
wait_coord_ready
start_worker w1 --capacity 2
wait_worker_alive w1

L=$(submit '{"workload_type":"sleep","input_params":{"duration_ms":6000,"checkpoint_ms":200},"max_retries":0}')
ok "submit a 6 s sleep with checkpoint_ms 200" [ -n "$L" ] || bail "cannot submit"
wait_until "$L RUNNING with progress > 10" 30 running_past_or_over "$L" 10
ok "it RUNS and passes 10% progress" running_past "$L" 10 ||
    bail "the sleep did not report progress past 10% while running: $(wl_get "$L")"
attempt=$(wl_field "$L" .attempt)

# Resume of a RUNNING workload is illegal.
body=$(api POST "/v1/workloads/$L/resume")
is "$(api_status)" 409 "resume of a RUNNING workload: 409"
is "$(conflict_status "$body")" RUNNING "details[0].status is RUNNING"

before=$(wl_field "$L" .progress)
body=$(api POST "/v1/workloads/$L/pause")
like "$(api_status)" '^20[02]$' "pause of a RUNNING workload: 202 or 200"
like "$(jget "$body" .status)" '^(PAUSING|PAUSED)$' "the reply says PAUSING or PAUSED"
wait_until "$L PAUSED" 30 paused_or_over "$L"
ok "it becomes PAUSED" wl_status_is "$L" PAUSED ||
    bail "the paused sleep did not become PAUSED: $(wl_get "$L")"
wl=$(wl_get "$L")
paused=$(jget "$wl" .progress)
ok "its progress is kept ($paused >= $before)" \
    jtrue "$wl" ".progress >= $before and .progress > 10 and .progress < 100"
ok "the worker's slot is free again" \
    wait_until "w1 used_slots 0" 30 eval '[ "$(worker_field w1 .used_slots)" = 0 ]'
body=$(api POST "/v1/workloads/$L/pause")
is "$(api_status)" 409 "pause of a PAUSED workload: 409"
is "$(conflict_status "$body")" PAUSED "details[0].status is PAUSED"

# A PENDING workload pauses at once, and resumes to PENDING.
P=$(submit_sleep 100 '"affinity_rules":{"hard_affinity":{"worker_tags":{"zone":"mars"}}}')
ok "submit a workload no worker can take" [ -n "$P" ]
is "$(wl_field "$P" .status)" PENDING "it is PENDING"
body=$(api POST "/v1/workloads/$P/pause")
is "$(api_status)" 200 "pause of a PENDING workload: 200"
is "$(jget "$body" .status)" PAUSED "and it is PAUSED at once"
body=$(api POST "/v1/workloads/$P/resume")
is "$(api_status)" 200 "resume it: 200"
is "$(jget "$body" .status)" PENDING "and it is PENDING again"
body=$(api POST "/v1/workloads/$P/resume")
is "$(api_status)" 409 "resume of a PENDING workload: 409"
is "$(conflict_status "$body")" PENDING "details[0].status is PENDING"

# niyantactl pause and resume.
if [ -x "$NIYANTACTL" ]; then
	export NIYANTA_SERVER=$COORD_URL NIYANTA_KEY_FILE=$ADMIN_KEY_FILE
	is "$("$NIYANTACTL" pause "$P")" "$P: PAUSED" "niyantactl pause"
	is "$("$NIYANTACTL" resume "$P")" "$P: PENDING" "niyantactl resume"
	err=$("$NIYANTACTL" resume "$P" 2>&1 >/dev/null)
	is "$?" 1 "niyantactl resume of a PENDING workload exits 1"
	like "$err" '^niyantactl: [a-z_]+: ' "with the API error"
else
	fail "niyantactl is built"
fi
api POST "/v1/workloads/$P/cancel" >/dev/null
is "$(api_status)" 200 "cancel the unplaceable workload"

# The paused one stayed paused all this while.
wl=$(wl_get "$L")
is "$(jget "$wl" .status)" PAUSED "the long sleep is still PAUSED"
is "$(jget "$wl" .attempt)" "$attempt" "and was not started again"

body=$(api POST "/v1/workloads/$L/resume")
is "$(api_status)" 200 "resume of a PAUSED workload: 200"
# The reply is the record read after the resume applied: the scheduler
# may already have placed it again.
like "$(jget "$body" .status)" '^(PENDING|SCHEDULED|RUNNING)$' \
    "the reply says PENDING (or already placed again)"
ok "it RUNS again" wait_until "$L RUNNING" 30 wl_status_is "$L" RUNNING
ok "with its progress carried over" jtrue "$(wl_get "$L")" ".progress >= $paused"
ok "it COMPLETES" wait_until "$L COMPLETED" 30 wl_status_is "$L" COMPLETED
wl=$(wl_get "$L")
ok "result.resumed_from_ms > 0 (got $(jget "$wl" .result.resumed_from_ms))" \
    jtrue "$wl" '(.result.resumed_from_ms // 0) > 0 and .result.resumed_from_ms < 6000'
ok "result.slept_ms is reported" jtrue "$wl" '(.result.slept_ms | type) == "number"'

body=$(api POST "/v1/workloads/$L/pause")
is "$(api_status)" 409 "pause of a COMPLETED workload: 409"
is "$(conflict_status "$body")" COMPLETED "details[0].status is COMPLETED"
ok "the 409 has a JSON error body" jtrue "$body" '(.error.code | type) == "string"'
api POST "/v1/workloads/00000000-0000-4000-8000-000000000000/pause" >/dev/null
is "$(api_status)" 404 "pause of an unknown workload: 404"

done_testing
