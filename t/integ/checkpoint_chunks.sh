#!/usr/bin/env bash
# Checkpoints travel in chunks and are committed only when whole and
# sound.  ckpt_probe, a hand-driven worker, takes a workload and sends, for
# its attempt: a chunk whose own hash is wrong (refused at once, in
# transit), three good chunks of a frame whose whole hash is wrong (the
# last one is refused: nothing committed), two of three chunks of a good
# checkpoint (staged, never offered), and a good three-chunk checkpoint
# (committed).  Only the last is listed and offered; then the attempt
# completes.
. "$(dirname "$0")/lib.sh"

coord_init
start_coord
wait_coord_ready

L=$(submit_sleep 60000)
ok "submit a sleep for the probe to take" [ -n "$L" ] || bail "cannot submit"

probe_run ckpt_probe
is "$(probe_field workload)" "$L" "it took the workload"
is "$(probe_field start)" ACK "START acknowledged"
is "$(probe_field bad_chunk_hash)" invalid_argument \
    "a chunk whose hash does not match its bytes is refused"
ok "the coordinator logged the corrupt chunk" grep -q CKPTCORRUPT "$COORD_LOG"
is "$(probe_field bad_frame_hash)" invalid_argument \
    "the last chunk of a frame whose whole hash is wrong is refused"
is "$(probe_field partial)" ACK "two chunks of three are staged"
is "$(probe_field good)" ACK "a whole, sound three-chunk checkpoint is taken"

list=$(api GET "/v1/workloads/$L/checkpoints")
is "$(api_status)" 200 "GET the checkpoint list"
is "$(jget "$list" '.checkpoints | length')" 1 \
    "one checkpoint listed: neither the corrupt nor the partial one"
is "$(jget "$list" '.checkpoints[0].sequence')" 4 "it is the good one (sequence 4)"
is "$(jget "$list" '.checkpoints[0].size')" "$(probe_field raw_len)" \
    "its size is the uncompressed size"
ok "its compressed size is smaller" \
    jtrue "$list" ".checkpoints[0].compressed_size > 0 and .checkpoints[0].compressed_size < $(probe_field raw_len)"
is "$(probe_field complete)" ACK "COMPLETE acknowledged"
wait_until "$L COMPLETED" 20 wl_status_is "$L" COMPLETED
ok "the workload is COMPLETED" wl_status_is "$L" COMPLETED
is "$(wl_field "$L" .checkpoint_seq)" 4 "its record names checkpoint 4"

done_testing
