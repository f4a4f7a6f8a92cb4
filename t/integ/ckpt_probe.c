/*
 * A hand-driven worker for t/integ/checkpoint_chunks.sh: it speaks the
 * worker protocol to a real coordinator and sends checkpoints a real worker
 * never would, so that the coordinator's refusals can be seen.
 *
 *	ckpt_probe URL JOIN_TOKEN_FILE WORKER_ID
 *
 * It registers (capability "sleep", one slot), waits for one assignment,
 * starts it, and then, for that attempt:
 *
 *	bad_chunk_hash	one chunk whose own hash does not match its bytes
 *	bad_frame_hash	three good chunks of a frame whose whole hash is wrong
 *	partial		two of three chunks of a good checkpoint, never the third
 *	good		three good chunks of a 200 KB checkpoint
 *
 * printing "NAME=REPLY" for the reply to each scenario's last chunk (ACK,
 * or the ERROR's code), then "workload=ID", "raw_len=N", and completes the
 * attempt.  Exit status 0 if the protocol went as far as that.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "src/clock.h"
#include "src/secret.h"
#include "t/integ/probe.h"

#define PROBE_RAW_LEN	(200u * 1000)

/* Sends chunks [0, upto) of frame cut in n pieces under seq; prints the
 * reply to the last one as "name=REPLY".  corrupt_chunk: the last chunk
 * sent carries a wrong chunk hash; blob_hash: the hash of the whole. */
static int
probe_checkpoint(struct probe *p, const char *name, uint64_t seq,
    const uint8_t *frame, size_t flen, const uint8_t blob_hash[32], uint32_t n,
    uint32_t upto, bool corrupt_chunk)
{
	struct wmsg	 req, reply;
	size_t		 per = (flen + n - 1) / n;
	uint32_t	 i;
	char		 last[32] = "?";

	for (i = 0; i < upto; i++) {
		memset(&req, 0, sizeof req);
		req.type = WMSG_CHECKPOINT;
		memcpy(req.workload_id, p->workload_id, sizeof req.workload_id);
		req.attempt = p->attempt;
		req.checkpoint_seq = seq;
		req.chunk_index = i;
		req.chunk_count = n;
		req.total_len = flen;
		req.raw_len = PROBE_RAW_LEN;
		memcpy(req.blob_hash, blob_hash, 32);
		req.blob = (void *)(uintptr_t)(frame + per * i);
		req.blob_len = i + 1 < n ? per : flen - per * i;
		crypto_generichash(req.chunk_hash, sizeof req.chunk_hash,
		    req.blob, req.blob_len, NULL, 0);
		if (corrupt_chunk && i + 1 == upto)
			req.chunk_hash[0] ^= 0xff;
		if (probe_call(p, &req, &reply) != 0)
			return -1;
		snprintf(last, sizeof last, "%s", probe_reply_name(&reply));
		wmsg_fini(&reply);
	}
	printf("%s=%s\n", name, last);
	return 0;
}

/* Polls until an assignment comes (30 s at most), then starts it. */
static int
probe_take_work(struct probe *p)
{
	uint64_t	 deadline = clock_mono_ms() + 30000;
	const char	*name;
	int		 got;

	while (clock_mono_ms() < deadline) {
		if ((got = probe_poll(p, 1000)) < 0)
			return -1;
		if (got == 0)
			continue;
		if (probe_report(p, WMSG_START, &name) != 0)
			return -1;
		printf("start=%s\n", name);
		return 0;
	}
	fprintf(stderr, "ckpt_probe: no assignment within 30 s\n");
	return -1;
}

int
main(int argc, char **argv)
{
	struct probe	 p;
	char		 token[SECRET_TEXT_MAX];
	uint8_t		*raw, *frame, hash[32], wrong[32];
	size_t		 flen, i;
	const char	*name;
	int		 rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: ckpt_probe URL JOIN_TOKEN_FILE WORKER_ID\n");
		return 2;
	}
	if (probe_open(&p, "ckpt_probe", argv[1], argv[2], token, argv[3]) != 0)
		return 1;
	/* Compressible but not trivially so: a counter in text. */
	raw = malloc(PROBE_RAW_LEN);
	frame = malloc(ZSTD_compressBound(PROBE_RAW_LEN));
	if (raw == NULL || frame == NULL)
		goto out;
	for (i = 0; i < PROBE_RAW_LEN; i++)
		raw[i] = (uint8_t)("0123456789 state\n"[(i * 7 + i / 13) % 17]);
	flen = ZSTD_compress(frame, ZSTD_compressBound(PROBE_RAW_LEN), raw,
	    PROBE_RAW_LEN, 3);
	if (ZSTD_isError(flen))
		goto out;
	crypto_generichash(hash, sizeof hash, frame, flen, NULL, 0);
	memcpy(wrong, hash, sizeof wrong);
	wrong[5] ^= 0x01;

	if (probe_register(&p, token) != 0 || probe_take_work(&p) != 0 ||
	    probe_checkpoint(&p, "bad_chunk_hash", 1, frame, flen, hash, 1, 1,
	    true) != 0 ||
	    probe_checkpoint(&p, "bad_frame_hash", 2, frame, flen, wrong, 3, 3,
	    false) != 0 ||
	    probe_checkpoint(&p, "partial", 3, frame, flen, hash, 3, 2,
	    false) != 0 ||
	    probe_checkpoint(&p, "good", 4, frame, flen, hash, 3, 3, false) != 0)
		goto out;
	printf("workload=%s\nraw_len=%u\n", p.workload_id, PROBE_RAW_LEN);

	if (probe_report(&p, WMSG_COMPLETE, &name) != 0)
		goto out;
	printf("complete=%s\n", name);
	rc = 0;
out:
	free(raw);
	free(frame);
	probe_close(&p);
	return rc;
}
