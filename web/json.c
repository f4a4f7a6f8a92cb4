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

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/clock.h"
#include "src/cmd.h"
#include "src/coord.h"
#include "src/err.h"
#include "src/fsm.h"
#include "src/model.h"
#include "src/strs.h"

#define JSON_PATH_MAX	512	/* longest field path kept in a detail */
#define JSON_DETAILS_MAX 100	/* details listed in one error */
#define JSON_XSTR(x)	#x
#define JSON_STR(x)	JSON_XSTR(x)
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

/* A renderer's result: o, or NULL (o released) if any json_put failed. */
static json_t *
json_finish(json_t *o, bool bad)
{
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
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
		if (*details != NULL && json_object_update_new(json_array_get(*details, 0),
		    json_pack("{s:s,s:i}", "limit", "max_json_depth", "value",
		    JSON_MAX_DEPTH)) != 0) {
			json_decref(*details);
			*details = NULL;
		}
		return err_setf(eb, ERR_INVAL,
		    "malformed JSON at line %d, column %d: %s (max_json_depth)", line, col,
		    msg);
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
	bool	 types_listed;		/* a detail already carries known_types */
	long	 index;			/* batch item being checked, or -1 */
	size_t	 n;			/* problems found (details keeps the first ones) */
	char	 first[ERRBUF_LEN];	/* "field: message" of the first one */
};

/* Zeroes cx and gives it an empty details array.  0 or ERR_NOMEM. */
static int
json_ctx_init(struct json_ctx *cx)
{
	memset(cx, 0, sizeof *cx);
	cx->index = -1;
	if ((cx->details = json_array()) == NULL)
		return ERR_NOMEM;
	return 0;
}

/* Records a problem with field; returns the detail object (borrowed) so a
 * caller can add to it, or NULL if out of memory or past the cap. */
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
	if (cx->n++ == 0) {
		if (cx->index >= 0 && strncmp(field, "workloads[", 10) != 0)
			snprintf(cx->first, sizeof cx->first, "workloads[%ld].%.100s: %.120s",
			    cx->index % 100000, field, msg);
		else
			snprintf(cx->first, sizeof cx->first, "%.120s: %.120s", field, msg);
	}
	/* A body can have a problem per key: the answer stays small. */
	if (cx->n > JSON_DETAILS_MAX)
		return NULL;
	if ((d = json_object()) == NULL) {
		cx->nomem = true;
		return NULL;
	}
	if (cx->index >= 0)
		json_put(d, "index", json_integer(cx->index), &bad);
	json_put(d, "field", json_text(field), &bad);
	json_put(d, "message", json_text(msg), &bad);
	if (bad || json_array_append_new(cx->details, d) != 0) {
		cx->nomem = true;
		return NULL;
	}
	return d;
}

/* Adds {"limit": name, "value": value} to a detail (NULL: nothing). */
static void
json_ctx_limit(struct json_ctx *cx, json_t *d, const char *name, json_int_t value)
{
	bool	 bad = false;

	if (d == NULL)
		return;
	json_put(d, "limit", json_string(name), &bad);
	json_put(d, "value", json_integer(value), &bad);
	if (bad)
		cx->nomem = true;
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

/* checkpoint_policy: {"interval_seconds", "on_progress_percent"}, both
 * optional; an absent member stays 0 (the worker's default). */
static void
json_ckpt_policy_parse(struct json_ctx *cx, json_t *v, struct checkpoint_policy *p)
{
	static const char *const allowed[] = { "interval_seconds",
	    "on_progress_percent", NULL };
	json_int_t	 interval, percent;

	if (!json_is_object(v)) {
		json_ctx_add(cx, ERR_INVAL, "checkpoint_policy", "must be an object");
		return;
	}
	json_keys_check(cx, v, "checkpoint_policy", allowed);
	if (json_int_get(cx, ERR_INVAL, v, "interval_seconds",
	    "checkpoint_policy.interval_seconds", 0, JSON_CKPT_INTERVAL_MAX, 0,
	    &interval))
		p->interval_seconds = (uint32_t)interval;
	if (json_int_get(cx, ERR_INVAL, v, "on_progress_percent",
	    "checkpoint_policy.on_progress_percent", 0, JSON_CKPT_PERCENT_MAX, 0,
	    &percent))
		p->on_progress_percent = (uint32_t)percent;
}

/* resources: {"cpu_millis", "memory_mb", "gpus"}, each optional, 0 by
 * default. */
static void
json_resources_parse(struct json_ctx *cx, json_t *v, struct resources *r)
{
	static const char *const allowed[] = { "cpu_millis", "memory_mb", "gpus",
	    NULL };
	json_int_t	 n;

	if (!json_is_object(v)) {
		json_ctx_add(cx, ERR_INVAL, "resources", "must be an object");
		return;
	}
	json_keys_check(cx, v, "resources", allowed);
	if (json_int_get(cx, ERR_INVAL, v, "cpu_millis", "resources.cpu_millis",
	    0, RESOURCE_CPU_MAX, 0, &n))
		r->cpu_millis = (uint32_t)n;
	if (json_int_get(cx, ERR_INVAL, v, "memory_mb", "resources.memory_mb",
	    0, RESOURCE_MEMORY_MAX, 0, &n))
		r->memory_mb = (uint32_t)n;
	if (json_int_get(cx, ERR_INVAL, v, "gpus", "resources.gpus", 0,
	    RESOURCE_GPUS_MAX, 0, &n))
		r->gpus = (uint32_t)n;
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
	/* The list is the same for every item of a batch: given once. */
	if (d == NULL || cx->types_listed)
		return NULL;
	cx->types_listed = true;
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
	return err_setf(eb, cx->code, "%s (and %zu more problem%s%s)", cx->first,
	    cx->n - 1, cx->n > 2 ? "s" : "", cx->n > JSON_DETAILS_MAX ?
	    "; details lists the first " JSON_STR(JSON_DETAILS_MAX) : "");
}

/* Ends a validation: 0 (cx had no problem), or the code with *details
 * taking cx's array.  Frees the array in every other case. */
static int
json_ctx_end(struct json_ctx *cx, json_t **details, struct errbuf *eb)
{
	int	 rc;

	if (cx->n == 0 && !cx->nomem) {
		json_decref(cx->details);
		errbuf_clear(eb);
		return 0;
	}
	rc = json_ctx_finish(cx, eb);
	if (rc == ERR_NOMEM) {
		json_decref(cx->details);
		return rc;
	}
	*details = cx->details;
	return rc;
}

/* Validates one submission object (the body, or the batch item cx->index).
 * Returns true, having filled the zeroed *out (caller owns it),
 * if root added no problem to cx. */
static bool
json_submission_check(struct json_ctx *cx, json_t *root,
    const struct strlist *known_types, struct workload *out)
{
	static const char *const top[] = { "workload_type", "input_params",
	    "priority", "affinity_rules", "max_retries", "timeout_seconds",
	    "checkpoint_policy", "resources", NULL };
	struct workload	 wl;
	json_t		*empty = NULL, *params, *m;
	json_int_t	 prio, retries, timeout;
	const char	*type;
	char		*pj = NULL;
	size_t		 n0 = cx->n;

	memset(out, 0, sizeof *out);
	memset(&wl, 0, sizeof wl);
	if (!json_is_object(root)) {
		char	 path[32] = "body";

		if (cx->index >= 0)
			snprintf(path, sizeof path, "workloads[%ld]", cx->index);
		json_ctx_add(cx, ERR_INVAL, path, "must be a JSON object");
		return false;
	}
	json_keys_check(cx, root, "", top);
	type = json_type_check(cx, root, known_types);

	/* An absent input_params is {}: a built-in type still checks it, so
	 * the detail names the missing member. */
	params = json_object_get(root, "input_params");
	if (params != NULL && !json_is_object(params)) {
		json_ctx_add(cx, ERR_INVAL, "input_params", "must be an object");
		type = NULL;
	} else if (params == NULL && (params = empty = json_object()) == NULL)
		cx->nomem = true;
	if (params != NULL && type != NULL) {
		if (strcmp(type, JSON_TYPE_SLEEP) == 0)
			json_sleep_params_check(cx, params);
		else if (strcmp(type, JSON_TYPE_EXEC) == 0)
			json_exec_params_check(cx, params);
	}

	json_int_get(cx, ERR_INVAL, root, "priority", "priority", 0,
	    MODEL_PRIORITY_MAX, JSON_DEFAULT_PRIORITY, &prio);
	json_int_get(cx, ERR_INVAL, root, "max_retries", "max_retries", 0,
	    JSON_MAX_RETRIES, JSON_DEFAULT_RETRIES, &retries);
	json_int_get(cx, ERR_INVAL, root, "timeout_seconds", "timeout_seconds", 0,
	    JSON_MAX_TIMEOUT_S, 0, &timeout);
	if ((m = json_object_get(root, "affinity_rules")) != NULL)
		json_affinity_parse(cx, m, &wl.affinity);
	if ((m = json_object_get(root, "checkpoint_policy")) != NULL)
		json_ckpt_policy_parse(cx, m, &wl.ckpt_policy);
	if ((m = json_object_get(root, "resources")) != NULL)
		json_resources_parse(cx, m, &wl.requests);
	if (cx->n > n0 || cx->nomem)
		goto fail;

	/* Small parameters (the common case) are dumped into the stack, not
	 * into jansson's growing heap buffer. */
	{
		char	 small[1024];
		size_t	 plen = json_dumpb(params, small, sizeof small, JSON_COMPACT);

		pj = plen > 0 && plen < sizeof small ? strndup(small, plen) :
		    json_dumps(params, JSON_COMPACT);
	}
	if (pj == NULL || (wl.type = strdup(type)) == NULL) {
		cx->nomem = true;
		goto fail;
	}
	wl.params_json = pj;
	wl.priority = (uint32_t)prio;
	wl.max_retries = (uint32_t)retries;
	wl.timeout_seconds = (uint32_t)timeout;
	wl.status = WL_PENDING;
	*out = wl;
	json_decref(empty);
	return true;
fail:
	free(pj);
	workload_fini(&wl);
	json_decref(empty);
	return false;
}

int
json_submission_parse(const char *body, size_t len, const struct strlist *known_types,
    struct workload *out, json_t **details, struct errbuf *eb)
{
	struct json_ctx	 cx;
	json_t		*root = NULL;
	int		 rc;

	memset(out, 0, sizeof *out);
	*details = NULL;
	if ((rc = json_body_parse(body, len, &root, details, eb)) != 0)
		return rc;
	if (json_ctx_init(&cx) != 0) {
		json_decref(root);
		return err_setf(eb, ERR_NOMEM, "out of memory");
	}
	json_submission_check(&cx, root, known_types, out);
	json_decref(root);
	if ((rc = json_ctx_end(&cx, details, eb)) != 0)
		workload_fini(out);
	return rc;
}

/* True if body[0..len) is only JSON whitespace. */
static bool
json_blank(const char *body, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (body[i] != ' ' && body[i] != '\t' && body[i] != '\r' &&
		    body[i] != '\n')
			return false;
	return true;
}

/* Parses body as a JSON object for cx: returns it (a new reference), or
 * NULL with the problem recorded (malformed JSON: rc and *details set). */
static json_t *
json_object_body(const char *body, size_t len, struct json_ctx *cx, int *rc,
    json_t **details, struct errbuf *eb)
{
	json_t	*root = NULL;

	*rc = 0;
	if ((*rc = json_body_parse(body, len, &root, details, eb)) != 0)
		return NULL;
	if ((*rc = json_ctx_init(cx)) != 0) {
		json_decref(root);
		*rc = err_setf(eb, ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (!json_is_object(root))
		json_ctx_add(cx, ERR_INVAL, "body", "must be a JSON object");
	return root;
}

/* The optional "reason" of a cancel body into *reason. */
static void
json_reason_get(struct json_ctx *cx, json_t *root, char **reason)
{
	json_t	*r;

	if ((r = json_object_get(root, "reason")) == NULL)
		return;
	if (!json_is_string(r))
		json_ctx_add(cx, ERR_INVAL, "reason", "must be a string");
	else if (json_string_length(r) > JSON_REASON_MAX)
		json_ctx_limit(cx, json_ctx_add(cx, ERR_INVAL, "reason",
		    "must be at most %d bytes", JSON_REASON_MAX), "max_reason_bytes",
		    JSON_REASON_MAX);
	else if ((*reason = strdup(json_string_value(r))) == NULL)
		cx->nomem = true;
}

int
json_cancel_parse(const char *body, size_t len, char **reason, json_t **details,
    struct errbuf *eb)
{
	static const char *const allowed[] = { "reason", NULL };
	struct json_ctx	 cx;
	json_t		*root;
	int		 rc;

	*reason = NULL;
	*details = NULL;
	if (json_blank(body, len))
		return 0;
	if ((root = json_object_body(body, len, &cx, &rc, details, eb)) == NULL)
		return rc;
	if (json_is_object(root)) {
		json_keys_check(&cx, root, "", allowed);
		json_reason_get(&cx, root, reason);
	}
	json_decref(root);
	if ((rc = json_ctx_end(&cx, details, eb)) != 0) {
		free(*reason);
		*reason = NULL;
	}
	return rc;
}

int
json_node_add_parse(const char *body, size_t len, uint64_t *id,
    char address[JSON_RAFT_ADDRESS_MAX + 1], json_t **details, struct errbuf *eb)
{
	static const char *const allowed[] = { "id", "raft_address", NULL };
	struct json_ctx	 cx;
	json_t		*root, *a;
	json_int_t	 n;
	const char	*s;
	size_t		 i;
	int		 rc;

	*id = 0;
	address[0] = '\0';
	*details = NULL;
	if ((root = json_object_body(body, len, &cx, &rc, details, eb)) == NULL)
		return rc;
	if (json_is_object(root)) {
		json_keys_check(&cx, root, "", allowed);
		if (json_object_get(root, "id") == NULL)
			json_ctx_add(&cx, ERR_INVAL, "id", "is required");
		else if (json_int_get(&cx, ERR_INVAL, root, "id", "id", 1, UINT32_MAX,
		    0, &n))
			*id = (uint64_t)n;
		if ((a = json_object_get(root, "raft_address")) == NULL)
			json_ctx_add(&cx, ERR_INVAL, "raft_address", "is required");
		else if (!json_is_string(a))
			json_ctx_add(&cx, ERR_INVAL, "raft_address", "must be a string");
		else {
			s = json_string_value(a);
			for (i = 0; s[i] != '\0' && i <= JSON_RAFT_ADDRESS_MAX; i++)
				if (s[i] <= ' ' || s[i] >= 0x7f)
					break;
			if (s[i] != '\0' || i == 0 || strchr(s, ':') == NULL ||
			    json_string_length(a) != i)
				json_ctx_add(&cx, ERR_INVAL, "raft_address", "must be "
				    "HOST:PORT, at most %d printable characters "
				    "without blanks", JSON_RAFT_ADDRESS_MAX);
			else
				memcpy(address, s, i + 1);
		}
	}
	json_decref(root);
	return json_ctx_end(&cx, details, eb);
}

/* A required address member of a node announcement into *out (a new
 * string), or a recorded problem. */
static void
json_address_get(struct json_ctx *cx, json_t *root, const char *key,
    const char *scheme, char **out)
{
	json_t		*a = json_object_get(root, key);
	const char	*s;
	size_t		 i;

	if (a == NULL) {
		json_ctx_add(cx, ERR_INVAL, key, "is required");
		return;
	}
	if (!json_is_string(a)) {
		json_ctx_add(cx, ERR_INVAL, key, "must be a string");
		return;
	}
	s = json_string_value(a);
	for (i = 0; s[i] != '\0' && i <= MODEL_ADDRESS_MAX; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f)
			break;
	if (s[i] != '\0' || i == 0 || json_string_length(a) != i ||
	    strchr(s, ':') == NULL ||
	    (scheme != NULL && strncmp(s, scheme, strlen(scheme)) != 0)) {
		json_ctx_add(cx, ERR_INVAL, key, "must be %s%sHOST:PORT, at most %d "
		    "printable characters without blanks", scheme != NULL ?
		    "a URL " : "", scheme != NULL ? scheme : "", MODEL_ADDRESS_MAX);
		return;
	}
	if ((*out = strdup(s)) == NULL)
		cx->nomem = true;
}

int
json_node_announce_parse(const char *body, size_t len, struct node_rec *out,
    json_t **details, struct errbuf *eb)
{
	static const char *const allowed[] = { "raft_address", "http_url",
	    "worker_url", NULL };
	struct json_ctx	 cx;
	json_t		*root;
	int		 rc;

	*details = NULL;
	if ((root = json_object_body(body, len, &cx, &rc, details, eb)) == NULL)
		return rc;
	if (json_is_object(root)) {
		json_keys_check(&cx, root, "", allowed);
		json_address_get(&cx, root, "raft_address", NULL, &out->raft_address);
		json_address_get(&cx, root, "http_url", "http", &out->http_url);
		json_address_get(&cx, root, "worker_url", NULL, &out->worker_url);
	}
	json_decref(root);
	return json_ctx_end(&cx, details, eb);
}

int
json_transfer_parse(const char *body, size_t len, uint64_t *id, json_t **details,
    struct errbuf *eb)
{
	static const char *const allowed[] = { "id", NULL };
	struct json_ctx	 cx;
	json_t		*root;
	json_int_t	 n;
	int		 rc;

	*id = 0;
	*details = NULL;
	if (json_blank(body, len))
		return 0;
	if ((root = json_object_body(body, len, &cx, &rc, details, eb)) == NULL)
		return rc;
	if (json_is_object(root)) {
		json_keys_check(&cx, root, "", allowed);
		if (json_int_get(&cx, ERR_INVAL, root, "id", "id", 1, UINT32_MAX, 0, &n))
			*id = (uint64_t)n;
	}
	json_decref(root);
	return json_ctx_end(&cx, details, eb);
}

int
json_empty_parse(const char *body, size_t len, json_t **details, struct errbuf *eb)
{
	static const char *const allowed[] = { NULL };
	struct json_ctx	 cx;
	json_t		*root;
	int		 rc;

	*details = NULL;
	if (json_blank(body, len))
		return 0;
	if ((root = json_object_body(body, len, &cx, &rc, details, eb)) == NULL)
		return rc;
	if (json_is_object(root))
		json_keys_check(&cx, root, "", allowed);
	json_decref(root);
	return json_ctx_end(&cx, details, eb);
}

int
json_batch_parse(const char *body, size_t len, const struct strlist *known_types,
    struct workload **out, size_t *n, json_t **details, struct errbuf *eb)
{
	static const char *const allowed[] = { "workloads", NULL };
	struct workload	*wls = NULL;
	struct json_ctx	 cx;
	json_t		*root, *arr, *item;
	size_t		 count = 0, i;
	int		 rc;

	*out = NULL;
	*n = 0;
	*details = NULL;
	if ((root = json_object_body(body, len, &cx, &rc, details, eb)) == NULL)
		return rc;
	if (!json_is_object(root))
		goto done;
	json_keys_check(&cx, root, "", allowed);
	arr = json_object_get(root, "workloads");
	if (arr == NULL) {
		json_ctx_add(&cx, ERR_INVAL, "workloads", "is required");
		goto done;
	}
	if (!json_is_array(arr)) {
		json_ctx_add(&cx, ERR_INVAL, "workloads",
		    "must be an array of submissions");
		goto done;
	}
	count = json_array_size(arr);
	if (count == 0) {
		json_ctx_limit(&cx, json_ctx_add(&cx, ERR_INVAL, "workloads",
		    "must have 1..%d submissions, not 0", JSON_BATCH_MAX),
		    "max_batch_items", JSON_BATCH_MAX);
		goto done;
	}
	if (count > JSON_BATCH_MAX) {
		json_t *d = json_ctx_add(&cx, ERR_INVAL, "workloads",
		    "%zu submissions are over the limit of %d per batch", count,
		    JSON_BATCH_MAX);

		json_ctx_limit(&cx, d, "max_batch_items", JSON_BATCH_MAX);
		if (d != NULL && json_object_set_new(d, "count",
		    json_integer((json_int_t)count)) != 0)
			cx.nomem = true;
		cx.code = ERR_TOOBIG;
		goto done;
	}
	if (cx.n > 0)
		goto done;		/* unknown top-level keys: not worth more */
	if ((wls = calloc(count, sizeof *wls)) == NULL) {
		cx.nomem = true;
		goto done;
	}
	json_array_foreach(arr, i, item) {
		cx.index = (long)i;
		json_submission_check(&cx, item, known_types, &wls[i]);
		if (cx.nomem)
			break;
	}
	cx.index = -1;
done:
	json_decref(root);
	if ((rc = json_ctx_end(&cx, details, eb)) != 0) {
		for (i = 0; wls != NULL && i < count; i++)
			workload_fini(&wls[i]);
		free(wls);
		return rc;
	}
	*out = wls;
	*n = count;
	return 0;
}

static int
json_id_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Index in v of the entry whose text starts at p. */
static size_t
json_id_index(char (*v)[MODEL_ID_LEN + 1], const char *p)
{
	return (size_t)(p - v[0]) / (MODEL_ID_LEN + 1);
}

int
json_cancel_batch_parse(const char *body, size_t len, char (**ids)[MODEL_ID_LEN + 1],
    size_t *n, char **reason, json_t **details, struct errbuf *eb)
{
	static const char *const allowed[] = { "ids", "reason", NULL };
	char		(*v)[MODEL_ID_LEN + 1] = NULL;
	const char	**sorted = NULL;
	struct json_ctx	 cx;
	json_t		*root, *arr, *e;
	size_t		 count = 0, i, j;
	char		 path[32];
	int		 rc;

	*ids = NULL;
	*n = 0;
	*reason = NULL;
	*details = NULL;
	if ((root = json_object_body(body, len, &cx, &rc, details, eb)) == NULL)
		return rc;
	if (!json_is_object(root))
		goto done;
	json_keys_check(&cx, root, "", allowed);
	json_reason_get(&cx, root, reason);
	arr = json_object_get(root, "ids");
	if (arr == NULL) {
		json_ctx_add(&cx, ERR_INVAL, "ids", "is required");
		goto done;
	}
	if (!json_is_array(arr)) {
		json_ctx_add(&cx, ERR_INVAL, "ids", "must be an array of workload ids");
		goto done;
	}
	count = json_array_size(arr);
	if (count == 0 || count > JSON_BATCH_MAX) {
		json_t *d = json_ctx_add(&cx, ERR_INVAL, "ids",
		    "must have 1..%d workload ids, not %zu", JSON_BATCH_MAX, count);

		json_ctx_limit(&cx, d, "max_batch_items", JSON_BATCH_MAX);
		if (d != NULL && json_object_set_new(d, "count",
		    json_integer((json_int_t)count)) != 0)
			cx.nomem = true;
		if (count > 0)
			cx.code = ERR_TOOBIG;
		goto done;
	}
	if ((v = calloc(count, sizeof *v)) == NULL ||
	    (sorted = calloc(count, sizeof *sorted)) == NULL) {
		cx.nomem = true;
		goto done;
	}
	json_array_foreach(arr, i, e) {
		snprintf(path, sizeof path, "ids[%zu]", i);
		if (!json_is_string(e)) {
			json_ctx_add(&cx, ERR_INVAL, path, "must be a string");
			continue;
		}
		if (!model_id_valid(json_string_value(e))) {
			json_ctx_add(&cx, ERR_INVAL, path,
			    "must be a workload id (a UUID)");
			continue;
		}
		/* Ids are stored in lower case; accept either. */
		for (j = 0; j <= MODEL_ID_LEN; j++)
			v[i][j] = (char)tolower((unsigned char)json_string_value(e)[j]);
	}
	if (cx.n > 0)
		goto done;
	/* One result per id: a repeated id is a mistake worth telling. */
	for (i = 0; i < count; i++)
		sorted[i] = v[i];
	qsort(sorted, count, sizeof *sorted, json_id_cmp);
	for (i = 1; i < count; i++)
		if (strcmp(sorted[i - 1], sorted[i]) == 0) {
			size_t a = json_id_index(v, sorted[i - 1]);
			size_t b = json_id_index(v, sorted[i]);

			snprintf(path, sizeof path, "ids[%zu]", a > b ? a : b);
			json_ctx_add(&cx, ERR_INVAL, path, "repeats ids[%zu] (%s)",
			    a < b ? a : b, sorted[i]);
			break;
		}
done:
	free(sorted);
	json_decref(root);
	if ((rc = json_ctx_end(&cx, details, eb)) != 0) {
		free(v);
		free(*reason);
		*reason = NULL;
		return rc;
	}
	*ids = v;
	*n = count;
	return 0;
}

/* A customer's display name: 1..MODEL_NAME_MAX bytes of UTF-8 without
 * control characters, not only spaces. */
static bool
json_customer_name_ok(const char *s)
{
	size_t	 i;
	bool	 visible = false;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= MODEL_NAME_MAX)
			return false;
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
		if (s[i] != ' ')
			visible = true;
	}
	return visible;
}

int
json_customer_parse(const char *body, size_t len, bool patch, struct customer *out,
    uint32_t *mask, json_t **details, struct errbuf *eb)
{
	static const char *const allowed[] = { "name", "tier", "max_queue_depth",
	    "max_concurrent", "rate_limit_rps", NULL };
	static const struct {
		const char	*name;
		json_int_t	 max;
		uint32_t	 bit;
	} limits[] = {
		{ "max_queue_depth", JSON_CUSTOMER_QUEUE_MAX, CMD_UPDATE_MAX_QUEUE_DEPTH },
		{ "max_concurrent", JSON_CUSTOMER_CONCURRENT_MAX, CMD_UPDATE_MAX_CONCURRENT },
		{ "rate_limit_rps", JSON_CUSTOMER_RATE_MAX, CMD_UPDATE_RATE_LIMIT },
	};
	struct customer	 c;
	struct json_ctx	 cx;
	json_t		*root, *v;
	json_int_t	 num;
	uint32_t	 m = 0;
	size_t		 i;
	int		 rc;

	memset(out, 0, sizeof *out);
	memset(&c, 0, sizeof c);
	*mask = 0;
	*details = NULL;
	if ((root = json_object_body(body, len, &cx, &rc, details, eb)) == NULL)
		return rc;
	if (!json_is_object(root))
		goto done;
	json_keys_check(&cx, root, "", allowed);
	if ((v = json_object_get(root, "name")) != NULL) {
		if (!json_is_string(v))
			json_ctx_add(&cx, ERR_INVAL, "name", "must be a string");
		else if (!json_customer_name_ok(json_string_value(v)))
			json_ctx_add(&cx, ERR_INVAL, "name", "must be 1..%d bytes without "
			    "control characters, not only spaces", MODEL_NAME_MAX);
		else if ((c.name = strdup(json_string_value(v))) == NULL)
			cx.nomem = true;
		else
			m |= CMD_UPDATE_NAME;
	} else if (!patch)
		json_ctx_add(&cx, ERR_INVAL, "name", "is required");
	if ((v = json_object_get(root, "tier")) != NULL) {
		if (!json_is_string(v) || tier_parse(json_string_value(v), &c.tier) != 0)
			json_ctx_add(&cx, ERR_INVAL, "tier",
			    "must be one of free, standard, premium, enterprise");
		else
			m |= CMD_UPDATE_TIER;
	} else if (!patch)
		json_ctx_add(&cx, ERR_INVAL, "tier",
		    "is required: free, standard, premium or enterprise");
	for (i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		if (json_object_get(root, limits[i].name) == NULL)
			continue;
		if (!json_int_get(&cx, ERR_INVAL, root, limits[i].name, limits[i].name, 0,
		    limits[i].max, 0, &num))
			continue;
		m |= limits[i].bit;
		if (limits[i].bit == CMD_UPDATE_MAX_QUEUE_DEPTH)
			c.max_queue_depth = (uint32_t)num;
		else if (limits[i].bit == CMD_UPDATE_MAX_CONCURRENT)
			c.max_concurrent = (uint32_t)num;
		else
			c.rate_limit_rps = (uint32_t)num;
	}
	if (patch && cx.n == 0 && m == 0)
		json_ctx_add(&cx, ERR_INVAL, "body", "nothing to change: give at least one "
		    "of name, tier, max_queue_depth, max_concurrent, rate_limit_rps");
done:
	json_decref(root);
	if ((rc = json_ctx_end(&cx, details, eb)) != 0) {
		customer_fini(&c);
		return rc;
	}
	*out = c;
	*mask = m;
	return 0;
}

/* ---- query strings ---- */

/* Value of a hex digit, or -1. */
static int
json_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes one URL-encoded component src[0..len) ('+' is a space) into dst
 * of size bytes.  The length, or -1 if it is malformed, too long, or
 * decodes to a NUL byte. */
static long
json_url_decode(const char *src, size_t len, char *dst, size_t size)
{
	size_t	 i, o = 0;
	int	 hi, lo;
	char	 c;

	for (i = 0; i < len; i++) {
		c = src[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			if (len - i < 3)
				return -1;
			if ((hi = json_hex(src[i + 1])) < 0 ||
			    (lo = json_hex(src[i + 2])) < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		}
		if (c == '\0' || o + 1 >= size)
			return -1;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return (long)o;
}

struct json_qparam {
	const char	*name;
	char		 value[JSON_QUERY_VALUE_MAX];
	bool		 seen;
};

/* Splits the query string qs into p[0..n); unknown, repeated and
 * undecodable parameters are recorded in cx (known lists the names for
 * the message). */
static void
json_query_split(struct json_ctx *cx, const char *qs, struct json_qparam *p, size_t n,
    const char *known)
{
	const char	*q = qs, *amp, *eq;
	char		 key[64];
	size_t		 i;

	if (qs == NULL)
		return;
	while (*q != '\0') {
		if ((amp = strchr(q, '&')) == NULL)
			amp = q + strlen(q);
		if (amp == q) {
			q++;
			continue;
		}
		if ((eq = memchr(q, '=', (size_t)(amp - q))) == NULL)
			eq = amp;
		i = n;
		if (json_url_decode(q, (size_t)(eq - q), key, sizeof key) < 0)
			key[0] = '\0';
		else
			for (i = 0; i < n; i++)
				if (strcmp(key, p[i].name) == 0)
					break;
		if (i == n)
			json_ctx_add(cx, ERR_INVAL, key[0] != '\0' ? key : "query",
			    "unknown query parameter; known: %s", known);
		else if (p[i].seen)
			json_ctx_add(cx, ERR_INVAL, key, "given more than once");
		else {
			p[i].seen = true;
			if (eq < amp && json_url_decode(eq + 1, (size_t)(amp - eq - 1),
			    p[i].value, sizeof p[i].value) < 0) {
				p[i].value[0] = '\0';
				json_ctx_limit(cx, json_ctx_add(cx, ERR_INVAL, key,
				    "malformed, contains NUL, or longer than %d bytes",
				    JSON_QUERY_VALUE_MAX - 1), "max_query_value_bytes",
				    JSON_QUERY_VALUE_MAX - 1);
			}
		}
		q = *amp != '\0' ? amp + 1 : amp;
	}
}

/* limit=1..JSON_LIST_LIMIT_MAX into *out (def if absent or empty). */
static void
json_query_limit(struct json_ctx *cx, const struct json_qparam *p, uint32_t def,
    uint32_t *out)
{
	long long	 v;

	*out = def;
	if (p->value[0] == '\0')
		return;
	/* Digits only: no sign, no blanks (strtoll would take both). */
	if (p->value[0] < '0' || p->value[0] > '9' ||
	    !str_parse_ll(p->value, 1, JSON_LIST_LIMIT_MAX, &v))
		json_ctx_limit(cx, json_ctx_add(cx, ERR_INVAL, "limit",
		    "must be an integer 1..%d", JSON_LIST_LIMIT_MAX), "max_page_size",
		    JSON_LIST_LIMIT_MAX);
	else
		*out = (uint32_t)v;
}

/* cursor into out (JSON_CURSOR_MAX bytes). */
static void
json_query_cursor(struct json_ctx *cx, const struct json_qparam *p, char *out)
{
	out[0] = '\0';
	if (strlen(p->value) >= JSON_CURSOR_MAX)
		json_ctx_add(cx, ERR_INVAL, "cursor", "malformed cursor");
	else
		memcpy(out, p->value, strlen(p->value) + 1);
}

int
json_list_query_parse(const char *qs, struct json_list_query *out, json_t **details,
    struct errbuf *eb)
{
	struct json_qparam	 p[] = { { .name = "status" }, { .name = "workload_type" },
	    { .name = "limit" }, { .name = "cursor" } };
	struct json_ctx		 cx;
	size_t			 i;

	memset(out, 0, sizeof *out);
	out->limit = JSON_LIST_LIMIT_DEFAULT;
	*details = NULL;
	if (json_ctx_init(&cx) != 0)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	json_query_split(&cx, qs, p, 4, "status, workload_type, limit, cursor");
	if (p[0].value[0] != '\0') {
		for (i = 0; p[0].value[i] != '\0'; i++)
			p[0].value[i] = (char)toupper((unsigned char)p[0].value[i]);
		if (wl_status_parse(p[0].value, &out->status) != 0)
			json_ctx_add(&cx, ERR_INVAL, "status", "unknown status; one of "
			    "PENDING, SCHEDULED, RUNNING, PAUSING, PAUSED, COMPLETED, "
			    "FAILED, CANCELLED");
		else
			out->has_status = true;
	}
	if (p[1].value[0] != '\0') {
		if (!model_name_valid(p[1].value))
			json_ctx_add(&cx, ERR_INVAL, "workload_type",
			    "must be 1..%d characters from [A-Za-z0-9._:/-]", MODEL_NAME_MAX);
		else
			memcpy(out->type, p[1].value, strlen(p[1].value) + 1);
	}
	json_query_limit(&cx, &p[2], JSON_LIST_LIMIT_DEFAULT, &out->limit);
	json_query_cursor(&cx, &p[3], out->cursor);
	return json_ctx_end(&cx, details, eb);
}

/* since/until: RFC 3339, after the epoch. */
static void
json_query_time(struct json_ctx *cx, const struct json_qparam *p, uint64_t *out)
{
	*out = 0;
	if (p->value[0] == '\0')
		return;
	if (json_time_parse(p->value, out) != 0 || *out == 0) {
		*out = 0;
		json_ctx_add(cx, ERR_INVAL, p->name, "must be an RFC 3339 date-time after "
		    "1970-01-01T00:00:00Z, e.g. 2026-01-31T12:00:00Z");
	}
}

int
json_audit_query_parse(const char *qs, struct json_audit_query *out, json_t **details,
    struct errbuf *eb)
{
	struct json_qparam	 p[] = { { .name = "workload_id" }, { .name = "customer_id" },
	    { .name = "since" }, { .name = "until" }, { .name = "limit" },
	    { .name = "cursor" } };
	struct json_ctx		 cx;
	size_t			 i;

	memset(out, 0, sizeof *out);
	out->limit = JSON_AUDIT_LIMIT_DEFAULT;
	*details = NULL;
	if (json_ctx_init(&cx) != 0)
		return err_setf(eb, ERR_NOMEM, "out of memory");
	json_query_split(&cx, qs, p, 6,
	    "workload_id, customer_id, since, until, limit, cursor");
	if (p[0].value[0] != '\0') {
		if (!model_id_valid(p[0].value))
			json_ctx_add(&cx, ERR_INVAL, "workload_id",
			    "must be a workload id (a UUID)");
		else
			for (i = 0; i <= MODEL_ID_LEN; i++)
				out->workload_id[i] = (char)tolower(
				    (unsigned char)p[0].value[i]);
	}
	if (p[1].value[0] != '\0') {
		if (!model_name_valid(p[1].value))
			json_ctx_add(&cx, ERR_INVAL, "customer_id",
			    "must be a customer id (1..%d characters from "
			    "[A-Za-z0-9._:/-])", MODEL_NAME_MAX);
		else
			memcpy(out->customer_id, p[1].value, strlen(p[1].value) + 1);
	}
	json_query_time(&cx, &p[2], &out->since_ms);
	json_query_time(&cx, &p[3], &out->until_ms);
	if (out->since_ms != 0 && out->until_ms != 0 && out->until_ms <= out->since_ms)
		json_ctx_add(&cx, ERR_INVAL, "until", "must be later than since");
	json_query_limit(&cx, &p[4], JSON_AUDIT_LIMIT_DEFAULT, &out->limit);
	json_query_cursor(&cx, &p[5], out->cursor);
	return json_ctx_end(&cx, details, eb);
}

/* n digits at s as a number, or -1 if they are not all digits. */
static int
json_digits(const char *s, int n)
{
	int	 v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t
json_days_from_civil(int y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
json_time_parse(const char *s, uint64_t *ms)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int	 y, mo, d, h, mi, sec, frac = 0, scale = 100, oh = 0, om = 0, sign = 0;
	int64_t	 t;
	bool	 leap;

	*ms = 0;
	/* YYYY-MM-DDTHH:MM:SS */
	if (strlen(s) < 20 || s[4] != '-' || s[7] != '-' || s[13] != ':' || s[16] != ':')
		return ERR_INVAL;
	if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
		return ERR_INVAL;
	if ((y = json_digits(s, 4)) < 0 || (mo = json_digits(s + 5, 2)) < 0 ||
	    (d = json_digits(s + 8, 2)) < 0 || (h = json_digits(s + 11, 2)) < 0 ||
	    (mi = json_digits(s + 14, 2)) < 0 || (sec = json_digits(s + 17, 2)) < 0)
		return ERR_INVAL;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap) ||
	    h > 23 || mi > 59 || sec > 60)
		return ERR_INVAL;
	s += 19;
	if (*s == '.') {
		if (s[1] < '0' || s[1] > '9')
			return ERR_INVAL;
		for (s++; *s >= '0' && *s <= '9'; s++) {
			frac += (*s - '0') * scale;	/* digits past ms are dropped */
			scale /= 10;
		}
	}
	if (*s == 'Z' || *s == 'z')
		s++;
	else if (*s == '+' || *s == '-') {
		sign = *s == '+' ? 1 : -1;
		if (strlen(s) != 6 || s[3] != ':' || (oh = json_digits(s + 1, 2)) < 0 ||
		    (om = json_digits(s + 4, 2)) < 0 || oh > 23 || om > 59)
			return ERR_INVAL;
		s += 6;
	} else
		return ERR_INVAL;
	if (*s != '\0')
		return ERR_INVAL;
	t = json_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	    sign * (oh * 3600 + om * 60);
	if (t < 0)
		return ERR_INVAL;
	*ms = (uint64_t)t * 1000 + (uint64_t)frac;
	return 0;
}

/* ---- renderers ---- */

/* Appends text that needs no escaping (checked names, ids, literals);
 * returns the new end. */
static char *
json_put_raw(char *p, const char *text)
{
	size_t	 len = strlen(text);

	memcpy(p, text, len);
	return p + len;
}

/* Appends v in decimal; returns the new end. */
static char *
json_put_uint(char *p, uint64_t v)
{
	char	 digits[20];
	size_t	 n = 0;

	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0)
		*p++ = digits[--n];
	return p;
}

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
	return json_finish(o, bad);
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
json_resources(const struct resources *r)
{
	return json_pack("{s:I,s:I,s:I}", "cpu_millis", (json_int_t)r->cpu_millis,
	    "memory_mb", (json_int_t)r->memory_mb, "gpus", (json_int_t)r->gpus);
}

json_t *
json_checkpoint_policy(const struct checkpoint_policy *p)
{
	return json_pack("{s:I,s:I}", "interval_seconds", (json_int_t)p->interval_seconds,
	    "on_progress_percent", (json_int_t)p->on_progress_percent);
}

json_t *
json_checkpoint(const struct checkpoint_info *c)
{
	json_t	*o;
	bool	 bad = false;

	if ((o = json_object()) == NULL)
		return NULL;
	json_put(o, "sequence", json_integer((json_int_t)c->seq), &bad);
	json_put(o, "attempt", json_integer(c->attempt), &bad);
	json_put(o, "size", json_integer((json_int_t)c->size), &bad);
	json_put(o, "compressed_size", json_integer((json_int_t)c->compressed_size), &bad);
	json_put(o, "created_at", json_time(c->at_ms), &bad);
	return json_finish(o, bad);
}

json_t *
json_checkpoint_list(const char *workload_id, const struct checkpoint_info *v, size_t n)
{
	json_t	*o, *arr;
	size_t	 i;
	bool	 bad = false;

	if ((o = json_object()) == NULL)
		return NULL;
	if ((arr = json_array()) == NULL)
		bad = true;
	for (i = 0; i < n && !bad; i++)
		if (json_array_append_new(arr, json_checkpoint(&v[i])) != 0)
			bad = true;
	json_put(o, "workload_id", json_text(workload_id), &bad);
	json_put(o, "checkpoints", arr, &bad);
	json_put(o, "count", json_integer((json_int_t)n), &bad);
	return json_finish(o, bad);
}

json_t *
json_workload(const struct workload *w, const struct queue_policy *queue,
    uint64_t now_ms)
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
	json_put(o, "effective_priority", json_integer((json_int_t)
	    workload_effective_priority(w, queue, w->status == WL_PENDING ?
	    now_ms : w->created_ms)), &bad);
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
	json_put(o, "checkpoint_policy", json_checkpoint_policy(&w->ckpt_policy), &bad);
	json_put(o, "resources", json_resources(&w->requests), &bad);
	json_put(o, "cancel_requested", json_boolean(w->cancel_requested), &bad);
	json_put(o, "failures", json_integer(w->failures), &bad);
	json_put(o, "preemptions", json_integer(w->preemptions), &bad);
	json_put(o, "created_at", json_time(w->created_ms), &bad);
	json_put(o, "updated_at", json_time(w->updated_ms), &bad);
	json_put(o, "scheduled_at", json_time(w->scheduled_ms), &bad);
	json_put(o, "started_at", json_time(w->started_ms), &bad);
	json_put(o, "finished_at", json_time(w->finished_ms), &bad);
	json_put(o, "not_before", json_time(w->not_before_ms), &bad);
	json_put(o, "request_id", json_text(w->request_id), &bad);
	return json_finish(o, bad);
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
	json_put(o, "resources", json_resources(&w->offered), &bad);
	json_put(o, "used_slots", json_integer(w->used), &bad);
	json_put(o, "status", json_text(worker_status_name(w->status)), &bad);
	json_put(o, "last_heartbeat", json_time(w->last_heartbeat_ms), &bad);
	json_put(o, "registered_at", json_time(w->registered_ms), &bad);
	json_put(o, "version", json_text(w->version), &bad);
	return json_finish(o, bad);
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
	return json_finish(o, bad);
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
	return json_finish(o, bad);
}

json_t *
json_workload_summary(const struct workload *w)
{
	json_t	*o;
	bool	 bad = false;

	if ((o = json_object()) == NULL)
		return NULL;
	json_put(o, "id", json_text(w->id), &bad);
	json_put(o, "status", json_text(wl_status_name(w->status)), &bad);
	json_put(o, "workload_type", json_text(w->type), &bad);
	json_put(o, "priority", json_integer(w->priority), &bad);
	json_put(o, "created_at", json_time(w->created_ms), &bad);
	return json_finish(o, bad);
}

char *
json_batch_answer(const struct workload *wls, size_t n, size_t *len)
{
	char	*buf, *p;
	size_t	 i;

	/* Every piece is checked or bounded (ids, names, a uint32, a 24-byte
	 * time), so the worst case fits; written without snprintf, which
	 * was 7% of a server taking batches. */
	if ((buf = malloc(64 + n * (160 + MODEL_NAME_MAX))) == NULL)
		return NULL;
	p = json_put_raw(buf, "{\"workloads\":[");
	for (i = 0; i < n; i++) {
		if (!model_name_valid(wls[i].type) || !model_id_valid(wls[i].id)) {
			free(buf);
			return NULL;
		}
		p = json_put_raw(p, i > 0 ? ",{\"id\":\"" : "{\"id\":\"");
		p = json_put_raw(p, wls[i].id);
		p = json_put_raw(p, "\",\"status\":\"");
		p = json_put_raw(p, wl_status_name(wls[i].status));
		p = json_put_raw(p, "\",\"workload_type\":\"");
		p = json_put_raw(p, wls[i].type);
		p = json_put_raw(p, "\",\"priority\":");
		p = json_put_uint(p, wls[i].priority);
		p = json_put_raw(p, ",\"created_at\":\"");
		clock_format_rfc3339(wls[i].created_ms, p, 32);
		p += strlen(p);
		p = json_put_raw(p, "\"}");
	}
	p = json_put_raw(p, "],\"count\":");
	p = json_put_uint(p, n);
	p = json_put_raw(p, "}");
	*p = '\0';
	*len = (size_t)(p - buf);
	return buf;
}

/* A limit where 0 means "none": the number, or null. */
static json_t *
json_limit(uint32_t v)
{
	return v != 0 ? json_integer(v) : json_null();
}

json_t *
json_customer(const struct customer *c, uint32_t queue_default, uint32_t rate_default,
    const struct fsm_usage *usage)
{
	json_t	*o, *eff;
	bool	 bad = false;

	if ((o = json_object()) == NULL)
		return NULL;
	json_put(o, "id", json_text(c->id), &bad);
	json_put(o, "name", json_text(c->name), &bad);
	json_put(o, "tier", json_text(tier_name(c->tier)), &bad);
	json_put(o, "max_queue_depth", json_integer(c->max_queue_depth), &bad);
	json_put(o, "max_concurrent", json_integer(c->max_concurrent), &bad);
	json_put(o, "rate_limit_rps", json_integer(c->rate_limit_rps), &bad);
	if ((eff = json_object()) == NULL)
		bad = true;
	else {
		json_put(eff, "max_queue_depth", json_limit(c->max_queue_depth != 0 ?
		    c->max_queue_depth : queue_default), &bad);
		json_put(eff, "max_concurrent", json_limit(c->max_concurrent), &bad);
		json_put(eff, "rate_limit_rps", json_integer(c->rate_limit_rps != 0 ?
		    c->rate_limit_rps : rate_default != 0 ? rate_default : 1), &bad);
		json_put(o, "effective_limits", eff, &bad);
	}
	if (usage != NULL)
		json_put(o, "usage", json_pack("{s:I,s:I}", "pending",
		    (json_int_t)usage->pending, "active", (json_int_t)usage->active), &bad);
	json_put(o, "created_at", json_time(c->created_ms), &bad);
	json_put(o, "updated_at", json_time(c->updated_ms), &bad);
	return json_finish(o, bad);
}

json_t *
json_api_key(const struct api_key *k)
{
	json_t	*o;
	bool	 bad = false;

	if ((o = json_object()) == NULL)
		return NULL;
	json_put(o, "id", json_text(k->id), &bad);
	json_put(o, "customer_id", json_text(k->customer_id), &bad);
	json_put(o, "role", json_string(k->role == KEY_ROLE_ADMIN ? "admin" : "customer"),
	    &bad);
	json_put(o, "created_at", json_time(k->created_ms), &bad);
	json_put(o, "revoked", json_boolean(k->revoked), &bad);
	return json_finish(o, bad);
}

json_t *
json_audit_event(const struct audit_event *e)
{
	json_t	*o;
	bool	 bad = false;

	if ((o = json_object()) == NULL)
		return NULL;
	json_put(o, "seq", json_integer((json_int_t)e->seq), &bad);
	json_put(o, "at", json_time(e->at_ms), &bad);
	json_put(o, "kind", json_text(e->kind), &bad);
	json_put(o, "workload_id", e->workload_id[0] != '\0' ? json_text(e->workload_id) :
	    json_null(), &bad);
	json_put(o, "customer_id", json_text(e->customer_id), &bad);
	json_put(o, "from", json_text(e->from), &bad);
	json_put(o, "to", json_text(e->to), &bad);
	json_put(o, "actor", json_text(e->actor), &bad);
	json_put(o, "request_id", json_text(e->request_id), &bad);
	json_put(o, "detail", json_text(e->detail), &bad);
	return json_finish(o, bad);
}

json_t *
json_sched_metrics(const struct sched_metrics *m)
{
	json_t	*o, *hist, *b, *why, *waits, *t;
	size_t	 i;
	bool	 bad = false;

	if ((o = json_object()) == NULL)
		return NULL;
	json_put(o, "passes", json_integer((json_int_t)m->passes), &bad);
	json_put(o, "placements", json_integer((json_int_t)m->placements), &bad);
	json_put(o, "placements_per_second", json_real(m->placements_per_s), &bad);
	json_put(o, "last_pass_us", json_integer((json_int_t)m->last_pass_us), &bad);
	/* Cumulative buckets, as Prometheus histograms count them. */
	if ((hist = json_array()) != NULL) {
		uint64_t	 cum = 0;

		for (i = 0; i < SCHED_REPORT_LATENCY_BUCKETS; i++) {
			cum += m->latency_us[i];
			b = i + 1 < SCHED_REPORT_LATENCY_BUCKETS ?
			    json_pack("{s:I,s:I}", "le_us",
			    (json_int_t)sched_report_latency_bounds_us[i], "count",
			    (json_int_t)cum) :
			    json_pack("{s:s,s:I}", "le_us", "+Inf", "count",
			    (json_int_t)cum);
			if (b == NULL || json_array_append_new(hist, b) != 0)
				bad = true;
		}
	}
	json_put(o, "pass_latency", hist, &bad);
	if ((why = json_object()) != NULL)
		for (i = SCHED_PLACED + 1; i < SCHED_REPORT_REASONS; i++)
			json_put(why, sched_reason_name((enum sched_reason)i),
			    json_integer((json_int_t)m->unschedulable[i]), &bad);
	json_put(o, "unschedulable", why, &bad);
	if ((waits = json_object()) != NULL)
		for (i = 0; i < TIER__COUNT; i++) {
			t = json_pack("{s:I,s:I,s:I}", "placed",
			    (json_int_t)m->wait_by_tier[i].placed, "wait_ms_mean",
			    (json_int_t)(m->wait_by_tier[i].placed > 0 ?
			    m->wait_by_tier[i].wait_ms_sum /
			    m->wait_by_tier[i].placed : 0), "wait_ms_max",
			    (json_int_t)m->wait_by_tier[i].wait_ms_max);
			json_put(waits, tier_name((enum tier)i), t, &bad);
		}
	json_put(o, "wait_by_tier", waits, &bad);
	return json_finish(o, bad);
}

json_t *
json_queue_depth(const struct fsm_queue_depth *q)
{
	json_t	*o, *tiers, *custs;
	size_t	 i;
	bool	 bad = false;

	if ((o = json_object()) == NULL)
		return NULL;
	json_put(o, "total", json_integer((json_int_t)q->total), &bad);
	if ((tiers = json_object()) != NULL)
		for (i = 0; i < TIER__COUNT; i++)
			json_put(tiers, tier_name((enum tier)i),
			    json_integer((json_int_t)q->by_tier[i]), &bad);
	json_put(o, "by_tier", tiers, &bad);
	if ((custs = json_object()) != NULL)
		for (i = 0; i < q->n_customers && !bad; i++)
			if (q->by_customer[i].customer_id != NULL)
				json_put(custs, q->by_customer[i].customer_id,
				    json_integer((json_int_t)q->by_customer[i].pending),
				    &bad);
	json_put(o, "by_customer", custs, &bad);
	return json_finish(o, bad);
}
