#!/usr/bin/env bash
# Preemption: one worker with one slot runs a free customer's long sleep
# (checkpointing); an enterprise customer's workload arrives and finds no
# room.  The free one is checkpointed and requeued (PENDING, preemptions
# 1, not a failure), the enterprise one runs and completes, and the free
# one runs again from its checkpoint (resumed_from_ms > 0) to COMPLETED.
# A premium workload does not preempt (the default policy is enterprise
# over free).
. "$(dirname "$0")/lib.sh"

running_with_checkpoint() {
	jtrue "$(wl_get "$1")" '.status == "RUNNING" and .checkpoint_seq >= 1'
}

reason_is() {
	[ "$(wl_field "$1" '.unschedulable_reason // empty')" = "$2" ]
}

preempted() {
	jtrue "$(wl_get "$1")" '.preemptions >= 1'
}

coord_init
start_coord
wait_coord_ready
start_worker w1 --capacity 1
wait_worker_alive w1

customer_create freeco free "$T_DIR/free.key" '"rate_limit_rps":1000' >/dev/null ||
    bail "cannot create the free customer"
customer_create bigco enterprise "$T_DIR/ent.key" '"rate_limit_rps":1000' >/dev/null ||
    bail "cannot create the enterprise customer"
customer_create midco premium "$T_DIR/prem.key" '"rate_limit_rps":1000' >/dev/null ||
    bail "cannot create the premium customer"
KF=$(key_of "$T_DIR/free.key")
KE=$(key_of "$T_DIR/ent.key")
KP=$(key_of "$T_DIR/prem.key")

LONG='{"workload_type":"sleep","input_params":{"duration_ms":6000,"checkpoint_ms":200},"max_retries":0}'
F=$(API_AS=$KF submit "$LONG")
ok "the free customer submits a 6 s sleep" [ -n "$F" ] || bail "cannot submit"
wait_until "$F running with a checkpoint" 30 running_with_checkpoint "$F"
ok "it runs and has checkpointed" running_with_checkpoint "$F"

# A premium workload waits: premium does not preempt by default.
P=$(API_AS=$KP submit_sleep 200)
ok "a premium workload is submitted" [ -n "$P" ]
wait_until "$P to wait for room" 20 reason_is "$P" no_free_capacity
ok "it waits (no_free_capacity) and the free one keeps running" \
    reason_is "$P" no_free_capacity && wl_status_is "$F" RUNNING
E=$(API_AS=$KE submit_sleep 500)
ok "an enterprise workload is submitted" [ -n "$E" ]
wait_until "$F preempted" 30 preempted "$F"
ok "the free workload is preempted" preempted "$F"
wait_until "$E COMPLETED" 30 wl_status_is "$E" COMPLETED
ok "the enterprise workload runs and completes" wl_status_is "$E" COMPLETED
wl=$(wl_get "$F")
is "$(jget "$wl" .failures)" 0 "the preemption is not a failure"
is "$(jget "$wl" .preemptions)" 1 "one preemption counted"
wait_until "$F COMPLETED" 60 wl_status_is "$F" COMPLETED
wl=$(wl_get "$F")
is "$(jget "$wl" .status)" COMPLETED "the free workload completes"
ok "it resumed from its checkpoint (resumed_from_ms > 0)" \
    jtrue "$wl" '.result.resumed_from_ms > 0'
wait_until "$P COMPLETED" 30 wl_status_is "$P" COMPLETED
ok "the premium one ran too, in its turn" wl_status_is "$P" COMPLETED
events=$(audit_all "workload_id=$F")
ok "the audit trail says it was preempted" \
    jtrue "$events" '[.[] | select(.detail != null and (.detail | test("preempted")))] | length == 1'
ok "the coordinator logged the preemption" grep -q PREEMPT "$COORD_LOG"

done_testing
