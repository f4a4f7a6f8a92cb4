#!/usr/bin/env bash
# Builds Niyanta with the sanitizers in ./build-check and runs every test
# (unit programs and process-level scripts).  Prints the logs of failing
# tests and ends with one line: "N passed, N failed[, N skipped]", counted
# from automake's test summary (TAP test points).  Exits non-zero if
# anything failed or could not be built.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 1
build="$root/build-check"
jobs=${JOBS:-2}

# A failure before the tests run counts as one failed test.
die() {
	echo "test.sh: $*" >&2
	echo "0 passed, 1 failed"
	exit 1
}

bash scripts/deps.sh || die "installing dependencies failed"
autoreconf -fi || die "autoreconf failed"
mkdir -p "$build" && cd "$build" || die "cannot create $build"
"$root/configure" --enable-sanitize || die "configure failed (see $build/config.log)"
make -j"$jobs" || die "the build failed"

out="$build/check.out"
AM_COLOR_TESTS=no make -j"$jobs" check 2>&1 | tee "$out"
check_status=${PIPESTATUS[0]}

# Logs of the tests that failed, as automake recorded them.
while IFS= read -r trs; do
	if grep -qE '^:test-result: (FAIL|ERROR|XPASS)' "$trs"; then
		log="${trs%.trs}.log"
		echo
		echo "======== ${log#"$build"/} (last 400 lines) ========"
		tail -n 400 "$log" 2>/dev/null || echo "(no log)"
	fi
done < <(find "$build" -name '*.trs' | sort)

# Sum the summary lines ("# PASS:  12"); a non-recursive build has one
# summary, but adding them up is right either way.
count() {
	awk -v k="$1" '$1 == "#" && $2 == k":" { n += $3 } END { print n + 0 }' "$out"
}
pass=$(count PASS)
fail=$(count FAIL)
error=$(count ERROR)
xpass=$(count XPASS)
skip=$(count SKIP)
total=$(count TOTAL)
failed=$((fail + error + xpass))

echo
if [ "$total" -eq 0 ]; then
	# No summary: the test programs did not build, or make stopped early.
	echo "test.sh: make check produced no test summary (exit $check_status)" >&2
	failed=$((failed + 1))
elif [ "$check_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	echo "test.sh: make check failed (exit $check_status) with no failing test" >&2
	failed=1
fi
line="$pass passed, $failed failed"
[ "$skip" -gt 0 ] && line="$line, $skip skipped"
echo "$line"
[ "$failed" -eq 0 ]
