#!/usr/bin/env bash
# Snapshots by log size: with an entry threshold no load here can reach,
# --snapshot-log-mb 1 makes the coordinator snapshot once about 1 MiB of
# log has been applied; with --snapshot-log-mb 0 the same load takes none.
. "$(dirname "$0")/lib.sh"

N=160
# About 8 KiB a workload: N of them make well over 1 MiB of log.
PAD=$(head -c 8000 /dev/zero | tr '\0' x)
BODY='{"workload_type":"sleep","input_params":{"duration_ms":0,"pad":"'$PAD'"}}'

snapshot_files() {
	find "$COORD_DATA" -name 'snapshot-*' 2>/dev/null | sort
}

have_snapshot() {
	[ -n "$(snapshot_files)" ]
}

# run LOG_MB: a fresh coordinator with that limit takes N workloads.
run() {
	coord_init "coord-mb$1"
	start_coord --snapshot-threshold 100000000 --snapshot-log-mb "$1"
	wait_coord_ready
	submit_bulk "$N" 4 "$BODY" "$T_DIR/ids"
	is "$(grep -c . "$T_DIR/ids")" "$N" "--snapshot-log-mb $1: $N workloads accepted"
}

run 1
ok "a snapshot is taken once 1 MiB of log is applied" \
    wait_until "snapshot-* in $COORD_DATA" 30 have_snapshot
ok "the log says so" grep -q "RAFTSNAP.*snapshot at entry" "$COORD_LOG"
stop_coord TERM
is "$STOP_STATUS" 0 "niyantad stops cleanly"

run 0
stop_coord TERM
is "$STOP_STATUS" 0 "niyantad stops cleanly"
is "$(snapshot_files | wc -l)" 0 "without the byte limit the same load takes no snapshot"

done_testing
