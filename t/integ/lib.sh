# Shared helpers for the process-level tests in t/integ/.  Source it first:
#
#	. "$(dirname "$0")/lib.sh"
#
# It gives each test a private temporary directory, free loopback ports, TAP
# output (ok, is, like, diag, bail, done_testing), helpers that start real
# daemons in the background and stop them, wait_until for polling with a
# deadline (tests never sleep to synchronise), an HTTP helper for the API,
# and a cleanup trap that stops every daemon still running, prints the
# tails of their logs when something failed, and removes the directory.
# A watchdog ends a test that runs past T_TIMEOUT seconds, so nothing hangs.
#
# make check exports top_builddir and top_srcdir; by hand, run a test from
# the build directory (top_builddir defaults to the current directory).

set -u

: "${top_builddir:=$(pwd)}"
: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
NIYANTAD=$top_builddir/niyantad
NIYANTA_WORKER=$top_builddir/niyanta-worker
NIYANTACTL=$top_builddir/niyantactl
NIYANTA_BENCH=$top_builddir/niyanta-bench
T_LOG_LEVEL=${NIYANTA_TEST_LOG_LEVEL:-info}
T_TIMEOUT=${T_TIMEOUT:-300}		# whole-test watchdog, seconds

T_NUM=0			# test points so far
T_FAILED=0		# failed test points
T_BAILED=0
T_PLAN=""
T_WATCHDOG=""
declare -A T_LIVE=()	# pid -> name, for every daemon not yet reaped
T_PORTS=()		# ports this test reserved
T_PORT_LOCKS=${TMPDIR:-/tmp}/niyanta-test-ports

# ---------------------------------------------------------------- TAP

plan() {
	T_PLAN=$1
	echo "1..$1"
}

# diag TEXT...: one "# " line per line of text.
diag() {
	local line
	while IFS= read -r line; do
		echo "# $line"
	done <<<"$*"
}

pass() {
	T_NUM=$((T_NUM + 1))
	echo "ok $T_NUM - $1"
}

fail() {
	T_NUM=$((T_NUM + 1))
	T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_NUM - $1"
}

# ok DESC COMMAND [ARGS...]: passes if the command succeeds.
ok() {
	local desc=$1
	shift
	if "$@"; then
		pass "$desc"
	else
		fail "$desc"
		return 1
	fi
}

# is GOT EXPECTED DESC
is() {
	if [ "$1" = "$2" ]; then
		pass "$3"
	else
		fail "$3"
		diag "     got: '$1'"
		diag "expected: '$2'"
		return 1
	fi
}

# like GOT REGEX DESC (bash extended regex)
like() {
	if [[ $1 =~ $2 ]]; then
		pass "$3"
	else
		fail "$3"
		diag "     got: '$1'"
		diag "expected to match: '$2'"
		return 1
	fi
}

# bail REASON: stops the whole test (the driver reports an error).
bail() {
	T_BAILED=1
	echo "Bail out! $*"
	exit 1
}

done_testing() {
	if [ -z "$T_PLAN" ]; then
		echo "1..$T_NUM"
	elif [ "$T_PLAN" != "$T_NUM" ]; then
		diag "planned $T_PLAN tests but ran $T_NUM"
		T_FAILED=$((T_FAILED + 1))
	fi
	[ "$T_FAILED" -eq 0 ] && exit 0
	exit 1
}

# ---------------------------------------------------------------- time

# Milliseconds since the epoch, without forking (EPOCHREALTIME is bash 5).
now_ms() {
	local us=${EPOCHREALTIME//[!0-9]/}
	echo $((us / 1000))
}

# wait_until DESC TIMEOUT_S COMMAND [ARGS...]: runs the command every 0.1 s
# until it succeeds (returns 0) or the deadline passes (returns 1 and says
# what it was waiting for).
wait_until() {
	local desc=$1 timeout=$2 deadline
	shift 2
	deadline=$(($(now_ms) + timeout * 1000))
	while :; do
		"$@" && return 0
		[ -n "${T_NO_WATCH:-}" ] || t_expected_alive || return 1
		if [ "$(now_ms)" -ge "$deadline" ]; then
			diag "timed out after ${timeout} s waiting for: $desc"
			return 1
		fi
		sleep 0.1
	done
}

# Daemons that should be running: waiting for anything is pointless once
# one of them has died, so wait_until gives up at once and says so.
declare -A T_EXPECT=()	# pid -> name

t_expected_alive() {
	local pid
	for pid in "${!T_EXPECT[@]}"; do
		if ! alive "$pid"; then
			diag "${T_EXPECT[$pid]} (pid $pid) exited unexpectedly"
			unset "T_EXPECT[$pid]"
			return 1
		fi
	done
	return 0
}

# ---------------------------------------------------------------- ports

# Ephemeral ports are handed out to outgoing connections; stay out of them.
t_ephemeral_range() {
	local lo=32768 hi=60999
	if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
		read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	fi
	echo "$lo $hi"
}

# True if something listens on 127.0.0.1:$1 (bash's /dev/tcp connects).
t_port_listening() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# alloc_port VAR: stores a free loopback port in VAR.  A lock directory per
# port keeps tests running in parallel (make -j) from picking the same one;
# a lock whose owner is gone is taken over.
alloc_port() {
	local var=$1 lo hi p tries owner
	read -r lo hi <<<"$(t_ephemeral_range)"
	mkdir -p "$T_PORT_LOCKS" 2>/dev/null
	for tries in $(seq 1 500); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
		if [ "$p" -ge "$lo" ] && [ "$p" -le "$hi" ]; then
			continue
		fi
		if ! mkdir "$T_PORT_LOCKS/$p" 2>/dev/null; then
			owner=$(cat "$T_PORT_LOCKS/$p/owner" 2>/dev/null)
			if [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null; then
				rm -rf "${T_PORT_LOCKS:?}/$p"
			fi
			continue
		fi
		echo $$ >"$T_PORT_LOCKS/$p/owner"
		if t_port_listening "$p"; then
			rm -rf "${T_PORT_LOCKS:?}/$p"
			continue
		fi
		T_PORTS+=("$p")
		printf -v "$var" '%s' "$p"
		return 0
	done
	bail "no free port found after $tries tries"
}

# ---------------------------------------------------------------- processes

# True if pid $1 runs (a zombie does not count).
alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}

# start_proc NAME LOGFILE COMMAND [ARGS...]: starts a daemon in the
# background with its output appended to LOGFILE; its pid goes to LAST_PID.
start_proc() {
	local name=$1 log=$2
	shift 2
	echo "=== $(date '+%H:%M:%S') start: $*" >>"$log"
	"$@" </dev/null >>"$log" 2>&1 &
	LAST_PID=$!
	T_LIVE[$LAST_PID]=$name
}

# stop_proc PID [SIGNAL] [TIMEOUT_S]: sends the signal (TERM), waits for the
# process to exit (KILL after the timeout) and reaps it.  Its exit status
# goes to STOP_STATUS (128 + signal when killed); returns 1 if it had to be
# killed after the timeout.
stop_proc() {
	local pid=$1 sig=${2:-TERM} timeout=${3:-20} rc=0
	STOP_STATUS=""
	unset "T_EXPECT[$pid]"
	kill -"$sig" "$pid" 2>/dev/null
	if ! T_NO_WATCH=1 wait_until "pid $pid (${T_LIVE[$pid]:-?}) to exit after SIG$sig" \
	    "$timeout" t_not_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
		rc=1
	fi
	wait "$pid" 2>/dev/null
	STOP_STATUS=$?
	unset "T_LIVE[$pid]"
	return $rc
}

t_not_alive() {
	! alive "$1"
}

# reap PID: waits for an exited process and stores its status in
# STOP_STATUS (for processes that exit on their own).
reap() {
	unset "T_EXPECT[$1]"
	wait "$1" 2>/dev/null
	STOP_STATUS=$?
	unset "T_LIVE[$1]"
}

t_require_bin() {
	[ -x "$1" ] || bail "$(basename "$1") is not built (looked for $1)"
}

t_require_tools() {
	local tool
	for tool in curl jq; do
		command -v "$tool" >/dev/null 2>&1 ||
		    bail "$tool is needed (bash scripts/deps.sh installs it)"
	done
}

# ---------------------------------------------------------------- coordinator

# coord_init [NAME]: picks the coordinator's ports and data directory.
# Restarts reuse them.
coord_init() {
	COORD_NAME=${1:-coord}
	COORD_DATA=$T_DIR/$COORD_NAME
	COORD_LOG=$T_DIR/$COORD_NAME.log
	alloc_port COORD_HTTP_PORT
	alloc_port COORD_WORKER_PORT
	alloc_port COORD_RAFT_PORT
	COORD_URL=http://127.0.0.1:$COORD_HTTP_PORT
	COORD_WORKER_URL=tcp://127.0.0.1:$COORD_WORKER_PORT
	ADMIN_KEY_FILE=$COORD_DATA/admin.key
	JOIN_TOKEN_FILE=$COORD_DATA/join.token
	ADMIN_KEY=""
}

# start_coord [EXTRA ARGS...]: starts niyantad on the coordinator's ports
# and data directory; COORD_PID.
start_coord() {
	t_require_bin "$NIYANTAD"
	[ -n "${COORD_DATA:-}" ] || coord_init
	start_proc "$COORD_NAME" "$COORD_LOG" "$NIYANTAD" \
	    --data-dir "$COORD_DATA" \
	    --http-listen "127.0.0.1:$COORD_HTTP_PORT" \
	    --worker-listen "$COORD_WORKER_URL" \
	    --raft-listen "127.0.0.1:$COORD_RAFT_PORT" \
	    --log-level "$T_LOG_LEVEL" "$@"
	COORD_PID=$LAST_PID
	T_EXPECT[$COORD_PID]=$COORD_NAME
}

t_http_code() {
	curl -s -o /dev/null --max-time 5 -w '%{http_code}' "$@" 2>/dev/null
}

t_coord_ready() {
	[ "$(t_http_code "$COORD_URL/ready")" = 200 ] &&
	    [ -s "$ADMIN_KEY_FILE" ] && [ -s "$JOIN_TOKEN_FILE" ]
}

# wait_coord_ready [TIMEOUT_S]: waits until the coordinator answers /ready
# with 200 and has written its secrets; loads ADMIN_KEY.  Bails out if the
# coordinator dies or never gets ready: nothing else can be tested then.
wait_coord_ready() {
	local timeout=${1:-30}
	if ! wait_until "$COORD_NAME to be ready" "$timeout" t_coord_ready ||
	    ! alive "$COORD_PID"; then
		if ! alive "$COORD_PID"; then
			reap "$COORD_PID"
			diag "$COORD_NAME exited with status $STOP_STATUS"
		fi
		bail "$COORD_NAME did not become ready"
	fi
	ADMIN_KEY=$(head -n 1 "$ADMIN_KEY_FILE" | tr -d ' \t\r\n')
	[ -n "$ADMIN_KEY" ] || bail "$ADMIN_KEY_FILE is empty"
}

# stop_coord [SIGNAL]: stops the coordinator; STOP_STATUS.
stop_coord() {
	stop_proc "$COORD_PID" "${1:-TERM}" 30
}

# ---------------------------------------------------------------- workers

declare -A WORKER_PID=()

# start_worker ID [EXTRA ARGS...]: starts niyanta-worker against the
# coordinator; --capacity 4 unless the extra arguments say otherwise.
start_worker() {
	local id=$1 a cap=(--capacity 4)
	shift
	t_require_bin "$NIYANTA_WORKER"
	for a in "$@"; do
		[ "$a" = --capacity ] && cap=()
	done
	start_proc "worker-$id" "$T_DIR/worker-$id.log" "$NIYANTA_WORKER" \
	    --coordinator "$COORD_WORKER_URL" \
	    --join-token-file "$JOIN_TOKEN_FILE" \
	    --id "$id" "${cap[@]}" "$@"
	WORKER_PID[$id]=$LAST_PID
	T_EXPECT[$LAST_PID]=worker-$id
}

# worker_field ID FILTER: a field of worker ID in GET /v1/workers.
worker_field() {
	api GET /v1/workers |
	    jq -r --arg id "$1" ".workers[]? | select(.id == \$id) | $2" 2>/dev/null
}

worker_alive() {
	[ "$(worker_field "$1" .status)" = ALIVE ]
}

# wait_worker_alive ID: bails out if the worker never registers.
wait_worker_alive() {
	if ! wait_until "worker $1 to be ALIVE" 30 worker_alive "$1"; then
		bail "worker $1 did not register"
	fi
}

# ---------------------------------------------------------------- HTTP API

# api METHOD PATH [BODY]: calls the API with the admin key and prints the
# reply body.  The status code goes to API_STATUS and to a file read by
# api_status (so it survives "$(api ...)"); "000" if there was no reply.
# The reply headers are in $T_DIR/api.headers.  Two variables, usually set
# for one call ("API_AS=$key api GET /v1/workloads"), change the request:
# API_AS is the key to use instead of the admin key (empty: no key), and
# API_HDRS holds extra header lines, one a line ("Idempotency-Key: k").
api() {
	local method=$1 path=$2 args key=${API_AS-$ADMIN_KEY} h
	args=(-s --max-time 15 -o "$T_DIR/api.body" -D "$T_DIR/api.headers"
	    -w '%{http_code}' -X "$method")
	[ -n "$key" ] && args+=(-H "Authorization: Bearer $key")
	if [ -n "${API_HDRS:-}" ]; then
		while IFS= read -r h; do
			[ -n "$h" ] && args+=(-H "$h")
		done <<<"$API_HDRS"
	fi
	if [ $# -ge 3 ]; then
		printf '%s' "$3" >"$T_DIR/api.req"
		args+=(-H 'Content-Type: application/json'
		    --data-binary "@$T_DIR/api.req")
	elif [ "$method" = POST ]; then
		args+=(-H 'Content-Type:' --data-binary '')
	fi
	rm -f "$T_DIR/api.body" "$T_DIR/api.headers"
	API_STATUS=$(curl "${args[@]}" "$COORD_URL$path" 2>/dev/null)
	[ -n "$API_STATUS" ] || API_STATUS=000
	echo "$API_STATUS" >"$T_DIR/api.status"
	cat "$T_DIR/api.body" 2>/dev/null
}

api_status() {
	cat "$T_DIR/api.status" 2>/dev/null || echo 000
}

# header_in FILE NAME: a header in a file written by curl -D
# (case-insensitive name; the final response's, if there were several).
header_in() {
	tr -d '\r' <"$1" 2>/dev/null |
	    awk -v n="$2" '
		/^HTTP\// { v = ""; found = 0; next }
		{ i = index($0, ":"); if (i == 0 || found) next
		  k = tolower(substr($0, 1, i - 1))
		  if (k == tolower(n)) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); found = 1 } }
		END { if (found) print v }'
}

# api_header NAME: a header of the last reply (case-insensitive name).
api_header() {
	header_in "$T_DIR/api.headers" "$1"
}

# jget JSON FILTER: jq -r over a JSON text.
jget() {
	jq -r "$2" <<<"$1" 2>/dev/null
}

# submit BODY: submits a workload and prints its id; on anything but 201
# prints nothing, explains why, and fails.  API_AS and API_HDRS apply.
submit() {
	local body id
	body=$(api POST /v1/workloads "$1")
	id=$(jget "$body" '.id // empty')
	if [ "$(api_status)" != 201 ] || [ -z "$id" ]; then
		diag "submit got $(api_status): $body" >&2
		return 1
	fi
	echo "$id"
}

# submit_sleep MS [EXTRA JSON MEMBERS]: a sleep workload; prints its id.
submit_sleep() {
	submit "{\"workload_type\":\"sleep\",\"input_params\":{\"duration_ms\":$1},\"max_retries\":0${2:+,$2}}"
}

# probe_run NAME: runs the hand-driven worker t/integ/NAME (worker id
# "probe") against the coordinator to its end, checks its exit status;
# probe_field KEY then reads the KEY=VALUE lines it printed.
probe_run() {
	local prog=$top_builddir/t/integ/$1
	t_require_bin "$prog"
	"$prog" "$COORD_WORKER_URL" "$JOIN_TOKEN_FILE" probe \
	    >"$T_DIR/probe.out" 2>"$T_DIR/probe.err"
	is "$?" 0 "the probe went through the protocol" ||
	    diag "$(cat "$T_DIR/probe.err")"
}

probe_field() {
	sed -n "s/^$1=//p" "$T_DIR/probe.out"
}

wl_get() {
	api GET "/v1/workloads/$1"
}

# wl_field ID FILTER
wl_field() {
	jget "$(wl_get "$1")" "$2"
}

# wl_status_is ID STATUS
wl_status_is() {
	[ "$(wl_field "$1" .status)" = "$2" ]
}

# wl_terminal ID
wl_terminal() {
	case $(wl_field "$1" .status) in
	COMPLETED | FAILED | CANCELLED) return 0 ;;
	esac
	return 1
}

# list_all QUERY: every workload matching QUERY ("status=RUNNING", may be
# empty) as one JSON array, walking the pages.  Fails on an error reply.
list_all() {
	local query=$1 cursor="" body n=0 q pages="$T_DIR/list.$BASHPID"
	: >"$pages"
	while :; do
		# The server's default page size: no guess about its maximum.
		q=$query
		[ -n "$cursor" ] && q="${q:+$q&}cursor=$cursor"
		body=$(api GET "/v1/workloads${q:+?$q}")
		if [ "$(api_status)" != 200 ] ||
		    ! jq -ce '.workloads | arrays' <<<"$body" >>"$pages" 2>/dev/null; then
			diag "list $query got $(api_status): $(head -c 300 <<<"$body")" >&2
			rm -f "$pages"
			return 1
		fi
		cursor=$(jget "$body" '.next_cursor // empty | @uri')
		[ -n "$cursor" ] || break
		n=$((n + 1))
		if [ "$n" -ge 10000 ]; then
			diag "list $query: more than 10000 pages" >&2
			rm -f "$pages"
			return 1
		fi
	done
	# Pages go through a file: a big list would not fit in argv.
	jq -cs 'add // []' "$pages"
	rm -f "$pages"
}

# count_workloads [QUERY]: how many workloads match.
count_workloads() {
	local all
	all=$(list_all "${1:-}") || { echo -1; return 1; }
	jq length <<<"$all"
}

# jtrue JSON FILTER: the filter yields true.
jtrue() {
	[ "$(jget "$1" "$2")" = true ]
}

# all_status_is STATUS ID...: every workload has that status.
all_status_is() {
	local st=$1 id
	shift
	for id in "$@"; do
		wl_status_is "$id" "$st" || return 1
	done
}

# submit_bulk COUNT PARALLEL BODY IDFILE: submits COUNT copies of BODY over
# PARALLEL concurrent curl loops; the ids of the accepted ones go to IDFILE,
# one a line, and the number of refused submissions to BULK_ERRORS.
submit_bulk() {
	local count=$1 par=$2 out=$4 j pids=() f
	printf '%s' "$3" >"$T_DIR/bulk.req"
	for j in $(seq 1 "$par"); do
		(
			n=$((count / par + (j <= count % par ? 1 : 0)))
			for ((i = 0; i < n; i++)); do
				code=$(curl -s --max-time 15 -o "$T_DIR/bulk.$j.body" \
				    -w '%{http_code}' \
				    -H "Authorization: Bearer $ADMIN_KEY" \
				    -H 'Content-Type: application/json' \
				    --data-binary "@$T_DIR/bulk.req" \
				    "$COORD_URL/v1/workloads" 2>/dev/null)
				id=""
				[ "$code" = 201 ] &&
				    id=$(jq -r '.id // empty' "$T_DIR/bulk.$j.body" 2>/dev/null)
				if [ -n "$id" ]; then
					echo "$id"
				else
					echo "error $code" >>"$T_DIR/bulk.$j.err"
				fi
			done >"$T_DIR/bulk.$j.ids"
		) </dev/null 2>/dev/null &
		pids+=($!)
	done
	wait "${pids[@]}"
	cat "$T_DIR"/bulk.*.ids >"$out" 2>/dev/null
	BULK_ERRORS=$(cat "$T_DIR"/bulk.*.err 2>/dev/null | wc -l)
	for f in "$T_DIR"/bulk.*.err; do
		[ -e "$f" ] && diag "bulk submit errors: $(sort "$f" | uniq -c | head -5)"
	done
	rm -f "$T_DIR"/bulk.*
}

# ---------------------------------------------------------------- clusters

# A cluster of coordinators shares one admin key and join token; node N has
# its own ports (node_init) and data directory.
declare -A NODE_HTTP NODE_RAFT NODE_WORKER NODE_PID

# cluster_secrets: writes the shared secrets with niyantad --generate-secrets
# and loads ADMIN_KEY.
cluster_secrets() {
	t_require_bin "$NIYANTAD"
	ADMIN_KEY_FILE=$T_DIR/admin.key
	JOIN_TOKEN_FILE=$T_DIR/join.token
	"$NIYANTAD" --generate-secrets --admin-key-file "$ADMIN_KEY_FILE" \
	    --join-token-file "$JOIN_TOKEN_FILE" >"$T_DIR/secrets.out" 2>&1
	ADMIN_KEY=$(head -n 1 "$ADMIN_KEY_FILE" 2>/dev/null | tr -d ' \t\r\n')
}

cluster_secrets_exist() {
	[ -s "$ADMIN_KEY_FILE" ] && [ -s "$JOIN_TOKEN_FILE" ]
}

# node_init ID: ports of node ID.
node_init() {
	alloc_port "NODE_HTTP[$1]"
	alloc_port "NODE_RAFT[$1]"
	alloc_port "NODE_WORKER[$1]"
}

# node_peers IDS...: the --peers value naming those nodes.
node_peers() {
	local id out=""
	for id in "$@"; do
		out="${out:+$out,}$id=127.0.0.1:${NODE_RAFT[$id]}"
	done
	echo "$out"
}

# node_start ID [EXTRA ARGS...]: niyantad as node ID, with the shared
# secrets; NODE_PID[ID].
node_start() {
	local id=$1
	shift
	t_require_bin "$NIYANTAD"
	start_proc "node-$id" "$T_DIR/node-$id.log" "$NIYANTAD" \
	    --node-id "$id" \
	    --data-dir "$T_DIR/node-$id" \
	    --http-listen "127.0.0.1:${NODE_HTTP[$id]}" \
	    --worker-listen "tcp://127.0.0.1:${NODE_WORKER[$id]}" \
	    --raft-listen "127.0.0.1:${NODE_RAFT[$id]}" \
	    --admin-key-file "$ADMIN_KEY_FILE" \
	    --join-token-file "$JOIN_TOKEN_FILE" \
	    --worker-dead-ms 6000 --worker-heartbeat-ms 500 \
	    --election-timeout-ms 1000 --raft-heartbeat-ms 100 \
	    --log-level "$T_LOG_LEVEL" "$@"
	NODE_PID[$id]=$LAST_PID
	T_EXPECT[$LAST_PID]=node-$id
}

node_url() {
	echo "http://127.0.0.1:${NODE_HTTP[$1]}"
}

# health_field ID FILTER: a field of node ID's own /health.
health_field() {
	curl -s --max-time 5 "$(node_url "$1")/health" | jq -r "$2" 2>/dev/null
}

# leader_of IDS...: the id of the node among IDS that answers /ready with
# 200; fails if none does.
leader_of() {
	local id
	for id in "$@"; do
		if [ "$(t_http_code "$(node_url "$id")/ready")" = 200 ]; then
			echo "$id"
			return 0
		fi
	done
	return 1
}

has_leader() {
	leader_of "$@" >/dev/null
}

# caught_up ID LEADER: node ID has applied everything the leader committed.
caught_up() {
	local want have
	want=$(health_field "$2" .commit_index)
	have=$(health_field "$1" .applied_index)
	[ -n "$want" ] && [ -n "$have" ] && [ "$want" != null ] &&
	    [ "$have" != null ] && [ "$have" -ge "$want" ]
}

# on ID: the api helper talks to node ID.
on() {
	COORD_URL=$(node_url "$1")
}

# start_cluster_worker ID NODES...: a worker given every node's endpoint.
start_cluster_worker() {
	local id=$1 n args=()
	shift
	t_require_bin "$NIYANTA_WORKER"
	for n in "$@"; do
		args+=(--coordinator "tcp://127.0.0.1:${NODE_WORKER[$n]}")
	done
	start_proc "worker-$id" "$T_DIR/worker-$id.log" "$NIYANTA_WORKER" \
	    "${args[@]}" --join-token-file "$JOIN_TOKEN_FILE" --id "$id" \
	    --capacity 8
	WORKER_PID[$id]=$LAST_PID
	T_EXPECT[$LAST_PID]=worker-$id
}

# submitter OUT NODES...: submits 300 ms sleeps to the nodes in turn until
# $T_DIR/stop exists; the id of every 201 goes to OUT, every refusal to
# OUT.refused.  Run it in the background.
submitter() {
	local out=$1 n=0 node code id
	shift
	printf '%s' '{"workload_type":"sleep","input_params":{"duration_ms":300},"max_retries":0}' \
	    >"$out.req"
	: >"$out"
	while [ ! -e "$T_DIR/stop" ]; do
		node=${@:$((n % $# + 1)):1}
		n=$((n + 1))
		code=$(curl -s --max-time 20 -o "$out.body" -w '%{http_code}' \
		    -H "Authorization: Bearer $ADMIN_KEY" \
		    -H 'Content-Type: application/json' \
		    --data-binary "@$out.req" \
		    "$(node_url "$node")/v1/workloads" 2>/dev/null)
		if [ "$code" = 201 ]; then
			id=$(jq -r '.id // empty' "$out.body" 2>/dev/null)
			[ -n "$id" ] && echo "$id" >>"$out"
		else
			echo "$node $code" >>"$out.refused"
		fi
	done
}

# acked_at_least OUT N: the submitter has recorded N acknowledgements.
acked_at_least() {
	[ "$(wc -l <"$1")" -ge "$2" ]
}

# check_acked OUT: every workload acknowledged in OUT exists (asked
# through COORD_URL) and completes exactly once.
check_acked() {
	local id lost=0 twice=0 n
	mapfile -t ACKED <"$1"
	diag "$(wc -l <"$1") acknowledged, $(cat "$1.refused" 2>/dev/null | wc -l) refused"
	for id in "${ACKED[@]}"; do
		wl_get "$id" >/dev/null
		if [ "$(api_status)" != 200 ]; then
			lost=$((lost + 1))
			diag "acknowledged $id answers $(api_status)"
		fi
	done
	is "$lost" 0 "every acknowledged workload exists"
	ok "every acknowledged workload completes" \
	    wait_until "all acknowledged COMPLETED" 120 all_status_is COMPLETED "${ACKED[@]}"
	for id in "${ACKED[@]}"; do
		n=$(audit_all "workload_id=$id" |
		    jq '[.[] | select(.kind == "status" and .to == "COMPLETED")] | length')
		if [ "$n" != 1 ]; then
			twice=$((twice + 1))
			diag "$id completed $n times"
		fi
	done
	is "$twice" 0 "each completed exactly once"
}

# ---------------------------------------------------------------- tenants

# Customer keys are rate-limited (the tier's requests per second unless the
# customer says otherwise): a test that polls with a customer's key gives
# that customer a generous rate_limit_rps.

# customer_create NAME TIER KEYFILE [EXTRA JSON MEMBERS]: creates a customer
# with the admin key and prints its id.  Its first API key goes to KEYFILE
# (mode 0600) and that key's id to KEYFILE.id.  On anything but 201 prints
# nothing, explains why, and fails.
customer_create() {
	local name=$1 tier=$2 file=$3 extra=${4:-} body id key kid
	body=$(API_AS=$ADMIN_KEY api POST /v1/customers \
	    "{\"name\":\"$name\",\"tier\":\"$tier\"${extra:+,$extra}}")
	id=$(jget "$body" '.customer.id // empty')
	key=$(jget "$body" '.api_key.key // empty')
	kid=$(jget "$body" '.api_key.id // empty')
	if [ "$(api_status)" != 201 ] || [ -z "$id" ] || [ -z "$key" ] ||
	    [ -z "$kid" ]; then
		diag "create customer $name got $(api_status): $(head -c 300 <<<"$body")" >&2
		return 1
	fi
	(umask 077 && printf '%s\n' "$key" >"$file" && printf '%s\n' "$kid" >"$file.id")
	echo "$id"
}

# key_create CUSTOMER_ID KEYFILE: a new API key for the customer, into
# KEYFILE (mode 0600), its id into KEYFILE.id; prints the key id.
key_create() {
	local body key kid
	body=$(API_AS=$ADMIN_KEY api POST "/v1/customers/$1/keys" '{}')
	key=$(jget "$body" '.key // empty')
	kid=$(jget "$body" '.id // empty')
	if [ "$(api_status)" != 201 ] || [ -z "$key" ] || [ -z "$kid" ]; then
		diag "create a key for $1 got $(api_status): $(head -c 300 <<<"$body")" >&2
		return 1
	fi
	(umask 077 && printf '%s\n' "$key" >"$2" && printf '%s\n' "$kid" >"$2.id")
	echo "$kid"
}

# key_of KEYFILE: the key in a file written by customer_create or key_create.
key_of() {
	head -n 1 "$1" 2>/dev/null | tr -d ' \t\r\n'
}

# error_detail JSON: the error's details as one array of objects (a server
# may give details as an array or as one object).
error_detail() {
	jq -c '[.error.details | if type == "array" then .[] else . end | objects]' \
	    <<<"$1" 2>/dev/null
}

# status_trail EVENTS: the status transitions in an array of audit events
# (from audit_all), "FROM>TO" separated by spaces ("-" for no FROM).
status_trail() {
	jq -r '[.[] | select(.kind == "status") | "\(.from // "-")>\(.to)"] | join(" ")' <<<"$1"
}

# audit_all QUERY: every audit event matching QUERY ("workload_id=...", may
# be empty) as one JSON array, walking the pages; API_AS applies.  Fails on
# an error reply.
audit_all() {
	local query=$1 cursor="" body n=0 q pages="$T_DIR/audit.$BASHPID"
	: >"$pages"
	while :; do
		q=$query
		[ -n "$cursor" ] && q="${q:+$q&}cursor=$cursor"
		body=$(api GET "/v1/audit-events${q:+?$q}")
		if [ "$(api_status)" != 200 ] ||
		    ! jq -ce '.events | arrays' <<<"$body" >>"$pages" 2>/dev/null; then
			diag "audit $query got $(api_status): $(head -c 300 <<<"$body")" >&2
			rm -f "$pages"
			return 1
		fi
		cursor=$(jget "$body" '.next_cursor // empty | @uri')
		[ -n "$cursor" ] || break
		n=$((n + 1))
		if [ "$n" -ge 10000 ]; then
			diag "audit $query: more than 10000 pages" >&2
			rm -f "$pages"
			return 1
		fi
	done
	jq -cs 'add // []' "$pages"
	rm -f "$pages"
}

# ---------------------------------------------------------------- cleanup

t_show_log() {
	[ -s "$1" ] || return 0
	diag "---- last lines of $(basename "$1") ----"
	diag "$(tail -n 40 "$1")"
}

t_cleanup() {
	local rc=$? pid deadline log p
	trap - EXIT INT TERM HUP ALRM
	if [ -n "$T_WATCHDOG" ]; then
		kill "$T_WATCHDOG" 2>/dev/null
		wait "$T_WATCHDOG" 2>/dev/null
	fi
	for pid in "${!T_LIVE[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	deadline=$(($(now_ms) + 15000))
	for pid in "${!T_LIVE[@]}"; do
		while alive "$pid" && [ "$(now_ms)" -lt "$deadline" ]; do
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ "$T_FAILED" -gt 0 ] || [ "$T_BAILED" -ne 0 ] || [ "$rc" -ne 0 ]; then
		for log in "$T_DIR"/*.log; do
			[ -e "$log" ] && t_show_log "$log"
		done
	fi
	for p in "${T_PORTS[@]}"; do
		rm -rf "${T_PORT_LOCKS:?}/$p"
	done
	if [ -n "${NIYANTA_TEST_KEEP:-}" ]; then
		diag "kept $T_DIR"
	else
		rm -rf "$T_DIR"
	fi
	exit "$rc"
}

# The watchdog: a background timer that signals this shell with SIGALRM if
# the test runs too long.  Its output goes nowhere, so it never holds the
# TAP pipe open.
t_watchdog_start() {
	(
		trap 'kill "$sp" 2>/dev/null; exit 0' TERM
		sleep "$T_TIMEOUT" &
		sp=$!
		wait "$sp" && kill -ALRM $$ 2>/dev/null
	) </dev/null >/dev/null 2>&1 &
	T_WATCHDOG=$!
}

T_DIR=$(mktemp -d "${TMPDIR:-/tmp}/niyanta-integ.XXXXXX") ||
    { echo "Bail out! mktemp failed"; exit 1; }
trap t_cleanup EXIT
trap 'bail "interrupted"' INT TERM HUP
trap 'bail "watchdog: the test ran longer than $T_TIMEOUT s"' ALRM
t_watchdog_start
t_require_tools
