/*
 * http_ops: /healthz (the process answers), /readyz (PostgreSQL and Redis
 * answer) and /metrics (Prometheus text), outside /api/v1.
 */

#include <string.h>

#include "api.h"
#include "answer.h"
#include "db.h"
#include "metrics.h"
#include "problem.h"
#include "redis.h"

int ops_healthz(struct http_request *);
int ops_readyz(struct http_request *);
int ops_metrics(struct http_request *);
int ops_notfound(struct http_request *);

static int ops_method(struct http_request *, struct api_route *);
static int readyz_db(struct http_request *);
static int readyz_redis(struct http_request *);

enum readyz_state { READYZ_DB, READYZ_REDIS };
static struct http_state readyz_states[] = {
	[READYZ_DB] = { "READYZ_DB", readyz_db },
	[READYZ_REDIS] = { "READYZ_REDIS", readyz_redis },
};

static struct api_route route_healthz = { .name = "healthz" };
static struct api_route route_metrics = { .name = "metrics" };
static struct api_route route_notfound = { .name = "not_found" };
static struct api_route route_readyz = { HTTP_METHOD_GET, "/readyz", "readyz",
	0, readyz_states, sizeof(readyz_states) / sizeof(readyz_states[0]), 0,
	NULL };

/* These routes are GET only: anything else is 405 in the contract's form. */
static int
ops_method(struct http_request *req, struct api_route *r)
{
	struct call c;

	if (req->method == HTTP_METHOD_GET)
		return (1);
	memset(&c, 0, sizeof(c));
	c.req = req;
	c.route = r;
	(void)clock_gettime(CLOCK_MONOTONIC, &c.started);
	http_response_header(req, "allow", "GET");
	(void)problem(&c, 405, "method_not_allowed",
	    "method not allowed on this resource");
	return (0);
}

/* No state, no I/O: the cheapest answer the server can give. */
int
ops_healthz(struct http_request *req)
{
	struct call c;

	if (!ops_method(req, &route_healthz))
		return (KORE_RESULT_OK);
	memset(&c, 0, sizeof(c));
	c.req = req;
	c.route = &route_healthz;
	(void)clock_gettime(CLOCK_MONOTONIC, &c.started);
	json_reply_raw(&c, 200, "{\"status\":\"ok\"}", 15);
	return (KORE_RESULT_OK);
}

int
ops_readyz(struct http_request *req)
{
	if (!http_state_exists(req) && !ops_method(req, &route_readyz))
		return (KORE_RESULT_OK);
	return (api_run(req, &route_readyz, NULL));
}

static int
readyz_db(struct http_request *req)
{
	struct call *c = http_state_get(req);

	switch (db_poll(c, "SELECT 1", 0, NULL)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR:
		return (problem(
		    c, 503, "unavailable", "PostgreSQL does not answer"));
	}
	return (call_next(c, READYZ_REDIS));
}

static int
readyz_redis(struct http_request *req)
{
	struct call *c = http_state_get(req);
	const char  *argv[] = { "PING" };

	switch (redis_poll(c, 1, argv, NULL)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR:
		return (
		    problem(c, 503, "unavailable", "Redis does not answer"));
	}
	json_reply_raw(c, 200, "{\"status\":\"ready\"}", 18);
	return (HTTP_STATE_COMPLETE);
}

int
ops_metrics(struct http_request *req)
{
	struct metrics_pool pool;
	struct call	    c;
	struct kore_buf	   *b;

	if (!ops_method(req, &route_metrics))
		return (KORE_RESULT_OK);
	memset(&c, 0, sizeof(c));
	c.req = req;
	c.route = &route_metrics;
	(void)clock_gettime(CLOCK_MONOTONIC, &c.started);
	b = kore_buf_alloc(16384);
	/* This worker's PostgreSQL pool: the one that answers. */
	db_pool_stats(&pool);
	metrics_render(b, &pool);
	json_reply_typed(
	    &c, 200, "text/plain; version=0.0.4", (char *)b->data, b->offset);
	kore_buf_free(b);
	return (KORE_RESULT_OK);
}

int
ops_notfound(struct http_request *req)
{
	struct call c;

	memset(&c, 0, sizeof(c));
	c.req = req;
	c.route = &route_notfound;
	(void)clock_gettime(CLOCK_MONOTONIC, &c.started);
	(void)problem(&c, 404, "not_found", "no such route");
	return (KORE_RESULT_OK);
}
