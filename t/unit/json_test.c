/*
 * Unit tests for web/json.c: submission validation (every rule, with the
 * right error code and field path), defaults, affinity parsing, cancel
 * bodies, and rendering records back to JSON.
 */
#include "web/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/coord.h"
#include "src/err.h"
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

	o = round_trip(json_workload(&wl));
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
	o = round_trip(json_workload(&wl));
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
	o = round_trip(json_workload(&wl));
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
	strlist_fini(&known);
	return tap_done();
}
