#!/usr/bin/env bash
# The audit trail: one workload's whole life (submitted with a customer's
# key and a chosen X-Request-Id, run by worker w1) appears in
# /v1/audit-events?workload_id= in order, each event's "from" the previous
# one's "to", with the submitting key's id and request id on the
# submission, "coordinator" on the placement and "worker:w1" on start and
# completion.  Customer creation and key revocation are recorded for the
# admin; a customer sees only its own events; limit=2 pages through
# everything exactly once; since and until filter by time.
. "$(dirname "$0")/lib.sh"

# jq: an event's "at" in milliseconds (RFC 3339 in UTC, or a number).
JQ_MS='def ms: if type == "number" then . else
    capture("^(?<s>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(\\.(?<f>[0-9]+))?Z$")
    | ((.s + "Z") | fromdateiso8601) * 1000 + ((.f // "0") + "00" | .[0:3] | tonumber) end;'

# ev JSON FILTER: jq over an event array, with ms defined.
ev() {
	jq -r "$JQ_MS $2" <<<"$1" 2>/dev/null
}

coord_init
start_coord
wait_coord_ready
start_worker w1 --capacity 2
wait_worker_alive w1

A=$(customer_create audited standard "$T_DIR/a.key" '"rate_limit_rps":1000') ||
    bail "cannot create a customer (POST /v1/customers)"
B=$(customer_create bystander standard "$T_DIR/b.key" '"rate_limit_rps":1000') ||
    bail "cannot create a second customer"
KA=$(key_of "$T_DIR/a.key")
KA_ID=$(cat "$T_DIR/a.key.id")
KB=$(key_of "$T_DIR/b.key")

RID="audit-$$-submit"
id=$(API_AS=$KA API_HDRS="X-Request-Id: $RID" submit_sleep 100)
ok "A submits a sleep with X-Request-Id $RID" [ -n "$id" ] || bail "cannot submit"
ok "it COMPLETES" wait_until "$id COMPLETED" 30 wl_status_is "$id" COMPLETED
is "$(wl_field "$id" .request_id)" "$RID" "the record keeps the submission's request id"

# The whole life, for the admin.
life=$(audit_all "workload_id=$id") || life='[]'
diag "$(ev "$life" '.[] | "\(.seq) \(.kind) \(.from) -> \(.to) by \(.actor)"')"
ok "every event is about the workload" jtrue "$life" "all(.[]; .workload_id == \"$id\")"
ok "every event is of kind status" jtrue "$life" 'all(.[]; .kind == "status")'
is "$(ev "$life" '[.[].to] | join(" ")')" "PENDING SCHEDULED RUNNING COMPLETED" \
    "the transitions, in order: PENDING SCHEDULED RUNNING COMPLETED"
ok "the first has no from" jtrue "$life" '(.[0].from // "") == ""'
ok "each from is the previous to" jtrue "$life" \
    '[range(1; length) as $i | .[$i].from == .[$i - 1].to] | all'
ok "seq increases" jtrue "$life" '[range(1; length) as $i | .[$i].seq > .[$i - 1].seq] | all'
ok "at never goes back" \
    eval '[ "$(ev "$life" "[range(1; length) as \$i | (.[\$i].at | ms) >= (.[\$i - 1].at | ms)] | all")" = true ]'
ok "every event has the customer A" jtrue "$life" "all(.[]; .customer_id == \"$A\")"
first=$(ev "$life" '.[0]')
is "$(jget "$first" .actor)" "$KA_ID" "the submission's actor is A's key id"
is "$(jget "$first" .request_id)" "$RID" "the submission's request_id is its X-Request-Id"
is "$(ev "$life" '.[] | select(.to == "SCHEDULED") | .actor')" coordinator \
    "the placement's actor is coordinator"
is "$(ev "$life" '.[] | select(.to == "RUNNING") | .actor')" worker:w1 \
    "the start's actor is worker:w1"
is "$(ev "$life" '.[] | select(.to == "COMPLETED") | .actor')" worker:w1 \
    "the completion's actor is worker:w1"

# The customer sees its own workload's events; another customer does not.
mine=$(API_AS=$KA audit_all "workload_id=$id") || mine='[]'
is "$(ev "$mine" '[.[].seq] | join(" ")')" "$(ev "$life" '[.[].seq] | join(" ")')" \
    "A sees the same events of its workload"
theirs=$(API_AS=$KB api GET "/v1/audit-events?workload_id=$id")
case $(api_status) in
200) is "$(jget "$theirs" '.events | length')" 0 "B sees no event of A's workload" ;;
404) pass "B sees no event of A's workload (404)" ;;
*) fail "B sees no event of A's workload"; diag "got $(api_status): $theirs" ;;
esac
bs=$(API_AS=$KB audit_all "") || bs='[{"customer_id":"?"}]'
ok "B's own list holds only B's events" jtrue "$bs" "all(.[]; .customer_id == \"$B\")"
ok "and nothing of A's workload" jtrue "$bs" "all(.[]; .workload_id != \"$id\")"

# Admin actions: a second key for A, then revoke the first.
KA2_ID=$(key_create "$A" "$T_DIR/a2.key") || bail "cannot create a key"
RID2="audit-$$-revoke"
API_HDRS="X-Request-Id: $RID2" api DELETE "/v1/customers/$A/keys/$KA_ID" >/dev/null
is "$(api_status)" 204 "revoke A's first key"
adm=$(audit_all "customer_id=$A") || adm='[]'
ok "A's creation is recorded (kind customer)" jtrue "$adm" 'any(.[]; .kind == "customer")'
rev=$(ev "$adm" "[.[] | select(.kind == \"key\" and (tostring | contains(\"$KA_ID\")) and
    (tostring | test(\"revok\"; \"i\")))] | last")
ok "the revocation is recorded (kind key, naming the key)" [ "$rev" != null ] && [ -n "$rev" ]
is "$(jget "$rev" .request_id)" "$RID2" "with the revoking request's X-Request-Id"
ok "with an actor" jtrue "$rev" '(.actor | type) == "string" and (.actor | length) > 0'
ok "the second key's creation is recorded" jtrue "$adm" \
    "any(.[]; .kind == \"key\" and (tostring | contains(\"$KA2_ID\")))"
ok "customer_id=A holds only A's events" jtrue "$adm" "all(.[]; .customer_id == \"$A\")"

# Pagination: limit=2 walks every event exactly once.
all=$(audit_all "") || all='[]'
n_all=$(jget "$all" length)
ok "there are more than 4 events ($n_all)" [ "${n_all:-0}" -gt 4 ]
cursor="" pages=0 bad_page=0 seen=""
while :; do
	body=$(api GET "/v1/audit-events?limit=2${cursor:+&cursor=$cursor}")
	[ "$(api_status)" = 200 ] || { bad_page=1; diag "page $pages: $(api_status) $body"; break; }
	[ "$(jget "$body" '.events | length')" -le 2 ] || bad_page=1
	seen+=$(jq -r '.events[].seq' <<<"$body")$'\n'
	cursor=$(jget "$body" '.next_cursor // empty | @uri')
	pages=$((pages + 1))
	[ -n "$cursor" ] && [ "$pages" -lt 1000 ] || break
done
is "$bad_page" 0 "every page of limit=2 has at most 2 events"
ok "it takes at least $(((n_all + 1) / 2)) pages ($pages)" [ "$pages" -ge $(((n_all + 1) / 2)) ]
is "$(grep -v '^$' <<<"$seen" | sort -n | paste -sd ' ')" \
    "$(ev "$all" '[.[].seq] | sort | map(tostring) | join(" ")')" \
    "the walk sees each event exactly once"

# since / until around the RUNNING event (inclusive or not at the edge).
t=$(ev "$life" '.[] | select(.to == "RUNNING") | .at')
t_ms=$(ev "$life" '.[] | select(.to == "RUNNING") | .at | ms')
enc=$(jq -rn --arg t "$t" '$t | @uri')
since=$(audit_all "workload_id=$id&since=$enc") || since='[]'
ok "since=T: every event is at or after T" \
    eval '[ "$(ev "$since" "all(.[]; (.at | ms) >= $t_ms)")" = true ]'
ok "since=T holds every event after T" eval \
    '[ "$(ev "$life" "[.[] | select((.at | ms) > $t_ms) | .seq] - [$(ev "$since" "[.[].seq] | map(tostring) | join(\",\")")] | length")" = 0 ]'
until=$(audit_all "workload_id=$id&until=$enc") || until='[]'
ok "until=T: every event is at or before T" \
    eval '[ "$(ev "$until" "all(.[]; (.at | ms) <= $t_ms)")" = true ]'
ok "until=T holds every event before T" eval \
    '[ "$(ev "$life" "[.[] | select((.at | ms) < $t_ms) | .seq] - [$(ev "$until" "[.[].seq] | map(tostring) | join(\",\")")] | length")" = 0 ]'
ok "until=T holds the submission" jtrue "$until" 'any(.[]; .to == "PENDING")'
ok "since=T holds the completion" jtrue "$since" 'any(.[]; .to == "COMPLETED")'

# niyantactl audit
if [ -x "$NIYANTACTL" ]; then
	out=$("$NIYANTACTL" --server "$COORD_URL" --key-file "$T_DIR/a2.key" --output json \
	    audit --workload "$id" --limit 1 --all)
	is "$?" 0 "niyantactl audit --workload --all with A's second key"
	is "$(jget "$out" '[.events[].to] | join(" ")')" "PENDING SCHEDULED RUNNING COMPLETED" \
	    "it walks the pages to the same four events"
	like "$("$NIYANTACTL" --server "$COORD_URL" --key-file "$ADMIN_KEY_FILE" audit \
	    --workload "$id" --since 1h)" 'worker:w1' "niyantactl audit --since 1h prints a table"
	"$NIYANTACTL" --server "$COORD_URL" --key-file "$ADMIN_KEY_FILE" audit --since yesterday \
	    >/dev/null 2>&1
	is "$?" 2 "niyantactl audit refuses a bad --since (exit 2)"
else
	fail "niyantactl is built"
fi

done_testing
