#!/usr/bin/env bash
# Checkpoints through the API, with one coordinator and one worker.  A 4 s
# sleep that checkpoints every 300 ms shows its committed checkpoints on
# GET /v1/workloads/{id}/checkpoints, oldest first: sequences increasing,
# attempt 1, sizes and a creation time, never more than the coordinator
# keeps (--checkpoint-keep 2 when niyantad has that flag, else the default
# of 3), the newest one being the workload's checkpoint_seq.  The list has
# the workload's visibility: another customer gets 404, as for an unknown
# id; the admin sees a customer's list.  A submission's checkpoint_policy
# round-trips (and is all zeros when absent); a bad one is a 400 naming
# the member, in a single submission and in a batch item.
. "$(dirname "$0")/lib.sh"

# ckpt_list ID: the checkpoint list of workload ID (admin key unless API_AS).
ckpt_list() {
	api GET "/v1/workloads/$1/checkpoints"
}

# ckpt_count_at_least ID N: the list answers 200 with N checkpoints or more.
ckpt_count_at_least() {
	local body
	body=$(ckpt_list "$1")
	[ "$(api_status)" = 200 ] && jtrue "$body" "(.count // 0) >= $2"
}

# detail_named JSON FIELD: the detail of a 400 naming FIELD, compact, or "".
detail_named() {
	error_detail "$1" | jq -c --arg f "$2" '[.[] | select(.field == $f)][0] // empty' \
	    2>/dev/null
}

RFC3339='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$'

t_require_bin "$NIYANTAD"
KEEP=3
keep_args=()
if "$NIYANTAD" --help 2>&1 | grep -q -e '--checkpoint-keep'; then
	KEEP=2
	keep_args=(--checkpoint-keep 2)
fi
diag "the coordinator keeps $KEEP checkpoints per workload"

coord_init
start_coord "${keep_args[@]}"
wait_coord_ready
start_worker w1
wait_worker_alive w1

# --- a running sleep's checkpoints
L=$(submit '{"workload_type":"sleep","input_params":{"duration_ms":4000,"checkpoint_ms":300},"max_retries":0}')
ok "submit a 4 s sleep that checkpoints every 300 ms" [ -n "$L" ] || bail "cannot submit"
is "$(jget "$(wl_get "$L")" '.checkpoint_policy | "\(.interval_seconds) \(.on_progress_percent)"')" \
    "0 0" "without checkpoint_policy the workload shows both members as 0"

ok "its list reaches 2 checkpoints" wait_until "2 checkpoints of $L" 30 \
    ckpt_count_at_least "$L" 2 || bail "no checkpoints listed: $(ckpt_list "$L")"
body=$(ckpt_list "$L")
is "$(api_status)" 200 "GET /v1/workloads/{id}/checkpoints: 200"
is "$(jget "$body" .workload_id)" "$L" "the answer names the workload"
ok "count is the length of the list" jtrue "$body" '.count == (.checkpoints | length)'
ok "at least 2 and at most $KEEP checkpoints (got $(jget "$body" .count))" \
    jtrue "$body" ".count >= 2 and .count <= $KEEP"
ok "sequences increase, oldest first" jtrue "$body" \
    '[.checkpoints[].sequence] as $s | ($s | length) > 0 and
     all(range(1; $s | length); $s[.] > $s[. - 1]) and $s[0] >= 1'
ok "every checkpoint is of attempt 1" jtrue "$body" 'all(.checkpoints[]; .attempt == 1)'
ok "every checkpoint has size > 0" jtrue "$body" \
    'all(.checkpoints[]; (.size | type) == "number" and .size > 0)'
ok "every checkpoint has compressed_size > 0" jtrue "$body" \
    'all(.checkpoints[]; (.compressed_size | type) == "number" and .compressed_size > 0)'
created=$(jget "$body" '.checkpoints[0].created_at // empty')
like "$created" "$RFC3339" "created_at is an RFC 3339 time"
ok "every checkpoint has created_at" jtrue "$body" \
    'all(.checkpoints[]; (.created_at | type) == "string")'
ok "exactly the five documented members" jtrue "$body" \
    'all(.checkpoints[]; keys == ["attempt","compressed_size","created_at","sequence","size"])'
first_max=$(jget "$body" '[.checkpoints[].sequence] | max')
first_status=$(wl_field "$L" .status)

ok "the sleep COMPLETES" wait_until "$L COMPLETED" 30 wl_status_is "$L" COMPLETED
body=$(ckpt_list "$L")
is "$(api_status)" 200 "the list of a COMPLETED workload: 200"
ok "at most $KEEP checkpoints are kept (got $(jget "$body" .count))" \
    jtrue "$body" ".count >= 1 and .count <= $KEEP"
# Unless the first look came only as it finished (a very slow machine).
if [ "$first_status" = RUNNING ]; then
	ok "later checkpoints came after the first look" \
	    jtrue "$body" "([.checkpoints[].sequence] | max) > $first_max"
else
	pass "later checkpoints came after the first look (# SKIP it was $first_status)"
fi
ok "still oldest first" jtrue "$body" \
    '[.checkpoints[].sequence] as $s | all(range(1; $s | length); $s[.] > $s[. - 1])'
is "$(jget "$body" '.checkpoints[-1].sequence')" "$(wl_field "$L" .checkpoint_seq)" \
    "the newest is the workload's checkpoint_seq"

# --- tenancy
O=$(customer_create other standard "$T_DIR/o.key" '"rate_limit_rps":1000') ||
    bail "cannot create a customer (POST /v1/customers)"
KO=$(key_of "$T_DIR/o.key")
body=$(API_AS=$KO api GET "/v1/workloads/$L/checkpoints")
is "$(api_status)" 404 "another customer gets 404 for the list"
ok "the 404 is a JSON error" jtrue "$body" '(.error.code | type) == "string"'
ok "the 404 leaks no checkpoint" eval '! grep -qF "\"checkpoints\"" <<<"$body"'
API_AS=$KO api GET "/v1/workloads/$L" >/dev/null
is "$(api_status)" 404 "as for GET of the workload itself"
mine=$(API_AS=$KO submit '{"workload_type":"sleep","input_params":{"duration_ms":100},"max_retries":0}')
ok "the customer submits its own workload" [ -n "$mine" ]
body=$(API_AS=$KO api GET "/v1/workloads/$mine/checkpoints")
is "$(api_status)" 200 "the customer lists its own workload's checkpoints"
ok "an answer with a count" jtrue "$body" "(.count | type) == \"number\" and .workload_id == \"$mine\""
api GET "/v1/workloads/$mine/checkpoints" >/dev/null
is "$(api_status)" 200 "the admin lists a customer's workload's checkpoints"
api GET /v1/workloads/00000000-0000-4000-8000-000000000000/checkpoints >/dev/null
is "$(api_status)" 404 "an unknown id: 404"
api GET /v1/workloads/not-a-workload/checkpoints >/dev/null
is "$(api_status)" 404 "a malformed id: 404"
api POST "/v1/workloads/$L/checkpoints" '{}' >/dev/null
is "$(api_status)" 405 "POST to the list: 405"
is "$(api_header Allow)" GET "with Allow: GET"

# --- checkpoint_policy in submissions
P=$(submit '{"workload_type":"sleep","input_params":{"duration_ms":100},"max_retries":0,"checkpoint_policy":{"interval_seconds":5,"on_progress_percent":25}}')
ok "submit with checkpoint_policy {5 s, 25%}" [ -n "$P" ]
is "$(jget "$(wl_get "$P")" '.checkpoint_policy | "\(.interval_seconds) \(.on_progress_percent)"')" \
    "5 25" "GET shows the policy"
P2=$(submit '{"workload_type":"sleep","input_params":{"duration_ms":100},"max_retries":0,"checkpoint_policy":{"on_progress_percent":10}}')
ok "submit with only on_progress_percent" [ -n "$P2" ]
is "$(jget "$(wl_get "$P2")" '.checkpoint_policy | "\(.interval_seconds) \(.on_progress_percent)"')" \
    "0 10" "the absent member shows as 0"

body=$(api POST /v1/workloads '{"workload_type":"sleep","input_params":{"duration_ms":100},"checkpoint_policy":{"interval_seconds":-1}}')
is "$(api_status)" 400 "interval_seconds -1: 400"
ok "naming checkpoint_policy.interval_seconds" \
    [ -n "$(detail_named "$body" checkpoint_policy.interval_seconds)" ]
body=$(api POST /v1/workloads '{"workload_type":"sleep","input_params":{"duration_ms":100},"checkpoint_policy":{"bogus":1}}')
is "$(api_status)" 400 "an unknown member: 400"
ok "naming checkpoint_policy.bogus" [ -n "$(detail_named "$body" checkpoint_policy.bogus)" ]
body=$(api POST /v1/workloads '{"workload_type":"sleep","input_params":{"duration_ms":100},"checkpoint_policy":{"on_progress_percent":"25"}}')
is "$(api_status)" 400 "on_progress_percent a string: 400"
ok "naming checkpoint_policy.on_progress_percent" \
    [ -n "$(detail_named "$body" checkpoint_policy.on_progress_percent)" ]
body=$(api POST /v1/workloads '{"workload_type":"sleep","input_params":{"duration_ms":100},"checkpoint_policy":60}')
is "$(api_status)" 400 "checkpoint_policy not an object: 400"
ok "naming checkpoint_policy" [ -n "$(detail_named "$body" checkpoint_policy)" ]
body=$(api POST /v1/workloads/batch '{"workloads":[{"workload_type":"sleep","input_params":{"duration_ms":100}},{"workload_type":"sleep","input_params":{"duration_ms":100},"checkpoint_policy":{"on_progress_percent":101}}]}')
is "$(api_status)" 400 "a batch item with on_progress_percent 101: 400"
is "$(jget "$(detail_named "$body" checkpoint_policy.on_progress_percent)" .index)" 1 \
    "its detail names index 1 and the member"

done_testing
