/*
 * /v1/workloads: submit, list, get and cancel.
 *
 * Writes are commands proposed through coord_propose, which returns only
 * once the command is committed and applied (or its fate is unknown); the
 * answer is then read back from the state machine, so a client sees the
 * record exactly as stored.  A customer key sees only its own customer's
 * workloads: another customer's workload answers 404, the same as one that
 * does not exist, so ids cannot be probed.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "src/clock.h"
#include "src/cmd.h"
#include "src/coord.h"
#include "src/err.h"
#include "src/fsm.h"
#include "src/log.h"
#include "src/model.h"
#include "src/strs.h"
#include "web/api_internal.h"
#include "web/json.h"

#define API_LIST_DEFAULT	50
#define API_LIST_MAX		1000
#define API_QUERY_VALUE_MAX	256
#define API_TYPES_TTL_MS	1000	/* known types cache lifetime */

/* Answers the failure rc of a proposal (see coord_propose). */
static void
api_workloads_propose_error(struct api_req *r, int rc, const struct errbuf *eb,
    const char *what)
{
	const char	*why = eb->msg[0] != '\0' ? eb->msg : err_code_name(rc);

	switch (rc) {
	case ERR_TIMEOUT:
		api_reply_error(r, rc, NULL, "%s: not confirmed in time, it may or "
		    "may not have been applied (%s)", what, why);
		break;
	case ERR_NOTLEADER:
	case ERR_UNAVAIL:
	case ERR_SHUTDOWN:
		api_reply_error(r, rc, NULL, "%s: not applied, retry (%s)", what, why);
		break;
	default:
		api_reply_error(r, rc, NULL, "%s: %s", what, why);
		break;
	}
}

static int
api_workloads_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The workload types this cluster can run: the built-ins and every
 * capability of a registered worker, sorted. */
static int
api_workloads_types_read(struct fsm *f, struct strlist *known)
{
	struct worker_rec	*ws = NULL;
	size_t			 nw = 0, i, j;
	int			 rc;

	if ((rc = strlist_add(known, JSON_TYPE_EXEC)) != 0 ||
	    (rc = strlist_add(known, JSON_TYPE_SLEEP)) != 0)
		return rc;
	if ((rc = fsm_worker_list(f, &ws, &nw)) != 0)
		return rc;
	for (i = 0; i < nw && rc == 0; i++)
		for (j = 0; j < ws[i].capabilities.n && rc == 0; j++)
			if (!strlist_contains(known, ws[i].capabilities.v[j]))
				rc = strlist_add(known, ws[i].capabilities.v[j]);
	for (i = 0; i < nw; i++)
		worker_rec_fini(&ws[i]);
	free(ws);
	if (rc == 0)
		qsort(known->v, known->n, sizeof known->v[0], api_workloads_name_cmp);
	return rc;
}

/* A copy of the known types into the empty *out.  The list is cached for
 * API_TYPES_TTL_MS, so a burst of submissions reads the workers once; with
 * fresh, it is read again now (a submission naming a type the cache does
 * not know is checked against a fresh list before it is refused, so a
 * worker that has just registered is never missed). */
static int
api_workloads_types_get(struct api_req *r, bool fresh, struct strlist *out)
{
	struct api	*a = r->api;
	struct strlist	 known = { 0 };
	uint64_t	 now = clock_mono_ms();
	int		 rc = 0;

	pthread_mutex_lock(&a->types_mu);
	if (fresh || a->types_at_ms == 0 || now - a->types_at_ms > API_TYPES_TTL_MS) {
		if ((rc = api_workloads_types_read(coord_fsm(a->coord), &known)) == 0) {
			strlist_fini(&a->types);
			a->types = known;
			a->types_at_ms = now;
		} else
			strlist_fini(&known);
	}
	if (rc == 0)
		rc = strlist_dup(out, &a->types);
	pthread_mutex_unlock(&a->types_mu);
	return rc;
}

/* True if details has the "unknown workload type" problem. */
static bool
api_workloads_type_unknown(json_t *details)
{
	json_t	*d;
	size_t	 i;

	json_array_foreach(details, i, d)
		if (json_object_get(d, "known_types") != NULL)
			return true;
	return false;
}

void
api_workloads_submit(struct api_req *r)
{
	struct fsm	*f = coord_fsm(r->api->coord);
	struct strlist	 known = { 0 };
	struct workload	 wl, back;
	struct errbuf	 eb;
	struct cmd	 cmd;
	json_t		*details = NULL;
	char		*body = NULL;
	size_t		 len;
	uint64_t	 now;
	int		 rc;

	memset(&wl, 0, sizeof wl);
	memset(&back, 0, sizeof back);
	errbuf_clear(&eb);
	if (api_body_read(r, &body, &len) != 0)
		return;
	if ((rc = api_workloads_types_get(r, false, &known)) != 0) {
		api_reply_error(r, rc, NULL, "cannot list the known workload types");
		goto out;
	}
	rc = json_submission_parse(body, len, &known, &wl, &details, &eb);
	if (rc != 0 && details != NULL && api_workloads_type_unknown(details)) {
		json_decref(details);
		details = NULL;
		strlist_fini(&known);
		if ((rc = api_workloads_types_get(r, true, &known)) != 0) {
			api_reply_error(r, rc, NULL, "cannot list the known workload types");
			goto out;
		}
		rc = json_submission_parse(body, len, &known, &wl, &details, &eb);
	}
	if (rc != 0) {
		api_reply_error(r, rc, details, "%s", eb.msg);
		goto out;
	}

	now = clock_wall_ms();
	model_id_generate(wl.id);
	wl.customer_id = strdup(r->who.customer_id != NULL ? r->who.customer_id :
	    MODEL_CUSTOMER_ADMIN);
	wl.request_id = strdup(r->request_id);
	if (wl.customer_id == NULL || wl.request_id == NULL) {
		api_reply_error(r, ERR_NOMEM, NULL, "out of memory");
		goto out;
	}
	wl.tier = TIER_STANDARD;
	wl.status = WL_PENDING;
	wl.created_ms = now;
	wl.updated_ms = now;

	/* The command borrows wl and the request's strings: no cmd_fini. */
	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_SUBMIT;
	cmd.now_ms = now;
	cmd.actor = r->who.key_id;
	cmd.request_id = r->request_id;
	cmd.workloads = &wl;
	cmd.n_workloads = 1;
	errbuf_clear(&eb);
	if ((rc = coord_propose(r->api->coord, &cmd, &eb)) != 0) {
		api_workloads_propose_error(r, rc, &eb, "submission");
		goto out;
	}
	api_header_add(r, "Location", "/v1/workloads/%s", wl.id);
	if ((rc = fsm_workload_get(f, wl.id, &back)) == 0)
		api_reply_json(r, 201, json_workload(&back));
	else {
		/* Applied, so it is stored; answer with what was submitted. */
		log_warn("HTTPREAD", "workload %s applied but not read back: %s",
		    wl.id, err_code_name(rc));
		api_reply_json(r, 201, json_workload(&wl));
	}
out:
	workload_fini(&back);
	workload_fini(&wl);
	strlist_fini(&known);
	free(body);
}

/* Reads the workload named by the path into *wl, if the caller may see
 * it.  0, or nonzero after answering (404 or the store's error). */
static int
api_workload_load(struct api_req *r, struct workload *wl)
{
	char	 id[MODEL_ID_LEN + 1];
	size_t	 i;
	int	 rc;

	memset(wl, 0, sizeof *wl);
	if (!model_id_valid(r->param)) {
		api_reply_error(r, ERR_NOTFOUND, NULL, "no workload \"%.64s\"", r->param);
		return ERR_NOTFOUND;
	}
	for (i = 0; i <= MODEL_ID_LEN; i++)
		id[i] = (char)tolower((unsigned char)r->param[i]);
	rc = fsm_workload_get(coord_fsm(r->api->coord), id, wl);
	if (rc == 0 && !api_can_see(r, wl->customer_id)) {
		workload_fini(wl);
		rc = ERR_NOTFOUND;
	}
	if (rc == ERR_NOTFOUND) {
		api_reply_error(r, ERR_NOTFOUND, NULL, "no workload %s", id);
		return rc;
	}
	if (rc != 0) {
		api_reply_error(r, rc, NULL, "cannot read workload %s", id);
		return rc;
	}
	return 0;
}

void
api_workload_get(struct api_req *r)
{
	struct workload	 wl;

	if (api_workload_load(r, &wl) != 0)
		return;
	api_reply_json(r, 200, json_workload(&wl));
	workload_fini(&wl);
}

/* [{"status": "<current>"}] for a 409. */
static json_t *
api_workloads_status_details(enum wl_status s)
{
	return json_pack("[{s:s}]", "status", wl_status_name(s));
}

void
api_workload_cancel(struct api_req *r)
{
	struct workload	 wl;
	struct errbuf	 eb;
	struct cmd	 cmd;
	json_t		*details = NULL;
	char		*body = NULL, *reason = NULL;
	size_t		 len;
	int		 rc;

	memset(&wl, 0, sizeof wl);
	if (api_body_read(r, &body, &len) != 0)
		return;
	errbuf_clear(&eb);
	if ((rc = json_cancel_parse(body, len, &reason, &details, &eb)) != 0) {
		api_reply_error(r, rc, details, "%s", eb.msg);
		goto out;
	}
	if (api_workload_load(r, &wl) != 0)
		goto out;
	if (wl_status_is_terminal(wl.status)) {
		api_reply_error(r, ERR_CONFLICT, api_workloads_status_details(wl.status),
		    "workload %s is already %s", wl.id, wl_status_name(wl.status));
		goto out;
	}

	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_CANCEL;
	cmd.now_ms = clock_wall_ms();
	cmd.actor = r->who.key_id;
	cmd.request_id = r->request_id;
	memcpy(cmd.workload_id, wl.id, sizeof cmd.workload_id);
	cmd.message = reason;
	errbuf_clear(&eb);
	rc = coord_propose(r->api->coord, &cmd, &eb);
	if (rc != 0 && rc != ERR_CONFLICT) {
		if (rc == ERR_NOTFOUND)
			api_reply_error(r, rc, NULL, "no workload %s", wl.id);
		else
			api_workloads_propose_error(r, rc, &eb, "cancel");
		goto out;
	}

	/* Read back: what the state machine did is the answer. */
	workload_fini(&wl);
	if (api_workload_load(r, &wl) != 0)
		goto out;
	if (rc == ERR_CONFLICT)
		api_reply_error(r, ERR_CONFLICT, api_workloads_status_details(wl.status),
		    "workload %s cannot be cancelled now: it is %s%s%s%s", wl.id,
		    wl_status_name(wl.status), eb.msg[0] != '\0' ? " (" : "", eb.msg,
		    eb.msg[0] != '\0' ? ")" : "");
	else if (wl.status == WL_CANCELLED)
		api_reply_json(r, 200, json_workload(&wl));
	else
		api_reply_json(r, 202, json_workload(&wl));
out:
	workload_fini(&wl);
	free(reason);
	free(body);
}

/* ---- list ---- */

struct api_list_query {
	char	 status[API_QUERY_VALUE_MAX];
	char	 type[API_QUERY_VALUE_MAX];
	char	 limit[API_QUERY_VALUE_MAX];
	char	 cursor[API_QUERY_VALUE_MAX];
	bool	 seen[4];
};

static void
api_detail_add(json_t *details, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
api_detail_add(json_t *details, const char *field, const char *fmt, ...)
{
	char	 msg[256];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (details != NULL)
		json_array_append_new(details, json_pack("{s:o,s:o}", "field",
		    json_text(field), "message", json_text(msg)));
}

/* Splits the query string into q; unknown, repeated or undecodable
 * parameters are added to details. */
static void
api_list_query_parse(const char *qs, struct api_list_query *q, json_t *details)
{
	static const char *const names[] = { "status", "workload_type", "limit",
	    "cursor" };
	char		*vals[4] = { q->status, q->type, q->limit, q->cursor };
	char		 key[64];
	const char	*p = qs, *amp, *eq;
	size_t		 i;
	int		 n;

	memset(q, 0, sizeof *q);
	if (qs == NULL)
		return;
	while (*p != '\0') {
		amp = strchr(p, '&');
		if (amp == NULL)
			amp = p + strlen(p);
		if (amp == p) {
			p++;
			continue;
		}
		eq = memchr(p, '=', (size_t)(amp - p));
		if (eq == NULL)
			eq = amp;
		n = mg_url_decode(p, (int)(eq - p), key, sizeof key, 1);
		for (i = 0; n >= 0 && i < 4; i++)
			if (strcmp(key, names[i]) == 0)
				break;
		if (n < 0 || i == 4) {
			api_detail_add(details, n < 0 ? "query" : key,
			    "unknown query parameter; known: status, workload_type, "
			    "limit, cursor");
		} else if (q->seen[i]) {
			api_detail_add(details, key, "given more than once");
		} else {
			q->seen[i] = true;
			n = eq < amp ? mg_url_decode(eq + 1, (int)(amp - eq - 1), vals[i],
			    API_QUERY_VALUE_MAX, 1) : 0;
			if (n < 0 || strlen(vals[i]) != (size_t)n) {
				vals[i][0] = '\0';
				api_detail_add(details, key, "value too long or contains NUL");
			}
		}
		p = *amp != '\0' ? amp + 1 : amp;
	}
}

void
api_workloads_list(struct api_req *r)
{
	struct api_list_query	 q;
	struct fsm_list_filter	 flt;
	struct workload		*out = NULL;
	json_t			*details, *arr = NULL, *body;
	char			 next[FSM_CURSOR_LEN];
	size_t			 n = 0, i;
	unsigned long		 limit = API_LIST_DEFAULT;
	char			*end;
	int			 rc;

	if ((details = json_array()) == NULL) {
		api_reply_error(r, ERR_NOMEM, NULL, "out of memory");
		return;
	}
	api_list_query_parse(r->ri->query_string, &q, details);
	memset(&flt, 0, sizeof flt);
	if (q.status[0] != '\0') {
		for (i = 0; q.status[i] != '\0'; i++)
			q.status[i] = (char)toupper((unsigned char)q.status[i]);
		if (wl_status_parse(q.status, &flt.status) != 0)
			api_detail_add(details, "status", "unknown status; one of PENDING, "
			    "SCHEDULED, RUNNING, PAUSING, PAUSED, COMPLETED, FAILED, "
			    "CANCELLED");
		else
			flt.has_status = true;
	}
	if (q.type[0] != '\0') {
		if (!model_name_valid(q.type))
			api_detail_add(details, "workload_type",
			    "must be 1..%d characters from [A-Za-z0-9._:/-]", MODEL_NAME_MAX);
		else
			flt.type = q.type;
	}
	if (q.limit[0] != '\0') {
		limit = isdigit((unsigned char)q.limit[0]) ? strtoul(q.limit, &end, 10) : 0;
		if (!isdigit((unsigned char)q.limit[0]) || *end != '\0' || limit < 1 ||
		    limit > API_LIST_MAX)
			api_detail_add(details, "limit", "must be an integer 1..%d",
			    API_LIST_MAX);
	}
	if (q.cursor[0] != '\0') {
		if (strlen(q.cursor) >= FSM_CURSOR_LEN)
			api_detail_add(details, "cursor", "malformed cursor");
		else
			flt.cursor = q.cursor;
	}
	if (json_array_size(details) > 0) {
		api_reply_error(r, ERR_INVAL, details, "bad query: %s",
		    json_string_value(json_object_get(json_array_get(details, 0),
		    "message")));
		return;
	}
	json_decref(details);

	flt.customer_id = r->who.role == KEY_ROLE_ADMIN ? NULL : r->who.customer_id;
	flt.limit = (uint32_t)limit;
	next[0] = '\0';
	rc = fsm_workload_list(coord_fsm(r->api->coord), &flt, &out, &n, next);
	if (rc == ERR_INVAL) {
		api_reply_error(r, ERR_INVAL, json_pack("[{s:s,s:s}]", "field", "cursor",
		    "message", "malformed cursor"), "bad query: malformed cursor");
		return;
	}
	if (rc != 0) {
		api_reply_error(r, rc, NULL, "cannot list workloads");
		return;
	}
	body = json_object();
	arr = json_array();
	for (i = 0; i < n; i++) {
		if (arr != NULL && json_array_append_new(arr, json_workload(&out[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
		workload_fini(&out[i]);
	}
	free(out);
	if (body != NULL && (arr == NULL || json_object_set_new(body, "workloads", arr) != 0 ||
	    json_object_set_new(body, "next_cursor",
	    next[0] != '\0' ? json_string(next) : json_null()) != 0)) {
		json_decref(body);
		body = NULL;
	} else if (body == NULL)
		json_decref(arr);
	api_reply_json(r, 200, body);
}
