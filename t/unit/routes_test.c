/*
 * Unit tests for the HTTP route table (web/api.c) against the OpenAPI
 * document (web/openapi.json): every route the server registers is
 * documented with the same method, path template, path parameters and
 * security, and every documented operation is served.  Then
 * api_route_find itself: literal routes win over {id} ones, parameters
 * are captured, and a path served with other methods gives the Allow list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "src/strs.h"
#include "t/tap.h"
#include "web/api_internal.h"

#ifndef NIYANTA_SRCDIR
#define NIYANTA_SRCDIR "."
#endif

static const char *const http_methods[] = { "get", "put", "post", "delete",
    "patch", "head", "options", "trace", NULL };

static json_t	*doc;

/* "GET" -> "get" into buf. */
static const char *
lower(const char *s, char *buf, size_t size)
{
	size_t	 i;

	for (i = 0; s[i] != '\0' && i + 1 < size; i++)
		buf[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
	buf[i] = '\0';
	return buf;
}

/* The operation object for route rt, or NULL. */
static json_t *
operation_of(const struct api_route *rt)
{
	char	 m[16];

	return json_object_get(json_object_get(json_object_get(doc, "paths"),
	    rt->pattern), lower(rt->method, m, sizeof m));
}

/* A parameter object, with a "$ref" to #/components/parameters/X resolved. */
static json_t *
param_resolve(json_t *p)
{
	const char	*ref = json_string_value(json_object_get(p, "$ref"));
	const char	*prefix = "#/components/parameters/";

	if (ref == NULL)
		return p;
	if (strncmp(ref, prefix, strlen(prefix)) != 0)
		return NULL;
	return json_object_get(json_object_get(json_object_get(doc, "components"),
	    "parameters"), ref + strlen(prefix));
}

/* True if the operation (or its path item) declares path parameter name. */
static bool
has_path_param(const struct api_route *rt, json_t *op, const char *name)
{
	json_t	*lists[2], *p, *r;
	size_t	 i, j;

	lists[0] = json_object_get(op, "parameters");
	lists[1] = json_object_get(json_object_get(json_object_get(doc, "paths"),
	    rt->pattern), "parameters");
	for (j = 0; j < 2; j++)
		json_array_foreach(lists[j], i, p) {
			r = param_resolve(p);
			if (r != NULL &&
			    str_eq(json_string_value(json_object_get(r, "in")), "path") &&
			    str_eq(json_string_value(json_object_get(r, "name")), name) &&
			    json_is_true(json_object_get(r, "required")))
				return true;
		}
	return false;
}

/* Number of path parameters the operation declares. */
static size_t
path_param_count(const struct api_route *rt, json_t *op)
{
	json_t	*lists[2], *p, *r;
	size_t	 i, j, n = 0;

	lists[0] = json_object_get(op, "parameters");
	lists[1] = json_object_get(json_object_get(json_object_get(doc, "paths"),
	    rt->pattern), "parameters");
	for (j = 0; j < 2; j++)
		json_array_foreach(lists[j], i, p)
			if ((r = param_resolve(p)) != NULL &&
			    str_eq(json_string_value(json_object_get(r, "in")), "path"))
				n++;
	return n;
}

/* Checks one route's documentation; returns the number of problems. */
static int
check_route(const struct api_route *rt)
{
	json_t		*op = operation_of(rt), *sec, *resp;
	const char	*p, *end;
	char		 name[64];
	size_t		 n_params = 0;
	int		 bad = 0;

	if (op == NULL) {
		tap_diag("%s %s is served but not in openapi.json", rt->method, rt->pattern);
		return 1;
	}
	for (p = rt->pattern; (p = strchr(p, '{')) != NULL; p = end) {
		if ((end = strchr(p, '}')) == NULL || (size_t)(end - p - 1) >= sizeof name) {
			tap_diag("%s: malformed template", rt->pattern);
			return bad + 1;
		}
		memcpy(name, p + 1, (size_t)(end - p - 1));
		name[end - p - 1] = '\0';
		n_params++;
		if (!has_path_param(rt, op, name)) {
			tap_diag("%s %s: path parameter {%s} not documented (required, "
			    "in: path)", rt->method, rt->pattern, name);
			bad++;
		}
	}
	if (path_param_count(rt, op) != n_params) {
		tap_diag("%s %s: documents %zu path parameters, the route has %zu",
		    rt->method, rt->pattern, path_param_count(rt, op), n_params);
		bad++;
	}
	sec = json_object_get(op, "security");
	if ((rt->flags & API_R_PUBLIC) != 0 &&
	    !(json_is_array(sec) && json_array_size(sec) == 0)) {
		tap_diag("%s %s is public but its operation lacks \"security\": []",
		    rt->method, rt->pattern);
		bad++;
	}
	if ((rt->flags & API_R_PUBLIC) == 0 && json_is_array(sec) &&
	    json_array_size(sec) == 0) {
		tap_diag("%s %s needs a key but is documented as public", rt->method,
		    rt->pattern);
		bad++;
	}
	resp = json_object_get(op, "responses");
	if (!json_is_object(resp) || json_object_size(resp) == 0) {
		tap_diag("%s %s: no responses documented", rt->method, rt->pattern);
		bad++;
	}
	if ((rt->flags & API_R_PUBLIC) == 0 && (json_object_get(resp, "401") == NULL ||
	    json_object_get(resp, "429") == NULL)) {
		tap_diag("%s %s: a keyed route must document 401 and 429", rt->method,
		    rt->pattern);
		bad++;
	}
	if ((rt->flags & API_R_ADMIN) != 0 && json_object_get(resp, "403") == NULL) {
		tap_diag("%s %s: an admin route must document 403", rt->method, rt->pattern);
		bad++;
	}
	if (!json_is_string(json_object_get(op, "operationId"))) {
		tap_diag("%s %s: no operationId", rt->method, rt->pattern);
		bad++;
	}
	return bad;
}

static void
test_routes_documented(void)
{
	size_t	 i, j;
	int	 bad = 0, dup = 0;

	for (i = 0; i < api_routes_count; i++) {
		bad += check_route(&api_routes[i]);
		for (j = 0; j < i; j++)
			if (strcmp(api_routes[i].method, api_routes[j].method) == 0 &&
			    strcmp(api_routes[i].pattern, api_routes[j].pattern) == 0) {
				tap_diag("%s %s registered twice", api_routes[i].method,
				    api_routes[i].pattern);
				dup++;
			}
	}
	ok(api_routes_count >= 25, "the table has the routes (%zu)", api_routes_count);
	is_int(bad, 0, "every served route is documented: method, path, parameters, "
	    "security, responses");
	is_int(dup, 0, "no route is registered twice");
}

static void
test_documented_served(void)
{
	const char	*path, *m;
	json_t		*item, *op, *ids;
	size_t		 i, k, n_ops = 0;
	int		 missing = 0, dup_ids = 0;
	char		 up[16];

	if ((ids = json_object()) == NULL)
		return;
	json_object_foreach(json_object_get(doc, "paths"), path, item) {
		for (k = 0; http_methods[k] != NULL; k++) {
			if ((op = json_object_get(item, http_methods[k])) == NULL)
				continue;
			n_ops++;
			for (i = 0; m = http_methods[k], i < sizeof up - 1 && m[i] != '\0'; i++)
				up[i] = (char)(m[i] - 32);
			up[i] = '\0';
			for (i = 0; i < api_routes_count; i++)
				if (strcmp(api_routes[i].pattern, path) == 0 &&
				    strcmp(api_routes[i].method, up) == 0)
					break;
			if (i == api_routes_count) {
				tap_diag("%s %s is documented but not served", up, path);
				missing++;
			}
			m = json_string_value(json_object_get(op, "operationId"));
			if (m != NULL && json_object_get(ids, m) != NULL) {
				tap_diag("operationId %s used twice", m);
				dup_ids++;
			} else if (m != NULL)
				json_object_set_new(ids, m, json_true());
		}
	}
	json_decref(ids);
	is_int(missing, 0, "every documented operation is served");
	is_int(n_ops, api_routes_count, "as many operations as routes");
	is_int(dup_ids, 0, "operationIds are unique");
}

/* Every "$ref" in v points at something that exists. */
static int
check_refs(json_t *v)
{
	const char	*k, *ref;
	json_t		*e, *target;
	size_t		 i;
	int		 bad = 0;
	char		 path[256], *tok, *save;

	if (json_is_object(v)) {
		if ((ref = json_string_value(json_object_get(v, "$ref"))) != NULL) {
			if (strncmp(ref, "#/", 2) != 0 || strlen(ref) >= sizeof path) {
				tap_diag("unsupported $ref %s", ref);
				return 1;
			}
			strcpy(path, ref + 2);
			target = doc;
			for (tok = strtok_r(path, "/", &save); tok != NULL && target != NULL;
			    tok = strtok_r(NULL, "/", &save))
				target = json_object_get(target, tok);
			if (target == NULL) {
				tap_diag("dangling $ref %s", ref);
				bad++;
			}
		}
		json_object_foreach(v, k, e)
			bad += check_refs(e);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e)
			bad += check_refs(e);
	}
	return bad;
}

/* Resolves method path; checks the handler's pattern and the params. */
static void
route_is(const char *method, const char *path, const char *want_pattern,
    const char *want_method, const char *p0, const char *p1)
{
	char			 params[API_PARAMS_MAX][API_PARAM_MAX], allow[64];
	const struct api_route	*rt;

	rt = api_route_find(method, path, params, allow, sizeof allow);
	if (!ok(rt != NULL && strcmp(rt->pattern, want_pattern) == 0 &&
	    strcmp(rt->method, want_method) == 0, "%s %s -> %s %s", method, path,
	    want_method, want_pattern)) {
		tap_diag("got %s %s (allow \"%s\")", rt ? rt->method : "-",
		    rt ? rt->pattern : "-", allow);
		return;
	}
	if (p0 != NULL)
		is_str(params[0], p0, "  {param 0}");
	if (p1 != NULL)
		is_str(params[1], p1, "  {param 1}");
}

static void
allow_is(const char *method, const char *path, const char *want)
{
	char			 params[API_PARAMS_MAX][API_PARAM_MAX], allow[64];
	const struct api_route	*rt;

	rt = api_route_find(method, path, params, allow, sizeof allow);
	ok(rt == NULL, "%s %s: no route", method, path);
	is_str(allow, want, "  Allow");
}

static void
test_route_find(void)
{
	const char	*id = "0b7f2c1e-4a5d-4e6f-8a9b-0c1d2e3f4a5b";
	const char	*kid = "11111111-2222-4333-8444-555555555555";
	char		 path[256], longseg[200];

	route_is("GET", "/v1/workloads", "/v1/workloads", "GET", NULL, NULL);
	route_is("POST", "/v1/workloads", "/v1/workloads", "POST", NULL, NULL);
	route_is("POST", "/v1/workloads/batch", "/v1/workloads/batch", "POST", NULL, NULL);
	route_is("POST", "/v1/workloads/batch/cancel", "/v1/workloads/batch/cancel",
	    "POST", NULL, NULL);
	route_is("GET", "/v1/workloads/batch", "/v1/workloads/{id}", "GET", "batch", NULL);
	snprintf(path, sizeof path, "/v1/workloads/%s", id);
	route_is("GET", path, "/v1/workloads/{id}", "GET", id, "");
	snprintf(path, sizeof path, "/v1/workloads/%s/pause", id);
	route_is("POST", path, "/v1/workloads/{id}/pause", "POST", id, NULL);
	snprintf(path, sizeof path, "/v1/workloads/%s/resume", id);
	route_is("POST", path, "/v1/workloads/{id}/resume", "POST", id, NULL);
	snprintf(path, sizeof path, "/v1/workloads/%s/cancel", id);
	route_is("POST", path, "/v1/workloads/{id}/cancel", "POST", id, NULL);
	snprintf(path, sizeof path, "/v1/customers/%s/keys/%s", id, kid);
	route_is("DELETE", path, "/v1/customers/{id}/keys/{key_id}", "DELETE", id, kid);
	snprintf(path, sizeof path, "/v1/customers/%s", id);
	route_is("PATCH", path, "/v1/customers/{id}", "PATCH", id, NULL);
	route_is("GET", "/v1/metrics/queue-depth", "/v1/metrics/queue-depth", "GET",
	    NULL, NULL);
	route_is("GET", "/v1/audit-events", "/v1/audit-events", "GET", NULL, NULL);
	route_is("GET", "/docs", "/docs", "GET", NULL, NULL);
	route_is("GET", "/docs/docs.js", "/docs/{file}", "GET", "docs.js", NULL);
	route_is("GET", "/console/app.js", "/console/{file}", "GET", "app.js", NULL);
	route_is("GET", "/", "/", "GET", NULL, NULL);

	memset(longseg, 'a', sizeof longseg - 1);
	longseg[sizeof longseg - 1] = '\0';
	snprintf(path, sizeof path, "/v1/workloads/%s", longseg);
	route_is("GET", path, "/v1/workloads/{id}", "GET", "", NULL);

	allow_is("DELETE", "/v1/workloads", "GET, POST");
	allow_is("PUT", "/v1/workloads/batch", "POST, GET");
	allow_is("GET", "/v1/workloads/batch/cancel", "POST");
	snprintf(path, sizeof path, "/v1/customers/%s", id);
	allow_is("DELETE", path, "GET, PATCH");
	snprintf(path, sizeof path, "/v1/customers/%s/keys", id);
	allow_is("DELETE", path, "GET, POST");
	allow_is("POST", "/health", "GET");
	allow_is("GET", "/nowhere", "");
	allow_is("GET", "/v1/workloads/", "");
	allow_is("GET", "/v1/workloads//cancel", "");
	allow_is("GET", "/v1/workloadsX", "");
	allow_is("GET", "/v1/customers/x/keys/", "");
}

int
main(void)
{
	json_error_t	 je;
	const char	*file = NIYANTA_SRCDIR "/web/openapi.json";

	doc = json_load_file(file, JSON_REJECT_DUPLICATES, &je);
	if (!ok(doc != NULL, "%s parses", file)) {
		tap_diag("%s:%d:%d: %s", file, je.line, je.column, je.text);
		return tap_done();
	}
	is_str(json_string_value(json_object_get(doc, "openapi")), "3.0.3",
	    "OpenAPI 3.0.3");
	test_routes_documented();
	test_documented_served();
	is_int(check_refs(doc), 0, "every $ref resolves");
	test_route_find();
	json_decref(doc);
	return tap_done();
}
