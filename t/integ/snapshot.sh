#!/usr/bin/env bash
# Snapshots: with a small --snapshot-threshold, 300 workloads make the
# coordinator take several snapshots.  After a clean restart and after a
# crash, the state rebuilt from the latest snapshot plus the log tail must
# equal the state before: the same counts by status and the same records.
. "$(dirname "$0")/lib.sh"

N=300
THRESHOLD=64
# What a restart must reproduce exactly, for every workload.
FIELDS='map({id, status, workload_type, input_params, priority, worker_id,
    attempt, result, error, created_at, started_at, finished_at,
    cancel_requested, max_retries, timeout_seconds}) | sort_by(.id)'
STATUSES="PENDING SCHEDULED RUNNING PAUSED COMPLETED FAILED CANCELLED"

# "STATUS=N ..." for every status.
status_counts() {
	local s out=""
	for s in $STATUSES; do
		out+="$s=$(count_workloads "status=$s") "
	done
	echo "$out"
}

completed_count_is() {
	[ "$(count_workloads status=COMPLETED)" = "$1" ]
}

snapshot_files() {
	find "$COORD_DATA" -name 'snapshot-*' 2>/dev/null | sort
}

have_snapshot() {
	[ -n "$(snapshot_files)" ]
}

coord_init
start_coord --snapshot-threshold "$THRESHOLD"
wait_coord_ready
start_worker w1 --capacity 16
wait_worker_alive w1

submit_bulk "$N" 4 '{"workload_type":"sleep","input_params":{"duration_ms":0},"max_retries":0}' \
    "$T_DIR/ids"
is "$(grep -c . "$T_DIR/ids")" "$N" "submit $N workloads"
is "$BULK_ERRORS" 0 "no submission was refused"
ok "all $N COMPLETE" wait_until "$N COMPLETED" 120 completed_count_is "$N"
ok "snapshot files appear in the data directory" \
    wait_until "snapshot-* in $COORD_DATA" 30 have_snapshot
diag "snapshots: $(snapshot_files | xargs -r -n1 basename | tr '\n' ' ')"

before_counts=$(status_counts)
before=$(list_all "" | jq -cS "$FIELDS")
is "$(jq length <<<"$before")" "$N" "list returns all $N records"
ids_sample=$(jq -r '.[].id' <<<"$before" | awk 'NR % 37 == 1')

# Every record, and GET of a sample, against the saved state.
check_state() {
	local when=$1 after id a b bad=0
	is "$(status_counts)" "$before_counts" "counts by status are the same $when"
	after=$(list_all "" | jq -cS "$FIELDS")
	if [ "$after" = "$before" ]; then
		pass "all $N records are identical $when"
	else
		fail "all $N records are identical $when"
		diag "first differences:"
		diag "$(diff <(jq -c '.[]' <<<"$before") <(jq -c '.[]' <<<"$after") | head -6)"
	fi
	for id in $ids_sample; do
		a=$(jq -cS "[.] | $FIELDS" <<<"$(wl_get "$id")")
		b=$(jq -cS --arg id "$id" "map(select(.id == \$id))" <<<"$before")
		[ "$a" = "$b" ] || { bad=$((bad + 1)); diag "$id: $a"; }
	done
	is "$bad" 0 "GET of sampled records is identical $when"
}

stop_coord TERM
is "$STOP_STATUS" 0 "niyantad stops cleanly"
start_coord --snapshot-threshold "$THRESHOLD"
wait_coord_ready
check_state "after a clean restart"

stop_coord KILL
start_coord --snapshot-threshold "$THRESHOLD"
wait_coord_ready
check_state "after kill -9 and restart"

# The restored state machine keeps working.
ok "the worker reconnects" wait_until "w1 ALIVE" 30 worker_alive w1
submit_bulk 5 1 '{"workload_type":"sleep","input_params":{"duration_ms":0},"max_retries":0}' \
    "$T_DIR/ids2"
is "$(grep -c . "$T_DIR/ids2")" 5 "submit 5 more after the restarts"
ok "they COMPLETE too" wait_until "$((N + 5)) COMPLETED" 60 completed_count_is "$((N + 5))"
is "$(count_workloads)" "$((N + 5))" "the total is $((N + 5))"

done_testing
