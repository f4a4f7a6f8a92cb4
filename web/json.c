/*
 * The API's JSON: request bodies in, records out (see json.h for the error
 * model).  Parsing is jansson's, behind two guards of our own: a nesting
 * limit checked on the raw text before jansson sees it, and duplicate keys
 * refused, so one body has one meaning.  Submission validation walks the
 * parsed object once and records every problem it finds with the path of
 * the offending field, so a client can fix a body in one round trip.
 *
 * Renderers never fail on odd stored data: text that is not valid UTF-8 is
 * repaired, and a stored JSON text that no longer parses is shown as a
 * string rather than dropped.
 */
#include "web/json.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/clock.h"
#include "src/coord.h"
#include "src/err.h"
#include "src/model.h"
#include "src/strs.h"

#define JSON_PATH_MAX	512	/* longest field path kept in a detail */
#define JSON_LIST_MAX	64	/* entries in an affinity list or tag set */

/* ---- small helpers ---- */

/* Length of the valid UTF-8 sequence at p (at most avail bytes), or 0 if
 * the bytes there are not one (stray continuation, overlong form,
 * surrogate, beyond U+10FFFF, truncated). */
static size_t
json_utf8_seq(const unsigned char *p, size_t avail)
{
	unsigned char	 c = p[0], lo = 0x80, hi = 0xbf;
	size_t		 n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (avail < n)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

json_t *
json_text(const char *s)
{
	const unsigned char	*p;
	json_t			*v;
	char			*fix;
	size_t			 len, i, o, n;

	if (s == NULL)
		return json_null();
	if ((v = json_string(s)) != NULL)
		return v;
	/* Invalid UTF-8 (or out of memory): repair and try once more.  Each
	 * bad byte becomes U+FFFD, three bytes, so 3 × len is enough. */
	p = (const unsigned char *)s;
	len = strlen(s);
	if ((fix = malloc(3 * len + 1)) == NULL)
		return NULL;
	for (i = 0, o = 0; i < len; ) {
		if ((n = json_utf8_seq(p + i, len - i)) > 0) {
			memcpy(fix + o, p + i, n);
			o += n;
			i += n;
		} else {
			memcpy(fix + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
		}
	}
	fix[o] = '\0';
	v = json_string(fix);
	free(fix);
	return v;
}

json_t *
json_time(uint64_t ms)
{
	char	 buf[40];

	if (ms == 0)
		return json_null();
	return json_string(clock_format_rfc3339(ms, buf, sizeof buf));
}

/* Sets o[k] = v, taking v; records failure (v NULL, or no memory) in *bad. */
static void
json_put(json_t *o, const char *k, json_t *v, bool *bad)
{
	if (v == NULL || json_object_set_new(o, k, v) != 0)
		*bad = true;
}

/* Line and column (1-based, columns in bytes) of offset at in s. */
static void
json_position(const char *s, size_t at, int *line, int *col)
{
	size_t	 i;

	*line = 1;
	*col = 1;
	for (i = 0; i < at; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else
			(*col)++;
	}
}

/* The offset at which the nesting of arrays and objects in s first goes
 * deeper than max, or -1.  Works on the raw text (tracking strings and
 * escapes), so a hostile body never reaches the recursive parser. */
static long
json_depth_exceeded(const char *s, size_t len, int max)
{
	bool	 in_str = false, esc = false;
	int	 depth = 0;
	size_t	 i;

	for (i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (esc)
				esc = false;
			else if (c == '\\')
				esc = true;
			else if (c == '"')
				in_str = false;
			continue;
		}
		switch (c) {
		case '"':
			in_str = true;
			break;
		case '[':
		case '{':
			if (++depth > max)
				return (long)i;
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
	}
	return -1;
}

/* [{"line", "column", "position", "message"}] for a parse error. */
static json_t *
json_parse_details(int line, int col, long pos, const char *msg)
{
	json_t	*d, *arr;
	bool	 bad = false;

	if ((arr = json_array()) == NULL)
		return NULL;
	if ((d = json_object()) == NULL) {
		json_decref(arr);
		return NULL;
	}
	json_put(d, "line", json_integer(line), &bad);
	json_put(d, "column", json_integer(col), &bad);
	json_put(d, "position", json_integer(pos), &bad);
	json_put(d, "message", json_text(msg), &bad);
	if (bad || json_array_append_new(arr, d) != 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

int
json_body_parse(const char *body, size_t len, json_t **out, json_t **details,
    struct errbuf *eb)
{
	json_error_t	 je;
	json_t		*v;
	long		 at;
	int		 line, col;
	char		 msg[128];

	*out = NULL;
	*details = NULL;
	if ((at = json_depth_exceeded(body, len, JSON_MAX_DEPTH)) >= 0) {
		json_position(body, (size_t)at, &line, &col);
		snprintf(msg, sizeof msg, "nesting deeper than %d levels",
		    JSON_MAX_DEPTH);
		*details = json_parse_details(line, col, at, msg);
		return err_setf(eb, ERR_INVAL,
		    "malformed JSON at line %d, column %d: %s", line, col, msg);
	}
	v = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
	if (v == NULL) {
		if (json_error_code(&je) == json_error_out_of_memory)
			return err_setf(eb, ERR_NOMEM, "out of memory parsing JSON");
		*details = json_parse_details(je.line, je.column, (long)je.position,
		    je.text);
		return err_setf(eb, ERR_INVAL,
		    "malformed JSON at line %d, column %d (position %d): %s",
		    je.line, je.column, je.position, je.text);
	}
	*out = v;
	return 0;
}

/* ---- validation context ---- */

struct json_ctx {
	json_t	*details;		/* [{"field", "message", ...}] */
	int	 code;			/* 0, ERR_UNPROCESSABLE or ERR_INVAL: the worst seen */
	bool	 nomem;
	size_t	 n;			/* problems recorded */
	char	 first[ERRBUF_LEN];	/* "field: message" of the first one */
};

/* Records a problem with field; returns the detail object (borrowed) so a
 * caller can add to it, or NULL if out of memory. */
static json_t *
json_ctx_add(struct json_ctx *cx, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static json_t *
json_ctx_add(struct json_ctx *cx, int code, const char *field, const char *fmt, ...)
{
	char	 msg[512];
	va_list	 ap;
	json_t	*d;
	bool	 bad = false;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (code == ERR_INVAL || cx->code == 0)
		cx->code = code;
	if (cx->n++ == 0)
		snprintf(cx->first, sizeof cx->first, "%.120s: %.120s", field, msg);
	if ((d = json_object()) == NULL) {
		cx->nomem = true;
		return NULL;
	}
	json_put(d, "field", json_text(field), &bad);
	json_put(d, "message", json_text(msg), &bad);
	if (bad || json_array_append_new(cx->details, d) != 0) {
		cx->nomem = true;
		return NULL;
	}
	return d;
}

/* dst = "base.key" ("key" if base is empty). */
static void
json_path_join(char *dst, size_t size, const char *base, const char *key)
{
	if (base[0] == '\0')
		snprintf(dst, size, "%.200s", key);
	else
		snprintf(dst, size, "%.300s.%.200s", base, key);
}

/* Reports every key of obj that is not in allowed (NULL-terminated). */
static void
json_keys_check(struct json_ctx *cx, json_t *obj, const char *path,
    const char *const *allowed)
{
	const char	*k;
	json_t		*v;
	size_t		 i;
	char		 p[JSON_PATH_MAX];

	json_object_foreach(obj, k, v) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(k, allowed[i]) == 0)
				break;
		if (allowed[i] != NULL)
			continue;
		json_path_join(p, sizeof p, path, k);
		json_ctx_add(cx, ERR_INVAL, p, "unknown field");
	}
}

/* An optional integer member key of obj in [min, max], else def.  Returns
 * false (having recorded the problem) if present but not acceptable. */
static bool
json_int_get(struct json_ctx *cx, int code, json_t *obj, const char *key,
    const char *path, json_int_t min, json_int_t max, json_int_t def, json_int_t *out)
{
	json_t		*v = json_object_get(obj, key);
	json_int_t	 n;

	*out = def;
	if (v == NULL)
		return true;
	if (!json_is_integer(v)) {
		json_ctx_add(cx, code, path, "must be an integer");
		return false;
	}
	n = json_integer_value(v);
	if (n < min || n > max) {
		json_ctx_add(cx, code, path, "must be between %" JSON_INTEGER_FORMAT
		    " and %" JSON_INTEGER_FORMAT, min, max);
		return false;
	}
	*out = n;
	return true;
}

/* v as a name (model_name_valid), or NULL having recorded the problem. */
static const char *
json_name_get(struct json_ctx *cx, json_t *v, const char *path)
{
	const char	*s;

	if (!json_is_string(v)) {
		json_ctx_add(cx, ERR_INVAL, path, "must be a string");
		return NULL;
	}
	s = json_string_value(v);
	if (!model_name_valid(s)) {
		json_ctx_add(cx, ERR_INVAL, path,
		    "must be 1..%d characters from [A-Za-z0-9._:/-]", MODEL_NAME_MAX);
		return NULL;
	}
	return s;
}

/* A tag value: a string of at most MODEL_NAME_MAX bytes without control
 * characters (it is compared byte for byte with a worker's tag). */
static bool
json_tag_value_ok(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= MODEL_NAME_MAX)
			return false;
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	}
	return true;
}

/* {"key": "value", ...} into *out. */
static void
json_tags_parse(struct json_ctx *cx, json_t *v, const char *path, struct tagset *out)
{
	const char	*k;
	json_t		*val;
	char		 p[JSON_PATH_MAX];

	if (!json_is_object(v)) {
		json_ctx_add(cx, ERR_INVAL, path, "must be an object of strings");
		return;
	}
	if (json_object_size(v) > JSON_LIST_MAX) {
		json_ctx_add(cx, ERR_INVAL, path, "must have at most %d tags",
		    JSON_LIST_MAX);
		return;
	}
	json_object_foreach(v, k, val) {
		json_path_join(p, sizeof p, path, k);
		if (!model_name_valid(k)) {
			json_ctx_add(cx, ERR_INVAL, p,
			    "tag key must be 1..%d characters from [A-Za-z0-9._:/-]",
			    MODEL_NAME_MAX);
			continue;
		}
		if (!json_is_string(val)) {
			json_ctx_add(cx, ERR_INVAL, p, "must be a string");
			continue;
		}
		if (!json_tag_value_ok(json_string_value(val))) {
			json_ctx_add(cx, ERR_INVAL, p,
			    "must be at most %d bytes without control characters",
			    MODEL_NAME_MAX);
			continue;
		}
		if (tagset_set(out, k, json_string_value(val)) != 0)
			cx->nomem = true;
	}
}

/* ["name", ...] into *out, without duplicates. */
static void
json_names_parse(struct json_ctx *cx, json_t *v, const char *path, struct strlist *out)
{
	const char	*s;
	json_t		*e;
	size_t		 i;
	char		 p[JSON_PATH_MAX];

	if (!json_is_array(v)) {
		json_ctx_add(cx, ERR_INVAL, path, "must be an array of strings");
		return;
	}
	if (json_array_size(v) > JSON_LIST_MAX) {
		json_ctx_add(cx, ERR_INVAL, path, "must have at most %d entries",
		    JSON_LIST_MAX);
		return;
	}
	json_array_foreach(v, i, e) {
		snprintf(p, sizeof p, "%.480s[%zu]", path, i);
		if ((s = json_name_get(cx, e, p)) == NULL)
			continue;
		if (!strlist_contains(out, s) && strlist_add(out, s) != 0)
			cx->nomem = true;
	}
}

/* One of hard_affinity / soft_affinity / anti_affinity. */
static void
json_affinity_part_parse(struct json_ctx *cx, json_t *v, const char *path,
    const char *const *allowed, char **worker_id, struct tagset *tags,
    struct strlist *types)
{
	const char	*s;
	json_t		*m;
	char		 p[JSON_PATH_MAX];

	if (!json_is_object(v)) {
		json_ctx_add(cx, ERR_INVAL, path, "must be an object");
		return;
	}
	json_keys_check(cx, v, path, allowed);
	if (worker_id != NULL && (m = json_object_get(v, "worker_id")) != NULL) {
		json_path_join(p, sizeof p, path, "worker_id");
		if ((s = json_name_get(cx, m, p)) != NULL && str_set(worker_id, s) != 0)
			cx->nomem = true;
	}
	if (tags != NULL && (m = json_object_get(v, "worker_tags")) != NULL) {
		json_path_join(p, sizeof p, path, "worker_tags");
		json_tags_parse(cx, m, p, tags);
	}
	if (types != NULL && (m = json_object_get(v, "workload_types")) != NULL) {
		json_path_join(p, sizeof p, path, "workload_types");
		json_names_parse(cx, m, p, types);
	}
}

static void
json_affinity_parse(struct json_ctx *cx, json_t *v, struct affinity *a)
{
	static const char *const top[] = { "hard_affinity", "soft_affinity",
	    "anti_affinity", NULL };
	static const char *const hard[] = { "worker_id", "worker_tags",
	    "workload_types", NULL };
	static const char *const soft[] = { "worker_id", "worker_tags", NULL };
	static const char *const anti[] = { "workload_types", NULL };
	json_t	*m;

	if (!json_is_object(v)) {
		json_ctx_add(cx, ERR_INVAL, "affinity_rules", "must be an object");
		return;
	}
	json_keys_check(cx, v, "affinity_rules", top);
	if ((m = json_object_get(v, "hard_affinity")) != NULL)
		json_affinity_part_parse(cx, m, "affinity_rules.hard_affinity", hard,
		    &a->hard_worker_id, &a->hard_tags, &a->hard_types);
	if ((m = json_object_get(v, "soft_affinity")) != NULL)
		json_affinity_part_parse(cx, m, "affinity_rules.soft_affinity", soft,
		    &a->soft_worker_id, &a->soft_tags, NULL);
	if ((m = json_object_get(v, "anti_affinity")) != NULL)
		json_affinity_part_parse(cx, m, "affinity_rules.anti_affinity", anti,
		    NULL, NULL, &a->anti_types);
}

/* input_params of the built-in "sleep": {"duration_ms": 0..7 days}.  Other
 * keys are left to the type itself. */
static void
json_sleep_params_check(struct json_ctx *cx, json_t *params)
{
	json_int_t	 ms;

	if (json_object_get(params, "duration_ms") == NULL) {
		json_ctx_add(cx, ERR_UNPROCESSABLE, "input_params.duration_ms",
		    "is required for workload type \"sleep\"");
		return;
	}
	json_int_get(cx, ERR_UNPROCESSABLE, params, "duration_ms",
	    "input_params.duration_ms", 0, JSON_SLEEP_MAX_MS, 0, &ms);
}

/* input_params of the built-in "exec": argv (non-empty array of strings,
 * argv[0] non-empty), optional env (object of strings), optional cwd. */
static void
json_exec_params_check(struct json_ctx *cx, json_t *params)
{
	const char	*k;
	json_t		*argv, *env, *cwd, *e;
	size_t		 i;
	char		 p[JSON_PATH_MAX];

	argv = json_object_get(params, "argv");
	if (argv == NULL)
		json_ctx_add(cx, ERR_UNPROCESSABLE, "input_params.argv",
		    "is required for workload type \"exec\"");
	else if (!json_is_array(argv) || json_array_size(argv) == 0)
		json_ctx_add(cx, ERR_UNPROCESSABLE, "input_params.argv",
		    "must be a non-empty array of strings");
	else {
		json_array_foreach(argv, i, e) {
			snprintf(p, sizeof p, "input_params.argv[%zu]", i);
			if (!json_is_string(e))
				json_ctx_add(cx, ERR_UNPROCESSABLE, p, "must be a string");
			else if (i == 0 && json_string_length(e) == 0)
				json_ctx_add(cx, ERR_UNPROCESSABLE, p,
				    "must name the program to run");
		}
	}
	if ((env = json_object_get(params, "env")) != NULL) {
		if (!json_is_object(env))
			json_ctx_add(cx, ERR_UNPROCESSABLE, "input_params.env",
			    "must be an object of strings");
		else {
			json_object_foreach(env, k, e) {
				json_path_join(p, sizeof p, "input_params.env", k);
				if (k[0] == '\0' || strchr(k, '=') != NULL)
					json_ctx_add(cx, ERR_UNPROCESSABLE, p,
					    "variable name must be non-empty and without '='");
				else if (!json_is_string(e))
					json_ctx_add(cx, ERR_UNPROCESSABLE, p,
					    "must be a string");
			}
		}
	}
	if ((cwd = json_object_get(params, "cwd")) != NULL &&
	    (!json_is_string(cwd) || json_string_length(cwd) == 0))
		json_ctx_add(cx, ERR_UNPROCESSABLE, "input_params.cwd",
		    "must be a non-empty string");
}

/* workload_type: required, a name, and one of known. */
static const char *
json_type_check(struct json_ctx *cx, json_t *body, const struct strlist *known)
{
	json_t		*v = json_object_get(body, "workload_type"), *d, *list;
	const char	*s;
	char		 names[ERRBUF_LEN / 2];
	size_t		 i, o = 0;
	bool		 bad = false;

	if (v == NULL) {
		json_ctx_add(cx, ERR_INVAL, "workload_type", "is required");
		return NULL;
	}
	if ((s = json_name_get(cx, v, "workload_type")) == NULL)
		return NULL;
	if (known != NULL && strlist_contains(known, s))
		return s;
	names[0] = '\0';
	for (i = 0; known != NULL && i < known->n && o < sizeof names; i++) {
		int n = snprintf(names + o, sizeof names - o, "%s%s",
		    i > 0 ? ", " : "", known->v[i]);
		if (n > 0)
			o += (size_t)n;
	}
	d = json_ctx_add(cx, ERR_UNPROCESSABLE, "workload_type",
	    "unknown workload type \"%s\"; known types: %s", s, names);
	if (d == NULL)
		return NULL;
	if ((list = json_array()) == NULL) {
		cx->nomem = true;
		return NULL;
	}
	for (i = 0; known != NULL && i < known->n; i++)
		if (json_array_append_new(list, json_text(known->v[i])) != 0)
			bad = true;
	json_put(d, "known_types", list, &bad);
	if (bad)
		cx->nomem = true;
	return NULL;
}

/* Fills eb from cx and returns the overall code. */
static int
json_ctx_finish(struct json_ctx *cx, struct errbuf *eb)
{
	if (cx->nomem)
		return err_setf(eb, ERR_NOMEM, "out of memory validating the body");
	if (cx->n == 1)
		return err_setf(eb, cx->code, "%s", cx->first);
	return err_setf(eb, cx->code, "%s (and %zu more problem%s)", cx->first,
	    cx->n - 1, cx->n > 2 ? "s" : "");
}

int
json_submission_parse(const char *body, size_t len, const struct strlist *known_types,
    struct workload *out, json_t **details, struct errbuf *eb)
{
	static const char *const top[] = { "workload_type", "input_params",
	    "priority", "affinity_rules", "max_retries", "timeout_seconds", NULL };
	struct json_ctx	 cx;
	struct workload	 wl;
	json_t		*root = NULL, *empty = NULL, *params, *m;
	json_int_t	 prio, retries, timeout;
	const char	*type;
	char		*pj = NULL;
	int		 rc;

	memset(out, 0, sizeof *out);
	memset(&wl, 0, sizeof wl);
	memset(&cx, 0, sizeof cx);
	*details = NULL;
	if ((rc = json_body_parse(body, len, &root, details, eb)) != 0)
		return rc;
	if ((cx.details = json_array()) == NULL) {
		json_decref(root);
		return err_setf(eb, ERR_NOMEM, "out of memory");
	}
	if (!json_is_object(root)) {
		json_ctx_add(&cx, ERR_INVAL, "body", "must be a JSON object");
		goto done;
	}
	json_keys_check(&cx, root, "", top);
	type = json_type_check(&cx, root, known_types);

	/* An absent input_params is {}: a built-in type still checks it, so
	 * the detail names the missing member. */
	params = json_object_get(root, "input_params");
	if (params != NULL && !json_is_object(params)) {
		json_ctx_add(&cx, ERR_INVAL, "input_params", "must be an object");
		type = NULL;
	} else if (params == NULL && (params = empty = json_object()) == NULL)
		cx.nomem = true;
	if (params != NULL && type != NULL) {
		if (strcmp(type, JSON_TYPE_SLEEP) == 0)
			json_sleep_params_check(&cx, params);
		else if (strcmp(type, JSON_TYPE_EXEC) == 0)
			json_exec_params_check(&cx, params);
	}

	json_int_get(&cx, ERR_INVAL, root, "priority", "priority", 0,
	    MODEL_PRIORITY_MAX, JSON_DEFAULT_PRIORITY, &prio);
	json_int_get(&cx, ERR_INVAL, root, "max_retries", "max_retries", 0,
	    JSON_MAX_RETRIES, JSON_DEFAULT_RETRIES, &retries);
	json_int_get(&cx, ERR_INVAL, root, "timeout_seconds", "timeout_seconds", 0,
	    JSON_MAX_TIMEOUT_S, 0, &timeout);
	if ((m = json_object_get(root, "affinity_rules")) != NULL)
		json_affinity_parse(&cx, m, &wl.affinity);
	if (cx.n > 0 || cx.nomem)
		goto done;

	pj = json_dumps(params, JSON_COMPACT);
	if (pj == NULL || (wl.type = strdup(type)) == NULL) {
		cx.nomem = true;
		goto done;
	}
	wl.params_json = pj;
	pj = NULL;
	wl.priority = (uint32_t)prio;
	wl.max_retries = (uint32_t)retries;
	wl.timeout_seconds = (uint32_t)timeout;
	wl.status = WL_PENDING;
	*out = wl;
	memset(&wl, 0, sizeof wl);
	json_decref(cx.details);
	json_decref(empty);
	json_decref(root);
	errbuf_clear(eb);
	return 0;
done:
	free(pj);
	workload_fini(&wl);
	json_decref(empty);
	json_decref(root);
	rc = json_ctx_finish(&cx, eb);
	if (rc == ERR_NOMEM) {
		json_decref(cx.details);
		return rc;
	}
	*details = cx.details;
	return rc;
}

int
json_cancel_parse(const char *body, size_t len, char **reason, json_t **details,
    struct errbuf *eb)
{
	static const char *const allowed[] = { "reason", NULL };
	struct json_ctx	 cx;
	json_t		*root = NULL, *r;
	size_t		 i;
	int		 rc;

	*reason = NULL;
	*details = NULL;
	for (i = 0; i < len; i++)
		if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r' &&
		    body[i] != '\n')
			break;
	if (i == len)
		return 0;
	if ((rc = json_body_parse(body, len, &root, details, eb)) != 0)
		return rc;
	memset(&cx, 0, sizeof cx);
	if ((cx.details = json_array()) == NULL) {
		json_decref(root);
		return err_setf(eb, ERR_NOMEM, "out of memory");
	}
	if (!json_is_object(root))
		json_ctx_add(&cx, ERR_INVAL, "body", "must be a JSON object");
	else {
		json_keys_check(&cx, root, "", allowed);
		if ((r = json_object_get(root, "reason")) != NULL) {
			if (!json_is_string(r))
				json_ctx_add(&cx, ERR_INVAL, "reason", "must be a string");
			else if (json_string_length(r) > JSON_REASON_MAX)
				json_ctx_add(&cx, ERR_INVAL, "reason",
				    "must be at most %d bytes", JSON_REASON_MAX);
			else if ((*reason = strdup(json_string_value(r))) == NULL)
				cx.nomem = true;
		}
	}
	json_decref(root);
	if (cx.n == 0 && !cx.nomem) {
		json_decref(cx.details);
		return 0;
	}
	free(*reason);
	*reason = NULL;
	rc = json_ctx_finish(&cx, eb);
	if (rc == ERR_NOMEM) {
		json_decref(cx.details);
		return rc;
	}
	*details = cx.details;
	return rc;
}

/* ---- renderers ---- */

/* A stored JSON text as a value; a text that does not parse (it should
 * always parse) is shown as a string rather than lost. */
static json_t *
json_stored(const char *text, bool empty_object)
{
	json_t	*v;

	if (text == NULL)
		return empty_object ? json_object() : json_null();
	if ((v = json_loads(text, JSON_DECODE_ANY, NULL)) != NULL)
		return v;
	return json_text(text);
}

static json_t *
json_tags(const struct tagset *t)
{
	json_t	*o;
	size_t	 i;
	bool	 bad = false;

	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; i < t->n; i++)
		json_put(o, t->v[i].key, json_text(t->v[i].value), &bad);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
json_names(const struct strlist *l)
{
	json_t	*a;
	size_t	 i;

	if ((a = json_array()) == NULL)
		return NULL;
	for (i = 0; i < l->n; i++)
		if (json_array_append_new(a, json_text(l->v[i])) != 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *
json_affinity(const struct affinity *a)
{
	json_t	*o, *p;
	bool	 bad = false;

	if ((o = json_object()) == NULL)
		return NULL;
	if (a->hard_worker_id != NULL || a->hard_tags.n > 0 || a->hard_types.n > 0) {
		if ((p = json_object()) == NULL)
			goto fail;
		if (a->hard_worker_id != NULL)
			json_put(p, "worker_id", json_text(a->hard_worker_id), &bad);
		if (a->hard_tags.n > 0)
			json_put(p, "worker_tags", json_tags(&a->hard_tags), &bad);
		if (a->hard_types.n > 0)
			json_put(p, "workload_types", json_names(&a->hard_types), &bad);
		json_put(o, "hard_affinity", p, &bad);
	}
	if (a->soft_worker_id != NULL || a->soft_tags.n > 0) {
		if ((p = json_object()) == NULL)
			goto fail;
		if (a->soft_worker_id != NULL)
			json_put(p, "worker_id", json_text(a->soft_worker_id), &bad);
		if (a->soft_tags.n > 0)
			json_put(p, "worker_tags", json_tags(&a->soft_tags), &bad);
		json_put(o, "soft_affinity", p, &bad);
	}
	if (a->anti_types.n > 0) {
		if ((p = json_object()) == NULL)
			goto fail;
		json_put(p, "workload_types", json_names(&a->anti_types), &bad);
		json_put(o, "anti_affinity", p, &bad);
	}
	if (!bad)
		return o;
fail:
	json_decref(o);
	return NULL;
}

json_t *
json_workload(const struct workload *w)
{
	json_t	*o;
	bool	 bad = false;

	if ((o = json_object()) == NULL)
		return NULL;
	json_put(o, "id", json_text(w->id), &bad);
	json_put(o, "customer_id", json_text(w->customer_id), &bad);
	json_put(o, "workload_type", json_text(w->type), &bad);
	json_put(o, "input_params", json_stored(w->params_json, true), &bad);
	json_put(o, "priority", json_integer(w->priority), &bad);
	json_put(o, "tier", json_text(tier_name(w->tier)), &bad);
	json_put(o, "effective_priority",
	    json_integer((json_int_t)workload_effective_priority(w)), &bad);
	json_put(o, "status", json_text(wl_status_name(w->status)), &bad);
	json_put(o, "affinity_rules", json_affinity(&w->affinity), &bad);
	json_put(o, "max_retries", json_integer(w->max_retries), &bad);
	json_put(o, "timeout_seconds", json_integer(w->timeout_seconds), &bad);
	json_put(o, "attempt", json_integer(w->attempt), &bad);
	json_put(o, "worker_id", json_text(w->worker_id), &bad);
	json_put(o, "progress", json_real(isfinite(w->progress) ? w->progress : 0.0),
	    &bad);
	json_put(o, "progress_message", json_text(w->progress_message), &bad);
	json_put(o, "result", json_stored(w->result_json, false), &bad);
	json_put(o, "error", json_text(w->error), &bad);
	json_put(o, "checkpoint_seq", json_integer((json_int_t)w->checkpoint_seq), &bad);
	json_put(o, "cancel_requested", json_boolean(w->cancel_requested), &bad);
	json_put(o, "failures", json_integer(w->failures), &bad);
	json_put(o, "created_at", json_time(w->created_ms), &bad);
	json_put(o, "updated_at", json_time(w->updated_ms), &bad);
	json_put(o, "scheduled_at", json_time(w->scheduled_ms), &bad);
	json_put(o, "started_at", json_time(w->started_ms), &bad);
	json_put(o, "finished_at", json_time(w->finished_ms), &bad);
	json_put(o, "not_before", json_time(w->not_before_ms), &bad);
	json_put(o, "request_id", json_text(w->request_id), &bad);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
json_worker(const struct worker_rec *w)
{
	json_t	*o;
	bool	 bad = false;

	if ((o = json_object()) == NULL)
		return NULL;
	json_put(o, "id", json_text(w->id), &bad);
	json_put(o, "tags", json_tags(&w->tags), &bad);
	json_put(o, "capabilities", json_names(&w->capabilities), &bad);
	json_put(o, "capacity", json_integer(w->capacity), &bad);
	json_put(o, "used_slots", json_integer(w->used), &bad);
	json_put(o, "status", json_text(worker_status_name(w->status)), &bad);
	json_put(o, "last_heartbeat", json_time(w->last_heartbeat_ms), &bad);
	json_put(o, "registered_at", json_time(w->registered_ms), &bad);
	json_put(o, "version", json_text(w->version), &bad);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
json_cluster(const struct coord_status *s)
{
	json_t	*o;
	bool	 bad = false;

	if ((o = json_object()) == NULL)
		return NULL;
	json_put(o, "node_id", json_integer((json_int_t)s->node_id), &bad);
	json_put(o, "leader", json_boolean(s->leader), &bad);
	json_put(o, "ready", json_boolean(s->ready), &bad);
	json_put(o, "term", json_integer((json_int_t)s->term), &bad);
	json_put(o, "commit_index", json_integer((json_int_t)s->commit_index), &bad);
	json_put(o, "applied_index", json_integer((json_int_t)s->applied_index), &bad);
	json_put(o, "leader_id", s->leader_id != 0 ?
	    json_integer((json_int_t)s->leader_id) : json_null(), &bad);
	json_put(o, "leader_address", s->leader_address[0] != '\0' ?
	    json_text(s->leader_address) : json_null(), &bad);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

json_t *
json_error_body(int err, const char *message, json_t *details, const char *request_id)
{
	json_t	*o, *e;
	bool	 bad = false;

	if (details == NULL && (details = json_array()) == NULL)
		return NULL;
	if ((o = json_object()) == NULL || (e = json_object()) == NULL) {
		json_decref(o);
		json_decref(details);
		return NULL;
	}
	json_put(e, "code", json_text(err_code_name(err)), &bad);
	json_put(e, "message", json_text(message != NULL ? message : ""), &bad);
	json_put(e, "details", details, &bad);
	json_put(o, "error", e, &bad);
	json_put(o, "request_id", json_text(request_id), &bad);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}
