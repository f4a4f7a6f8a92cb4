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

#include "net/http_client.h"
#include "src/err.h"
#include "src/strs.h"

#ifndef NIYANTA_VERSION
#define NIYANTA_VERSION		"dev"
#endif

#define CTL_PROG		"niyantactl"
#define CTL_DEFAULT_SERVER	"http://127.0.0.1:8080"
#define CTL_FILE_MAX		(16u * 1024 * 1024)
#define CTL_IDEM_KEY_MAX	255	/* longest Idempotency-Key sent */

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
	OPT_IDEMPOTENCY_KEY, OPT_NAME, OPT_TIER, OPT_MAX_QUEUE_DEPTH,
	OPT_MAX_CONCURRENT, OPT_RATE_LIMIT, OPT_KEY_OUT, OPT_WORKLOAD,
	OPT_CUSTOMER, OPT_SINCE, OPT_UNTIL,
};

#define CTL_GLOBAL_OPTIONS						\
	{ "server", required_argument, NULL, OPT_SERVER },		\
	{ "key-file", required_argument, NULL, OPT_KEY_FILE },		\
	{ "output", required_argument, NULL, OPT_OUTPUT },		\
	{ "help", no_argument, NULL, 'h' }

/* The manual, in parts: ISO C promises only 4095 characters per string. */
static const char *const ctl_usage_text[] = {
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
"    The admin key (DATA_DIR/admin.key) sees and manages everything; a\n"
"    customer's key sees only that customer's workloads and audit events.\n"
"\n",
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
"        --idempotency-key K send Idempotency-Key: K; the same K with the\n"
"                            same body within 24 h answers with the first\n"
"                            submission's workload instead of a new one\n"
"                            (a different body: conflict)\n"
"    get ID              show one workload\n"
"    list                list workloads, newest first as the server orders them\n"
"        --status S          only this status (PENDING, SCHEDULED, RUNNING,\n"
"                            PAUSING, PAUSED, COMPLETED, FAILED,\n"
"                            CANCELLED)\n"
"        --type T            only this workload type\n"
"        --limit N           page size\n"
"        --cursor C          continue from a previous page's next_cursor\n"
"        --all               follow next_cursor until the last page\n"
"    cancel ID           cancel a workload (a running one stops shortly)\n"
"    pause ID            pause a workload: a PENDING one at once, a running\n"
"                        one after its worker checkpoints it (PAUSING, then\n"
"                        PAUSED)\n"
"    resume ID           put a PAUSED workload back in the queue (PENDING);\n"
"                        it continues from its last checkpoint\n"
"    wait ID             poll until the workload is COMPLETED, FAILED or\n"
"                        CANCELLED; exit 0 only if it COMPLETED\n"
"        --timeout S         give up after S seconds (default: never)\n"
"    workers             list the workers\n",
"    queue-depth         PENDING workloads: with the admin key, the total,\n"
"                        by tier and by customer; with a customer's key,\n"
"                        its own count and limit\n"
"    audit               list audit events (state changes, customer and key\n"
"                        changes), oldest first\n"
"        --workload ID       only this workload's\n"
"        --customer ID       only this customer's\n"
"        --since T           only at or after T: an RFC 3339 time, or an\n"
"                            age such as 30s, 15m, 2h, 7d\n"
"        --until T           only at or before T (same forms)\n"
"        --limit N           page size\n"
"        --cursor C          continue from a previous page's next_cursor\n"
"        --all               follow next_cursor until the last page\n"
"\n",
"  Customers and API keys (admin key; a customer's key may only get itself)\n"
"    customers           list the customers\n"
"    customer get ID     show one customer\n"
"    customer create     create a customer and its first API key; prints\n"
"                        the customer id, the key id and the key, which the\n"
"                        server never shows again\n"
"        --name NAME         the customer's name (required)\n"
"        --tier T            free, standard, premium or enterprise\n"
"                            (required)\n"
"        --max-queue-depth N PENDING workloads at most (0: the tier's\n"
"                            default)\n"
"        --max-concurrent N  running workloads at most (0: no limit)\n"
"        --rate-limit N      API requests per second (0: the tier's\n"
"                            default)\n"
"        --key-out FILE      write the key to FILE (mode 0600; FILE must not\n"
"                            exist) instead of printing it; with --output\n"
"                            json the key is left out of the printed reply\n"
"    customer update ID  change a customer: any of --name, --tier,\n"
"                        --max-queue-depth, --max-concurrent, --rate-limit\n"
"    keys ID             list customer ID's API keys (never the keys\n"
"                        themselves)\n"
"    key create ID       a new API key for customer ID; prints it once\n"
"        --key-out FILE      as for customer create\n"
"    key revoke ID KEY_ID\n"
"                        revoke a key: it is refused (401) from then on\n"
"    cluster             show the coordinator cluster: who leads, each\n"
"                        node's addresses and how far its log reaches\n"
"    cluster add-node ID HOST:PORT\n"
"                        add node ID (started with niyantad --join) at\n"
"                        its Raft address; it votes once it caught up\n"
"    cluster remove-node ID\n"
"                        take node ID out of the cluster\n"
"    cluster transfer-leader [ID]\n"
"                        hand leadership to node ID (default: any voter)\n"
"    health              check /health (and /ready) of the server\n"
"        --ready             also require /ready to answer 200\n"
"\n",
"EXIT STATUS\n"
"    0 success; 1 API or connection error, or a waited-for workload that did\n"
"    not complete; 2 usage error.  An API error prints \"niyantactl: CODE:\n"
"    MESSAGE\", its details, and \"retry after N s\" when the server is\n"
"    rate-limiting (429) or its queue is full (503).\n"
"\n"
"EXAMPLES\n"
"    export NIYANTA_KEY_FILE=/var/lib/niyanta/admin.key\n"
"    id=$(niyantactl submit --type sleep --params '{\"duration_ms\": 2000}')\n"
"    niyantactl wait \"$id\" --timeout 60\n"
"    niyantactl submit --type exec --params '{\"argv\": [\"uname\", \"-a\"]}' \\\n"
"        --tag gpu=true --priority 500\n"
"    niyantactl --output json list --status RUNNING --all\n"
"    niyantactl customer create --name acme --tier premium \\\n"
"        --max-queue-depth 5000 --key-out acme.key\n"
"    niyantactl --key-file acme.key submit --type sleep \\\n"
"        --params '{\"duration_ms\": 100}' --idempotency-key order-1234\n"
"    niyantactl audit --workload \"$id\" --all\n",
	NULL
};

static void
ctl_usage(FILE *fp)
{
	size_t	 i;

	for (i = 0; ctl_usage_text[i] != NULL; i++)
		fputs(ctl_usage_text[i], fp);
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
 * Sends one request, with the extra header lines hdrs (NULL-terminated, or
 * NULL).  On a 2xx reply returns 0 with the parsed JSON in *out (if out is
 * not NULL; the caller owns it) and the raw reply in *resp.  Otherwise
 * prints the error and returns CTL_EXIT_FAIL.
 */
static int
ctl_call_hdrs(struct ctl *ctl, const char *method, const char *path,
    const char *body, const char *const *hdrs, struct http_response *resp,
    json_t **out)
{
	struct errbuf	 eb;
	json_error_t	 jerr;
	int		 rc;

	errbuf_clear(&eb);
	if (out != NULL)
		*out = NULL;
	if ((rc = http_client_request_hdrs(ctl->http, method, path, body, hdrs,
	    resp, &eb)) != 0)
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

/* ctl_call_hdrs without extra request headers. */
static int
ctl_call(struct ctl *ctl, const char *method, const char *path, const char *body,
    struct http_response *resp, json_t **out)
{
	return ctl_call_hdrs(ctl, method, path, body, NULL, resp, out);
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

/* Prints the objects of list as a table: one column per key, titled by
 * the matching entry of cols. */
static void
ctl_print_objects(const json_t *list, const char *const *cols,
    const char *const *keys, size_t ncol)
{
	struct ctl_table	 t = { .ncol = ncol };
	char			*row[16];
	json_t			*o;
	size_t			 i, c;

	ctl_table_header(&t, cols);
	json_array_foreach(list, i, o) {
		for (c = 0; c < ncol; c++)
			row[c] = ctl_cell(json_object_get(o, keys[c]));
		ctl_table_add(&t, row);
	}
	ctl_table_print_free(&t);
}

static void
ctl_print_workload_table(const json_t *list)
{
	static const char *const cols[] = { "ID", "STATUS", "TYPE", "PRIORITY",
	    "WORKER", "ATTEMPT", "CREATED" };
	static const char *const keys[] = { "id", "status", "workload_type",
	    "priority", "worker_id", "attempt", "created_at" };

	ctl_print_objects(list, cols, keys, 7);
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

/* An Idempotency-Key: 1..CTL_IDEM_KEY_MAX visible ASCII characters. */
static bool
ctl_idempotency_key_valid(const char *k)
{
	size_t	 n;

	for (n = 0; k[n] != '\0'; n++)
		if ((unsigned char)k[n] < 0x21 || (unsigned char)k[n] > 0x7e)
			return false;
	return n >= 1 && n <= CTL_IDEM_KEY_MAX;
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
		{ "idempotency-key", required_argument, NULL, OPT_IDEMPOTENCY_KEY },
		{ NULL, 0, NULL, 0 }
	};
	struct http_response	 resp = { 0 };
	json_error_t		 jerr;
	json_t			*body = NULL, *reply = NULL, *o, *arr, *v;
	const char		*file = NULL, *id, *hdrs[2] = { NULL, NULL };
	char			*text = NULL, *buf = NULL, *idem = NULL;
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
		case OPT_IDEMPOTENCY_KEY:
			if (!ctl_idempotency_key_valid(optarg)) {
				ctl_usage_error("--idempotency-key wants 1 to %d "
				    "printable ASCII characters without blanks",
				    CTL_IDEM_KEY_MAX);
				goto out;
			}
			free(idem);
			if (asprintf(&idem, "Idempotency-Key: %s", optarg) < 0) {
				idem = NULL;
				rc = ctl_fail(ERR_NOMEM, "out of memory");
				goto out;
			}
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
	hdrs[0] = idem;
	if ((rc = ctl_call_hdrs(ctl, "POST", "/v1/workloads", text, hdrs, &resp,
	    &reply)) != 0)
		goto out;
	if (ctl->json) {
		ctl_print_raw(&resp);
	} else if ((id = json_string_value(json_object_get(reply, "id"))) != NULL) {
		printf("%s\n", id);	/* alone, so id=$(niyantactl submit ...) works */
		if (resp.status == 200)
			fprintf(stderr, "%s: the server already had a submission "
			    "with this idempotency key; this is its workload\n",
			    CTL_PROG);
	} else {
		rc = ctl_fail(ERR_PROTO, "the reply has no workload id");
	}
out:
	free(idem);
	free(text);
	json_decref(body);
	json_decref(reply);
	http_response_fini(&resp);
	return rc;
}

/* Parses the options of a verb that takes only the globals, and exactly
 * n_args non-empty positionals (into args); what names them for the usage
 * message ("one argument, a workload id").  Returns 0, -1 after printing
 * the help, or CTL_EXIT_USAGE. */
static int
ctl_simple_args(struct ctl *ctl, int argc, char **argv, int n_args,
    const char **args, const char *verb, const char *what)
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
			    verb);
	}
	if (argc - optind != n_args)
		return ctl_usage_error("%s takes %s", verb, what);
	for (i = 0; i < n_args; i++) {
		args[i] = argv[optind + i];
		if (args[i][0] == '\0')
			return ctl_usage_error("%s: an argument is empty; it takes %s",
			    verb, what);
	}
	return 0;
}

/*
 * A path from pieces: prefix, then id (percent-encoded), then mid, then id2
 * (percent-encoded; NULL for none).  Caller frees; NULL on OOM.
 */
static char *
ctl_path_build(const char *prefix, const char *id, const char *mid,
    const char *id2)
{
	char	*e1, *e2 = NULL, *path = NULL;

	if ((e1 = http_url_escape(id)) == NULL)
		return NULL;
	if (id2 != NULL && (e2 = http_url_escape(id2)) == NULL) {
		free(e1);
		return NULL;
	}
	if (asprintf(&path, "%s%s%s%s", prefix, e1, mid, e2 != NULL ? e2 : "") < 0)
		path = NULL;
	free(e1);
	free(e2);
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

	if ((rc = ctl_simple_args(ctl, argc, argv, 1, &id, "get",
	    "one argument, a workload id")) != 0)
		return rc < 0 ? CTL_EXIT_OK : rc;
	if ((rc = ctl_connect(ctl, true)) != 0)
		return rc;
	if ((path = ctl_path_build("/v1/workloads/", id, "", NULL)) == NULL)
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

	if ((rc = ctl_simple_args(ctl, argc, argv, 1, &id, "cancel",
	    "one argument, a workload id")) != 0)
		return rc < 0 ? CTL_EXIT_OK : rc;
	if ((rc = ctl_connect(ctl, true)) != 0)
		return rc;
	if ((path = ctl_path_build("/v1/workloads/", id, "/cancel", NULL)) == NULL)
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
	if ((path = ctl_path_build("/v1/workloads/", id, "", NULL)) == NULL)
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

	if ((rc = ctl_simple_args(ctl, argc, argv, 0, NULL, "workers",
	    "no arguments")) != 0)
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

/* A verb without arguments that GETs one object and prints it with print
 * (or raw with --output json). */
static int
ctl_get_object(struct ctl *ctl, int argc, char **argv, const char *verb,
    const char *path, void (*print)(const json_t *))
{
	struct http_response	 resp = { 0 };
	json_t			*reply = NULL;
	int			 rc;

	if ((rc = ctl_simple_args(ctl, argc, argv, 0, NULL, verb,
	    "no arguments")) != 0)
		return rc < 0 ? CTL_EXIT_OK : rc;
	if ((rc = ctl_connect(ctl, true)) != 0)
		return rc;
	rc = ctl_call(ctl, "GET", path, NULL, &resp, &reply);
	if (rc == 0 && ctl->json)
		ctl_print_raw(&resp);
	else if (rc == 0 && json_is_object(reply))
		print(reply);
	else if (rc == 0)
		ctl_print_raw(&resp);
	json_decref(reply);
	http_response_fini(&resp);
	return rc;
}

/* "customer get|create|update ..." and "key create|revoke ...". */
struct ctl_subverb {
	const char	*name;
	int		(*fn)(struct ctl *, int, char **);
};

/* The answering node's fields, then one row per node. */
static void
ctl_print_cluster(const json_t *reply)
{
	static const char *const cols[] = { "ID", "ROLE", "VOTING", "RAFT",
	    "HTTP", "WORKERS", "MATCH" };
	static const char *const keys[] = { "id", "role", "voting",
	    "raft_address", "http_url", "worker_url", "match_index" };
	static const char *const order[] = { "node_id", "leader_id", "term",
	    "commit_index", "applied_index", NULL };
	json_t			*copy, *nodes;

	if ((copy = json_deep_copy(reply)) == NULL)
		return;
	nodes = json_incref(json_object_get(copy, "nodes"));
	json_object_del(copy, "nodes");
	ctl_print_record(copy, order);
	json_decref(copy);
	if (!json_is_array(nodes) || json_array_size(nodes) == 0) {
		json_decref(nodes);
		return;
	}
	printf("\n");
	ctl_print_objects(nodes, cols, keys, 7);
	json_decref(nodes);
}

static int
ctl_cmd_cluster_show(struct ctl *ctl, int argc, char **argv)
{
	return ctl_get_object(ctl, argc, argv, "cluster", "/v1/cluster",
	    ctl_print_cluster);
}

/* A node id argument: 1..2^32-1. */
static int
ctl_node_id_parse(const char *s, const char *verb, unsigned long long *out)
{
	char	*end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || s[0] < '0' || s[0] > '9' || *out == 0 ||
	    *out > UINT32_MAX)
		return ctl_usage_error("%s: \"%s\" is not a node id (1..%u)", verb,
		    s, (unsigned)UINT32_MAX);
	return 0;
}

/* POST path with body, printing done (or the reply with --output json). */
static int
ctl_cluster_post(struct ctl *ctl, const char *path, json_t *body,
    const char *method, const char *done)
{
	struct http_response	 resp = { 0 };
	char			*text = NULL;
	int			 rc;

	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		json_decref(body);
		return ctl_fail(ERR_NOMEM, "out of memory");
	}
	json_decref(body);
	if ((rc = ctl_connect(ctl, true)) == 0 &&
	    (rc = ctl_call(ctl, method, path, text, &resp, NULL)) == 0) {
		if (ctl->json && resp.len > 0)
			ctl_print_raw(&resp);
		else if (!ctl->json)
			printf("%s\n", done);
	}
	free(text);
	http_response_fini(&resp);
	return rc;
}

static int
ctl_cmd_cluster_add(struct ctl *ctl, int argc, char **argv)
{
	const char		*args[2];
	unsigned long long	 id;
	char			 done[256];
	int			 rc;

	if ((rc = ctl_simple_args(ctl, argc, argv, 2, args, "cluster add-node",
	    "two arguments, the new node's id and its Raft HOST:PORT")) != 0)
		return rc < 0 ? CTL_EXIT_OK : rc;
	if ((rc = ctl_node_id_parse(args[0], "cluster add-node", &id)) != 0)
		return rc;
	snprintf(done, sizeof done, "node %llu (%s) added; it votes now", id,
	    args[1]);
	return ctl_cluster_post(ctl, "/v1/cluster/nodes", json_pack("{s:I,s:s}",
	    "id", (json_int_t)id, "raft_address", args[1]), "POST", done);
}

static int
ctl_cmd_cluster_remove(struct ctl *ctl, int argc, char **argv)
{
	const char		*arg;
	unsigned long long	 id;
	char			 path[64], done[64];
	int			 rc;

	if ((rc = ctl_simple_args(ctl, argc, argv, 1, &arg, "cluster remove-node",
	    "one argument, a node id")) != 0)
		return rc < 0 ? CTL_EXIT_OK : rc;
	if ((rc = ctl_node_id_parse(arg, "cluster remove-node", &id)) != 0)
		return rc;
	snprintf(path, sizeof path, "/v1/cluster/nodes/%llu", id);
	snprintf(done, sizeof done, "node %llu removed", id);
	return ctl_cluster_post(ctl, path, NULL, "DELETE", done);
}

static int
ctl_cmd_cluster_transfer(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	unsigned long long	 id = 0;
	char			 done[64];
	int			 c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		}
		if ((rc = ctl_global_option(ctl, c, optarg)) != 0)
			return rc > 0 ? rc : ctl_usage_error("bad option for "
			    "cluster transfer-leader");
	}
	if (argc - optind > 1)
		return ctl_usage_error("cluster transfer-leader takes at most one "
		    "argument, a node id");
	if (argc - optind == 1 && (rc = ctl_node_id_parse(argv[optind],
	    "cluster transfer-leader", &id)) != 0)
		return rc;
	if (id != 0)
		snprintf(done, sizeof done, "node %llu leads", id);
	else
		snprintf(done, sizeof done, "leadership handed over");
	return ctl_cluster_post(ctl, "/v1/cluster/transfer-leader", id != 0 ?
	    json_pack("{s:I}", "id", (json_int_t)id) : json_object(), "POST", done);
}

static int
ctl_cmd_cluster(struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_subverb subs[] = {
		{ "add-node", ctl_cmd_cluster_add },
		{ "remove-node", ctl_cmd_cluster_remove },
		{ "transfer-leader", ctl_cmd_cluster_transfer },
	};
	size_t	 i;

	/* Bare "cluster" (perhaps with options) shows the cluster. */
	if (argc < 2 || argv[1][0] == '-')
		return ctl_cmd_cluster_show(ctl, argc, argv);
	for (i = 0; i < 3; i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].fn(ctl, argc - 1, argv + 1);
	return ctl_usage_error("cluster: unknown '%s'; want one of: add-node, "
	    "remove-node, transfer-leader, or none to show the cluster", argv[1]);
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

/* ---------------------------------------------------------------- paths */

/* Appends "name=<value percent-encoded>" to the query string of *path
 * ('?' before the first, '&' after).  0, or ERR_NOMEM (*path unchanged). */
static int
ctl_query_add(char **path, const char *name, const char *value)
{
	char	*esc, *np;

	if ((esc = http_url_escape(value)) == NULL)
		return ERR_NOMEM;
	if (asprintf(&np, "%s%c%s=%s", *path, strchr(*path, '?') ? '&' : '?',
	    name, esc) < 0) {
		free(esc);
		return ERR_NOMEM;
	}
	free(esc);
	free(*path);
	*path = np;
	return 0;
}

/* ---------------------------------------------------------------- lists */


/*
 * GETs a list: path (with its query, if any, but no cursor) answers
 * {"<key>": [...], "next_cursor": ...}; cursor (or NULL) is where to
 * start.  Without follow, prints the one page (the raw reply with --output
 * json, else through print, and a hint when there are more); with follow,
 * walks next_cursor to the end and prints everything as one list
 * ({"<key>": [...], "next_cursor": null} with --output json).
 */
static int
ctl_list_run(struct ctl *ctl, const char *path, const char *cursor,
    const char *key, bool follow, void (*print)(const json_t *))
{
	struct http_response	 resp = { 0 };
	json_t			*reply = NULL, *all = NULL, *page, *next, *out;
	char			*p = NULL, *prev = NULL;
	int			 rc;

	if ((all = json_array()) == NULL || (p = strdup(path)) == NULL ||
	    (cursor != NULL && ctl_query_add(&p, "cursor", cursor) != 0))
		goto oom;
	for (;;) {
		json_decref(reply);
		if ((rc = ctl_call(ctl, "GET", p, NULL, &resp, &reply)) != 0)
			goto out;
		page = json_object_get(reply, key);
		next = json_object_get(reply, "next_cursor");
		if (!json_is_array(page)) {
			rc = ctl_fail(ERR_PROTO, "the reply has no list");
			fprintf(stderr, "%s:   wanted an array \"%s\"\n", CTL_PROG, key);
			goto out;
		}
		if (!follow) {
			if (ctl->json) {
				ctl_print_raw(&resp);
			} else {
				print(page);
				if (json_is_string(next) && json_string_length(next) > 0)
					fprintf(stderr, "(more: --cursor %s, or --all)\n",
					    json_string_value(next));
			}
			rc = 0;
			goto out;
		}
		if (json_array_extend(all, page) != 0)
			goto oom;
		if (!json_is_string(next) || json_string_length(next) == 0)
			break;
		if (prev != NULL && strcmp(prev, json_string_value(next)) == 0) {
			rc = ctl_fail(ERR_PROTO, "the server's next_cursor does not "
			    "advance");
			goto out;
		}
		/* The next page: the same query with this cursor. */
		free(prev);
		free(p);
		p = NULL;
		if ((prev = strdup(json_string_value(next))) == NULL ||
		    (p = strdup(path)) == NULL ||
		    ctl_query_add(&p, "cursor", prev) != 0)
			goto oom;
	}
	if (ctl->json) {
		out = json_pack("{s:O,s:n}", key, all, "next_cursor");
		if (out == NULL || json_dumpf(out, stdout, JSON_COMPACT) != 0) {
			json_decref(out);
			goto oom;
		}
		putchar('\n');
		json_decref(out);
	} else {
		print(all);
	}
	rc = 0;
	goto out;
oom:
	rc = ctl_fail(ERR_NOMEM, "out of memory");
out:
	free(p);
	free(prev);
	json_decref(reply);
	json_decref(all);
	http_response_fini(&resp);
	return rc;
}

/* ---------------------------------------------------------------- key files */

/*
 * Where a new API key goes (--key-out FILE).  The file is prepared before
 * the key is asked for, so a path that cannot be written fails before
 * anything changes on the server; the key is written to a private
 * temporary file (mode 0600) next to FILE and linked to FILE at the end,
 * which never replaces an existing file.
 */
struct ctl_keyout {
	const char	*path;		/* FILE, borrowed; NULL: no --key-out */
	char		*tmp;		/* the temporary file, owned */
	int		 fd;		/* open on tmp, or -1 */
};

static void
ctl_keyout_discard(struct ctl_keyout *k)
{
	if (k->fd != -1)
		close(k->fd);
	k->fd = -1;
	if (k->tmp != NULL)
		unlink(k->tmp);
	free(k->tmp);
	k->tmp = NULL;
}

/* Prepares k for path.  0, or CTL_EXIT_FAIL after saying why. */
static int
ctl_keyout_open(struct ctl_keyout *k, const char *path)
{
	k->path = path;
	k->fd = -1;
	k->tmp = NULL;
	if (path == NULL)
		return 0;
	if (path[0] == '\0')
		return ctl_usage_error("--key-out wants a file name");
	if (access(path, F_OK) == 0) {
		fprintf(stderr, "%s: %s: --key-out %s: the file exists; refusing "
		    "to overwrite a key file\n", CTL_PROG,
		    err_code_name(ERR_EXISTS), path);
		return CTL_EXIT_FAIL;
	}
	if (asprintf(&k->tmp, "%s.XXXXXX", path) < 0) {
		k->tmp = NULL;
		return ctl_fail(ERR_NOMEM, "out of memory");
	}
	/* mkstemp creates the file with mode 0600. */
	if ((k->fd = mkstemp(k->tmp)) == -1) {
		fprintf(stderr, "%s: %s: --key-out %s: %s\n", CTL_PROG,
		    err_code_name(ERR_IO), path, strerror(errno));
		free(k->tmp);
		k->tmp = NULL;
		return CTL_EXIT_FAIL;
	}
	return 0;
}

/*
 * Writes key into k's file and gives the file its final name.  On failure
 * the key is printed on stderr, so that it is not lost (the server shows
 * it only once), and CTL_EXIT_FAIL is returned.
 */
static int
ctl_keyout_commit(struct ctl_keyout *k, const char *key)
{
	size_t		 len = strlen(key), off = 0;
	ssize_t		 n;
	const char	*why = NULL;
	char		 nl = '\n';

	while (off < len) {
		if ((n = write(k->fd, key + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			why = strerror(errno);
			break;
		}
		off += (size_t)n;
	}
	if (why == NULL && write(k->fd, &nl, 1) != 1)
		why = strerror(errno);
	if (why == NULL && fsync(k->fd) == -1)
		why = strerror(errno);
	if (why == NULL && close(k->fd) == -1)
		why = strerror(errno);
	k->fd = -1;
	/* link() fails if FILE appeared meanwhile: never clobber a key file. */
	if (why == NULL && link(k->tmp, k->path) == -1)
		why = strerror(errno);
	ctl_keyout_discard(k);
	if (why != NULL) {
		fprintf(stderr, "%s: %s: cannot write the key to %s: %s\n"
		    "%s:   the key (shown only this once): %s\n", CTL_PROG,
		    err_code_name(ERR_IO), k->path, why, CTL_PROG, key);
		return CTL_EXIT_FAIL;
	}
	return 0;
}

/*
 * Prints a new key: "key_id:" and "key:" lines (the key itself, or where
 * it was written).  With --output json the server's reply is printed, and
 * with --key-out its key text is taken out first.  key_obj is the reply's
 * object holding "id" and "key"; customer, if not NULL, is printed first.
 */
static int
ctl_key_report(struct ctl *ctl, struct ctl_keyout *ko, json_t *reply,
    json_t *key_obj, const json_t *customer)
{
	const char	*key, *kid;
	char		*cid = NULL, *name = NULL, *tier = NULL;
	int		 rc;

	key = json_string_value(json_object_get(key_obj, "key"));
	kid = json_string_value(json_object_get(key_obj, "id"));
	if (key == NULL || key[0] == '\0' || kid == NULL) {
		ctl_keyout_discard(ko);
		return ctl_fail(ERR_PROTO, "the reply has no key (\"id\" and "
		    "\"key\")");
	}
	if (ko->path != NULL && (rc = ctl_keyout_commit(ko, key)) != 0)
		return rc;
	if (ctl->json) {
		if (ko->path != NULL)
			json_object_del(key_obj, "key");
		if (json_dumpf(reply, stdout, JSON_COMPACT) != 0)
			return ctl_fail(ERR_NOMEM, "out of memory");
		putchar('\n');
		return 0;
	}
	if (customer != NULL) {
		cid = ctl_cell(json_object_get(customer, "id"));
		name = ctl_cell(json_object_get(customer, "name"));
		tier = ctl_cell(json_object_get(customer, "tier"));
		printf("customer_id: %s\nname:        %s\ntier:        %s\n", cid,
		    name, tier);
		free(cid);
		free(name);
		free(tier);
	}
	printf("key_id:      %s\n", kid);
	if (ko->path != NULL) {
		printf("key:         written to %s (mode 0600)\n", ko->path);
	} else {
		printf("key:         %s\n", key);
		fprintf(stderr, "%s: the key is shown only this once; keep it "
		    "(or use --key-out FILE)\n", CTL_PROG);
	}
	return 0;
}

/* ---------------------------------------------------------------- customers */

static const char *const ctl_customer_order[] = {
	"id", "name", "tier", "max_queue_depth", "max_concurrent",
	"rate_limit_rps", "created_at", "updated_at", NULL
};

static void
ctl_print_customer_table(const json_t *list)
{
	static const char *const cols[] = { "ID", "NAME", "TIER",
	    "MAX_QUEUE_DEPTH", "MAX_CONCURRENT", "RATE_LIMIT_RPS", "CREATED" };

	ctl_print_objects(list, cols, ctl_customer_order, 7);
}

static void
ctl_print_key_table(const json_t *list)
{
	static const char *const cols[] = { "ID", "CUSTOMER", "ROLE", "CREATED",
	    "REVOKED" };
	struct ctl_table	 t = { .ncol = 5 };
	char			*row[5];
	json_t			*k, *rev;
	size_t			 i;

	ctl_table_header(&t, cols);
	json_array_foreach(list, i, k) {
		row[0] = ctl_cell(json_object_get(k, "id"));
		row[1] = ctl_cell(json_object_get(k, "customer_id"));
		row[2] = ctl_cell(json_object_get(k, "role"));
		row[3] = ctl_cell(json_object_get(k, "created_at"));
		/* The time of the revocation if the server gives one. */
		rev = json_object_get(k, "revoked_at");
		if (!json_is_string(rev))
			rev = json_object_get(k, "revoked");
		row[4] = ctl_cell(rev);
		ctl_table_add(&t, row);
	}
	ctl_table_print_free(&t);
}

static int
ctl_cmd_customers(struct ctl *ctl, int argc, char **argv)
{
	int	 rc;

	if ((rc = ctl_simple_args(ctl, argc, argv, 0, NULL, "customers",
	    "no arguments")) != 0)
		return rc < 0 ? CTL_EXIT_OK : rc;
	if ((rc = ctl_connect(ctl, true)) != 0)
		return rc;
	return ctl_list_run(ctl, "/v1/customers", NULL, "customers", true,
	    ctl_print_customer_table);
}

/* Prints a customer reply: the record itself or {"customer": {...}}. */
static void
ctl_print_customer_reply(struct ctl *ctl, const struct http_response *resp,
    json_t *reply)
{
	json_t	*c = json_object_get(reply, "customer");

	if (ctl->json)
		ctl_print_raw(resp);
	else
		ctl_print_record(json_is_object(c) ? c : reply, ctl_customer_order);
}

static int
ctl_cmd_customer_get(struct ctl *ctl, int argc, char **argv)
{
	struct http_response	 resp = { 0 };
	const char		*id;
	json_t			*reply = NULL;
	char			*path;
	int			 rc;

	if ((rc = ctl_simple_args(ctl, argc, argv, 1, &id, "customer get",
	    "one argument, a customer id")) != 0)
		return rc < 0 ? CTL_EXIT_OK : rc;
	if ((rc = ctl_connect(ctl, true)) != 0)
		return rc;
	if ((path = ctl_path_build("/v1/customers/", id, "", NULL)) == NULL)
		return ctl_fail(ERR_NOMEM, "out of memory");
	if ((rc = ctl_call(ctl, "GET", path, NULL, &resp, &reply)) == 0)
		ctl_print_customer_reply(ctl, &resp, reply);
	free(path);
	json_decref(reply);
	http_response_fini(&resp);
	return rc;
}

/*
 * The options customer create and customer update share: --name, --tier
 * and the limits, set into body.  Returns 0 if c was one of them (and is
 * valid), 1 if it is not one of them, CTL_EXIT_USAGE for a bad value.
 */
static int
ctl_customer_option(json_t *body, int c, const char *arg)
{
	static const char *const tiers[] = { "free", "standard", "premium",
	    "enterprise" };
	const char	*field;
	char		 lower[16];
	long long	 n;
	size_t		 i;

	switch (c) {
	case OPT_NAME:
		if (arg[0] == '\0' || json_object_set_new(body, "name",
		    json_string(arg)) != 0)
			return ctl_usage_error("--name wants a non-empty UTF-8 "
			    "name");
		return 0;
	case OPT_TIER:
		for (i = 0; arg[i] != '\0' && i + 1 < sizeof lower; i++)
			lower[i] = (char)(arg[i] >= 'A' && arg[i] <= 'Z' ?
			    arg[i] - 'A' + 'a' : arg[i]);
		lower[i] = '\0';
		for (i = 0; i < sizeof tiers / sizeof tiers[0]; i++)
			if (strcmp(lower, tiers[i]) == 0 && strlen(arg) ==
			    strlen(tiers[i]))
				break;
		if (i == sizeof tiers / sizeof tiers[0])
			return ctl_usage_error("--tier wants free, standard, "
			    "premium or enterprise, not '%s'", arg);
		json_object_set_new(body, "tier", json_string(tiers[i]));
		return 0;
	case OPT_MAX_QUEUE_DEPTH:
		field = "max_queue_depth";
		break;
	case OPT_MAX_CONCURRENT:
		field = "max_concurrent";
		break;
	case OPT_RATE_LIMIT:
		field = "rate_limit_rps";
		break;
	default:
		return 1;
	}
	if (!str_parse_ll(arg, 0, UINT32_MAX, &n))
		return ctl_usage_error("--%s wants an integer from 0 to %u, not "
		    "'%s'", c == OPT_MAX_QUEUE_DEPTH ? "max-queue-depth" :
		    c == OPT_MAX_CONCURRENT ? "max-concurrent" : "rate-limit",
		    UINT32_MAX, arg);
	json_object_set_new(body, field, json_integer(n));
	return 0;
}

#define CTL_CUSTOMER_OPTIONS						\
	{ "name", required_argument, NULL, OPT_NAME },			\
	{ "tier", required_argument, NULL, OPT_TIER },			\
	{ "max-queue-depth", required_argument, NULL, OPT_MAX_QUEUE_DEPTH }, \
	{ "max-concurrent", required_argument, NULL, OPT_MAX_CONCURRENT }, \
	{ "rate-limit", required_argument, NULL, OPT_RATE_LIMIT }

static int
ctl_cmd_customer_create(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		CTL_CUSTOMER_OPTIONS,
		{ "key-out", required_argument, NULL, OPT_KEY_OUT },
		{ NULL, 0, NULL, 0 }
	};
	struct http_response	 resp = { 0 };
	struct ctl_keyout	 ko = { .fd = -1 };
	const char		*key_out = NULL;
	json_t			*body, *reply = NULL, *cust, *key;
	char			*text = NULL;
	int			 c, rc;

	if ((body = json_object()) == NULL)
		return ctl_fail(ERR_NOMEM, "out of memory");
	rc = CTL_EXIT_USAGE;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			ctl_usage(stdout);
			rc = CTL_EXIT_OK;
			goto out;
		}
		if (c == OPT_KEY_OUT) {
			key_out = optarg;
			continue;
		}
		if ((rc = ctl_customer_option(body, c, optarg)) == 0)
			continue;
		if (rc == 1 && (rc = ctl_global_option(ctl, c, optarg)) == 0)
			continue;
		if (rc < 0)
			rc = ctl_usage_error("bad option for customer create");
		goto out;
	}
	rc = CTL_EXIT_USAGE;
	if (optind < argc) {
		ctl_usage_error("customer create takes no arguments; got '%s'",
		    argv[optind]);
		goto out;
	}
	if (json_object_get(body, "name") == NULL ||
	    json_object_get(body, "tier") == NULL) {
		ctl_usage_error("customer create needs --name NAME and --tier TIER");
		goto out;
	}
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL) {
		rc = ctl_fail(ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = ctl_connect(ctl, true)) != 0 ||
	    (rc = ctl_keyout_open(&ko, key_out)) != 0)
		goto out;
	if ((rc = ctl_call(ctl, "POST", "/v1/customers", text, &resp, &reply)) != 0)
		goto out;
	cust = json_object_get(reply, "customer");
	key = json_object_get(reply, "api_key");
	if (!json_is_object(cust) || !json_is_object(key)) {
		rc = ctl_fail(ERR_PROTO, "the reply has no \"customer\" and "
		    "\"api_key\" objects");
		goto out;
	}
	rc = ctl_key_report(ctl, &ko, reply, key, cust);
out:
	ctl_keyout_discard(&ko);
	free(text);
	json_decref(body);
	json_decref(reply);
	http_response_fini(&resp);
	return rc;
}

static int
ctl_cmd_customer_update(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		CTL_CUSTOMER_OPTIONS,
		{ NULL, 0, NULL, 0 }
	};
	struct http_response	 resp = { 0 };
	json_t			*body, *reply = NULL;
	char			*text = NULL, *path = NULL;
	int			 c, rc;

	if ((body = json_object()) == NULL)
		return ctl_fail(ERR_NOMEM, "out of memory");
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			ctl_usage(stdout);
			rc = CTL_EXIT_OK;
			goto out;
		}
		if ((rc = ctl_customer_option(body, c, optarg)) == 0)
			continue;
		if (rc == 1 && (rc = ctl_global_option(ctl, c, optarg)) == 0)
			continue;
		if (rc < 0)
			rc = ctl_usage_error("bad option for customer update");
		goto out;
	}
	rc = CTL_EXIT_USAGE;
	if (argc - optind != 1 || argv[optind][0] == '\0') {
		ctl_usage_error("customer update takes one argument, a customer id");
		goto out;
	}
	if (json_object_size(body) == 0) {
		ctl_usage_error("customer update needs something to change: "
		    "--name, --tier, --max-queue-depth, --max-concurrent or "
		    "--rate-limit");
		goto out;
	}
	if ((text = json_dumps(body, JSON_COMPACT)) == NULL ||
	    (path = ctl_path_build("/v1/customers/", argv[optind], "",
	    NULL)) == NULL) {
		rc = ctl_fail(ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = ctl_connect(ctl, true)) != 0)
		goto out;
	if ((rc = ctl_call(ctl, "PATCH", path, text, &resp, &reply)) == 0)
		ctl_print_customer_reply(ctl, &resp, reply);
out:
	free(text);
	free(path);
	json_decref(body);
	json_decref(reply);
	http_response_fini(&resp);
	return rc;
}

static int
ctl_cmd_keys(struct ctl *ctl, int argc, char **argv)
{
	const char	*id;
	char		*path;
	int		 rc;

	if ((rc = ctl_simple_args(ctl, argc, argv, 1, &id, "keys",
	    "one argument, a customer id")) != 0)
		return rc < 0 ? CTL_EXIT_OK : rc;
	if ((rc = ctl_connect(ctl, true)) != 0)
		return rc;
	if ((path = ctl_path_build("/v1/customers/", id, "/keys", NULL)) == NULL)
		return ctl_fail(ERR_NOMEM, "out of memory");
	rc = ctl_list_run(ctl, path, NULL, "keys", true, ctl_print_key_table);
	free(path);
	return rc;
}

static int
ctl_cmd_key_create(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		{ "key-out", required_argument, NULL, OPT_KEY_OUT },
		{ NULL, 0, NULL, 0 }
	};
	struct http_response	 resp = { 0 };
	struct ctl_keyout	 ko = { .fd = -1 };
	const char		*key_out = NULL;
	json_t			*reply = NULL;
	char			*path = NULL;
	int			 c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		}
		if (c == OPT_KEY_OUT) {
			key_out = optarg;
			continue;
		}
		if ((rc = ctl_global_option(ctl, c, optarg)) != 0)
			return rc > 0 ? rc : ctl_usage_error("bad option for "
			    "key create");
	}
	if (argc - optind != 1 || argv[optind][0] == '\0')
		return ctl_usage_error("key create takes one argument, a customer id");
	if ((path = ctl_path_build("/v1/customers/", argv[optind], "/keys",
	    NULL)) == NULL)
		return ctl_fail(ERR_NOMEM, "out of memory");
	if ((rc = ctl_connect(ctl, true)) != 0 ||
	    (rc = ctl_keyout_open(&ko, key_out)) != 0)
		goto out;
	if ((rc = ctl_call(ctl, "POST", path, "{}", &resp, &reply)) != 0)
		goto out;
	if (!json_is_object(reply)) {
		rc = ctl_fail(ERR_PROTO, "the reply is not an object");
		goto out;
	}
	rc = ctl_key_report(ctl, &ko, reply, reply, NULL);
out:
	ctl_keyout_discard(&ko);
	free(path);
	json_decref(reply);
	http_response_fini(&resp);
	return rc;
}

static int
ctl_cmd_key_revoke(struct ctl *ctl, int argc, char **argv)
{
	struct http_response	 resp = { 0 };
	const char		*args[2];
	char			*path;
	int			 rc;

	if ((rc = ctl_simple_args(ctl, argc, argv, 2, args, "key revoke",
	    "two arguments, a customer id and a key id")) != 0)
		return rc < 0 ? CTL_EXIT_OK : rc;
	if ((rc = ctl_connect(ctl, true)) != 0)
		return rc;
	if ((path = ctl_path_build("/v1/customers/", args[0], "/keys/",
	    args[1])) == NULL)
		return ctl_fail(ERR_NOMEM, "out of memory");
	rc = ctl_call(ctl, "DELETE", path, NULL, &resp, NULL);
	if (rc == 0 && ctl->json && resp.len > 0)
		ctl_print_raw(&resp);
	else if (rc == 0 && !ctl->json)
		printf("key %s revoked\n", args[1]);
	free(path);
	http_response_fini(&resp);
	return rc;
}


static int
ctl_subverb_run(struct ctl *ctl, int argc, char **argv,
    const struct ctl_subverb *subs, size_t n, const char *names)
{
	size_t	 i;

	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
		    strcmp(argv[1], "--help") == 0)) {
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		}
		return ctl_usage_error("%s wants one of: %s", argv[0], names);
	}
	for (i = 0; i < n; i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].fn(ctl, argc - 1, argv + 1);
	return ctl_usage_error("%s: unknown '%s'; want one of: %s", argv[0],
	    argv[1], names);
}

static int
ctl_cmd_customer(struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_subverb subs[] = {
		{ "get", ctl_cmd_customer_get },
		{ "create", ctl_cmd_customer_create },
		{ "update", ctl_cmd_customer_update },
	};

	return ctl_subverb_run(ctl, argc, argv, subs, 3, "get, create, update");
}

static int
ctl_cmd_key(struct ctl *ctl, int argc, char **argv)
{
	static const struct ctl_subverb subs[] = {
		{ "create", ctl_cmd_key_create },
		{ "revoke", ctl_cmd_key_revoke },
	};

	return ctl_subverb_run(ctl, argc, argv, subs, 2, "create, revoke");
}

/* ---------------------------------------------------------------- pause, resume */

/* POST /v1/workloads/ID/<action> for pause and resume. */
static int
ctl_workload_action(struct ctl *ctl, int argc, char **argv, const char *action)
{
	struct http_response	 resp = { 0 };
	const char		*id, *st;
	json_t			*reply = NULL;
	char			*path, suffix[16];
	int			 rc;

	if ((rc = ctl_simple_args(ctl, argc, argv, 1, &id, action,
	    "one argument, a workload id")) != 0)
		return rc < 0 ? CTL_EXIT_OK : rc;
	if ((rc = ctl_connect(ctl, true)) != 0)
		return rc;
	snprintf(suffix, sizeof suffix, "/%s", action);
	if ((path = ctl_path_build("/v1/workloads/", id, suffix, NULL)) == NULL)
		return ctl_fail(ERR_NOMEM, "out of memory");
	rc = ctl_call(ctl, "POST", path, NULL, &resp, &reply);
	if (rc == 0 && ctl->json) {
		ctl_print_raw(&resp);
	} else if (rc == 0) {
		st = json_string_value(json_object_get(reply, "status"));
		if (resp.status == 202)
			printf("%s: pause requested (%s); it stops at its next "
			    "checkpoint\n", id, st != NULL ? st : "PAUSING");
		else
			printf("%s: %s\n", id, st != NULL ? st : "-");
	}
	free(path);
	json_decref(reply);
	http_response_fini(&resp);
	return rc;
}

static int
ctl_cmd_pause(struct ctl *ctl, int argc, char **argv)
{
	return ctl_workload_action(ctl, argc, argv, "pause");
}

static int
ctl_cmd_resume(struct ctl *ctl, int argc, char **argv)
{
	return ctl_workload_action(ctl, argc, argv, "resume");
}

/* ---------------------------------------------------------------- audit */

/* Reads exactly n digits at *p into *out. */
static bool
ctl_digits(const char **p, int n, unsigned *out)
{
	unsigned	 v = 0;
	int		 i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + (unsigned)((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* True if s is an RFC 3339 time ("2026-11-23T03:23:41.123Z", any fraction,
 * 'Z' or an offset such as "+05:30"). */
static bool
ctl_rfc3339_valid(const char *s)
{
	unsigned	 y, mo, d, h, mi, sec, oh, om;

	if (!ctl_digits(&s, 4, &y) || *s++ != '-' || !ctl_digits(&s, 2, &mo) ||
	    *s++ != '-' || !ctl_digits(&s, 2, &d) || (*s != 'T' && *s != 't'))
		return false;
	s++;
	if (!ctl_digits(&s, 2, &h) || *s++ != ':' || !ctl_digits(&s, 2, &mi) ||
	    *s++ != ':' || !ctl_digits(&s, 2, &sec))
		return false;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60 || y < 1970)
		return false;
	if (*s == '.') {
		if (*++s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'Z' || *s == 'z')
		return s[1] == '\0';
	if (*s != '+' && *s != '-')
		return false;
	s++;
	return ctl_digits(&s, 2, &oh) && *s++ == ':' && ctl_digits(&s, 2, &om) &&
	    oh <= 23 && om <= 59 && *s == '\0';
}

/*
 * The value of --since/--until: an RFC 3339 time, passed on as it is, or
 * an age such as "90s", "15m", "2h" or "7d", turned into the UTC time that
 * long ago.  Writes into out; false (after a usage message) if neither.
 */
static bool
ctl_time_arg(const char *opt, const char *arg, char *out, size_t outlen)
{
	struct tm	 tm;
	time_t		 t;
	long long	 n;
	size_t		 len = strlen(arg);
	char		 num[32];
	int		 unit;

	if (ctl_rfc3339_valid(arg)) {
		if (len >= outlen)
			goto bad;
		memcpy(out, arg, len + 1);
		return true;
	}
	if (len < 2 || len >= sizeof num)
		goto bad;
	switch (arg[len - 1]) {
	case 's': unit = 1; break;
	case 'm': unit = 60; break;
	case 'h': unit = 3600; break;
	case 'd': unit = 86400; break;
	default: goto bad;
	}
	memcpy(num, arg, len - 1);
	num[len - 1] = '\0';
	if (!str_parse_ll(num, 0, 100LL * 365 * 86400 / unit, &n))
		goto bad;
	t = time(NULL) - (time_t)(n * unit);
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		goto bad;
	return true;
bad:
	ctl_usage_error("%s wants an RFC 3339 time (2026-01-31T12:00:00Z) or "
	    "an age such as 30s, 15m, 2h or 7d; not '%s'", opt, arg);
	return false;
}

static void
ctl_print_audit_table(const json_t *list)
{
	static const char *const cols[] = { "SEQ", "AT", "KIND", "WORKLOAD",
	    "CUSTOMER", "FROM", "TO", "ACTOR", "REQUEST_ID", "DETAIL" };
	static const char *const keys[] = { "seq", "at", "kind", "workload_id",
	    "customer_id", "from", "to", "actor", "request_id", "detail" };

	ctl_print_objects(list, cols, keys, 10);
}

static int
ctl_cmd_audit(struct ctl *ctl, int argc, char **argv)
{
	static const struct option longopts[] = {
		CTL_GLOBAL_OPTIONS,
		{ "workload", required_argument, NULL, OPT_WORKLOAD },
		{ "customer", required_argument, NULL, OPT_CUSTOMER },
		{ "since", required_argument, NULL, OPT_SINCE },
		{ "until", required_argument, NULL, OPT_UNTIL },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "cursor", required_argument, NULL, OPT_CURSOR },
		{ "all", no_argument, NULL, OPT_ALL },
		{ NULL, 0, NULL, 0 }
	};
	const char	*workload = NULL, *customer = NULL, *limit = NULL;
	const char	*cursor = NULL;
	char		 since[64] = "", until[64] = "", *path = NULL;
	long long	 n;
	bool		 follow = false;
	int		 c, rc;

	optind = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			ctl_usage(stdout);
			return CTL_EXIT_OK;
		case OPT_WORKLOAD:
		case OPT_CUSTOMER:
			if (optarg[0] == '\0')
				return ctl_usage_error("--%s wants an id", c ==
				    OPT_WORKLOAD ? "workload" : "customer");
			if (c == OPT_WORKLOAD)
				workload = optarg;
			else
				customer = optarg;
			break;
		case OPT_SINCE:
			if (!ctl_time_arg("--since", optarg, since, sizeof since))
				return CTL_EXIT_USAGE;
			break;
		case OPT_UNTIL:
			if (!ctl_time_arg("--until", optarg, until, sizeof until))
				return CTL_EXIT_USAGE;
			break;
		case OPT_LIMIT:
			if (!str_parse_ll(optarg, 1, INT_MAX, &n))
				return ctl_usage_error("--limit wants a positive "
				    "integer, not '%s'", optarg);
			limit = optarg;
			break;
		case OPT_CURSOR:
			cursor = optarg;
			break;
		case OPT_ALL:
			follow = true;
			break;
		default:
			if ((rc = ctl_global_option(ctl, c, optarg)) != 0)
				return rc > 0 ? rc : ctl_usage_error("bad option "
				    "for audit");
			break;
		}
	}
	if (optind < argc)
		return ctl_usage_error("audit takes no arguments; got '%s'",
		    argv[optind]);
	if ((rc = ctl_connect(ctl, true)) != 0)
		return rc;
	if ((path = strdup("/v1/audit-events")) == NULL ||
	    (workload != NULL && ctl_query_add(&path, "workload_id", workload) != 0) ||
	    (customer != NULL && ctl_query_add(&path, "customer_id", customer) != 0) ||
	    (since[0] != '\0' && ctl_query_add(&path, "since", since) != 0) ||
	    (until[0] != '\0' && ctl_query_add(&path, "until", until) != 0) ||
	    (limit != NULL && ctl_query_add(&path, "limit", limit) != 0)) {
		free(path);
		return ctl_fail(ERR_NOMEM, "out of memory");
	}
	rc = ctl_list_run(ctl, path, cursor, "events", follow,
	    ctl_print_audit_table);
	free(path);
	return rc;
}

/* ---------------------------------------------------------------- queue depth */

/* A count from a by_customer entry: a number, or an object's "pending". */
static json_t *
ctl_depth_pending(json_t *v)
{
	return json_is_object(v) ? json_object_get(v, "pending") : v;
}

static void
ctl_print_queue_depth(const json_t *reply)
{
	static const char *const cols[] = { "CUSTOMER", "TIER", "PENDING",
	    "MAX_QUEUE_DEPTH" };
	struct ctl_table	 t = { .ncol = 4 };
	json_t			*by_tier, *by_cust, *v, *total;
	const char		*key;
	char			*row[4], *cell;
	size_t			 i;

	by_tier = json_object_get(reply, "by_tier");
	by_cust = json_object_get(reply, "by_customer");
	total = json_object_get(reply, "total");
	if (by_tier == NULL && by_cust == NULL) {
		/* A customer's view: its own numbers. */
		ctl_print_record(reply, (const char *const[]){ "customer_id",
		    "pending", "max_queue_depth", NULL });
		return;
	}
	cell = ctl_cell(total);
	printf("total pending: %s\n", cell);
	free(cell);
	if (json_is_object(by_tier) && json_object_size(by_tier) > 0) {
		printf("by tier:\n");
		json_object_foreach(by_tier, key, v) {
			cell = ctl_cell(ctl_depth_pending(v));
			printf("    %-12s %s\n", key, cell);
			free(cell);
		}
	}
	if ((!json_is_object(by_cust) || json_object_size(by_cust) == 0) &&
	    (!json_is_array(by_cust) || json_array_size(by_cust) == 0))
		return;
	printf("by customer:\n");
	ctl_table_header(&t, cols);
	if (json_is_object(by_cust)) {
		json_object_foreach(by_cust, key, v) {
			if ((row[0] = strdup(key)) == NULL) {
				fprintf(stderr, "%s: out of memory\n", CTL_PROG);
				exit(CTL_EXIT_FAIL);
			}
			row[1] = ctl_cell(json_object_get(v, "tier"));
			row[2] = ctl_cell(ctl_depth_pending(v));
			row[3] = ctl_cell(json_object_get(v, "max_queue_depth"));
			ctl_table_add(&t, row);
		}
	} else {
		json_array_foreach(by_cust, i, v) {
			row[0] = ctl_cell(json_object_get(v, "customer_id"));
			row[1] = ctl_cell(json_object_get(v, "tier"));
			row[2] = ctl_cell(ctl_depth_pending(v));
			row[3] = ctl_cell(json_object_get(v, "max_queue_depth"));
			ctl_table_add(&t, row);
		}
	}
	ctl_table_print_free(&t);
}

static int
ctl_cmd_queue_depth(struct ctl *ctl, int argc, char **argv)
{
	return ctl_get_object(ctl, argc, argv, "queue-depth", "/v1/metrics/queue-depth",
	    ctl_print_queue_depth);
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
	{ "pause", ctl_cmd_pause },
	{ "resume", ctl_cmd_resume },
	{ "customers", ctl_cmd_customers },
	{ "customer", ctl_cmd_customer },
	{ "keys", ctl_cmd_keys },
	{ "key", ctl_cmd_key },
	{ "audit", ctl_cmd_audit },
	{ "queue-depth", ctl_cmd_queue_depth },
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
