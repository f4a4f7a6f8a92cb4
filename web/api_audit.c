/*
 * GET /v1/audit-events: the state machine's audit trail (every status
 * transition, key and customer change), filtered and paged.
 *
 * A customer key sees only events concerning its own customer: the filter
 * is forced to its id, asking for another customer's events answers an
 * empty page, and naming another customer's workload answers 404 exactly
 * as GET /v1/workloads/{id} would.
 */
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "src/coord.h"
#include "src/err.h"
#include "src/fsm.h"
#include "src/model.h"
#include "web/api_internal.h"
#include "web/json.h"

/* {"events": [], "next_cursor": null} */
static json_t *
api_audit_empty(void)
{
	return json_pack("{s:[],s:n}", "events", "next_cursor");
}

void
api_audit_list(struct api_req *r)
{
	struct json_audit_query	 q;
	struct fsm_audit_filter	 flt;
	struct audit_event	*ev = NULL;
	struct workload		 wl;
	struct errbuf		 eb;
	struct fsm		*f = coord_fsm(r->api->coord);
	json_t			*details = NULL, *arr, *body;
	char			 next[FSM_CURSOR_LEN];
	size_t			 n = 0, i;
	int			 rc;

	_Static_assert(JSON_CURSOR_MAX <= FSM_CURSOR_LEN, "cursor sizes");
	errbuf_clear(&eb);
	if ((rc = json_audit_query_parse(r->ri->query_string, &q, &details, &eb)) != 0) {
		api_reply_error(r, rc, details, "bad query: %s", eb.msg);
		return;
	}
	memset(&flt, 0, sizeof flt);
	if (r->who.role != KEY_ROLE_ADMIN) {
		if (q.customer_id[0] != '\0' && strcmp(q.customer_id, r->who.customer_id) != 0) {
			api_reply_json(r, 200, api_audit_empty());
			return;
		}
		flt.customer_id = r->who.customer_id;
	} else if (q.customer_id[0] != '\0')
		flt.customer_id = q.customer_id;
	if (q.workload_id[0] != '\0') {
		memset(&wl, 0, sizeof wl);
		rc = fsm_workload_get(f, q.workload_id, &wl);
		if (rc == 0 && !api_can_see(r, wl.customer_id))
			rc = ERR_NOTFOUND;
		workload_fini(&wl);
		if (rc == ERR_NOTFOUND) {
			api_reply_error(r, rc, api_detail("workload_id", "no such workload"),
			    "no workload %s", q.workload_id);
			return;
		}
		if (rc != 0) {
			api_reply_error(r, rc, NULL, "cannot read workload %s",
			    q.workload_id);
			return;
		}
		flt.workload_id = q.workload_id;
	}
	flt.since_ms = q.since_ms;
	flt.until_ms = q.until_ms;
	flt.cursor = q.cursor[0] != '\0' ? q.cursor : NULL;
	flt.limit = q.limit;
	next[0] = '\0';
	rc = fsm_audit_query(f, &flt, &ev, &n, next);
	if (rc == ERR_INVAL) {
		api_reply_error(r, ERR_INVAL, api_detail("cursor", "malformed cursor"),
		    "bad query: malformed cursor");
		return;
	}
	if (rc != 0) {
		api_reply_error(r, rc, NULL, "cannot read the audit events");
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++) {
		if (arr != NULL && json_array_append_new(arr, json_audit_event(&ev[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
		audit_event_fini(&ev[i]);
	}
	free(ev);
	body = arr != NULL ? json_pack("{s:o,s:o}", "events", arr, "next_cursor",
	    next[0] != '\0' ? json_string(next) : json_null()) : NULL;
	api_reply_json(r, 200, body);
}
