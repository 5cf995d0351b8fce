/*
 * api: the dispatcher under /api/v1.  It finds the route (404 and 405 in the
 * contract's format), parses the query and the JSON body, authenticates the
 * caller against its session in Redis, answers from the cache when it may,
 * then runs the route's own state table.
 */

#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "auth.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "metrics.h"
#include "problem.h"
#include "redis.h"
#include "routes.h"
#include "clientip.h"

#define PHASE_SESSION 0 /* authenticate first: no body work for strangers */
#define PHASE_PARSE   1
#define PHASE_CACHE   2
#define PHASE_ROUTE   3

static int	 api_prepare(struct call *);
static int	 api_authenticate(struct call *);
static void	 api_free(struct http_request *);
static u_int64_t api_rid;

static const struct api_route *
api_lookup(struct http_request *req, const char *path, struct route_match *m,
    int *allow)
{
	struct api_route *r;
	int		  i;

	*allow = 0;
	for (i = 0; route_tables[i].routes != NULL; i++) {
		if (!route_tables[i].api)
			continue;
		for (r = route_tables[i].routes; r->pattern != NULL; r++) {
			if (!router_match(r->pattern, path, m))
				continue;
			/* HEAD is a GET whose body Kore does not send. */
			if (r->method == req->method ||
			    (req->method == HTTP_METHOD_HEAD &&
				r->method == HTTP_METHOD_GET))
				return (r);
			*allow |= r->method;
		}
	}
	return (NULL);
}

static void
api_allow_header(struct http_request *req, int allow)
{
	static const struct {
		int	    m;
		const char *name;
	} methods[] = {
		{ HTTP_METHOD_GET, "GET, HEAD" },
		{ HTTP_METHOD_POST, "POST" },
		{ HTTP_METHOD_PUT, "PUT" },
		{ HTTP_METHOD_PATCH, "PATCH" },
		{ HTTP_METHOD_DELETE, "DELETE" },
	};
	char   buf[64];
	size_t i, off;

	off = 0;
	buf[0] = '\0';
	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (allow & methods[i].m)
			off += (size_t)snprintf(buf + off, sizeof(buf) - off,
			    "%s%s", off ? ", " : "", methods[i].name);
	}
	http_response_header(req, "allow", buf);
}

int
api_dispatch(struct http_request *req)
{
	static const struct api_route notfound = { .name = "not_found" };
	const struct api_route	     *r;
	struct route_match	      m;
	struct call		      tmp;
	const char		     *path;
	int			      allow;

	if (http_state_exists(req))
		return (api_run(req, NULL, NULL));

	path = req->path + strlen(API_PREFIX);
	if ((r = api_lookup(req, path, &m, &allow)) != NULL)
		return (api_run(req, r, &m));

	memset(&tmp, 0, sizeof(tmp));
	tmp.req = req;
	tmp.route = &notfound;
	(void)clock_gettime(CLOCK_MONOTONIC, &tmp.started);
	if (allow != 0) {
		api_allow_header(req, allow);
		(void)problem(&tmp, 405, "method_not_allowed",
		    "method not allowed on this resource");
	} else {
		(void)problem(&tmp, 404, "not_found", "no such route");
	}
	return (KORE_RESULT_OK);
}

/* Starts (r != NULL) or resumes the request's work. */
int
api_run(struct http_request *req, const struct api_route *r,
    const struct route_match *m)
{
	struct call *c;
	int	     rc;

	if ((c = http_state_get(req)) == NULL) {
		c = http_state_create(
		    req, r->ctxlen ? r->ctxlen : sizeof(struct call), api_free);
		c->req = req;
		c->route = r;
		if (m != NULL)
			c->match = *m;
		(void)clock_gettime(CLOCK_MONOTONIC, &c->started);
		(void)snprintf(c->rid, sizeof(c->rid), "%u-%lu",
		    worker ? worker->id : 0, (unsigned long)++api_rid);
		http_response_header(req, "x-request-id", c->rid);
	}

	for (;;) {
		switch (c->phase) {
		case PHASE_SESSION:
			rc = api_authenticate(c);
			if (rc == HTTP_STATE_RETRY)
				return (KORE_RESULT_RETRY);
			if (rc != HTTP_STATE_CONTINUE)
				return (KORE_RESULT_OK);
			c->phase = PHASE_PARSE;
			break;
		case PHASE_PARSE:
			if ((rc = api_prepare(c)) != HTTP_STATE_CONTINUE)
				return (KORE_RESULT_OK);
			c->phase = PHASE_CACHE;
			break;
		case PHASE_CACHE:
			if (c->route->flags & CACHEABLE) {
				cache_flight_done(c);
				rc = cache_lookup(c);
				if (rc == CACHE_HIT)
					return (KORE_RESULT_OK);
				if (rc == CACHE_WAIT)
					return (KORE_RESULT_RETRY);
			}
			c->phase = PHASE_ROUTE;
			break;
		default:
			return (http_state_run(
			    c->route->states, c->route->nstates, req));
		}
	}
}

static int
api_prepare(struct call *c)
{
	struct http_request *req = c->req;
	json_error_t	     err;
	const void	    *data;
	size_t		     len;

	if (query_parse(&c->qs, req->query_string) != QUERY_OK) {
		return (problem(c, 400, "invalid_query",
		    "the query string is malformed or too long"));
	}
	if (!(c->route->flags & BODY_JSON))
		return (HTTP_STATE_CONTINUE);

	data = NULL;
	len = 0;
	if (req->http_body != NULL) {
		data = req->http_body->data;
		len = req->http_body_length;
	}
	switch (jsonbody_parse(data, len, BODY_JSON_MAX, &c->body, &err)) {
	case JSONBODY_OK: break;
	case JSONBODY_EMPTY:
		return (problem(
		    c, 400, "invalid_json", "a JSON object is required"));
	case JSONBODY_TOO_LARGE:
		return (problem(c, 413, "payload_too_large",
		    "the body is larger than this route accepts"));
	case JSONBODY_NOT_OBJECT:
		return (problem(
		    c, 400, "invalid_json", "the body must be a JSON object"));
	default:
		return (problem(c, 400, "invalid_json",
		    err.text[0] ? err.text : "malformed JSON"));
	}
	return (HTTP_STATE_CONTINUE);
}

/*
 * A valid signature is not enough: the session it names must still exist
 * in Redis, so logout and refresh-token reuse revoke at once.
 */
static int
api_authenticate(struct call *c)
{
	const char *hdr, *argv[4];
	char	    key[96];
	int	    flags = c->route->flags, rc;

	if (!(flags & (AUTH_OPTIONAL | AUTH_USER | AUTH_ADMIN | AUTH_VENDOR)))
		return (HTTP_STATE_CONTINUE);

	if (c->rw == NULL && !c->authed) {
		if (!http_request_header(c->req, "authorization", &hdr)) {
			if (flags & AUTH_OPTIONAL)
				return (HTTP_STATE_CONTINUE);
			return (problem(c, 401, "unauthenticated",
			    "a bearer token is required"));
		}
		if (strncasecmp(hdr, "Bearer ", 7) != 0 ||
		    !auth_token_verify(hdr + 7, &c->who)) {
			metrics_count("auth_failures");
			return (problem(c, 401, "unauthenticated",
			    "the token is malformed, expired or forged"));
		}
	}

	/*
	 * A route that talks to Redis anyway checks the session inside its
	 * own script (one round trip, same atomicity): see cart_store.c.
	 */
	if ((flags & AUTH_DEFER) && !(flags & (AUTH_ADMIN | AUTH_VENDOR))) {
		c->authed = 1;
		c->deferred = 1;
		return (HTTP_STATE_CONTINUE);
	}

	(void)snprintf(key, sizeof(key), "sess:{%s}", c->who.sid);
	argv[0] = "HMGET";
	argv[1] = key;
	argv[2] = "uid";
	argv[3] = "role";
	rc = redis_poll(c, 4, argv, NULL);
	if (rc == DB_PENDING)
		return (HTTP_STATE_RETRY);
	if (rc == DB_ERROR)
		return (problem(
		    c, 503, "unavailable", "the session store is unavailable"));
	if (c->rv->type != RV_ARRAY || c->rv->elements != 2 ||
	    c->rv->element[0]->str == NULL || c->rv->element[1]->str == NULL ||
	    strtoll(c->rv->element[0]->str, NULL, 10) != c->who.uid) {
		metrics_count("auth_failures");
		return (problem(
		    c, 401, "unauthenticated", "the session has ended"));
	}
	(void)snprintf(
	    c->who.role, sizeof(c->who.role), "%s", c->rv->element[1]->str);
	c->authed = 1;

	if ((flags & AUTH_ADMIN) && strcmp(c->who.role, ROLE_ADMIN) != 0)
		return (problem(c, 403, "forbidden", "operators only"));
	if ((flags & AUTH_VENDOR) && strcmp(c->who.role, ROLE_VENDOR) != 0)
		return (problem(c, 403, "forbidden", "vendors only"));
	return (HTTP_STATE_CONTINUE);
}

/* Moves to state next of the route's table and runs it. */
int
call_next(struct call *c, int next)
{
	c->req->fsm_state = (u_int8_t)next;
	return (HTTP_STATE_CONTINUE);
}

/* The client's address under the TRUSTED_PROXIES rule. */
void
call_addr(struct call *c, char *out, size_t len)
{
	struct connection  *conn = c->req->owner;
	struct http_header *hdr;
	const char	   *xff;
	char		    peer[INET6_ADDRSTRLEN];
	const void	   *src;

	peer[0] = '\0';
	if (conn->family == AF_INET6)
		src = &conn->addr.ipv6.sin6_addr;
	else
		src = &conn->addr.ipv4.sin_addr;
	if (conn->family != AF_INET && conn->family != AF_INET6)
		(void)kore_strlcpy(peer, "127.0.0.1", sizeof(peer));
	else if (inet_ntop(conn->family, src, peer, sizeof(peer)) == NULL)
		(void)kore_strlcpy(peer, "unknown", sizeof(peer));

	/* The last X-Forwarded-For line: our proxy appends its own. */
	xff = NULL;
	TAILQ_FOREACH(hdr, &c->req->req_headers, list)
	{
		if (strcasecmp(hdr->header, "x-forwarded-for") == 0)
			xff = hdr->value;
	}
	if (!clientip_resolve(peer, xff, cfg.trusted_proxies, out, len))
		(void)snprintf(out, len, "%s", peer);
}

static void
api_free(struct http_request *req)
{
	struct call *c = http_state_get(req);

	if (c == NULL)
		return;
	if (c->route != NULL && c->route->cleanup != NULL)
		c->route->cleanup(c);
	cache_flight_done(c);
	redis_wait_orphan(c);
	if (c->body != NULL) {
		json_decref(c->body);
		c->body = NULL;
	}
	db_reset(&c->db);
}

/* The caller's user id as text, for a statement's parameter. */
void
call_uid(struct call *c, char *out, size_t len)
{
	(void)snprintf(out, len, "%lld", (long long)c->who.uid);
}

/*
 * ?page= (from 1, default 1) and ?per_page= (1 to 100, default 20) as text
 * for SQL; a bad value adds its error to errs and returns 0.
 */
int
call_paging(struct call *c, json_t **errs, char *page, char *per, size_t len)
{
	int64_t p = 1, pp = 20;
	int	ok = 1;

	if (query_int(&c->qs, "page", 1, 100000, &p) == QUERY_INVALID) {
		problem_field_add(errs, "page", "an integer from 1");
		ok = 0;
	}
	if (query_int(&c->qs, "per_page", 1, 100, &pp) == QUERY_INVALID) {
		problem_field_add(errs, "per_page", "an integer from 1 to 100");
		ok = 0;
	}
	(void)snprintf(page, len, "%lld", (long long)p);
	(void)snprintf(per, len, "%lld", (long long)pp);
	return (ok);
}
