/*
 * Unit tests for web/json.c: submission validation (every rule, with the
 * right error code and field path), defaults, affinity parsing, cancel
 * bodies, batches (size limits, the item's index in details), batch
 * cancels, customer bodies, query strings and RFC 3339 times, checkpoint
 * policies, and rendering records (and checkpoint lists) back to JSON.
 */
#include "web/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/cmd.h"
#include "src/coord.h"
#include "src/err.h"
#include "src/fsm.h"
#include "src/model.h"
#include "src/strs.h"
#include "t/tap.h"

static struct strlist	known;	/* sleep, exec and one plugin type */

/* The "field" of the first detail whose field equals want, or NULL. */
static json_t *
detail_find(json_t *details, const char *want)
{
	json_t	*d;
	size_t	 i;

	json_array_foreach(details, i, d) {
		json_t *f = json_object_get(d, "field");

		if (json_is_string(f) && strcmp(json_string_value(f), want) == 0)
			return d;
	}
	return NULL;
}

/* Submits body and checks the code and that a detail names field. */
static void
bad(const char *body, int want_code, const char *field, const char *name)
{
	struct workload	 wl;
	struct errbuf	 eb;
	json_t		*details = NULL;
	int		 rc;

	errbuf_clear(&eb);
	rc = json_submission_parse(body, strlen(body), &known, &wl, &details, &eb);
	if (!is_str(err_code_name(rc), err_code_name(want_code), name))
		tap_diag("message: %s", eb.msg);
	if (field != NULL) {
		if (!ok(details != NULL && detail_find(details, field) != NULL,
		    "%s: detail names %s", name, field)) {
			char *s = details ? json_dumps(details, 0) : NULL;

			tap_diag("details: %s", s ? s : "(null)");
			free(s);
		}
	} else
		ok(details != NULL && json_array_size(details) == 1 &&
		    json_object_get(json_array_get(details, 0), "line") != NULL,
		    "%s: detail has the parse position", name);
	ok(wl.type == NULL && wl.params_json == NULL, "%s: nothing returned", name);
	json_decref(details);
}

static void
test_bad_bodies(void)
{
	char	 deep[256], *p;
	int	 i;

	bad("", ERR_INVAL, NULL, "empty body");
	bad("{\"workload_type\": \"sleep\"", ERR_INVAL, NULL, "truncated JSON");
	bad("{\"workload_type\": \"sleep\", \"workload_type\": \"exec\"}", ERR_INVAL,
	    NULL, "duplicate key");
	bad("{\"workload_type\": \"sl\xffp\"}", ERR_INVAL, NULL, "invalid UTF-8");
	bad("{\"workload_type\": \"sleep\", \"priority\": 99999999999999999999999}",
	    ERR_INVAL, NULL, "integer overflow");
	bad("[1, 2]", ERR_INVAL, "body", "array body");
	bad("\"sleep\"", ERR_INVAL, "body", "string body");

	p = deep;
	p += sprintf(p, "{\"workload_type\": \"x\", \"input_params\": ");
	for (i = 0; i < 32; i++)
		*p++ = '[';
	for (i = 0; i < 32; i++)
		*p++ = ']';
	strcpy(p, "}");
	bad(deep, ERR_INVAL, NULL, "nesting of 33");
	{
		struct workload	 wl;
		struct errbuf	 eb;
		json_t		*details = NULL, *d;

		json_submission_parse(deep, strlen(deep), &known, &wl, &details, &eb);
		d = json_array_get(details, 0);
		ok(str_eq(json_string_value(json_object_get(d, "limit")), "max_json_depth") &&
		    json_integer_value(json_object_get(d, "value")) == JSON_MAX_DEPTH &&
		    strstr(eb.msg, "max_json_depth") != NULL,
		    "nesting of 33: the detail and message name max_json_depth");
		json_decref(details);
	}

	bad("{}", ERR_INVAL, "workload_type", "workload_type missing");
	bad("{\"workload_type\": 5}", ERR_INVAL, "workload_type", "workload_type not a string");
	bad("{\"workload_type\": \"has space\"}", ERR_INVAL, "workload_type",
	    "workload_type malformed");
	bad("{\"workload_type\": \"\"}", ERR_INVAL, "workload_type", "workload_type empty");
	bad("{\"workload_type\": \"video\"}", ERR_UNPROCESSABLE, "workload_type",
	    "workload_type unknown");
	bad("{\"workload_type\": \"render\", \"colour\": \"red\"}", ERR_INVAL, "colour",
	    "unknown top-level key");
	bad("{\"workload_type\": \"render\", \"input_params\": [1]}", ERR_INVAL,
	    "input_params", "input_params not an object");
	bad("{\"workload_type\": \"render\", \"input_params\": null}", ERR_INVAL,
	    "input_params", "input_params null");
	bad("{\"workload_type\": \"sleep\"}", ERR_UNPROCESSABLE, "input_params.duration_ms",
	    "sleep without params");
	bad("{\"workload_type\": \"sleep\", \"input_params\": {}}", ERR_UNPROCESSABLE,
	    "input_params.duration_ms", "sleep without duration_ms");
	bad("{\"workload_type\": \"sleep\", \"input_params\": {\"duration_ms\": -1}}",
	    ERR_UNPROCESSABLE, "input_params.duration_ms", "sleep negative duration");
	bad("{\"workload_type\": \"sleep\", \"input_params\": {\"duration_ms\": 604800001}}",
	    ERR_UNPROCESSABLE, "input_params.duration_ms", "sleep duration too long");
	bad("{\"workload_type\": \"sleep\", \"input_params\": {\"duration_ms\": \"10\"}}",
	    ERR_UNPROCESSABLE, "input_params.duration_ms", "sleep duration a string");
	bad("{\"workload_type\": \"sleep\", \"input_params\": {\"duration_ms\": 1.5}}",
	    ERR_UNPROCESSABLE, "input_params.duration_ms", "sleep duration a real");
	bad("{\"workload_type\": \"exec\", \"input_params\": {}}", ERR_UNPROCESSABLE,
	    "input_params.argv", "exec without argv");
	bad("{\"workload_type\": \"exec\", \"input_params\": {\"argv\": []}}",
	    ERR_UNPROCESSABLE, "input_params.argv", "exec empty argv");
	bad("{\"workload_type\": \"exec\", \"input_params\": {\"argv\": \"ls -l\"}}",
	    ERR_UNPROCESSABLE, "input_params.argv", "exec argv a string");
	bad("{\"workload_type\": \"exec\", \"input_params\": {\"argv\": [\"ls\", 3]}}",
	    ERR_UNPROCESSABLE, "input_params.argv[1]", "exec argv element not a string");
	bad("{\"workload_type\": \"exec\", \"input_params\": {\"argv\": [\"\"]}}",
	    ERR_UNPROCESSABLE, "input_params.argv[0]", "exec empty program");
	bad("{\"workload_type\": \"exec\", \"input_params\": {\"argv\": [\"ls\"], "
	    "\"env\": {\"HOME\": 1}}}", ERR_UNPROCESSABLE, "input_params.env.HOME",
	    "exec env value not a string");
	bad("{\"workload_type\": \"exec\", \"input_params\": {\"argv\": [\"ls\"], "
	    "\"env\": [\"A=1\"]}}", ERR_UNPROCESSABLE, "input_params.env",
	    "exec env not an object");
	bad("{\"workload_type\": \"exec\", \"input_params\": {\"argv\": [\"ls\"], "
	    "\"env\": {\"A=B\": \"1\"}}}", ERR_UNPROCESSABLE, "input_params.env.A=B",
	    "exec env name with =");
	bad("{\"workload_type\": \"exec\", \"input_params\": {\"argv\": [\"ls\"], "
	    "\"cwd\": 7}}", ERR_UNPROCESSABLE, "input_params.cwd", "exec cwd not a string");
	bad("{\"workload_type\": \"render\", \"priority\": 1001}", ERR_INVAL, "priority",
	    "priority too high");
	bad("{\"workload_type\": \"render\", \"priority\": -1}", ERR_INVAL, "priority",
	    "priority negative");
	bad("{\"workload_type\": \"render\", \"priority\": 1.5}", ERR_INVAL, "priority",
	    "priority a real");
	bad("{\"workload_type\": \"render\", \"priority\": \"high\"}", ERR_INVAL, "priority",
	    "priority a string");
	bad("{\"workload_type\": \"render\", \"priority\": true}", ERR_INVAL, "priority",
	    "priority a boolean");
	bad("{\"workload_type\": \"render\", \"max_retries\": 101}", ERR_INVAL,
	    "max_retries", "max_retries too high");
	bad("{\"workload_type\": \"render\", \"timeout_seconds\": -5}", ERR_INVAL,
	    "timeout_seconds", "timeout negative");
	bad("{\"workload_type\": \"render\", \"timeout_seconds\": 2592001}", ERR_INVAL,
	    "timeout_seconds", "timeout too long");
	bad("{\"workload_type\": \"render\", \"affinity_rules\": []}", ERR_INVAL,
	    "affinity_rules", "affinity not an object");
	bad("{\"workload_type\": \"render\", \"affinity_rules\": {\"near\": {}}}", ERR_INVAL,
	    "affinity_rules.near", "affinity unknown key");
	bad("{\"workload_type\": \"render\", \"affinity_rules\": {\"hard_affinity\": 1}}",
	    ERR_INVAL, "affinity_rules.hard_affinity", "hard affinity not an object");
	bad("{\"workload_type\": \"render\", \"affinity_rules\": {\"hard_affinity\": "
	    "{\"worker_id\": \"a b\"}}}", ERR_INVAL, "affinity_rules.hard_affinity.worker_id",
	    "hard worker_id malformed");
	bad("{\"workload_type\": \"render\", \"affinity_rules\": {\"hard_affinity\": "
	    "{\"worker_tags\": {\"zone\": 1}}}}", ERR_INVAL,
	    "affinity_rules.hard_affinity.worker_tags.zone", "tag value not a string");
	bad("{\"workload_type\": \"render\", \"affinity_rules\": {\"hard_affinity\": "
	    "{\"worker_tags\": {\"bad key\": \"x\"}}}}", ERR_INVAL,
	    "affinity_rules.hard_affinity.worker_tags.bad key", "tag key malformed");
	bad("{\"workload_type\": \"render\", \"affinity_rules\": {\"hard_affinity\": "
	    "{\"worker_tags\": [\"zone=a\"]}}}", ERR_INVAL,
	    "affinity_rules.hard_affinity.worker_tags", "tags not an object");
	bad("{\"workload_type\": \"render\", \"affinity_rules\": {\"soft_affinity\": "
	    "{\"workload_types\": [\"sleep\"]}}}", ERR_INVAL,
	    "affinity_rules.soft_affinity.workload_types", "soft affinity has no types");
	bad("{\"workload_type\": \"render\", \"affinity_rules\": {\"anti_affinity\": "
	    "{\"workload_types\": [\"sleep\", 7]}}}", ERR_INVAL,
	    "affinity_rules.anti_affinity.workload_types[1]", "anti type not a string");
	bad("{\"workload_type\": \"render\", \"affinity_rules\": {\"anti_affinity\": "
	    "{\"worker_id\": \"w1\"}}}", ERR_INVAL,
	    "affinity_rules.anti_affinity.worker_id", "anti affinity has no worker_id");
	bad("{\"workload_type\": \"render\", \"affinity_rules\": {\"hard_affinity\": "
	    "{\"workload_types\": \"gpu\"}}}", ERR_INVAL,
	    "affinity_rules.hard_affinity.workload_types", "hard types not an array");
}

/* Several problems at once: all reported, and 400 wins over 422. */
static void
test_collects_all(void)
{
	const char	*body = "{\"workload_type\": \"video\", \"priority\": 5000, "
	    "\"max_retries\": \"x\", \"extra\": 1}";
	struct workload	 wl;
	struct errbuf	 eb;
	json_t		*details = NULL, *d;
	int		 rc;

	rc = json_submission_parse(body, strlen(body), &known, &wl, &details, &eb);
	is_int(rc, ERR_INVAL, "mixed problems: 400 wins");
	is_int(json_array_size(details), 4, "mixed problems: four details");
	d = detail_find(details, "workload_type");
	ok(d != NULL && json_is_array(json_object_get(d, "known_types")) &&
	    json_array_size(json_object_get(d, "known_types")) == known.n,
	    "unknown type detail lists the known types");
	ok(strstr(eb.msg, "and 3 more") != NULL, "summary counts the rest: %s", eb.msg);
	ok(strstr(eb.msg, "sleep") == NULL || strstr(eb.msg, "workload_type") != NULL,
	    "summary starts with a field");
	json_decref(details);

	body = "{\"workload_type\": \"video\"}";
	rc = json_submission_parse(body, strlen(body), &known, &wl, &details, &eb);
	is_int(rc, ERR_UNPROCESSABLE, "unknown type alone: 422");
	ok(strstr(eb.msg, "exec") != NULL && strstr(eb.msg, "render") != NULL,
	    "message names the known types: %s", eb.msg);
	json_decref(details);
}

static void
test_good_bodies(void)
{
	struct workload	 wl;
	struct errbuf	 eb;
	json_t		*details = NULL;
	const char	*body;
	char		 deep[256], *p;
	int		 rc, i;

	body = "{\"workload_type\": \"sleep\", \"input_params\": {\"duration_ms\": 250, "
	    "\"note\": \"kept\"}}";
	rc = json_submission_parse(body, strlen(body), &known, &wl, &details, &eb);
	is_int(rc, 0, "minimal sleep accepted");
	ok(details == NULL, "no details on success");
	is_str(wl.type, "sleep", "type");
	is_str(wl.params_json, "{\"duration_ms\":250,\"note\":\"kept\"}",
	    "params kept, compact, in order");
	is_int(wl.priority, 100, "default priority");
	is_int(wl.max_retries, 3, "default max_retries");
	is_int(wl.timeout_seconds, 0, "default timeout");
	is_int(wl.status, WL_PENDING, "status PENDING");
	ok(wl.affinity.hard_worker_id == NULL && wl.affinity.hard_tags.n == 0 &&
	    wl.affinity.anti_types.n == 0, "no affinity");
	workload_fini(&wl);

	body = "{\"workload_type\": \"render\"}";
	rc = json_submission_parse(body, strlen(body), &known, &wl, &details, &eb);
	is_int(rc, 0, "plugin type without params accepted");
	is_str(wl.params_json, "{}", "absent params are {}");
	workload_fini(&wl);

	body = "{\"workload_type\": \"exec\", \"input_params\": {\"argv\": [\"sh\", \"-c\", "
	    "\"\"], \"env\": {\"A\": \"1\"}, \"cwd\": \"/tmp\"}, \"priority\": 0, "
	    "\"max_retries\": 0, \"timeout_seconds\": 2592000}";
	rc = json_submission_parse(body, strlen(body), &known, &wl, &details, &eb);
	is_int(rc, 0, "full exec accepted");
	is_int(wl.priority, 0, "priority 0 kept");
	is_int(wl.max_retries, 0, "max_retries 0 kept");
	is_int(wl.timeout_seconds, 2592000, "timeout at the maximum");
	workload_fini(&wl);

	body = "{\"workload_type\": \"sleep\", \"input_params\": {\"duration_ms\": 604800000},"
	    " \"priority\": 1000, \"max_retries\": 100, \"affinity_rules\": {"
	    "\"hard_affinity\": {\"worker_id\": \"w-1\", \"worker_tags\": {\"zone\": \"eu-1\","
	    " \"gpu\": \"a100\"}, \"workload_types\": [\"sleep\", \"render\", \"sleep\"]},"
	    "\"soft_affinity\": {\"worker_id\": \"w-2\", \"worker_tags\": {\"disk\": \"ssd\"}},"
	    "\"anti_affinity\": {\"workload_types\": [\"exec\"]}}}";
	rc = json_submission_parse(body, strlen(body), &known, &wl, &details, &eb);
	is_int(rc, 0, "affinity accepted");
	is_int(wl.priority, 1000, "priority at the maximum");
	is_str(wl.affinity.hard_worker_id, "w-1", "hard worker_id");
	is_int(wl.affinity.hard_tags.n, 2, "two hard tags");
	is_str(tagset_get(&wl.affinity.hard_tags, "zone"), "eu-1", "hard tag zone");
	is_str(tagset_get(&wl.affinity.hard_tags, "gpu"), "a100", "hard tag gpu");
	is_int(wl.affinity.hard_types.n, 2, "hard types deduplicated");
	ok(strlist_contains(&wl.affinity.hard_types, "render"), "hard type render");
	is_str(wl.affinity.soft_worker_id, "w-2", "soft worker_id");
	is_str(tagset_get(&wl.affinity.soft_tags, "disk"), "ssd", "soft tag");
	is_int(wl.affinity.anti_types.n, 1, "one anti type");
	is_str(wl.affinity.anti_types.v[0], "exec", "anti type exec");
	workload_fini(&wl);

	/* Exactly JSON_MAX_DEPTH levels is fine. */
	p = deep;
	p += sprintf(p, "{\"workload_type\": \"render\", \"input_params\": {\"x\": ");
	for (i = 0; i < 30; i++)
		*p++ = '[';
	p += sprintf(p, "\"[{ in a string }]\"");
	for (i = 0; i < 30; i++)
		*p++ = ']';
	strcpy(p, "}}");
	rc = json_submission_parse(deep, strlen(deep), &known, &wl, &details, &eb);
	if (!is_int(rc, 0, "nesting of exactly 32 accepted"))
		tap_diag("%s", eb.msg);
	workload_fini(&wl);
	json_decref(details);
}

static void
test_cancel_bodies(void)
{
	struct errbuf	 eb;
	json_t		*details;
	char		*reason;
	int		 rc;

	rc = json_cancel_parse("", 0, &reason, &details, &eb);
	ok(rc == 0 && reason == NULL, "cancel: empty body");
	rc = json_cancel_parse(" \r\n", 3, &reason, &details, &eb);
	ok(rc == 0 && reason == NULL, "cancel: whitespace body");
	rc = json_cancel_parse("{}", 2, &reason, &details, &eb);
	ok(rc == 0 && reason == NULL, "cancel: {}");
	rc = json_cancel_parse("{\"reason\": \"no longer needed\"}", 30, &reason,
	    &details, &eb);
	ok(rc == 0 && reason != NULL && strcmp(reason, "no longer needed") == 0,
	    "cancel: reason kept");
	free(reason);
	rc = json_cancel_parse("{\"force\": true}", 15, &reason, &details, &eb);
	ok(rc == ERR_INVAL && detail_find(details, "force") != NULL && reason == NULL,
	    "cancel: unknown key rejected");
	json_decref(details);
	rc = json_cancel_parse("{\"reason\": 5}", 13, &reason, &details, &eb);
	ok(rc == ERR_INVAL && detail_find(details, "reason") != NULL,
	    "cancel: reason must be a string");
	json_decref(details);
	rc = json_cancel_parse("[]", 2, &reason, &details, &eb);
	ok(rc == ERR_INVAL && detail_find(details, "body") != NULL,
	    "cancel: array rejected");
	json_decref(details);
	rc = json_cancel_parse("{", 1, &reason, &details, &eb);
	ok(rc == ERR_INVAL && details != NULL, "cancel: malformed JSON rejected");
	json_decref(details);
}

/* Renders v, parses the text back: what a client would see. */
static json_t *
round_trip(json_t *v)
{
	json_error_t	 je;
	json_t		*back;
	char		*s;

	s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (s == NULL)
		return NULL;
	back = json_loads(s, 0, &je);
	free(s);
	return back;
}

static const char *
str_of(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void
test_render_workload(void)
{
	struct workload	 wl;
	json_t		*o, *a, *h;

	memset(&wl, 0, sizeof wl);
	strcpy(wl.id, "0b7f2c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b");
	wl.customer_id = strdup("acme");
	wl.type = strdup("exec");
	wl.params_json = strdup("{\"argv\":[\"true\"]}");
	wl.priority = 7;
	wl.tier = TIER_PREMIUM;
	wl.status = WL_COMPLETED;
	wl.max_retries = 2;
	wl.timeout_seconds = 60;
	wl.attempt = 3;
	wl.worker_id = strdup("w-9");
	wl.progress = 100;
	wl.result_json = strdup("{\"rows\":42}");
	wl.error = strdup("bad \xff byte");
	wl.checkpoint_seq = 5;
	wl.failures = 2;
	wl.created_ms = 1767225600000ULL;	/* 2026-01-01T00:00:00.000Z */
	wl.updated_ms = 1767225601234ULL;
	wl.finished_ms = 1767225601234ULL;
	wl.request_id = strdup("req-1");
	tagset_set(&wl.affinity.hard_tags, "zone", "eu");
	strlist_add(&wl.affinity.anti_types, "sleep");

	o = round_trip(json_workload(&wl, NULL, 0));
	ok(o != NULL, "workload renders to valid JSON");
	is_str(str_of(o, "id"), wl.id, "id");
	is_str(str_of(o, "customer_id"), "acme", "customer_id");
	is_str(str_of(o, "workload_type"), "exec", "workload_type");
	ok(json_is_array(json_object_get(json_object_get(o, "input_params"), "argv")),
	    "input_params parsed back to an object");
	is_int(json_integer_value(json_object_get(o, "priority")), 7, "priority");
	is_str(str_of(o, "tier"), "premium", "tier");
	is_int(json_integer_value(json_object_get(o, "effective_priority")), 350,
	    "effective_priority = 7 x 50");
	is_str(str_of(o, "status"), "COMPLETED", "status");
	is_int(json_integer_value(json_object_get(o, "attempt")), 3, "attempt");
	is_str(str_of(o, "worker_id"), "w-9", "worker_id");
	ok(json_real_value(json_object_get(o, "progress")) == 100.0, "progress");
	ok(json_is_null(json_object_get(o, "progress_message")), "progress_message null");
	is_int(json_integer_value(json_object_get(json_object_get(o, "result"), "rows")), 42,
	    "result parsed back");
	is_str(str_of(o, "error"), "bad \xef\xbf\xbd byte", "invalid UTF-8 repaired");
	is_int(json_integer_value(json_object_get(o, "checkpoint_seq")), 5, "checkpoint_seq");
	ok(json_is_false(json_object_get(o, "cancel_requested")), "cancel_requested false");
	is_int(json_integer_value(json_object_get(o, "failures")), 2, "failures");
	is_str(str_of(o, "created_at"), "2026-01-01T00:00:00.000Z", "created_at RFC 3339");
	is_str(str_of(o, "finished_at"), "2026-01-01T00:00:01.234Z", "finished_at");
	ok(json_is_null(json_object_get(o, "scheduled_at")) &&
	    json_is_null(json_object_get(o, "started_at")) &&
	    json_is_null(json_object_get(o, "not_before")), "unset times are null");
	is_str(str_of(o, "request_id"), "req-1", "request_id");
	is_int(json_integer_value(json_object_get(o, "max_retries")), 2, "max_retries");
	is_int(json_integer_value(json_object_get(o, "timeout_seconds")), 60,
	    "timeout_seconds");
	a = json_object_get(o, "affinity_rules");
	h = json_object_get(a, "hard_affinity");
	is_str(str_of(json_object_get(h, "worker_tags"), "zone"), "eu", "hard tag rendered");
	ok(json_object_get(h, "worker_id") == NULL && json_object_get(h, "workload_types") ==
	    NULL, "empty hard parts omitted");
	ok(json_object_get(a, "soft_affinity") == NULL, "empty soft affinity omitted");
	is_str(json_string_value(json_array_get(json_object_get(json_object_get(a,
	    "anti_affinity"), "workload_types"), 0)), "sleep", "anti type rendered");
	json_decref(o);
	workload_fini(&wl);

	/* A fresh record: nulls where nothing happened yet. */
	memset(&wl, 0, sizeof wl);
	model_id_generate(wl.id);
	wl.type = strdup("sleep");
	o = round_trip(json_workload(&wl, NULL, 0));
	ok(json_is_null(json_object_get(o, "worker_id")) &&
	    json_is_null(json_object_get(o, "result")) &&
	    json_is_null(json_object_get(o, "error")) &&
	    json_is_null(json_object_get(o, "created_at")), "fresh record: nulls");
	ok(json_is_object(json_object_get(o, "input_params")) &&
	    json_object_size(json_object_get(o, "input_params")) == 0,
	    "missing params render as {}");
	ok(json_is_object(json_object_get(o, "affinity_rules")) &&
	    json_object_size(json_object_get(o, "affinity_rules")) == 0,
	    "no affinity renders as {}");
	json_decref(o);
	workload_fini(&wl);
}

/* Submission → record → rendering gives back what was submitted. */
static void
test_submission_round_trip(void)
{
	const char	*body = "{\"workload_type\": \"render\", \"input_params\": "
	    "{\"frames\": [1, 2], \"name\": \"caf\xc3\xa9\"}, \"priority\": 5, "
	    "\"affinity_rules\": {\"soft_affinity\": {\"worker_tags\": {\"gpu\": \"yes\"}}}}";
	struct workload	 wl;
	struct errbuf	 eb;
	json_t		*details, *o, *in;

	if (!is_int(json_submission_parse(body, strlen(body), &known, &wl, &details, &eb),
	    0, "round trip: accepted"))
		return;
	model_id_generate(wl.id);
	o = round_trip(json_workload(&wl, NULL, 0));
	in = json_loads(body, 0, NULL);
	ok(json_equal(json_object_get(o, "input_params"), json_object_get(in, "input_params")),
	    "round trip: input_params equal");
	ok(json_equal(json_object_get(o, "affinity_rules"),
	    json_object_get(in, "affinity_rules")), "round trip: affinity_rules equal");
	is_int(json_integer_value(json_object_get(o, "priority")), 5, "round trip: priority");
	json_decref(in);
	json_decref(o);
	workload_fini(&wl);
}

static void
test_render_others(void)
{
	struct worker_rec	 w;
	struct coord_status	 s;
	json_t			*o, *e;

	memset(&w, 0, sizeof w);
	w.id = strdup("w-1");
	tagset_set(&w.tags, "zone", "eu");
	strlist_add(&w.capabilities, "sleep");
	strlist_add(&w.capabilities, "render");
	w.capacity = 4;
	w.used = 1;
	w.status = WORKER_ALIVE;
	w.registered_ms = 1767225600000ULL;
	w.last_heartbeat_ms = 1767225605000ULL;
	o = round_trip(json_worker(&w));
	is_str(str_of(o, "id"), "w-1", "worker id");
	is_str(str_of(json_object_get(o, "tags"), "zone"), "eu", "worker tags");
	is_int(json_array_size(json_object_get(o, "capabilities")), 2, "worker capabilities");
	is_int(json_integer_value(json_object_get(o, "capacity")), 4, "worker capacity");
	is_int(json_integer_value(json_object_get(o, "used_slots")), 1, "worker used_slots");
	is_str(str_of(o, "status"), "ALIVE", "worker status");
	is_str(str_of(o, "last_heartbeat"), "2026-01-01T00:00:05.000Z", "worker heartbeat");
	ok(json_is_null(json_object_get(o, "version")), "worker version null");
	json_decref(o);
	worker_rec_fini(&w);

	memset(&s, 0, sizeof s);
	s.node_id = 2;
	s.leader = true;
	s.ready = true;
	s.term = 7;
	s.commit_index = 100;
	s.applied_index = 99;
	o = round_trip(json_cluster(&s));
	ok(json_integer_value(json_object_get(o, "node_id")) == 2 &&
	    json_is_true(json_object_get(o, "leader")) &&
	    json_is_true(json_object_get(o, "ready")) &&
	    json_integer_value(json_object_get(o, "term")) == 7 &&
	    json_integer_value(json_object_get(o, "commit_index")) == 100 &&
	    json_integer_value(json_object_get(o, "applied_index")) == 99,
	    "cluster status fields");
	ok(json_is_null(json_object_get(o, "leader_id")), "unknown leader is null");
	json_decref(o);

	o = round_trip(json_error_body(ERR_NOTFOUND, "no such workload", NULL, "rid-7"));
	e = json_object_get(o, "error");
	is_str(str_of(e, "code"), "not_found", "error code");
	is_str(str_of(e, "message"), "no such workload", "error message");
	ok(json_is_array(json_object_get(e, "details")) &&
	    json_array_size(json_object_get(e, "details")) == 0, "error details []");
	is_str(str_of(o, "request_id"), "rid-7", "error request_id");
	json_decref(o);

	o = json_text(NULL);
	ok(json_is_null(o), "json_text(NULL) is null");
	json_decref(o);
	o = json_text("\xc0\xaf\xed\xa0\x80ok");
	is_str(json_string_value(o), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
	    "\xef\xbf\xbdok", "overlong and surrogate bytes repaired");
	json_decref(o);
}

/* The detail with this field (and index, if index >= 0), or NULL. */
static json_t *
detail_at(json_t *details, long index, const char *field)
{
	json_t	*d, *ix;
	size_t	 i;

	json_array_foreach(details, i, d) {
		ix = json_object_get(d, "index");
		if (index >= 0 && (!json_is_integer(ix) || json_integer_value(ix) != index))
			continue;
		if (index < 0 && ix != NULL)
			continue;
		if (field == NULL || str_eq(json_string_value(json_object_get(d, "field")),
		    field))
			return d;
	}
	return NULL;
}

static void
diag_details(json_t *details, const struct errbuf *eb)
{
	char	*s = details != NULL ? json_dumps(details, JSON_COMPACT) : NULL;

	tap_diag("message: %s; details: %s", eb->msg, s != NULL ? s : "(null)");
	free(s);
}

/* A customer body that must fail with code and a detail naming field. */
static void
cust_bad(const char *body, bool patch, int want, const char *field, const char *name)
{
	struct customer	 c;
	struct errbuf	 eb;
	json_t		*details = NULL;
	uint32_t	 mask = 99;
	int		 rc;

	errbuf_clear(&eb);
	rc = json_customer_parse(body, strlen(body), patch, &c, &mask, &details, &eb);
	if (!is_str(err_code_name(rc), err_code_name(want), name) ||
	    !ok(field == NULL ? details != NULL : detail_at(details, -1, field) != NULL,
	    "%s: detail names %s", name, field != NULL ? field : "the position"))
		diag_details(details, &eb);
	ok(c.name == NULL && mask == 0, "%s: nothing returned", name);
	json_decref(details);
}

static void
test_customer_bodies(void)
{
	struct customer	 c;
	struct errbuf	 eb;
	json_t		*details = NULL;
	uint32_t	 mask;
	char		 big[300];
	int		 rc;

	cust_bad("", false, ERR_INVAL, NULL, "customer: empty body");
	cust_bad("{\"name\": ", false, ERR_INVAL, NULL, "customer: truncated");
	cust_bad("[]", false, ERR_INVAL, "body", "customer: array");
	cust_bad("{\"tier\": \"free\"}", false, ERR_INVAL, "name", "customer: name missing");
	cust_bad("{\"name\": \"acme\"}", false, ERR_INVAL, "tier", "customer: tier missing");
	cust_bad("{\"name\": 7, \"tier\": \"free\"}", false, ERR_INVAL, "name",
	    "customer: name a number");
	cust_bad("{\"name\": \"\", \"tier\": \"free\"}", false, ERR_INVAL, "name",
	    "customer: name empty");
	cust_bad("{\"name\": \"   \", \"tier\": \"free\"}", false, ERR_INVAL, "name",
	    "customer: name only spaces");
	cust_bad("{\"name\": \"a\\nb\", \"tier\": \"free\"}", false, ERR_INVAL, "name",
	    "customer: name with a newline");
	memset(big, 'n', 129);
	big[129] = '\0';
	{
		char body[400];

		snprintf(body, sizeof body, "{\"name\": \"%s\", \"tier\": \"free\"}", big);
		cust_bad(body, false, ERR_INVAL, "name", "customer: name of 129 bytes");
	}
	cust_bad("{\"name\": \"acme\", \"tier\": \"gold\"}", false, ERR_INVAL, "tier",
	    "customer: unknown tier");
	cust_bad("{\"name\": \"acme\", \"tier\": \"Free\"}", false, ERR_INVAL, "tier",
	    "customer: tier is case-sensitive");
	cust_bad("{\"name\": \"acme\", \"tier\": 1}", false, ERR_INVAL, "tier",
	    "customer: tier a number");
	cust_bad("{\"name\": \"acme\", \"tier\": \"free\", \"max_queue_depth\": -1}", false,
	    ERR_INVAL, "max_queue_depth", "customer: negative max_queue_depth");
	cust_bad("{\"name\": \"acme\", \"tier\": \"free\", \"max_queue_depth\": 100000001}",
	    false, ERR_INVAL, "max_queue_depth", "customer: max_queue_depth too big");
	cust_bad("{\"name\": \"acme\", \"tier\": \"free\", \"max_concurrent\": 1.5}", false,
	    ERR_INVAL, "max_concurrent", "customer: max_concurrent a real");
	cust_bad("{\"name\": \"acme\", \"tier\": \"free\", \"max_concurrent\": 1000001}",
	    false, ERR_INVAL, "max_concurrent", "customer: max_concurrent too big");
	cust_bad("{\"name\": \"acme\", \"tier\": \"free\", \"rate_limit_rps\": \"10\"}", false,
	    ERR_INVAL, "rate_limit_rps", "customer: rate a string");
	cust_bad("{\"name\": \"acme\", \"tier\": \"free\", \"rate_limit_rps\": null}", false,
	    ERR_INVAL, "rate_limit_rps", "customer: rate null");
	cust_bad("{\"name\": \"acme\", \"tier\": \"free\", \"rate_limit_rps\": 1000001}",
	    false, ERR_INVAL, "rate_limit_rps", "customer: rate too big");
	cust_bad("{\"name\": \"acme\", \"tier\": \"free\", \"id\": \"mine\"}", false,
	    ERR_INVAL, "id", "customer: unknown field id");
	cust_bad("{}", true, ERR_INVAL, "body", "patch: empty object changes nothing");
	cust_bad("{\"tier\": \"platinum\"}", true, ERR_INVAL, "tier", "patch: unknown tier");
	cust_bad("{\"max_queue_depth\": -5}", true, ERR_INVAL, "max_queue_depth",
	    "patch: negative limit");
	cust_bad("{\"colour\": \"red\"}", true, ERR_INVAL, "colour", "patch: unknown field");

	rc = json_customer_parse("{\"name\": \"Acme Corp\", \"tier\": \"premium\"}", 40,
	    false, &c, &mask, &details, &eb);
	ok(rc == 0 && details == NULL, "customer: minimal body accepted");
	is_str(c.name, "Acme Corp", "customer: name with a space kept");
	is_int(c.tier, TIER_PREMIUM, "customer: tier");
	ok(c.max_queue_depth == 0 && c.max_concurrent == 0 && c.rate_limit_rps == 0,
	    "customer: limits default to 0 (tier default / no limit)");
	is_int(mask, CMD_UPDATE_NAME | CMD_UPDATE_TIER, "customer: mask name|tier");
	customer_fini(&c);

	{
		const char *b = "{\"name\": \"caf\xc3\xa9\", \"tier\": \"free\", "
		    "\"max_queue_depth\": 5, \"max_concurrent\": 0, \"rate_limit_rps\": 1000000}";

		rc = json_customer_parse(b, strlen(b), false, &c, &mask, &details, &eb);
		ok(rc == 0, "customer: all fields accepted");
		ok(c.max_queue_depth == 5 && c.max_concurrent == 0 &&
		    c.rate_limit_rps == 1000000, "customer: limits kept");
		is_int(mask, CMD_UPDATE_NAME | CMD_UPDATE_TIER | CMD_UPDATE_MAX_QUEUE_DEPTH |
		    CMD_UPDATE_MAX_CONCURRENT | CMD_UPDATE_RATE_LIMIT, "customer: every bit");
		customer_fini(&c);
	}
	rc = json_customer_parse("{\"tier\": \"enterprise\"}", 22, true, &c, &mask,
	    &details, &eb);
	ok(rc == 0 && mask == CMD_UPDATE_TIER && c.tier == TIER_ENTERPRISE &&
	    c.name == NULL, "patch: tier only");
	customer_fini(&c);
	rc = json_customer_parse("{\"max_queue_depth\": 0}", 22, true, &c, &mask,
	    &details, &eb);
	ok(rc == 0 && mask == CMD_UPDATE_MAX_QUEUE_DEPTH && c.max_queue_depth == 0,
	    "patch: a limit back to 0 (the tier default) is a change");
	customer_fini(&c);
}

/* {"workloads": [item × n]} with item at index bad replaced by bad_item. */
static char *
batch_body(size_t n, long bad, const char *bad_item)
{
	const char	*item = "{\"workload_type\": \"sleep\", \"input_params\": "
	    "{\"duration_ms\": 5}}";
	size_t		 cap = 32 + n * (strlen(item) + 2) + (bad_item ? strlen(bad_item) : 0);
	char		*s = malloc(cap), *p = s;
	size_t		 i;

	p += sprintf(p, "{\"workloads\": [");
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i > 0 ? "," : "", (long)i == bad ? bad_item : item);
	strcpy(p, "]}");
	return s;
}

/* Parses a batch; returns the code, details in *details. */
static int
batch_parse(const char *body, size_t *n, json_t **details, struct errbuf *eb)
{
	struct workload	*wls = NULL;
	size_t		 i;
	int		 rc;

	errbuf_clear(eb);
	rc = json_batch_parse(body, strlen(body), &known, &wls, n, details, eb);
	for (i = 0; i < *n; i++)
		workload_fini(&wls[i]);
	free(wls);
	return rc;
}

static void
test_batch_bodies(void)
{
	struct workload	*wls = NULL;
	struct errbuf	 eb;
	json_t		*details = NULL, *d;
	char		*b;
	size_t		 n = 0, i;
	int		 rc, others;

	b = batch_body(3, -1, NULL);
	rc = json_batch_parse(b, strlen(b), &known, &wls, &n, &details, &eb);
	ok(rc == 0 && n == 3 && details == NULL, "batch of 3 accepted");
	ok(wls != NULL && str_eq(wls[2].type, "sleep") &&
	    str_eq(wls[1].params_json, "{\"duration_ms\":5}") && wls[0].priority == 100,
	    "items parsed like single submissions (defaults too)");
	for (i = 0; i < n; i++)
		workload_fini(&wls[i]);
	free(wls);
	free(b);

	b = batch_body(1000, -1, NULL);
	rc = batch_parse(b, &n, &details, &eb);
	ok(rc == 0 && n == 1000, "batch of 1000 accepted (the limit)");
	free(b);

	b = batch_body(1001, -1, NULL);
	rc = batch_parse(b, &n, &details, &eb);
	is_str(err_code_name(rc), "payload_too_large", "batch of 1001: 413");
	d = detail_at(details, -1, "workloads");
	ok(d != NULL && str_eq(json_string_value(json_object_get(d, "limit")),
	    "max_batch_items") && json_integer_value(json_object_get(d, "value")) == 1000 &&
	    json_integer_value(json_object_get(d, "count")) == 1001,
	    "its detail names max_batch_items, 1000, and the count");
	ok(strstr(eb.msg, "1000") != NULL, "the message names the limit: %s", eb.msg);
	ok(n == 0, "nothing returned");
	json_decref(details);
	free(b);

	rc = batch_parse("{\"workloads\": []}", &n, &details, &eb);
	is_str(err_code_name(rc), "invalid_argument", "empty batch: 400");
	d = detail_at(details, -1, "workloads");
	ok(d != NULL && str_eq(json_string_value(json_object_get(d, "limit")),
	    "max_batch_items"), "its detail names the limit");
	json_decref(details);

	rc = batch_parse("{}", &n, &details, &eb);
	ok(rc == ERR_INVAL && detail_at(details, -1, "workloads") != NULL,
	    "batch without workloads: 400 naming it");
	json_decref(details);
	rc = batch_parse("{\"workloads\": {}}", &n, &details, &eb);
	ok(rc == ERR_INVAL && detail_at(details, -1, "workloads") != NULL,
	    "workloads not an array: 400");
	json_decref(details);
	rc = batch_parse("{\"workloads\": [], \"atomic\": true}", &n, &details, &eb);
	ok(rc == ERR_INVAL && detail_at(details, -1, "atomic") != NULL,
	    "unknown top-level key: 400");
	json_decref(details);
	rc = batch_parse("[{\"workload_type\": \"sleep\"}]", &n, &details, &eb);
	ok(rc == ERR_INVAL && detail_at(details, -1, "body") != NULL,
	    "a bare array: 400 (body must be an object)");
	json_decref(details);
	rc = batch_parse("{\"workloads\": [", &n, &details, &eb);
	ok(rc == ERR_INVAL && details != NULL, "malformed JSON: 400");
	json_decref(details);

	b = batch_body(100, 57, "{\"workload_type\": \"sleep\", \"input_params\": "
	    "{\"duration_ms\": 5}, \"priority\": 5000}");
	rc = batch_parse(b, &n, &details, &eb);
	is_str(err_code_name(rc), "invalid_argument", "item 57 with a bad priority: 400");
	ok(detail_at(details, 57, "priority") != NULL, "detail has index 57 and field priority");
	others = 0;
	json_array_foreach(details, i, d)
		if (json_integer_value(json_object_get(d, "index")) != 57)
			others++;
	is_int(others, 0, "no other item is named");
	ok(strstr(eb.msg, "workloads[57].priority") != NULL, "message names it: %s", eb.msg);
	ok(n == 0, "nothing returned");
	json_decref(details);
	free(b);

	b = batch_body(5, 1, "42");
	rc = batch_parse(b, &n, &details, &eb);
	ok(rc == ERR_INVAL && detail_at(details, 1, "workloads[1]") != NULL,
	    "an item that is not an object: index 1, field workloads[1]");
	json_decref(details);
	free(b);

	b = batch_body(5, 3, "{\"workload_type\": \"video\"}");
	rc = batch_parse(b, &n, &details, &eb);
	is_str(err_code_name(rc), "unprocessable", "item 3 of an unknown type: 422");
	d = detail_at(details, 3, "workload_type");
	ok(d != NULL && json_is_array(json_object_get(d, "known_types")),
	    "index 3, with the known types");
	json_decref(details);
	free(b);

	b = malloc(4096);
	snprintf(b, 4096, "{\"workloads\": [{\"workload_type\": \"video\"}, "
	    "{\"workload_type\": \"audio\"}, {\"workload_type\": \"sleep\", "
	    "\"input_params\": {\"duration_ms\": \"x\"}}]}");
	rc = batch_parse(b, &n, &details, &eb);
	ok(rc == ERR_UNPROCESSABLE && detail_at(details, 0, "workload_type") != NULL &&
	    detail_at(details, 1, "workload_type") != NULL &&
	    detail_at(details, 2, "input_params.duration_ms") != NULL,
	    "every bad item is reported, each with its index");
	ok(json_object_get(detail_at(details, 0, "workload_type"), "known_types") != NULL &&
	    json_object_get(detail_at(details, 1, "workload_type"), "known_types") == NULL,
	    "the known types are listed once");
	json_decref(details);
	free(b);
}

static void
test_many_problems(void)
{
	struct workload	 wl;
	struct errbuf	 eb;
	json_t		*details = NULL;
	char		*b = malloc(16384), *p = b;
	size_t		 i;
	int		 rc;

	p += sprintf(p, "{\"workload_type\": \"sleep\", \"input_params\": {\"duration_ms\": 1}");
	for (i = 0; i < 150; i++)
		p += sprintf(p, ", \"x%zu\": 1", i);
	strcpy(p, "}");
	rc = json_submission_parse(b, strlen(b), &known, &wl, &details, &eb);
	is_int(rc, ERR_INVAL, "150 unknown keys: 400");
	is_int(json_array_size(details), 100, "details keep the first 100");
	ok(strstr(eb.msg, "and 149 more problems") != NULL && strstr(eb.msg, "first 100"),
	    "the message counts all: %s", eb.msg);
	json_decref(details);
	free(b);
}

/* A batch-cancel body that must fail with want, naming field. */
static void
cancel_bad(const char *body, int want, const char *field, const char *name)
{
	char		(*ids)[MODEL_ID_LEN + 1];
	struct errbuf	 eb;
	json_t		*details = NULL;
	char		*reason;
	size_t		 n = 7;
	int		 rc;

	errbuf_clear(&eb);
	rc = json_cancel_batch_parse(body, strlen(body), &ids, &n, &reason, &details, &eb);
	if (!is_str(err_code_name(rc), err_code_name(want), name) ||
	    !ok(field == NULL || detail_at(details, -1, field) != NULL, "%s: names %s",
	    name, field != NULL ? field : "-"))
		diag_details(details, &eb);
	ok(ids == NULL && n == 0 && reason == NULL, "%s: nothing returned", name);
	json_decref(details);
}

static void
test_cancel_batch_bodies(void)
{
	const char	*a = "0b7f2c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b";
	char		(*ids)[MODEL_ID_LEN + 1];
	struct errbuf	 eb;
	json_t		*details = NULL, *d;
	char		 body[1024], *reason, *big, *p;
	size_t		 n, i;
	int		 rc;

	cancel_bad("{}", ERR_INVAL, "ids", "cancel batch: ids missing");
	cancel_bad("{\"ids\": \"all\"}", ERR_INVAL, "ids", "cancel batch: ids a string");
	cancel_bad("{\"ids\": []}", ERR_INVAL, "ids", "cancel batch: no ids");
	cancel_bad("{\"ids\": [7]}", ERR_INVAL, "ids[0]", "cancel batch: id a number");
	snprintf(body, sizeof body, "{\"ids\": [\"%s\", \"not-an-id\"]}", a);
	cancel_bad(body, ERR_INVAL, "ids[1]", "cancel batch: malformed id");
	snprintf(body, sizeof body, "{\"ids\": [\"%s\"], \"reason\": 5}", a);
	cancel_bad(body, ERR_INVAL, "reason", "cancel batch: reason a number");
	snprintf(body, sizeof body, "{\"ids\": [\"%s\"], \"force\": true}", a);
	cancel_bad(body, ERR_INVAL, "force", "cancel batch: unknown key");
	cancel_bad("[1]", ERR_INVAL, "body", "cancel batch: not an object");
	cancel_bad("{\"ids\": [", ERR_INVAL, NULL, "cancel batch: malformed JSON");

	snprintf(body, sizeof body, "{\"ids\": [\"%s\", \"11111111-2222-4333-8444-"
	    "555555555555\", \"0B7F2C1E-4A5D-4E6F-8A9B-0C1D2E3F4A5B\"]}", a);
	rc = json_cancel_batch_parse(body, strlen(body), &ids, &n, &reason, &details, &eb);
	is_int(rc, ERR_INVAL, "cancel batch: a repeated id (in other case) is refused");
	d = detail_at(details, -1, "ids[2]");
	ok(d != NULL && strstr(json_string_value(json_object_get(d, "message")), "ids[0]"),
	    "the later one is named, with the earlier");
	json_decref(details);

	big = malloc(1001 * 40 + 32);
	p = big + sprintf(big, "{\"ids\": [");
	for (i = 0; i < 1001; i++)
		p += sprintf(p, "%s\"%08zx-0000-4000-8000-000000000000\"", i ? "," : "", i);
	strcpy(p, "]}");
	rc = json_cancel_batch_parse(big, strlen(big), &ids, &n, &reason, &details, &eb);
	is_str(err_code_name(rc), "payload_too_large", "cancel batch of 1001: 413");
	d = detail_at(details, -1, "ids");
	ok(d != NULL && json_integer_value(json_object_get(d, "value")) == 1000 &&
	    str_eq(json_string_value(json_object_get(d, "limit")), "max_batch_items"),
	    "naming max_batch_items 1000");
	json_decref(details);
	/* The first 1000 are fine. */
	p = strrchr(big, ',');
	strcpy(p, "]}");
	rc = json_cancel_batch_parse(big, strlen(big), &ids, &n, &reason, &details, &eb);
	ok(rc == 0 && n == 1000, "cancel batch of 1000 accepted");
	free(ids);
	free(big);

	snprintf(body, sizeof body, "{\"ids\": [\"%s\", \"0B7F2C1E-4A5D-4E6F-8A9B-"
	    "0C1D2E3F4A5C\"], \"reason\": \"done\"}", a);
	rc = json_cancel_batch_parse(body, strlen(body), &ids, &n, &reason, &details, &eb);
	ok(rc == 0 && n == 2, "cancel batch of 2 accepted");
	is_str(ids[0], a, "first id");
	is_str(ids[1], "0b7f2c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5c", "ids come back in lower case");
	is_str(reason, "done", "reason kept");
	free(ids);
	free(reason);
}

static void
test_empty_bodies(void)
{
	struct errbuf	 eb;
	json_t		*details = NULL;

	ok(json_empty_parse("", 0, &details, &eb) == 0, "empty body: nothing");
	ok(json_empty_parse(" \n", 2, &details, &eb) == 0, "blank body: nothing");
	ok(json_empty_parse("{}", 2, &details, &eb) == 0, "{}: nothing");
	ok(json_empty_parse("{\"now\": true}", 13, &details, &eb) == ERR_INVAL &&
	    detail_at(details, -1, "now") != NULL, "a member is refused, named");
	json_decref(details);
	ok(json_empty_parse("[]", 2, &details, &eb) == ERR_INVAL &&
	    detail_at(details, -1, "body") != NULL, "an array is refused");
	json_decref(details);
}

static void
test_list_query(void)
{
	struct json_list_query	 q;
	struct errbuf		 eb;
	json_t			*details = NULL;

	ok(json_list_query_parse(NULL, &q, &details, &eb) == 0 && q.limit == 50 &&
	    !q.has_status && q.type[0] == '\0' && q.cursor[0] == '\0',
	    "list: no query, defaults");
	ok(json_list_query_parse("status=running&workload_type=sleep&limit=1000&cursor=abc",
	    &q, &details, &eb) == 0 && q.has_status && q.status == WL_RUNNING &&
	    str_eq(q.type, "sleep") && q.limit == 1000 && str_eq(q.cursor, "abc"),
	    "list: every parameter, status in any case");
	ok(json_list_query_parse("workload_type=a%2Fb&&limit=+7", &q, &details, &eb) ==
	    ERR_INVAL && detail_at(details, -1, "limit") != NULL,
	    "list: '+' decodes to a space, and ' 7' is not a limit");
	json_decref(details);
	ok(json_list_query_parse("workload_type=a%2Fb", &q, &details, &eb) == 0 &&
	    str_eq(q.type, "a/b"), "list: percent-decoding");
	ok(json_list_query_parse("limit=0", &q, &details, &eb) == ERR_INVAL &&
	    detail_at(details, -1, "limit") != NULL, "list: limit 0 refused");
	json_decref(details);
	ok(json_list_query_parse("limit=1001", &q, &details, &eb) == ERR_INVAL,
	    "list: limit 1001 refused");
	json_decref(details);
	ok(json_list_query_parse("limit=ten", &q, &details, &eb) == ERR_INVAL,
	    "list: limit not a number refused");
	json_decref(details);
	ok(json_list_query_parse("status=DONE", &q, &details, &eb) == ERR_INVAL &&
	    detail_at(details, -1, "status") != NULL, "list: unknown status");
	json_decref(details);
	ok(json_list_query_parse("sort=asc", &q, &details, &eb) == ERR_INVAL &&
	    detail_at(details, -1, "sort") != NULL, "list: unknown parameter named");
	json_decref(details);
	ok(json_list_query_parse("limit=1&limit=2", &q, &details, &eb) == ERR_INVAL &&
	    detail_at(details, -1, "limit") != NULL, "list: repeated parameter");
	json_decref(details);
	ok(json_list_query_parse("workload_type=%zz", &q, &details, &eb) == ERR_INVAL &&
	    detail_at(details, -1, "workload_type") != NULL, "list: malformed escape");
	json_decref(details);
	ok(json_list_query_parse("workload_type=a%00b", &q, &details, &eb) == ERR_INVAL,
	    "list: an escaped NUL");
	json_decref(details);
	ok(json_list_query_parse("workload_type=%4", &q, &details, &eb) == ERR_INVAL,
	    "list: a truncated escape");
	json_decref(details);
	ok(json_list_query_parse("cursor=0123456789012345678901234567890123", &q,
	    &details, &eb) == ERR_INVAL && detail_at(details, -1, "cursor") != NULL,
	    "list: an over-long cursor");
	json_decref(details);
	ok(json_list_query_parse("workload_type=has%20space", &q, &details, &eb) == ERR_INVAL,
	    "list: a malformed type");
	json_decref(details);
}

static void
test_times(void)
{
	uint64_t	 ms;

	ok(json_time_parse("2026-01-01T00:00:00Z", &ms) == 0 && ms == 1767225600000ULL,
	    "time: 2026-01-01T00:00:00Z");
	ok(json_time_parse("2026-01-01T00:00:01.234Z", &ms) == 0 && ms == 1767225601234ULL,
	    "time: milliseconds");
	ok(json_time_parse("2026-01-01T00:00:01.5Z", &ms) == 0 && ms == 1767225601500ULL,
	    "time: one fraction digit");
	ok(json_time_parse("2026-01-01T00:00:01.123999z", &ms) == 0 &&
	    ms == 1767225601123ULL, "time: digits past ms dropped, lower-case z");
	ok(json_time_parse("2026-01-01T01:00:00+01:00", &ms) == 0 && ms == 1767225600000ULL,
	    "time: +01:00 offset");
	ok(json_time_parse("2025-12-31t23:30:00-00:30", &ms) == 0 && ms == 1767225600000ULL,
	    "time: negative offset, lower-case t");
	ok(json_time_parse("2024-02-29T12:00:00Z", &ms) == 0, "time: leap day");
	ok(json_time_parse("1970-01-01T00:00:00Z", &ms) == 0 && ms == 0, "time: the epoch");
	ok(json_time_parse("2023-02-29T12:00:00Z", &ms) == ERR_INVAL, "time: not a leap year");
	ok(json_time_parse("2026-13-01T00:00:00Z", &ms) == ERR_INVAL, "time: month 13");
	ok(json_time_parse("2026-04-31T00:00:00Z", &ms) == ERR_INVAL, "time: April 31");
	ok(json_time_parse("2026-01-01T24:00:00Z", &ms) == ERR_INVAL, "time: hour 24");
	ok(json_time_parse("2026-01-01T00:60:00Z", &ms) == ERR_INVAL, "time: minute 60");
	ok(json_time_parse("2026-01-01T00:00:00", &ms) == ERR_INVAL, "time: no zone");
	ok(json_time_parse("2026-01-01T00:00:00Zjunk", &ms) == ERR_INVAL, "time: trailing junk");
	ok(json_time_parse("2026-01-01T00:00:00+0100", &ms) == ERR_INVAL,
	    "time: offset without colon");
	ok(json_time_parse("2026-01-01", &ms) == ERR_INVAL, "time: a date alone");
	ok(json_time_parse("2026-01-01T00:00:00.Z", &ms) == ERR_INVAL, "time: empty fraction");
	ok(json_time_parse("1969-12-31T23:59:59Z", &ms) == ERR_INVAL, "time: before the epoch");
	ok(json_time_parse("yesterday", &ms) == ERR_INVAL, "time: words");
	ok(json_time_parse("", &ms) == ERR_INVAL, "time: empty");
}

static void
test_audit_query(void)
{
	struct json_audit_query	 q;
	struct errbuf		 eb;
	json_t			*details = NULL;

	ok(json_audit_query_parse("", &q, &details, &eb) == 0 && q.limit == 100 &&
	    q.workload_id[0] == '\0' && q.customer_id[0] == '\0' && q.since_ms == 0 &&
	    q.until_ms == 0, "audit: defaults (limit 100)");
	ok(json_audit_query_parse("workload_id=0B7F2C1E-4A5D-4E6F-8A9B-0C1D2E3F4A5B"
	    "&customer_id=admin&since=2026-01-01T00%3A00%3A00Z&until=2026-01-02T00:00:00Z"
	    "&limit=2&cursor=xyz", &q, &details, &eb) == 0, "audit: every parameter");
	is_str(q.workload_id, "0b7f2c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b", "audit: id in lower case");
	is_str(q.customer_id, "admin", "audit: customer_id");
	ok(q.since_ms == 1767225600000ULL && q.until_ms == 1767312000000ULL,
	    "audit: since and until");
	ok(q.limit == 2 && str_eq(q.cursor, "xyz"), "audit: limit and cursor");

	ok(json_audit_query_parse("workload_id=42", &q, &details, &eb) == ERR_INVAL &&
	    detail_at(details, -1, "workload_id") != NULL, "audit: malformed workload_id");
	json_decref(details);
	ok(json_audit_query_parse("customer_id=a%20b", &q, &details, &eb) == ERR_INVAL &&
	    detail_at(details, -1, "customer_id") != NULL, "audit: malformed customer_id");
	json_decref(details);
	ok(json_audit_query_parse("since=yesterday", &q, &details, &eb) == ERR_INVAL &&
	    detail_at(details, -1, "since") != NULL, "audit: since not RFC 3339");
	json_decref(details);
	ok(json_audit_query_parse("until=2026-02-30T00:00:00Z", &q, &details, &eb) ==
	    ERR_INVAL && detail_at(details, -1, "until") != NULL, "audit: until not a date");
	json_decref(details);
	ok(json_audit_query_parse("until=1970-01-01T00:00:00Z", &q, &details, &eb) ==
	    ERR_INVAL, "audit: until at the epoch");
	json_decref(details);
	ok(json_audit_query_parse("since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
	    &q, &details, &eb) == ERR_INVAL && detail_at(details, -1, "until") != NULL,
	    "audit: until before since");
	json_decref(details);
	ok(json_audit_query_parse("since=2026-01-01T00:00:00Z&until=2026-01-01T00:00:00Z",
	    &q, &details, &eb) == ERR_INVAL, "audit: until equal to since");
	json_decref(details);
	ok(json_audit_query_parse("limit=1001", &q, &details, &eb) == ERR_INVAL &&
	    detail_at(details, -1, "limit") != NULL, "audit: limit over 1000");
	json_decref(details);
	ok(json_audit_query_parse("kind=status", &q, &details, &eb) == ERR_INVAL &&
	    detail_at(details, -1, "kind") != NULL, "audit: unknown parameter");
	json_decref(details);
	ok(json_audit_query_parse("since=2026-01-01T00:00:00Z&since=2026-01-01T00:00:00Z",
	    &q, &details, &eb) == ERR_INVAL, "audit: repeated since");
	json_decref(details);
	ok(json_audit_query_parse("workload_id=1&since=x&limit=0", &q, &details, &eb) ==
	    ERR_INVAL && json_array_size(details) == 3, "audit: every problem listed");
	json_decref(details);
}

static void
test_render_tenancy(void)
{
	struct customer		 c;
	struct fsm_usage	 u = { .pending = 3, .active = 2 };
	struct api_key		 k;
	struct audit_event	 e;
	struct fsm_queue_depth	 q;
	struct fsm_customer_depth cd[2];
	struct workload		 wl;
	json_t			*o, *eff;

	memset(&c, 0, sizeof c);
	strcpy(c.id, "0b7f2c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b");
	c.name = strdup("Acme");
	c.tier = TIER_FREE;
	c.max_concurrent = 4;
	c.created_ms = 1767225600000ULL;
	o = round_trip(json_customer(&c, 100, 10, &u));
	is_str(str_of(o, "name"), "Acme", "customer: name");
	is_str(str_of(o, "tier"), "free", "customer: tier");
	is_int(json_integer_value(json_object_get(o, "max_queue_depth")), 0,
	    "customer: its own max_queue_depth (0)");
	eff = json_object_get(o, "effective_limits");
	is_int(json_integer_value(json_object_get(eff, "max_queue_depth")), 100,
	    "customer: effective max_queue_depth is the tier default");
	is_int(json_integer_value(json_object_get(eff, "rate_limit_rps")), 10,
	    "customer: effective rate is the tier default");
	is_int(json_integer_value(json_object_get(eff, "max_concurrent")), 4,
	    "customer: effective max_concurrent");
	ok(json_integer_value(json_object_get(json_object_get(o, "usage"), "pending")) == 3 &&
	    json_integer_value(json_object_get(json_object_get(o, "usage"), "active")) == 2,
	    "customer: usage");
	is_str(str_of(o, "created_at"), "2026-01-01T00:00:00.000Z", "customer: created_at");
	json_decref(o);
	c.max_queue_depth = 7;
	c.rate_limit_rps = 3;
	c.max_concurrent = 0;
	o = round_trip(json_customer(&c, 0, 10, NULL));
	eff = json_object_get(o, "effective_limits");
	ok(json_integer_value(json_object_get(eff, "max_queue_depth")) == 7 &&
	    json_integer_value(json_object_get(eff, "rate_limit_rps")) == 3,
	    "customer: its own limits win over the tier's");
	ok(json_is_null(json_object_get(eff, "max_concurrent")), "customer: no limit is null");
	ok(json_object_get(o, "usage") == NULL, "customer: usage omitted when unknown");
	json_decref(o);
	c.max_queue_depth = 0;
	o = round_trip(json_customer(&c, 0, 10, NULL));
	ok(json_is_null(json_object_get(json_object_get(o, "effective_limits"),
	    "max_queue_depth")), "customer: a tier without a queue limit: null");
	json_decref(o);
	customer_fini(&c);

	memset(&k, 0, sizeof k);
	strcpy(k.id, "11111111-2222-4333-8444-555555555555");
	k.customer_id = strdup("acme");
	k.role = KEY_ROLE_CUSTOMER;
	k.hash[0] = 0xab;
	k.revoked = true;
	o = round_trip(json_api_key(&k));
	ok(str_eq(str_of(o, "id"), k.id) && str_eq(str_of(o, "customer_id"), "acme") &&
	    str_eq(str_of(o, "role"), "customer") && json_is_true(json_object_get(o,
	    "revoked")), "api key: id, customer, role, revoked");
	ok(json_object_get(o, "key") == NULL && json_object_get(o, "hash") == NULL,
	    "api key: neither key nor hash rendered");
	json_decref(o);
	api_key_fini(&k);

	memset(&e, 0, sizeof e);
	e.seq = 9;
	e.at_ms = 1767225600000ULL;
	e.kind = strdup("key");
	e.actor = strdup("k1");
	e.customer_id = strdup("acme");
	o = round_trip(json_audit_event(&e));
	ok(json_integer_value(json_object_get(o, "seq")) == 9 &&
	    str_eq(str_of(o, "at"), "2026-01-01T00:00:00.000Z") &&
	    str_eq(str_of(o, "kind"), "key") && str_eq(str_of(o, "customer_id"), "acme"),
	    "audit event: seq, at, kind, customer_id");
	ok(json_is_null(json_object_get(o, "workload_id")) &&
	    json_is_null(json_object_get(o, "from")) &&
	    json_is_null(json_object_get(o, "request_id")), "audit event: absent fields null");
	ok(json_object_size(o) == 10, "audit event: ten fields");
	json_decref(o);
	audit_event_fini(&e);

	memset(&q, 0, sizeof q);
	q.total = 7;
	q.by_tier[TIER_STANDARD] = 5;
	q.by_tier[TIER_PREMIUM] = 2;
	cd[0].customer_id = "a";
	cd[0].pending = 5;
	cd[1].customer_id = "b";
	cd[1].pending = 2;
	q.by_customer = cd;
	q.n_customers = 2;
	o = round_trip(json_queue_depth(&q));
	ok(json_integer_value(json_object_get(o, "total")) == 7 &&
	    json_integer_value(json_object_get(json_object_get(o, "by_tier"), "standard")) == 5 &&
	    json_integer_value(json_object_get(json_object_get(o, "by_tier"), "free")) == 0 &&
	    json_object_size(json_object_get(o, "by_tier")) == 4 &&
	    json_integer_value(json_object_get(json_object_get(o, "by_customer"), "b")) == 2,
	    "queue depth: total, by tier (all four), by customer");
	json_decref(o);

	memset(&wl, 0, sizeof wl);
	strcpy(wl.id, "0b7f2c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b");
	wl.type = strdup("sleep");
	wl.priority = 5;
	wl.created_ms = 1767225600000ULL;
	o = round_trip(json_workload_summary(&wl));
	ok(json_object_size(o) == 5 && str_eq(str_of(o, "status"), "PENDING") &&
	    str_eq(str_of(o, "workload_type"), "sleep") &&
	    json_integer_value(json_object_get(o, "priority")) == 5 &&
	    str_eq(str_of(o, "created_at"), "2026-01-01T00:00:00.000Z"),
	    "workload summary: five fields");
	json_decref(o);
	workload_fini(&wl);
}

/* The hand-written batch answer says what the jansson summaries say. */
static void
test_batch_answer(void)
{
	struct workload	 w[2];
	json_t		*doc, *item, *want;
	json_error_t	 jerr;
	char		*text;
	size_t		 len, i;
	int		 same = 1;

	memset(w, 0, sizeof w);
	for (i = 0; i < 2; i++) {
		model_id_generate(w[i].id);
		w[i].type = strdup(i == 0 ? "sleep" : "my.type:v2/x-y");
		w[i].priority = (uint32_t)(i * 1000);
		w[i].created_ms = 1795400000123ULL + i;
	}
	text = json_batch_answer(w, 2, &len);
	ok(text != NULL && len == strlen(text), "batch answer written");
	doc = text != NULL ? json_loadb(text, len, 0, &jerr) : NULL;
	ok(doc != NULL, "batch answer is valid JSON");
	is_int(json_integer_value(json_object_get(doc, "count")), 2, "count");
	for (i = 0; i < 2; i++) {
		item = json_array_get(json_object_get(doc, "workloads"), i);
		want = json_workload_summary(&w[i]);
		if (!json_equal(item, want))
			same = 0;
		json_decref(want);
	}
	ok(same, "each item equals json_workload_summary's rendering");
	json_decref(doc);
	free(text);
	free(w[1].type);
	w[1].type = strdup("needs \"escaping\"");
	text = json_batch_answer(w, 2, &len);
	ok(text == NULL, "a name that would need escaping falls back to jansson");
	free(text);
	for (i = 0; i < 2; i++)
		workload_fini(&w[i]);
}

/* A sleep submission with the given checkpoint_policy member text. */
static char *
policy_body(const char *policy)
{
#define POLICY_FMT	"{\"workload_type\": \"sleep\", \"input_params\": " \
	"{\"duration_ms\": 5}, \"checkpoint_policy\": %s}"
	size_t		 cap = sizeof POLICY_FMT + strlen(policy);
	char		*b = malloc(cap);

	snprintf(b, cap, POLICY_FMT, policy);
	return b;
#undef POLICY_FMT
}

/* Parses a submission with checkpoint_policy policy: 0 and the policy in
 * *out, or the code. */
static int
policy_parse(const char *policy, struct checkpoint_policy *out, json_t **details,
    struct errbuf *eb)
{
	struct workload	 wl;
	char		*b = policy_body(policy);
	int		 rc;

	*details = NULL;
	errbuf_clear(eb);
	rc = json_submission_parse(b, strlen(b), &known, &wl, details, eb);
	*out = wl.ckpt_policy;
	workload_fini(&wl);
	free(b);
	return rc;
}

/* A checkpoint_policy that is refused with 400 naming field. */
static void
policy_bad(const char *policy, const char *field, const char *name)
{
	struct checkpoint_policy p;
	struct errbuf	 eb;
	json_t		*details = NULL;
	int		 rc;

	rc = policy_parse(policy, &p, &details, &eb);
	is_str(err_code_name(rc), err_code_name(ERR_INVAL), name);
	if (!ok(detail_find(details, field) != NULL && strstr(eb.msg, field) != NULL,
	    "%s: detail and message name %s", name, field)) {
		char *t = details ? json_dumps(details, 0) : NULL;

		tap_diag("message: %s; details: %s", eb.msg, t ? t : "(null)");
		free(t);
	}
	json_decref(details);
}

/* Parses a sleep submission with member "resources": text; 0 and the
 * requests in *out, or the code, with the first detail's field in field. */
static int
resources_parse(const char *text, struct resources *out, char *field,
    size_t flen)
{
	struct workload	 wl;
	struct errbuf	 eb;
	json_t		*details = NULL, *d;
	char		 b[256];
	int		 rc;

	snprintf(b, sizeof b, "{\"workload_type\": \"sleep\", \"input_params\": "
	    "{\"duration_ms\": 5}, \"resources\": %s}", text);
	errbuf_clear(&eb);
	rc = json_submission_parse(b, strlen(b), &known, &wl, &details, &eb);
	*out = wl.requests;
	field[0] = '\0';
	d = json_array_get(details, 0);
	if (json_string_value(json_object_get(d, "field")) != NULL)
		snprintf(field, flen, "%s",
		    json_string_value(json_object_get(d, "field")));
	json_decref(details);
	workload_fini(&wl);
	return rc;
}

static void
test_resources(void)
{
	struct resources	 r;
	struct workload		 wl;
	char			 field[64];
	json_t			*o;

	is_int(resources_parse("{\"cpu_millis\": 1500, \"memory_mb\": 2048, "
	    "\"gpus\": 1}", &r, field, sizeof field), 0, "resources accepted");
	ok(r.cpu_millis == 1500 && r.memory_mb == 2048 && r.gpus == 1,
	    "every kind kept");
	is_int(resources_parse("{\"gpus\": 2}", &r, field, sizeof field), 0,
	    "one kind only");
	ok(r.cpu_millis == 0 && r.memory_mb == 0 && r.gpus == 2,
	    "the others are 0");
	is_int(resources_parse("{\"gpus\": -1}", &r, field, sizeof field),
	    ERR_INVAL, "negative GPUs refused");
	is_str(field, "resources.gpus", "named resources.gpus");
	is_int(resources_parse("{\"gpus\": 1025}", &r, field, sizeof field),
	    ERR_INVAL, "too many GPUs refused");
	is_int(resources_parse("{\"cpu_millis\": \"2\"}", &r, field,
	    sizeof field), ERR_INVAL, "a string refused");
	is_str(field, "resources.cpu_millis", "named resources.cpu_millis");
	is_int(resources_parse("{\"disk_gb\": 5}", &r, field, sizeof field),
	    ERR_INVAL, "an unknown kind refused");
	is_str(field, "resources.disk_gb", "named resources.disk_gb");
	is_int(resources_parse("[1]", &r, field, sizeof field), ERR_INVAL,
	    "not an object refused");
	is_str(field, "resources", "named resources");

	memset(&wl, 0, sizeof wl);
	memcpy(wl.id, "01a206e5-18b8-71df-8541-f7037789a710", MODEL_ID_LEN + 1);
	wl.type = "sleep";
	wl.requests.memory_mb = 512;
	o = json_workload(&wl, NULL, 0);
	is_int(json_integer_value(json_object_get(json_object_get(o, "resources"),
	    "memory_mb")), 512, "a workload shows its resources");
	json_decref(o);
}

static void
test_checkpoint_policy(void)
{
	struct checkpoint_policy p;
	struct workload	 wl, *wls = NULL;
	struct errbuf	 eb;
	json_t		*details = NULL, *o, *pol;
	const char	*body;
	char		*b;
	size_t		 n = 0, i;
	int		 rc;

	rc = policy_parse("{\"interval_seconds\": 5, \"on_progress_percent\": 25}", &p,
	    &details, &eb);
	ok(rc == 0 && p.interval_seconds == 5 && p.on_progress_percent == 25,
	    "policy: both members kept");
	rc = policy_parse("{\"interval_seconds\": 604800, \"on_progress_percent\": 100}",
	    &p, &details, &eb);
	ok(rc == 0 && p.interval_seconds == 604800 && p.on_progress_percent == 100,
	    "policy: both at the maximum");
	rc = policy_parse("{\"interval_seconds\": 0, \"on_progress_percent\": 0}", &p,
	    &details, &eb);
	ok(rc == 0 && p.interval_seconds == 0 && p.on_progress_percent == 0,
	    "policy: explicit zeros");
	rc = policy_parse("{\"on_progress_percent\": 10}", &p, &details, &eb);
	ok(rc == 0 && p.interval_seconds == 0 && p.on_progress_percent == 10,
	    "policy: interval absent is 0");
	rc = policy_parse("{\"interval_seconds\": 30}", &p, &details, &eb);
	ok(rc == 0 && p.interval_seconds == 30 && p.on_progress_percent == 0,
	    "policy: percent absent is 0");
	rc = policy_parse("{}", &p, &details, &eb);
	ok(rc == 0 && p.interval_seconds == 0 && p.on_progress_percent == 0,
	    "policy: {} is all zeros");

	body = "{\"workload_type\": \"sleep\", \"input_params\": {\"duration_ms\": 5}}";
	rc = json_submission_parse(body, strlen(body), &known, &wl, &details, &eb);
	ok(rc == 0 && wl.ckpt_policy.interval_seconds == 0 &&
	    wl.ckpt_policy.on_progress_percent == 0, "policy absent: all zeros");
	workload_fini(&wl);

	policy_bad("{\"interval_seconds\": -1}", "checkpoint_policy.interval_seconds",
	    "policy: negative interval");
	policy_bad("{\"interval_seconds\": 604801}", "checkpoint_policy.interval_seconds",
	    "policy: interval over 7 days");
	policy_bad("{\"interval_seconds\": \"5\"}", "checkpoint_policy.interval_seconds",
	    "policy: interval a string");
	policy_bad("{\"interval_seconds\": 1.5}", "checkpoint_policy.interval_seconds",
	    "policy: interval a real");
	policy_bad("{\"interval_seconds\": null}", "checkpoint_policy.interval_seconds",
	    "policy: interval null");
	policy_bad("{\"on_progress_percent\": 101}", "checkpoint_policy.on_progress_percent",
	    "policy: percent over 100");
	policy_bad("{\"on_progress_percent\": -5}", "checkpoint_policy.on_progress_percent",
	    "policy: negative percent");
	policy_bad("{\"on_progress_percent\": true}", "checkpoint_policy.on_progress_percent",
	    "policy: percent a boolean");
	policy_bad("{\"bogus\": 1}", "checkpoint_policy.bogus", "policy: unknown member");
	policy_bad("[5, 25]", "checkpoint_policy", "policy: an array");
	policy_bad("60", "checkpoint_policy", "policy: a number");
	policy_bad("null", "checkpoint_policy", "policy: null");

	rc = policy_parse("{\"interval_seconds\": -1, \"on_progress_percent\": 500, "
	    "\"every\": 3}", &p, &details, &eb);
	ok(rc == ERR_INVAL && json_array_size(details) == 3 &&
	    detail_find(details, "checkpoint_policy.interval_seconds") != NULL &&
	    detail_find(details, "checkpoint_policy.on_progress_percent") != NULL &&
	    detail_find(details, "checkpoint_policy.every") != NULL,
	    "policy: every problem is listed");
	json_decref(details);

	/* In a batch: the item's index and the member's path. */
	b = malloc(512);
	snprintf(b, 512, "{\"workloads\": [{\"workload_type\": \"render\", "
	    "\"checkpoint_policy\": {\"interval_seconds\": 9}}, {\"workload_type\": "
	    "\"render\", \"checkpoint_policy\": {\"on_progress_percent\": 200}}]}");
	rc = batch_parse(b, &n, &details, &eb);
	ok(rc == ERR_INVAL && detail_at(details, 1,
	    "checkpoint_policy.on_progress_percent") != NULL &&
	    detail_at(details, 0, NULL) == NULL, "batch: a bad policy names index 1 and "
	    "the member");
	ok(strstr(eb.msg, "workloads[1].checkpoint_policy.on_progress_percent") != NULL,
	    "batch: the message names it: %s", eb.msg);
	json_decref(details);
	snprintf(b, 512, "{\"workloads\": [{\"workload_type\": \"render\", "
	    "\"checkpoint_policy\": {\"interval_seconds\": 9}}, {\"workload_type\": "
	    "\"render\"}]}");
	rc = json_batch_parse(b, strlen(b), &known, &wls, &n, &details, &eb);
	ok(rc == 0 && n == 2 && wls[0].ckpt_policy.interval_seconds == 9 &&
	    wls[0].ckpt_policy.on_progress_percent == 0 &&
	    wls[1].ckpt_policy.interval_seconds == 0, "batch: each item has its policy");
	for (i = 0; i < n; i++)
		workload_fini(&wls[i]);
	free(wls);
	free(b);

	/* Rendering: always both members, zeros included. */
	memset(&wl, 0, sizeof wl);
	model_id_generate(wl.id);
	wl.type = strdup("sleep");
	o = round_trip(json_workload(&wl, NULL, 0));
	pol = json_object_get(o, "checkpoint_policy");
	ok(json_is_object(pol) && json_object_size(pol) == 2 &&
	    json_is_integer(json_object_get(pol, "interval_seconds")) &&
	    json_integer_value(json_object_get(pol, "interval_seconds")) == 0 &&
	    json_integer_value(json_object_get(pol, "on_progress_percent")) == 0 &&
	    json_is_integer(json_object_get(pol, "on_progress_percent")),
	    "render: a zero policy shows both members as 0");
	json_decref(o);
	wl.ckpt_policy.interval_seconds = 604800;
	wl.ckpt_policy.on_progress_percent = 25;
	o = round_trip(json_workload(&wl, NULL, 0));
	pol = json_object_get(o, "checkpoint_policy");
	ok(json_integer_value(json_object_get(pol, "interval_seconds")) == 604800 &&
	    json_integer_value(json_object_get(pol, "on_progress_percent")) == 25,
	    "render: the policy's values");
	json_decref(o);
	workload_fini(&wl);

	/* Submission -> record -> rendering gives the policy back. */
	b = policy_body("{\"interval_seconds\": 5, \"on_progress_percent\": 25}");
	rc = json_submission_parse(b, strlen(b), &known, &wl, &details, &eb);
	o = rc == 0 ? round_trip(json_workload(&wl, NULL, 0)) : NULL;
	pol = json_loads("{\"interval_seconds\": 5, \"on_progress_percent\": 25}", 0,
	    NULL);
	ok(o != NULL && json_equal(json_object_get(o, "checkpoint_policy"), pol),
	    "round trip: checkpoint_policy equal");
	json_decref(pol);
	json_decref(o);
	workload_fini(&wl);
	free(b);
}

static void
test_render_checkpoints(void)
{
	struct checkpoint_info	 c[2];
	struct checkpoint_policy pol = { 7, 0 };
	json_t			*o, *arr, *e;
	const char		*id = "0b7f2c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b";

	memset(c, 0, sizeof c);
	c[0].seq = 3;
	c[0].attempt = 1;
	c[0].size = 12;
	c[0].compressed_size = 21;
	c[0].at_ms = 1767225600000ULL;		/* 2026-01-01T00:00:00.000Z */
	c[1].seq = 4;
	c[1].attempt = 2;
	c[1].size = 5000000000ULL;		/* past 32 bits */
	c[1].compressed_size = 1000;
	c[1].at_ms = 1767225601234ULL;

	o = round_trip(json_checkpoint_list(id, c, 2));
	ok(o != NULL, "checkpoint list renders to valid JSON");
	is_str(str_of(o, "workload_id"), id, "list: workload_id");
	is_int(json_integer_value(json_object_get(o, "count")), 2, "list: count");
	arr = json_object_get(o, "checkpoints");
	ok(json_is_array(arr) && json_array_size(arr) == 2, "list: two checkpoints");
	e = json_array_get(arr, 0);
	ok(json_integer_value(json_object_get(e, "sequence")) == 3 &&
	    json_integer_value(json_object_get(e, "attempt")) == 1 &&
	    json_integer_value(json_object_get(e, "size")) == 12 &&
	    json_integer_value(json_object_get(e, "compressed_size")) == 21,
	    "list: the first one's numbers, in order");
	is_str(str_of(e, "created_at"), "2026-01-01T00:00:00.000Z", "list: created_at");
	ok(json_object_size(e) == 5, "list: exactly five members per checkpoint");
	e = json_array_get(arr, 1);
	ok(json_integer_value(json_object_get(e, "sequence")) == 4 &&
	    json_integer_value(json_object_get(e, "attempt")) == 2 &&
	    json_integer_value(json_object_get(e, "size")) == 5000000000LL,
	    "list: the second one, with a size past 32 bits");
	is_str(str_of(e, "created_at"), "2026-01-01T00:00:01.234Z", "list: its created_at");
	json_decref(o);

	o = round_trip(json_checkpoint_list(id, NULL, 0));
	ok(o != NULL && json_is_array(json_object_get(o, "checkpoints")) &&
	    json_array_size(json_object_get(o, "checkpoints")) == 0 &&
	    json_integer_value(json_object_get(o, "count")) == 0,
	    "an empty list: [] and count 0");
	json_decref(o);

	c[0].at_ms = 0;
	o = round_trip(json_checkpoint(&c[0]));
	ok(json_is_null(json_object_get(o, "created_at")), "an unknown time is null");
	json_decref(o);

	o = round_trip(json_checkpoint_policy(&pol));
	ok(json_integer_value(json_object_get(o, "interval_seconds")) == 7 &&
	    json_integer_value(json_object_get(o, "on_progress_percent")) == 0 &&
	    json_object_size(o) == 2, "json_checkpoint_policy: both members");
	json_decref(o);
}

int
main(void)
{
	strlist_add(&known, "exec");
	strlist_add(&known, "render");
	strlist_add(&known, "sleep");
	test_bad_bodies();
	test_collects_all();
	test_good_bodies();
	test_cancel_bodies();
	test_render_workload();
	test_submission_round_trip();
	test_render_others();
	test_customer_bodies();
	test_batch_bodies();
	test_many_problems();
	test_cancel_batch_bodies();
	test_empty_bodies();
	test_list_query();
	test_times();
	test_audit_query();
	test_render_tenancy();
	test_checkpoint_policy();
	test_resources();
	test_render_checkpoints();
	strlist_fini(&known);
	test_batch_answer();
	return tap_done();
}
