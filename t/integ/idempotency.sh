#!/usr/bin/env bash
# Idempotent submission: the same Idempotency-Key with the same body
# answers 201 and then 200 with the same workload; the same key with
# another body is a 409 conflict; only one workload exists; another key,
# or no key, makes new ones.  A key belongs to its customer.  niyantactl
# submit --idempotency-key does the same.
. "$(dirname "$0")/lib.sh"

coord_init
start_coord
wait_coord_ready

K1="idem-$$-one"
BODY='{"workload_type":"sleep","input_params":{"duration_ms":10},"max_retries":0}'
OTHER='{"workload_type":"sleep","input_params":{"duration_ms":20},"max_retries":0}'

r1=$(API_HDRS="Idempotency-Key: $K1" api POST /v1/workloads "$BODY")
is "$(api_status)" 201 "first submission with a key: 201"
id1=$(jget "$r1" '.id // empty')
ok "it returns a workload id" [ -n "$id1" ]

r2=$(API_HDRS="Idempotency-Key: $K1" api POST /v1/workloads "$BODY")
is "$(api_status)" 200 "the same key and body again: 200"
is "$(jget "$r2" .id)" "$id1" "with the same workload id"
is "$(jget "$r2" .created_at)" "$(jget "$r1" .created_at)" "and the original record (same created_at)"

r3=$(API_HDRS="Idempotency-Key: $K1" api POST /v1/workloads "$OTHER")
is "$(api_status)" 409 "the same key with a different body: 409"
ok "the 409 has a JSON error body" jtrue "$r3" '(.error.code | type) == "string"'
is "$(count_workloads)" 1 "only one workload exists"
is "$(wl_field "$id1" .input_params.duration_ms)" 10 "and it is the first body's"

r4=$(API_HDRS="Idempotency-Key: idem-$$-two" api POST /v1/workloads "$BODY")
is "$(api_status)" 201 "a different key with the same body: 201"
id4=$(jget "$r4" '.id // empty')
ok "it is a new workload" [ -n "$id4" ] && [ "$id4" != "$id1" ]
is "$(count_workloads)" 2 "two workloads exist"

a=$(submit "$BODY")
b=$(submit "$BODY")
ok "without a key the same body makes two more workloads" \
    [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]
is "$(count_workloads)" 4 "four workloads exist"

# The key is the customer's: another customer's same key is its own.
C=$(customer_create tenant standard "$T_DIR/c.key" '"rate_limit_rps":1000') ||
    bail "cannot create a customer (POST /v1/customers)"
rc=$(API_AS=$(key_of "$T_DIR/c.key") API_HDRS="Idempotency-Key: $K1" \
    api POST /v1/workloads "$BODY")
is "$(api_status)" 201 "another customer using the same key: 201"
idc=$(jget "$rc" '.id // empty')
ok "a workload of its own" [ -n "$idc" ] && [ "$idc" != "$id1" ]
is "$(wl_field "$idc" .customer_id)" "$C" "belonging to that customer"
r5=$(API_HDRS="Idempotency-Key: $K1" api POST /v1/workloads "$BODY")
is "$(jget "$r5" .id)" "$id1" "the admin's key still answers with the admin's workload"

# niyantactl
if [ -x "$NIYANTACTL" ]; then
	export NIYANTA_SERVER=$COORD_URL NIYANTA_KEY_FILE=$ADMIN_KEY_FILE
	n=$(count_workloads)
	c1=$("$NIYANTACTL" submit --type sleep --params '{"duration_ms": 5}' \
	    --idempotency-key "ctl-$$" 2>/dev/null)
	is "$?" 0 "niyantactl submit --idempotency-key"
	c2=$("$NIYANTACTL" submit --type sleep --params '{"duration_ms": 5}' \
	    --idempotency-key "ctl-$$" 2>/dev/null)
	is "$?" 0 "niyantactl submit --idempotency-key, again"
	ok "both print the same id" [ -n "$c1" ] && [ "$c1" = "$c2" ]
	is "$(count_workloads)" $((n + 1)) "one workload was created"
	"$NIYANTACTL" submit --type sleep --params '{"duration_ms": 6}' \
	    --idempotency-key "ctl-$$" >/dev/null 2>&1
	is "$?" 1 "the same key with other parameters fails (exit 1)"
	"$NIYANTACTL" submit --type sleep --params '{"duration_ms": 6}' \
	    --idempotency-key "has space" >/dev/null 2>&1
	is "$?" 2 "a key with a blank is a usage error (exit 2)"
else
	fail "niyantactl is built"
fi

done_testing
