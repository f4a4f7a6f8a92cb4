/*
 * Unit tests for src/cmd.c and src/model.c: every command type round-trips
 * with all its fields set, stored records round-trip, malformed input
 * (truncated at every length, random bytes, mutated encodings, bad types,
 * enums out of range, oversized arrays) is rejected with ERR_PROTO and leaves
 * nothing allocated, and the small helpers (names, ids, priorities) behave.
 * The multi-tenant commands (customers, key revocation, pause/resume, batch
 * cancel, SUBMIT's idempotency and limit fields) get the same treatment.
 * Run under ASan: a leak on any error path fails the test program.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/wire.h"
#include "src/clock.h"
#include "src/cmd.h"
#include "src/err.h"
#include "src/model.h"
#include "src/strs.h"
#include "t/tap.h"

#define ID_A	"0f8fad5b-d9cb-469f-a165-70867728950e"
#define ID_B	"7c9e6679-7425-40de-944b-e07fc1f90ae7"
#define ID_C	"a3bb189e-8bf9-4888-9912-ace4e6543002"

/* ---- deterministic randomness for the fuzz loops ---- */

static uint64_t cmd_test_rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
cmd_test_rand(void)
{
	/* xorshift64: fixed seed, so a failure reproduces exactly. */
	cmd_test_rng ^= cmd_test_rng << 13;
	cmd_test_rng ^= cmd_test_rng >> 7;
	cmd_test_rng ^= cmd_test_rng << 17;
	return cmd_test_rng;
}

/* ---- fixtures ---- */

static void
cmd_test_affinity_fill(struct affinity *a, int n)
{
	char	 buf[32];

	memset(a, 0, sizeof *a);
	snprintf(buf, sizeof buf, "worker-hard-%d", n);
	a->hard_worker_id = strdup(buf);
	tagset_set(&a->hard_tags, "zone", "eu-1");
	tagset_set(&a->hard_tags, "gpu", "a100");
	strlist_add(&a->hard_types, "sleep");
	strlist_add(&a->hard_types, "exec");
	snprintf(buf, sizeof buf, "worker-soft-%d", n);
	a->soft_worker_id = strdup(buf);
	tagset_set(&a->soft_tags, "rack", "r7");
	strlist_add(&a->anti_types, "train");
}

static void
cmd_test_workload_fill(struct workload *w, const char *id, int n)
{
	char	 buf[64];

	memset(w, 0, sizeof *w);
	memcpy(w->id, id, MODEL_ID_LEN + 1);
	snprintf(buf, sizeof buf, "cust-%d", n);
	w->customer_id = strdup(buf);
	w->type = strdup("sleep");
	w->params_json = strdup("{\"seconds\":5,\"s\":\"\\u00e9\"}");
	w->priority = 700 + (uint32_t)n;
	w->tier = TIER_PREMIUM;
	w->status = WL_RUNNING;
	cmd_test_affinity_fill(&w->affinity, n);
	w->max_retries = 3;
	w->timeout_seconds = 3600;
	w->requests.cpu_millis = 1500;
	w->requests.memory_mb = 2048;
	w->requests.gpus = 1;
	w->ckpt_policy.interval_seconds = 60;
	w->ckpt_policy.on_progress_percent = 10;
	w->queue_key = -1234567890123LL;
	w->preempting = true;
	w->preemptions = 2;
	w->seq = 123456789012ULL + (uint64_t)n;
	w->created_ms = 1700000000000ULL;
	w->updated_ms = 1700000000500ULL;
	w->scheduled_ms = 1700000000100ULL;
	w->started_ms = 1700000000200ULL;
	w->finished_ms = 1700000000900ULL;
	w->worker_id = strdup("worker-7");
	w->attempt = 4;
	w->progress = 42.25;
	w->progress_message = strdup("step 3 of 7");
	w->result_json = strdup("{\"ok\":true}");
	w->error = strdup("previous attempt: exit 2");
	w->checkpoint_seq = 9;
	w->failures = 2;
	w->not_before_ms = 1700000009999ULL;
	w->cancel_requested = true;
	w->request_id = strdup("req-abc");
}

static void
cmd_test_worker_fill(struct worker_rec *w)
{
	memset(w, 0, sizeof *w);
	w->id = strdup("worker-7");
	tagset_set(&w->tags, "zone", "eu-1");
	tagset_set(&w->tags, "arch", "arm64");
	strlist_add(&w->capabilities, "sleep");
	strlist_add(&w->capabilities, "exec");
	w->capacity = 16;
	w->used = 5;
	w->offered.cpu_millis = 8000;
	w->offered.memory_mb = 32768;
	w->offered.gpus = 1;
	w->version = strdup("1.2.3");
	w->status = WORKER_DRAINING;
	w->registered_ms = 1700000000000ULL;
	w->last_heartbeat_ms = 1700000004000ULL;
	w->generation = 12;
}

static void
cmd_test_key_fill(struct api_key *k)
{
	size_t	 i;

	memset(k, 0, sizeof *k);
	memcpy(k->id, ID_C, MODEL_ID_LEN + 1);
	k->customer_id = strdup("acme");
	k->role = KEY_ROLE_CUSTOMER;
	for (i = 0; i < sizeof k->hash; i++)
		k->hash[i] = (uint8_t)(i * 7 + 1);
	k->created_ms = 1700000000000ULL;
	k->revoked = true;
}

static void
cmd_test_customer_fill(struct customer *c)
{
	memset(c, 0, sizeof *c);
	memcpy(c->id, ID_B, MODEL_ID_LEN + 1);
	c->name = strdup("Acme Corp.");
	c->tier = TIER_ENTERPRISE;
	c->max_queue_depth = 5000;
	c->max_concurrent = 64;
	c->rate_limit_rps = 250;
	c->created_ms = 1700000000000ULL;
	c->updated_ms = 1700000009000ULL;
}

/* ---- comparisons: each returns NULL if equal, else the first field that
 * differs, so a failure says what broke. ---- */

#define CMP_STR(a, b, f)	do { if (!str_eq((a)->f, (b)->f)) return #f; } while (0)
#define CMP_VAL(a, b, f)	do { if ((a)->f != (b)->f) return #f; } while (0)
#define CMP_MEM(a, b, f)	do { if (memcmp((a)->f, (b)->f, sizeof (a)->f) != 0) return #f; } while (0)



static const char *
cmd_test_affinity_diff(const struct affinity *a, const struct affinity *b)
{
	CMP_STR(a, b, hard_worker_id);
	if (!tagset_eq(&a->hard_tags, &b->hard_tags))
		return "hard_tags";
	if (!strlist_eq(&a->hard_types, &b->hard_types))
		return "hard_types";
	CMP_STR(a, b, soft_worker_id);
	if (!tagset_eq(&a->soft_tags, &b->soft_tags))
		return "soft_tags";
	if (!strlist_eq(&a->anti_types, &b->anti_types))
		return "anti_types";
	return NULL;
}

static const char *
cmd_test_workload_diff(const struct workload *a, const struct workload *b)
{
	const char	*d;

	CMP_MEM(a, b, id);
	CMP_STR(a, b, customer_id);
	CMP_STR(a, b, type);
	CMP_STR(a, b, params_json);
	CMP_VAL(a, b, priority);
	CMP_VAL(a, b, tier);
	CMP_VAL(a, b, status);
	if ((d = cmd_test_affinity_diff(&a->affinity, &b->affinity)) != NULL)
		return d;
	CMP_VAL(a, b, max_retries);
	CMP_VAL(a, b, timeout_seconds);
	if (memcmp(&a->requests, &b->requests, sizeof a->requests) != 0)
		return "requests";
	if (memcmp(&a->ckpt_policy, &b->ckpt_policy, sizeof a->ckpt_policy) != 0)
		return "ckpt_policy";
	CMP_VAL(a, b, queue_key);
	CMP_VAL(a, b, preempting);
	CMP_VAL(a, b, preemptions);
	CMP_VAL(a, b, seq);
	CMP_VAL(a, b, created_ms);
	CMP_VAL(a, b, updated_ms);
	CMP_VAL(a, b, scheduled_ms);
	CMP_VAL(a, b, started_ms);
	CMP_VAL(a, b, finished_ms);
	CMP_STR(a, b, worker_id);
	CMP_VAL(a, b, attempt);
	CMP_VAL(a, b, progress);
	CMP_STR(a, b, progress_message);
	CMP_STR(a, b, result_json);
	CMP_STR(a, b, error);
	CMP_VAL(a, b, checkpoint_seq);
	CMP_VAL(a, b, failures);
	CMP_VAL(a, b, not_before_ms);
	CMP_VAL(a, b, cancel_requested);
	CMP_STR(a, b, request_id);
	return NULL;
}

static const char *
cmd_test_worker_diff(const struct worker_rec *a, const struct worker_rec *b)
{
	CMP_STR(a, b, id);
	if (!tagset_eq(&a->tags, &b->tags))
		return "tags";
	if (!strlist_eq(&a->capabilities, &b->capabilities))
		return "capabilities";
	CMP_VAL(a, b, capacity);
	CMP_VAL(a, b, used);
	if (memcmp(&a->offered, &b->offered, sizeof a->offered) != 0)
		return "offered";
	CMP_STR(a, b, version);
	CMP_VAL(a, b, status);
	CMP_VAL(a, b, registered_ms);
	CMP_VAL(a, b, last_heartbeat_ms);
	CMP_VAL(a, b, generation);
	return NULL;
}

static const char *
cmd_test_key_diff(const struct api_key *a, const struct api_key *b)
{
	CMP_MEM(a, b, id);
	CMP_STR(a, b, customer_id);
	CMP_VAL(a, b, role);
	CMP_MEM(a, b, hash);
	CMP_VAL(a, b, created_ms);
	CMP_VAL(a, b, revoked);
	return NULL;
}

static const char *
cmd_test_customer_diff(const struct customer *a, const struct customer *b)
{
	CMP_MEM(a, b, id);
	CMP_STR(a, b, name);
	CMP_VAL(a, b, tier);
	CMP_VAL(a, b, max_queue_depth);
	CMP_VAL(a, b, max_concurrent);
	CMP_VAL(a, b, rate_limit_rps);
	CMP_VAL(a, b, created_ms);
	CMP_VAL(a, b, updated_ms);
	return NULL;
}

static const char *
cmd_test_cmd_diff(const struct cmd *a, const struct cmd *b)
{
	const char	*d;
	size_t		 i;

	CMP_VAL(a, b, type);
	CMP_VAL(a, b, now_ms);
	CMP_STR(a, b, actor);
	CMP_STR(a, b, request_id);
	CMP_VAL(a, b, n_workloads);
	for (i = 0; i < a->n_workloads; i++)
		if ((d = cmd_test_workload_diff(&a->workloads[i],
		    &b->workloads[i])) != NULL)
			return d;
	CMP_VAL(a, b, n_placements);
	for (i = 0; i < a->n_placements; i++) {
		CMP_MEM(&a->placements[i], &b->placements[i], workload_id);
		CMP_STR(&a->placements[i], &b->placements[i], worker_id);
		CMP_VAL(&a->placements[i], &b->placements[i], attempt);
	}
	CMP_MEM(a, b, workload_id);
	CMP_VAL(a, b, attempt);
	CMP_STR(a, b, worker_id);
	CMP_VAL(a, b, progress);
	CMP_STR(a, b, message);
	CMP_VAL(a, b, checkpoint_seq);
	CMP_VAL(a, b, data_len);
	if (a->data_len != 0 && memcmp(a->data, b->data, a->data_len) != 0)
		return "data";
	CMP_VAL(a, b, raw_len);
	CMP_VAL(a, b, chunk_index);
	CMP_VAL(a, b, chunk_count);
	CMP_VAL(a, b, total_len);
	CMP_VAL(a, b, checkpoint_keep);
	CMP_VAL(a, b, preempt_limit);
	if (memcmp(a->blob_hash, b->blob_hash, sizeof a->blob_hash) != 0)
		return "blob_hash";
	CMP_VAL(a, b, outcome);
	CMP_STR(a, b, result_json);
	CMP_STR(a, b, error);
	if ((d = cmd_test_worker_diff(&a->worker, &b->worker)) != NULL)
		return d;
	CMP_VAL(a, b, n_running);
	for (i = 0; i < a->n_running; i++) {
		CMP_MEM(&a->running[i], &b->running[i], workload_id);
		CMP_VAL(&a->running[i], &b->running[i], attempt);
	}
	CMP_VAL(a, b, n_heartbeats);
	for (i = 0; i < a->n_heartbeats; i++) {
		CMP_STR(&a->heartbeats[i], &b->heartbeats[i], worker_id);
		CMP_VAL(&a->heartbeats[i], &b->heartbeats[i], at_ms);
	}
	CMP_VAL(a, b, generation);
	if ((d = cmd_test_key_diff(&a->key, &b->key)) != NULL)
		return d;
	CMP_STR(a, b, secret_name);
	CMP_MEM(a, b, secret_hash);
	CMP_STR(a, b, idempotency_key);
	CMP_MEM(a, b, body_hash);
	CMP_VAL(a, b, queue_limit);
	CMP_VAL(a, b, global_limit);
	if ((d = cmd_test_customer_diff(&a->customer, &b->customer)) != NULL)
		return d;
	CMP_VAL(a, b, update_mask);
	CMP_VAL(a, b, n_ids);
	for (i = 0; i < a->n_ids; i++)
		if (strcmp(a->ids[i], b->ids[i]) != 0)
			return "ids";
	CMP_VAL(a, b, n_reports);
	for (i = 0; i < a->n_reports; i++) {
		CMP_VAL(&a->reports[i], &b->reports[i], type);
		CMP_MEM(&a->reports[i], &b->reports[i], workload_id);
		CMP_VAL(&a->reports[i], &b->reports[i], attempt);
		CMP_VAL(&a->reports[i], &b->reports[i], progress);
		CMP_STR(&a->reports[i], &b->reports[i], message);
		CMP_VAL(&a->reports[i], &b->reports[i], outcome);
		CMP_STR(&a->reports[i], &b->reports[i], result_json);
		CMP_STR(&a->reports[i], &b->reports[i], error);
	}
	CMP_VAL(&a->node, &b->node, id);
	CMP_STR(&a->node, &b->node, raft_address);
	CMP_STR(&a->node, &b->node, http_url);
	CMP_STR(&a->node, &b->node, worker_url);
	CMP_VAL(&a->node, &b->node, updated_ms);
	return NULL;
}

static bool
cmd_test_is_zero(const void *p, size_t len)
{
	const uint8_t	*b = p;
	size_t		 i;

	for (i = 0; i < len; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* ---- building one command of each type ---- */

static void
cmd_test_build(struct cmd *c, enum cmd_type t)
{
	size_t	 i;

	memset(c, 0, sizeof *c);
	c->type = t;
	c->now_ms = 1700000001234ULL + (uint64_t)t;
	c->actor = strdup("coordinator");
	c->request_id = strdup("req-42");
	switch (t) {
	case CMD_SUBMIT:
		c->workloads = calloc(3, sizeof *c->workloads);
		c->n_workloads = 3;
		cmd_test_workload_fill(&c->workloads[0], ID_A, 0);
		cmd_test_workload_fill(&c->workloads[1], ID_B, 1);
		cmd_test_workload_fill(&c->workloads[2], ID_C, 2);
		/* A sparse one too: NULL strings and empty affinity. */
		workload_fini(&c->workloads[2]);
		memcpy(c->workloads[2].id, ID_C, sizeof c->workloads[2].id);
		c->workloads[2].type = strdup("exec");
		c->workloads[2].status = WL_PENDING;
		c->idempotency_key = strdup("order-2024-0001");
		for (i = 0; i < sizeof c->body_hash; i++)
			c->body_hash[i] = (uint8_t)(i * 3 + 7);
		c->queue_limit = 1000;
		c->global_limit = UINT32_MAX;
		break;
	case CMD_ASSIGN:
		c->placements = calloc(2, sizeof *c->placements);
		c->n_placements = 2;
		memcpy(c->placements[0].workload_id, ID_A, MODEL_ID_LEN + 1);
		c->placements[0].worker_id = strdup("worker-1");
		c->placements[0].attempt = 1;
		memcpy(c->placements[1].workload_id, ID_B, MODEL_ID_LEN + 1);
		c->placements[1].worker_id = strdup("worker-2");
		c->placements[1].attempt = UINT32_MAX;
		break;
	case CMD_START:
	case CMD_PROGRESS:
	case CMD_CHECKPOINT:
	case CMD_COMPLETE:
	case CMD_PREEMPT:
		memcpy(c->workload_id, ID_B, MODEL_ID_LEN + 1);
		c->attempt = 3;
		c->worker_id = strdup("worker-9");
		if (t == CMD_PROGRESS) {
			c->progress = 66.5;
			c->message = strdup("two thirds");
		} else if (t == CMD_CHECKPOINT) {
			c->checkpoint_seq = 17;
			c->data_len = 300;
			c->data = malloc(c->data_len);
			for (i = 0; i < c->data_len; i++)
				((uint8_t *)c->data)[i] = (uint8_t)(i * 31);
			c->raw_len = 4096;
			c->chunk_index = 2;
			c->chunk_count = 5;
			c->total_len = 4 * 300 + 7;
			c->checkpoint_keep = 4;
			for (i = 0; i < sizeof c->blob_hash; i++)
				c->blob_hash[i] = (uint8_t)(0xa0 + i);
		} else if (t == CMD_PREEMPT) {
			c->preempt_limit = 3;
		} else if (t == CMD_COMPLETE) {
			c->outcome = OUTCOME_ABANDONED;
			c->result_json = strdup("[1,2,3]");
			c->error = strdup("drained");
		}
		break;
	case CMD_CANCEL:
		memcpy(c->workload_id, ID_A, MODEL_ID_LEN + 1);
		c->message = strdup("user asked");
		break;
	case CMD_WORKER_REGISTER:
		cmd_test_worker_fill(&c->worker);
		c->running = calloc(2, sizeof *c->running);
		c->n_running = 2;
		memcpy(c->running[0].workload_id, ID_A, MODEL_ID_LEN + 1);
		c->running[0].attempt = 2;
		memcpy(c->running[1].workload_id, ID_C, MODEL_ID_LEN + 1);
		c->running[1].attempt = 5;
		break;
	case CMD_WORKER_HEARTBEAT_BATCH:
		c->heartbeats = calloc(3, sizeof *c->heartbeats);
		c->n_heartbeats = 3;
		for (i = 0; i < 3; i++) {
			char	 buf[16];

			snprintf(buf, sizeof buf, "w%zu", i);
			c->heartbeats[i].worker_id = strdup(buf);
			c->heartbeats[i].at_ms = 1700000000000ULL + i;
		}
		break;
	case CMD_WORKER_DEAD:
	case CMD_WORKER_DRAIN:
		c->worker_id = strdup("worker-3");
		c->generation = 77;
		break;
	case CMD_KEY_CREATE:
		cmd_test_key_fill(&c->key);
		break;
	case CMD_SECRET_SET:
		c->secret_name = strdup("join_token");
		for (i = 0; i < sizeof c->secret_hash; i++)
			c->secret_hash[i] = (uint8_t)(0xff - i);
		break;
	case CMD_CUSTOMER_CREATE:
		cmd_test_customer_fill(&c->customer);
		cmd_test_key_fill(&c->key);
		break;
	case CMD_CUSTOMER_UPDATE:
		/* Every bit set, so that every field travels. */
		cmd_test_customer_fill(&c->customer);
		c->customer.created_ms = c->customer.updated_ms = 0;
		c->update_mask = CMD_UPDATE_TIER | CMD_UPDATE_MAX_QUEUE_DEPTH |
		    CMD_UPDATE_MAX_CONCURRENT | CMD_UPDATE_RATE_LIMIT |
		    CMD_UPDATE_NAME;
		break;
	case CMD_KEY_REVOKE:
		memcpy(c->key.id, ID_C, MODEL_ID_LEN + 1);
		c->key.customer_id = strdup(ID_B);
		break;
	case CMD_PAUSE:
	case CMD_RESUME:
		memcpy(c->workload_id, ID_C, MODEL_ID_LEN + 1);
		break;
	case CMD_CANCEL_BATCH:
		c->ids = calloc(3, sizeof *c->ids);
		c->n_ids = 3;
		memcpy(c->ids[0], ID_A, MODEL_ID_LEN + 1);
		memcpy(c->ids[1], ID_B, MODEL_ID_LEN + 1);
		memcpy(c->ids[2], ID_A, MODEL_ID_LEN + 1);
		c->message = strdup("clean-up");
		break;
	case CMD_REPORT_BATCH:
		c->worker_id = strdup("worker-4");
		c->reports = calloc(3, sizeof *c->reports);
		c->n_reports = 3;
		c->reports[0].type = CMD_START;
		memcpy(c->reports[0].workload_id, ID_A, MODEL_ID_LEN + 1);
		c->reports[0].attempt = 1;
		c->reports[1].type = CMD_PROGRESS;
		memcpy(c->reports[1].workload_id, ID_B, MODEL_ID_LEN + 1);
		c->reports[1].attempt = 2;
		c->reports[1].progress = 12.25;
		c->reports[1].message = strdup("an eighth");
		c->reports[2].type = CMD_COMPLETE;
		memcpy(c->reports[2].workload_id, ID_C, MODEL_ID_LEN + 1);
		c->reports[2].attempt = UINT32_MAX;
		c->reports[2].outcome = OUTCOME_CANCELLED;
		c->reports[2].result_json = strdup("{}");
		c->reports[2].error = strdup("stopped");
		break;
	case CMD_NODE_SET:
		c->node.id = 3;
		c->node.raft_address = strdup("10.0.0.3:7071");
		c->node.http_url = strdup("http://10.0.0.3:8080");
		c->node.worker_url = strdup("tcp://10.0.0.3:7070");
		c->node.updated_ms = 1700000009999ULL;
		break;
	case CMD_NODE_REMOVE:
		c->node.id = UINT64_MAX;
		break;
	default:
		break;
	}
}

/* ---- tests ---- */

/* Decodes a mangled buffer: must not crash, must be 0 or ERR_PROTO, and a
 * success must re-encode and decode to the same command. */
static int
cmd_test_decode_any(const void *buf, size_t len)
{
	struct cmd	 c, again;
	void		*buf2;
	size_t		 len2;
	int		 rc;

	rc = cmd_decode(buf, len, &c);
	if (rc != 0)
		return cmd_test_is_zero(&c, sizeof c) ? rc : -1;
	rc = 0;
	if (cmd_encode(&c, &buf2, &len2) != 0)
		rc = -2;
	else {
		if (cmd_decode(buf2, len2, &again) != 0)
			rc = -3;
		else {
			if (cmd_test_cmd_diff(&c, &again) != NULL)
				rc = -4;
			cmd_fini(&again);
		}
		free(buf2);
	}
	cmd_fini(&c);
	return rc;
}

static void
cmd_test_roundtrip(void)
{
	struct cmd	 c, d;
	void		*buf;
	size_t		 len, cut, k;
	int		 t, rc, bad, unexpected, decoded;
	const char	*diff;
	uint8_t		*m;

	for (t = CMD_SUBMIT; t < CMD__END; t++) {
		cmd_test_build(&c, (enum cmd_type)t);
		rc = cmd_encode(&c, &buf, &len);
		is_int(rc, 0, cmd_type_name((enum cmd_type)t));
		if (rc != 0) {
			cmd_fini(&c);
			continue;
		}
		rc = cmd_decode(buf, len, &d);
		ok(rc == 0, "%s: decodes (%d)", cmd_type_name((enum cmd_type)t), rc);
		diff = rc == 0 ? cmd_test_cmd_diff(&c, &d) : "decode";
		ok(diff == NULL, "%s: round trip equal%s%s",
		    cmd_type_name((enum cmd_type)t), diff ? ", differs in " : "",
		    diff ? diff : "");
		cmd_fini(&d);
		ok(cmd_test_is_zero(&d, sizeof d), "%s: cmd_fini zeroes",
		    cmd_type_name((enum cmd_type)t));

		/* Every strict prefix is malformed msgpack. */
		bad = 0;
		for (cut = 0; cut < len; cut++) {
			rc = cmd_decode(buf, cut, &d);
			if (rc != ERR_PROTO || !cmd_test_is_zero(&d, sizeof d))
				bad++;
		}
		is_int(bad, 0, "truncated at every length: ERR_PROTO, zeroed");

		/* Mutations of a valid encoding reach the deep decode paths
		 * that random bytes never get to. */
		unexpected = decoded = 0;
		m = malloc(len);
		for (k = 0; k < 400; k++) {
			size_t	 flips = 1 + cmd_test_rand() % 4, f;

			memcpy(m, buf, len);
			for (f = 0; f < flips; f++)
				m[cmd_test_rand() % len] = (uint8_t)cmd_test_rand();
			rc = cmd_test_decode_any(m, len);
			if (rc == 0)
				decoded++;
			else if (rc != ERR_PROTO)
				unexpected++;
		}
		free(m);
		ok(unexpected == 0, "400 mutated encodings: 0 or ERR_PROTO, "
		    "%d decoded and re-encoded identically", decoded);
		free(buf);
		cmd_fini(&c);
	}
}

static void
cmd_test_fuzz(void)
{
	uint8_t		 buf[96];
	size_t		 len, i;
	int		 k, rc, unexpected = 0, decoded = 0;

	for (k = 0; k < 5000; k++) {
		len = cmd_test_rand() % sizeof buf;
		for (i = 0; i < len; i++)
			buf[i] = (uint8_t)cmd_test_rand();
		/* Half the time start with a plausible map header and "t". */
		if (k % 2 == 0 && len >= 4) {
			buf[0] = (uint8_t)(0x80 | (cmd_test_rand() % 8));
			buf[1] = 0xa1;
			buf[2] = 't';
			buf[3] = (uint8_t)(1 + cmd_test_rand() % (CMD__END - 1));
		}
		rc = cmd_test_decode_any(buf, len);
		if (rc == 0)
			decoded++;
		else if (rc != ERR_PROTO)
			unexpected++;
	}
	is_int(unexpected, 0, "5000 random buffers: 0 or ERR_PROTO, no crash");
	tap_diag("%d random buffers happened to decode", decoded);
}

/* Encodes a map by hand: "t" and "now" plus one extra uint or string key. */
static int
cmd_test_decode_raw(uint64_t t, bool with_now, const char *extra_key,
    const char *extra_str)
{
	struct wire_writer	*w = wire_writer_new();
	struct cmd		 c;
	void			*buf;
	size_t			 len;
	int			 rc;

	wire_put_map(w, 1 + (with_now ? 1 : 0) + (extra_key ? 1 : 0));
	wire_put_str(w, "t");
	wire_put_uint(w, t);
	if (with_now) {
		wire_put_str(w, "now");
		wire_put_uint(w, 5);
	}
	if (extra_key) {
		wire_put_str(w, extra_key);
		wire_put_str(w, extra_str);
	}
	if (wire_writer_take(w, &buf, &len) != 0) {
		wire_writer_free(w);
		return -1;
	}
	wire_writer_free(w);
	rc = cmd_decode(buf, len, &c);
	cmd_fini(&c);
	free(buf);
	return rc;
}

static int
cmd_test_decode_writer(struct wire_writer *w)
{
	struct cmd	 c;
	void		*buf;
	size_t		 len;
	int		 rc;

	if (wire_writer_take(w, &buf, &len) != 0) {
		wire_writer_free(w);
		return -1;
	}
	wire_writer_free(w);
	rc = cmd_decode(buf, len, &c);
	if (rc != 0 && !cmd_test_is_zero(&c, sizeof c))
		rc = -2;
	cmd_fini(&c);
	free(buf);
	return rc;
}

static void
cmd_test_bad_commands(void)
{
	struct wire_writer	*w;
	struct cmd		 c;
	void			*buf;
	size_t			 len, i;
	int			 rc;
	static const uint8_t	 hash31[31];

	is_int(cmd_test_decode_raw(0, true, NULL, NULL), ERR_PROTO, "type 0 rejected");
	is_int(cmd_test_decode_raw(CMD__END, true, NULL, NULL), ERR_PROTO,
	    "type CMD__END rejected");
	is_int(cmd_test_decode_raw(1000, true, NULL, NULL), ERR_PROTO,
	    "type 1000 rejected");
	is_int(cmd_test_decode_raw(CMD_WORKER_DEAD, false, "wk", "w1"), ERR_PROTO,
	    "missing now rejected");
	is_int(cmd_test_decode_raw(CMD_WORKER_DEAD, true, "wk", "w1"), 0,
	    "minimal worker_dead accepted");
	is_int(cmd_test_decode_raw(CMD_WORKER_DEAD, true, NULL, NULL), ERR_PROTO,
	    "worker_dead without worker rejected");
	is_int(cmd_test_decode_raw(CMD_WORKER_DEAD, true, "wk", ""), ERR_PROTO,
	    "worker_dead with empty worker rejected");
	is_int(cmd_test_decode_raw(CMD_START, true, "wl", ID_A), 0,
	    "minimal start accepted");
	is_int(cmd_test_decode_raw(CMD_START, true, "wl", "short-id"), ERR_PROTO,
	    "start with a short id rejected");
	is_int(cmd_test_decode_raw(CMD_START, true, "wl", ID_A "0"), ERR_PROTO,
	    "start with a 37-char id rejected");
	is_int(cmd_test_decode_raw(CMD_CANCEL, true, NULL, NULL), ERR_PROTO,
	    "cancel without workload id rejected");
	is_int(cmd_test_decode_raw(CMD_COMPLETE, true, "wl", ID_A), ERR_PROTO,
	    "complete without outcome rejected");
	is_int(cmd_test_decode_raw(CMD_SUBMIT, true, "wls", "x"), ERR_PROTO,
	    "submit with a string for workloads rejected");
	is_int(cmd_test_decode_raw(CMD_KEY_CREATE, true, NULL, NULL), ERR_PROTO,
	    "key_create without key rejected");
	is_int(cmd_test_decode_raw(CMD_WORKER_REGISTER, true, NULL, NULL),
	    ERR_PROTO, "worker_register without worker rejected");
	is_int(cmd_test_decode_raw(CMD_SECRET_SET, true, "name", "join_token"),
	    ERR_PROTO, "secret_set without hash rejected");

	/* Container headers that promise more elements than the buffer can
	 * hold: rejected before msgpack-c sizes an allocation from them. */
	{
		static const uint8_t	 arr32[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
		static const uint8_t	 map32[] = { 0x81, 0xa1, 't', 0xdf,
		    0x10, 0x00, 0x00, 0x00, 0x01, 0x02 };
		static const uint8_t	 str32[] = { 0xdb, 0xff, 0xff, 0xff, 0xf0, 'a' };

		is_int(cmd_decode(arr32, sizeof arr32, &c), ERR_PROTO,
		    "array32 of 2^32-1 in 5 bytes rejected");
		is_int(cmd_decode(map32, sizeof map32, &c), ERR_PROTO,
		    "nested map32 of 2^28 rejected");
		is_int(cmd_decode(str32, sizeof str32, &c), ERR_PROTO,
		    "oversized str32 rejected");
		is_int(cmd_decode(NULL, 0, &c), ERR_PROTO, "empty buffer rejected");
	}

	/* "t" of the wrong type, and a root that is not a map. */
	w = wire_writer_new();
	wire_put_map(w, 2);
	wire_put_str(w, "t");
	wire_put_str(w, "submit");
	wire_put_str(w, "now");
	wire_put_uint(w, 1);
	is_int(cmd_test_decode_writer(w), ERR_PROTO, "string type rejected");
	w = wire_writer_new();
	wire_put_array(w, 2);
	wire_put_uint(w, 1);
	wire_put_uint(w, 1);
	is_int(cmd_test_decode_writer(w), ERR_PROTO, "array root rejected");

	/* An outcome out of range. */
	w = wire_writer_new();
	wire_put_map(w, 4);
	wire_put_str(w, "t");
	wire_put_uint(w, CMD_COMPLETE);
	wire_put_str(w, "now");
	wire_put_uint(w, 1);
	wire_put_str(w, "wl");
	wire_put_str(w, ID_A);
	wire_put_str(w, "out");
	wire_put_uint(w, OUTCOME__COUNT);
	is_int(cmd_test_decode_writer(w), ERR_PROTO, "outcome out of range rejected");

	/* A 31-byte secret hash. */
	w = wire_writer_new();
	wire_put_map(w, 4);
	wire_put_str(w, "t");
	wire_put_uint(w, CMD_SECRET_SET);
	wire_put_str(w, "now");
	wire_put_uint(w, 1);
	wire_put_str(w, "name");
	wire_put_str(w, "join_token");
	wire_put_str(w, "hash");
	wire_put_bin(w, hash31, sizeof hash31);
	is_int(cmd_test_decode_writer(w), ERR_PROTO, "31-byte secret hash rejected");

	/* A NaN progress. */
	w = wire_writer_new();
	wire_put_map(w, 4);
	wire_put_str(w, "t");
	wire_put_uint(w, CMD_PROGRESS);
	wire_put_str(w, "now");
	wire_put_uint(w, 1);
	wire_put_str(w, "wl");
	wire_put_str(w, ID_A);
	wire_put_str(w, "prog");
	wire_put_double(w, NAN);
	is_int(cmd_test_decode_writer(w), ERR_PROTO, "NaN progress rejected");

	/* A SUBMIT whose second workload is bad: the first must be freed. */
	w = wire_writer_new();
	wire_put_map(w, 3);
	wire_put_str(w, "t");
	wire_put_uint(w, CMD_SUBMIT);
	wire_put_str(w, "now");
	wire_put_uint(w, 1);
	wire_put_str(w, "wls");
	wire_put_array(w, 2);
	cmd_test_build(&c, CMD_SUBMIT);
	model_workload_encode(w, &c.workloads[0]);
	c.workloads[1].status = WL__COUNT;
	model_workload_encode(w, &c.workloads[1]);
	cmd_fini(&c);
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "submit with one bad workload rejected, nothing leaked");

	/* An ASSIGN whose second placement lacks a worker. */
	w = wire_writer_new();
	wire_put_map(w, 3);
	wire_put_str(w, "t");
	wire_put_uint(w, CMD_ASSIGN);
	wire_put_str(w, "now");
	wire_put_uint(w, 1);
	wire_put_str(w, "pl");
	wire_put_array(w, 2);
	wire_put_map(w, 3);
	wire_put_str(w, "wl");
	wire_put_str(w, ID_A);
	wire_put_str(w, "wk");
	wire_put_str(w, "w1");
	wire_put_str(w, "att");
	wire_put_uint(w, 1);
	wire_put_map(w, 2);
	wire_put_str(w, "wl");
	wire_put_str(w, ID_B);
	wire_put_str(w, "att");
	wire_put_uint(w, 1);
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "placement without a worker rejected, nothing leaked");

	/* Array limits: 10,000 is fine, 10,001 is refused both ways. */
	memset(&c, 0, sizeof c);
	c.type = CMD_WORKER_HEARTBEAT_BATCH;
	c.now_ms = 1;
	c.n_heartbeats = 10001;
	c.heartbeats = calloc(c.n_heartbeats, sizeof *c.heartbeats);
	for (i = 0; i < c.n_heartbeats; i++)
		c.heartbeats[i].worker_id = strdup("w");
	is_int(cmd_encode(&c, &buf, &len), ERR_TOOBIG,
	    "encode refuses 10,001 heartbeats");
	c.n_heartbeats = 10000;
	rc = cmd_encode(&c, &buf, &len);
	is_int(rc, 0, "encode accepts 10,000 heartbeats");
	c.n_heartbeats = 10001;
	cmd_fini(&c);
	if (rc == 0) {
		rc = cmd_decode(buf, len, &c);
		ok(rc == 0 && c.n_heartbeats == 10000,
		    "decode accepts 10,000 heartbeats");
		cmd_fini(&c);
		free(buf);
	}
	w = wire_writer_new();
	wire_put_map(w, 3);
	wire_put_str(w, "t");
	wire_put_uint(w, CMD_WORKER_HEARTBEAT_BATCH);
	wire_put_str(w, "now");
	wire_put_uint(w, 1);
	wire_put_str(w, "hb");
	wire_put_array(w, 10001);
	for (i = 0; i < 10001; i++) {
		wire_put_map(w, 1);
		wire_put_str(w, "wk");
		wire_put_str(w, "w");
	}
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "decode refuses 10,001 heartbeats");

	memset(&c, 0, sizeof c);
	c.type = (enum cmd_type)0;
	is_int(cmd_encode(&c, &buf, &len), ERR_INVAL, "encode refuses type 0");
	c.type = CMD__END;
	is_int(cmd_encode(&c, &buf, &len), ERR_INVAL, "encode refuses CMD__END");
	cmd_fini(&c);
	cmd_fini(&c);
	ok(1, "cmd_fini twice is harmless");
}

/* A new writer holding a map of 2 + extra entries, "t" and "now" written. */
static struct wire_writer *
cmd_test_hdr(enum cmd_type t, uint32_t extra)
{
	struct wire_writer	*w = wire_writer_new();

	wire_put_map(w, 2 + extra);
	wire_put_str(w, "t");
	wire_put_uint(w, (uint64_t)t);
	wire_put_str(w, "now");
	wire_put_uint(w, 1);
	return w;
}

/* Like cmd_test_decode_writer, but keeps the decoded command in *c. */
static int
cmd_test_decode_keep(struct wire_writer *w, struct cmd *c)
{
	void	*buf;
	size_t	 len;
	int	 rc;

	memset(c, 0, sizeof *c);
	if (wire_writer_take(w, &buf, &len) != 0) {
		wire_writer_free(w);
		return -1;
	}
	wire_writer_free(w);
	rc = cmd_decode(buf, len, c);
	free(buf);
	return rc;
}

/* Writes a customer map with one key replaced: skip drops it, else its value
 * becomes u (str NULL) or str. */
static void
cmd_test_put_customer(struct wire_writer *w, const char *key, bool skip,
    uint64_t u, const char *str)
{
	static const char *const keys[] = { "id", "name", "tier", "mqd", "mc",
	    "rps", "ct", "ut" };
	struct customer	 c;
	size_t		 i;
	uint64_t	 vals[8];

	cmd_test_customer_fill(&c);
	vals[2] = (uint64_t)c.tier;
	vals[3] = c.max_queue_depth;
	vals[4] = c.max_concurrent;
	vals[5] = c.rate_limit_rps;
	vals[6] = c.created_ms;
	vals[7] = c.updated_ms;
	wire_put_map(w, skip ? 7 : 8);
	for (i = 0; i < 8; i++) {
		if (key != NULL && strcmp(keys[i], key) == 0) {
			if (skip)
				continue;
			wire_put_str(w, keys[i]);
			if (str != NULL)
				wire_put_str(w, str);
			else
				wire_put_uint(w, u);
			continue;
		}
		wire_put_str(w, keys[i]);
		if (i == 0)
			wire_put_str(w, c.id);
		else if (i == 1)
			wire_put_str(w, c.name);
		else
			wire_put_uint(w, vals[i]);
	}
	customer_fini(&c);
}

/* A CUSTOMER_CREATE with the customer written by cmd_test_put_customer. */
static int
cmd_test_customer_create(const char *key, bool skip, uint64_t u,
    const char *str)
{
	struct wire_writer	*w = cmd_test_hdr(CMD_CUSTOMER_CREATE, 2);
	struct api_key		 k;

	wire_put_str(w, "cus");
	cmd_test_put_customer(w, key, skip, u, str);
	wire_put_str(w, "key");
	cmd_test_key_fill(&k);
	model_api_key_encode(w, &k);
	api_key_fini(&k);
	return cmd_test_decode_writer(w);
}

/* A CUSTOMER_UPDATE of ID_B with mask, plus one field (NULL: none) set to
 * u or str. */
static int
cmd_test_update(uint64_t mask, const char *key, uint64_t u, const char *str,
    struct cmd *keep)
{
	struct wire_writer	*w = cmd_test_hdr(CMD_CUSTOMER_UPDATE,
	    key ? 3 : 2);
	struct cmd		 c;
	int			 rc;

	wire_put_str(w, "cid");
	wire_put_str(w, ID_B);
	wire_put_str(w, "mask");
	wire_put_uint(w, mask);
	if (key != NULL) {
		wire_put_str(w, key);
		if (str != NULL)
			wire_put_str(w, str);
		else
			wire_put_uint(w, u);
	}
	rc = cmd_test_decode_keep(w, keep != NULL ? keep : &c);
	if (rc != 0 && !cmd_test_is_zero(keep != NULL ? keep : &c, sizeof c))
		rc = -2;
	if (keep == NULL)
		cmd_fini(&c);
	return rc;
}

static void
cmd_test_bad_tenancy(void)
{
	struct wire_writer	*w;
	struct wire_doc		*d;
	struct cmd		 c;
	void			*buf;
	size_t			 len, i;
	int			 rc;
	static const uint8_t	 hash31[31];

	/* SUBMIT: the optional fields are absent when unset, and strict when
	 * present. */
	cmd_test_build(&c, CMD_SUBMIT);
	free(c.idempotency_key);
	c.idempotency_key = NULL;
	memset(c.body_hash, 0, sizeof c.body_hash);
	c.queue_limit = c.global_limit = 0;
	rc = cmd_encode(&c, &buf, &len);
	cmd_fini(&c);
	is_int(rc, 0, "submit without the optional fields encodes");
	if (rc == 0) {
		ok(wire_doc_decode(&d, buf, len) == 0 &&
		    wire_map_get(wire_doc_root(d), "idk") == NULL &&
		    wire_map_get(wire_doc_root(d), "bh") == NULL &&
		    wire_map_get(wire_doc_root(d), "ql") == NULL &&
		    wire_map_get(wire_doc_root(d), "gl") == NULL &&
		    wire_len(wire_doc_root(d)) == 5,
		    "  and writes none of them");
		wire_doc_free(d);
		rc = cmd_decode(buf, len, &c);
		ok(rc == 0 && c.idempotency_key == NULL && c.queue_limit == 0 &&
		    c.global_limit == 0 && cmd_test_is_zero(c.body_hash,
		    sizeof c.body_hash), "  and decodes them as unset");
		cmd_fini(&c);
		free(buf);
	}
	w = cmd_test_hdr(CMD_SUBMIT, 1);
	wire_put_str(w, "bh");
	wire_put_bin(w, hash31, sizeof hash31);
	is_int(cmd_test_decode_writer(w), ERR_PROTO, "submit: 31-byte body hash");
	w = cmd_test_hdr(CMD_SUBMIT, 1);
	wire_put_str(w, "bh");
	wire_put_str(w, "00112233445566778899aabbccddeeff");
	is_int(cmd_test_decode_writer(w), ERR_PROTO, "submit: body hash as text");
	w = cmd_test_hdr(CMD_SUBMIT, 1);
	wire_put_str(w, "idk");
	wire_put_uint(w, 7);
	is_int(cmd_test_decode_writer(w), ERR_PROTO, "submit: numeric idempotency key");
	w = cmd_test_hdr(CMD_SUBMIT, 1);
	wire_put_str(w, "ql");
	wire_put_uint(w, (uint64_t)UINT32_MAX + 1);
	is_int(cmd_test_decode_writer(w), ERR_PROTO, "submit: queue limit over 32 bits");
	w = cmd_test_hdr(CMD_SUBMIT, 1);
	wire_put_str(w, "gl");
	wire_put_str(w, "100");
	is_int(cmd_test_decode_writer(w), ERR_PROTO, "submit: global limit as text");
	w = cmd_test_hdr(CMD_SUBMIT, 2);
	wire_put_str(w, "idk");
	wire_put_str(w, "k-1");
	wire_put_str(w, "gl");
	wire_put_uint(w, 0);
	rc = cmd_test_decode_keep(w, &c);
	ok(rc == 0 && str_eq(c.idempotency_key, "k-1") && c.n_workloads == 0,
	    "submit: key alone decodes (the FSM refuses an empty submission)");
	cmd_fini(&c);

	/* CUSTOMER_CREATE. */
	is_int(cmd_test_customer_create(NULL, false, 0, NULL), 0,
	    "customer_create: well-formed");
	w = cmd_test_hdr(CMD_CUSTOMER_CREATE, 1);
	wire_put_str(w, "cus");
	cmd_test_put_customer(w, NULL, false, 0, NULL);
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "customer_create without key rejected, customer freed");
	w = cmd_test_hdr(CMD_CUSTOMER_CREATE, 1);
	wire_put_str(w, "key");
	{
		struct api_key	 k;

		cmd_test_key_fill(&k);
		model_api_key_encode(w, &k);
		api_key_fini(&k);
	}
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "customer_create without customer rejected");
	is_int(cmd_test_customer_create("name", true, 0, NULL), ERR_PROTO,
	    "customer without name rejected");
	is_int(cmd_test_customer_create("name", false, 0, ""), ERR_PROTO,
	    "customer with empty name rejected");
	is_int(cmd_test_customer_create("name", false, 5, NULL), ERR_PROTO,
	    "customer with numeric name rejected");
	is_int(cmd_test_customer_create("tier", true, 0, NULL), ERR_PROTO,
	    "customer without tier rejected");
	is_int(cmd_test_customer_create("tier", false, TIER__COUNT, NULL),
	    ERR_PROTO, "customer tier out of range rejected");
	is_int(cmd_test_customer_create("tier", false, 0, "premium"), ERR_PROTO,
	    "customer tier as text rejected");
	is_int(cmd_test_customer_create("id", false, 0, ID_A "0"), ERR_PROTO,
	    "customer with a 37-char id rejected");
	is_int(cmd_test_customer_create("id", true, 0, NULL), ERR_PROTO,
	    "customer without id rejected");
	is_int(cmd_test_customer_create("mqd", false, (uint64_t)UINT32_MAX + 1,
	    NULL), ERR_PROTO, "customer queue depth over 32 bits rejected");
	is_int(cmd_test_customer_create("rps", false, 0, "10"), ERR_PROTO,
	    "customer rate limit as text rejected");
	is_int(cmd_test_customer_create("mc", true, 0, NULL), 0,
	    "customer without max_concurrent: 0");

	/* CUSTOMER_UPDATE. */
	rc = cmd_test_update(CMD_UPDATE_RATE_LIMIT, "rps", 99, NULL, &c);
	ok(rc == 0 && c.update_mask == CMD_UPDATE_RATE_LIMIT &&
	    c.customer.rate_limit_rps == 99 && c.customer.name == NULL &&
	    strcmp(c.customer.id, ID_B) == 0, "customer_update: one field");
	cmd_fini(&c);
	is_int(cmd_test_update(0, NULL, 0, NULL, NULL), ERR_PROTO,
	    "customer_update with mask 0 rejected");
	is_int(cmd_test_update(0x20, NULL, 0, NULL, NULL), ERR_PROTO,
	    "customer_update with an unknown bit rejected");
	is_int(cmd_test_update(CMD_UPDATE_RATE_LIMIT | 0x100, "rps", 1, NULL,
	    NULL), ERR_PROTO, "known and unknown bits rejected");
	is_int(cmd_test_update(CMD_UPDATE_TIER, NULL, 0, NULL, NULL), ERR_PROTO,
	    "masked tier missing rejected");
	is_int(cmd_test_update(CMD_UPDATE_TIER, "tier", TIER__COUNT, NULL, NULL),
	    ERR_PROTO, "masked tier out of range rejected");
	is_int(cmd_test_update(CMD_UPDATE_NAME, "name", 0, "", NULL), ERR_PROTO,
	    "masked empty name rejected");
	is_int(cmd_test_update(CMD_UPDATE_MAX_QUEUE_DEPTH, "mqd", 0, "5", NULL),
	    ERR_PROTO, "masked queue depth as text rejected");
	is_int(cmd_test_update(CMD_UPDATE_MAX_CONCURRENT, "mc",
	    (uint64_t)UINT32_MAX + 1, NULL, NULL), ERR_PROTO,
	    "masked concurrency over 32 bits rejected");
	w = cmd_test_hdr(CMD_CUSTOMER_UPDATE, 2);
	wire_put_str(w, "mask");
	wire_put_uint(w, CMD_UPDATE_RATE_LIMIT);
	wire_put_str(w, "rps");
	wire_put_uint(w, 1);
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "customer_update without customer id rejected");
	w = cmd_test_hdr(CMD_CUSTOMER_UPDATE, 2);
	wire_put_str(w, "cid");
	wire_put_str(w, ID_B);
	wire_put_str(w, "rps");
	wire_put_uint(w, 1);
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "customer_update without mask rejected");
	/* Only masked fields travel: the rest arrive zero. */
	memset(&c, 0, sizeof c);
	c.type = CMD_CUSTOMER_UPDATE;
	memcpy(c.customer.id, ID_B, MODEL_ID_LEN + 1);
	c.customer.name = strdup("new name");
	c.customer.tier = TIER_PREMIUM;
	c.customer.max_queue_depth = 7;
	c.update_mask = CMD_UPDATE_NAME;
	rc = cmd_encode(&c, &buf, &len);
	if (is_int(rc, 0, "partial update encodes")) {
		struct cmd	 e;

		rc = cmd_decode(buf, len, &e);
		ok(rc == 0 && str_eq(e.customer.name, "new name") &&
		    e.customer.tier == TIER_FREE &&
		    e.customer.max_queue_depth == 0, "  only the masked field travels");
		cmd_fini(&e);
		free(buf);
	}
	c.update_mask = 0;
	is_int(cmd_encode(&c, &buf, &len), ERR_INVAL, "encode refuses mask 0");
	c.update_mask = 0x40;
	is_int(cmd_encode(&c, &buf, &len), ERR_INVAL, "encode refuses unknown bits");
	cmd_fini(&c);

	/* KEY_REVOKE. */
	w = cmd_test_hdr(CMD_KEY_REVOKE, 1);
	wire_put_str(w, "kid");
	wire_put_str(w, ID_C);
	rc = cmd_test_decode_keep(w, &c);
	ok(rc == 0 && strcmp(c.key.id, ID_C) == 0 && c.key.customer_id == NULL,
	    "key_revoke by an admin: no customer");
	cmd_fini(&c);
	is_int(cmd_test_decode_raw(CMD_KEY_REVOKE, true, NULL, NULL), ERR_PROTO,
	    "key_revoke without key id rejected");
	is_int(cmd_test_decode_raw(CMD_KEY_REVOKE, true, "kid", "abc"), ERR_PROTO,
	    "key_revoke with a short key id rejected");
	w = cmd_test_hdr(CMD_KEY_REVOKE, 2);
	wire_put_str(w, "kid");
	wire_put_str(w, ID_C);
	wire_put_str(w, "cust");
	wire_put_str(w, "");
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "key_revoke with an empty customer rejected");
	w = cmd_test_hdr(CMD_KEY_REVOKE, 2);
	wire_put_str(w, "kid");
	wire_put_str(w, ID_C);
	wire_put_str(w, "cust");
	wire_put_uint(w, 3);
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "key_revoke with a numeric customer rejected");

	/* PAUSE and RESUME. */
	is_int(cmd_test_decode_raw(CMD_PAUSE, true, "wl", ID_A), 0, "minimal pause");
	is_int(cmd_test_decode_raw(CMD_RESUME, true, "wl", ID_A), 0, "minimal resume");
	is_int(cmd_test_decode_raw(CMD_PAUSE, true, NULL, NULL), ERR_PROTO,
	    "pause without workload rejected");
	is_int(cmd_test_decode_raw(CMD_RESUME, true, NULL, NULL), ERR_PROTO,
	    "resume without workload rejected");
	is_int(cmd_test_decode_raw(CMD_PAUSE, true, "wl", ID_A "0"), ERR_PROTO,
	    "pause with a 37-char id rejected");
	is_int(cmd_test_decode_raw(CMD_RESUME, true, "wl", "x"), ERR_PROTO,
	    "resume with a short id rejected");

	/* CANCEL_BATCH. */
	is_int(cmd_test_decode_raw(CMD_CANCEL_BATCH, true, NULL, NULL), ERR_PROTO,
	    "cancel_batch without ids rejected");
	is_int(cmd_test_decode_raw(CMD_CANCEL_BATCH, true, "ids", ID_A),
	    ERR_PROTO, "cancel_batch with a string for ids rejected");
	w = cmd_test_hdr(CMD_CANCEL_BATCH, 1);
	wire_put_str(w, "ids");
	wire_put_array(w, 0);
	is_int(cmd_test_decode_writer(w), ERR_PROTO, "cancel_batch of 0 ids rejected");
	w = cmd_test_hdr(CMD_CANCEL_BATCH, 1);
	wire_put_str(w, "ids");
	wire_put_array(w, 2);
	wire_put_str(w, ID_A);
	wire_put_str(w, "0f8fad5b-d9cb-469f-a165-70867728950");
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "cancel_batch with a 35-char id rejected, nothing leaked");
	w = cmd_test_hdr(CMD_CANCEL_BATCH, 1);
	wire_put_str(w, "ids");
	wire_put_array(w, 2);
	wire_put_str(w, ID_A);
	wire_put_uint(w, 1);
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "cancel_batch with a numeric id rejected");
	w = cmd_test_hdr(CMD_CANCEL_BATCH, 2);
	wire_put_str(w, "ids");
	wire_put_array(w, 1);
	wire_put_str(w, ID_A);
	wire_put_str(w, "msg");
	wire_put_uint(w, 1);
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "cancel_batch with a numeric message rejected");
	w = cmd_test_hdr(CMD_CANCEL_BATCH, 1);
	wire_put_str(w, "ids");
	wire_put_array(w, 1);
	wire_put_str(w, ID_A);
	rc = cmd_test_decode_keep(w, &c);
	ok(rc == 0 && c.n_ids == 1 && strcmp(c.ids[0], ID_A) == 0 &&
	    c.message == NULL, "cancel_batch of one id, no message");
	cmd_fini(&c);
	w = cmd_test_hdr(CMD_CANCEL_BATCH, 1);
	wire_put_str(w, "ids");
	wire_put_array(w, CMD_MAX_ITEMS + 1);
	for (i = 0; i < CMD_MAX_ITEMS + 1; i++)
		wire_put_str(w, ID_A);
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "decode refuses 10,001 ids");
	memset(&c, 0, sizeof c);
	c.type = CMD_CANCEL_BATCH;
	is_int(cmd_encode(&c, &buf, &len), ERR_INVAL, "encode refuses 0 ids");
	c.n_ids = CMD_MAX_ITEMS + 1;
	c.ids = calloc(c.n_ids, sizeof *c.ids);
	for (i = 0; i < c.n_ids; i++)
		memcpy(c.ids[i], ID_B, MODEL_ID_LEN + 1);
	is_int(cmd_encode(&c, &buf, &len), ERR_TOOBIG, "encode refuses 10,001 ids");
	c.n_ids = CMD_MAX_ITEMS;
	rc = cmd_encode(&c, &buf, &len);
	is_int(rc, 0, "encode accepts 10,000 ids");
	cmd_fini(&c);
	if (rc == 0) {
		rc = cmd_decode(buf, len, &c);
		ok(rc == 0 && c.n_ids == CMD_MAX_ITEMS &&
		    strcmp(c.ids[CMD_MAX_ITEMS - 1], ID_B) == 0,
		    "decode accepts 10,000 ids");
		cmd_fini(&c);
		free(buf);
	}

	/* REPORT_BATCH: a worker, 1.. reports of reportable kinds. */
	w = cmd_test_hdr(CMD_REPORT_BATCH, 1);
	wire_put_str(w, "rep");
	wire_put_array(w, 1);
	wire_put_map(w, 2);
	wire_put_str(w, "k");
	wire_put_uint(w, CMD_START);
	wire_put_str(w, "wl");
	wire_put_str(w, ID_A);
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "report_batch without a worker rejected");
	w = cmd_test_hdr(CMD_REPORT_BATCH, 2);
	wire_put_str(w, "wk");
	wire_put_str(w, "w1");
	wire_put_str(w, "rep");
	wire_put_array(w, 0);
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "report_batch of 0 reports rejected");
	w = cmd_test_hdr(CMD_REPORT_BATCH, 2);
	wire_put_str(w, "wk");
	wire_put_str(w, "w1");
	wire_put_str(w, "rep");
	wire_put_array(w, 1);
	wire_put_map(w, 2);
	wire_put_str(w, "k");
	wire_put_uint(w, CMD_CANCEL);
	wire_put_str(w, "wl");
	wire_put_str(w, ID_A);
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "a cancel inside report_batch rejected");
	w = cmd_test_hdr(CMD_REPORT_BATCH, 2);
	wire_put_str(w, "wk");
	wire_put_str(w, "w1");
	wire_put_str(w, "rep");
	wire_put_array(w, 2);
	wire_put_map(w, 2);
	wire_put_str(w, "k");
	wire_put_uint(w, CMD_START);
	wire_put_str(w, "wl");
	wire_put_str(w, ID_A);
	wire_put_map(w, 3);
	wire_put_str(w, "k");
	wire_put_uint(w, CMD_COMPLETE);
	wire_put_str(w, "wl");
	wire_put_str(w, ID_B);
	wire_put_str(w, "res");
	wire_put_str(w, "{}");
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "a complete without an outcome rejected, nothing leaked");
	w = cmd_test_hdr(CMD_REPORT_BATCH, 2);
	wire_put_str(w, "wk");
	wire_put_str(w, "w1");
	wire_put_str(w, "rep");
	wire_put_array(w, 1);
	wire_put_map(w, 4);
	wire_put_str(w, "k");
	wire_put_uint(w, CMD_PROGRESS);
	wire_put_str(w, "wl");
	wire_put_str(w, ID_A);
	wire_put_str(w, "prog");
	wire_put_double(w, NAN);
	wire_put_str(w, "msg");
	wire_put_str(w, "x");
	is_int(cmd_test_decode_writer(w), ERR_PROTO,
	    "a NaN progress inside report_batch rejected");
	memset(&c, 0, sizeof c);
	c.type = CMD_REPORT_BATCH;
	c.worker_id = strdup("w1");
	is_int(cmd_encode(&c, &buf, &len), ERR_INVAL, "encode refuses 0 reports");
	c.reports = calloc(1, sizeof *c.reports);
	c.n_reports = 1;
	c.reports[0].type = CMD_ASSIGN;
	memcpy(c.reports[0].workload_id, ID_A, MODEL_ID_LEN + 1);
	is_int(cmd_encode(&c, &buf, &len), ERR_INVAL,
	    "encode refuses an assign as a report");
	c.reports[0].type = CMD_START;
	free(c.worker_id);
	c.worker_id = NULL;
	is_int(cmd_encode(&c, &buf, &len), ERR_INVAL,
	    "encode refuses reports without a worker");
	cmd_fini(&c);
}

/* Takes w's bytes into *buf (caller frees) and parses them; NULL on error.
 * Frees w. */
static struct wire_doc *
cmd_test_doc(struct wire_writer *w, void **buf)
{
	struct wire_doc	*d = NULL;
	size_t		 len;

	*buf = NULL;
	if (wire_writer_take(w, buf, &len) != 0 ||
	    wire_doc_decode(&d, *buf, len) != 0)
		d = NULL;
	wire_writer_free(w);
	return d;
}

/* Passed as str to cmd_test_workload_with: write nil. */
static const char cmd_test_nil[] = "(nil)";

/* A workload map with id, type and st, plus one extra key set to a uint, a
 * string (str != NULL) or nil (str == cmd_test_nil), decoded. */
static int
cmd_test_workload_with(const char *id, const char *key, uint64_t u,
    const char *str)
{
	struct wire_writer	*w = wire_writer_new();
	struct wire_doc		*d;
	struct workload		 wl;
	void			*buf;
	int			 rc;

	wire_put_map(w, key ? 4 : 3);
	wire_put_str(w, "id");
	wire_put_str(w, id);
	wire_put_str(w, "type");
	wire_put_str(w, "sleep");
	wire_put_str(w, "st");
	wire_put_uint(w, WL_PENDING);
	if (key) {
		wire_put_str(w, key);
		if (str == cmd_test_nil)
			wire_put_nil(w);
		else if (str)
			wire_put_str(w, str);
		else
			wire_put_uint(w, u);
	}
	if ((d = cmd_test_doc(w, &buf)) == NULL) {
		free(buf);
		return -1;
	}
	rc = model_workload_decode(wire_doc_root(d), &wl);
	if (rc != 0 && !cmd_test_is_zero(&wl, sizeof wl))
		rc = -2;
	workload_fini(&wl);
	wire_doc_free(d);
	free(buf);
	return rc;
}

static void
cmd_test_customer_models(void)
{
	struct wire_writer	*w;
	struct wire_doc		*d;
	struct customer		 ca, cb;
	void			*buf;
	const char		*diff;

	cmd_test_customer_fill(&ca);
	w = wire_writer_new();
	model_customer_encode(w, &ca);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		ok(model_customer_decode(wire_doc_root(d), &cb) == 0,
		    "customer decodes");
		diff = cmd_test_customer_diff(&ca, &cb);
		ok(diff == NULL, "customer round trip%s%s", diff ? ": " : "",
		    diff ? diff : "");
		customer_fini(&cb);
		ok(cmd_test_is_zero(&cb, sizeof cb), "customer_fini zeroes");
		customer_fini(&cb);
		wire_doc_free(d);
	}
	free(buf);
	ca.tier = TIER__COUNT;
	w = wire_writer_new();
	model_customer_encode(w, &ca);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		is_int(model_customer_decode(wire_doc_root(d), &cb), ERR_PROTO,
		    "customer tier out of range rejected");
		ok(cmd_test_is_zero(&cb, sizeof cb), "rejected customer finalised");
		wire_doc_free(d);
	}
	free(buf);
	ca.tier = TIER_FREE;
	free(ca.name);
	ca.name = NULL;
	w = wire_writer_new();
	model_customer_encode(w, &ca);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		is_int(model_customer_decode(wire_doc_root(d), &cb), ERR_PROTO,
		    "customer with nil name rejected");
		wire_doc_free(d);
	}
	free(buf);
	customer_fini(&ca);
	w = wire_writer_new();
	wire_put_array(w, 0);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		is_int(model_customer_decode(wire_doc_root(d), &cb), ERR_PROTO,
		    "customer that is not a map rejected");
		wire_doc_free(d);
	}
	free(buf);
	w = wire_writer_new();
	wire_put_map(w, 4);
	wire_put_str(w, "id");
	wire_put_str(w, ID_A);
	wire_put_str(w, "name");
	wire_put_str(w, "n");
	wire_put_str(w, "tier");
	wire_put_uint(w, TIER_STANDARD);
	wire_put_str(w, "future");
	wire_put_str(w, "field");
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		ok(model_customer_decode(wire_doc_root(d), &cb) == 0 &&
		    cb.tier == TIER_STANDARD && cb.max_queue_depth == 0,
		    "minimal customer, unknown key ignored");
		customer_fini(&cb);
		wire_doc_free(d);
	}
	free(buf);
}

static void
cmd_test_models(void)
{
	struct wire_writer	*w;
	struct wire_doc		*d;
	struct workload		 a, b;
	struct worker_rec	 wa, wb;
	struct api_key		 ka, kb;
	struct affinity		 aa, ab;
	void			*buf;
	const char		*diff;
	static const uint8_t	 hash31[31];

	/* Workload: full round trip. */
	cmd_test_workload_fill(&a, ID_A, 5);
	w = wire_writer_new();
	model_workload_encode(w, &a);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		ok(model_workload_decode(wire_doc_root(d), &b) == 0,
		    "workload decodes");
		diff = cmd_test_workload_diff(&a, &b);
		ok(diff == NULL, "workload round trip%s%s", diff ? ": " : "",
		    diff ? diff : "");
		workload_fini(&b);
		wire_doc_free(d);
	}
	free(buf);

	/* Deep copies. */
	ok(workload_dup(&b, &a) == 0, "workload_dup");
	ok(cmd_test_workload_diff(&a, &b) == NULL, "workload_dup equal");
	ok(b.type != a.type && b.affinity.hard_tags.v != a.affinity.hard_tags.v &&
	    b.affinity.anti_types.v != a.affinity.anti_types.v,
	    "workload_dup is deep");
	workload_fini(&b);
	ok(affinity_dup(&aa, &a.affinity) == 0 &&
	    cmd_test_affinity_diff(&aa, &a.affinity) == NULL, "affinity_dup");
	workload_fini(&a);
	ok(cmd_test_affinity_diff(&aa, &aa) == NULL && aa.hard_worker_id != NULL,
	    "affinity copy outlives its source");

	/* Affinity on its own. */
	w = wire_writer_new();
	model_affinity_encode(w, &aa);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		ok(model_affinity_decode(wire_doc_root(d), &ab) == 0 &&
		    cmd_test_affinity_diff(&aa, &ab) == NULL,
		    "affinity round trip");
		affinity_fini(&ab);
		wire_doc_free(d);
	}
	free(buf);
	affinity_fini(&aa);

	/* Workload decode: minimal, optional absent, and every kind of bad. */
	is_int(cmd_test_workload_with(ID_A, NULL, 0, NULL), 0,
	    "minimal workload (id, type, st) accepted");
	is_int(cmd_test_workload_with(ID_A, "cust", 0, cmd_test_nil), 0,
	    "nil optional field accepted");
	is_int(cmd_test_workload_with(ID_A, "prio", 0, cmd_test_nil), 0,
	    "nil optional number accepted");
	is_int(cmd_test_workload_with(ID_A, "zzz", 1, NULL), 0,
	    "unknown key ignored");
	is_int(cmd_test_workload_with("0f8fad5b-d9cb-469f-a165-70867728950",
	    NULL, 0, NULL), ERR_PROTO, "35-char id rejected");
	is_int(cmd_test_workload_with(ID_A "f", NULL, 0, NULL), ERR_PROTO,
	    "37-char id rejected");
	is_int(cmd_test_workload_with(ID_A, "tier", TIER__COUNT, NULL), ERR_PROTO,
	    "tier out of range rejected");
	is_int(cmd_test_workload_with(ID_A, "tier", TIER_ENTERPRISE, NULL), 0,
	    "tier enterprise accepted");
	is_int(cmd_test_workload_with(ID_A, "prio", MODEL_PRIORITY_MAX + 1, NULL),
	    ERR_PROTO, "priority above the maximum rejected");
	is_int(cmd_test_workload_with(ID_A, "prio", 0, "high"), ERR_PROTO,
	    "string priority rejected");
	is_int(cmd_test_workload_with(ID_A, "cust", 5, NULL), ERR_PROTO,
	    "numeric customer rejected");
	is_int(cmd_test_workload_with(ID_A, "aff", 5, NULL), ERR_PROTO,
	    "numeric affinity rejected");
	is_int(cmd_test_workload_with(ID_A, "cxl", 1, NULL), ERR_PROTO,
	    "numeric bool rejected");
	is_int(cmd_test_workload_with(ID_A, "att", (uint64_t)UINT32_MAX + 1, NULL),
	    ERR_PROTO, "attempt above 32 bits rejected");

	/* Missing required keys and a bad status, with the rest populated:
	 * the partial record must be finalised. */
	cmd_test_workload_fill(&a, ID_B, 1);
	a.status = WL__COUNT;
	w = wire_writer_new();
	model_workload_encode(w, &a);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		is_int(model_workload_decode(wire_doc_root(d), &b), ERR_PROTO,
		    "status out of range rejected");
		ok(cmd_test_is_zero(&b, sizeof b), "rejected workload finalised");
		wire_doc_free(d);
	}
	free(buf);
	a.status = WL_PAUSED;
	free(a.type);
	a.type = NULL;
	w = wire_writer_new();
	model_workload_encode(w, &a);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		is_int(model_workload_decode(wire_doc_root(d), &b), ERR_PROTO,
		    "missing type rejected");
		wire_doc_free(d);
	}
	free(buf);
	workload_fini(&a);

	/* Worker record. */
	cmd_test_worker_fill(&wa);
	w = wire_writer_new();
	model_worker_encode(w, &wa);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		ok(model_worker_decode(wire_doc_root(d), &wb) == 0 &&
		    cmd_test_worker_diff(&wa, &wb) == NULL, "worker round trip");
		worker_rec_fini(&wb);
		wire_doc_free(d);
	}
	free(buf);
	ok(worker_rec_dup(&wb, &wa) == 0 && cmd_test_worker_diff(&wa, &wb) == NULL &&
	    wb.id != wa.id && wb.capabilities.v != wa.capabilities.v,
	    "worker_rec_dup deep and equal");
	worker_rec_fini(&wb);
	wa.status = WORKER__COUNT;
	w = wire_writer_new();
	model_worker_encode(w, &wa);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		is_int(model_worker_decode(wire_doc_root(d), &wb), ERR_PROTO,
		    "worker status out of range rejected");
		ok(cmd_test_is_zero(&wb, sizeof wb), "rejected worker finalised");
		wire_doc_free(d);
	}
	free(buf);
	wa.status = WORKER_ALIVE;
	free(wa.id);
	wa.id = NULL;
	w = wire_writer_new();
	model_worker_encode(w, &wa);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		is_int(model_worker_decode(wire_doc_root(d), &wb), ERR_PROTO,
		    "worker without id rejected");
		wire_doc_free(d);
	}
	free(buf);
	worker_rec_fini(&wa);

	/* API key. */
	cmd_test_key_fill(&ka);
	w = wire_writer_new();
	model_api_key_encode(w, &ka);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		ok(model_api_key_decode(wire_doc_root(d), &kb) == 0 &&
		    cmd_test_key_diff(&ka, &kb) == NULL, "api key round trip");
		api_key_fini(&kb);
		wire_doc_free(d);
	}
	free(buf);
	ka.role = (enum key_role)2;
	w = wire_writer_new();
	model_api_key_encode(w, &ka);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		is_int(model_api_key_decode(wire_doc_root(d), &kb), ERR_PROTO,
		    "key role out of range rejected");
		ok(cmd_test_is_zero(&kb, sizeof kb), "rejected key finalised");
		wire_doc_free(d);
	}
	free(buf);
	w = wire_writer_new();
	wire_put_map(w, 3);
	wire_put_str(w, "id");
	wire_put_str(w, ID_C);
	wire_put_str(w, "cust");
	wire_put_str(w, "acme");
	wire_put_str(w, "hash");
	wire_put_bin(w, hash31, sizeof hash31);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		is_int(model_api_key_decode(wire_doc_root(d), &kb), ERR_PROTO,
		    "31-byte key hash rejected");
		wire_doc_free(d);
	}
	free(buf);
	w = wire_writer_new();
	wire_put_map(w, 1);
	wire_put_str(w, "id");
	wire_put_str(w, ID_C);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		is_int(model_api_key_decode(wire_doc_root(d), &kb), ERR_PROTO,
		    "key without hash rejected");
		wire_doc_free(d);
	}
	free(buf);
	api_key_fini(&ka);

	cmd_test_customer_models();
}

/* ---- one-pass record decoding: key order, repeats, nil, unknown keys ---- */

#define CMD_TEST_N(a)	(sizeof (a) / sizeof (a)[0])

/* One entry of a hand-made record map. */
struct cmd_test_kv {
	const char	*key;
	char		 kind;		/* 'u' uint, 'i' int, 'd' double, 'b' bool,
					 * 's' string, 'n' nil, 'a' empty array,
					 * 'm' empty map, 'k' the key is the uint 7 */
	uint64_t	 u;
	int64_t		 i;
	double		 d;
	const char	*s;
};

static void
cmd_test_put_kv(struct wire_writer *w, const struct cmd_test_kv *kv, size_t n)
{
	size_t	 i;

	wire_put_map(w, (uint32_t)n);
	for (i = 0; i < n; i++) {
		if (kv[i].kind == 'k')
			wire_put_uint(w, 7);
		else
			wire_put_str(w, kv[i].key);
		switch (kv[i].kind) {
		case 'u':
		case 'k':
			wire_put_uint(w, kv[i].u);
			break;
		case 'i':
			wire_put_int(w, kv[i].i);
			break;
		case 'd':
			wire_put_double(w, kv[i].d);
			break;
		case 'b':
			wire_put_bool(w, kv[i].u != 0);
			break;
		case 's':
			wire_put_str(w, kv[i].s);
			break;
		case 'a':
			wire_put_array(w, 0);
			break;
		case 'm':
			wire_put_map(w, 0);
			break;
		default:
			wire_put_nil(w);
			break;
		}
	}
}

/* A record decoder, as model.h has one per record kind. */
typedef int (*cmd_test_decode_cb)(const struct wire_val *, void *);

/* Decodes the map kv[0..n) with decode into *out (size bytes), which the
 * caller checks and finalises.  A refused record must come back zeroed:
 * -2 if not. */
static int
cmd_test_record_kv(const struct cmd_test_kv *kv, size_t n, void *out,
    size_t size, cmd_test_decode_cb decode)
{
	struct wire_writer	*w = wire_writer_new();
	struct wire_doc		*d;
	void			*buf;
	int			 rc = -1;

	memset(out, 0, size);
	cmd_test_put_kv(w, kv, n);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		rc = decode(wire_doc_root(d), out);
		if (rc != 0 && !cmd_test_is_zero(out, size))
			rc = -2;
		wire_doc_free(d);
	}
	free(buf);
	return rc;
}

static int
cmd_test_decode_workload(const struct wire_val *v, void *out)
{
	return model_workload_decode(v, out);
}

static int
cmd_test_decode_worker(const struct wire_val *v, void *out)
{
	return model_worker_decode(v, out);
}

/* As a workload record. */
static int
cmd_test_wl_kv(const struct cmd_test_kv *kv, size_t n, struct workload *out)
{
	return cmd_test_record_kv(kv, n, out, sizeof *out, cmd_test_decode_workload);
}

/* The same for a worker record. */
static int
cmd_test_worker_kv(const struct cmd_test_kv *kv, size_t n,
    struct worker_rec *out)
{
	return cmd_test_record_kv(kv, n, out, sizeof *out, cmd_test_decode_worker);
}

/* Writes a copy of v; with reverse, every map's entries in reverse order. */
static void
cmd_test_put_val(struct wire_writer *w, const struct wire_val *v, bool reverse)
{
	const char	*p;
	size_t		 len;
	uint64_t	 u;
	int64_t		 i;
	double		 d;
	bool		 b;
	uint32_t	 k, j, n = wire_len(v);

	switch (wire_val_type(v)) {
	case WIRE_BOOL:
		wire_get_bool(v, &b);
		wire_put_bool(w, b);
		break;
	case WIRE_UINT:
		wire_get_uint(v, &u);
		wire_put_uint(w, u);
		break;
	case WIRE_INT:
		wire_get_int(v, &i);
		wire_put_int(w, i);
		break;
	case WIRE_DOUBLE:
		wire_get_double(v, &d);
		wire_put_double(w, d);
		break;
	case WIRE_STR:
		wire_get_str(v, &p, &len);
		wire_put_strn(w, p, len);
		break;
	case WIRE_ARRAY:
		wire_put_array(w, n);
		for (k = 0; k < n; k++)
			cmd_test_put_val(w, wire_array_at(v, k), reverse);
		break;
	case WIRE_MAP:
		wire_put_map(w, n);
		for (k = 0; k < n; k++) {
			j = reverse ? n - 1 - k : k;
			cmd_test_put_val(w, wire_map_key_at(v, j), reverse);
			cmd_test_put_val(w, wire_map_value_at(v, j), reverse);
		}
		break;
	default:
		wire_put_nil(w);
		break;
	}
}

/* The first field of w left at its zero value, or NULL: a round trip can
 * only show that a field is decoded if the record sets it. */
static const char *
cmd_test_workload_unset(const struct workload *w)
{
#define CMD_TEST_SET(e)	do { if (!(e)) return #e; } while (0)
	CMD_TEST_SET(w->id[0]);
	CMD_TEST_SET(w->customer_id);
	CMD_TEST_SET(w->type);
	CMD_TEST_SET(w->params_json);
	CMD_TEST_SET(w->priority);
	CMD_TEST_SET(w->tier);
	CMD_TEST_SET(w->status);
	CMD_TEST_SET(w->affinity.hard_worker_id);
	CMD_TEST_SET(w->affinity.hard_tags.n);
	CMD_TEST_SET(w->affinity.hard_types.n);
	CMD_TEST_SET(w->affinity.soft_worker_id);
	CMD_TEST_SET(w->affinity.soft_tags.n);
	CMD_TEST_SET(w->affinity.anti_types.n);
	CMD_TEST_SET(w->max_retries);
	CMD_TEST_SET(w->timeout_seconds);
	CMD_TEST_SET(w->ckpt_policy.interval_seconds);
	CMD_TEST_SET(w->ckpt_policy.on_progress_percent);
	CMD_TEST_SET(w->requests.cpu_millis);
	CMD_TEST_SET(w->requests.memory_mb);
	CMD_TEST_SET(w->requests.gpus);
	CMD_TEST_SET(w->seq);
	CMD_TEST_SET(w->created_ms);
	CMD_TEST_SET(w->updated_ms);
	CMD_TEST_SET(w->scheduled_ms);
	CMD_TEST_SET(w->started_ms);
	CMD_TEST_SET(w->finished_ms);
	CMD_TEST_SET(w->worker_id);
	CMD_TEST_SET(w->attempt);
	CMD_TEST_SET(w->progress);
	CMD_TEST_SET(w->progress_message);
	CMD_TEST_SET(w->result_json);
	CMD_TEST_SET(w->error);
	CMD_TEST_SET(w->checkpoint_seq);
	CMD_TEST_SET(w->failures);
	CMD_TEST_SET(w->not_before_ms);
	CMD_TEST_SET(w->cancel_requested);
	CMD_TEST_SET(w->preempting);
	CMD_TEST_SET(w->preemptions);
	CMD_TEST_SET(w->request_id);
	CMD_TEST_SET(w->queue_key);
	return NULL;
}

static const char *
cmd_test_worker_unset(const struct worker_rec *w)
{
	CMD_TEST_SET(w->id);
	CMD_TEST_SET(w->tags.n);
	CMD_TEST_SET(w->capabilities.n);
	CMD_TEST_SET(w->capacity);
	CMD_TEST_SET(w->used);
	CMD_TEST_SET(w->offered.cpu_millis);
	CMD_TEST_SET(w->offered.memory_mb);
	CMD_TEST_SET(w->offered.gpus);
	CMD_TEST_SET(w->version);
	CMD_TEST_SET(w->status);
	CMD_TEST_SET(w->registered_ms);
	CMD_TEST_SET(w->last_heartbeat_ms);
	CMD_TEST_SET(w->generation);
	return NULL;
#undef CMD_TEST_SET
}

/* Encodes a, decodes it as written and with every map reversed; both must
 * equal a. */
static void
cmd_test_onepass_roundtrip(void)
{
	struct wire_writer	*w;
	struct wire_doc		*d, *dr;
	struct workload		 a, b;
	struct worker_rec	 wa, wb;
	void			*buf, *rbuf;
	const char		*diff;

	cmd_test_workload_fill(&a, ID_C, 9);
	diff = cmd_test_workload_unset(&a);
	ok(diff == NULL, "workload fixture sets every field%s%s",
	    diff ? ": not " : "", diff ? diff : "");
	w = wire_writer_new();
	model_workload_encode(w, &a);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		is_int(model_workload_decode(wire_doc_root(d), &b), 0,
		    "full workload decodes");
		diff = cmd_test_workload_diff(&a, &b);
		ok(diff == NULL, "full workload round trip%s%s",
		    diff ? ": " : "", diff ? diff : "");
		workload_fini(&b);
		w = wire_writer_new();
		cmd_test_put_val(w, wire_doc_root(d), true);
		if ((dr = cmd_test_doc(w, &rbuf)) != NULL) {
			is_int(model_workload_decode(wire_doc_root(dr), &b), 0,
			    "workload with keys reversed decodes");
			diff = cmd_test_workload_diff(&a, &b);
			ok(diff == NULL, "workload with keys reversed equal%s%s",
			    diff ? ": " : "", diff ? diff : "");
			workload_fini(&b);
			wire_doc_free(dr);
		}
		free(rbuf);
		wire_doc_free(d);
	}
	free(buf);
	workload_fini(&a);

	cmd_test_worker_fill(&wa);
	diff = cmd_test_worker_unset(&wa);
	ok(diff == NULL, "worker fixture sets every field%s%s",
	    diff ? ": not " : "", diff ? diff : "");
	w = wire_writer_new();
	model_worker_encode(w, &wa);
	if ((d = cmd_test_doc(w, &buf)) != NULL) {
		w = wire_writer_new();
		cmd_test_put_val(w, wire_doc_root(d), true);
		if ((dr = cmd_test_doc(w, &rbuf)) != NULL) {
			ok(model_worker_decode(wire_doc_root(dr), &wb) == 0 &&
			    cmd_test_worker_diff(&wa, &wb) == NULL,
			    "worker with keys reversed round trip");
			worker_rec_fini(&wb);
			wire_doc_free(dr);
		}
		free(rbuf);
		wire_doc_free(d);
	}
	free(buf);
	worker_rec_fini(&wa);
}

#define CMD_TEST_ID	{ .key = "id", .kind = 's', .s = ID_A }
#define CMD_TEST_TYPE	{ .key = "type", .kind = 's', .s = "sleep" }
#define CMD_TEST_ST	{ .key = "st", .kind = 'u', .u = WL_RUNNING }

/* A workload of id, type and st with entry e added, or in place of the one
 * of them it names: the decode's result. */
static int
cmd_test_wl_plus(struct cmd_test_kv e)
{
	struct cmd_test_kv	 kv[] = { CMD_TEST_ID, CMD_TEST_TYPE, CMD_TEST_ST, e };
	struct workload		 wl;
	size_t			 i, n = CMD_TEST_N(kv);
	int			 rc;

	for (i = 0; i < 3; i++)
		if (e.key != NULL && strcmp(kv[i].key, e.key) == 0) {
			kv[i] = e;
			n = 3;
		}
	rc = cmd_test_wl_kv(kv, n, &wl);
	workload_fini(&wl);
	return rc;
}

static void
cmd_test_onepass_models(void)
{
	static const char *const optional[] = {
		"cust", "params", "prio", "tier", "aff", "maxr", "tmo", "cpi",
		"cpp", "seq", "ct", "ut", "sct", "stt", "ft", "wk", "att", "prog",
		"pmsg", "res", "err", "cps", "fails", "nb", "cxl", "rid", "qk",
		"rqc", "rqm", "rqg", "pre", "pren",
	};
	static const char *const worker_optional[] = {
		"tags", "caps", "cap", "used", "ver", "st", "reg", "hb", "ocpu",
		"omem", "ogpu", "gen",
	};
	struct cmd_test_kv	 kv[3 + CMD_TEST_N(optional)];
	struct workload		 wl, zero;
	struct worker_rec	 wr;
	size_t			 i;

	cmd_test_onepass_roundtrip();

	/* A key twice: refused even where both values agree or one is nil,
	 * in the workload, in its affinity, and in a worker. */
	{
		struct cmd_test_kv	 dup[] = { CMD_TEST_ID, CMD_TEST_TYPE,
		    CMD_TEST_ST, { .key = "cust", .kind = 's', .s = "a" },
		    { .key = "cust", .kind = 's', .s = "b" } };
		is_int(cmd_test_wl_kv(dup, CMD_TEST_N(dup), &wl), ERR_PROTO,
		    "duplicated optional key refused, record zeroed");
		workload_fini(&wl);
		dup[4] = (struct cmd_test_kv){ .key = "cust", .kind = 'n' };
		is_int(cmd_test_wl_kv(dup, CMD_TEST_N(dup), &wl), ERR_PROTO,
		    "duplicated key with a nil value refused");
		workload_fini(&wl);
		dup[4] = (struct cmd_test_kv)CMD_TEST_ID;
		is_int(cmd_test_wl_kv(dup, CMD_TEST_N(dup), &wl), ERR_PROTO,
		    "duplicated id with the same value refused");
		workload_fini(&wl);
		dup[3] = (struct cmd_test_kv){ .key = "zz", .kind = 'u', .u = 1 };
		dup[4] = (struct cmd_test_kv){ .key = "zz", .kind = 'u', .u = 2 };
		is_int(cmd_test_wl_kv(dup, CMD_TEST_N(dup), &wl), 0,
		    "duplicated unknown key ignored");
		workload_fini(&wl);
	}
	{
		struct wire_writer	*w = wire_writer_new();
		struct wire_doc		*d;
		void			*buf;

		wire_put_map(w, 4);
		wire_put_str(w, "id");
		wire_put_str(w, ID_A);
		wire_put_str(w, "type");
		wire_put_str(w, "sleep");
		wire_put_str(w, "st");
		wire_put_uint(w, WL_PENDING);
		wire_put_str(w, "aff");
		wire_put_map(w, 2);
		wire_put_str(w, "hw");
		wire_put_str(w, "w1");
		wire_put_str(w, "hw");
		wire_put_str(w, "w2");
		if ((d = cmd_test_doc(w, &buf)) != NULL) {
			is_int(model_workload_decode(wire_doc_root(d), &wl),
			    ERR_PROTO, "duplicated affinity key refused");
			ok(cmd_test_is_zero(&wl, sizeof wl),
			    "workload with a bad affinity zeroed");
			workload_fini(&wl);
			wire_doc_free(d);
		}
		free(buf);
	}
	{
		struct cmd_test_kv	 wdup[] = {
		    { .key = "id", .kind = 's', .s = "worker-1" },
		    { .key = "cap", .kind = 'u', .u = 4 },
		    { .key = "cap", .kind = 'u', .u = 8 } };
		is_int(cmd_test_worker_kv(wdup, CMD_TEST_N(wdup), &wr), ERR_PROTO,
		    "duplicated worker key refused, record zeroed");
		worker_rec_fini(&wr);
	}

	/* Unknown keys, whatever their value, and keys that are not strings,
	 * are skipped; a near miss of a known key is unknown too. */
	is_int(cmd_test_wl_plus((struct cmd_test_kv){ .key = "future",
	    .kind = 'm' }), 0, "unknown key with a map value ignored");
	is_int(cmd_test_wl_plus((struct cmd_test_kv){ .key = "ids",
	    .kind = 'a' }), 0, "unknown key 'ids' ignored");
	is_int(cmd_test_wl_plus((struct cmd_test_kv){ .kind = 'k', .u = 3 }), 0,
	    "non-string key ignored");
	{
		struct cmd_test_kv	 near[] = { CMD_TEST_ID, CMD_TEST_ST,
		    { .key = "typ", .kind = 's', .s = "sleep" },
		    { .key = "types", .kind = 's', .s = "sleep" } };
		is_int(cmd_test_wl_kv(near, CMD_TEST_N(near), &wl), ERR_PROTO,
		    "'typ' and 'types' do not stand in for 'type'");
		workload_fini(&wl);
	}

	/* Every optional key nil: as if absent.  The queue key, nil too and
	 * written before the fields it depends on, is computed from them. */
	kv[0] = (struct cmd_test_kv)CMD_TEST_ID;
	kv[1] = (struct cmd_test_kv)CMD_TEST_TYPE;
	kv[2] = (struct cmd_test_kv)CMD_TEST_ST;
	for (i = 0; i < CMD_TEST_N(optional); i++)
		kv[3 + i] = (struct cmd_test_kv){ .key = optional[i], .kind = 'n' };
	is_int(cmd_test_wl_kv(kv, CMD_TEST_N(kv), &wl), 0,
	    "every optional key nil accepted");
	memset(&zero, 0, sizeof zero);
	memcpy(zero.id, ID_A, sizeof zero.id);
	zero.type = wl.type;
	zero.status = WL_RUNNING;
	ok(cmd_test_workload_diff(&wl, &zero) == NULL && wl.queue_key == 0,
	    "nil optional keys decode as zero values");
	workload_fini(&wl);
	{
		struct cmd_test_kv	 q[] = { CMD_TEST_ID, CMD_TEST_TYPE,
		    { .key = "qk", .kind = 'n' },
		    { .key = "prio", .kind = 'u', .u = 7 },
		    { .key = "tier", .kind = 'u', .u = TIER_PREMIUM },
		    { .key = "ct", .kind = 'u', .u = 1700000000000ULL },
		    CMD_TEST_ST };
		is_int(cmd_test_wl_kv(q, CMD_TEST_N(q), &wl), 0,
		    "nil queue key accepted");
		ok(wl.queue_key != 0 &&
		    wl.queue_key == workload_queue_key(&wl, NULL),
		    "nil queue key computed from the fields after it");
		workload_fini(&wl);
		q[2] = (struct cmd_test_kv){ .key = "qk", .kind = 'i', .i = -5 };
		ok(cmd_test_wl_kv(q, CMD_TEST_N(q), &wl) == 0 &&
		    wl.queue_key == -5, "present queue key kept");
		workload_fini(&wl);
	}
	for (i = 0; i < CMD_TEST_N(worker_optional); i++)
		kv[1 + i] = (struct cmd_test_kv){ .key = worker_optional[i],
		    .kind = 'n' };
	kv[0] = (struct cmd_test_kv){ .key = "id", .kind = 's', .s = "w-1" };
	ok(cmd_test_worker_kv(kv, 1 + CMD_TEST_N(worker_optional), &wr) == 0 &&
	    str_eq(wr.id, "w-1") && wr.status == WORKER_ALIVE &&
	    wr.tags.n == 0 && wr.version == NULL && wr.generation == 0,
	    "worker with every optional key nil accepted as zero values");
	worker_rec_fini(&wr);

	/* Required keys: absent, nil, or (type) empty. */
	{
		struct cmd_test_kv	 r[] = { CMD_TEST_ID, CMD_TEST_TYPE,
		    CMD_TEST_ST };
		static const char *const what[] = { "id", "type", "st" };
		struct cmd_test_kv	 keep;

		for (i = 0; i < CMD_TEST_N(r); i++) {
			keep = r[i];
			r[i] = (struct cmd_test_kv){ .key = "other", .kind = 'u' };
			ok(cmd_test_wl_kv(r, CMD_TEST_N(r), &wl) == ERR_PROTO,
			    "required %s absent refused", what[i]);
			workload_fini(&wl);
			r[i] = (struct cmd_test_kv){ .key = what[i], .kind = 'n' };
			ok(cmd_test_wl_kv(r, CMD_TEST_N(r), &wl) == ERR_PROTO,
			    "required %s nil refused", what[i]);
			workload_fini(&wl);
			r[i] = keep;
		}
		r[1].s = "";
		is_int(cmd_test_wl_kv(r, CMD_TEST_N(r), &wl), ERR_PROTO,
		    "empty type refused");
		workload_fini(&wl);
		r[0] = (struct cmd_test_kv){ .key = "cap", .kind = 'u', .u = 1 };
		is_int(cmd_test_worker_kv(r, 1, &wr), ERR_PROTO,
		    "worker without id refused");
		worker_rec_fini(&wr);
		r[0] = (struct cmd_test_kv){ .key = "id", .kind = 's', .s = "" };
		is_int(cmd_test_worker_kv(r, 1, &wr), ERR_PROTO,
		    "worker with empty id refused");
		worker_rec_fini(&wr);
	}

	/* A present key of the wrong type, or out of range. */
	{
		static const struct {
			struct cmd_test_kv	 e;
			const char		*name;
		} bad[] = {
			{ { .key = "id", .kind = 'u', .u = 1 }, "numeric id" },
			{ { .key = "type", .kind = 'a' }, "array type" },
			{ { .key = "st", .kind = 's', .s = "RUNNING" },
			    "string status" },
			{ { .key = "st", .kind = 'u', .u = WL__COUNT },
			    "status out of range" },
			{ { .key = "tier", .kind = 'i', .i = -1 },
			    "negative tier" },
			{ { .key = "seq", .kind = 's', .s = "1" }, "string seq" },
			{ { .key = "ct", .kind = 'd', .d = 1.5 }, "double ct" },
			{ { .key = "tmo", .kind = 'i', .i = -1 },
			    "negative timeout" },
			{ { .key = "prog", .kind = 's', .s = "50" },
			    "string progress" },
			{ { .key = "prog", .kind = 'd', .d = NAN },
			    "NaN progress" },
			{ { .key = "prog", .kind = 'd', .d = INFINITY },
			    "infinite progress" },
			{ { .key = "pre", .kind = 'u', .u = 1 }, "numeric bool" },
			{ { .key = "qk", .kind = 's', .s = "5" },
			    "string queue key" },
			{ { .key = "qk", .kind = 'u', .u = (uint64_t)INT64_MAX + 1 },
			    "queue key beyond int64" },
			{ { .key = "aff", .kind = 'a' }, "array affinity" },
			{ { .key = "wk", .kind = 'm' }, "map worker id" },
		};

		for (i = 0; i < CMD_TEST_N(bad); i++)
			is_int(cmd_test_wl_plus(bad[i].e), ERR_PROTO, bad[i].name);
	}
	{
		struct cmd_test_kv	 wbad[] = {
		    { .key = "id", .kind = 's', .s = "worker-1" },
		    { .key = "tags", .kind = 'a' } };
		is_int(cmd_test_worker_kv(wbad, 2, &wr), ERR_PROTO,
		    "worker tags as an array refused");
		worker_rec_fini(&wr);
		wbad[1] = (struct cmd_test_kv){ .key = "caps", .kind = 'm' };
		is_int(cmd_test_worker_kv(wbad, 2, &wr), ERR_PROTO,
		    "worker capabilities as a map refused");
		worker_rec_fini(&wr);
		wbad[1] = (struct cmd_test_kv){ .key = "st", .kind = 'u',
		    .u = WORKER__COUNT };
		is_int(cmd_test_worker_kv(wbad, 2, &wr), ERR_PROTO,
		    "worker status out of range refused");
		worker_rec_fini(&wr);
	}
}

/* The millisecond timestamp of a version 7 id (its first 12 hex digits). */
static uint64_t
cmd_test_id_ms(const char *id)
{
	char	 hex[13];

	memcpy(hex, id, 8);
	memcpy(hex + 8, id + 9, 4);
	hex[12] = '\0';
	return strtoull(hex, NULL, 16);
}

static int
cmd_test_strcmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
cmd_test_names(void)
{
	enum wl_status		 s;
	enum tier		 t;
	struct workload		 w;
	char			(*ids)[MODEL_ID_LEN + 1];
	uint64_t		 t0;
	char			 name[MODEL_NAME_MAX + 2];
	int			 i, bad = 0, dups = 0;
	static const char *const statuses[] = { "PENDING", "SCHEDULED",
	    "RUNNING", "PAUSING", "PAUSED", "COMPLETED", "FAILED", "CANCELLED" };
	static const char *const tiers[] = { "free", "standard", "premium",
	    "enterprise" };
	static const char *const cmds[] = { NULL, "submit", "assign", "start",
	    "progress", "checkpoint", "complete", "cancel", "worker_register",
	    "worker_heartbeat_batch", "worker_dead", "key_create", "secret_set",
	    "customer_create", "customer_update", "key_revoke", "pause", "resume",
	    "cancel_batch", "worker_drain", "preempt", "report_batch", "node_set",
	    "node_remove" };

	for (i = 0; i < WL__COUNT; i++) {
		is_str(wl_status_name((enum wl_status)i), statuses[i], "status name");
		ok(wl_status_parse(statuses[i], &s) == 0 && (int)s == i,
		    "parse %s", statuses[i]);
	}
	is_int(wl_status_parse("pending", &s), ERR_INVAL, "status parse is exact");
	is_int(wl_status_parse("", &s), ERR_INVAL, "empty status rejected");
	is_int(wl_status_parse("PENDINGX", &s), ERR_INVAL, "status with suffix rejected");
	ok(wl_status_name(WL__COUNT) != NULL, "status name never NULL");
	ok(wl_status_is_terminal(WL_COMPLETED) && wl_status_is_terminal(WL_FAILED) &&
	    wl_status_is_terminal(WL_CANCELLED) && !wl_status_is_terminal(WL_PAUSED) &&
	    !wl_status_is_terminal(WL_PENDING), "terminal statuses");
	ok(wl_status_holds_slot(WL_SCHEDULED) && wl_status_holds_slot(WL_RUNNING) &&
	    wl_status_holds_slot(WL_PAUSING) && !wl_status_holds_slot(WL_PAUSED) &&
	    !wl_status_holds_slot(WL_PENDING), "slot-holding statuses");

	for (i = 0; i < TIER__COUNT; i++) {
		is_str(tier_name((enum tier)i), tiers[i], "tier name");
		ok(tier_parse(tiers[i], &t) == 0 && (int)t == i, "parse %s", tiers[i]);
	}
	is_int(tier_parse("Free", &t), ERR_INVAL, "tier parse is exact");
	is_int(tier_parse("gold", &t), ERR_INVAL, "unknown tier rejected");
	ok(tier_name(TIER__COUNT) != NULL, "tier name never NULL");
	is_str(worker_status_name(WORKER_ALIVE), "ALIVE", "worker ALIVE");
	is_str(worker_status_name(WORKER_DEAD), "DEAD", "worker DEAD");
	is_str(worker_status_name(WORKER_DRAINING), "DRAINING", "worker DRAINING");
	for (i = CMD_SUBMIT; i < CMD__END; i++)
		is_str(cmd_type_name((enum cmd_type)i), cmds[i], "cmd type name");
	ok(cmd_type_name((enum cmd_type)0) != NULL &&
	    cmd_type_name(CMD__END) != NULL, "cmd type name never NULL");

	/* Effective priority. */
	memset(&w, 0, sizeof w);
	w.priority = 7;
	w.tier = TIER_FREE;
	is_int(workload_base_priority(&w, NULL), 7, "free × 1");
	w.tier = TIER_STANDARD;
	is_int(workload_base_priority(&w, NULL), 70, "standard × 10");
	w.tier = TIER_PREMIUM;
	is_int(workload_base_priority(&w, NULL), 350, "premium × 50");
	w.tier = TIER_ENTERPRISE;
	is_int(workload_base_priority(&w, NULL), 700, "enterprise × 100");
	w.priority = MODEL_PRIORITY_MAX;
	is_int(workload_base_priority(&w, NULL), 100000, "max priority enterprise");
	w.priority = 0;
	is_int(workload_base_priority(&w, NULL), 0, "priority 0");

	/* Ids. */
	ids = calloc(2000, sizeof *ids);
	t0 = clock_wall_ms();
	for (i = 0; i < 2000; i++) {
		model_id_generate(ids[i]);
		if (!model_id_valid(ids[i]) || strlen(ids[i]) != MODEL_ID_LEN ||
		    ids[i][14] != '7' || strchr("89ab", ids[i][19]) == NULL ||
		    strspn(ids[i], "0123456789abcdef-") != MODEL_ID_LEN)
			bad++;
	}
	is_int(bad, 0, "2000 generated ids: valid v7, lower-case");
	/* The first 48 bits are the time they were made, in milliseconds. */
	ok(cmd_test_id_ms(ids[0]) >= t0 && cmd_test_id_ms(ids[1999]) <= clock_wall_ms() &&
	    cmd_test_id_ms(ids[0]) <= cmd_test_id_ms(ids[1999]),
	    "ids carry their creation time, so later ids sort later");
	qsort(ids, 2000, sizeof *ids, cmd_test_strcmp);
	for (i = 1; i < 2000; i++)
		if (strcmp(ids[i - 1], ids[i]) == 0)
			dups++;
	is_int(dups, 0, "generated ids are distinct");
	free(ids);
	ok(model_id_valid(ID_A), "valid id");
	ok(model_id_valid("0F8FAD5B-D9CB-469F-A165-70867728950E"),
	    "upper-case hex accepted");
	ok(!model_id_valid(NULL), "NULL id invalid");
	ok(!model_id_valid(""), "empty id invalid");
	ok(!model_id_valid("0f8fad5b-d9cb-469f-a165-70867728950"), "35 chars invalid");
	ok(!model_id_valid(ID_A "0"), "37 chars invalid");
	ok(!model_id_valid("0f8fad5bd-9cb-469f-a165-70867728950e"), "misplaced dash");
	ok(!model_id_valid("0f8fad5b-d9cb-469f-a165-70867728950g"), "non-hex char");
	ok(!model_id_valid("0f8fad5b-d9cb-469f-a165+70867728950e"), "plus for dash");

	/* Names. */
	ok(!model_name_valid(NULL), "NULL name invalid");
	ok(!model_name_valid(""), "empty name invalid");
	ok(model_name_valid("a"), "one char name");
	ok(model_name_valid("worker-1.eu_west:rack/7"), "all allowed punctuation");
	ok(!model_name_valid("a=b"), "'=' not allowed");
	ok(!model_name_valid("a b"), "space not allowed");
	ok(!model_name_valid("tab\there"), "tab not allowed");
	ok(!model_name_valid("caf\xc3\xa9"), "non-ASCII not allowed");
	ok(!model_name_valid("x;rm"), "';' not allowed");
	memset(name, 'n', MODEL_NAME_MAX);
	name[MODEL_NAME_MAX] = '\0';
	ok(model_name_valid(name), "MODEL_NAME_MAX chars valid");
	name[MODEL_NAME_MAX] = 'n';
	name[MODEL_NAME_MAX + 1] = '\0';
	ok(!model_name_valid(name), "MODEL_NAME_MAX + 1 chars invalid");
}

/* A node record with one field replaced (key NULL: none) or left out. */
static int
cmd_test_node_decode(const char *skip, const char *key, const char *str,
    uint64_t u)
{
	static const char *const keys[] = { "id", "raft", "http", "wrk", "at" };
	struct wire_writer	*w = wire_writer_new();
	struct wire_doc		*d;
	struct node_rec		 n;
	void			*buf;
	size_t			 i, cnt = 0;
	int			 rc;

	for (i = 0; i < 5; i++)
		cnt += skip == NULL || strcmp(keys[i], skip) != 0;
	wire_put_map(w, (uint32_t)cnt);
	for (i = 0; i < 5; i++) {
		if (skip != NULL && strcmp(keys[i], skip) == 0)
			continue;
		wire_put_str(w, keys[i]);
		if (key != NULL && strcmp(keys[i], key) == 0) {
			if (str != NULL)
				wire_put_str(w, str);
			else
				wire_put_uint(w, u);
		} else if (i == 0 || i == 4)
			wire_put_uint(w, 1);
		else
			wire_put_str(w, "tcp://127.0.0.1:1");
	}
	if ((d = cmd_test_doc(w, &buf)) == NULL)
		return -1;
	rc = model_node_decode(wire_doc_root(d), &n);
	ok(rc != 0 ? cmd_test_is_zero(&n, sizeof n) : true,
	    "a refused node record is left zeroed");
	node_rec_fini(&n);
	wire_doc_free(d);
	free(buf);
	return rc;
}

/* Node records: encode refuses what decode would, decode refuses a
 * missing or malformed field. */
static void
cmd_test_bad_nodes(void)
{
	struct cmd	 c;
	void		*buf;
	size_t		 len;

	is_int(cmd_test_node_decode(NULL, NULL, NULL, 0), 0, "node: well formed");
	is_int(cmd_test_node_decode("http", NULL, NULL, 0), ERR_PROTO,
	    "node without an http url");
	is_int(cmd_test_node_decode("id", NULL, NULL, 0), ERR_PROTO, "node without an id");
	is_int(cmd_test_node_decode(NULL, "id", NULL, 0), ERR_PROTO, "node id 0");
	is_int(cmd_test_node_decode(NULL, "raft", "", 0), ERR_PROTO, "empty raft address");
	is_int(cmd_test_node_decode(NULL, "wrk", "tcp://a b:1", 0), ERR_PROTO,
	    "a blank in an address");
	is_int(cmd_test_node_decode(NULL, "http", "http://x\n:1", 0), ERR_PROTO,
	    "a control character in an address");
	is_int(cmd_test_node_decode(NULL, "http", NULL, 5), ERR_PROTO,
	    "an address that is a number");

	cmd_test_build(&c, CMD_NODE_SET);
	c.node.id = 0;
	is_int(cmd_encode(&c, &buf, &len), ERR_INVAL, "encode refuses node id 0");
	c.node.id = 1;
	free(c.node.worker_url);
	c.node.worker_url = NULL;
	is_int(cmd_encode(&c, &buf, &len), ERR_INVAL,
	    "encode refuses a node without a worker url");
	cmd_fini(&c);
	cmd_test_build(&c, CMD_NODE_REMOVE);
	c.node.id = 0;
	is_int(cmd_encode(&c, &buf, &len), ERR_INVAL, "encode refuses removing node 0");
	cmd_fini(&c);
}

int
main(void)
{
	cmd_test_roundtrip();
	cmd_test_bad_nodes();
	cmd_test_bad_commands();
	cmd_test_bad_tenancy();
	cmd_test_fuzz();
	cmd_test_models();
	cmd_test_onepass_models();
	cmd_test_names();
	return tap_done();
}
