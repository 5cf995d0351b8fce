/*
 * bangfu: the one header of the Kore application.  It names the request
 * context every handler shares and the adapters to PostgreSQL, Redis,
 * libjwt and jansson, which only their own files touch.
 */

#ifndef BANGFU_H
#define BANGFU_H

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/pgsql.h>
#include <kore/tasks.h>

#include <jansson.h>
#include <stdint.h>

#include "jsonbody.h"
#include "router.h"
#include "query.h"

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

/*
 * One statement for the pool of app/db.c: a request's (woken when done) or
 * a callback's (called from a timer when done).
 */
struct db_conn;
struct db_job {
	TAILQ_ENTRY(db_job) list;
	struct http_request *req;
	void (*cb)(struct db_job *);
	struct db_conn *conn; /* while its statement is out */
	const char     *sql; /* the caller keeps it until done */
	int		n;
	char	      **vals; /* copies, until sent */
	PGresult       *res; /* the last result with rows */
	char		sqlstate[6]; /* of the first error */
	int		state;
	int		sent; /* the statement left */
	int		lost; /* sent, then no answer: it may have run */
	int		on_done_list;
	u_int64_t	deadline; /* in the queue until */
};

/* One PostgreSQL statement in flight for a request (app/db.c). */
struct db_query {
	struct db_job job;
	int	      phase;
	PGresult     *res;
	const char   *sql; /* the statement, by address */
	char	      sqlstate[6];
};

/* One Redis command in flight for a request (app/redis.c). */
struct redis_wait;
/* A reply's type: hiredis's REDIS_REPLY_* (checked in app/redis.c). */
enum redis_type {
	RV_STRING = 1,
	RV_ARRAY = 2,
	RV_INTEGER = 3,
	RV_NIL = 4,
	RV_STATUS = 5,
	RV_ERROR = 6,
};
struct redis_value {
	enum redis_type	     type;
	long long	     integer;
	char		    *str;
	size_t		     len;
	size_t		     elements;
	struct redis_value **element;
};

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

	struct db_query	    db;
	struct redis_wait  *rw;
	struct redis_value *rv; /* last Redis reply */

	uint64_t	  cache_hash; /* of the request's cache key */
	int		  cache_keyed;
	int		  flight; /* cache single-flight, 1-based */
	int		  flight_owner;
	struct cache_mark cache_at; /* at the lookup */
};

/* app/api.c: the dispatcher and the common steps. */
int  api_dispatch(struct http_request *);
int  api_run(struct http_request *, const struct api_route *,
     const struct route_match *);
int  call_next(struct call *, int);
void call_addr(struct call *, char *, size_t);
void call_uid(struct call *, char *, size_t);
int  call_paging(struct call *, json_t **, char *, char *, size_t);

/* app/db.c */
#define DB_PENDING 0
#define DB_OK	   1
#define DB_ERROR   2
int	    db_init(void);
int	    db_poll(struct call *, const char *, int, const char **);
int	    db_started(struct call *);
int	    db_lost(struct call *);
size_t	    db_length(struct call *, int, int);
void	    db_reset(struct db_query *);
const char *db_value(struct call *, int, int);
json_t	   *db_json(struct call *, int, int);
char	   *db_array(json_t *);
int	    db_isnull(struct call *, int, int);
int	    db_rows(struct call *);
int	    db_json_reply(struct call *, int);
int	    db_json_call(struct call *, const char *, int, const char **);
int	    db_answer(struct call *, int, const char *, const char *);
int	    db_status_reply(struct call *, const char *);
int	    db_status_call(struct call *, const char *, int, const char **,
	    void (*)(void), const char *);
void db_background(const char *, int, const char **, void (*)(const char *));
int  db_submit(struct db_job *, const char *, int, const char **);
void db_job_forget(struct db_job *);
int  db_job_done(struct db_job *);
void db_pool_stats(int *, int *, u_int32_t *);
void db_shutdown(void);

/* app/redis.c */
int  redis_init(const char *);
int  redis_poll(struct call *, int, const char **, const size_t *);
int  redis_ready(void);
int  redis_subscribed(void);
void redis_value_free(struct redis_value *);
void redis_publish(const char *, const char *);
/* What the subscriber link tells its callback (redis_subscribe()). */
#define REDIS_SUB_READY	  0 /* subscribed: messages may have been missed */
#define REDIS_SUB_LOST	  1 /* the link dropped: messages will be missed */
#define REDIS_SUB_MESSAGE 2 /* a message (NULL when not a string) */
void redis_subscribe(const char *, void (*)(int, const char *));
void redis_wait_orphan(struct call *);

/* app/auth.c */
int  auth_init(void);
int  auth_token_issue(const struct who *, char **, int *);
int  auth_token_verify(const char *, struct who *);
void auth_random_token(char *, size_t);
void auth_body_digest(const void *, size_t, char *);
int  auth_cert_issue(const char *, char **);
int  auth_cert_verify(const char *, char **, long *);

/* app/answer.c: the one writer of answers. */
void json_reply_empty(struct call *, int);
void json_reply_raw(struct call *, int, const char *, size_t);
void json_reply_typed(struct call *, int, const char *, const char *, size_t);

/* app/json.c */
void json_reply(struct call *, int, json_t *);
#define INT_TEXT_LEN 24
/* A macro's value as a string literal: TEXT(CART_MAX_LINES) is "100". */
#define TEXT_(x) #x
#define TEXT(x)	 TEXT_(x)
const char *int_text(char[INT_TEXT_LEN], int64_t);
void	    json_buf_int(struct kore_buf *, int64_t);
void	    json_buf_lit(struct kore_buf *, const char *);
int	    json_encode_str(char *, size_t, const char *);
const char *json_field_str(json_t *, const char *);

/* app/problem.c */
int  problem(struct call *, int, const char *, const char *);
int  problem_fields(struct call *, int, const char *, const char *, json_t *);
void problem_field_add(json_t **, const char *, const char *);
int  problem_validation(struct call *, json_t *);
int  problem_internal(struct call *, const char *);
/* Messages made of the limits a field is checked against (issue 16). */
void
problem_field_range(json_t **, const char *, const char *, int64_t, int64_t);
void problem_field_chars(json_t **, const char *, long, long);

/* app/http_static.c: the built web app, read before the workers fork. */
void web_static_init(void);

/* app/cache.c: rendered public answers, invalidated through Redis. */
void cache_init(void);
void cache_flush(void);
#define CACHE_MISS 0
#define CACHE_HIT  1
#define CACHE_WAIT 2
int		  cache_lookup(struct call *);
void		  cache_flight_done(struct call *);
void		  cache_store(struct call *, int, const char *, size_t);
uint64_t	  cache_generation(void);
struct cache_mark cache_mark(void);
int		  cache_moved(int64_t, const struct cache_mark *);
void		  cache_drop_product(int64_t);
/* The query parameters a cacheable route reads, told by http_catalog.c. */
void cache_key_params(const char *, const char *const *);
void catalog_init(void);

/* app/invalidate.c: the catalog's invalidation, to every worker and node. */
void invalidate_init(void);
void invalidate_catalog(void);
void invalidate_stock(const int64_t *, size_t);

/* app/metrics.c */
void metrics_observe(const char *, int, uint64_t);
void metrics_count(const char *);
void metrics_cache_bytes(uint64_t, uint64_t);
/* The PostgreSQL pool's gauges, as db_pool_stats() reads them. */
struct metrics_pool {
	int	  up;
	int	  busy;
	u_int32_t queued;
};
void metrics_render(struct kore_buf *, const struct metrics_pool *);

/* app/http_orders.c: the unpaid-order timer. */
void orders_expire_tick(void *, u_int64_t);

/* app/ratelimit.c */
int ratelimit_poll(struct call *, const char *, int, int);
int ratelimit_user_poll(struct call *, const char *, int, int);

/* app/payment.c: the sandbox's cashier page, outside /api/v1. */
int sandbox_dispatch(struct http_request *);
#define SANDBOX_SECRET_MIN 32

/* Settings from the environment (app/main.c). */
struct bangfu_config {
	char *database_url;
	char *redis_url;
	char *jwt_secret;
	char *cert_secret;
	char *sandbox_secret; /* NULL unless the sandbox is on */
	char *trusted_proxies;
	int   access_ttl;
	int   refresh_ttl;
	int   login_limit;
	int   register_limit;
	int   rate_window;
	int   order_pay_timeout;
	int   payment_sandbox; /* PAYMENT_SANDBOX=1 */
	int   max_unpaid_orders;
	int   orders_limit; /* checkouts per user and window */
	int   invites_limit; /* invitations per admin and window */
};
extern struct bangfu_config cfg;
void			    config_load(void);
void			    config_check(void);

/* The routes, one table per resource file. */
extern struct api_route routes_auth[];
extern struct api_route routes_catalog[];
extern struct api_route routes_cart[];
extern struct api_route routes_orders[];
extern struct api_route routes_vendor[];
extern struct api_route routes_admin_fees[];
extern struct api_route routes_admin_vendors[];
extern struct api_route routes_admin_merch[];
extern struct api_route routes_orgs[];
extern struct api_route routes_org_years[];
extern struct api_route routes_bulk[];
extern struct api_route routes_services[];
extern struct api_route routes_bookings[];
extern struct api_route routes_ledger[];
extern struct api_route routes_docs[];
void			docs_init(void);
extern struct api_route routes_sandbox[]; /* outside /api/v1 */

/*
 * What a refusal's code means for people: the detail of a problem answered
 * from a (status, body) function (db_answer).  A list ends with NULLs.
 */
struct code_detail {
	const char *code;
	const char *detail;
};

/*
 * app/routes.c: every table, once; api is 0 outside /api/v1; details are
 * the refusals its routes raise, in the words of the file that has them.
 */
struct route_table {
	struct api_route	 *routes;
	int			  api;
	const struct code_detail *details;
};
extern const struct route_table route_tables[];
const struct code_detail       *route_details(const struct api_route *);
/* The tables' own refusals (see route_tables). */
extern const struct code_detail admin_merch_details[];

#endif
