/*
 * Operator views: /v1/workers (the fleet as the state machine knows it)
 * and /v1/metrics/scheduler (what this node's scheduler did while it led).  All admin-only; api.c refuses
 * customer keys with 403 before these run.
 */
#include <stdlib.h>

#include "src/clock.h"
#include "src/coord.h"
#include "src/err.h"
#include "src/fsm.h"
#include "src/model.h"
#include "web/api_internal.h"
#include "web/json.h"

void
api_workers_list(struct api_req *r)
{
	struct worker_rec	*ws = NULL;
	json_t			*arr, *body;
	size_t			 n = 0, i;
	int			 rc;

	if ((rc = fsm_worker_list(coord_fsm(r->api->coord), &ws, &n)) != 0) {
		api_reply_error(r, rc, NULL, "cannot list workers");
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++) {
		if (arr != NULL && json_array_append_new(arr, json_worker(&ws[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
		worker_rec_fini(&ws[i]);
	}
	free(ws);
	body = arr != NULL ? json_pack("{s:o}", "workers", arr) : NULL;
	api_reply_json(r, 200, body);
}

void
api_sched_metrics_get(struct api_req *r)
{
	struct sched_metrics	 m;

	sched_report_get(coord_sched_report(r->api->coord), clock_wall_ms(), &m);
	api_reply_json(r, 200, json_sched_metrics(&m));
}
