#!/usr/bin/env bash
# Backpressure: a customer with max_queue_depth 5 and no worker running
# gets 5 submissions in; the 6th is refused with 503, Retry-After and
# details naming max_queue_depth, and stores nothing, while another
# customer is unaffected.  The queue-depth endpoint agrees, for the admin
# (total, by tier, by customer) and for the customer (its own).  Once a
# worker drains the queue the customer submits again.  Then a second
# coordinator started with --global-max-pending 3 refuses the 4th pending
# workload with 503 naming global_max_pending, for everyone, until one
# leaves the queue.
. "$(dirname "$0")/lib.sh"

# limit_is JSON NAME VALUE: the error's details name the limit and value.
limit_is() {
	jtrue "$(error_detail "$1")" \
	    "any(.[]; .limit == \"$2\" and (.value | tostring) == \"$3\")"
}

# depth_for JSON CUSTOMER: the admin view's pending count for a customer
# (by_customer may map ids to counts or to objects, or list objects).
depth_for() {
	jq -r --arg c "$2" '.by_customer |
	    if type == "object" then .[$c]
	    else (map(select(.customer_id == $c)) | .[0]) end |
	    if type == "object" then .pending else . end // 0' <<<"$1" 2>/dev/null
}

# tier_depth JSON TIER: the admin view's pending count for a tier.
tier_depth() {
	jq -r --arg t "$2" '.by_tier[$t] | if type == "object" then .pending else . end // 0' \
	    <<<"$1" 2>/dev/null
}

coord_init
start_coord
wait_coord_ready

C=$(customer_create small standard "$T_DIR/c.key" \
    '"max_queue_depth":5,"rate_limit_rps":1000') ||
    bail "cannot create a customer (POST /v1/customers)"
D=$(customer_create roomy premium "$T_DIR/d.key" '"rate_limit_rps":1000') ||
    bail "cannot create a second customer"
KC=$(key_of "$T_DIR/c.key")
KD=$(key_of "$T_DIR/d.key")
pass "customers C (max_queue_depth 5) and D"

ids=()
for i in 1 2 3 4 5; do
	id=$(API_AS=$KC submit_sleep 50) && ids+=("$id")
done
is "${#ids[@]}" 5 "C's first 5 submissions are accepted"
before=$(count_workloads)

body=$(API_AS=$KC api POST /v1/workloads \
    '{"workload_type":"sleep","input_params":{"duration_ms":50},"max_retries":0}')
is "$(api_status)" 503 "C's 6th submission: 503"
ra=$(api_header Retry-After)
ok "it carries Retry-After >= 1 (got '$ra')" eval '[[ $ra =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ]'
ok "its JSON error names the limit: max_queue_depth, 5" limit_is "$body" max_queue_depth 5 ||
    diag "reply: $(head -c 400 <<<"$body")"
ok "its error has a code and request_id" jtrue "$body" \
    '(.error.code | type) == "string" and has("request_id")'
is "$(count_workloads)" "$before" "the refused submission stored nothing"
is "$(API_AS=$KC count_workloads)" 5 "C still has exactly 5 workloads"

id=$(API_AS=$KD submit_sleep 50)
ok "customer D is not limited by C's queue" [ -n "$id" ]
ids_d=("$id")

# Queue depth as the customer and as the admin.
body=$(API_AS=$KC api GET /v1/metrics/queue-depth)
is "$(api_status)" 200 "C: GET /v1/metrics/queue-depth"
is "$(jget "$body" '[.customer_id, .pending, .max_queue_depth] | map(tostring) | join(" ")')" \
    "$C 5 5" "C sees its own pending 5 of max_queue_depth 5"
ok "C does not see other customers" jtrue "$body" 'has("by_customer") | not'
body=$(api GET /v1/metrics/queue-depth)
is "$(api_status)" 200 "admin: GET /v1/metrics/queue-depth"
is "$(jget "$body" .total)" 6 "admin: total pending 6"
is "$(depth_for "$body" "$C")" 5 "admin: by_customer C is 5"
is "$(depth_for "$body" "$D")" 1 "admin: by_customer D is 1"
is "$(tier_depth "$body" standard)" 5 "admin: by_tier standard is 5"
is "$(tier_depth "$body" premium)" 1 "admin: by_tier premium is 1"

# Drain: a worker runs them; then C submits again.
start_worker w1 --capacity 8
wait_worker_alive w1
ok "the worker drains C's queue" \
    wait_until "C's 5 COMPLETED" 60 all_status_is COMPLETED "${ids[@]}" "${ids_d[@]}"
id=$(API_AS=$KC submit_sleep 50)
ok "after the drain C submits again" [ -n "$id" ]
ok "and it completes" wait_until "$id COMPLETED" 30 wl_status_is "$id" COMPLETED
is "$(jget "$(API_AS=$KC api GET /v1/metrics/queue-depth)" .pending)" 0 \
    "C's queue depth is back to 0"

# niyantactl shows the same numbers.
if [ -x "$NIYANTACTL" ]; then
	is "$("$NIYANTACTL" --server "$COORD_URL" --key-file "$T_DIR/c.key" \
	    --output json queue-depth | jq -r .max_queue_depth)" 5 \
	    "niyantactl queue-depth with C's key"
	like "$("$NIYANTACTL" --server "$COORD_URL" --key-file "$ADMIN_KEY_FILE" queue-depth)" \
	    'total pending: 0' "niyantactl queue-depth with the admin key"
else
	fail "niyantactl is built"
fi

# --- the global limit, on a second coordinator
stop_proc "${WORKER_PID[w1]}"
stop_coord
coord_init coord2
start_coord --global-max-pending 3
wait_coord_ready

# No worker: everything stays PENDING.
g=()
for i in 1 2 3; do
	id=$(submit_sleep 50) && g+=("$id")
done
is "${#g[@]}" 3 "with --global-max-pending 3, three submissions are accepted"
body=$(api POST /v1/workloads '{"workload_type":"sleep","input_params":{"duration_ms":50}}')
is "$(api_status)" 503 "the 4th pending workload: 503"
ra=$(api_header Retry-After)
ok "it carries Retry-After >= 1 (got '$ra')" eval '[[ $ra =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ]'
ok "its JSON error names the limit: global_max_pending, 3" \
    limit_is "$body" global_max_pending 3 || diag "reply: $(head -c 400 <<<"$body")"
is "$(count_workloads)" 3 "nothing was stored"
E=$(customer_create late enterprise "$T_DIR/e.key" '"rate_limit_rps":1000') ||
    bail "cannot create a customer on the second coordinator"
body=$(API_AS=$(key_of "$T_DIR/e.key") api POST /v1/workloads \
    '{"workload_type":"sleep","input_params":{"duration_ms":50}}')
is "$(api_status)" 503 "a customer with room of its own is refused too"
ok "naming global_max_pending" limit_is "$body" global_max_pending 3
body=$(api GET /v1/metrics/queue-depth)
is "$(jget "$body" .total)" 3 "queue depth: total 3"
api POST "/v1/workloads/${g[0]}/cancel" >/dev/null
is "$(api_status)" 200 "cancel one pending workload"
id=$(submit_sleep 50)
ok "then a submission is accepted again" [ -n "$id" ]
is "$(jget "$(api GET /v1/metrics/queue-depth)" .total)" 3 "queue depth: total 3 again"

done_testing
