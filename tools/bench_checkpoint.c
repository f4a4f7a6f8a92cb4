/*
 * The checkpoint micro-benchmark: the path a checkpoint takes, in-process,
 * with the code the worker and the coordinator run.  A workload is made
 * RUNNING in a state machine in a temporary directory; then each
 * checkpoint is framed as the worker does (zstd, frame hash; src/ckpt.c),
 * and cut into chunks, each checked as the coordinator's endpoint does
 * (chunk hash), encoded as a CHECKPOINT command, applied (staged; the last
 * chunk verifies the frame hash and commits) and committed to LMDB.  The
 * network and the Raft log write are not in it: this is the CPU cost per
 * byte, worker side and coordinator side, and the compression ratio.
 */
#include "tools/bench_checkpoint.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "src/ckpt.h"
#include "src/clock.h"
#include "src/cmd.h"
#include "src/err.h"
#include "src/fsm.h"
#include "src/strs.h"

#define BC_WORKER	"bench-worker"

struct bench_ckpt {
	struct fsm	*f;
	uint64_t	 index;
	char		 id[MODEL_ID_LEN + 1];
};

/* Encodes and applies c, and commits; 0 if it took effect. */
static int
bc_run(struct bench_ckpt *b, struct cmd *c)
{
	struct errbuf	 eb = { 0 };
	struct fsm_event *ev;
	void		*buf;
	size_t		 len, n;
	int		 rc, result = -1;

	c->now_ms = clock_wall_ms();
	c->actor = "bench";
	if ((rc = cmd_encode(c, &buf, &len)) != 0)
		return rc;
	rc = fsm_apply(b->f, ++b->index, buf, len, &result);
	free(buf);
	if (rc == 0)
		rc = fsm_flush(b->f, &eb);
	n = fsm_events_take(b->f, &ev);
	fsm_events_free(ev, n);
	return rc != 0 ? rc : result;
}

/* One workload RUNNING on BC_WORKER, attempt 1. */
static int
bc_setup(struct bench_ckpt *b)
{
	struct cmd_placement	 p;
	struct workload		 wl;
	struct cmd		 c;
	int			 rc;

	memset(&wl, 0, sizeof wl);
	model_id_generate(wl.id);
	memcpy(b->id, wl.id, sizeof b->id);
	wl.customer_id = xstrdup(MODEL_CUSTOMER_ADMIN);
	wl.type = xstrdup("sleep");
	wl.params_json = xstrdup("{}");
	wl.tier = TIER_STANDARD;
	memset(&c, 0, sizeof c);
	c.type = CMD_SUBMIT;
	c.workloads = &wl;
	c.n_workloads = 1;
	rc = bc_run(b, &c);
	workload_fini(&wl);
	if (rc != 0)
		return rc;

	memset(&c, 0, sizeof c);
	c.type = CMD_WORKER_REGISTER;
	c.worker.id = xstrdup(BC_WORKER);
	c.worker.capacity = 1;
	c.worker.version = xstrdup("bench");
	if (strlist_add(&c.worker.capabilities, "sleep") != 0)
		return ERR_NOMEM;
	rc = bc_run(b, &c);
	worker_rec_fini(&c.worker);
	if (rc != 0)
		return rc;

	memset(&p, 0, sizeof p);
	memcpy(p.workload_id, b->id, sizeof p.workload_id);
	p.worker_id = BC_WORKER;
	p.attempt = 1;
	memset(&c, 0, sizeof c);
	c.type = CMD_ASSIGN;
	c.placements = &p;
	c.n_placements = 1;
	if ((rc = bc_run(b, &c)) != 0)
		return rc;

	memset(&c, 0, sizeof c);
	c.type = CMD_START;
	memcpy(c.workload_id, b->id, sizeof c.workload_id);
	c.attempt = 1;
	c.worker_id = BC_WORKER;
	return bc_run(b, &c);
}

/*
 * A checkpoint of len bytes shaped like application state: numbered
 * records of text and numbers, varying with seq.  Checkpoints of real
 * programs compress from 2x to 10x; this lands near 3-4x at zstd level 3.
 */
static void
bc_state_fill(uint8_t *p, size_t len, uint64_t seq)
{
	uint64_t	 x = 0x9e3779b97f4a7c15ULL ^ seq;
	size_t		 off = 0;
	int		 n;
	char		 rec[96];

	while (off < len) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = snprintf(rec, sizeof rec, "{\"k\":%zu,\"v\":%.4f,\"s\":\"%c%c%c\"}\n",
		    off / 40, (double)(x % 1000000) / 997.0,
		    'a' + (int)(x >> 20) % 26, 'a' + (int)(x >> 28) % 26,
		    'a' + (int)(x >> 36) % 4);
		if ((size_t)n > len - off)
			n = (int)(len - off);
		memcpy(p + off, rec, (size_t)n);
		off += (size_t)n;
	}
}

/* Sends checkpoint seq of raw bytes as the worker and the endpoint do.
 * Adds the time of each side to *worker_us and *coord_us. */
static int
bc_checkpoint(struct bench_ckpt *b, uint64_t seq, const uint8_t *raw,
    size_t len, size_t *flen_out, uint64_t *worker_us, uint64_t *coord_us)
{
	uint8_t		*frame, chash[CKPT_CHUNK_HASH_LEN];
	struct cmd	 c;
	uint64_t	 t0, t1;
	size_t		 flen, off, clen;
	uint32_t	 i, n;
	int		 rc = 0;

	memset(&c, 0, sizeof c);
	t0 = clock_mono_us();
	if ((rc = ckpt_frame_build(raw, len, &frame, &flen, c.blob_hash)) != 0)
		return rc;
	n = ckpt_chunk_count(flen);
	t1 = clock_mono_us();
	*worker_us += t1 - t0;
	*flen_out = flen;
	for (i = 0; i < n && rc == 0; i++) {
		ckpt_chunk_span(flen, i, &off, &clen);
		/* The worker hashes each chunk, the endpoint checks it. */
		t0 = clock_mono_us();
		ckpt_chunk_hash(frame + off, clen, chash);
		t1 = clock_mono_us();
		*worker_us += t1 - t0;
		ckpt_chunk_hash(frame + off, clen, chash);
		c.type = CMD_CHECKPOINT;
		memcpy(c.workload_id, b->id, sizeof c.workload_id);
		c.attempt = 1;
		c.worker_id = BC_WORKER;
		c.checkpoint_seq = seq;
		c.chunk_index = i;
		c.chunk_count = n;
		c.total_len = flen;
		c.raw_len = len;
		c.data = frame + off;
		c.data_len = clen;
		c.checkpoint_keep = 3;
		rc = bc_run(b, &c);
		*coord_us += clock_mono_us() - t1;
	}
	free(frame);
	return rc;
}

static int
bc_usage(void)
{
	fprintf(stderr, "usage: niyanta-bench checkpoint [--size-mb S (1..64)] "
	    "[--count N (1..1000)] [--json]\n");
	return 2;
}

int
bench_checkpoint_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "size-mb", required_argument, NULL, 's' },
		{ "count", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench_ckpt	 b;
	struct errbuf		 eb = { 0 };
	long long		 size_mb = 16, count = 8, k;
	uint64_t		 worker_us = 0, coord_us = 0, raw_total = 0, z_total = 0;
	char			 dir[] = "/tmp/niyanta-bench-ckpt.XXXXXX", path[128];
	uint8_t			*raw = NULL;
	size_t			 len, flen = 0;
	double			 mb, w_rate, c_rate, e_rate, ratio;
	bool			 json = false;
	int			 c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!str_parse_ll(optarg, 1, 64, &size_mb))
				return bc_usage();
			break;
		case 'n':
			if (!str_parse_ll(optarg, 1, 1000, &count))
				return bc_usage();
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			printf("usage: niyanta-bench checkpoint [--size-mb S] "
			    "[--count N] [--json]\n");
			return 0;
		default:
			return bc_usage();
		}
	}
	if (optind < argc)
		return bc_usage();
	memset(&b, 0, sizeof b);
	if (mkdtemp(dir) == NULL) {
		perror("niyanta-bench checkpoint: mkdtemp");
		return 1;
	}
	len = (size_t)size_mb << 20;
	if ((raw = malloc(len)) == NULL) {
		rc = ERR_NOMEM;
		goto fail;
	}
	if ((rc = fsm_open(&b.f, dir, (uint64_t)8 << 30, &eb)) != 0 ||
	    (rc = bc_setup(&b)) != 0)
		goto fail;
	for (k = 1; k <= count; k++) {
		bc_state_fill(raw, len, (uint64_t)k);
		if ((rc = bc_checkpoint(&b, (uint64_t)k, raw, len, &flen,
		    &worker_us, &coord_us)) != 0)
			goto fail;
		raw_total += len;
		z_total += flen;
	}
	mb = (double)raw_total / (1024.0 * 1024.0);
	w_rate = mb / ((double)worker_us / 1e6);
	c_rate = mb / ((double)coord_us / 1e6);
	e_rate = mb / ((double)(worker_us + coord_us) / 1e6);
	ratio = (double)raw_total / (double)z_total;
	if (json)
		printf("{\"mode\":\"checkpoint\",\"count\":%lld,\"size_mb\":%lld,"
		    "\"ratio\":%.2f,\"worker_mb_s\":%.1f,\"coordinator_mb_s\":%.1f,"
		    "\"path_mb_s\":%.1f}\n", count, size_mb, ratio, w_rate, c_rate,
		    e_rate);
	else
		printf("checkpoint: %lld of %lld MiB, each in %" PRIu32 " chunks "
		    "of at most %zu KiB: compressed %.2fx; worker (compress, "
		    "hash) %.1f MB/s, coordinator (check, apply, commit) %.1f "
		    "MB/s, whole path %.1f MB/s of checkpoint\n", count, size_mb,
		    ckpt_chunk_count(flen), CKPT_CHUNK_BYTES >> 10, ratio,
		    w_rate, c_rate, e_rate);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "niyanta-bench checkpoint: %s%s%s\n", err_code_name(rc),
	    eb.msg[0] != '\0' ? ": " : "", eb.msg);
	rc = 1;
out:
	free(raw);
	fsm_close(b.f);
	snprintf(path, sizeof path, "%s/state.mdb", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/state.mdb-lock", dir);
	unlink(path);
	rmdir(dir);
	return rc;
}
