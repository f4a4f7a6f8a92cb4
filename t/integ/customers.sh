#!/usr/bin/env bash
# Tenants: the admin creates customers A and B, each with its own API key.
# Each sees only its own workloads (another's id answers 404 to GET,
# cancel and pause; lists hold only its own) while the admin sees both; a
# customer key may not manage customers (403).  Key rotation: a second key
# for A works, revoking the first makes it 401 and leaves the second
# working.  Raising A's tier raises the effective priority of A's next
# submission.  niyantactl drives the same routes.
. "$(dirname "$0")/lib.sh"

# ids_of JSON_ARRAY: the ids, sorted, one a line.
ids_of() {
	jq -r '.[].id' <<<"$1" | sort
}

coord_init
start_coord
wait_coord_ready

# No worker runs in this test: every workload stays PENDING.  The customers
# get a high rate limit so that nothing here is rate-limited.
A=$(customer_create alpha standard "$T_DIR/a.key" '"rate_limit_rps":1000') ||
    bail "cannot create a customer (POST /v1/customers)"
B=$(customer_create beta standard "$T_DIR/b.key" '"rate_limit_rps":1000') ||
    bail "cannot create a second customer"
KA=$(key_of "$T_DIR/a.key")
KB=$(key_of "$T_DIR/b.key")
KA_ID=$(cat "$T_DIR/a.key.id")
pass "the admin creates customers A and B, each with a key"
ok "the two customers have different ids" [ "$A" != "$B" ]
ok "the two keys differ" [ "$KA" != "$KB" ]

body=$(api GET "/v1/customers/$A")
is "$(api_status)" 200 "admin: GET /v1/customers/A"
is "$(jget "$body" '.name + " " + .tier')" "alpha standard" "A has its name and tier"
body=$(api GET /v1/customers)
is "$(api_status)" 200 "admin: GET /v1/customers"
ok "the customer list holds A and B" jtrue "$body" \
    "[.customers[].id] as \$l | (\$l | index(\"$A\")) != null and (\$l | index(\"$B\")) != null"
ok "no key text appears in the customer list" \
    eval '! grep -qF -e "$KA" -e "$KB" <<<"$body"'

# --- each submits
wa=$(API_AS=$KA submit_sleep 1000)
ok "A submits a workload" [ -n "$wa" ]
wb=$(API_AS=$KB submit_sleep 1000)
ok "B submits a workload" [ -n "$wb" ]
wadm=$(submit_sleep 1000)
ok "the admin submits a workload" [ -n "$wadm" ]
is "$(wl_field "$wa" .customer_id)" "$A" "A's workload belongs to A"
is "$(wl_field "$wb" .customer_id)" "$B" "B's workload belongs to B"

# --- isolation
API_AS=$KA api GET "/v1/workloads/$wa" >/dev/null
is "$(api_status)" 200 "A can GET its own workload"
body=$(API_AS=$KA api GET "/v1/workloads/$wb")
is "$(api_status)" 404 "A cannot GET B's workload: 404"
ok "the 404 has a JSON error body" jtrue "$body" '(.error.code | type) == "string"'
ok "the 404 does not leak B's record" eval '! grep -qF "\"customer_id\"" <<<"$body"'
API_AS=$KA api POST "/v1/workloads/$wb/cancel" >/dev/null
is "$(api_status)" 404 "A cannot cancel B's workload: 404"
API_AS=$KA api POST "/v1/workloads/$wb/pause" >/dev/null
is "$(api_status)" 404 "A cannot pause B's workload: 404"
API_AS=$KA api POST "/v1/workloads/$wb/resume" >/dev/null
is "$(api_status)" 404 "A cannot resume B's workload: 404"
API_AS=$KB api GET "/v1/workloads/$wadm" >/dev/null
is "$(api_status)" 404 "B cannot GET the admin's workload: 404"
is "$(wl_field "$wb" .status)" PENDING "B's workload is untouched (still PENDING)"

is "$(ids_of "$(API_AS=$KA list_all "")")" "$wa" "A's list holds only A's workload"
is "$(ids_of "$(API_AS=$KB list_all "")")" "$wb" "B's list holds only B's workload"
is "$(ids_of "$(API_AS=$KA list_all status=PENDING)")" "$wa" \
    "A's filtered list holds only A's workload"
is "$(ids_of "$(list_all "")")" "$(printf '%s\n' "$wa" "$wb" "$wadm" | sort)" \
    "the admin's list holds every workload"

# --- customer keys cannot manage customers
body=$(API_AS=$KA api POST /v1/customers '{"name":"mallory","tier":"enterprise"}')
is "$(api_status)" 403 "a customer key: POST /v1/customers answers 403"
ok "the 403 has a JSON error body" jtrue "$body" '(.error.code | type) == "string"'
API_AS=$KA api GET /v1/customers >/dev/null
is "$(api_status)" 403 "a customer key: GET /v1/customers answers 403"
API_AS=$KA api GET "/v1/customers/$B" >/dev/null
is "$(api_status)" 403 "a customer key: GET of another customer answers 403"
body=$(API_AS=$KA api GET "/v1/customers/$A")
is "$(api_status)" 200 "a customer key may GET its own customer"
is "$(jget "$body" .id)" "$A" "and it is A"
API_AS=$KA api PATCH "/v1/customers/$A" '{"tier":"enterprise"}' >/dev/null
is "$(api_status)" 403 "a customer key cannot PATCH itself: 403"
API_AS=$KA api POST "/v1/customers/$A/keys" '{}' >/dev/null
is "$(api_status)" 403 "a customer key cannot create keys: 403"
is "$(jget "$(api GET "/v1/customers/$A")" .tier)" standard "A's tier is unchanged"
is "$(jget "$(api GET /v1/customers)" "[.customers[] | select(.name == \"mallory\")] | length")" 0 \
    "the refused POST created no customer"

# --- key rotation
KA2_ID=$(key_create "$A" "$T_DIR/a2.key") || bail "cannot create a second key for A"
KA2=$(key_of "$T_DIR/a2.key")
ok "a second key for A" [ -n "$KA2" ] && [ "$KA2" != "$KA" ]
body=$(API_AS=$KA2 api GET "/v1/workloads/$wa")
is "$(api_status)" 200 "A's second key reads A's workload"
API_AS=$KA2 api GET "/v1/workloads/$wb" >/dev/null
is "$(api_status)" 404 "A's second key still cannot read B's workload"
body=$(api GET "/v1/customers/$A/keys")
is "$(api_status)" 200 "admin: GET /v1/customers/A/keys"
is "$(jget "$body" '[.keys[].id] | sort | join(" ")')" \
    "$(printf '%s\n' "$KA_ID" "$KA2_ID" | sort | paste -sd ' ')" "A has exactly its two keys"
ok "the key list never shows a key's text" eval '! grep -qF -e "$KA" -e "$KA2" <<<"$body"'

api DELETE "/v1/customers/$A/keys/$KA_ID" >/dev/null
is "$(api_status)" 204 "revoke A's first key: 204"
body=$(API_AS=$KA api GET /v1/workloads)
is "$(api_status)" 401 "the revoked key answers 401"
ok "the 401 has a JSON error body" jtrue "$body" '(.error.code | type) == "string"'
API_AS=$KA api GET "/v1/workloads/$wa" >/dev/null
is "$(api_status)" 401 "the revoked key cannot read A's workload either"
API_AS=$KA2 api GET "/v1/workloads/$wa" >/dev/null
is "$(api_status)" 200 "A's second key still works"
API_AS=$KB api GET "/v1/workloads/$wb" >/dev/null
is "$(api_status)" 200 "B's key is unaffected"
body=$(api GET "/v1/customers/$A/keys")
ok "the revoked key is marked revoked (or gone) in the key list" jtrue "$body" \
    "[.keys[] | select(.id == \"$KA_ID\")] | all(.revoked == true or (.revoked_at // null) != null)"
api DELETE "/v1/customers/$A/keys/00000000-0000-4000-8000-000000000000" >/dev/null
is "$(api_status)" 404 "revoking an unknown key id: 404"

# --- tier changes the effective priority of the next submission
p1=$(API_AS=$KA2 submit_sleep 1000 '"priority":10')
ok "A submits with priority 10 (standard)" [ -n "$p1" ]
wl=$(wl_get "$p1")
is "$(jget "$wl" .tier)" standard "the workload carries tier standard"
is "$(jget "$wl" .effective_priority)" 100 "effective priority 10 x 10 = 100"
body=$(api PATCH "/v1/customers/$A" '{"tier":"premium"}')
is "$(api_status)" 200 "admin: PATCH A's tier to premium"
is "$(jget "$(api GET "/v1/customers/$A")" .tier)" premium "A is premium now"
p2=$(API_AS=$KA2 submit_sleep 1000 '"priority":10')
ok "A submits again with priority 10" [ -n "$p2" ]
wl=$(wl_get "$p2")
is "$(jget "$wl" .tier)" premium "the new workload carries tier premium"
is "$(jget "$wl" .effective_priority)" 500 "effective priority 10 x 50 = 500"
api PATCH "/v1/customers/$A" '{"tier":"platinum"}' >/dev/null
like "$(api_status)" '^(400|422)$' "PATCH with an unknown tier is refused"
is "$(jget "$(api GET "/v1/customers/$A")" .tier)" premium "and changes nothing"

# --- niyantactl
if [ -x "$NIYANTACTL" ]; then
	export NIYANTA_SERVER=$COORD_URL NIYANTA_KEY_FILE=$ADMIN_KEY_FILE
	out=$("$NIYANTACTL" customer create --name gamma --tier free --rate-limit 1000 \
	    --key-out "$T_DIR/g.key")
	is "$?" 0 "niyantactl customer create --key-out exits 0"
	G=$(awk '$1 == "customer_id:" { print $2 }' <<<"$out")
	G_KID=$(awk '$1 == "key_id:" { print $2 }' <<<"$out")
	ok "it prints the customer id and key id" [ -n "$G" ] && [ -n "$G_KID" ]
	is "$(stat -c %a "$T_DIR/g.key" 2>/dev/null)" 600 "the key file is mode 0600"
	ok "the key is not printed when it goes to a file" \
	    eval '! grep -qF "$(key_of "$T_DIR/g.key")" <<<"$out"'
	gid=$("$NIYANTACTL" --key-file "$T_DIR/g.key" submit --type sleep \
	    --params '{"duration_ms": 10}')
	is "$(wl_field "$gid" .customer_id)" "$G" "a submission with the new key belongs to it"
	like "$("$NIYANTACTL" customers)" "$G +gamma +free" "niyantactl customers lists it"
	is "$("$NIYANTACTL" --output json customer get "$G" | jq -r .name)" gamma \
	    "niyantactl customer get"
	"$NIYANTACTL" customer update "$G" --tier enterprise >/dev/null
	is "$?" 0 "niyantactl customer update --tier"
	is "$(jget "$(api GET "/v1/customers/$G")" .tier)" enterprise "the tier changed"
	"$NIYANTACTL" key create "$G" --key-out "$T_DIR/g.key" >/dev/null 2>&1
	is "$?" 1 "niyantactl key create refuses to overwrite a key file"
	nkeys=$(jget "$(api GET "/v1/customers/$G/keys")" '.keys | length')
	is "$nkeys" 1 "and asks the server for nothing"
	"$NIYANTACTL" key create "$G" --key-out "$T_DIR/g2.key" >/dev/null
	is "$?" 0 "niyantactl key create --key-out"
	like "$("$NIYANTACTL" keys "$G")" "$G_KID" "niyantactl keys lists the first key"
	"$NIYANTACTL" key revoke "$G" "$G_KID" >/dev/null
	is "$?" 0 "niyantactl key revoke"
	err=$("$NIYANTACTL" --key-file "$T_DIR/g.key" get "$gid" 2>&1 >/dev/null)
	is "$?" 1 "the revoked key fails in niyantactl (exit 1)"
	like "$err" '^niyantactl: [a-z_]+: ' "with the API error"
	is "$("$NIYANTACTL" --key-file "$T_DIR/g2.key" --output json get "$gid" | jq -r .id)" \
	    "$gid" "the second key works in niyantactl"
	"$NIYANTACTL" customer create --name x --tier gold >/dev/null 2>&1
	is "$?" 2 "niyantactl refuses an unknown tier before sending (status 2)"
else
	fail "niyantactl is built"
fi

done_testing
