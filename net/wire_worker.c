/*
 * The worker protocol's msgpack encoding.  A message is one map: "type"
 * (the enum wmsg_type number) and the fields that type uses, under stable
 * snake_case names.  One table says which fields each type carries, so the
 * encoder and the decoder cannot disagree.
 *
 * Decoding is strict about what it reads: a field of the wrong type, an id
 * that is not exactly WMSG_ID_LEN characters, an array longer than
 * WMSG_ARRAY_MAX or a blob larger than WMSG_BLOB_MAX is ERR_PROTO.  Keys a
 * type does not use are ignored, so a newer peer may add fields.
 */
#include "net/wire_worker.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net/wire.h"
#include "src/cmd.h"
#include "src/err.h"

#define WMSG_ARRAY_MAX	10000			/* entries in any array or map */
#define WMSG_BLOB_MAX	(64u * 1024 * 1024)	/* checkpoint bytes */

enum wmsg_field {
	WF_WORKER_ID,
	WF_GENERATION,
	WF_TOKEN,
	WF_TAGS,
	WF_CAPABILITIES,
	WF_CAPACITY,
	WF_VERSION,
	WF_RUNNING,
	WF_FREE_SLOTS,
	WF_HEARTBEAT_MS,
	WF_WAIT_MS,
	WF_ASSIGNMENTS,
	WF_STOP_LIST,
	WF_WORKLOAD_ID,
	WF_ATTEMPT,
	WF_PROGRESS,
	WF_MESSAGE,
	WF_CHECKPOINT_SEQ,
	WF_BLOB,
	WF_OUTCOME,
	WF_RESULT_JSON,
	WF_ERROR,
	WF_STOP_FLAG,
	WF_ERR,
	WF_REREGISTER,
	WF_CHUNK_INDEX,
	WF_CHUNK_COUNT,
	WF_TOTAL_LEN,
	WF_RAW_LEN,
	WF_BLOB_HASH,
	WF_CHUNK_HASH,
	WF_CPU_MILLIS,
	WF_MEMORY_MB,
	WF_GPUS,
	WF_REPORTS,
	WF__COUNT
};

#define B(f)	((uint64_t)1 << (f))

/* Keys on the wire, by field.  "stop" is an array in WORK/HEARTBEAT_ACK and a
 * bool in ACK; no type carries both. */
static const char *const wmsg_keys[WF__COUNT] = {
	[WF_WORKER_ID] = "worker_id",
	[WF_GENERATION] = "generation",
	[WF_TOKEN] = "token",
	[WF_TAGS] = "tags",
	[WF_CAPABILITIES] = "capabilities",
	[WF_CAPACITY] = "capacity",
	[WF_VERSION] = "version",
	[WF_RUNNING] = "running",
	[WF_FREE_SLOTS] = "free_slots",
	[WF_HEARTBEAT_MS] = "heartbeat_ms",
	[WF_WAIT_MS] = "wait_ms",
	[WF_ASSIGNMENTS] = "assignments",
	[WF_STOP_LIST] = "stop",
	[WF_WORKLOAD_ID] = "workload_id",
	[WF_ATTEMPT] = "attempt",
	[WF_PROGRESS] = "progress",
	[WF_MESSAGE] = "message",
	[WF_CHECKPOINT_SEQ] = "checkpoint_seq",
	[WF_BLOB] = "blob",
	[WF_OUTCOME] = "outcome",
	[WF_RESULT_JSON] = "result_json",
	[WF_ERROR] = "error",
	[WF_STOP_FLAG] = "stop",
	[WF_ERR] = "err",
	[WF_REREGISTER] = "reregister",
	[WF_CHUNK_INDEX] = "chunk_index",
	[WF_CHUNK_COUNT] = "chunk_count",
	[WF_TOTAL_LEN] = "total_len",
	[WF_RAW_LEN] = "raw_len",
	[WF_BLOB_HASH] = "blob_hash",
	[WF_CHUNK_HASH] = "chunk_hash",
	[WF_CPU_MILLIS] = "cpu_millis",
	[WF_MEMORY_MB] = "memory_mb",
	[WF_GPUS] = "gpus",
	[WF_REPORTS] = "reports",
};

#define WMSG_ATTEMPT_FIELDS \
	(B(WF_WORKER_ID) | B(WF_GENERATION) | B(WF_WORKLOAD_ID) | B(WF_ATTEMPT))

static const struct {
	const char	*name;
	uint64_t	 fields;	/* carried on the wire */
	uint64_t	 required;	/* must be present and not nil */
} wmsg_types[WMSG__END] = {
	[WMSG_REGISTER] = { "REGISTER",
	    B(WF_WORKER_ID) | B(WF_GENERATION) | B(WF_TOKEN) | B(WF_TAGS) |
	    B(WF_CAPABILITIES) | B(WF_CAPACITY) | B(WF_VERSION) | B(WF_RUNNING) |
	    B(WF_CPU_MILLIS) | B(WF_MEMORY_MB) | B(WF_GPUS),
	    B(WF_WORKER_ID) },
	[WMSG_REGISTERED] = { "REGISTERED",
	    B(WF_HEARTBEAT_MS) | B(WF_WAIT_MS) | B(WF_GENERATION), 0 },
	[WMSG_HEARTBEAT] = { "HEARTBEAT",
	    B(WF_WORKER_ID) | B(WF_GENERATION) | B(WF_RUNNING) | B(WF_FREE_SLOTS),
	    B(WF_WORKER_ID) },
	[WMSG_HEARTBEAT_ACK] = { "HEARTBEAT_ACK", B(WF_STOP_LIST), 0 },
	[WMSG_POLL] = { "POLL",
	    B(WF_WORKER_ID) | B(WF_GENERATION) | B(WF_WAIT_MS), B(WF_WORKER_ID) },
	[WMSG_WORK] = { "WORK", B(WF_ASSIGNMENTS) | B(WF_STOP_LIST), 0 },
	[WMSG_START] = { "START", WMSG_ATTEMPT_FIELDS,
	    B(WF_WORKER_ID) | B(WF_WORKLOAD_ID) },
	[WMSG_PROGRESS] = { "PROGRESS",
	    WMSG_ATTEMPT_FIELDS | B(WF_PROGRESS) | B(WF_MESSAGE),
	    B(WF_WORKER_ID) | B(WF_WORKLOAD_ID) },
	[WMSG_CHECKPOINT] = { "CHECKPOINT",
	    WMSG_ATTEMPT_FIELDS | B(WF_CHECKPOINT_SEQ) | B(WF_BLOB) |
	    B(WF_CHUNK_INDEX) | B(WF_CHUNK_COUNT) | B(WF_TOTAL_LEN) |
	    B(WF_RAW_LEN) | B(WF_BLOB_HASH) | B(WF_CHUNK_HASH),
	    B(WF_WORKER_ID) | B(WF_WORKLOAD_ID) | B(WF_BLOB) |
	    B(WF_CHUNK_COUNT) | B(WF_TOTAL_LEN) | B(WF_RAW_LEN) |
	    B(WF_BLOB_HASH) | B(WF_CHUNK_HASH) },
	[WMSG_DRAIN] = { "DRAIN", B(WF_WORKER_ID) | B(WF_GENERATION),
	    B(WF_WORKER_ID) },
	[WMSG_COMPLETE] = { "COMPLETE",
	    WMSG_ATTEMPT_FIELDS | B(WF_OUTCOME) | B(WF_RESULT_JSON) | B(WF_ERROR),
	    B(WF_WORKER_ID) | B(WF_WORKLOAD_ID) | B(WF_OUTCOME) },
	[WMSG_ACK] = { "ACK", B(WF_STOP_FLAG), 0 },
	[WMSG_ERROR] = { "ERROR", B(WF_ERR) | B(WF_MESSAGE) | B(WF_REREGISTER),
	    B(WF_ERR) },
	[WMSG_REPORTS] = { "REPORTS",
	    B(WF_WORKER_ID) | B(WF_GENERATION) | B(WF_REPORTS),
	    B(WF_WORKER_ID) | B(WF_REPORTS) },
	[WMSG_REPORTS_ACK] = { "REPORTS_ACK", B(WF_STOP_LIST), 0 },
};

const char *
wmsg_type_name(enum wmsg_type t)
{
	if ((int)t <= 0 || t >= WMSG__END)
		return "UNKNOWN";
	return wmsg_types[t].name;
}

/* ---- encoding ---- */

static void
wmsg_put_id(struct wire_writer *w, const char *id)
{
	wire_put_strn(w, id, strnlen(id, WMSG_ID_LEN));
}

static void
wmsg_put_attempts(struct wire_writer *w, const struct wmsg_attempt *v, size_t n)
{
	size_t	 i;

	wire_put_array(w, (uint32_t)n);
	for (i = 0; i < n; i++) {
		wire_put_map(w, 2);
		wire_put_str(w, "workload_id");
		wmsg_put_id(w, v[i].workload_id);
		wire_put_str(w, "attempt");
		wire_put_uint(w, v[i].attempt);
	}
}

static void
wmsg_put_assignment(struct wire_writer *w, const struct wmsg_assignment *a)
{
	wire_put_map(w, 9);
	wire_put_str(w, "workload_id");
	wmsg_put_id(w, a->workload_id);
	wire_put_str(w, "attempt");
	wire_put_uint(w, a->attempt);
	wire_put_str(w, "type");
	wire_put_str(w, a->type);
	wire_put_str(w, "params_json");
	wire_put_str(w, a->params_json);
	wire_put_str(w, "timeout_seconds");
	wire_put_uint(w, a->timeout_seconds);
	wire_put_str(w, "checkpoint_interval_s");
	wire_put_uint(w, a->checkpoint_interval_s);
	wire_put_str(w, "checkpoint_progress_pct");
	wire_put_uint(w, a->checkpoint_progress_pct);
	wire_put_str(w, "checkpoint_seq");
	wire_put_uint(w, a->checkpoint_seq);
	wire_put_str(w, "checkpoint");
	if (a->checkpoint == NULL)
		wire_put_nil(w);
	else
		wire_put_bin(w, a->checkpoint, a->checkpoint_len);
}

/* A report: its type and attempt, then only the fields of that type. */
static void
wmsg_put_report(struct wire_writer *w, const struct wmsg_report *r)
{
	wire_put_map(w, r->type == WMSG_PROGRESS ? 5 : r->type == WMSG_COMPLETE ?
	    6 : 3);
	wire_put_str(w, "type");
	wire_put_uint(w, (uint64_t)r->type);
	wire_put_str(w, "workload_id");
	wmsg_put_id(w, r->workload_id);
	wire_put_str(w, "attempt");
	wire_put_uint(w, r->attempt);
	if (r->type == WMSG_PROGRESS) {
		wire_put_str(w, "progress");
		wire_put_double(w, r->progress);
		wire_put_str(w, "message");
		wire_put_str(w, r->message);
	} else if (r->type == WMSG_COMPLETE) {
		wire_put_str(w, "outcome");
		wire_put_uint(w, (uint64_t)(r->outcome < 0 ? 0 : r->outcome));
		wire_put_str(w, "result_json");
		wire_put_str(w, r->result_json);
		wire_put_str(w, "error");
		wire_put_str(w, r->error);
	}
}

static void
wmsg_put_field(struct wire_writer *w, const struct wmsg *m, enum wmsg_field f)
{
	size_t	 i;

	switch (f) {
	case WF_WORKER_ID:
		wire_put_str(w, m->worker_id);
		break;
	case WF_GENERATION:
		wire_put_uint(w, m->generation);
		break;
	case WF_TOKEN:
		wire_put_str(w, m->token);
		break;
	case WF_TAGS:
		wire_put_tagset(w, &m->tags);
		break;
	case WF_CAPABILITIES:
		wire_put_strlist(w, &m->capabilities);
		break;
	case WF_CAPACITY:
		wire_put_uint(w, m->capacity);
		break;
	case WF_VERSION:
		wire_put_str(w, m->version);
		break;
	case WF_RUNNING:
		wmsg_put_attempts(w, m->running, m->n_running);
		break;
	case WF_FREE_SLOTS:
		wire_put_uint(w, m->free_slots);
		break;
	case WF_HEARTBEAT_MS:
		wire_put_uint(w, m->heartbeat_ms);
		break;
	case WF_WAIT_MS:
		wire_put_uint(w, m->wait_ms);
		break;
	case WF_ASSIGNMENTS:
		wire_put_array(w, (uint32_t)m->n_assignments);
		for (i = 0; i < m->n_assignments; i++)
			wmsg_put_assignment(w, &m->assignments[i]);
		break;
	case WF_STOP_LIST:
		wmsg_put_attempts(w, m->stop, m->n_stop);
		break;
	case WF_WORKLOAD_ID:
		wmsg_put_id(w, m->workload_id);
		break;
	case WF_ATTEMPT:
		wire_put_uint(w, m->attempt);
		break;
	case WF_PROGRESS:
		wire_put_double(w, m->progress);
		break;
	case WF_MESSAGE:
		wire_put_str(w, m->message);
		break;
	case WF_CHECKPOINT_SEQ:
		wire_put_uint(w, m->checkpoint_seq);
		break;
	case WF_BLOB:
		wire_put_bin(w, m->blob != NULL ? m->blob : "", m->blob_len);
		break;
	case WF_OUTCOME:
		wire_put_uint(w, (uint64_t)(m->outcome < 0 ? 0 : m->outcome));
		break;
	case WF_RESULT_JSON:
		wire_put_str(w, m->result_json);
		break;
	case WF_ERROR:
		wire_put_str(w, m->error);
		break;
	case WF_STOP_FLAG:
		wire_put_bool(w, m->stop_attempt);
		break;
	case WF_ERR:
		wire_put_uint(w, (uint64_t)(m->err < 0 ? 0 : m->err));
		break;
	case WF_REREGISTER:
		wire_put_bool(w, m->reregister);
		break;
	case WF_CHUNK_INDEX:
		wire_put_uint(w, m->chunk_index);
		break;
	case WF_CHUNK_COUNT:
		wire_put_uint(w, m->chunk_count);
		break;
	case WF_TOTAL_LEN:
		wire_put_uint(w, m->total_len);
		break;
	case WF_RAW_LEN:
		wire_put_uint(w, m->raw_len);
		break;
	case WF_BLOB_HASH:
		wire_put_bin(w, m->blob_hash, sizeof m->blob_hash);
		break;
	case WF_CHUNK_HASH:
		wire_put_bin(w, m->chunk_hash, sizeof m->chunk_hash);
		break;
	case WF_CPU_MILLIS:
		wire_put_uint(w, m->offered.cpu_millis);
		break;
	case WF_MEMORY_MB:
		wire_put_uint(w, m->offered.memory_mb);
		break;
	case WF_GPUS:
		wire_put_uint(w, m->offered.gpus);
		break;
	case WF_REPORTS:
		wire_put_array(w, (uint32_t)m->n_reports);
		for (i = 0; i < m->n_reports; i++)
			wmsg_put_report(w, &m->reports[i]);
		break;
	case WF__COUNT:
		break;
	}
}

int
wmsg_encode(const struct wmsg *m, void **buf, size_t *len)
{
	struct wire_writer	*w;
	uint64_t		 fields;
	uint32_t		 n = 1;
	int			 f, rc;

	if ((int)m->type <= 0 || m->type >= WMSG__END)
		return ERR_INVAL;
	if (m->n_reports > WMSG_REPORTS_MAX)
		return ERR_TOOBIG;
	fields = wmsg_types[m->type].fields;
	for (f = 0; f < WF__COUNT; f++)
		if (fields & B(f))
			n++;
	if ((w = wire_writer_new()) == NULL)
		return ERR_NOMEM;
	wire_put_map(w, n);
	wire_put_str(w, "type");
	wire_put_uint(w, (uint64_t)m->type);
	for (f = 0; f < WF__COUNT; f++) {
		if (fields & B(f)) {
			wire_put_str(w, wmsg_keys[f]);
			wmsg_put_field(w, m, (enum wmsg_field)f);
		}
	}
	rc = wire_writer_take(w, buf, len);
	wire_writer_free(w);
	return rc;
}

/* ---- decoding ---- */

/* Copies an id that must be exactly WMSG_ID_LEN bytes with no NUL. */
static int
wmsg_get_id(const struct wire_val *v, char out[WMSG_ID_LEN + 1])
{
	return wire_get_fixed_str(v, out, WMSG_ID_LEN);
}

/* A bin of exactly n bytes into out. */
static int
wmsg_get_hash(const struct wire_val *v, uint8_t *out, size_t n)
{
	const void	*p;
	size_t		 len;

	if (wire_get_bin(v, &p, &len) != 0 || len != n)
		return ERR_PROTO;
	memcpy(out, p, n);
	return 0;
}

/* A copy of a bin value (NULL for length 0 is never returned: an empty
 * blob is a 1-byte allocation with *len = 0, so "present" stays visible). */
static int
wmsg_get_blob(const struct wire_val *v, void **out, size_t *outlen)
{
	const void	*p;
	size_t		 len;
	void		*copy;

	if (wire_get_bin(v, &p, &len) != 0 || len > WMSG_BLOB_MAX)
		return ERR_PROTO;
	if ((copy = malloc(len == 0 ? 1 : len)) == NULL)
		return ERR_NOMEM;
	if (len > 0)
		memcpy(copy, p, len);
	*out = copy;
	*outlen = len;
	return 0;
}

static int
wmsg_get_attempts(const struct wire_val *v, struct wmsg_attempt **out, size_t *nout)
{
	const struct wire_val	*e;
	struct wmsg_attempt	*a;
	uint32_t		 i, n;
	int			 rc;

	if (wire_val_type(v) != WIRE_ARRAY || (n = wire_len(v)) > WMSG_ARRAY_MAX)
		return ERR_PROTO;
	if (n == 0)
		return 0;
	if ((a = calloc(n, sizeof *a)) == NULL)
		return ERR_NOMEM;
	*out = a;
	*nout = n;
	for (i = 0; i < n; i++) {
		e = wire_array_at(v, i);
		if (wire_val_type(e) != WIRE_MAP)
			return ERR_PROTO;
		if ((rc = wmsg_get_id(wire_map_get(e, "workload_id"),
		    a[i].workload_id)) != 0 ||
		    (rc = wire_get_u32(wire_map_get(e, "attempt"), &a[i].attempt)) != 0)
			return ERR_PROTO;
	}
	return 0;
}

static int
wmsg_get_assignment(const struct wire_val *v, struct wmsg_assignment *a)
{
	const struct wire_val	*c;
	int			 rc;

	if (wire_val_type(v) != WIRE_MAP)
		return ERR_PROTO;
	if ((rc = wmsg_get_id(wire_map_get(v, "workload_id"), a->workload_id)) != 0 ||
	    (rc = wire_get_u32(wire_map_get(v, "attempt"), &a->attempt)) != 0 ||
	    (rc = wire_get_strdup(wire_map_get(v, "type"), &a->type)) != 0 ||
	    (rc = wire_field_strdup(v, "params_json", &a->params_json)) != 0 ||
	    (rc = wire_field_u32(v, "timeout_seconds", &a->timeout_seconds)) != 0 ||
	    (rc = wire_field_u32(v, "checkpoint_interval_s",
	    &a->checkpoint_interval_s)) != 0 ||
	    (rc = wire_field_u32(v, "checkpoint_progress_pct",
	    &a->checkpoint_progress_pct)) != 0 ||
	    (rc = wire_field_uint(v, "checkpoint_seq", &a->checkpoint_seq)) != 0)
		return rc;
	if ((c = wire_map_get(v, "checkpoint")) != NULL &&
	    (rc = wmsg_get_blob(c, &a->checkpoint, &a->checkpoint_len)) != 0)
		return rc;
	return 0;
}

static int
wmsg_get_assignments(const struct wire_val *v, struct wmsg *m)
{
	uint32_t	 i, n;
	int		 rc;

	if (wire_val_type(v) != WIRE_ARRAY || (n = wire_len(v)) > WMSG_ARRAY_MAX)
		return ERR_PROTO;
	if (n == 0)
		return 0;
	if ((m->assignments = calloc(n, sizeof *m->assignments)) == NULL)
		return ERR_NOMEM;
	m->n_assignments = n;
	for (i = 0; i < n; i++)
		if ((rc = wmsg_get_assignment(wire_array_at(v, i),
		    &m->assignments[i])) != 0)
			return rc;
	return 0;
}

static int
wmsg_get_int_code(const struct wire_val *v, int limit, int *out)
{
	uint64_t	 u;

	if (wire_get_uint(v, &u) != 0 || u >= (uint64_t)limit)
		return ERR_PROTO;
	*out = (int)u;
	return 0;
}

/* Progress as a worker may report it: a finite 0..100. */
static int
wmsg_get_progress(const struct wire_val *v, double *out)
{
	if (wire_get_double(v, out) != 0 || !isfinite(*out) || *out < 0 ||
	    *out > 100)
		return ERR_PROTO;
	return 0;
}

static int
wmsg_get_report(const struct wire_val *v, struct wmsg_report *r)
{
	const struct wire_val	*p;
	int			 type, rc;

	if (wire_val_type(v) != WIRE_MAP ||
	    wmsg_get_int_code(wire_map_get(v, "type"), WMSG__END, &type) != 0)
		return ERR_PROTO;
	r->type = (enum wmsg_type)type;
	if (r->type != WMSG_START && r->type != WMSG_PROGRESS &&
	    r->type != WMSG_COMPLETE)
		return ERR_PROTO;
	if ((rc = wmsg_get_id(wire_map_get(v, "workload_id"), r->workload_id)) != 0 ||
	    (rc = wire_field_u32(v, "attempt", &r->attempt)) != 0)
		return ERR_PROTO;
	if (r->type == WMSG_PROGRESS) {
		if ((p = wire_map_get(v, "progress")) != NULL &&
		    wmsg_get_progress(p, &r->progress) != 0)
			return ERR_PROTO;
		return wire_field_strdup(v, "message", &r->message);
	}
	if (r->type == WMSG_COMPLETE) {
		if (wmsg_get_int_code(wire_map_get(v, "outcome"), OUTCOME__COUNT,
		    &r->outcome) != 0)
			return ERR_PROTO;
		if ((rc = wire_field_strdup(v, "result_json", &r->result_json)) != 0 ||
		    (rc = wire_field_strdup(v, "error", &r->error)) != 0)
			return rc;
	}
	return 0;
}

static int
wmsg_get_reports(const struct wire_val *v, struct wmsg *m)
{
	uint32_t	 i, n;
	int		 rc;

	if (wire_val_type(v) != WIRE_ARRAY || (n = wire_len(v)) > WMSG_REPORTS_MAX)
		return ERR_PROTO;
	if (n == 0)
		return 0;
	if ((m->reports = calloc(n, sizeof *m->reports)) == NULL)
		return ERR_NOMEM;
	m->n_reports = n;
	for (i = 0; i < n; i++)
		if ((rc = wmsg_get_report(wire_array_at(v, i), &m->reports[i])) != 0)
			return rc;
	return 0;
}

static int
wmsg_get_field(const struct wire_val *v, struct wmsg *m, enum wmsg_field f)
{
	switch (f) {
	case WF_WORKER_ID:
		return wire_get_strdup(v, &m->worker_id);
	case WF_GENERATION:
		return wire_get_uint(v, &m->generation);
	case WF_TOKEN:
		return wire_get_strdup(v, &m->token);
	case WF_TAGS:
		if (wire_val_type(v) != WIRE_MAP || wire_len(v) > WMSG_ARRAY_MAX)
			return ERR_PROTO;
		return wire_get_tagset(v, &m->tags);
	case WF_CAPABILITIES:
		if (wire_val_type(v) != WIRE_ARRAY || wire_len(v) > WMSG_ARRAY_MAX)
			return ERR_PROTO;
		return wire_get_strlist(v, &m->capabilities);
	case WF_CAPACITY:
		return wire_get_u32(v, &m->capacity);
	case WF_VERSION:
		return wire_get_strdup(v, &m->version);
	case WF_RUNNING:
		return wmsg_get_attempts(v, &m->running, &m->n_running);
	case WF_FREE_SLOTS:
		return wire_get_u32(v, &m->free_slots);
	case WF_HEARTBEAT_MS:
		return wire_get_u32(v, &m->heartbeat_ms);
	case WF_WAIT_MS:
		return wire_get_u32(v, &m->wait_ms);
	case WF_ASSIGNMENTS:
		return wmsg_get_assignments(v, m);
	case WF_STOP_LIST:
		return wmsg_get_attempts(v, &m->stop, &m->n_stop);
	case WF_WORKLOAD_ID:
		return wmsg_get_id(v, m->workload_id);
	case WF_ATTEMPT:
		return wire_get_u32(v, &m->attempt);
	case WF_PROGRESS:
		return wmsg_get_progress(v, &m->progress);
	case WF_MESSAGE:
		return wire_get_strdup(v, &m->message);
	case WF_CHECKPOINT_SEQ:
		return wire_get_uint(v, &m->checkpoint_seq);
	case WF_BLOB:
		return wmsg_get_blob(v, &m->blob, &m->blob_len);
	case WF_OUTCOME:
		return wmsg_get_int_code(v, OUTCOME__COUNT, &m->outcome);
	case WF_RESULT_JSON:
		return wire_get_strdup(v, &m->result_json);
	case WF_ERROR:
		return wire_get_strdup(v, &m->error);
	case WF_STOP_FLAG:
		return wire_get_bool(v, &m->stop_attempt);
	case WF_ERR:
		return wmsg_get_int_code(v, ERR__COUNT, &m->err);
	case WF_REREGISTER:
		return wire_get_bool(v, &m->reregister);
	case WF_CHUNK_INDEX:
		return wire_get_u32(v, &m->chunk_index);
	case WF_CHUNK_COUNT:
		return wire_get_u32(v, &m->chunk_count);
	case WF_TOTAL_LEN:
		return wire_get_uint(v, &m->total_len);
	case WF_RAW_LEN:
		return wire_get_uint(v, &m->raw_len);
	case WF_BLOB_HASH:
		return wmsg_get_hash(v, m->blob_hash, sizeof m->blob_hash);
	case WF_CHUNK_HASH:
		return wmsg_get_hash(v, m->chunk_hash, sizeof m->chunk_hash);
	case WF_CPU_MILLIS:
		return wire_get_u32(v, &m->offered.cpu_millis);
	case WF_MEMORY_MB:
		return wire_get_u32(v, &m->offered.memory_mb);
	case WF_GPUS:
		return wire_get_u32(v, &m->offered.gpus);
	case WF_REPORTS:
		return wmsg_get_reports(v, m);
	case WF__COUNT:
		break;
	}
	return ERR_INTERNAL;
}

int
wmsg_decode(const void *buf, size_t len, struct wmsg *out)
{
	struct wire_doc		*doc = NULL;
	const struct wire_val	*root, *v;
	uint64_t		 type;
	uint64_t		 fields, required;
	int			 f, rc;

	memset(out, 0, sizeof *out);
	if ((rc = wire_doc_decode(&doc, buf, len)) != 0)
		return rc;
	root = wire_doc_root(doc);
	if (wire_val_type(root) != WIRE_MAP ||
	    wire_get_uint(wire_map_get(root, "type"), &type) != 0 ||
	    type == 0 || type >= WMSG__END) {
		rc = ERR_PROTO;
		goto fail;
	}
	out->type = (enum wmsg_type)type;
	fields = wmsg_types[type].fields;
	required = wmsg_types[type].required;
	for (f = 0; f < WF__COUNT; f++) {
		if (!(fields & B(f)))
			continue;
		if ((v = wire_map_get(root, wmsg_keys[f])) == NULL) {
			if (required & B(f)) {
				rc = ERR_PROTO;
				goto fail;
			}
			continue;
		}
		if ((rc = wmsg_get_field(v, out, (enum wmsg_field)f)) != 0)
			goto fail;
	}
	wire_doc_free(doc);
	return 0;
fail:
	wire_doc_free(doc);
	wmsg_fini(out);
	return rc == ERR_NOMEM ? ERR_NOMEM : ERR_PROTO;
}

void
wmsg_assignment_fini(struct wmsg_assignment *a)
{
	free(a->type);
	free(a->params_json);
	free(a->checkpoint);
	memset(a, 0, sizeof *a);
}

bool
wmsg_attempts_contain(const struct wmsg_attempt *v, size_t n, const char *id,
    uint32_t attempt)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (v[i].attempt == attempt && strcmp(v[i].workload_id, id) == 0)
			return true;
	return false;
}

void
wmsg_report_fini(struct wmsg_report *r)
{
	free(r->message);
	free(r->result_json);
	free(r->error);
	memset(r, 0, sizeof *r);
}

void
wmsg_fini(struct wmsg *m)
{
	size_t	 i;

	free(m->worker_id);
	free(m->token);
	tagset_fini(&m->tags);
	strlist_fini(&m->capabilities);
	free(m->version);
	free(m->running);
	for (i = 0; i < m->n_assignments; i++)
		wmsg_assignment_fini(&m->assignments[i]);
	free(m->assignments);
	free(m->stop);
	for (i = 0; i < m->n_reports; i++)
		wmsg_report_fini(&m->reports[i]);
	free(m->reports);
	free(m->message);
	free(m->blob);
	free(m->result_json);
	free(m->error);
	memset(m, 0, sizeof *m);
}
