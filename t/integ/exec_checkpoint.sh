#!/usr/bin/env bash
# Checkpoints of the "exec" workload type: a shell command counts upward,
# writing its counter to $NIYANTA_CHECKPOINT_DIR/state (temporary file and
# rename) each step and reporting "NIYANTA_PROGRESS" lines, and starts from
# $NIYANTA_RESUME_DIR/state when there is one.
#
# Failover: once a checkpoint of it is stored, its worker is killed with
# SIGKILL; the coordinator (short heartbeat and dead timeouts) declares the
# worker dead, a second worker resumes the workload, and the command
# starts from the checkpointed counter, not 0, and COMPLETES.  Pause: a
# second workload is paused while running, the worker takes the directory
# once more after the command stopped, and on resume the command starts
# from that counter and COMPLETES.
. "$(dirname "$0")/lib.sh"

# The plugin's private directories go under the test's directory, so
# those of the killed worker's attempt are removed with it.
export TMPDIR=$T_DIR/tmp
mkdir -p "$TMPDIR"

STEPS=50
# shellcheck disable=SC2016	# expanded by the workload's shell
SCRIPT='n=0
if [ -f "$NIYANTA_RESUME_DIR/state" ]; then
	n=$(cat "$NIYANTA_RESUME_DIR/state")
	echo "resumed from $n (flag ${NIYANTA_CHECKPOINT_RESUMED:-unset})"
else
	echo "fresh start (flag ${NIYANTA_CHECKPOINT_RESUMED:-unset})"
fi
while [ "$n" -lt '$STEPS' ]; do
	n=$((n + 1))
	printf "%s" "$n" >"$NIYANTA_CHECKPOINT_DIR/state.tmp"
	mv "$NIYANTA_CHECKPOINT_DIR/state.tmp" "$NIYANTA_CHECKPOINT_DIR/state"
	echo "NIYANTA_PROGRESS $((n * 100 / '$STEPS')) counted $n"
	sleep 0.1
done
echo "counted to $n"'

BODY=$(jq -cn --arg s "$SCRIPT" \
    '{workload_type: "exec", input_params: {argv: ["sh", "-c", $s]}, max_retries: 3}')

# checkpointed ID: RUNNING with at least one checkpoint stored.
checkpointed() {
	jtrue "$(wl_get "$1")" '.status == "RUNNING" and .checkpoint_seq >= 1'
}

checkpointed_or_over() {
	checkpointed "$1" || wl_terminal "$1"
}

running_on() {
	jtrue "$(wl_get "$1")" ".status == \"RUNNING\" and .worker_id == \"$2\""
}

running_on_or_over() {
	running_on "$1" "$2" || wl_terminal "$1"
}

paused_or_over() {
	wl_status_is "$1" PAUSED || wl_terminal "$1"
}

# between N LO HI: N is a number from LO to HI.
between() {
	[[ $1 =~ ^[0-9]+$ ]] && [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

# resumed_from JSON: N of "resumed from N" in the result's stdout_tail.
resumed_from() {
	jget "$1" '.result.stdout_tail // ""' |
	    sed -n 's/^resumed from \([0-9][0-9]*\) .*/\1/p' | head -n 1
}

coord_init
start_coord --worker-heartbeat-ms 300 --worker-dead-ms 1500
wait_coord_ready
start_worker w1 --capacity 1
wait_worker_alive w1

# ---------------------------------------------------------------- failover

A=$(submit "$BODY")
ok "submit a counting exec workload" [ -n "$A" ] || bail "cannot submit"
wait_until "$A RUNNING with a checkpoint" 30 checkpointed_or_over "$A"
ok "it RUNS and a checkpoint of its directory is stored" checkpointed "$A" ||
    bail "no checkpoint while running: $(wl_get "$A")"
wl=$(wl_get "$A")
ok "its NIYANTA_PROGRESS lines are its progress ($(jget "$wl" .progress): \
$(jget "$wl" .progress_message))" \
    jtrue "$wl" '.progress > 0 and .progress < 100 and
    (.progress_message | test("^counted [0-9]+$"))'
is "$(jget "$wl" .worker_id)" w1 "it runs on w1"
attempt=$(jget "$wl" .attempt)

stop_proc "${WORKER_PID[w1]}" KILL
start_worker w2 --capacity 1
wait_worker_alive w2
wait_until "$A RUNNING on w2" 30 running_on_or_over "$A" w2
ok "after w1 is declared dead, it runs again on w2" running_on "$A" w2 ||
    diag "$(wl_get "$A")"
ok "as a later attempt" jtrue "$(wl_get "$A")" ".attempt > $attempt"
ok "it COMPLETES" wait_until "$A COMPLETED" 60 wl_status_is "$A" COMPLETED
wl=$(wl_get "$A")
from=$(resumed_from "$wl")
ok "the resumed command started from the checkpointed counter (${from:-none})" \
    between "$from" 1 $((STEPS - 1))
like "$(jget "$wl" .result.stdout_tail)" "resumed from [0-9]+ \(flag 1\)" \
    "with NIYANTA_CHECKPOINT_RESUMED=1"
like "$(jget "$wl" .result.stdout_tail)" "counted to $STEPS" \
    "and counted to the end"
is "$(jget "$wl" .progress)" 100 "progress is 100"
ok "the attempts' directories are removed (but the killed one's)" \
    [ "$(find "$TMPDIR" -mindepth 1 -maxdepth 1 | wc -l)" -le 1 ]

# ---------------------------------------------------------------- pause

P=$(submit "$BODY")
ok "submit another" [ -n "$P" ] || bail "cannot submit"
wait_until "$P RUNNING with a checkpoint" 30 checkpointed_or_over "$P"
ok "it RUNS with a checkpoint" checkpointed "$P"
api POST "/v1/workloads/$P/pause" >/dev/null
like "$(api_status)" '^20[02]$' "pause it"
wait_until "$P PAUSED" 30 paused_or_over "$P"
ok "it is PAUSED" wl_status_is "$P" PAUSED || diag "$(wl_get "$P")"
seq=$(wl_field "$P" .checkpoint_seq)
counted=$(wl_field "$P" .progress_message)
counted=${counted#counted }
api POST "/v1/workloads/$P/resume" >/dev/null
is "$(api_status)" 200 "resume it"
ok "it COMPLETES" wait_until "$P COMPLETED" 60 wl_status_is "$P" COMPLETED
wl=$(wl_get "$P")
from=$(resumed_from "$wl")
ok "it started from the counter taken as it stopped (${from:-none}, \
last progress $counted, checkpoint_seq $seq)" \
    between "$from" "${counted:-1}" $((STEPS - 1))
like "$(jget "$wl" .result.stdout_tail)" "counted to $STEPS" \
    "and counted to the end"

done_testing
