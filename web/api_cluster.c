/*
 * The coordinator cluster: GET /v1/cluster (who leads, every node's
 * addresses and replication), and the operator's changes: adding and
 * removing nodes, handing leadership over.  All admin-only; like every /v1
 * route they run on the ready leader (a follower forwards them there), so
 * the answer carries the leader's view of replication.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "net/http_client.h"
#include "src/clock.h"
#include "src/cmd.h"
#include "src/coord.h"
#include "src/err.h"
#include "src/fsm.h"
#include "src/log.h"
#include "src/model.h"
#include "web/api_internal.h"
#include "web/json.h"

/* A node can take long to catch up before it becomes a voter (a snapshot of
 * the whole store travels first). */
#define API_CLUSTER_ADD_MS	60000
#define API_CLUSTER_CHANGE_MS	10000
/* How long GET /v1/cluster waits for each peer's own /health. */
#define API_CLUSTER_PEER_MS	500

/* The directory's record of id, or NULL. */
static const struct node_rec *
api_cluster_dir_find(const struct node_rec *dir, size_t n, uint64_t id)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (dir[i].id == id)
			return &dir[i];
	return NULL;
}

static json_t *
api_cluster_text_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? json_text(s) : json_null();
}

/* Copies a peer's own view (GET /health: role, term, commit_index,
 * applied_index, last_contact_ms) into o.  0, or nonzero if the peer did
 * not answer in API_CLUSTER_PEER_MS. */
static int
api_cluster_peer_health(const char *url, json_t *o)
{
	static const char *const keys[] = { "role", "term", "commit_index",
	    "applied_index", "last_contact_ms" };
	struct http_response	 resp = { 0 };
	struct http_client	*hc = NULL;
	struct errbuf		 eb = { 0 };
	json_t			*h = NULL, *v;
	size_t			 i;
	int			 rc = -1;

	if (http_client_new(&hc, url, NULL, &eb) != 0)
		return -1;
	http_client_set_connect_timeout_ms(hc, API_CLUSTER_PEER_MS);
	http_client_set_timeout_ms(hc, API_CLUSTER_PEER_MS);
	if (http_client_request(hc, "GET", "/health", NULL, &resp, &eb) == 0 &&
	    resp.status == 200 &&
	    (h = json_loadb(resp.body, resp.len, 0, NULL)) != NULL &&
	    json_is_object(h)) {
		for (i = 0; i < sizeof keys / sizeof keys[0]; i++)
			if ((v = json_object_get(h, keys[i])) != NULL)
				json_object_set(o, keys[i], v);
		rc = 0;
	}
	json_decref(h);
	http_response_fini(&resp);
	http_client_free(hc);
	return rc;
}

/* One member of the configuration with what the directory and this node's
 * replication state say about it. */
static json_t *
api_cluster_node_json(const struct coord_member *m, const struct node_rec *d,
    const struct coord_status *st)
{
	bool	 self = m->id == st->node_id;
	json_t	*o;

	o = json_pack("{s:I,s:o,s:o,s:o,s:s,s:b,s:b}",
	    "id", (json_int_t)m->id,
	    "raft_address", json_text(m->raft_address),
	    "http_url", api_cluster_text_or_null(d != NULL ? d->http_url : NULL),
	    "worker_url", api_cluster_text_or_null(d != NULL ? d->worker_url : NULL),
	    "voting", m->role,
	    "leader", m->leader,
	    "this_node", self);
	if (o == NULL)
		return NULL;
	if (self) {
		json_object_set_new(o, "role", json_text(st->role));
		json_object_set_new(o, "term", json_integer((json_int_t)st->term));
		json_object_set_new(o, "commit_index",
		    json_integer((json_int_t)st->commit_index));
		json_object_set_new(o, "applied_index",
		    json_integer((json_int_t)st->applied_index));
		json_object_set_new(o, "last_contact_ms",
		    json_integer((json_int_t)(st->leader ? 0 : st->last_contact_ms)));
	} else if (d != NULL && api_cluster_peer_health(d->http_url, o) == 0) {
		/* The node's own view, from its /health. */
		if (m->progress_known) {
			json_object_set_new(o, "match_index",
			    json_integer((json_int_t)m->match_index));
			json_object_set_new(o, "reachable",
			    json_boolean(m->recent_contact));
		}
	} else if (m->progress_known) {
		/* The leader's view of a follower: how far its log is known
		 * to reach, and whether it answered lately. */
		json_object_set_new(o, "role", json_text(m->recent_contact ?
		    "follower" : "unreachable"));
		json_object_set_new(o, "match_index",
		    json_integer((json_int_t)m->match_index));
		json_object_set_new(o, "reachable", json_boolean(m->recent_contact));
		json_object_set_new(o, "since_last_send_ms",
		    json_integer((json_int_t)m->since_send_ms));
	}
	return o;
}

void
api_cluster_get(struct api_req *r)
{
	struct coord_member	 members[COORD_MEMBERS_MAX];
	struct coord_status	 st;
	struct node_rec		*dir = NULL;
	json_t			*body, *nodes;
	size_t			 n, ndir = 0, i;
	int			 rc;

	coord_status_get(r->api->coord, &st);
	n = coord_members(r->api->coord, members, COORD_MEMBERS_MAX);
	if ((rc = fsm_node_list(coord_fsm(r->api->coord), &dir, &ndir)) != 0) {
		api_reply_error(r, rc, NULL, "cannot read the node directory");
		return;
	}
	body = json_cluster(&st);
	nodes = json_array();
	for (i = 0; i < n && body != NULL && nodes != NULL; i++)
		if (json_array_append_new(nodes, api_cluster_node_json(&members[i],
		    api_cluster_dir_find(dir, ndir, members[i].id), &st)) != 0) {
			json_decref(nodes);
			nodes = NULL;
		}
	for (i = 0; i < ndir; i++)
		node_rec_fini(&dir[i]);
	free(dir);
	if (body != NULL && (nodes == NULL ||
	    json_object_set_new(body, "nodes", nodes) != 0)) {
		json_decref(body);
		body = NULL;
	}
	api_reply_json(r, 200, body);
}

void
api_cluster_node_add(struct api_req *r)
{
	struct errbuf	 eb = { 0 };
	json_t		*details = NULL;
	char		*body = NULL, address[JSON_RAFT_ADDRESS_MAX + 1];
	size_t		 len;
	uint64_t	 id;
	int		 rc;

	if (api_body_read(r, &body, &len) != 0)
		return;
	rc = json_node_add_parse(body, len, &id, address, &details, &eb);
	free(body);
	if (rc != 0) {
		api_reply_error(r, rc, details, "%s", eb.msg);
		return;
	}
	log_info("CLUSTERADD", "adding node %" PRIu64 " at %s rid=%s", id, address,
	    r->request_id);
	if ((rc = coord_member_add(r->api->coord, id, address, API_CLUSTER_ADD_MS,
	    &eb)) != 0) {
		api_reply_error(r, rc, NULL, "%s", eb.msg);
		return;
	}
	log_info("CLUSTERADD", "node %" PRIu64 " at %s is a voter rid=%s", id,
	    address, r->request_id);
	api_header_add(r, "Location", "/v1/cluster");
	api_reply_json(r, 201, json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id,
	    "raft_address", address, "voting", "voter"));
}

/* The {id} of the path as a node id, or 0 having answered 404. */
static uint64_t
api_cluster_param_id(struct api_req *r)
{
	unsigned long long	 id;
	char			*end;

	errno = 0;
	id = strtoull(r->params[0], &end, 10);
	if (errno != 0 || *end != '\0' || end == r->params[0] || id == 0 ||
	    id > UINT32_MAX || r->params[0][0] < '0' || r->params[0][0] > '9') {
		api_reply_error(r, ERR_NOTFOUND, NULL, "no node \"%.32s\" (node ids "
		    "are 1..%u)", r->params[0], (unsigned)UINT32_MAX);
		return 0;
	}
	return id;
}

void
api_cluster_node_remove(struct api_req *r)
{
	struct errbuf	 eb = { 0 };
	uint64_t	 id;
	int		 rc;

	if ((id = api_cluster_param_id(r)) == 0)
		return;
	log_info("CLUSTERREMOVE", "removing node %" PRIu64 " rid=%s", id,
	    r->request_id);
	if ((rc = coord_member_remove(r->api->coord, id, API_CLUSTER_CHANGE_MS,
	    &eb)) != 0) {
		api_reply_error(r, rc, NULL, "%s", eb.msg);
		return;
	}
	log_info("CLUSTERREMOVE", "node %" PRIu64 " removed rid=%s", id,
	    r->request_id);
	api_reply_raw(r, 204, NULL, NULL, 0);
}

void
api_cluster_node_announce(struct api_req *r)
{
	struct coord_member	 members[COORD_MEMBERS_MAX];
	struct errbuf		 eb = { 0 };
	struct node_rec		 n;
	struct cmd		 cmd;
	json_t			*details = NULL;
	char			*body = NULL;
	size_t			 len, nm, i;
	int			 rc;

	memset(&n, 0, sizeof n);
	if ((n.id = api_cluster_param_id(r)) == 0)
		return;
	if (api_body_read(r, &body, &len) != 0)
		return;
	rc = json_node_announce_parse(body, len, &n, &details, &eb);
	free(body);
	if (rc != 0) {
		api_reply_error(r, rc, details, "%s", eb.msg);
		goto out;
	}
	/* Only a member may announce itself, at its own Raft address: the
	 * address followers forward to must belong to the node libraft
	 * knows under that id. */
	nm = coord_members(r->api->coord, members, COORD_MEMBERS_MAX);
	for (i = 0; i < nm && members[i].id != n.id; i++)
		;
	if (i == nm) {
		api_reply_error(r, ERR_NOTFOUND, NULL, "node %" PRIu64 " is not in "
		    "the cluster", n.id);
		goto out;
	}
	if (strcmp(members[i].raft_address, n.raft_address) != 0) {
		api_reply_error(r, ERR_CONFLICT, api_detail("raft_address",
		    "differs from the cluster configuration"), "node %" PRIu64
		    " is at %s in the cluster configuration, not %s", n.id,
		    members[i].raft_address, n.raft_address);
		goto out;
	}
	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_NODE_SET;
	cmd.now_ms = clock_wall_ms();
	cmd.actor = r->who.key_id;
	cmd.request_id = r->request_id;
	n.updated_ms = cmd.now_ms;
	cmd.node = n;		/* borrowed */
	if ((rc = coord_propose(r->api->coord, &cmd, &eb)) != 0) {
		api_reply_propose_error(r, rc, &eb, "node announcement");
		goto out;
	}
	api_reply_json(r, 200, json_pack("{s:I,s:s,s:s,s:s}", "id",
	    (json_int_t)n.id, "raft_address", n.raft_address, "http_url",
	    n.http_url, "worker_url", n.worker_url));
out:
	node_rec_fini(&n);
}

void
api_cluster_transfer(struct api_req *r)
{
	struct errbuf		 eb = { 0 };
	json_t			*details = NULL;
	char			*body = NULL;
	size_t			 len;
	uint64_t		 id, leader = 0;
	int			 rc;

	if (api_body_read(r, &body, &len) != 0)
		return;
	rc = json_transfer_parse(body, len, &id, &details, &eb);
	free(body);
	if (rc != 0) {
		api_reply_error(r, rc, details, "%s", eb.msg);
		return;
	}
	log_info("CLUSTERXFER", "handing leadership to %s%" PRIu64 " rid=%s",
	    id != 0 ? "node " : "any voter ", id, r->request_id);
	if ((rc = coord_leader_transfer(r->api->coord, id, API_CLUSTER_CHANGE_MS,
	    &leader, &eb)) != 0) {
		api_reply_error(r, rc, NULL, "%s", eb.msg);
		return;
	}
	log_info("CLUSTERXFER", "node %" PRIu64 " leads rid=%s", leader,
	    r->request_id);
	api_reply_json(r, 200, json_pack("{s:I}", "leader_id", (json_int_t)leader));
}
