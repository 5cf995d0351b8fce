/*
 * api: what every handler shares.  The per-request context (struct call),
 * the route type with its flags and state tables, and the dispatcher's
 * common steps (app/api.c).  The adapters' parts of struct call are theirs
 * alone: db.h, redis.h and cache.h read them, handlers never do.
 */

#ifndef API_H
#define API_H

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>

#include <jansson.h>
#include <stdint.h>
#include <time.h>

#include "db_query.h"
#include "inval.h"
#include "jsonbody.h"
#include "query.h"
#include "router.h"

#define API_PREFIX "/api/v1"

/* What a route requires of its caller (route flags). */
#define AUTH_NONE     0x00
#define AUTH_OPTIONAL 0x01 /* a bearer token is checked if sent */
#define AUTH_USER     0x02
#define AUTH_ADMIN    0x04
#define AUTH_VENDOR   0x08
#define BODY_JSON     0x10 /* parse the body as a JSON object */
#define CACHEABLE     0x20 /* public GET answered from the cache */
#define AUTH_DEFER    0x40 /* the route checks the session in its own script */

#define BODY_JSON_MAX JSONBODY_MAX /* modules/jsonbody.h */

/* Roles as stored in users.role. */
#define ROLE_CITIZEN "citizen"
#define ROLE_VENDOR  "vendor"
#define ROLE_ADMIN   "admin"

/* What a poll of an adapter (db_poll, redis_poll, ...) returns. */
#define DB_PENDING 0
#define DB_OK	   1
#define DB_ERROR   2

struct call;

/* One route of the API: method, pattern, flags and its state table. */
struct api_route {
	int		   method;
	const char	  *pattern;
	const char	  *name; /* metrics label */
	int		   flags;
	struct http_state *states;
	u_int8_t	   nstates;
	size_t		   ctxlen; /* >= sizeof(struct call) */
	void (*cleanup)(struct call *);
};

/* A route's state table, and a table of one state, for struct api_route. */
#define STATES(s)     s, (sizeof(s) / sizeof(s[0]))
#define ONE(name, fn) static struct http_state name[] = { { #fn, fn } }

/* The signed-in caller, once the session was found in Redis. */
struct who {
	int64_t uid;
	char	role[16];
	char	sid[64];
};

/* The Redis adapter's (app/redis.c). */
struct redis_wait;
struct redis_value;

/*
 * Where the caches stood when a fetch began (app/cache.c): their
 * generation and the stock moves heard by then.  What the fetch read is
 * kept only as far as no write came in since.
 */
struct cache_mark {
	uint64_t gen;
	uint64_t moves;
};

/*
 * The per-request context.  A route's own context embeds it as its first
 * member, so http_state_get() returns either.
 */
struct call {
	struct http_request    *req;
	const struct api_route *route;
	struct route_match	match;
	struct query		qs;
	int			phase;
	int			status;
	char			rid[24];
	struct timespec		started;

	struct who who;
	int	   authed;
	int	   deferred; /* session check left to the route */
	char	  *token; /* bearer token, if any */

	json_t *body; /* parsed JSON body, if any */

	struct db_query	    db; /* app/db_call.c's */
	struct redis_wait  *rw; /* app/redis.c's */
	struct redis_value *rv; /* last Redis reply */

	/* app/cache.c's */
	uint64_t	    cache_hash; /* of the request's cache key */
	int		    cache_keyed;
	struct inval_waiter flight; /* cache single flight */
	struct cache_mark   cache_at; /* at the lookup */
};

/* app/api.c: the dispatcher and the common steps. */
int  api_dispatch(struct http_request *);
int  api_run(struct http_request *, const struct api_route *,
     const struct route_match *);
int  call_next(struct call *, int);
void call_addr(struct call *, char *, size_t);
void call_uid(struct call *, char *, size_t);
int  call_paging(struct call *, json_t **, char *, char *, size_t);

#endif
