/*
 * json: the only file that writes answers.  Bodies are built with jansson
 * (or by PostgreSQL, already JSON) and every answer is counted in metrics.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bangfu.h"

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

/* Answers with v (stolen; may be NULL for an empty body). */
void
json_reply(struct call *c, int status, json_t *v)
{
	char *s;

	if (v == NULL) {
		json_send(
		    c, status, "application/json; charset=utf-8", NULL, 0);
		return;
	}
	s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (s == NULL) {
		(void)problem_internal(c, "json_dumps failed");
		return;
	}
	json_reply_raw(c, status, s, strlen(s));
	free(s);
}

void
json_reply_typed(
    struct call *c, int status, const char *ctype, const char *body, size_t len)
{
	json_send(c, status, ctype, body, len);
}

/* A string member of an object, or NULL when absent or not a string. */
const char *
json_field_str(json_t *obj, const char *name)
{
	json_t *v;

	if (obj == NULL || (v = json_object_get(obj, name)) == NULL ||
	    !json_is_string(v))
		return (NULL);
	return (json_string_value(v));
}
