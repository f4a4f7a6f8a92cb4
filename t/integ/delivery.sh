#!/usr/bin/env bash
# An assignment is sent again while it is not acknowledged, and not once
# it is.  deliver_probe, a hand-driven worker with one slot, takes an
# assignment and does not START it: the coordinator must not send it again
# on the polls of the next 3 s (it was sent a moment ago), then must send
# the same attempt again.  Once STARTed, it must not come again, however
# many polls follow.
. "$(dirname "$0")/lib.sh"

coord_init
start_coord
wait_coord_ready

L=$(submit_sleep 60000)
ok "submit a sleep for the probe to take" [ -n "$L" ] || bail "cannot submit"

probe_run deliver_probe
is "$(probe_field first)" "$L:1" "the probe was given the workload, attempt 1"
is "$(probe_field resend)" "$L:1" "the same attempt was sent again"
is "$(probe_field between)" 0 "nothing came in between"
# Re-sent 3 s after it was sent; the probe's clock starts a little later.
ok "not before 2.5 s ($(probe_field resend_after_ms) ms)" \
    [ "$(probe_field resend_after_ms)" -ge 2500 ]
is "$(probe_field start)" ACK "START acknowledged"
is "$(probe_field after_start)" 0 "not sent again once started (5 s of polls)"
is "$(probe_field complete)" ACK "COMPLETE acknowledged"
wait_until "$L COMPLETED" 20 wl_status_is "$L" COMPLETED
ok "the workload is COMPLETED" wl_status_is "$L" COMPLETED
is "$(wl_field "$L" .attempt)" 1 "in its first attempt"

done_testing
