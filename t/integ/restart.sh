#!/usr/bin/env bash
# Crash and restart: kill -9 the coordinator while workloads run, start it
# again on the same data directory, and check that every acknowledged
# workload is still there, unchanged, and still completes (the worker
# reconnects).  Then a clean stop: SIGTERM makes niyantad and the worker
# exit 0 promptly.
. "$(dirname "$0")/lib.sh"

# The fields that must survive a restart exactly.
KEEP='{id, workload_type, input_params, created_at, priority, max_retries}'

coord_init
start_coord
wait_coord_ready
start_worker w1 --capacity 8
wait_worker_alive w1

long_ids=() short_ids=()
for i in 1 2 3; do
	# Long enough that a loaded machine still finds them running after
	# the short ones are done and the coordinator has been restarted.
	long_ids+=("$(submit_sleep 15000)")
done
for i in 1 2 3 4; do
	short_ids+=("$(submit_sleep 100)")
done
ids=("${long_ids[@]}" "${short_ids[@]}")
ok "submit 3 long and 4 short sleeps" [ "$(printf '%s\n' "${ids[@]}" | grep -c .)" -eq 7 ]
ok "the short ones COMPLETE" \
    wait_until "short sleeps COMPLETED" 30 all_status_is COMPLETED "${short_ids[@]}"
ok "the long ones are RUNNING" \
    wait_until "long sleeps RUNNING" 30 all_status_is RUNNING "${long_ids[@]}"

mkdir -p "$T_DIR/before"
for id in "${ids[@]}"; do
	wl_get "$id" >"$T_DIR/before/$id.json"
done
stop_coord KILL
is "$STOP_STATUS" 137 "kill -9 the coordinator while workloads run"
ok "the worker survives the coordinator's crash" alive "${WORKER_PID[w1]}"

start_coord
wait_coord_ready
missing=0 changed=0 regressed=0
for id in "${ids[@]}"; do
	after=$(wl_get "$id")
	if [ "$(api_status)" != 200 ]; then
		missing=$((missing + 1))
		diag "$id: GET answers $(api_status) after the restart"
		continue
	fi
	a=$(jq -cS "$KEEP" <<<"$after")
	b=$(jq -cS "$KEEP" "$T_DIR/before/$id.json")
	if [ "$a" != "$b" ]; then
		changed=$((changed + 1))
		diag "$id changed:" "before $b" "after  $a"
	fi
	# What was COMPLETED before the crash stays so, with the same result.
	if [ "$(jq -r .status "$T_DIR/before/$id.json")" = COMPLETED ]; then
		a=$(jq -cS '{status, finished_at, result, worker_id}' <<<"$after")
		b=$(jq -cS '{status, finished_at, result, worker_id}' "$T_DIR/before/$id.json")
		if [ "$a" != "$b" ]; then
			regressed=$((regressed + 1))
			diag "$id: completed before the crash, now $a"
		fi
	fi
done
is "$missing" 0 "every workload still exists after the restart"
is "$changed" 0 "every workload keeps its id, type, params and created_at"
is "$regressed" 0 "completed workloads keep their outcome"
is "$(count_workloads)" 7 "no workload appeared or vanished"

ok "the worker is ALIVE again" wait_until "w1 ALIVE after restart" 30 worker_alive w1
ok "every workload COMPLETES after the restart" \
    wait_until "all 7 COMPLETED" 60 all_status_is COMPLETED "${ids[@]}"
id=$(submit_sleep 50)
ok "a workload submitted after the restart COMPLETES" \
    wait_until "new $id COMPLETED" 30 wl_status_is "$id" COMPLETED

# Clean stop: SIGTERM -> exit 0, promptly.
t0=$(now_ms)
ok "niyantad exits within 15 s of SIGTERM" stop_proc "$COORD_PID" TERM 15
is "$STOP_STATUS" 0 "niyantad exits 0 on SIGTERM"
diag "niyantad stopped in $(($(now_ms) - t0)) ms"

# And it starts again from a clean stop with everything in place.
start_coord
wait_coord_ready
is "$(count_workloads status=COMPLETED)" 8 "all 8 workloads are COMPLETED after a clean restart"
ok "the worker reconnects again" wait_until "w1 ALIVE" 30 worker_alive w1

ok "niyanta-worker exits within 30 s of SIGTERM" stop_proc "${WORKER_PID[w1]}" TERM 30
is "$STOP_STATUS" 0 "niyanta-worker exits 0 on SIGTERM"

done_testing
