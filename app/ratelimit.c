/*
 * ratelimit: fixed-window counters in Redis per client address or per
 * signed-in user, so every worker and node counts against the same limit.
 */

#include <stdio.h>

#include "api.h"
#include "metrics.h"
#include "problem.h"
#include "ratelimit.h"
#include "redis.h"

/* INCR, and start the window on the first hit: one round trip, atomic. */
static const char ratelimit_lua[] =
    "local n = redis.call('INCR', KEYS[1]) "
    "if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end "
    "return {n, redis.call('TTL', KEYS[1])}";

static int ratelimit_count(
    struct call *, const char *, const char *, int, int, const char *);

/*
 * HTTP_STATE_CONTINUE when the caller is within limit per window seconds,
 * HTTP_STATE_RETRY while Redis answers, HTTP_STATE_COMPLETE once it has
 * answered 429 (or 503 without Redis: the limit cannot be enforced).
 */
int
ratelimit_poll(struct call *c, const char *kind, int limit, int window)
{
	char addr[64];

	call_addr(c, addr, sizeof(addr));
	return (ratelimit_count(c, kind, addr, limit, window,
	    "too many attempts from this address; try again later"));
}

/* The same, counted per signed-in user wherever they come from. */
int
ratelimit_user_poll(struct call *c, const char *kind, int limit, int window)
{
	char uid[32];

	(void)snprintf(uid, sizeof(uid), "u%lld", (long long)c->who.uid);
	return (ratelimit_count(c, kind, uid, limit, window,
	    "too many requests of this kind; try again later"));
}

static int
ratelimit_count(struct call *c, const char *kind, const char *who, int limit,
    int window, const char *detail)
{
	const char *argv[5];
	char	    key[128], win[16], retry[24];
	long long   n, ttl;

	(void)snprintf(key, sizeof(key), "rl:%s:%s", kind, who);
	(void)snprintf(win, sizeof(win), "%d", window);
	argv[0] = "EVAL";
	argv[1] = ratelimit_lua;
	argv[2] = "1";
	argv[3] = key;
	argv[4] = win;
	switch (redis_poll(c, 5, argv, NULL)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR:
		return (problem(
		    c, 503, "unavailable", "the rate limiter is unavailable"));
	}
	if (c->rv->elements != 2)
		return (problem_internal(c, "ratelimit: bad reply"));
	n = c->rv->element[0]->integer;
	ttl = c->rv->element[1]->integer;
	if (n <= limit)
		return (HTTP_STATE_CONTINUE);

	metrics_count("rate_limited");
	(void)snprintf(retry, sizeof(retry), "%lld", ttl > 0 ? ttl : 1);
	http_response_header(c->req, "retry-after", retry);
	return (problem(c, 429, "rate_limited", detail));
}
