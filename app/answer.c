/*
 * answer: the only file that writes answers.  Bodies come built (jansson,
 * PostgreSQL's JSON, a problem), and every answer is counted in metrics.
 */

#include <string.h>
#include <time.h>

#include "api.h"
#include "answer.h"
#include "metrics.h"

static void json_send(struct call *, int, const char *, const char *, size_t);

static uint64_t
json_elapsed_us(const struct call *c)
{
	struct timespec now;
	int64_t		us;

	(void)clock_gettime(CLOCK_MONOTONIC, &now);
	us = (now.tv_sec - c->started.tv_sec) * 1000000 +
	    (now.tv_nsec - c->started.tv_nsec) / 1000;
	return (us < 0 ? 0 : (uint64_t)us);
}

static void
json_send(
    struct call *c, int status, const char *ctype, const char *body, size_t len)
{
	/* Never a status line no client can read: a fault of ours is a 500. */
	if (status < 100 || status > 599) {
		kore_log(LOG_ERR, "json: answer with status %d on %s", status,
		    c->route ? c->route->name : "?");
		status = 500;
		ctype = "application/problem+json";
		body = "{\"type\":\"about:blank\",\"title\":\"Internal Server "
		       "Error\",\"status\":500,\"code\":\"internal\"}";
		len = strlen(body);
	}
	http_response_header(c->req, "content-type", ctype);
	http_response_header(c->req, "cache-control", "no-store");
	http_response(c->req, status, body, len);
	c->status = status;
	metrics_observe(
	    c->route ? c->route->name : "other", status, json_elapsed_us(c));
}

void
json_reply_raw(struct call *c, int status, const char *body, size_t len)
{
	json_send(c, status, "application/json; charset=utf-8", body, len);
}

/* An answer with no body, on purpose (204). */
void
json_reply_empty(struct call *c, int status)
{
	json_send(c, status, "application/json; charset=utf-8", NULL, 0);
}

void
json_reply_typed(
    struct call *c, int status, const char *ctype, const char *body, size_t len)
{
	json_send(c, status, ctype, body, len);
}
