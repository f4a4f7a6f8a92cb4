#!/usr/bin/env bash
# Malformed requests: each one gets the right status with a JSON error body
# ({"error": {"code", "message", ...}, "request_id"}), none creates a
# workload, and the coordinator keeps serving.  No workers are needed.
. "$(dirname "$0")/lib.sh"

# check DESC WANT METHOD PATH [CURL ARGS...]: sends the request with the
# admin key; WANT is a status or an alternation such as "400|422".
check() {
	local desc=$1 want=$2 method=$3 path=$4 code
	shift 4
	code=$(curl -s --max-time 20 -o "$T_DIR/reply" -w '%{http_code}' \
	    -X "$method" -H "Authorization: Bearer $ADMIN_KEY" "$@" \
	    "$COORD_URL$path" 2>/dev/null)
	like "${code:-000}" "^($want)\$" "$desc: $want"
	if jq -e '(.error.code | type) == "string" and (.error.message | type) == "string"
	    and has("request_id")' "$T_DIR/reply" >/dev/null 2>&1; then
		pass "$desc: JSON error body"
	else
		fail "$desc: JSON error body"
		diag "reply: $(head -c 300 "$T_DIR/reply" 2>/dev/null)"
	fi
}

# post DESC WANT BODY: POST /v1/workloads with a JSON content type.
post() {
	printf '%s' "$3" >"$T_DIR/req"
	check "$1" "$2" POST /v1/workloads -H 'Content-Type: application/json' \
	    --data-binary "@$T_DIR/req"
}

coord_init
start_coord
wait_coord_ready

good=$(submit_sleep 10)
ok "a valid submission is accepted" [ -n "$good" ]
before=$(count_workloads)
is "$before" 1 "one workload before the bad requests"

S='"workload_type":"sleep","input_params":{"duration_ms":10}'
post "invalid JSON" 400 '{"workload_type": "sleep",'
post "empty body" 400 ''
post "JSON array body" 400 '[{"workload_type":"sleep"}]'
post "missing workload_type" 400 '{"input_params":{"duration_ms":10}}'
post "workload_type not a string" 400 '{"workload_type":42,"input_params":{}}'
post "unknown workload_type" 422 '{"workload_type":"no-such-type","input_params":{}}'
post "priority -1" 400 "{$S,\"priority\":-1}"
post "priority 1001" 400 "{$S,\"priority\":1001}"
post "priority not a number" 400 "{$S,\"priority\":\"high\"}"
post "unknown field" 400 "{$S,\"colour\":\"red\"}"
post "input_params not an object" 400 '{"workload_type":"sleep","input_params":[10]}'
post "sleep without duration_ms" 422 '{"workload_type":"sleep","input_params":{}}'
post "exec with empty argv" 422 '{"workload_type":"exec","input_params":{"argv":[]}}'
# A type's own parameter check may call a wrongly typed argv either.
post "exec argv with a number" '400|422' '{"workload_type":"exec","input_params":{"argv":["echo",5]}}'
post "max_retries -1" 400 "{$S,\"max_retries\":-1}"
post "timeout_seconds not a number" 400 "{$S,\"timeout_seconds\":\"x\"}"
post "affinity_rules not an object" 400 "{$S,\"affinity_rules\":\"gpu\"}"
post "worker_tags value not a string" 400 \
    "{$S,\"affinity_rules\":{\"hard_affinity\":{\"worker_tags\":{\"gpu\":true}}}}"

# 100 levels of nesting inside otherwise valid parameters.
deep=$(printf '%.0s[' $(seq 1 100))$(printf '%.0s]' $(seq 1 100))
post "100 levels of nesting" 400 \
    "{\"workload_type\":\"sleep\",\"input_params\":{\"duration_ms\":10,\"x\":$deep}}"

# 2 MiB of otherwise valid JSON.
{
	printf '{"workload_type":"sleep","input_params":{"duration_ms":10,"pad":"'
	head -c 2097152 /dev/zero | tr '\0' a
	printf '"}}'
} >"$T_DIR/big"
check "2 MiB body" 413 POST /v1/workloads -H 'Content-Type: application/json' \
    --data-binary "@$T_DIR/big"
printf '{%s}' "$S" >"$T_DIR/req"
check "Content-Type text/plain" 415 POST /v1/workloads -H 'Content-Type: text/plain' \
    --data-binary "@$T_DIR/req"

check "GET an unknown id" 404 GET /v1/workloads/00000000-0000-4000-8000-000000000000
check "GET a malformed id" 404 GET /v1/workloads/not-an-id
check "cancel an unknown id" 404 POST /v1/workloads/00000000-0000-4000-8000-000000000000/cancel \
    -H 'Content-Type:' --data-binary ''
check "DELETE /v1/workloads" 405 DELETE /v1/workloads
check "list with status=BOGUS" 400 GET '/v1/workloads?status=BOGUS'
check "list with limit=0" 400 GET '/v1/workloads?limit=0'
check "list with cursor=zzz" 400 GET '/v1/workloads?cursor=zzz'

is "$(count_workloads)" "$before" "no bad request created a workload"
is "$(wl_field "$good" .id)" "$good" "the valid workload is still there"
is "$(t_http_code "$COORD_URL/health")" 200 "the coordinator still answers /health"
ok "the coordinator is still running" alive "$COORD_PID"

done_testing
