#!/usr/bin/env bash
# niyanta-bench assign, small: its own niyantad and simulated workers, in
# both clocks.  The default (a backlog in the affinity mix, submitted
# before any worker registers) must start every workload, give no worker
# one that breaks its hard or anti-affinity, and land the soft ones mostly
# in their region; --stream --plain must start every workload too.  The
# rate target is not checked here (a sanitized build on a loaded machine;
# the exit status ignores it too); the benchmark must leave no process
# behind.
. "$(dirname "$0")/lib.sh"

t_require_bin "$NIYANTA_BENCH"
t_require_bin "$NIYANTAD"

# bench_pids: the pids of processes running in this test's benchmark
# clusters (TMPDIR puts them under T_DIR: other tests may run benchmarks
# of their own meanwhile).
bench_pids() {
	pgrep -f "$T_DIR/niyanta-bench-cluster\\." 2>/dev/null | sort
}

# run_bench NAME ARGS...: runs it to the end; $out is its JSON, $rc its
# exit status.
run_bench() {
	local name=$1
	shift
	TMPDIR=$T_DIR "$NIYANTA_BENCH" assign --json "$@" </dev/null \
	    >"$T_DIR/$name.json" 2>"$T_DIR/$name.log" &
	BENCH=$!
	T_LIVE[$BENCH]=niyanta-bench
	wait_until "niyanta-bench assign ($name) to end" $(((T_TIMEOUT - 30) / 2)) \
	    t_not_alive "$BENCH"
	reap "$BENCH"
	rc=$STOP_STATUS
	out=$(cat "$T_DIR/$name.json")
	[ -s "$T_DIR/$name.log" ] && diag "niyanta-bench's stderr ($name):" \
	    "$(tail -n 40 "$T_DIR/$name.log")"
}

run_bench backlog --workers 40 --workloads 4000 --slots 5 --threads 2
ok "backlog: one JSON object, the backlog clock and the mix" \
    jtrue "$out" '.mode == "assign" and .clock == "backlog" and .mix == "affinity"'
is "$(jget "$out" '[.submitted, .started] | map(tostring) | join(" ")')" \
    "4000 4000" "backlog: every workload submitted and started"
is "$(jget "$out" '[.hard_taken, .soft_taken, .anti_taken] | map(tostring) | join(" ")')" \
    "1200 1600 400" "backlog: three in ten hard, four soft, one anti-affine"
is "$(jget "$out" '[.hard_broken, .anti_shared] | map(tostring) | join(" ")')" \
    "0 0" "backlog: no hard or anti-affinity rule broken"
# Capacity allowing, a soft workload goes to its region; a backlog keeps
# every slot busy, so some go elsewhere, but most must not.
ok "backlog: most soft workloads land in their preferred region" \
    jtrue "$out" '.soft_preferred * 2 > .soft_taken'
ok "backlog: a positive rate, no failed call, no duplicate" \
    jtrue "$out" '.assignments_per_s > 0 and .failed_calls == 0 and .duplicates == 0'
is "$rc" 0 "backlog: it exits 0 (the rate target does not count)"

run_bench stream --workers 20 --workloads 2000 --slots 5 --threads 2 \
    --stream --plain
ok "stream: the stream clock, plain workloads" \
    jtrue "$out" '.clock == "stream" and .mix == "plain" and .hard_taken == 0'
is "$(jget "$out" '.started')" 2000 "stream: every workload started"
is "$rc" 0 "stream: it exits 0"

is "$(bench_pids)" "" "no process of its cluster is left running"

done_testing
