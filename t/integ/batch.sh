#!/usr/bin/env bash
# Batches: 100 valid workloads in one POST /v1/workloads/batch are all
# created (201, count 100, in the order sent); one invalid item (index 57)
# refuses the whole batch with its index in the details and stores
# nothing; 1001 items are too many.  POST /v1/workloads/batch/cancel
# answers per id: cancelled, cancelled, not_found (another customer's
# workload is not_found too).  niyanta-bench submit --batch drives the
# same route.  No worker runs: everything stays PENDING.
. "$(dirname "$0")/lib.sh"

# items N [BAD_INDEX BAD_MEMBERS]: a JSON array of N sleep workloads with
# duration_ms = index + 1; the item at BAD_INDEX gets BAD_MEMBERS added.
items() {
	jq -cn --argjson n "$1" --argjson bad "${2:--1}" --argjson extra "{${3:-}}" '
	    [range(0; $n) | {workload_type: "sleep",
	        input_params: {duration_ms: (. + 1)}, max_retries: 0}
	      + (if . == $bad then $extra else {} end)]'
}

coord_init
start_coord
wait_coord_ready

printf '{"workloads":%s}' "$(items 100)" >"$T_DIR/b100"
body=$(api POST /v1/workloads/batch "$(cat "$T_DIR/b100")")
is "$(api_status)" 201 "a batch of 100 valid workloads: 201"
is "$(jget "$body" .count)" 100 "count is 100"
is "$(jget "$body" '.workloads | length')" 100 "and 100 workloads are listed"
ok "each has id, status PENDING, workload_type, priority and created_at" jtrue "$body" \
    'all(.workloads[]; (.id | type) == "string" and .status == "PENDING" and
        .workload_type == "sleep" and (.priority | type) == "number" and
        (.created_at | type) == "string")'
ok "the ids are distinct" jtrue "$body" '[.workloads[].id] | unique | length == 100'
batch_ids=$(jq -r '.workloads[].id' <<<"$body" | sort)
is "$(list_all "" | jq -r '.[].id' | sort)" "$batch_ids" "all 100 exist"
id57=$(jget "$body" '.workloads[57].id')
is "$(wl_field "$id57" .input_params.duration_ms)" 58 "the reply keeps the order sent (item 57)"
is "$(wl_field "$(jget "$body" '.workloads[99].id')" .input_params.duration_ms)" 100 \
    "the reply keeps the order sent (item 99)"

# One invalid item refuses the whole batch.
body=$(api POST /v1/workloads/batch "{\"workloads\":$(items 100 57 '"priority":5000')}")
like "$(api_status)" '^(400|422)$' "a batch with an invalid item 57: 400 or 422"
ok "the details name index 57" jtrue "$(error_detail "$body")" 'any(.[]; .index == 57)'
ok "and no other index" jtrue "$(error_detail "$body")" \
    'all(.[]; (has("index") | not) or .index == 57)'
is "$(count_workloads)" 100 "nothing from the refused batch was stored"
body=$(api POST /v1/workloads/batch "{\"workloads\":$(items 100 57 '"workload_type":"no-such-type"')}")
like "$(api_status)" '^(400|422)$' "a batch with an unknown type at item 57: 400 or 422"
ok "the details name index 57" jtrue "$(error_detail "$body")" 'any(.[]; .index == 57)'
is "$(count_workloads)" 100 "nothing was stored"

printf '{"workloads":%s}' "$(items 1001)" >"$T_DIR/b1001"
body=$(api POST /v1/workloads/batch "$(cat "$T_DIR/b1001")")
like "$(api_status)" '^(400|413)$' "a batch of 1001: 400 or 413"
ok "with a JSON error body" jtrue "$body" '(.error.code | type) == "string"'
is "$(count_workloads)" 100 "nothing was stored"
api POST /v1/workloads/batch '{"workloads":{}}' >/dev/null
is "$(api_status)" 400 "workloads not an array: 400"

# Batch cancel.
c1=$(sed -n 1p <<<"$batch_ids")
c2=$(sed -n 2p <<<"$batch_ids")
unknown=00000000-0000-4000-8000-000000000000
body=$(api POST /v1/workloads/batch/cancel "{\"ids\":[\"$c1\",\"$c2\",\"$unknown\"]}")
is "$(api_status)" 200 "batch cancel of 3 ids: 200"
is "$(jget "$body" '[.results[].id] | join(" ")')" "$c1 $c2 $unknown" "one result per id, in order"
is "$(jget "$body" '[.results[].result] | join(" ")')" "cancelled cancelled not_found" \
    "results: cancelled, cancelled, not_found"
is "$(jget "$body" '[.results[0,1].status] | join(" ")')" "CANCELLED CANCELLED" \
    "the cancelled ones report CANCELLED"
ok "both are CANCELLED" all_status_is CANCELLED "$c1" "$c2"
is "$(count_workloads status=PENDING)" 98 "the other 98 are still PENDING"

# Another customer cannot cancel the admin's workloads.
X=$(customer_create outsider standard "$T_DIR/x.key" '"rate_limit_rps":1000') ||
    bail "cannot create a customer (POST /v1/customers)"
c3=$(sed -n 3p <<<"$batch_ids")
body=$(API_AS=$(key_of "$T_DIR/x.key") api POST /v1/workloads/batch/cancel "{\"ids\":[\"$c3\"]}")
is "$(api_status)" 200 "another customer's batch cancel: 200"
is "$(jget "$body" '.results[0].result')" not_found "the admin's workload is not_found to it"
is "$(wl_field "$c3" .status)" PENDING "and stays PENDING"

# niyanta-bench submit --batch against the same route.
if [ -x "$NIYANTA_BENCH" ]; then
	out=$("$NIYANTA_BENCH" submit --server "$COORD_URL" --key-file "$ADMIN_KEY_FILE" \
	    --batch 50 --count 120 --connections 2 --json)
	is "$?" 0 "niyanta-bench submit --batch 50 --count 120 exits 0"
	is "$(jget "$out" '[.requests, .durable, .errors] | map(tostring) | join(" ")')" \
	    "3 120 0" "3 requests, 120 workloads, no errors"
	ok "it reports workloads/s and requests/s" \
	    jtrue "$out" '.workloads_per_s > 0 and .requests_per_s > 0'
	is "$(count_workloads)" 220 "120 more workloads exist"
else
	fail "niyanta-bench is built"
fi

done_testing
