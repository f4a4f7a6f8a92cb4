/*
 * The worker protocol's encoding (net/wire_worker.c): every message type
 * round-trips fully populated; every truncation, wrong field type, bad id,
 * oversized array or blob is rejected (without leaks, under ASan); a seeded
 * fuzz loop mutates valid messages.  Then a small self-test of the nng bus
 * (net/bus_server.c, net/bus_client.c) on an ipc:// URL in a temporary
 * directory: a round trip, a reply deferred to another thread, an
 * undecodable request, a timeout and an unreachable server.
 */
#include "net/wire_worker.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/bus.h"
#include "net/wire.h"
#include "src/clock.h"
#include "src/cmd.h"
#include "src/err.h"
#include "src/log.h"
#include "src/strs.h"
#include "t/tap.h"

#define ID_A	"0b6f2c1e-3d4a-4f5b-8c6d-7e8f90a1b2c3"
#define ID_B	"11111111-2222-4333-8444-555555555555"

/* ---- building and comparing messages ---- */

static void
fill_attempts(struct wmsg_attempt **v, size_t *n, size_t count)
{
	size_t	 i;

	*v = xcalloc(count, sizeof **v);
	*n = count;
	for (i = 0; i < count; i++) {
		memcpy((*v)[i].workload_id, i % 2 ? ID_B : ID_A, WMSG_ID_LEN + 1);
		(*v)[i].attempt = (uint32_t)(i + 1);
	}
}

/* Fills every field that type t carries with distinctive values. */
static void
fill(struct wmsg *m, enum wmsg_type t)
{
	struct wmsg_assignment	*a;

	memset(m, 0, sizeof *m);
	m->type = t;
	switch (t) {
	case WMSG_REGISTER:
		m->worker_id = xstrdup("worker-1.example:a/b");
		m->generation = 7;
		m->token = xstrdup("nyj_secret-token");
		tagset_set(&m->tags, "zone", "eu-1");
		tagset_set(&m->tags, "gpu", "yes");
		strlist_add(&m->capabilities, "sleep");
		strlist_add(&m->capabilities, "exec");
		m->capacity = 16;
		m->version = xstrdup("0.1.0");
		m->offered.cpu_millis = 16000;
		m->offered.memory_mb = 65536;
		m->offered.gpus = 2;
		fill_attempts(&m->running, &m->n_running, 3);
		break;
	case WMSG_REGISTERED:
		m->heartbeat_ms = 1500;
		m->wait_ms = 4000;
		m->generation = UINT64_MAX;
		break;
	case WMSG_HEARTBEAT:
		m->worker_id = xstrdup("w2");
		m->generation = 3;
		fill_attempts(&m->running, &m->n_running, 2);
		m->free_slots = 5;
		break;
	case WMSG_HEARTBEAT_ACK:
		fill_attempts(&m->stop, &m->n_stop, 2);
		break;
	case WMSG_POLL:
		m->worker_id = xstrdup("w3");
		m->generation = 1;
		m->wait_ms = 5000;
		break;
	case WMSG_WORK:
		m->n_assignments = 2;
		m->assignments = xcalloc(2, sizeof *m->assignments);
		a = &m->assignments[0];
		memcpy(a->workload_id, ID_A, sizeof a->workload_id);
		a->attempt = 4;
		a->type = xstrdup("sleep");
		a->params_json = xstrdup("{\"duration_ms\": 10}");
		a->timeout_seconds = 60;
		a->checkpoint_interval_s = 30;
		a->checkpoint_progress_pct = 10;
		a->checkpoint_seq = 9;
		a->checkpoint = xstrdup("1234");
		a->checkpoint_len = 4;
		a = &m->assignments[1];
		memcpy(a->workload_id, ID_B, sizeof a->workload_id);
		a->attempt = 1;
		a->type = xstrdup("exec");
		a->params_json = xstrdup("{}");
		fill_attempts(&m->stop, &m->n_stop, 1);
		break;
	case WMSG_START:
	case WMSG_PROGRESS:
	case WMSG_CHECKPOINT:
	case WMSG_COMPLETE:
		m->worker_id = xstrdup("w4");
		m->generation = 2;
		memcpy(m->workload_id, ID_B, sizeof m->workload_id);
		m->attempt = 3;
		if (t == WMSG_PROGRESS) {
			m->progress = 42.5;
			m->message = xstrdup("halfway \xc3\xa9t\xc3\xa9");
		} else if (t == WMSG_CHECKPOINT) {
			m->checkpoint_seq = 12;
			m->blob = xmalloc(5);
			memcpy(m->blob, "\0\1\2\3\377", 5);
			m->blob_len = 5;
			m->chunk_index = 1;
			m->chunk_count = 3;
			m->total_len = 13;
			m->raw_len = 4000;
			memset(m->blob_hash, 0xb2, sizeof m->blob_hash);
			memset(m->chunk_hash, 0xc1, sizeof m->chunk_hash);
		} else if (t == WMSG_COMPLETE) {
			m->outcome = OUTCOME_ABANDONED;
			m->result_json = xstrdup("{\"ok\":true}");
			m->error = xstrdup("worker shutting down");
		}
		break;
	case WMSG_ACK:
		m->stop_attempt = true;
		break;
	case WMSG_DRAIN:
		m->worker_id = xstrdup("w5");
		m->generation = 4;
		break;
	case WMSG_ERROR:
		m->err = ERR_STALE;
		m->message = xstrdup("attempt 3 is stale");
		m->reregister = true;
		break;
	case WMSG_REPORTS:
		m->worker_id = xstrdup("w6");
		m->generation = 9;
		m->n_reports = 3;
		m->reports = xcalloc(3, sizeof *m->reports);
		m->reports[0].type = WMSG_START;
		memcpy(m->reports[0].workload_id, ID_A, WMSG_ID_LEN + 1);
		m->reports[0].attempt = 1;
		m->reports[1].type = WMSG_PROGRESS;
		memcpy(m->reports[1].workload_id, ID_B, WMSG_ID_LEN + 1);
		m->reports[1].attempt = 2;
		m->reports[1].progress = 99.5;
		m->reports[1].message = xstrdup("nearly");
		m->reports[2].type = WMSG_COMPLETE;
		memcpy(m->reports[2].workload_id, ID_A, WMSG_ID_LEN + 1);
		m->reports[2].attempt = 3;
		m->reports[2].outcome = OUTCOME_FAILED;
		m->reports[2].result_json = xstrdup("{\"n\":1}");
		m->reports[2].error = xstrdup("exit 3");
		break;
	case WMSG_REPORTS_ACK:
		fill_attempts(&m->stop, &m->n_stop, 3);
		break;
	case WMSG__END:
		break;
	}
}

static bool
bytes_eq(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen || (a == NULL) != (b == NULL))
		return false;
	return alen == 0 || memcmp(a, b, alen) == 0;
}

static bool
attempts_eq(const struct wmsg_attempt *a, size_t na, const struct wmsg_attempt *b,
    size_t nb)
{
	size_t	 i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (strcmp(a[i].workload_id, b[i].workload_id) != 0 ||
		    a[i].attempt != b[i].attempt)
			return false;
	return true;
}


static bool
reports_eq(const struct wmsg *a, const struct wmsg *b)
{
	const struct wmsg_report	*x, *y;
	size_t				 i;

	if (a->n_reports != b->n_reports)
		return false;
	for (i = 0; i < a->n_reports; i++) {
		x = &a->reports[i];
		y = &b->reports[i];
		if (x->type != y->type || strcmp(x->workload_id, y->workload_id) != 0 ||
		    x->attempt != y->attempt || x->progress != y->progress ||
		    !str_eq(x->message, y->message) || x->outcome != y->outcome ||
		    !str_eq(x->result_json, y->result_json) ||
		    !str_eq(x->error, y->error))
			return false;
	}
	return true;
}

static bool
assignments_eq(const struct wmsg *a, const struct wmsg *b)
{
	const struct wmsg_assignment	*x, *y;
	size_t				 i;

	if (a->n_assignments != b->n_assignments)
		return false;
	for (i = 0; i < a->n_assignments; i++) {
		x = &a->assignments[i];
		y = &b->assignments[i];
		if (strcmp(x->workload_id, y->workload_id) != 0 ||
		    x->attempt != y->attempt || !str_eq(x->type, y->type) ||
		    !str_eq(x->params_json, y->params_json) ||
		    x->timeout_seconds != y->timeout_seconds ||
		    x->checkpoint_interval_s != y->checkpoint_interval_s ||
		    x->checkpoint_progress_pct != y->checkpoint_progress_pct ||
		    x->checkpoint_seq != y->checkpoint_seq ||
		    !bytes_eq(x->checkpoint, x->checkpoint_len, y->checkpoint,
		    y->checkpoint_len))
			return false;
	}
	return true;
}

static bool
wmsg_eq(const struct wmsg *a, const struct wmsg *b)
{
	return a->type == b->type && str_eq(a->worker_id, b->worker_id) &&
	    a->generation == b->generation && str_eq(a->token, b->token) &&
	    tagset_eq(&a->tags, &b->tags) &&
	    strlist_eq(&a->capabilities, &b->capabilities) &&
	    a->capacity == b->capacity && str_eq(a->version, b->version) &&
	    memcmp(&a->offered, &b->offered, sizeof a->offered) == 0 &&
	    attempts_eq(a->running, a->n_running, b->running, b->n_running) &&
	    a->free_slots == b->free_slots && a->heartbeat_ms == b->heartbeat_ms &&
	    a->wait_ms == b->wait_ms && assignments_eq(a, b) &&
	    reports_eq(a, b) &&
	    attempts_eq(a->stop, a->n_stop, b->stop, b->n_stop) &&
	    strcmp(a->workload_id, b->workload_id) == 0 &&
	    a->attempt == b->attempt && a->progress == b->progress &&
	    str_eq(a->message, b->message) &&
	    a->checkpoint_seq == b->checkpoint_seq &&
	    bytes_eq(a->blob, a->blob_len, b->blob, b->blob_len) &&
	    a->chunk_index == b->chunk_index && a->chunk_count == b->chunk_count &&
	    a->total_len == b->total_len && a->raw_len == b->raw_len &&
	    memcmp(a->blob_hash, b->blob_hash, sizeof a->blob_hash) == 0 &&
	    memcmp(a->chunk_hash, b->chunk_hash, sizeof a->chunk_hash) == 0 &&
	    a->outcome == b->outcome && str_eq(a->result_json, b->result_json) &&
	    str_eq(a->error, b->error) && a->stop_attempt == b->stop_attempt &&
	    a->err == b->err && a->reregister == b->reregister;
}

/* ---- encoding tests ---- */

static void
test_round_trips(void)
{
	struct wmsg	 m, d;
	void		*buf;
	size_t		 len, cut;
	int		 t, rc;
	bool		 all_rejected;

	for (t = WMSG_REGISTER; t < WMSG__END; t++) {
		fill(&m, (enum wmsg_type)t);
		rc = wmsg_encode(&m, &buf, &len);
		is_int(rc, 0, "encode");
		rc = wmsg_decode(buf, len, &d);
		is_int(rc, 0, "decode");
		ok(rc == 0 && wmsg_eq(&m, &d), "%s round-trips",
		    wmsg_type_name((enum wmsg_type)t));
		wmsg_fini(&d);

		all_rejected = true;
		for (cut = 0; cut < len; cut++) {
			if (wmsg_decode(buf, cut, &d) != ERR_PROTO) {
				all_rejected = false;
				tap_diag("%s cut at %zu accepted",
				    wmsg_type_name((enum wmsg_type)t), cut);
				wmsg_fini(&d);
			}
		}
		ok(all_rejected, "%s: every truncation (%zu) rejected",
		    wmsg_type_name((enum wmsg_type)t), len);
		free(buf);
		wmsg_fini(&m);
	}
	is_str(wmsg_type_name((enum wmsg_type)0), "UNKNOWN", "type name of 0");
	is_str(wmsg_type_name(WMSG_CHECKPOINT), "CHECKPOINT", "type name");
}

/* Decodes the writer's bytes; returns the code. */
static int
decode_writer(struct wire_writer *w)
{
	struct wmsg	 d;
	const void	*p;
	size_t		 len;
	int		 rc;

	p = wire_writer_data(w, &len);
	rc = wmsg_decode(p, len, &d);
	if (rc == 0)
		wmsg_fini(&d);
	wire_writer_free(w);
	return rc;
}

/* A START message with one field replaced by the caller. */
static struct wire_writer *
start_with(const char *key)
{
	struct wire_writer	*w = wire_writer_new();
	bool			 known;

	known = strcmp(key, "worker_id") == 0 || strcmp(key, "workload_id") == 0 ||
	    strcmp(key, "attempt") == 0 || strcmp(key, "generation") == 0;
	wire_put_map(w, known ? 5 : 6);
	wire_put_str(w, "type");
	wire_put_uint(w, WMSG_START);
	if (strcmp(key, "worker_id") != 0) {
		wire_put_str(w, "worker_id");
		wire_put_str(w, "w");
	}
	if (strcmp(key, "workload_id") != 0) {
		wire_put_str(w, "workload_id");
		wire_put_str(w, ID_A);
	}
	if (strcmp(key, "attempt") != 0) {
		wire_put_str(w, "attempt");
		wire_put_uint(w, 1);
	}
	if (strcmp(key, "generation") != 0) {
		wire_put_str(w, "generation");
		wire_put_uint(w, 1);
	}
	wire_put_str(w, key);
	return w;
}

static void
test_strict(void)
{
	struct wire_writer	*w;
	struct wmsg		 m, d;
	unsigned char		*big;
	void			*buf;
	size_t			 len, i;

	w = start_with("attempt");
	wire_put_uint(w, 2);
	is_int(decode_writer(w), 0, "well-formed START accepted");

	w = start_with("attempt");
	wire_put_str(w, "2");
	is_int(decode_writer(w), ERR_PROTO, "string attempt rejected");
	w = start_with("attempt");
	wire_put_int(w, -1);
	is_int(decode_writer(w), ERR_PROTO, "negative attempt rejected");
	w = start_with("attempt");
	wire_put_uint(w, (uint64_t)UINT32_MAX + 1);
	is_int(decode_writer(w), ERR_PROTO, "attempt beyond 32 bits rejected");
	w = start_with("generation");
	wire_put_bool(w, true);
	is_int(decode_writer(w), ERR_PROTO, "bool generation rejected");
	w = start_with("worker_id");
	wire_put_uint(w, 5);
	is_int(decode_writer(w), ERR_PROTO, "integer worker_id rejected");
	w = start_with("worker_id");
	wire_put_nil(w);
	is_int(decode_writer(w), ERR_PROTO, "missing worker_id rejected");
	w = start_with("worker_id");
	wire_put_strn(w, "a\0b", 3);
	is_int(decode_writer(w), ERR_PROTO, "worker_id with NUL rejected");
	w = start_with("workload_id");
	wire_put_strn(w, ID_A, 35);
	is_int(decode_writer(w), ERR_PROTO, "35-character id rejected");
	w = start_with("workload_id");
	wire_put_str(w, ID_A "0");
	is_int(decode_writer(w), ERR_PROTO, "37-character id rejected");
	w = start_with("workload_id");
	wire_put_bin(w, ID_A, 36);
	is_int(decode_writer(w), ERR_PROTO, "binary id rejected");
	w = start_with("unknown_key");
	wire_put_str(w, "ignored");
	is_int(decode_writer(w), 0, "unknown keys are ignored");

	w = wire_writer_new();
	wire_put_map(w, 1);
	wire_put_str(w, "type");
	wire_put_uint(w, WMSG__END);
	is_int(decode_writer(w), ERR_PROTO, "unknown type rejected");
	w = wire_writer_new();
	wire_put_map(w, 1);
	wire_put_str(w, "type");
	wire_put_uint(w, 0);
	is_int(decode_writer(w), ERR_PROTO, "type 0 rejected");
	w = wire_writer_new();
	wire_put_map(w, 1);
	wire_put_str(w, "type");
	wire_put_str(w, "ACK");
	is_int(decode_writer(w), ERR_PROTO, "string type rejected");
	w = wire_writer_new();
	wire_put_array(w, 1);
	wire_put_uint(w, WMSG_ACK);
	is_int(decode_writer(w), ERR_PROTO, "array root rejected");
	w = wire_writer_new();
	wire_put_map(w, 1);
	wire_put_str(w, "typo");
	wire_put_uint(w, WMSG_ACK);
	is_int(decode_writer(w), ERR_PROTO, "missing type rejected");

	/* Typed fields of other messages. */
	w = wire_writer_new();
	wire_put_map(w, 2);
	wire_put_str(w, "type");
	wire_put_uint(w, WMSG_ERROR);
	wire_put_str(w, "err");
	wire_put_uint(w, ERR__COUNT);
	is_int(decode_writer(w), ERR_PROTO, "unknown error code rejected");
	w = wire_writer_new();
	wire_put_map(w, 2);
	wire_put_str(w, "type");
	wire_put_uint(w, WMSG_ACK);
	wire_put_str(w, "stop");
	wire_put_uint(w, 1);
	is_int(decode_writer(w), ERR_PROTO, "integer ACK.stop rejected");
	w = wire_writer_new();
	wire_put_map(w, 2);
	wire_put_str(w, "type");
	wire_put_uint(w, WMSG_WORK);
	wire_put_str(w, "stop");
	wire_put_bool(w, true);
	is_int(decode_writer(w), ERR_PROTO, "bool WORK.stop rejected");

	fill(&m, WMSG_COMPLETE);
	m.outcome = OUTCOME__COUNT;
	wmsg_encode(&m, &buf, &len);
	is_int(wmsg_decode(buf, len, &d), ERR_PROTO, "unknown outcome rejected");
	free(buf);
	wmsg_fini(&m);

	fill(&m, WMSG_PROGRESS);
	m.progress = 100.5;
	wmsg_encode(&m, &buf, &len);
	is_int(wmsg_decode(buf, len, &d), ERR_PROTO, "progress over 100 rejected");
	free(buf);
	wmsg_fini(&m);

	fill(&m, WMSG_CHECKPOINT);
	free(m.blob);
	m.blob = NULL;
	m.blob_len = 0;
	wmsg_encode(&m, &buf, &len);
	ok(wmsg_decode(buf, len, &d) == 0 && d.blob != NULL && d.blob_len == 0,
	    "empty checkpoint blob kept as present");
	wmsg_fini(&d);
	free(buf);
	wmsg_fini(&m);

	/* REPORTS: only reportable kinds, known outcomes, sane progress,
	 * at most WMSG_REPORTS_MAX. */
	fill(&m, WMSG_REPORTS);
	m.reports[0].type = WMSG_CHECKPOINT;
	wmsg_encode(&m, &buf, &len);
	is_int(wmsg_decode(buf, len, &d), ERR_PROTO, "CHECKPOINT in REPORTS rejected");
	free(buf);
	m.reports[0].type = WMSG_START;
	m.reports[2].outcome = OUTCOME__COUNT;
	wmsg_encode(&m, &buf, &len);
	is_int(wmsg_decode(buf, len, &d), ERR_PROTO,
	    "unknown outcome in REPORTS rejected");
	free(buf);
	m.reports[2].outcome = OUTCOME_SUCCEEDED;
	m.reports[1].progress = -1;
	wmsg_encode(&m, &buf, &len);
	is_int(wmsg_decode(buf, len, &d), ERR_PROTO,
	    "negative progress in REPORTS rejected");
	free(buf);
	m.reports[1].progress = 1;
	m.reports[1].workload_id[3] = '\0';
	wmsg_encode(&m, &buf, &len);
	is_int(wmsg_decode(buf, len, &d), ERR_PROTO, "short id in REPORTS rejected");
	free(buf);
	wmsg_fini(&m);
	fill(&m, WMSG_REPORTS);
	m.reports = xrealloc(m.reports, (WMSG_REPORTS_MAX + 1) * sizeof *m.reports);
	for (i = 3; i <= WMSG_REPORTS_MAX; i++) {
		memset(&m.reports[i], 0, sizeof m.reports[i]);
		m.reports[i].type = WMSG_START;
		memcpy(m.reports[i].workload_id, ID_B, WMSG_ID_LEN + 1);
	}
	m.n_reports = WMSG_REPORTS_MAX;
	ok(wmsg_encode(&m, &buf, &len) == 0 && wmsg_decode(buf, len, &d) == 0 &&
	    d.n_reports == WMSG_REPORTS_MAX, "1,000 reports accepted");
	wmsg_fini(&d);
	free(buf);
	m.n_reports = WMSG_REPORTS_MAX + 1;
	is_int(wmsg_encode(&m, &buf, &len), ERR_TOOBIG,
	    "1,001 reports refused by the encoder");
	wmsg_fini(&m);

	fill(&m, WMSG_REPORTS_ACK);
	ok(wmsg_attempts_contain(m.stop, m.n_stop, ID_B, 2) &&
	    !wmsg_attempts_contain(m.stop, m.n_stop, ID_B, 3) &&
	    !wmsg_attempts_contain(m.stop, m.n_stop, ID_A, 2) &&
	    !wmsg_attempts_contain(NULL, 0, ID_A, 1),
	    "a stop list is searched by id and attempt");
	wmsg_fini(&m);

	/* Array bounds: 10,000 entries pass, 10,001 do not. */
	fill(&m, WMSG_HEARTBEAT_ACK);
	free(m.stop);
	fill_attempts(&m.stop, &m.n_stop, 10000);
	wmsg_encode(&m, &buf, &len);
	ok(wmsg_decode(buf, len, &d) == 0 && d.n_stop == 10000,
	    "10,000 stop entries accepted");
	wmsg_fini(&d);
	free(buf);
	free(m.stop);
	fill_attempts(&m.stop, &m.n_stop, 10001);
	wmsg_encode(&m, &buf, &len);
	is_int(wmsg_decode(buf, len, &d), ERR_PROTO, "10,001 stop entries rejected");
	free(buf);
	wmsg_fini(&m);

	fill(&m, WMSG_REGISTER);
	for (i = 0; i < 10001; i++) {
		char	 cap[32];

		snprintf(cap, sizeof cap, "type%zu", i);
		strlist_add(&m.capabilities, cap);
	}
	wmsg_encode(&m, &buf, &len);
	is_int(wmsg_decode(buf, len, &d), ERR_PROTO,
	    "10,000+ capabilities rejected");
	free(buf);
	wmsg_fini(&m);

	/* Blob bounds: 64 MiB passes, one byte more does not. */
	big = xcalloc(1, 64u * 1024 * 1024 + 1);
	fill(&m, WMSG_CHECKPOINT);
	free(m.blob);
	m.blob = big;
	m.blob_len = 64u * 1024 * 1024;
	wmsg_encode(&m, &buf, &len);
	ok(wmsg_decode(buf, len, &d) == 0 && d.blob_len == m.blob_len,
	    "64 MiB checkpoint accepted");
	wmsg_fini(&d);
	free(buf);
	m.blob_len++;
	wmsg_encode(&m, &buf, &len);
	is_int(wmsg_decode(buf, len, &d), ERR_PROTO, "64 MiB + 1 checkpoint rejected");
	free(buf);
	wmsg_fini(&m);

	fill(&m, WMSG_WORK);
	m.assignments[0].checkpoint_len = 64u * 1024 * 1024 + 1;
	free(m.assignments[0].checkpoint);
	m.assignments[0].checkpoint = xcalloc(1, m.assignments[0].checkpoint_len);
	wmsg_encode(&m, &buf, &len);
	is_int(wmsg_decode(buf, len, &d), ERR_PROTO,
	    "assignment checkpoint over 64 MiB rejected");
	free(buf);
	wmsg_fini(&m);

	memset(&m, 0, sizeof m);
	m.type = WMSG__END;
	is_int(wmsg_encode(&m, &buf, &len), ERR_INVAL, "encoding an unknown type fails");
}

static uint64_t	 fuzz_state;

static uint32_t
fuzz_rand(void)
{
	/* xorshift64*: reproducible from the printed seed. */
	fuzz_state ^= fuzz_state >> 12;
	fuzz_state ^= fuzz_state << 25;
	fuzz_state ^= fuzz_state >> 27;
	return (uint32_t)((fuzz_state * 2685821657736338717ull) >> 32);
}

static void
test_fuzz(void)
{
	struct wmsg	 m, d, d2;
	unsigned char	*src[WMSG__END], *buf;
	size_t		 srclen[WMSG__END], len, i, n, pos;
	void		*enc;
	size_t		 enclen;
	uint64_t	 seed;
	unsigned	 iter, accepted = 0, mismatches = 0;
	const char	*env;
	int		 t;

	seed = (env = getenv("FUZZ_SEED")) != NULL ? strtoull(env, NULL, 0) :
	    0x6e6979616e7461ull;
	fuzz_state = seed != 0 ? seed : 1;
	tap_diag("fuzz seed %llu (set FUZZ_SEED to replay)", (unsigned long long)seed);
	for (t = WMSG_REGISTER; t < WMSG__END; t++) {
		fill(&m, (enum wmsg_type)t);
		wmsg_encode(&m, &enc, &srclen[t]);
		src[t] = enc;
		wmsg_fini(&m);
	}
	for (iter = 0; iter < 30000; iter++) {
		t = WMSG_REGISTER + (int)(fuzz_rand() % (WMSG__END - WMSG_REGISTER));
		len = srclen[t];
		buf = xmalloc(len + 16);
		memcpy(buf, src[t], len);
		n = 1 + fuzz_rand() % 4;
		for (i = 0; i < n && len > 0; i++) {
			pos = fuzz_rand() % len;
			switch (fuzz_rand() % 4) {
			case 0:		/* flip bits */
				buf[pos] ^= (unsigned char)(1u << (fuzz_rand() % 8));
				break;
			case 1:		/* random byte */
				buf[pos] = (unsigned char)fuzz_rand();
				break;
			case 2:		/* delete a byte */
				memmove(buf + pos, buf + pos + 1, len - pos - 1);
				len--;
				break;
			case 3:		/* insert a byte */
				if (len < srclen[t] + 16) {
					memmove(buf + pos + 1, buf + pos, len - pos);
					buf[pos] = (unsigned char)fuzz_rand();
					len++;
				}
				break;
			}
		}
		if (wmsg_decode(buf, len, &d) == 0) {
			accepted++;
			/* Whatever is accepted must survive a re-encoding. */
			if (wmsg_encode(&d, &enc, &enclen) != 0 ||
			    wmsg_decode(enc, enclen, &d2) != 0)
				mismatches++;
			else {
				if (!wmsg_eq(&d, &d2))
					mismatches++;
				wmsg_fini(&d2);
				free(enc);
			}
			wmsg_fini(&d);
		}
		free(buf);
	}
	tap_diag("fuzz: %u of 30000 mutants decoded", accepted);
	is_int(mismatches, 0, "fuzz: accepted mutants re-encode identically");
	for (t = WMSG_REGISTER; t < WMSG__END; t++)
		free(src[t]);
}

/* ---- the bus ---- */

struct bus_fixture {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	struct bus_call	*deferred;	/* POLL handed to the replier thread */
	struct bus_call	*held;		/* PROGRESS never answered */
	bool		 done;
	int		 calls;
};

static void
bus_test_cb(void *arg, struct bus_call *call, const struct wmsg *req)
{
	struct bus_fixture	*f = arg;
	struct wmsg		 reply;

	pthread_mutex_lock(&f->mu);
	f->calls++;
	pthread_mutex_unlock(&f->mu);
	memset(&reply, 0, sizeof reply);
	switch (req->type) {
	case WMSG_HEARTBEAT:
		/* Echo the running list back as stop[]. */
		reply.type = WMSG_HEARTBEAT_ACK;
		reply.stop = req->running;
		reply.n_stop = req->n_running;
		bus_call_reply(call, &reply);
		return;
	case WMSG_POLL:
		pthread_mutex_lock(&f->mu);
		f->deferred = call;
		pthread_cond_broadcast(&f->cv);
		pthread_mutex_unlock(&f->mu);
		return;
	case WMSG_PROGRESS:
		pthread_mutex_lock(&f->mu);
		f->held = call;
		pthread_mutex_unlock(&f->mu);
		return;
	default:
		reply.type = WMSG_ERROR;
		reply.err = ERR_INVAL;
		reply.message = (char *)"unexpected";
		bus_call_reply(call, &reply);
		return;
	}
}

/* Answers deferred polls from a thread of its own, as a long poll would. */
static void *
bus_test_replier(void *arg)
{
	struct bus_fixture	*f = arg;
	struct bus_call		*call;
	struct wmsg		 reply;
	struct wmsg_assignment	 a;

	pthread_mutex_lock(&f->mu);
	for (;;) {
		while (f->deferred == NULL && !f->done)
			pthread_cond_wait(&f->cv, &f->mu);
		if (f->deferred == NULL)
			break;
		call = f->deferred;
		f->deferred = NULL;
		pthread_mutex_unlock(&f->mu);

		usleep(50 * 1000);
		memset(&a, 0, sizeof a);
		memcpy(a.workload_id, ID_A, sizeof a.workload_id);
		a.attempt = 2;
		a.type = (char *)"sleep";
		a.params_json = (char *)"{}";
		memset(&reply, 0, sizeof reply);
		reply.type = WMSG_WORK;
		reply.assignments = &a;
		reply.n_assignments = 1;
		bus_call_reply(call, &reply);
		pthread_mutex_lock(&f->mu);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

static void
test_bus(void)
{
	struct bus_fixture	 f;
	struct bus_server	*srv = NULL;
	struct bus_client	*cli = NULL, *lone = NULL;
	struct errbuf		 eb;
	struct wmsg		 req, reply;
	pthread_t		 replier;
	char			 dir[] = "/tmp/wire_worker_test.XXXXXX";
	char			 url[128], url2[128];
	const char		*urls[1];
	nng_socket		 raw;
	char			*rbuf = NULL;
	size_t			 rlen;
	uint64_t		 t0;
	int			 rc;

	memset(&f, 0, sizeof f);
	pthread_mutex_init(&f.mu, NULL);
	pthread_cond_init(&f.cv, NULL);
	if (mkdtemp(dir) == NULL) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(url, sizeof url, "ipc://%s/bus.sock", dir);
	snprintf(url2, sizeof url2, "ipc://%s/nobody.sock", dir);

	is_int(bus_server_open(&srv, "http://x", 1, bus_test_cb, &f, &eb), ERR_INVAL,
	    "server refuses an unsupported URL");
	rc = bus_server_open(&srv, url, 2, bus_test_cb, &f, &eb);
	if (!is_int(rc, 0, "server listens on ipc://"))
		tap_diag("%s", eb.msg);
	pthread_create(&replier, NULL, bus_test_replier, &f);
	urls[0] = url;
	rc = bus_client_open(&cli, urls, 1, &eb);
	is_int(rc, 0, "client dials");

	/* Request and immediate reply. */
	memset(&req, 0, sizeof req);
	req.type = WMSG_HEARTBEAT;
	req.worker_id = (char *)"w1";
	fill_attempts(&req.running, &req.n_running, 2);
	rc = bus_client_call(cli, &req, &reply, 5000, &eb);
	is_int(rc, 0, "heartbeat answered");
	ok(rc == 0 && reply.type == WMSG_HEARTBEAT_ACK && reply.n_stop == 2 &&
	    strcmp(reply.stop[1].workload_id, ID_B) == 0 && reply.stop[1].attempt == 2,
	    "reply decoded with its content");
	wmsg_fini(&reply);
	free(req.running);

	/* A reply deferred to another thread (long poll). */
	memset(&req, 0, sizeof req);
	req.type = WMSG_POLL;
	req.worker_id = (char *)"w1";
	req.wait_ms = 1000;
	t0 = clock_mono_ms();
	rc = bus_client_call(cli, &req, &reply, 5000, &eb);
	is_int(rc, 0, "poll answered from another thread");
	ok(rc == 0 && reply.type == WMSG_WORK && reply.n_assignments == 1 &&
	    reply.assignments[0].attempt == 2 &&
	    str_eq(reply.assignments[0].type, "sleep") && clock_mono_ms() - t0 >= 40,
	    "deferred WORK carries the assignment");
	wmsg_fini(&reply);

	/* No answer in time. */
	memset(&req, 0, sizeof req);
	req.type = WMSG_PROGRESS;
	req.worker_id = (char *)"w1";
	memcpy(req.workload_id, ID_A, sizeof req.workload_id);
	t0 = clock_mono_ms();
	rc = bus_client_call(cli, &req, &reply, 300, &eb);
	is_int(rc, ERR_TIMEOUT, "unanswered call times out");
	ok(clock_mono_ms() - t0 >= 250 && clock_mono_ms() - t0 < 3000,
	    "after about the timeout");
	pthread_mutex_lock(&f.mu);
	if (f.held != NULL)
		bus_call_drop(f.held);
	f.held = NULL;
	pthread_mutex_unlock(&f.mu);

	/* Several threads' worth of calls still work after the timeout. */
	memset(&req, 0, sizeof req);
	req.type = WMSG_START;
	req.worker_id = (char *)"w1";
	memcpy(req.workload_id, ID_A, sizeof req.workload_id);
	rc = bus_client_call(cli, &req, &reply, 5000, &eb);
	ok(rc == 0 && reply.type == WMSG_ERROR && reply.err == ERR_INVAL,
	    "server's ERROR reply decoded");
	wmsg_fini(&reply);

	/* Bytes that are not a message get ERROR/PROTO without the callback. */
	if (nng_req0_open(&raw) == 0) {
		nng_socket_set_ms(raw, NNG_OPT_RECVTIMEO, 5000);
		rc = nng_dial(raw, url, NULL, 0);
		if (rc == 0)
			rc = nng_send(raw, "\xc1garbage", 8, 0);
		if (rc == 0)
			rc = nng_recv(raw, &rbuf, &rlen, NNG_FLAG_ALLOC);
		ok(rc == 0 && wmsg_decode(rbuf, rlen, &reply) == 0 &&
		    reply.type == WMSG_ERROR && reply.err == ERR_PROTO,
		    "undecodable request answered with ERROR protocol_error");
		if (rc == 0) {
			wmsg_fini(&reply);
			nng_free(rbuf, rlen);
		}
		nng_close(raw);
	} else
		ok(0, "raw req socket");
	pthread_mutex_lock(&f.mu);
	is_int(f.calls, 4, "callback saw only the decodable requests");
	pthread_mutex_unlock(&f.mu);

	/* Nobody listening. */
	urls[0] = url2;
	rc = bus_client_open(&lone, urls, 1, &eb);
	is_int(rc, 0, "client dials an absent server without failing");
	memset(&req, 0, sizeof req);
	req.type = WMSG_POLL;
	req.worker_id = (char *)"w1";
	rc = bus_client_call(lone, &req, &reply, 300, &eb);
	is_int(rc, ERR_UNAVAIL, "no server: unavailable");
	bus_client_close(lone);
	urls[0] = "udp://x";
	is_int(bus_client_open(&lone, urls, 1, &eb), ERR_INVAL,
	    "client refuses an unsupported URL");

	bus_client_close(cli);
	pthread_mutex_lock(&f.mu);
	f.done = true;
	pthread_cond_broadcast(&f.cv);
	pthread_mutex_unlock(&f.mu);
	pthread_join(replier, NULL);
	bus_server_close(srv);
	unlink(url + 6);
	rmdir(dir);
	pthread_cond_destroy(&f.cv);
	pthread_mutex_destroy(&f.mu);
}

int
main(void)
{
	log_init("wire_worker_test", LOG_LEVEL_ERROR);
	test_round_trips();
	test_strict();
	test_fuzz();
	test_bus();
	return tap_done();
}
