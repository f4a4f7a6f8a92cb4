#!/usr/bin/env bash
# A workload's life on one coordinator and one worker: a sleep completes;
# exec reports its exit code and output, and a failing command FAILS; a
# running workload is cancelled and gives its slot back; listing filters by
# status and type and pages with a cursor; niyantactl drives the same API.
. "$(dirname "$0")/lib.sh"

coord_init
start_coord
wait_coord_ready
# nng listens with a backlog of 128; the coordinator raises it, so that a
# whole fleet reconnecting at once is not dropped by the kernel.
want_backlog=$(( $(cat /proc/sys/net/core/somaxconn) < 4096 ?
    $(cat /proc/sys/net/core/somaxconn) : 4096 ))
is "$(ss -ltnH "sport = :$COORD_WORKER_PORT" | awk '{print $3}')" "$want_backlog" \
    "the worker endpoint listens with a backlog of $want_backlog"
start_worker w1 --capacity 4
wait_worker_alive w1

# --- sleep
sleep_id=$(submit_sleep 200)
ok "submit a sleep workload" [ -n "$sleep_id" ]
ok "sleep workload COMPLETES" \
    wait_until "sleep $sleep_id COMPLETED" 30 wl_status_is "$sleep_id" COMPLETED
wl=$(wl_get "$sleep_id")
is "$(jget "$wl" .worker_id)" w1 "sleep ran on worker w1"
ok "sleep has a result" jtrue "$wl" '.result != null'
ok "sleep has its timestamps and an attempt" jtrue "$wl" \
    '.created_at != null and .started_at != null and .finished_at != null and .attempt >= 1'
is "$(jget "$wl" .workload_type)" sleep "record keeps its workload_type"
is "$(jget "$wl" .input_params.duration_ms)" 200 "record keeps its input_params"

# --- exec that succeeds
hello_id=$(submit '{"workload_type":"exec","input_params":{"argv":["sh","-c","echo hello; exit 0"]},"max_retries":0}')
ok "submit an exec workload" [ -n "$hello_id" ]
ok "exec workload COMPLETES" \
    wait_until "exec $hello_id COMPLETED" 30 wl_status_is "$hello_id" COMPLETED
wl=$(wl_get "$hello_id")
is "$(jget "$wl" .result.exit_code)" 0 "exec result has exit_code 0"
like "$(jget "$wl" .result.stdout_tail)" hello "exec stdout_tail has the output"

# --- exec that fails, without retries
fail_id=$(submit '{"workload_type":"exec","input_params":{"argv":["sh","-c","echo oops >&2; exit 3"]},"max_retries":0}')
ok "submit a failing exec workload" [ -n "$fail_id" ]
ok "failing exec workload FAILS" \
    wait_until "exec $fail_id FAILED" 30 wl_status_is "$fail_id" FAILED
wl=$(wl_get "$fail_id")
is "$(jget "$wl" .result.exit_code)" 3 "failed exec result has exit_code 3"
like "$(jget "$wl" .result.stderr_tail)" oops "failed exec stderr_tail has the output"
ok "failed workload has finished_at" jtrue "$wl" '.finished_at != null'

# --- cancel a running workload
long_id=$(submit_sleep 600000)
ok "submit a long sleep" [ -n "$long_id" ]
ok "long sleep is RUNNING" \
    wait_until "sleep $long_id RUNNING" 30 wl_status_is "$long_id" RUNNING
ok "worker w1 holds a slot" \
    wait_until "w1 used_slots 1" 30 eval '[ "$(worker_field w1 .used_slots)" = 1 ]'
body=$(api POST "/v1/workloads/$long_id/cancel")
like "$(api_status)" '^20[02]$' "cancel of a running workload answers 200 or 202"
ok "cancel reply is the workload record" jtrue "$body" ".id == \"$long_id\""
ok "cancelled workload becomes CANCELLED" \
    wait_until "sleep $long_id CANCELLED" 30 wl_status_is "$long_id" CANCELLED
ok "cancel_requested is recorded" jtrue "$(wl_get "$long_id")" '.cancel_requested == true'
ok "worker w1 gets its slot back" \
    wait_until "w1 used_slots 0" 30 eval '[ "$(worker_field w1 .used_slots)" = 0 ]'
body=$(api POST "/v1/workloads/$long_id/cancel")
is "$(api_status)" 409 "cancel of a terminal workload answers 409"
ok "409 has a JSON error" jtrue "$body" '(.error.code | type) == "string"'

# --- listing: filters and pages
all_ids=$(printf '%s\n' "$sleep_id" "$hello_id" "$fail_id" "$long_id" | sort)
list=$(list_all "")
is "$(jq -r '.[].id' <<<"$list" | sort)" "$all_ids" "list returns every workload"
list=$(list_all status=COMPLETED)
is "$(jq -r '.[].id' <<<"$list" | sort)" \
    "$(printf '%s\n' "$sleep_id" "$hello_id" | sort)" "status=COMPLETED lists the completed ones"
ok "status=COMPLETED lists only COMPLETED" jtrue "$list" 'all(.[]; .status == "COMPLETED")'
list=$(list_all status=FAILED)
is "$(jq -r '.[].id' <<<"$list")" "$fail_id" "status=FAILED lists the failed one"
list=$(list_all workload_type=exec)
is "$(jq -r '.[].id' <<<"$list" | sort)" \
    "$(printf '%s\n' "$hello_id" "$fail_id" | sort)" "workload_type=exec lists the exec ones"

# Walk with two per page.
cursor="" pages=0 seen="" bad_page=0
while :; do
	body=$(api GET "/v1/workloads?limit=2${cursor:+&cursor=$cursor}")
	[ "$(api_status)" = 200 ] || { bad_page=1; break; }
	n=$(jget "$body" '.workloads | length')
	[ "$n" -le 2 ] || bad_page=1
	seen+=$(jq -r '.workloads[].id' <<<"$body")$'\n'
	cursor=$(jget "$body" '.next_cursor // empty | @uri')
	pages=$((pages + 1))
	[ -n "$cursor" ] && [ "$pages" -lt 20 ] || break
done
is "$bad_page" 0 "every page of limit=2 has at most 2 workloads"
ok "limit=2 takes at least 2 pages for 4 workloads" [ "$pages" -ge 2 ]
is "$(grep -v '^$' <<<"$seen" | sort)" "$all_ids" "the cursor walk sees each workload exactly once"

# --- niyantactl against the same server
if [ -x "$NIYANTACTL" ]; then
	export NIYANTA_SERVER=$COORD_URL NIYANTA_KEY_FILE=$ADMIN_KEY_FILE
	ctl_id=$("$NIYANTACTL" submit --type sleep --params '{"duration_ms": 50}' --max-retries 0)
	like "$ctl_id" '^[0-9a-fA-F-]{36}$' "niyantactl submit prints the new id"
	"$NIYANTACTL" wait "$ctl_id" --timeout 30 >/dev/null
	is "$?" 0 "niyantactl wait exits 0 when the workload COMPLETES"
	is "$("$NIYANTACTL" --output json get "$ctl_id" | jq -r .status)" COMPLETED \
	    "niyantactl --output json get prints the record"
	"$NIYANTACTL" wait "$fail_id" --timeout 30 >/dev/null
	is "$?" 1 "niyantactl wait exits 1 for a FAILED workload"
	err=$("$NIYANTACTL" cancel "$ctl_id" 2>&1 >/dev/null)
	is "$?" 1 "niyantactl cancel of a finished workload exits 1"
	like "$err" '^niyantactl: [a-z_]+: ' "niyantactl prints the API error code"
	is "$("$NIYANTACTL" --output json list --status completed --all | jq '.workloads | length')" 3 \
	    "niyantactl list --all follows the cursor"
	"$NIYANTACTL" submit --priority 5000 --type sleep 2>/dev/null
	is "$?" 2 "niyantactl refuses a bad option with status 2"
	like "$("$NIYANTACTL" workers)" 'w1 +ALIVE' "niyantactl workers shows w1 ALIVE"
else
	fail "niyantactl is built"
fi

done_testing
