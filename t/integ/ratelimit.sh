#!/usr/bin/env bash
# Rate limits: a customer allowed 5 requests per second sends a burst of 20
# quick GETs.  Some are refused with 429 and Retry-After >= 1; every answer,
# 200 and 429 alike, carries X-RateLimit-Limit, -Remaining and -Reset; the
# admin is not slowed by the customer's bucket.  After Retry-After seconds
# requests succeed again, and after X-RateLimit-Reset seconds (the time
# until the bucket is full) the whole limit is available again.  The only
# waits in this test are the ones the server asks for.
. "$(dirname "$0")/lib.sh"

RATE=5
BURST=20

# get_as KEY N: GET /v1/workloads with KEY; the status code is printed and
# the headers go to $T_DIR/h.N.
get_as() {
	curl -s --max-time 15 -o "$T_DIR/b.$2" -D "$T_DIR/h.$2" -w '%{http_code}' \
	    -H "Authorization: Bearer $1" "$COORD_URL/v1/workloads" 2>/dev/null ||
	    true
}

# hdr N NAME: a header of reply N.
hdr() {
	header_in "$T_DIR/h.$1" "$2"
}

is_uint() {
	[[ $1 =~ ^[0-9]+$ ]]
}

# rl_headers_ok N: reply N has the three headers, as integers, with the
# customer's limit.
rl_headers_ok() {
	local l r s
	l=$(hdr "$1" X-RateLimit-Limit)
	r=$(hdr "$1" X-RateLimit-Remaining)
	s=$(hdr "$1" X-RateLimit-Reset)
	is_uint "$l" && is_uint "$r" && is_uint "$s" && [ "$l" = "$RATE" ] &&
	    [ "$r" -le "$l" ]
}

coord_init
start_coord
wait_coord_ready

C=$(customer_create slowpoke free "$T_DIR/c.key" "\"rate_limit_rps\":$RATE") ||
    bail "cannot create a customer (POST /v1/customers)"
KC=$(key_of "$T_DIR/c.key")
pass "a customer with rate_limit_rps $RATE"

# The burst.  The bucket starts full (RATE requests) and refills at RATE
# per second, so at most RATE plus what refills during the burst succeed.
t0=$(now_ms)
codes=()
for i in $(seq 1 "$BURST"); do
	codes+=("$(get_as "$KC" "$i")")
done
elapsed_ms=$(($(now_ms) - t0))
n200=0 n429=0 other=0 last429=0
for i in $(seq 1 "$BURST"); do
	case ${codes[$((i - 1))]} in
	200) n200=$((n200 + 1)) ;;
	429) n429=$((n429 + 1)) last429=$i ;;
	*) other=$((other + 1)) ;;
	esac
done
diag "burst of $BURST in $elapsed_ms ms: $n200 x 200, $n429 x 429, $other other"
is "$other" 0 "every answer in the burst is 200 or 429"
ok "the first requests succeed" [ "${codes[0]}" = 200 ]
ok "some requests are refused with 429" [ "$n429" -gt 0 ]
max_ok=$((RATE + (elapsed_ms * RATE + 999) / 1000 + 1))
ok "at most $max_ok succeed (the bucket plus its refill)" [ "$n200" -le "$max_ok" ]

missing=0
for i in $(seq 1 "$BURST"); do
	rl_headers_ok "$i" || {
		missing=$((missing + 1))
		[ "$missing" -le 3 ] && diag "reply $i (${codes[$((i - 1))]}): limit" \
		    "'$(hdr "$i" X-RateLimit-Limit)' remaining '$(hdr "$i" X-RateLimit-Remaining)'" \
		    "reset '$(hdr "$i" X-RateLimit-Reset)'"
	}
done
is "$missing" 0 "every answer, 200 and 429, has X-RateLimit-Limit $RATE, -Remaining and -Reset"

bad_retry=0 retry_after=1 bad_body=0 bad_remaining=0
for i in $(seq 1 "$BURST"); do
	[ "${codes[$((i - 1))]}" = 429 ] || continue
	ra=$(hdr "$i" Retry-After)
	if is_uint "$ra" && [ "$ra" -ge 1 ]; then
		retry_after=$ra
	else
		bad_retry=$((bad_retry + 1))
		diag "reply $i: Retry-After '$ra'"
	fi
	jq -e '(.error.code | type) == "string"' "$T_DIR/b.$i" >/dev/null 2>&1 ||
	    bad_body=$((bad_body + 1))
	[ "$(hdr "$i" X-RateLimit-Remaining)" = 0 ] || bad_remaining=$((bad_remaining + 1))
done
is "$bad_retry" 0 "every 429 has Retry-After >= 1 (whole seconds)"
is "$bad_body" 0 "every 429 has a JSON error body"
is "$bad_remaining" 0 "every 429 says X-RateLimit-Remaining: 0"

# The admin has its own bucket.
is "$(get_as "$ADMIN_KEY" admin)" 200 "the admin is not limited by the customer's bucket"
ok "the admin's answer has the rate-limit headers too" eval \
    'is_uint "$(hdr admin X-RateLimit-Limit)" && is_uint "$(hdr admin X-RateLimit-Remaining)" &&
    is_uint "$(hdr admin X-RateLimit-Reset)"'

# Refill: wait what the last 429 asked for, then the customer is served.
diag "waiting Retry-After: $retry_after s"
sleep "$retry_after"
is "$(get_as "$KC" after)" 200 "after Retry-After seconds a request succeeds again"
ok "and carries the rate-limit headers" rl_headers_ok after

# X-RateLimit-Reset is the time until the bucket is full: after it, the
# next request finds a full bucket and leaves Limit - 1.
reset=$(hdr after X-RateLimit-Reset)
diag "waiting X-RateLimit-Reset: ${reset:-?} s"
is_uint "$reset" && sleep "$reset"
is "$(get_as "$KC" full)" 200 "after X-RateLimit-Reset seconds a request succeeds"
is "$(hdr full X-RateLimit-Remaining)" $((RATE - 1)) \
    "and the bucket was full: X-RateLimit-Remaining is $((RATE - 1))"

# A rate-limited POST stores nothing: submit until one is refused, then
# exactly the accepted ones exist.
before=$(count_workloads)
accepted=0 code=""
for i in $(seq 1 $((RATE * 4))); do
	code=$(curl -s --max-time 15 -o "$T_DIR/post" -D "$T_DIR/h.post" \
	    -w '%{http_code}' -H "Authorization: Bearer $KC" \
	    -H 'Content-Type: application/json' \
	    --data-binary '{"workload_type":"sleep","input_params":{"duration_ms":1}}' \
	    "$COORD_URL/v1/workloads" 2>/dev/null)
	[ "$code" = 201 ] && accepted=$((accepted + 1))
	[ "$code" = 201 ] || break
done
is "$code" 429 "quick submissions are refused with 429 once the bucket is empty"
is "$(count_workloads)" $((before + accepted)) \
    "the refused submission stored nothing ($accepted accepted before it)"

done_testing
