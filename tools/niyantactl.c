/*
 * niyantactl: the command-line client of the public REST API.  It turns
 * verbs and options into /v1 requests, and the replies into tables for
 * people or, with --output json, into the server's own JSON for scripts.
 *
 * Exit status: 0 on success; 1 when the server says no (API errors are
 * printed as "niyantactl: <code>: <message>"), cannot be reached, or a
 * waited-for workload did not complete; 2 for usage errors.  Everything is
 * checked before anything is sent, so a usage error never changes state.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "src/err.h"
#include "src/strs.h"
#include "tools/http.h"

#ifndef NIYANTA_VERSION
#define NIYANTA_VERSION		"dev"
#endif

#define CTL_PROG		"niyantactl"
#define CTL_DEFAULT_SERVER	"http://127.0.0.1:8080"
#define CTL_FILE_MAX		(16u * 1024 * 1024)

enum { CTL_EXIT_OK = 0, CTL_EXIT_FAIL = 1, CTL_EXIT_USAGE = 2 };

struct ctl {
	const char		*server;	/* base URL */
	const char		*key_file;	/* NULL: no key */
	bool			 json;		/* --output json */
	struct http_client	*http;		/* NULL until ctl_connect */
};

/* Long option codes; the globals are accepted before and after the verb. */
enum {
	OPT_SERVER = 256, OPT_KEY_FILE, OPT_OUTPUT, OPT_TYPE, OPT_PARAMS,
	OPT_PRIORITY, OPT_MAX_RETRIES, OPT_TIMEOUT, OPT_WORKER, OPT_TAG,
	OPT_PREFER_WORKER, OPT_PREFER_TAG, OPT_REQUIRE_TYPE, OPT_AVOID_TYPE,
	OPT_FILE, OPT_STATUS, OPT_LIMIT, OPT_CURSOR, OPT_ALL, OPT_READY,
};

#define CTL_GLOBAL_OPTIONS						\
	{ "server", required_argument, NULL, OPT_SERVER },		\
	{ "key-file", required_argument, NULL, OPT_KEY_FILE },		\
	{ "output", required_argument, NULL, OPT_OUTPUT },		\
	{ "help", no_argument, NULL, 'h' }

static const char ctl_usage_text[] =
"NAME\n"
"    niyantactl - command-line client for the Niyanta REST API\n"
"\n"
"SYNOPSIS\n"
"    niyantactl [--server URL] [--key-file FILE] [--output json|table] VERB [ARGS]\n"
"\n"
"GLOBAL OPTIONS (accepted before or after the verb)\n"
"    --server URL        API base URL (default $NIYANTA_SERVER, else\n"
"                        " CTL_DEFAULT_SERVER ")\n"
"    --key-file FILE     file holding the API key, e.g. DATA_DIR/admin.key\n"
"                        (default $NIYANTA_KEY_FILE); every verb but health\n"
"                        needs one\n"
"    --output FORMAT     'table' (default): readable lines and tables;\n"
"                        'json': the server's JSON, unchanged\n"
"    -h, --help          print this help and exit\n"
"    -V, --version       print the version and exit\n"
"\n"
"VERBS\n"
"    submit              submit a workload; prints its id\n"
"        --type T            workload type (sleep, exec, or a plugin's)\n"
"        --params JSON       input parameters, a JSON object (default {})\n"
"        --priority N        0..1000\n"
"        --max-retries N     retries after a failed attempt\n"
"        --timeout S         seconds an attempt may run (0: no limit)\n"
"        --worker ID         hard affinity: run only on worker ID\n"
"        --tag K=V           hard affinity: worker must have tag K=V\n"
"                            (repeatable)\n"
"        --require-type T    hard affinity: worker must support type T\n"
"                            (repeatable)\n"
"        --prefer-worker ID  soft affinity: prefer worker ID\n"
"        --prefer-tag K=V    soft affinity: prefer workers tagged K=V\n"
"                            (repeatable)\n"
"        --avoid-type T      anti-affinity: avoid workers running type T\n"
"                            (repeatable)\n"
"        --file FILE         request body from FILE ('-': standard input);\n"
"                            the options above override its fields\n"
"    get ID              show one workload\n"
"    list                list workloads, newest first as the server orders them\n"
"        --status S          only this status (PENDING, SCHEDULED, RUNNING,\n"
"                            PAUSED, COMPLETED, FAILED, CANCELLED)\n"
"        --type T            only this workload type\n"
"        --limit N           page size\n"
"        --cursor C          continue from a previous page's next_cursor\n"
"        --all               follow next_cursor until the last page\n"
"    cancel ID           cancel a workload (a running one stops shortly)\n"
"    wait ID             poll until the workload is COMPLETED, FAILED or\n"
"                        CANCELLED; exit 0 only if it COMPLETED\n"
"        --timeout S         give up after S seconds (default: never)\n"
"    workers             list the workers\n"
"    cluster             show the coordinator cluster's state\n"
"    health              check /health (and /ready) of the server\n"
"        --ready             also require /ready to answer 200\n"
"\n"
"EXIT STATUS\n"
"    0 success; 1 API or connection error, or a waited-for workload that did\n"
"    not complete; 2 usage error.\n"
"\n"
"EXAMPLES\n"
"    export NIYANTA_KEY_FILE=/var/lib/niyanta/admin.key\n"
"    id=$(niyantactl submit --type sleep --params '{\"duration_ms\": 2000}')\n"
"    niyantactl wait \"$id\" --timeout 60\n"
"    niyantactl submit --type exec --params '{\"argv\": [\"uname\", \"-a\"]}' \\\n"
"        --tag gpu=true --priority 500\n"
"    niyantactl --output json list --status RUNNING --all\n";

static void
ctl_usage(FILE *fp)
{
	fputs(ctl_usage_text, fp);
}

static int
ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
ctl_usage_error(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "%s: ", CTL_PROG);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", CTL_PROG);
	return CTL_EXIT_USAGE;
}

/* Prints an error that has an ERR_* code and returns CTL_EXIT_FAIL. */
static int
ctl_fail(int code, const char *msg)
{
	fprintf(stderr, "%s: %s: %s\n", CTL_PROG, err_code_name(code), msg);
	return CTL_EXIT_FAIL;
}

/* Handles the options every verb accepts.  Returns -1 if c is not one,
 * else 0 or CTL_EXIT_USAGE. */
static int
ctl_global_option(struct ctl *ctl, int c, const char *arg)
{
	switch (c) {
	case OPT_SERVER:
		ctl->server = arg;
		return 0;
	case OPT_KEY_FILE:
		ctl->key_file = arg;
		return 0;
	case OPT_OUTPUT:
		if (strcmp(arg, "json") == 0)
			ctl->json = true;
		else if (strcmp(arg, "table") == 0)
			ctl->json = false;
		else
			return ctl_usage_error("--output must be 'json' or "
			    "'table', not '%s'", arg);
		return 0;
	default:
		return -1;
	}
}

/* Creates the HTTP client; need_key says whether the verb needs a key. */
static int
ctl_connect(struct ctl *ctl, bool need_key)
{
	struct errbuf	 eb;
	char		*key = NULL;
	int		 rc;

	errbuf_clear(&eb);
	if (ctl->key_file != NULL && ctl->key_file[0] == '\0')
		ctl->key_file = NULL;
	if (need_key && ctl->key_file == NULL)
		return ctl_usage_error("no API key: give --key-file FILE or set "
		    "NIYANTA_KEY_FILE (a coordinator writes DATA_DIR/admin.key)");
	if (ctl->key_file != NULL &&
	    (rc = http_key_file_read(ctl->key_file, &key, &eb)) != 0)
		return ctl_fail(rc, eb.msg);
	rc = http_client_new(&ctl->http, ctl->server, key, &eb);
	if (key != NULL) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	if (rc == ERR_INVAL)
		return ctl_usage_error("%s", eb.msg);
	if (rc != 0)
		return ctl_fail(rc, eb.msg);
	return 0;
}

/* Prints the API error in resp as "niyantactl: code: message". */
static void
ctl_print_api_error(const struct http_response *resp)
{
	json_t		*root, *err, *details, *d;
	const char	*code = NULL, *msg = NULL, *retry;
	char		*txt;
	char		 fallback[32];
	size_t		 i, n;

	root = json_loadb(resp->body, resp->len, 0, NULL);
	err = json_is_object(root) ? json_object_get(root, "error") : NULL;
	if (json_is_object(err)) {
		code = json_string_value(json_object_get(err, "code"));
		msg = json_string_value(json_object_get(err, "message"));
	}
	if (code == NULL) {
		snprintf(fallback, sizeof fallback, "http_%ld", resp->status);
		code = fallback;
	}
	if (msg != NULL) {
		fprintf(stderr, "%s: %s: %s\n", CTL_PROG, code, msg);
	} else {
		/* Not our JSON (a proxy's page?): show its first line. */
		n = strcspn(resp->body, "\r\n");
		if (n > 200)
			n = 200;
		fprintf(stderr, "%s: %s: %.*s\n", CTL_PROG, code, (int)n,
		    n == 0 ? "(empty reply)" : resp->body);
	}
	details = json_is_object(err) ? json_object_get(err, "details") : NULL;
	json_array_foreach(details, i, d) {
		if (json_is_string(d))
			fprintf(stderr, "%s:   %s\n", CTL_PROG, json_string_value(d));
		else if ((txt = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY)) != NULL) {
			fprintf(stderr, "%s:   %s\n", CTL_PROG, txt);
			free(txt);
		}
	}
	if ((retry = http_response_header(resp, "Retry-After")) != NULL)
		fprintf(stderr, "%s:   retry after %s s\n", CTL_PROG, retry);
	json_decref(root);
}

/*
 * Sends one request.  On a 2xx reply returns 0 with the parsed JSON in *out
 * (if out is not NULL; the caller owns it) and the raw reply in *resp.
 * Otherwise prints the error and returns CTL_EXIT_FAIL.
 */
static int
ctl_call(struct ctl *ctl, const char *method, const char *path, const char *body,
    struct http_response *resp, json_t **out)
{
	struct errbuf	 eb;
	json_error_t	 jerr;
	int		 rc;

	errbuf_clear(&eb);
	if (out != NULL)
		*out = NULL;
	if ((rc = http_client_request(ctl->http, method, path, body, resp, &eb)) != 0)
		return ctl_fail(rc, eb.msg);
	if (resp->status < 200 || resp->status > 299) {
		ctl_print_api_error(resp);
		return CTL_EXIT_FAIL;
	}
	if (out != NULL &&
	    (*out = json_loadb(resp->body, resp->len, JSON_DECODE_ANY, &jerr)) == NULL) {
		fprintf(stderr, "%s: %s: %s %s: reply is not JSON: %s\n", CTL_PROG,
		    err_code_name(ERR_PROTO), method, path, jerr.text);
		return CTL_EXIT_FAIL;
	}
	return 0;
}

/* Prints the reply body as the server sent it, with a final newline. */
static void
ctl_print_raw(const struct http_response *resp)
{
	fwrite(resp->body, 1, resp->len, stdout);
	if (resp->len == 0 || resp->body[resp->len - 1] != '\n')
		putchar('\n');
}

/* Text for a JSON value in a table cell: strings as themselves, null as
 * "-", anything else as compact JSON; control characters become spaces so
 * one record stays on one line.  Caller frees. */
static char *
ctl_cell(const json_t *v)
{
	char	*s, *p;

	if (v == NULL || json_is_null(v))
		s = strdup("-");
	else if (json_is_string(v))
		s = strdup(json_string_value(v));
	else if (json_is_integer(v)) {
		if (asprintf(&s, "%" JSON_INTEGER_FORMAT, json_integer_value(v)) < 0)
			s = NULL;
	} else if (json_is_real(v)) {
		if (asprintf(&s, "%g", json_real_value(v)) < 0)
			s = NULL;
	} else
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (s == NULL) {
		fprintf(stderr, "%s: out of memory\n", CTL_PROG);
		exit(CTL_EXIT_FAIL);
	}
	for (p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return s;
}

/* A cell for an array of strings: "a,b,c"; anything else as ctl_cell. */
static char *
ctl_cell_list(const json_t *v)
{
	json_t	*e;
	char	*out, *next, *item;
	size_t	 i;

	if (!json_is_array(v) || json_array_size(v) == 0)
		return ctl_cell(v);
	json_array_foreach(v, i, e)
		if (!json_is_string(e))
			return ctl_cell(v);
	out = ctl_cell(json_array_get(v, 0));
	for (i = 1; i < json_array_size(v); i++) {
		item = ctl_cell(json_array_get(v, i));
		if (asprintf(&next, "%s,%s", out, item) < 0) {
			fprintf(stderr, "%s: out of memory\n", CTL_PROG);
			exit(CTL_EXIT_FAIL);
		}
		free(out);
		free(item);
		out = next;
	}
	return out;
}

/* "key: value" lines, values aligned, in the object's order. */
static void
ctl_print_fields(const json_t *obj)
{
	const char	*key;
	json_t		*v;
	size_t		 w = 0;
	char		*cell;

	json_object_foreach((json_t *)obj, key, v)
		if (strlen(key) > w)
			w = strlen(key);
	json_object_foreach((json_t *)obj, key, v) {
		cell = ctl_cell(v);
		printf("%s:%*s %s\n", key, (int)(w - strlen(key)), "", cell);
		free(cell);
	}
}

static const char *const ctl_workload_order[] = {
	"id", "status", "workload_type", "priority", "worker_id", "attempt",
	"progress", "created_at", "started_at", "finished_at",
	"cancel_requested", "input_params", "affinity_rules", "max_retries",
	"timeout_seconds", "result", "error", NULL
};

/* Prints a record as "key: value" lines: the keys of order first (those
 * present), then the others. */
static void
ctl_print_record(const json_t *obj, const char *const *order)
{
	const char	*key;
	json_t		*v;
	json_t		*copy;
	size_t		 i;

	/* Reorder into a fresh object so one printing loop serves both. */
	if ((copy = json_object()) == NULL)
		return;
	for (i = 0; order != NULL && order[i] != NULL; i++)
		if ((v = json_object_get(obj, order[i])) != NULL)
			json_object_set(copy, order[i], v);
	json_object_foreach((json_t *)obj, key, v)
		if (json_object_get(copy, key) == NULL)
			json_object_set(copy, key, v);
	ctl_print_fields(copy);
	json_decref(copy);
}

/* A table: a header row and rows of owned cells, printed with aligned
 * columns. */
struct ctl_table {
	size_t	  ncol;
	size_t	  nrow;
	char	**cells;		/* nrow * ncol, owned */
};

static void
ctl_table_add(struct ctl_table *t, char **row)
{
	char	**nc;

	nc = realloc(t->cells, (t->nrow + 1) * t->ncol * sizeof *nc);
	if (nc == NULL) {
		fprintf(stderr, "%s: out of memory\n", CTL_PROG);
		exit(CTL_EXIT_FAIL);
	}
	t->cells = nc;
	memcpy(&t->cells[t->nrow * t->ncol], row, t->ncol * sizeof *row);
	t->nrow++;
}

static void
ctl_table_print_free(struct ctl_table *t)
{
	size_t	 r, c, *w;

	if ((w = calloc(t->ncol, sizeof *w)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", CTL_PROG);
		exit(CTL_EXIT_FAIL);
	}
	for (r = 0; r < t->nrow; r++)
		for (c = 0; c < t->ncol; c++)
			if (strlen(t->cells[r * t->ncol + c]) > w[c])
				w[c] = strlen(t->cells[r * t->ncol + c]);
	for (r = 0; r < t->nrow; r++) {
		for (c = 0; c < t->ncol; c++) {
			if (c + 1 == t->ncol)
				printf("%s\n", t->cells[r * t->ncol + c]);
			else
				printf("%-*s  ", (int)w[c], t->cells[r * t->ncol + c]);
		}
	}
	for (r = 0; r < t->nrow * t->ncol; r++)
		free(t->cells[r]);
	free(t->cells);
	free(w);
	t->cells = NULL;
	t->nrow = 0;
}

static void
ctl_table_header(struct ctl_table *t, const char *const *names)
{
	char	*row[16];
	size_t	 c;

	for (c = 0; c < t->ncol; c++) {
		if ((row[c] = strdup(names[c])) == NULL) {
			fprintf(stderr, "%s: out of memory\n", CTL_PROG);
			exit(CTL_EXIT_FAIL);
		}
	}
	ctl_table_add(t, row);
}

static void
ctl_print_workload_table(const json_t *list)
{
	static const char *const cols[] = { "ID", "STATUS", "TYPE", "PRIORITY",
	    "WORKER", "ATTEMPT", "CREATED" };
	static const char *const keys[] = { "id", "status", "workload_type",
	    "priority", "worker_id", "attempt", "created_at" };
	struct ctl_table	 t = { .ncol = 7 };
	char			*row[7];
	json_t			*wl;
	size_t			 i, c;

	ctl_table_header(&t, cols);
	json_array_foreach(list, i, wl) {
		for (c = 0; c < t.ncol; c++)
			row[c] = ctl_cell(json_object_get(wl, keys[c]));
		ctl_table_add(&t, row);
	}
	ctl_table_print_free(&t);
}

/* Adds the pair "K=V" to obj[K] = V. */
static int
ctl_tag_add(json_t *obj, const char *opt, const char *pair)
{
	const char	*eq = strchr(pair, '=');
	char		*key;
	int		 rc;

	if (eq == NULL || eq == pair)
		return ctl_usage_error("%s wants KEY=VALUE, not '%s'", opt, pair);
	if ((key = strndup(pair, (size_t)(eq - pair))) == NULL)
		return ctl_fail(ERR_NOMEM, "out of memory");
	rc = json_object_set_new(obj, key, json_string(eq + 1));
	free(key);
	if (rc != 0)
		return ctl_usage_error("%s: '%s' is not valid UTF-8", opt, pair);
	return 0;
}

/* Returns root[a][b] (b may be NULL), creating empty objects on the way.
 * NULL, after a usage message, if something on the way is not an object. */
static json_t *
ctl_json_obj(json_t *root, const char *a, const char *b)
{
	json_t		*o = root, *next;
	const char	*path[2] = { a, b };
	size_t		 i;

	for (i = 0; i < 2 && path[i] != NULL; i++) {
		next = json_object_get(o, path[i]);
		if (next == NULL) {
			next = json_object();
			if (next == NULL || json_object_set_new(o, path[i], next) != 0)
				return NULL;
		} else if (!json_is_object(next)) {
			ctl_usage_error("the request body's \"%s\" is not an object",
			    path[i]);
			return NULL;
		}
		o = next;
	}
	return o;
}

/* Reads all of path ('-': stdin) into a NUL-terminated buffer. */
static int
ctl_file_read(const char *path, char **out, size_t *lenp)
{
	FILE	*fp;
	char	*buf = NULL, *nb;
	size_t	 len = 0, cap = 0, n;

	*out = NULL;
	fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	if (fp == NULL)
		return ctl_usage_error("cannot open %s: %s", path, strerror(errno));
	for (;;) {
		if (len + 4096 + 1 > cap) {
			cap = cap == 0 ? 8192 : cap * 2;
			if (cap > CTL_FILE_MAX + 4096 + 1 ||
			    (nb = realloc(buf, cap)) == NULL) {
				free(buf);
				if (fp != stdin)
					fclose(fp);
				return ctl_usage_error("%s: larger than %u bytes",
				    path, CTL_FILE_MAX);
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len - 1, fp);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(fp)) {
		free(buf);
		if (fp != stdin)
			fclose(fp);
		return ctl_usage_error("cannot read %s", path);
	}
	if (fp != stdin)
		fclose(fp);
	buf[len] = '\0';
	*out = buf;
	*lenp = len;
	return 0;
}

static int
ctl_cmd_submit(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "params", required_argument, NULL, OPT_PARAMS },
		{ "priority", required_argument, NULL, OPT_PRIORITY },
		{ "max-retries", required_argument, NULL, OPT_MAX_RETRIES },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "worker", required_argument, NULL, OPT_WORKER },
		{ "tag", required_argument, NULL, OPT_TAG },
		{ "require-type", required_argument, NULL, OPT_REQUIRE_TYPE },
		{ "prefer-worker", required_argument, NULL, OPT_PREFER_WORKER },
		{ "prefer-tag", required_argument, NULL, OPT_PREFER_TAG },
		{ "avoid-type", required_argument, NULL, OPT_AVOID_TYPE },
		{ "file", required_argument, NULL, OPT_FILE },
		{ NULL, 0, NULL, 0 }
	};
	struct http_response	 resp = { 0 };
	json_error_t		 jerr;
	json_t			*body = NULL, *reply = NULL, *o, *arr, *v;
	const char		*file = NULL, *id;
	char			*text = NULL, *buf = NULL;
	size_t			 len = 0;
	long long		 n;
	int			 c, rc = CTL_EXIT_USAGE;

	/* First pass: find --file, which is the base the others modify. */
	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		if (c == '?' || c == ':')
			return ctl_usage_error("bad option for submit");
		if (c == 'h') {
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		}
		if (c == OPT_FILE)
			file = optarg;
	}
	if (optind < argc)
		return ctl_usage_error("submit takes no arguments; got '%s'",
		    argv[optind]);
	if (file != NULL) {
		if ((rc = ctl_file_read(file, &buf, &len)) != 0)
			return rc;
		body = json_loadb(buf, len, 0, &jerr);
		free(buf);
		if (body == NULL)
			return ctl_usage_error("%s:%d:%d: not valid JSON: %s",
			    file, jerr.line, jerr.column, jerr.text);
		if (!json_is_object(body)) {
			json_decref(body);
			return ctl_usage_error("%s: the request body must be a "
			    "JSON object", file);
		}
	} else if ((body = json_object()) == NULL) {
		return ctl_fail(ERR_NOMEM, "out of memory");
	}

	rc = CTL_EXIT_USAGE;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_TYPE:
			if (json_object_set_new(body, "workload_type",
			    json_string(optarg)) != 0) {
				ctl_usage_error("--type: not valid UTF-8");
				goto out;
			}
			break;
		case OPT_PARAMS:
			v = json_loads(optarg, 0, &jerr);
			if (!json_is_object(v)) {
				if (v == NULL)
					ctl_usage_error("--params: not valid JSON "
					    "(column %d): %s", jerr.column, jerr.text);
				else
					ctl_usage_error("--params must be a JSON "
					    "object, e.g. '{\"duration_ms\": 1000}'");
				json_decref(v);
				goto out;
			}
			json_object_set_new(body, "input_params", v);
			break;
		case OPT_PRIORITY:
		case OPT_MAX_RETRIES:
		case OPT_TIMEOUT:
			if (!str_parse_ll(optarg, 0, c == OPT_PRIORITY ? 1000 :
			    UINT32_MAX, &n)) {
				ctl_usage_error("--%s wants an integer %s, not '%s'",
				    c == OPT_PRIORITY ? "priority" : c ==
				    OPT_TIMEOUT ? "timeout" : "max-retries",
				    c == OPT_PRIORITY ? "from 0 to 1000" :
				    "of 0 or more", optarg);
				goto out;
			}
			json_object_set_new(body, c == OPT_PRIORITY ? "priority" :
			    c == OPT_TIMEOUT ? "timeout_seconds" : "max_retries",
			    json_integer(n));
			break;
		case OPT_WORKER:
		case OPT_PREFER_WORKER:
			if ((o = ctl_json_obj(body, "affinity_rules",
			    c == OPT_WORKER ? "hard_affinity" : "soft_affinity")) == NULL)
				goto out;
			json_object_set_new(o, "worker_id", json_string(optarg));
			break;
		case OPT_TAG:
		case OPT_PREFER_TAG:
			if ((o = ctl_json_obj(body, "affinity_rules",
			    c == OPT_TAG ? "hard_affinity" : "soft_affinity")) == NULL)
				goto out;
			if ((o = ctl_json_obj(o, "worker_tags", NULL)) == NULL)
				goto out;
			if (ctl_tag_add(o, c == OPT_TAG ? "--tag" : "--prefer-tag",
			    optarg) != 0)
				goto out;
			break;
		case OPT_REQUIRE_TYPE:
		case OPT_AVOID_TYPE:
			if ((o = ctl_json_obj(body, "affinity_rules",
			    c == OPT_REQUIRE_TYPE ? "hard_affinity" :
			    "anti_affinity")) == NULL)
				goto out;
			arr = json_object_get(o, "workload_types");
			if (arr == NULL) {
				arr = json_array();
				json_object_set_new(o, "workload_types", arr);
			} else if (!json_is_array(arr)) {
				ctl_usage_error("the request body's workload_types "
				    "is not an array");
				goto out;
			}
			json_array_append_new(arr, json_string(optarg));
			break;
		case OPT_FILE:
			break;
		default:
			if (ctl_global_option(ctl, c, optarg) != 0)
				goto out;
			break;
		}
	}
	if (!json_is_string(json_object_get(body, "workload_type"))) {
		ctl_usage_error("submit needs --type TYPE (or a workload_type in "
		    "--file)");
		goto out;
	}
	if (json_object_get(body, "input_params") == NULL)
		json_object_set_new(body, "input_params", json_object());
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL) {
		rc = ctl_fail(ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = ctl_connect(ctl, true)) != 0)
		goto out;
	if ((rc = ctl_call(ctl, "POST", "/v1/workloads", text, &resp, &reply)) != 0)
		goto out;
	if (ctl->json) {
		ctl_print_raw(&resp);
	} else if ((id = json_string_value(json_object_get(reply, "id"))) != NULL) {
		printf("%s\n", id);	/* alone, so id=$(niyantactl submit ...) works */
	} else {
		rc = ctl_fail(ERR_PROTO, "the reply has no workload id");
	}
out:
	free(text);
	json_decref(body);
	json_decref(reply);
	http_response_fini(&resp);
	return rc;
}

/* Parses options for verbs that take only the globals (plus the given
 * extras, which the caller handles through cb) and n_args positionals. */
static int
ctl_simple_args(struct ctl *ctl, int argc, char **argv, int n_args,
    const char **args)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	int	 c, rc, i;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			ctl_usage(stdout);
			return -1;
		}
		if ((rc = ctl_global_option(ctl, c, optarg)) != 0)
			return rc > 0 ? rc : ctl_usage_error("bad option for %s",
			    argv[0]);
	}
	if (argc - optind != n_args)
		return ctl_usage_error("%s takes %s", argv[0], n_args == 0 ?
		    "no arguments" : "one argument, a workload id");
	for (i = 0; i < n_args; i++) {
		args[i] = argv[optind + i];
		if (args[i][0] == '\0')
			return ctl_usage_error("%s: empty workload id", argv[0]);
	}
	return 0;
}

/* "/v1/workloads/<escaped id><suffix>" into a new string, or NULL. */
static char *
ctl_workload_path(const char *id, const char *suffix)
{
	char	*esc, *path;

	if ((esc = http_url_escape(id)) == NULL)
		return NULL;
	if (asprintf(&path, "/v1/workloads/%s%s", esc, suffix) < 0)
		path = NULL;
	free(esc);
	return path;
}

static int
ctl_cmd_get(struct ctl *ctl, int argc, char **argv)
{
	struct http_response	 resp = { 0 };
	const char		*id;
	json_t			*reply = NULL;
	char			*path;
	int			 rc;

	if ((rc = ctl_simple_args(ctl, argc, argv, 1, &id)) != 0)
		return rc < 0 ? CTL_EXIT_OK : rc;
	if ((rc = ctl_connect(ctl, true)) != 0)
		return rc;
	if ((path = ctl_workload_path(id, "")) == NULL)
		return ctl_fail(ERR_NOMEM, "out of memory");
	rc = ctl_call(ctl, "GET", path, NULL, &resp, &reply);
	if (rc == 0 && ctl->json)
		ctl_print_raw(&resp);
	else if (rc == 0)
		ctl_print_record(reply, ctl_workload_order);
	free(path);
	json_decref(reply);
	http_response_fini(&resp);
	return rc;
}

static int
ctl_cmd_list(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		{ "status", required_argument, NULL, OPT_STATUS },
		{ "type", required_argument, NULL, OPT_TYPE },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "cursor", required_argument, NULL, OPT_CURSOR },
		{ "all", no_argument, NULL, OPT_ALL },
		{ NULL, 0, NULL, 0 }
	};
	struct http_response	 resp = { 0 };
	json_t			*reply = NULL, *all = NULL, *page, *next, *out;
	char			*status = NULL, *type = NULL, *cursor = NULL;
	char			*path = NULL, *p;
	const char		*limit = NULL;
	long long		 n;
	bool			 follow = false;
	int			 c, rc = CTL_EXIT_USAGE;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			ctl_usage(stdout);
			rc = CTL_EXIT_OK;
			goto out;
		case OPT_STATUS:
			free(status);
			if ((status = http_url_escape(optarg)) == NULL)
				goto oom;
			for (p = status; *p != '\0'; p++)
				if (*p >= 'a' && *p <= 'z')
					*p = (char)(*p - 'a' + 'A');
			break;
		case OPT_TYPE:
			free(type);
			if ((type = http_url_escape(optarg)) == NULL)
				goto oom;
			break;
		case OPT_LIMIT:
			if (!str_parse_ll(optarg, 1, INT_MAX, &n)) {
				ctl_usage_error("--limit wants a positive integer, "
				    "not '%s'", optarg);
				goto out;
			}
			limit = optarg;
			break;
		case OPT_CURSOR:
			free(cursor);
			if ((cursor = http_url_escape(optarg)) == NULL)
				goto oom;
			break;
		case OPT_ALL:
			follow = true;
			break;
		default:
			if ((rc = ctl_global_option(ctl, c, optarg)) != 0) {
				if (rc < 0)
					rc = ctl_usage_error("bad option for list");
				goto out;
			}
			rc = CTL_EXIT_USAGE;
			break;
		}
	}
	if (optind < argc) {
		ctl_usage_error("list takes no arguments; got '%s'", argv[optind]);
		goto out;
	}
	if ((rc = ctl_connect(ctl, true)) != 0)
		goto out;
	if ((all = json_array()) == NULL)
		goto oom;
	for (;;) {
		free(path);
		if (asprintf(&path, "/v1/workloads?%s%s%s%s%s%s%s%s",
		    status ? "status=" : "", status ? status : "",
		    type ? "&workload_type=" : "", type ? type : "",
		    limit ? "&limit=" : "", limit ? limit : "",
		    cursor ? "&cursor=" : "", cursor ? cursor : "") < 0) {
			path = NULL;
			goto oom;
		}
		/* Tidy "?&a=b" into "?a=b" and drop a bare "?". */
		if ((p = strstr(path, "?&")) != NULL)
			memmove(p + 1, p + 2, strlen(p + 2) + 1);
		if (path[strlen(path) - 1] == '?')
			path[strlen(path) - 1] = '\0';
		json_decref(reply);
		if ((rc = ctl_call(ctl, "GET", path, NULL, &resp, &reply)) != 0)
			goto out;
		page = json_object_get(reply, "workloads");
		next = json_object_get(reply, "next_cursor");
		if (!json_is_array(page)) {
			rc = ctl_fail(ERR_PROTO, "the reply has no workloads array");
			goto out;
		}
		if (!follow) {
			if (ctl->json) {
				ctl_print_raw(&resp);
			} else {
				ctl_print_workload_table(page);
				if (json_is_string(next))
					fprintf(stderr, "(more: --cursor %s, or --all)\n",
					    json_string_value(next));
			}
			break;
		}
		json_array_extend(all, page);
		if (!json_is_string(next) || json_string_length(next) == 0)
			break;
		free(cursor);
		if ((cursor = http_url_escape(json_string_value(next))) == NULL)
			goto oom;
	}
	if (follow && ctl->json) {
		out = json_pack("{s:O,s:n}", "workloads", all, "next_cursor");
		if (out == NULL || json_dumpf(out, stdout, JSON_COMPACT) != 0) {
			json_decref(out);
			goto oom;
		}
		putchar('\n');
		json_decref(out);
	} else if (follow) {
		ctl_print_workload_table(all);
	}
	rc = 0;
	goto out;
oom:
	rc = ctl_fail(ERR_NOMEM, "out of memory");
out:
	free(status);
	free(type);
	free(cursor);
	free(path);
	json_decref(reply);
	json_decref(all);
	http_response_fini(&resp);
	return rc;
}

static int
ctl_cmd_cancel(struct ctl *ctl, int argc, char **argv)
{
	struct http_response	 resp = { 0 };
	const char		*id, *st;
	json_t			*reply = NULL;
	char			*path;
	int			 rc;

	if ((rc = ctl_simple_args(ctl, argc, argv, 1, &id)) != 0)
		return rc < 0 ? CTL_EXIT_OK : rc;
	if ((rc = ctl_connect(ctl, true)) != 0)
		return rc;
	if ((path = ctl_workload_path(id, "/cancel")) == NULL)
		return ctl_fail(ERR_NOMEM, "out of memory");
	rc = ctl_call(ctl, "POST", path, NULL, &resp, &reply);
	if (rc == 0 && ctl->json) {
		ctl_print_raw(&resp);
	} else if (rc == 0) {
		st = json_string_value(json_object_get(reply, "status"));
		if (resp.status == 202)
			printf("%s: cancel requested (%s); it stops shortly\n", id,
			    st != NULL ? st : "running");
		else
			printf("%s: %s\n", id, st != NULL ? st : "CANCELLED");
	}
	free(path);
	json_decref(reply);
	http_response_fini(&resp);
	return rc;
}

static bool
ctl_status_terminal(const char *s)
{
	return s != NULL && (strcmp(s, "COMPLETED") == 0 ||
	    strcmp(s, "FAILED") == 0 || strcmp(s, "CANCELLED") == 0);
}

static uint64_t
ctl_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
ctl_sleep_ms(unsigned ms)
{
	struct timespec	 ts = { .tv_sec = ms / 1000,
	    .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int
ctl_cmd_wait(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ NULL, 0, NULL, 0 }
	};
	struct http_response	 resp = { 0 };
	struct errbuf		 eb;
	json_t			*reply = NULL;
	const char		*id, *st = NULL;
	char			*path, last[ERRBUF_LEN + 64] = "";
	uint64_t		 deadline = 0;
	long long		 secs = 0;
	unsigned		 interval = 100;
	int			 c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		}
		if (c == OPT_TIMEOUT) {
			if (!str_parse_ll(optarg, 0, 100000000, &secs))
				return ctl_usage_error("--timeout wants seconds "
				    "(0 or more), not '%s'", optarg);
			continue;
		}
		if ((rc = ctl_global_option(ctl, c, optarg)) != 0)
			return rc > 0 ? rc : ctl_usage_error("bad option for wait");
	}
	if (argc - optind != 1 || argv[optind][0] == '\0')
		return ctl_usage_error("wait takes one argument, a workload id");
	id = argv[optind];
	if ((rc = ctl_connect(ctl, true)) != 0)
		return rc;
	if ((path = ctl_workload_path(id, "")) == NULL)
		return ctl_fail(ERR_NOMEM, "out of memory");
	if (secs > 0)
		deadline = ctl_now_ms() + (uint64_t)secs * 1000;

	for (;;) {
		errbuf_clear(&eb);
		json_decref(reply);
		reply = NULL;
		rc = http_client_request(ctl->http, "GET", path, NULL, &resp, &eb);
		if (rc == 0 && resp.status == 200) {
			reply = json_loadb(resp.body, resp.len, 0, NULL);
			st = json_string_value(json_object_get(reply, "status"));
			if (st == NULL) {
				rc = ctl_fail(ERR_PROTO, "the reply has no status");
				goto out;
			}
			if (ctl_status_terminal(st))
				break;
			snprintf(last, sizeof last, "workload %s is still %s", id, st);
		} else if (rc == 0 && resp.status != 503 && resp.status != 502 &&
		    resp.status != 504) {
			/* 404, 401, ...: waiting longer will not help. */
			ctl_print_api_error(&resp);
			rc = CTL_EXIT_FAIL;
			goto out;
		} else if (rc == 0) {
			snprintf(last, sizeof last, "server answers %ld", resp.status);
		} else if (rc == ERR_UNAVAIL || rc == ERR_TIMEOUT || rc == ERR_IO) {
			/* The coordinator may be restarting or failing over. */
			snprintf(last, sizeof last, "%s", eb.msg);
		} else {
			rc = ctl_fail(rc, eb.msg);
			goto out;
		}
		if (deadline != 0 && ctl_now_ms() >= deadline) {
			fprintf(stderr, "%s: %s: %s after %lld s\n", CTL_PROG,
			    err_code_name(ERR_TIMEOUT), last, secs);
			rc = CTL_EXIT_FAIL;
			goto out;
		}
		ctl_sleep_ms(interval);
		if (interval < 1000)
			interval += interval / 2;
	}
	if (ctl->json)
		ctl_print_raw(&resp);
	else
		ctl_print_record(reply, ctl_workload_order);
	rc = strcmp(st, "COMPLETED") == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
out:
	free(path);
	json_decref(reply);
	http_response_fini(&resp);
	return rc;
}

static int
ctl_cmd_workers(struct ctl *ctl, int argc, char **argv)
{
	static const char *const cols[] = { "ID", "STATUS", "SLOTS", "TAGS",
	    "CAPABILITIES", "LAST_HEARTBEAT" };
	struct http_response	 resp = { 0 };
	struct ctl_table	 t = { .ncol = 6 };
	json_t			*reply = NULL, *list, *w, *tags, *v;
	const char		*key;
	char			*row[6], *used, *cap, *tagtxt, *p;
	size_t			 i, j;
	int			 rc;

	if ((rc = ctl_simple_args(ctl, argc, argv, 0, NULL)) != 0)
		return rc < 0 ? CTL_EXIT_OK : rc;
	if ((rc = ctl_connect(ctl, true)) != 0)
		return rc;
	if ((rc = ctl_call(ctl, "GET", "/v1/workers", NULL, &resp, &reply)) != 0)
		goto out;
	if (ctl->json) {
		ctl_print_raw(&resp);
		goto out;
	}
	if (!json_is_array(list = json_object_get(reply, "workers"))) {
		rc = ctl_fail(ERR_PROTO, "the reply has no workers array");
		goto out;
	}
	ctl_table_header(&t, cols);
	json_array_foreach(list, i, w) {
		row[0] = ctl_cell(json_object_get(w, "id"));
		row[1] = ctl_cell(json_object_get(w, "status"));
		used = ctl_cell(json_object_get(w, "used_slots"));
		cap = ctl_cell(json_object_get(w, "capacity"));
		if (asprintf(&row[2], "%s/%s", used, cap) < 0)
			row[2] = NULL;
		free(used);
		free(cap);
		/* Tags as k=v,k=v; anything else as its JSON. */
		tags = json_object_get(w, "tags");
		tagtxt = NULL;
		if (json_is_object(tags) && json_object_size(tags) > 0) {
			j = 0;
			json_object_foreach(tags, key, v) {
				p = ctl_cell(v);
				if (asprintf(&row[3], "%s%s%s=%s",
				    tagtxt ? tagtxt : "", j++ ? "," : "", key, p) < 0)
					row[3] = NULL;
				free(p);
				free(tagtxt);
				if ((tagtxt = row[3]) == NULL)
					break;
			}
			row[3] = tagtxt;
		} else {
			row[3] = ctl_cell(json_is_object(tags) ? NULL : tags);
		}
		row[4] = ctl_cell_list(json_object_get(w, "capabilities"));
		row[5] = ctl_cell(json_object_get(w, "last_heartbeat"));
		if (row[2] == NULL || row[3] == NULL) {
			fprintf(stderr, "%s: out of memory\n", CTL_PROG);
			exit(CTL_EXIT_FAIL);
		}
		ctl_table_add(&t, row);
	}
	ctl_table_print_free(&t);
out:
	json_decref(reply);
	http_response_fini(&resp);
	return rc;
}

static int
ctl_cmd_cluster(struct ctl *ctl, int argc, char **argv)
{
	struct http_response	 resp = { 0 };
	json_t			*reply = NULL;
	int			 rc;

	if ((rc = ctl_simple_args(ctl, argc, argv, 0, NULL)) != 0)
		return rc < 0 ? CTL_EXIT_OK : rc;
	if ((rc = ctl_connect(ctl, true)) != 0)
		return rc;
	rc = ctl_call(ctl, "GET", "/v1/cluster", NULL, &resp, &reply);
	if (rc == 0 && ctl->json)
		ctl_print_raw(&resp);
	else if (rc == 0 && json_is_object(reply))
		ctl_print_record(reply, NULL);
	else if (rc == 0)
		ctl_print_raw(&resp);
	json_decref(reply);
	http_response_fini(&resp);
	return rc;
}

static int
ctl_cmd_health(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		{ "ready", no_argument, NULL, OPT_READY },
		{ NULL, 0, NULL, 0 }
	};
	struct http_response	 resp = { 0 };
	struct errbuf		 eb;
	bool			 need_ready = false;
	long			 health_status;
	int			 c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		}
		if (c == OPT_READY) {
			need_ready = true;
			continue;
		}
		if ((rc = ctl_global_option(ctl, c, optarg)) != 0)
			return rc > 0 ? rc : ctl_usage_error("bad option for health");
	}
	if (optind < argc)
		return ctl_usage_error("health takes no arguments");
	if ((rc = ctl_connect(ctl, false)) != 0)
		return rc;
	errbuf_clear(&eb);
	if ((rc = http_client_request(ctl->http, "GET", "/health", NULL, &resp,
	    &eb)) != 0)
		return ctl_fail(rc, eb.msg);
	health_status = resp.status;
	if (ctl->json)
		ctl_print_raw(&resp);
	else
		printf("health: %s (%ld)\n", health_status == 200 ? "ok" :
		    "failing", health_status);
	if (health_status != 200) {
		ctl_print_api_error(&resp);
		http_response_fini(&resp);
		return CTL_EXIT_FAIL;
	}
	if ((rc = http_client_request(ctl->http, "GET", "/ready", NULL, &resp,
	    &eb)) != 0)
		return ctl_fail(rc, eb.msg);
	if (!ctl->json)
		printf("ready: %s (%ld)\n", resp.status == 200 ? "yes" :
		    "no, cannot take writes now", resp.status);
	rc = need_ready && resp.status != 200 ? CTL_EXIT_FAIL : CTL_EXIT_OK;
	http_response_fini(&resp);
	return rc;
}

static const struct {
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
} ctl_verbs[] = {
	{ "submit", ctl_cmd_submit },
	{ "get", ctl_cmd_get },
	{ "list", ctl_cmd_list },
	{ "cancel", ctl_cmd_cancel },
	{ "wait", ctl_cmd_wait },
	{ "workers", ctl_cmd_workers },
	{ "cluster", ctl_cmd_cluster },
	{ "health", ctl_cmd_health },
};

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl	 ctl = { 0 };
	struct errbuf	 eb;
	const char	*env;
	size_t		 i;
	int		 c, rc;

	ctl.server = (env = getenv("NIYANTA_SERVER")) != NULL && env[0] != '\0' ?
	    env : CTL_DEFAULT_SERVER;
	ctl.key_file = getenv("NIYANTA_KEY_FILE");

	/* "+": stop at the verb; the verb parses the rest. */
	while ((c = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("%s %s\n", CTL_PROG, NIYANTA_VERSION);
			return CTL_EXIT_OK;
		default:
			if ((rc = ctl_global_option(&ctl, c, optarg)) != 0)
				return rc > 0 ? rc : ctl_usage_error("bad option");
			break;
		}
	}
	if (optind >= argc)
		return ctl_usage_error("no verb given");
	if (strcmp(argv[optind], "help") == 0) {
		ctl_usage(stdout);
		return CTL_EXIT_OK;
	}
	for (i = 0; i < sizeof ctl_verbs / sizeof ctl_verbs[0]; i++)
		if (strcmp(argv[optind], ctl_verbs[i].name) == 0)
			break;
	if (i == sizeof ctl_verbs / sizeof ctl_verbs[0])
		return ctl_usage_error("unknown verb '%s'", argv[optind]);

	errbuf_clear(&eb);
	if ((rc = http_global_init(&eb)) != 0)
		return ctl_fail(rc, eb.msg);
	rc = ctl_verbs[i].fn(&ctl, argc - optind, argv + optind);
	http_client_free(ctl.http);
	http_global_fini();
	if (fflush(stdout) != 0 && rc == 0) {
		fprintf(stderr, "%s: cannot write the output: %s\n", CTL_PROG,
		    strerror(errno));
		rc = CTL_EXIT_FAIL;
	}
	return rc;
}
