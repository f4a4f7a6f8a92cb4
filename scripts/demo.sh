#!/usr/bin/env bash
# A local Niyanta to try: installs the dependencies, builds in ./build,
# starts one coordinator and two workers on 127.0.0.1 (state under ./demo),
# submits a sample workload and shows it completing.  The daemons keep
# running after the script ends.
#
#	bash scripts/demo.sh		start (a running demo is restarted)
#	bash scripts/demo.sh stop	stop the demo's daemons
#
# Environment: NIYANTA_DEMO_SKIP_BUILD=1 uses ./build as it is;
# NIYANTA_DEMO_HTTP_PORT, NIYANTA_DEMO_WORKER_PORT, NIYANTA_DEMO_RAFT_PORT
# move the ports (8080, 7070, 7071).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
DEMO=$root/demo
BUILD=$root/build
HTTP_PORT=${NIYANTA_DEMO_HTTP_PORT:-8080}
WORKER_PORT=${NIYANTA_DEMO_WORKER_PORT:-7070}
RAFT_PORT=${NIYANTA_DEMO_RAFT_PORT:-7071}
URL=http://127.0.0.1:$HTTP_PORT
KEY_FILE=$DEMO/coord/admin.key
TOKEN_FILE=$DEMO/coord/join.token
WORKERS=(demo-worker-1 demo-worker-2)

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'demo.sh: %s\n' "$*" >&2; exit 1; }

# Milliseconds, for deadlines (bash 5's EPOCHREALTIME, no fork).
now_ms() { local us=${EPOCHREALTIME//[!0-9]/}; echo $((us / 1000)); }

# True if pid $1 runs one of our programs.
is_ours() {
	local exe
	exe=$(readlink "/proc/$1/exe" 2>/dev/null) || return 1
	case $exe in */niyantad | */niyanta-worker) return 0 ;; esac
	return 1
}

# Stops every daemon with a pid file in ./demo: TERM (workers drain), then
# KILL after 30 s.
stop_demo() {
	local f pid name deadline stopped=0
	shopt -s nullglob
	for f in "$DEMO"/*.pid; do
		pid=$(cat "$f")
		name=$(basename "$f" .pid)
		if [ -n "$pid" ] && is_ours "$pid"; then
			echo "stopping $name (pid $pid)"
			kill -TERM "$pid" 2>/dev/null || true
			deadline=$(($(now_ms) + 30000))
			while is_ours "$pid" && [ "$(now_ms)" -lt "$deadline" ]; do
				sleep 0.1
			done
			if is_ours "$pid"; then
				echo "$name did not stop in 30 s; killing it"
				kill -KILL "$pid" 2>/dev/null || true
			fi
			stopped=$((stopped + 1))
		fi
		rm -f "$f"
	done
	shopt -u nullglob
	[ "$stopped" -gt 0 ] || echo "no demo daemons running"
}

port_busy() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# start NAME COMMAND...: a daemon that outlives this script, with its log
# in demo/NAME.log and its pid in demo/NAME.pid.
start() {
	local name=$1
	shift
	nohup "$@" </dev/null >>"$DEMO/$name.log" 2>&1 &
	echo $! >"$DEMO/$name.pid"
}

# wait_for DESC TIMEOUT_S PID COMMAND...: polls until the command succeeds;
# fails early if the daemon PID dies.
wait_for() {
	local desc=$1 timeout=$2 pid=$3 deadline
	shift 3
	deadline=$(($(now_ms) + timeout * 1000))
	until "$@"; do
		is_ours "$pid" || return 1
		if [ "$(now_ms)" -ge "$deadline" ]; then
			echo "demo.sh: timed out waiting for $desc" >&2
			return 1
		fi
		sleep 0.1
	done
}

ready() {
	[ "$(curl -s -o /dev/null --max-time 2 -w '%{http_code}' "$URL/ready")" = 200 ] &&
	    [ -s "$KEY_FILE" ] && [ -s "$TOKEN_FILE" ]
}

worker_alive() {
	curl -s --max-time 2 -H "Authorization: Bearer $(head -n 1 "$KEY_FILE")" \
	    "$URL/v1/workers" |
	    jq -e --arg id "$1" '.workers[] | select(.id == $id and .status == "ALIVE")' \
	    >/dev/null 2>&1
}

show_log() {
	echo "---- last lines of $1 ----" >&2
	tail -n 30 "$1" >&2 || true
}

case ${1:-start} in
stop)
	stop_demo
	exit 0
	;;
start) ;;
*)
	echo "usage: bash scripts/demo.sh [start|stop]" >&2
	exit 2
	;;
esac

say "Installing dependencies"
bash scripts/deps.sh

if [ "${NIYANTA_DEMO_SKIP_BUILD:-}" != 1 ]; then
	say "Building in $BUILD"
	if [ ! -x configure ] || [ configure.ac -nt configure ] ||
	    [ Makefile.am -nt configure ]; then
		autoreconf -fi
	fi
	mkdir -p "$BUILD"
	if [ ! -f "$BUILD/Makefile" ] || [ configure -nt "$BUILD/Makefile" ]; then
		(cd "$BUILD" && "$root/configure" --quiet)
	fi
	make -C "$BUILD" -j"$(nproc)" niyantad niyanta-worker niyantactl niyanta-bench
	make -C "$BUILD" -j"$(nproc)" plugins/sample_count.so ||
	    echo "demo.sh: the sample plugin did not build; going on without it"
fi
for b in niyantad niyanta-worker niyantactl; do
	[ -x "$BUILD/$b" ] || die "$BUILD/$b is missing: the build failed"
done

say "Starting the daemons"
stop_demo
for p in "$HTTP_PORT" "$WORKER_PORT" "$RAFT_PORT"; do
	port_busy "$p" && die "port $p on 127.0.0.1 is in use by another program"
done
mkdir -p "$DEMO/coord" "$DEMO/plugins"
chmod 700 "$DEMO/coord"
if [ -f "$BUILD/plugins/sample_count.so" ]; then
	cp "$BUILD/plugins/sample_count.so" "$DEMO/plugins/"
fi

start niyantad "$BUILD/niyantad" --data-dir "$DEMO/coord" \
    --web-dir "$root/web" \
    --http-listen "127.0.0.1:$HTTP_PORT" \
    --worker-listen "tcp://127.0.0.1:$WORKER_PORT" \
    --raft-listen "127.0.0.1:$RAFT_PORT"
coord_pid=$(cat "$DEMO/niyantad.pid")
if ! wait_for "the coordinator to be ready" 60 "$coord_pid" ready; then
	show_log "$DEMO/niyantad.log"
	die "the coordinator did not become ready"
fi
echo "coordinator ready (pid $coord_pid)"

i=0
for w in "${WORKERS[@]}"; do
	i=$((i + 1))
	start "$w" "$BUILD/niyanta-worker" --coordinator "tcp://127.0.0.1:$WORKER_PORT" \
	    --join-token-file "$TOKEN_FILE" --id "$w" --tag "zone=z$i" \
	    --capacity 4 --plugin-dir "$DEMO/plugins"
done
for w in "${WORKERS[@]}"; do
	if ! wait_for "$w to register" 60 "$(cat "$DEMO/$w.pid")" worker_alive "$w"; then
		show_log "$DEMO/$w.log"
		die "worker $w did not register"
	fi
	echo "$w ALIVE (pid $(cat "$DEMO/$w.pid"))"
done

say "Submitting a sample workload"
export NIYANTA_SERVER=$URL NIYANTA_KEY_FILE=$KEY_FILE
CTL=$BUILD/niyantactl
echo "\$ niyantactl submit --type sleep --params '{\"duration_ms\": 2000}'"
id=$("$CTL" submit --type sleep --params '{"duration_ms": 2000}')
echo "$id"
echo "\$ niyantactl get $id"
"$CTL" get "$id"
echo "\$ niyantactl wait $id --timeout 60"
"$CTL" wait "$id" --timeout 60 || die "the sample workload did not complete"
echo "\$ niyantactl workers"
"$CTL" workers

cat <<EOF

Niyanta is running.
  Console:    $URL/
  API:        $URL/v1/  (OpenAPI document: $URL/v1/openapi.json)
  Admin key:  $KEY_FILE
  Workers:    tcp://127.0.0.1:$WORKER_PORT (join token: $TOKEN_FILE)
  Logs:       $DEMO/*.log
  PIDs:       niyantad $coord_pid, ${WORKERS[0]} $(cat "$DEMO/${WORKERS[0]}.pid"), ${WORKERS[1]} $(cat "$DEMO/${WORKERS[1]}.pid")

Try:
  export NIYANTA_SERVER=$URL NIYANTA_KEY_FILE=$KEY_FILE
  $CTL submit --type exec --params '{"argv": ["uname", "-a"]}'
  $CTL list

Stop it with:  bash scripts/demo.sh stop
EOF
