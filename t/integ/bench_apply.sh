#!/usr/bin/env bash
# niyanta-bench apply, small: submissions alone, then --lifecycle, which
# takes every workload through ASSIGN, START and COMPLETE and fails unless
# all of them end COMPLETED; bad options are refused with the usage.
. "$(dirname "$0")/lib.sh"

t_require_bin "$NIYANTA_BENCH"

out=$(TMPDIR=$T_DIR "$NIYANTA_BENCH" apply --count 3000 --batch 500 --json 2>"$T_DIR/submit.log")
is "$?" 0 "apply (submissions) exits 0"
is "$(jget "$out" .workloads)" 3000 "it applied 3000 workloads"
ok "it reports a rate" jtrue "$out" '.workloads_per_s > 0'

out=$(TMPDIR=$T_DIR "$NIYANTA_BENCH" apply --count 3000 --lifecycle --workers 50 \
    --slots 20 --reports 4 --commit-every 100 --json 2>"$T_DIR/life.log")
is "$?" 0 "apply --lifecycle exits 0 (every workload COMPLETED)"
[ -s "$T_DIR/life.log" ] && diag "$(tail -n 5 "$T_DIR/life.log")"
is "$(jget "$out" .mode)" apply-lifecycle "the lifecycle report"
is "$(jget "$out" .workloads)" 3000 "3000 workloads through their lives"
ok "each kind of entry and the commits took time" jtrue "$out" \
    '.assign_us > 0 and .start_us > 0 and .complete_us > 0 and .commit_us > 0'
ok "the parts add up to the whole" jtrue "$out" \
    '((.assign_us + .start_us + .complete_us + .commit_us) - .total_us | fabs) < 0.05'

TMPDIR=$T_DIR "$NIYANTA_BENCH" apply --lifecycle --workers 0 >/dev/null 2>"$T_DIR/bad.log"
is "$?" 2 "--workers 0 is refused (exit 2)"
ok "with the usage" grep -q "usage: niyanta-bench apply" "$T_DIR/bad.log"
is "$(find "$T_DIR" -maxdepth 1 -name 'niyanta-bench-apply.*' | wc -l)" 0 \
    "no state machine directory is left behind"

done_testing
