#!/usr/bin/env bash
# Three coordinators on Raft.  Any node takes any request (followers
# forward to the leader); kill -9 the leader while a client submits without
# pause and records every 201: after the election every acknowledged
# workload exists and completes exactly once, and the workers follow the
# new leader.  The killed node comes back and catches up; a fourth node is
# added and one removed; leadership is handed over on request; SIGTERM
# stops every node cleanly.
. "$(dirname "$0")/lib.sh"

t_require_tools
NODES=(1 2 3)
cluster_secrets
ok "--generate-secrets writes the admin key and join token" cluster_secrets_exist

# Bad cluster flags: exit 2 with a message, before anything is written.
bad_flags() {
	local out
	out=$("$NIYANTAD" --data-dir "$T_DIR/bad" "$@" 2>&1)
	[ $? -eq 2 ] && [ ! -e "$T_DIR/bad" ] && echo "$out"
}
like "$(bad_flags --peers 1=127.0.0.1)" "not ID=HOST:PORT" "--peers without a port"
like "$(bad_flags --peers x=127.0.0.1:1)" "not a node id" "--peers with a bad id"
like "$(bad_flags --peers 1=127.0.0.1:1,1=127.0.0.1:2)" "named twice" \
    "--peers naming a node twice"
like "$(bad_flags --peers 1=127.0.0.1:1 --join)" "exclude each other" \
    "--peers with --join"
like "$(bad_flags --peers 1=127.0.0.1:1 --raft-listen 127.0.0.1:1 \
    --http-listen 0.0.0.0:1)" "http-advertise" \
    "a wildcard listen address without --http-advertise in a cluster"
like "$(bad_flags --http-advertise ftp://x:1)" "http:// or" "--http-advertise not http"

for id in 1 2 3 4; do
	node_init "$id"
done
# Snapshots every 64 entries, keeping 16: a node that joins later or comes
# back after a while catches up from a snapshot plus the log tail.
SNAP=(--snapshot-threshold 64 --snapshot-trailing 16)
for id in "${NODES[@]}"; do
	node_start "$id" --peers "$(node_peers "${NODES[@]}")" "${SNAP[@]}"
done
wait_until "a leader among 1, 2, 3" 60 has_leader 1 2 3 ||
    bail "no node became the ready leader"
LEADER=$(leader_of 1 2 3)
pass "node $LEADER leads"
FOLLOWER=$(( LEADER % 3 + 1 ))

# --- any node takes any request -------------------------------------------
on "$FOLLOWER"
t_leader_known() {
	[ "$(api GET /v1/cluster | jq -r .leader_id)" = "$LEADER" ]
}
ok "a follower answers /v1/cluster (forwarded to the leader)" \
    wait_until "node $FOLLOWER forwarding" 30 t_leader_known
cl=$(api GET /v1/cluster)
is "$(jget "$cl" '.nodes | length')" 3 "three nodes in the configuration"
is "$(jget "$cl" '[.nodes[] | select(.voting == "voter")] | length')" 3 \
    "all three vote"
is "$(jget "$cl" ".nodes[] | select(.id == $LEADER) | .http_url")" \
    "$(node_url "$LEADER")" "the leader announced its HTTP address"
is "$(jget "$cl" '.node_id')" "$LEADER" "the leader answered"
followers_reachable() {
	jtrue "$(api GET /v1/cluster)" \
	    '[.nodes[] | select(.this_node | not) | .reachable] | all'
}
ok "the leader sees both followers reachable" \
    wait_until "followers reachable" 15 followers_reachable
is "$(health_field "$FOLLOWER" .role)" follower "/health of a follower says follower"
all_announced() {
	jtrue "$(api GET /v1/cluster)" '[.nodes[] | .http_url != null and
	    .worker_url != null and .applied_index != null] | all'
}
ok "followers announce themselves; every node's addresses and indexes are listed" \
    wait_until "every node announced" 30 all_announced
cl=$(api GET /v1/cluster)
is "$(jget "$cl" ".nodes[] | select(.id == $FOLLOWER) | .http_url")" \
    "$(node_url "$FOLLOWER")" "a follower's HTTP address"
is "$(jget "$cl" ".nodes[] | select(.id == $FOLLOWER) | .role")" follower \
    "its role, from its own /health"

for w in a b c; do
	start_cluster_worker "w-$w" "${NODES[@]}"
done
for w in a b c; do
	wait_worker_alive "w-$w"
done
pass "three workers given all three coordinators register with the leader"

# Bad cluster requests (through the follower, forwarded): clear errors,
# and the membership stays as it was.
api POST /v1/cluster/nodes '{}' >/dev/null
is "$(api_status)" 400 "add-node without id and address: 400"
api POST /v1/cluster/nodes '{"id":0,"raft_address":"127.0.0.1:1"}' >/dev/null
is "$(api_status)" 400 "add-node with id 0: 400"
api POST /v1/cluster/nodes '{"id":9,"raft_address":"no-port"}' >/dev/null
is "$(api_status)" 400 "add-node with an address without a port: 400"
api POST /v1/cluster/nodes '{"id":9,"raft_address":"127.0.0.1:1","x":1}' >/dev/null
is "$(api_status)" 400 "add-node with an unknown key: 400"
api POST /v1/cluster/nodes "{\"id\":$LEADER,\"raft_address\":\"127.0.0.1:1\"}" >/dev/null
is "$(api_status)" 409 "add-node with an id already in the cluster: 409"
api DELETE /v1/cluster/nodes/99 >/dev/null
is "$(api_status)" 404 "remove-node of an unknown node: 404"
api DELETE /v1/cluster/nodes/x1 >/dev/null
is "$(api_status)" 404 "remove-node of a malformed id: 404"
api POST /v1/cluster/transfer-leader '{"id":"2"}' >/dev/null
is "$(api_status)" 400 "transfer-leader with a string id: 400"
api POST /v1/cluster/transfer-leader '{"id":99}' >/dev/null
is "$(api_status)" 404 "transfer-leader to an unknown node: 404"
api PUT /v1/cluster/nodes/99 \
    '{"raft_address":"127.0.0.1:1","http_url":"http://127.0.0.1:1","worker_url":"tcp://127.0.0.1:1"}' >/dev/null
is "$(api_status)" 404 "an announcement of a node not in the cluster: 404"
api PUT "/v1/cluster/nodes/$FOLLOWER" \
    '{"raft_address":"127.0.0.1:1","http_url":"http://127.0.0.1:1","worker_url":"tcp://127.0.0.1:1"}' >/dev/null
is "$(api_status)" 409 "an announcement at another Raft address: 409"
api PUT "/v1/cluster/nodes/$FOLLOWER" \
    "{\"raft_address\":\"127.0.0.1:${NODE_RAFT[$FOLLOWER]}\",\"http_url\":\"ftp://x:1\",\"worker_url\":\"tcp://127.0.0.1:1\"}" >/dev/null
is "$(api_status)" 400 "an announcement with an http_url that is not http: 400"
cl=$(api GET /v1/cluster)
is "$(jget "$cl" '[.nodes[] | select(.voting == "voter")] | length')" 3 \
    "still three voters"
is "$(jget "$cl" ".nodes[] | select(.id == $FOLLOWER) | .http_url")" \
    "$(node_url "$FOLLOWER")" "the follower's announced address is unchanged"
is "$(API_AS="" api GET /v1/cluster >/dev/null; api_status)" 401 \
    "/v1/cluster without a key: 401"

id=$(submit_sleep 50)
ok "a submission through a follower is acknowledged (201)" [ -n "$id" ]
ok "it completes" wait_until "$id COMPLETED" 30 wl_status_is "$id" COMPLETED
on "$LEADER"
is "$(wl_field "$id" .status)" COMPLETED "the leader reads the follower's write"

# --- kill -9 the leader under a steady stream of submissions ---------------
ACKS=$T_DIR/acked
: >"$ACKS"
submitter "$ACKS" "${NODES[@]}" </dev/null 2>/dev/null &
SUBMITTER=$!
ok "submissions flow before the kill" wait_until "20 acknowledged" 60 acked_at_least "$ACKS" 20

OLD=$LEADER
stop_proc "${NODE_PID[$OLD]}" KILL
is "$STOP_STATUS" 137 "kill -9 the leader (node $OLD)"
SURVIVORS=()
for id in "${NODES[@]}"; do
	[ "$id" != "$OLD" ] && SURVIVORS+=("$id")
done
ok "a new leader is elected" wait_until "a new leader" 60 has_leader "${SURVIVORS[@]}"
LEADER=$(leader_of "${SURVIVORS[@]}")
before=$(wc -l <"$ACKS")
ok "submissions are acknowledged again after the failover" \
    wait_until "20 more acknowledged" 60 acked_at_least "$ACKS" $((before + 20))
touch "$T_DIR/stop"
wait "$SUBMITTER"
on "$LEADER"
check_acked "$ACKS"
dead=$(api GET /v1/workers | jq '[.workers[] | select(.status == "DEAD")] | length')
is "$dead" 0 "no worker was declared dead because of the failover"

# --- the killed node comes back and catches up --------------------------
node_start "$OLD" "${SNAP[@]}"
ok "the restarted node catches up with the leader" \
    wait_until "node $OLD to catch up" 60 caught_up "$OLD" "$LEADER"
is "$(health_field "$OLD" .role)" follower "it follows"
on "$OLD"
is "$(wl_field "${ACKED[0]}" .status)" COMPLETED "a request through it is answered"

# --- a fourth node joins; one leaves --------------------------------------
node_start 4 --join "${SNAP[@]}"
on "$LEADER"
out=$("$NIYANTACTL" --key-file "$ADMIN_KEY_FILE" --server "$(node_url "$FOLLOWER")" \
    cluster add-node 4 "127.0.0.1:${NODE_RAFT[4]}" 2>&1)
like "$out" "node 4 .* added" "niyantactl cluster add-node 4 (through a follower)"
# voters_are N: /v1/cluster lists N voters (the view is refreshed every
# 50 ms, so it may trail the change by that much).
voters_are() {
	[ "$(api GET /v1/cluster | jq '[.nodes[] | select(.voting == "voter")] | length')" = "$1" ]
}
ok "four voters" wait_until "four voters" 10 voters_are 4
ok "node 4 catches up" \
    wait_until "node 4 to catch up" 60 caught_up 4 "$LEADER"
like "$(grep -c RAFTRESTORE "$T_DIR/node-4.log")" '^[1-9]' \
    "node 4 was sent a snapshot, then the log tail"
on 4
is "$(wl_field "${ACKED[0]}" .status)" COMPLETED "node 4 answers requests"

REMOVE=$FOLLOWER
[ "$REMOVE" = "$LEADER" ] && REMOVE=$OLD
on "$LEADER"
out=$("$NIYANTACTL" --key-file "$ADMIN_KEY_FILE" --server "$(node_url "$LEADER")" \
    cluster remove-node "$REMOVE" 2>&1)
like "$out" "node $REMOVE removed" "niyantactl cluster remove-node $REMOVE"
ok "three voters again" wait_until "three voters" 10 voters_are 3
is "$(api GET /v1/cluster | jq "[.nodes[] | select(.id == $REMOVE)] | length")" 0 \
    "node $REMOVE is gone from /v1/cluster"
stop_proc "${NODE_PID[$REMOVE]}" TERM
REST=()
for id in 1 2 3 4; do
	[ "$id" != "$REMOVE" ] && [ -n "${NODE_PID[$id]:-}" ] && REST+=("$id")
done

# --- leadership on request -------------------------------------------------
TARGET=""
for id in "${REST[@]}"; do
	[ "$id" != "$LEADER" ] && TARGET=$id && break
done
out=$("$NIYANTACTL" --key-file "$ADMIN_KEY_FILE" --server "$(node_url "$LEADER")" \
    cluster transfer-leader "$TARGET" 2>&1)
like "$out" "node $TARGET leads" "niyantactl cluster transfer-leader $TARGET"
ok "node $TARGET is the ready leader" wait_until "node $TARGET ready" 30 has_leader "$TARGET"
on "$TARGET"
id=$(submit_sleep 10)
ok "it takes writes" [ -n "$id" ]
ok "the workers follow it" wait_until "$id COMPLETED" 30 wl_status_is "$id" COMPLETED

# --- clean stop --------------------------------------------------------------
for w in a b c; do
	stop_proc "${WORKER_PID[w-$w]}" TERM
	is "$STOP_STATUS" 0 "worker $w exits 0 on SIGTERM"
done
for id in "${REST[@]}"; do
	stop_proc "${NODE_PID[$id]}" TERM 30
	is "$STOP_STATUS" 0 "node $id exits 0 on SIGTERM"
done
done_testing
