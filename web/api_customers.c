/*
 * /v1/customers and their API keys (admin only, except that a customer
 * key may read its own record), and /v1/metrics/queue-depth.
 *
 * A customer is created together with its first API key, in one command:
 * the key's secret text is made here, shown once in the answer, and only
 * its SHA-256 goes into the log.  More keys can be added (rotation: the
 * old ones keep working) and any key revoked, which takes effect for the
 * very next request (authentication reads the key on every request).
 *
 * Records are rendered with the limits that apply: a limit of 0 in the
 * record means the tier's default from this node's configuration.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "src/clock.h"
#include "src/cmd.h"
#include "src/coord.h"
#include "src/err.h"
#include "src/fsm.h"
#include "src/log.h"
#include "src/model.h"
#include "src/secret.h"
#include "web/api_internal.h"
#include "web/json.h"

/* The customer record rendered with its effective limits and usage. */
static json_t *
api_customer_json(struct api_req *r, const struct customer *c)
{
	struct fsm_usage	 u;
	int			 rc;

	memset(&u, 0, sizeof u);
	if ((rc = fsm_customer_usage(coord_fsm(r->api->coord), c->id, &u)) != 0)
		log_warn("HTTPREAD", "usage of customer %s: %s rid=%s", c->id,
		    err_code_name(rc), r->request_id);
	return json_customer(c, r->api->queue_by_tier[c->tier < TIER__COUNT ? c->tier : 0],
	    r->api->rate_by_tier[c->tier < TIER__COUNT ? c->tier : 0], rc == 0 ? &u : NULL);
}

/* The customer id of the path, in lower case, into id.  False if it
 * cannot be one. */
static bool
api_customer_param(const struct api_req *r, char id[MODEL_ID_LEN + 1])
{
	size_t	 i;

	if (!model_id_valid(r->params[0]))
		return false;
	for (i = 0; i <= MODEL_ID_LEN; i++)
		id[i] = (char)tolower((unsigned char)r->params[0][i]);
	return true;
}

/* Reads the customer of the path into *c.  0, or nonzero after answering
 * (404 or the store's error). */
static int
api_customer_load(struct api_req *r, struct customer *c)
{
	char	 id[MODEL_ID_LEN + 1];
	int	 rc;

	memset(c, 0, sizeof *c);
	if (!api_customer_param(r, id)) {
		api_reply_error(r, ERR_NOTFOUND, NULL, "no customer \"%.64s\"",
		    r->params[0]);
		return ERR_NOTFOUND;
	}
	if ((rc = fsm_customer_get(coord_fsm(r->api->coord), id, c)) == ERR_NOTFOUND) {
		api_reply_error(r, rc, NULL, "no customer %s", id);
		return rc;
	}
	if (rc != 0) {
		api_reply_error(r, rc, NULL, "cannot read customer %s", id);
		return rc;
	}
	return 0;
}

/* A new customer key for customer_id into *k, its secret text into text. */
static void
api_key_make(struct api_key *k, char *customer_id, uint64_t now,
    char text[SECRET_TEXT_MAX])
{
	memset(k, 0, sizeof *k);
	model_id_generate(k->id);
	k->customer_id = customer_id;		/* borrowed */
	k->role = KEY_ROLE_CUSTOMER;
	k->created_ms = now;
	secret_generate(text, SECRET_PREFIX_KEY);
	secret_hash(text, k->hash);
}

/* {"id", "key", "customer_id", "created_at"}: the only answer that ever
 * holds a key's secret. */
static json_t *
api_key_secret_json(const struct api_key *k, const char *text)
{
	return json_pack("{s:s,s:s,s:s,s:o}", "id", k->id, "key", text, "customer_id",
	    k->customer_id, "created_at", json_time(k->created_ms));
}

void
api_customers_list(struct api_req *r)
{
	struct customer	*cs = NULL;
	json_t		*arr;
	size_t		 n = 0, i;
	int		 rc;

	if ((rc = fsm_customer_list(coord_fsm(r->api->coord), &cs, &n)) != 0) {
		api_reply_error(r, rc, NULL, "cannot list customers");
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++) {
		if (arr != NULL && json_array_append_new(arr, api_customer_json(r,
		    &cs[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
		customer_fini(&cs[i]);
	}
	free(cs);
	api_reply_json(r, 200, arr != NULL ? json_pack("{s:o}", "customers", arr) : NULL);
}

void
api_customers_create(struct api_req *r)
{
	struct customer	 c, back;
	struct errbuf	 eb;
	struct cmd	 cmd;
	json_t		*details = NULL, *cj;
	char		*body = NULL, text[SECRET_TEXT_MAX];
	size_t		 len;
	uint32_t	 mask;
	uint64_t	 now = clock_wall_ms();
	int		 rc;

	memset(&back, 0, sizeof back);
	memset(text, 0, sizeof text);
	if (api_body_read(r, &body, &len) != 0)
		return;
	errbuf_clear(&eb);
	if ((rc = json_customer_parse(body, len, false, &c, &mask, &details, &eb)) != 0) {
		api_reply_error(r, rc, details, "%s", eb.msg);
		free(body);
		return;
	}
	model_id_generate(c.id);
	c.created_ms = now;
	c.updated_ms = now;

	/* The command borrows c, the key and the request's strings. */
	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_CUSTOMER_CREATE;
	cmd.now_ms = now;
	cmd.actor = r->who.key_id;
	cmd.request_id = r->request_id;
	cmd.customer = c;
	api_key_make(&cmd.key, c.id, now, text);
	errbuf_clear(&eb);
	if ((rc = coord_propose(r->api->coord, &cmd, &eb)) != 0) {
		if (rc == ERR_EXISTS)
			api_reply_error(r, rc, NULL, "customer %s already exists", c.id);
		else
			api_reply_propose_error(r, rc, &eb, "customer creation");
		goto out;
	}
	api_header_add(r, "Location", "/v1/customers/%s", c.id);
	rc = fsm_customer_get(coord_fsm(r->api->coord), c.id, &back);
	if (rc != 0)
		log_warn("HTTPREAD", "customer %s applied but not read back: %s rid=%s",
		    c.id, err_code_name(rc), r->request_id);
	cj = api_customer_json(r, rc == 0 ? &back : &c);
	api_reply_json(r, 201, cj != NULL ? json_pack("{s:o,s:o}", "customer", cj,
	    "api_key", api_key_secret_json(&cmd.key, text)) : NULL);
	log_info("CUSTNEW", "customer %s (%s) created with key %s rid=%s", c.id,
	    tier_name(c.tier), cmd.key.id, r->request_id);
out:
	explicit_bzero(text, sizeof text);
	explicit_bzero(cmd.key.hash, sizeof cmd.key.hash);
	customer_fini(&back);
	customer_fini(&c);
	free(body);
}

void
api_customer_get(struct api_req *r)
{
	struct customer	 c;
	char		 id[MODEL_ID_LEN + 1];

	if (r->who.role != KEY_ROLE_ADMIN) {
		/* A customer reads itself, from the record authentication has
		 * just read. */
		if (!api_customer_param(r, id) || strcmp(id, r->who.customer_id) != 0) {
			api_reply_error(r, ERR_FORBIDDEN, NULL,
			    "a customer API key may read only its own customer");
			return;
		}
		api_reply_json(r, 200, api_customer_json(r, &r->who.customer));
		return;
	}
	if (api_customer_load(r, &c) != 0)
		return;
	api_reply_json(r, 200, api_customer_json(r, &c));
	customer_fini(&c);
}

void
api_customer_update(struct api_req *r)
{
	struct customer	 c, patch;
	struct errbuf	 eb;
	struct cmd	 cmd;
	json_t		*details = NULL;
	char		*body = NULL;
	size_t		 len;
	uint32_t	 mask;
	int		 rc;

	memset(&c, 0, sizeof c);
	if (api_body_read(r, &body, &len) != 0)
		return;
	errbuf_clear(&eb);
	if ((rc = json_customer_parse(body, len, true, &patch, &mask, &details, &eb)) != 0) {
		api_reply_error(r, rc, details, "%s", eb.msg);
		free(body);
		return;
	}
	if (api_customer_load(r, &c) != 0)
		goto out;

	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_CUSTOMER_UPDATE;
	cmd.now_ms = clock_wall_ms();
	cmd.actor = r->who.key_id;
	cmd.request_id = r->request_id;
	cmd.customer = patch;			/* borrowed */
	memcpy(cmd.customer.id, c.id, sizeof cmd.customer.id);
	cmd.customer.updated_ms = cmd.now_ms;
	cmd.update_mask = mask;
	errbuf_clear(&eb);
	if ((rc = coord_propose(r->api->coord, &cmd, &eb)) != 0) {
		if (rc == ERR_NOTFOUND)
			api_reply_error(r, rc, NULL, "no customer %s", c.id);
		else
			api_reply_propose_error(r, rc, &eb, "customer update");
		goto out;
	}
	customer_fini(&c);
	if (api_customer_load(r, &c) != 0)
		goto out;
	api_reply_json(r, 200, api_customer_json(r, &c));
	log_info("CUSTSET", "customer %s updated (fields 0x%" PRIx32 ") rid=%s", c.id,
	    mask, r->request_id);
out:
	customer_fini(&c);
	customer_fini(&patch);
	free(body);
}

void
api_customer_keys_list(struct api_req *r)
{
	struct customer	 c;
	struct api_key	*ks = NULL;
	json_t		*arr;
	size_t		 n = 0, i;
	int		 rc;

	if (api_customer_load(r, &c) != 0)
		return;
	rc = fsm_customer_keys(coord_fsm(r->api->coord), c.id, &ks, &n);
	if (rc != 0) {
		api_reply_error(r, rc, NULL, "cannot list the keys of customer %s", c.id);
		customer_fini(&c);
		return;
	}
	arr = json_array();
	for (i = 0; i < n; i++) {
		if (arr != NULL && json_array_append_new(arr, json_api_key(&ks[i])) != 0) {
			json_decref(arr);
			arr = NULL;
		}
		api_key_fini(&ks[i]);
	}
	free(ks);
	customer_fini(&c);
	api_reply_json(r, 200, arr != NULL ? json_pack("{s:o}", "keys", arr) : NULL);
}

void
api_customer_keys_create(struct api_req *r)
{
	struct customer	 c;
	struct errbuf	 eb;
	struct cmd	 cmd;
	json_t		*details = NULL;
	char		*body = NULL, text[SECRET_TEXT_MAX];
	size_t		 len;
	int		 rc;

	memset(&c, 0, sizeof c);
	memset(&cmd, 0, sizeof cmd);
	memset(text, 0, sizeof text);
	if (api_body_read(r, &body, &len) != 0)
		return;
	errbuf_clear(&eb);
	if ((rc = json_empty_parse(body, len, &details, &eb)) != 0) {
		api_reply_error(r, rc, details, "%s", eb.msg);
		goto out;
	}
	if (api_customer_load(r, &c) != 0)
		goto out;
	cmd.type = CMD_KEY_CREATE;
	cmd.now_ms = clock_wall_ms();
	cmd.actor = r->who.key_id;
	cmd.request_id = r->request_id;
	api_key_make(&cmd.key, c.id, cmd.now_ms, text);
	errbuf_clear(&eb);
	if ((rc = coord_propose(r->api->coord, &cmd, &eb)) != 0) {
		api_reply_propose_error(r, rc, &eb, "key creation");
		goto out;
	}
	api_reply_json(r, 201, api_key_secret_json(&cmd.key, text));
	log_info("KEYNEW", "key %s created for customer %s rid=%s", cmd.key.id, c.id,
	    r->request_id);
out:
	explicit_bzero(text, sizeof text);
	explicit_bzero(cmd.key.hash, sizeof cmd.key.hash);
	customer_fini(&c);
	free(body);
}

void
api_customer_key_revoke(struct api_req *r)
{
	struct customer	 c;
	struct api_key	 k;
	struct errbuf	 eb;
	struct cmd	 cmd;
	char		 key_id[MODEL_ID_LEN + 1];
	size_t		 i;
	int		 rc;

	memset(&k, 0, sizeof k);
	if (api_customer_load(r, &c) != 0)
		return;
	if (!model_id_valid(r->params[1])) {
		api_reply_error(r, ERR_NOTFOUND, NULL, "customer %s has no key \"%.64s\"",
		    c.id, r->params[1]);
		goto out;
	}
	for (i = 0; i <= MODEL_ID_LEN; i++)
		key_id[i] = (char)tolower((unsigned char)r->params[1][i]);
	rc = fsm_key_get(coord_fsm(r->api->coord), key_id, &k);
	if (rc == 0 && (k.customer_id == NULL || strcmp(k.customer_id, c.id) != 0))
		rc = ERR_NOTFOUND;		/* another customer's key */
	if (rc == ERR_NOTFOUND) {
		api_reply_error(r, rc, NULL, "customer %s has no key %s", c.id, key_id);
		goto out;
	}
	if (rc != 0) {
		api_reply_error(r, rc, NULL, "cannot read key %s", key_id);
		goto out;
	}
	if (k.revoked) {
		api_reply_raw(r, 204, NULL, NULL, 0);	/* DELETE is idempotent */
		goto out;
	}
	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_KEY_REVOKE;
	cmd.now_ms = clock_wall_ms();
	cmd.actor = r->who.key_id;
	cmd.request_id = r->request_id;
	memcpy(cmd.key.id, k.id, sizeof cmd.key.id);
	cmd.key.customer_id = c.id;		/* borrowed */
	errbuf_clear(&eb);
	if ((rc = coord_propose(r->api->coord, &cmd, &eb)) != 0) {
		if (rc == ERR_NOTFOUND)
			api_reply_error(r, rc, NULL, "customer %s has no key %s", c.id,
			    key_id);
		else
			api_reply_propose_error(r, rc, &eb, "key revocation");
		goto out;
	}
	api_reply_raw(r, 204, NULL, NULL, 0);
	log_info("KEYREVOKE", "key %s of customer %s revoked rid=%s", key_id, c.id,
	    r->request_id);
out:
	api_key_fini(&k);
	customer_fini(&c);
}

void
api_queue_depth_get(struct api_req *r)
{
	struct fsm_queue_depth	 q;
	struct fsm_usage	 u;
	uint32_t		 limit;
	int			 rc;

	if (r->who.role != KEY_ROLE_ADMIN) {
		if ((rc = fsm_customer_usage(coord_fsm(r->api->coord), r->who.customer_id,
		    &u)) != 0) {
			api_reply_error(r, rc, NULL, "cannot read the queue depth");
			return;
		}
		limit = api_customer_queue_limit(r->api, &r->who.customer);
		api_reply_json(r, 200, json_pack("{s:s,s:I,s:o}", "customer_id",
		    r->who.customer_id, "pending", (json_int_t)u.pending,
		    "max_queue_depth", limit != 0 ? json_integer(limit) : json_null()));
		return;
	}
	memset(&q, 0, sizeof q);
	if ((rc = fsm_queue_depth_get(coord_fsm(r->api->coord), &q)) != 0) {
		api_reply_error(r, rc, NULL, "cannot read the queue depth");
		fsm_queue_depth_fini(&q);
		return;
	}
	api_reply_json(r, 200, json_queue_depth(&q));
	fsm_queue_depth_fini(&q);
}
