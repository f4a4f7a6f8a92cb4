#!/usr/bin/env bash
# Graceful drain.  A worker told SIGTERM stops taking work, has its running
# attempts checkpoint and stop, hands them back at once (not after the dead
# timeout, 10 s here), and exits; they resume elsewhere from the checkpoint
# and COMPLETE.  An idle worker exits at once on SIGTERM even though its
# poll is held for up to 30 s here: the DRAIN message releases it.
. "$(dirname "$0")/lib.sh"

# on_worker ID WORKER: RUNNING on that worker.
on_worker() {
	jtrue "$(wl_get "$1")" ".status == \"RUNNING\" and .worker_id == \"$2\""
}

# both_on ID ID WORKER
both_on() {
	on_worker "$1" "$3" && on_worker "$2" "$3"
}

# checkpointed ID: RUNNING with at least one checkpoint stored.
checkpointed() {
	jtrue "$(wl_get "$1")" '.status == "RUNNING" and .checkpoint_seq >= 1'
}

coord_init
start_coord --worker-heartbeat-ms 500 --worker-dead-ms 10000 --poll-wait-ms 30000
wait_coord_ready
start_worker w1 --capacity 2 --drain-timeout-ms 10000
wait_worker_alive w1

SLEEP='{"workload_type":"sleep","input_params":{"duration_ms":8000,"checkpoint_ms":300},"max_retries":0}'
A=$(submit "$SLEEP")
B=$(submit "$SLEEP")
ok "submit two 8 s sleeps that checkpoint every 300 ms" [ -n "$A" ] && [ -n "$B" ] ||
    bail "cannot submit"
wait_until "both RUNNING on w1" 30 both_on "$A" "$B" w1
ok "both run on w1" both_on "$A" "$B" w1 || bail "not running on w1"
wait_until "both checkpointed" 30 checkpointed "$A"
wait_until "both checkpointed" 30 checkpointed "$B"
ok "both have a checkpoint" checkpointed "$A" && checkpointed "$B"

start_worker w2 --capacity 2
wait_worker_alive w2

t0=$(now_ms)
kill -TERM "${WORKER_PID[w1]}"
wait_until "both RUNNING on w2" 20 both_on "$A" "$B" w2
moved=$(($(now_ms) - t0))
ok "both moved to w2 after SIGTERM to w1" both_on "$A" "$B" w2
diag "SIGTERM to both running on w2: $moved ms"
ok "well before the 10 s dead timeout ($moved ms < 6000)" [ "$moved" -lt 6000 ]
stop_proc "${WORKER_PID[w1]}" TERM 20
is "$STOP_STATUS" 0 "w1 exited with status 0"
is "$(worker_field w1 .status)" DRAINING "w1 is DRAINING, not DEAD"
ok "w1 logged the drain" grep -q DRAIN "$T_DIR/worker-w1.log"

for id in "$A" "$B"; do
	wait_until "$id COMPLETED" 30 wl_status_is "$id" COMPLETED
	wl=$(wl_get "$id")
	is "$(jget "$wl" .status)" COMPLETED "$id COMPLETED"
	is "$(jget "$wl" .attempt)" 2 "$id ran a second attempt"
	is "$(jget "$wl" .failures)" 0 "$id: the drain was not counted a failure"
	ok "$id resumed from its checkpoint, not from zero" \
	    jtrue "$wl" '.result.resumed_from_ms > 0'
done
trail=$(api GET "/v1/audit-events?workload_id=$A")
is "$(jget "$trail" '[.events[] | select(.to == "COMPLETED")] | length')" 1 \
    "exactly one COMPLETED in the audit trail"

# An idle worker: its poll is held (up to 30 s); SIGTERM must not wait it out.
start_worker w3 --capacity 1
wait_worker_alive w3
t0=$(now_ms)
stop_proc "${WORKER_PID[w3]}" TERM 40
idle=$(($(now_ms) - t0))
is "$STOP_STATUS" 0 "idle w3 exited with status 0"
diag "idle worker exit after SIGTERM: $idle ms"
ok "at once, not after the 30 s held poll ($idle ms < 10000)" [ "$idle" -lt 10000 ]

done_testing
