#!/usr/bin/env bash
# Authentication: /v1 needs the bearer key (401 with WWW-Authenticate
# otherwise), /health and /ready do not; a worker with a wrong join token is
# refused (exit status 2) and never listed, one with the right token joins.
. "$(dirname "$0")/lib.sh"

# req [CURL ARGS...] URL: status code of a request; the headers go where
# api_header reads them, the body to $T_DIR/b.
req() {
	curl -s --max-time 15 -o "$T_DIR/b" -D "$T_DIR/api.headers" \
	    -w '%{http_code}' "$@" 2>/dev/null || true
}

json_error_body() {
	jq -e '(.error.code | type) == "string"' "$T_DIR/b" >/dev/null 2>&1
}

coord_init
start_coord
wait_coord_ready

ok "admin.key is mode 0600" [ "$(stat -c %a "$ADMIN_KEY_FILE")" = 600 ]
ok "join.token is mode 0600" [ "$(stat -c %a "$JOIN_TOKEN_FILE")" = 600 ]

is "$(req "$COORD_URL/v1/workloads")" 401 "GET /v1/workloads without a key: 401"
like "$(api_header WWW-Authenticate)" '^Bearer' "401 carries WWW-Authenticate: Bearer"
ok "401 has a JSON error body" json_error_body
is "$(req -H 'Authorization: Bearer not-the-key' "$COORD_URL/v1/workloads")" 401 \
    "a wrong key: 401"
is "$(req -H "Authorization: Basic $ADMIN_KEY" "$COORD_URL/v1/workloads")" 401 \
    "the right key in a Basic header: 401"
is "$(req -H "Authorization: Bearer ${ADMIN_KEY}x" "$COORD_URL/v1/workloads")" 401 \
    "the key with an extra character: 401"
is "$(req -X POST -H 'Content-Type: application/json' \
    --data-binary '{"workload_type":"sleep","input_params":{"duration_ms":1}}' \
    "$COORD_URL/v1/workloads")" 401 "POST /v1/workloads without a key: 401"
is "$(req "$COORD_URL/v1/workers")" 401 "GET /v1/workers without a key: 401"
is "$(req "$COORD_URL/v1/cluster")" 401 "GET /v1/cluster without a key: 401"
is "$(req -H "Authorization: Bearer $ADMIN_KEY" "$COORD_URL/v1/workloads")" 200 \
    "the admin key: 200"
is "$(count_workloads)" 0 "the refused POST created nothing"
is "$(req "$COORD_URL/health")" 200 "/health needs no key"
is "$(req "$COORD_URL/ready")" 200 "/ready needs no key"

# A worker with a wrong join token is refused and exits with status 2.
t_require_bin "$NIYANTA_WORKER"
printf 'not-the-join-token\n' >"$T_DIR/bad.token"
chmod 600 "$T_DIR/bad.token"
start_proc worker-intruder "$T_DIR/worker-intruder.log" "$NIYANTA_WORKER" \
    --coordinator "$COORD_WORKER_URL" --join-token-file "$T_DIR/bad.token" \
    --id intruder --capacity 2
intruder=$LAST_PID
if ok "a worker with a wrong join token exits" \
    wait_until "the intruder to exit" 30 t_not_alive "$intruder"; then
	reap "$intruder"
	is "$STOP_STATUS" 2 "it exits with status 2"
else
	stop_proc "$intruder" KILL 5
	fail "it exits with status 2"
fi
is "$(worker_field intruder .id)" "" "the refused worker is not in /v1/workers"

# The same command with the right token joins.
start_worker w1 --capacity 2
ok "a worker with the right join token is ALIVE" \
    wait_until "w1 ALIVE" 30 worker_alive w1
is "$(worker_field intruder .id)" "" "still no trace of the refused worker"

done_testing
