/*
 * The calls of the hand-driven workers (t/integ/probe.h).
 */
#include "t/integ/probe.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "src/cmd.h"
#include "src/err.h"
#include "src/secret.h"

static const char *probe_name = "probe";

int
probe_open(struct probe *p, const char *name, const char *url,
    const char *token_file, char *token, char *id)
{
	struct errbuf	 eb;

	probe_name = name;
	memset(p, 0, sizeof *p);
	p->id = id;
	if (sodium_init() < 0 || secret_file_read(token_file, token, &eb) != 0 ||
	    bus_client_open(&p->bus, &url, 1, &eb) != 0) {
		fprintf(stderr, "%s: cannot start\n", name);
		return -1;
	}
	return 0;
}

void
probe_close(struct probe *p)
{
	bus_client_close(p->bus);
}

int
probe_call(struct probe *p, struct wmsg *req, struct wmsg *reply)
{
	struct errbuf	 eb;
	int		 rc;

	req->worker_id = p->id;
	req->generation = p->generation;
	if ((rc = bus_client_call(p->bus, req, reply, PROBE_CALL_MS, &eb)) != 0)
		fprintf(stderr, "%s: %s: %s\n", probe_name,
		    wmsg_type_name(req->type), eb.msg);
	return rc;
}

const char *
probe_reply_name(const struct wmsg *reply)
{
	if (reply->type == WMSG_ACK)
		return "ACK";
	if (reply->type == WMSG_ERROR)
		return err_code_name(reply->err);
	return "?";
}

int
probe_register(struct probe *p, const char *token)
{
	struct wmsg	 req, reply;
	int		 rc = -1;

	memset(&req, 0, sizeof req);
	req.type = WMSG_REGISTER;
	req.token = (char *)(uintptr_t)token;
	req.capacity = 1;
	req.version = "probe";
	if (strlist_add(&req.capabilities, "sleep") != 0)
		return -1;
	if (probe_call(p, &req, &reply) == 0 && reply.type == WMSG_REGISTERED) {
		p->generation = reply.generation;
		rc = 0;
	}
	strlist_fini(&req.capabilities);
	wmsg_fini(&reply);
	return rc;
}

int
probe_poll(struct probe *p, unsigned wait_ms)
{
	struct wmsg	 req, reply;
	int		 got = 0;

	memset(&req, 0, sizeof req);
	req.type = WMSG_POLL;
	req.wait_ms = wait_ms;
	if (probe_call(p, &req, &reply) != 0)
		return -1;
	if (reply.type == WMSG_WORK && reply.n_assignments > 0) {
		memcpy(p->workload_id, reply.assignments[0].workload_id,
		    sizeof p->workload_id);
		p->attempt = reply.assignments[0].attempt;
		got = 1;
	}
	wmsg_fini(&reply);
	return got;
}

int
probe_report(struct probe *p, enum wmsg_type type, const char **name)
{
	struct wmsg	 req, reply;

	memset(&req, 0, sizeof req);
	req.type = type;
	memcpy(req.workload_id, p->workload_id, sizeof req.workload_id);
	req.attempt = p->attempt;
	if (type == WMSG_COMPLETE) {
		req.outcome = OUTCOME_SUCCEEDED;
		req.result_json = "{\"probe\":true}";
	}
	if (probe_call(p, &req, &reply) != 0)
		return -1;
	*name = probe_reply_name(&reply);
	wmsg_fini(&reply);
	return 0;
}
