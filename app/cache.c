/*
 * cache: rendered answers of the public catalog routes, per worker.
 *
 * What: the exact body of a 200 answer, keyed by the whole request as the
 * route reads it: its name, its path parameters and the query parameters
 * it was told of (cache_key_params()), each length-prefixed, hashed and
 * compared in full.  Memory: at most CACHE_MAX_BYTES per worker (keys and
 * bodies), the oldest entries evicted first to stay under it.
 * Invalidation (app/invalidate.c): a write that can change a catalog
 * answer empties every worker's cache after its commit; a stock move drops
 * that product's detail and cart facts only.  The cache answers only while
 * this worker's subscription is live; a lost link empties it.
 * Sales counts (in lists) do not invalidate and may lag by CACHE_TTL_MS.
 * Entries expire after CACHE_TTL_MS and never outlive the Shanghai day they
 * were made in, since qualification and certification validity are dates.
 *
 * Misses are single-flight (the table is modules/inval.c's): while one
 * request fetches a key, the others asking for it sleep and are woken when
 * it is stored or abandoned; an entry that merely aged is served to them
 * meanwhile.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "answer.h"
#include "cache.h"
#include "json.h"
#include "metrics.h"
#include "redis.h"
#include "inval.h"

#define CACHE_SLOTS	  4096 /* power of two */
#define CACHE_PROBES	  8
#define CACHE_STALE_MS	  5000 /* serve-while-refreshing window */
#define CACHE_TTL_MS	  10000
#define CACHE_MAX_BODY	  (512 * 1024)
#define SHANGHAI_OFFSET_S (8 * 3600)

/* The byte budget of a worker's entries (CACHE_MAX_BYTES), and its bounds. */
#define CACHE_BYTES_DEFAULT (32 * 1024 * 1024)
#define CACHE_BYTES_MIN	    (64 * 1024)
#define CACHE_BYTES_MAX	    (INT64_C(16) * 1024 * 1024 * 1024)

struct cache_entry {
	char	*key;
	size_t	 keylen;
	uint64_t hash;
	char	*body;
	size_t	 len;
	int	 status;
	uint64_t gen;
	uint64_t expires;
	TAILQ_ENTRY(cache_entry) order; /* oldest stored first */
};

/* The key is written piece by piece: into a hash, a comparison or a copy. */
struct cache_keyw {
	void (*put)(struct cache_keyw *, const void *, size_t);
	uint64_t	 hash;
	const char	*cmp; /* compared against, at off */
	size_t		 cmplen;
	size_t		 off;
	int		 differs;
	struct kore_buf *buf;
};

/* The product detail route's name (http_catalog.c): stock moves drop it. */
#define CACHE_DETAIL_ROUTE "product"

static uint64_t cache_expiry(uint64_t);
static void	cache_evict(struct cache_entry *);
static void	cache_keyw_hash(struct cache_keyw *);
static void	cache_keyw_cmp(struct cache_keyw *, const char *, size_t);
static int	cache_keyw_same(const struct cache_keyw *);
static void	cache_key_detail(struct cache_keyw *, const char *);

static struct cache_entry cache_slots[CACHE_SLOTS];
/* The misses being fetched, and who waits for them (modules/inval.c). */
static struct inval_flights cache_flights;
/*
 * The generation, and the stock moves heard in order (modules/inval.c): an
 * answer or facts fetched while a move of their product was heard may
 * predate it, and are not kept as fresh.
 */
static struct inval cache_inval;
static uint64_t	    cache_bytes; /* held by entries */
static uint64_t	    cache_budget = CACHE_BYTES_DEFAULT;
static TAILQ_HEAD(, cache_entry) cache_order;

/* CACHE_MAX_BYTES from the environment, within its bounds. */
static uint64_t
cache_budget_env(void)
{
	const char *v;
	char	   *end;
	long long   n;

	if ((v = getenv("CACHE_MAX_BYTES")) == NULL || *v == '\0')
		return (CACHE_BYTES_DEFAULT);
	n = strtoll(v, &end, 10);
	if (*end != '\0' || n < CACHE_BYTES_MIN || n > CACHE_BYTES_MAX) {
		kore_log(LOG_NOTICE,
		    "CACHE_MAX_BYTES=%s out of range, using %d", v,
		    CACHE_BYTES_DEFAULT);
		return (CACHE_BYTES_DEFAULT);
	}
	return ((uint64_t)n);
}

void
cache_init(void)
{
	memset(cache_slots, 0, sizeof(cache_slots));
	TAILQ_INIT(&cache_order);
	inval_init(&cache_inval);
	inval_flights_init(&cache_flights);
	cache_bytes = 0;
	cache_budget = cache_budget_env();
	metrics_cache_bytes(cache_bytes, cache_budget);
}

/* What an entry costs against the budget: its key and body. */
static uint64_t
cache_cost(size_t keylen, size_t len)
{
	return ((uint64_t)keylen + (uint64_t)len + 2);
}

/* Frees an entry's key and body; its slot is free again. */
static void
cache_evict(struct cache_entry *e)
{
	if (e->key == NULL)
		return;
	TAILQ_REMOVE(&cache_order, e, order);
	cache_bytes -= cache_cost(e->keylen, e->len);
	kore_free(e->key);
	kore_free(e->body);
	e->key = NULL;
	e->body = NULL;
	e->keylen = 0;
	e->len = 0;
	e->gen = 0;
	metrics_cache_bytes(cache_bytes, cache_budget);
}

/* Lazy: entries of an older generation are dead and reused in place. */
void
cache_flush(void)
{
	inval_flush(&cache_inval);
	metrics_count("cache_flushes");
}

/*
 * A product's stock moved (an order, a cancel): the stock in its facts and
 * its detail answer go, the rest stays.  Lists show no stock and keep their entries.
 */
void
cache_drop_product(int64_t id)
{
	struct cache_entry *e;
	struct cache_keyw   w;
	char		    d[INT_TEXT_LEN];
	const char	   *t;
	uint64_t	    h;
	int		    i;

	inval_stock_moved(&cache_inval, id);
	t = int_text(d, id);
	cache_keyw_hash(&w);
	cache_key_detail(&w, t);
	h = w.hash;
	for (i = 0; i < CACHE_PROBES; i++) {
		e = &cache_slots[(h + (uint64_t)i) & (CACHE_SLOTS - 1)];
		if (e->key == NULL || e->hash != h)
			continue;
		cache_keyw_cmp(&w, e->key, e->keylen);
		cache_key_detail(&w, t);
		if (cache_keyw_same(&w))
			cache_evict(e);
	}
}

/* Where the caches stand now, for a fetch about to begin. */
struct cache_mark
cache_mark(void)
{
	struct inval_mark im = inval_mark(&cache_inval);
	struct cache_mark m = { im.gen, im.moves };

	return (m);
}

/* Whether a stock move of product id was heard after the mark. */
int
cache_moved(int64_t id, const struct cache_mark *m)
{
	struct inval_mark im = { m->gen, m->moves };

	return (inval_moved(&cache_inval, id, &im));
}

/* Whether the caches were emptied after the mark. */
static int
cache_flushed(const struct cache_mark *m)
{
	struct inval_mark im = { m->gen, m->moves };

	return (inval_flushed(&cache_inval, &im));
}

/* The generation entries of this worker's caches must carry to be live. */
uint64_t
cache_generation(void)
{
	return (cache_inval.gen);
}

static uint64_t
cache_expiry(uint64_t now)
{
	uint64_t local_s, midnight_ms;

	local_s = now / 1000 + SHANGHAI_OFFSET_S;
	midnight_ms = ((local_s / 86400) + 1) * 86400 * 1000 -
	    (uint64_t)SHANGHAI_OFFSET_S * 1000;
	if (now + CACHE_TTL_MS < midnight_ms)
		return (now + CACHE_TTL_MS);
	return (midnight_ms);
}

/*
 * The key: the route's name, "/" and each path parameter (an id in
 * decimal), then for each query parameter the route reads that was given,
 * "&name=" and the value's length in decimal, ":" and the value.  The
 * lengths make it unambiguous whatever a value holds.
 */
static void
cache_keyw_str(struct cache_keyw *w, const char *s)
{
	w->put(w, s, strlen(s));
}

static void
cache_keyw_hash_put(struct cache_keyw *w, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t		     i;

	for (i = 0; i < n; i++) {
		w->hash ^= s[i];
		w->hash *= 1099511628211ULL;
	}
}

static void
cache_keyw_hash(struct cache_keyw *w)
{
	memset(w, 0, sizeof(*w));
	w->put = cache_keyw_hash_put;
	w->hash = 1469598103934665603ULL;
}

static void
cache_keyw_cmp_put(struct cache_keyw *w, const void *p, size_t n)
{
	if (w->differs || n > w->cmplen - w->off ||
	    memcmp(w->cmp + w->off, p, n) != 0) {
		w->differs = 1;
		return;
	}
	w->off += n;
}

static void
cache_keyw_cmp(struct cache_keyw *w, const char *key, size_t len)
{
	memset(w, 0, sizeof(*w));
	w->put = cache_keyw_cmp_put;
	w->cmp = key;
	w->cmplen = len;
}

/* After cache_keyw_cmp() and the key: whether it was the whole of key. */
static int
cache_keyw_same(const struct cache_keyw *w)
{
	return (!w->differs && w->off == w->cmplen);
}

static void
cache_keyw_copy_put(struct cache_keyw *w, const void *p, size_t n)
{
	kore_buf_append(w->buf, p, n);
}

static void
cache_keyw_copy(struct cache_keyw *w)
{
	memset(w, 0, sizeof(*w));
	w->put = cache_keyw_copy_put;
	w->buf = kore_buf_alloc(128);
}

/* The key of a product's detail page, as cache_key_write() writes it. */
static void
cache_key_detail(struct cache_keyw *w, const char *id)
{
	cache_keyw_str(w, CACHE_DETAIL_ROUTE);
	cache_keyw_str(w, "/");
	cache_keyw_str(w, id);
}

/* The query parameters a cacheable route reads, told by its file. */
static struct {
	const char	  *route;
	const char *const *names;
} cache_params[4];
static int cache_nparams;

void
cache_key_params(const char *route, const char *const *names)
{
	if (cache_nparams ==
	    (int)(sizeof(cache_params) / sizeof(cache_params[0])))
		fatal("cache: too many routes with query parameters");
	cache_params[cache_nparams].route = route;
	cache_params[cache_nparams++].names = names;
}

static void
cache_key_write(struct call *c, struct cache_keyw *w)
{
	const char *const *names;
	const char	  *v;
	char		   d[INT_TEXT_LEN];
	int		   i;

	cache_keyw_str(w, c->route->name);
	for (i = 0; i < c->match.nparams && i < ROUTE_MAX_PARAMS; i++) {
		cache_keyw_str(w, "/");
		if (c->match.ids[i] > 0)
			cache_keyw_str(w, int_text(d, c->match.ids[i]));
		else
			cache_keyw_str(w, c->match.params[i]);
	}
	for (i = 0; i < cache_nparams; i++) {
		if (strcmp(cache_params[i].route, c->route->name) == 0)
			break;
	}
	if (i == cache_nparams)
		return;
	for (names = cache_params[i].names; *names != NULL; names++) {
		if ((v = query_get(&c->qs, *names)) == NULL)
			continue;
		cache_keyw_str(w, "&");
		cache_keyw_str(w, *names);
		cache_keyw_str(w, "=");
		cache_keyw_str(w, int_text(d, (int64_t)strlen(v)));
		cache_keyw_str(w, ":");
		cache_keyw_str(w, v);
	}
}

static void
cache_key_hash(struct call *c)
{
	struct cache_keyw w;

	cache_keyw_hash(&w);
	cache_key_write(c, &w);
	c->cache_hash = w.hash;
	c->cache_keyed = 1;
}

/* Whether key is the request's key. */
static int
cache_key_is(struct call *c, uint64_t hash, const char *key, size_t len)
{
	struct cache_keyw w;

	if (hash != c->cache_hash)
		return (0);
	cache_keyw_cmp(&w, key, len);
	cache_key_write(c, &w);
	return (cache_keyw_same(&w));
}

/* A copy of the request's key, on the heap (kore_free). */
static char *
cache_key_copy(struct call *c, size_t *len)
{
	struct cache_keyw w;

	cache_keyw_copy(&w);
	cache_key_write(c, &w);
	return ((char *)kore_buf_release(w.buf, len));
}

/* For a flight's key (modules/inval.c): whether it is the request's. */
static int
cache_flight_same(void *arg, const void *key, size_t len)
{
	struct call *c = arg;

	return (cache_key_is(c, c->cache_hash, key, len));
}

/* A flight's waiter is released: it looks again. */
static void
cache_flight_wake(void *who)
{
	http_request_wakeup(who);
}

/*
 * CACHE_HIT when it answered the request, CACHE_WAIT when the request now
 * sleeps behind another fetching the same key, CACHE_MISS when the caller
 * is to fetch (and then store, or finish without storing).
 */
int
cache_lookup(struct call *c)
{
	struct cache_entry *e, *stale;
	uint64_t	    h, now;
	char		   *key;
	size_t		    keylen;
	int		    i, f;

	/* What a fetch after a miss must still match to be stored. */
	c->cache_at = cache_mark();
	if (!redis_subscribed())
		return (CACHE_MISS);
	cache_key_hash(c);
	h = c->cache_hash;
	now = (uint64_t)time(NULL) * 1000;
	stale = NULL;
	for (i = 0; i < CACHE_PROBES; i++) {
		e = &cache_slots[(h + (uint64_t)i) & (CACHE_SLOTS - 1)];
		if (e->key == NULL || e->gen != cache_inval.gen ||
		    !cache_key_is(c, e->hash, e->key, e->keylen))
			continue;
		if (e->expires > now) {
			metrics_count("cache_hits");
			json_reply_raw(c, e->status, e->body, e->len);
			return (CACHE_HIT);
		}
		/* Expired by age only: nothing known changed. */
		if (e->expires + CACHE_STALE_MS > now)
			stale = e;
	}
	metrics_count("cache_misses");

	/*
	 * While one request refreshes an entry that merely aged, the others
	 * get the old copy rather than queueing: staleness stays bounded by
	 * CACHE_TTL_MS plus one refresh.  An invalidated entry is never served.
	 */
	f = inval_flight_find(&cache_flights, h, cache_flight_same, c);
	if (f != 0 && stale != NULL) {
		metrics_count("cache_hits");
		json_reply_raw(c, stale->status, stale->body, stale->len);
		return (CACHE_HIT);
	}
	if (f != 0) {
		inval_flight_wait(&cache_flights, f, &c->flight, c->req);
		http_request_sleep(c->req);
		return (CACHE_WAIT);
	}
	/* Full: fetched alone, in no flight. */
	if (inval_flight_room(&cache_flights)) {
		key = cache_key_copy(c, &keylen);
		(void)inval_flight_begin(
		    &cache_flights, h, key, keylen, &c->flight, c->req);
	}
	return (CACHE_MISS);
}

/*
 * The request is done with its flight: an owner wakes its waiters (who
 * look again and, if nothing was stored, one of them fetches); a waiter
 * leaves the queue.  Called on store and when the request is freed.
 */
void
cache_flight_done(struct call *c)
{
	kore_free(
	    inval_flight_done(&cache_flights, &c->flight, cache_flight_wake));
}

/* A product's detail (it shows stock) whose stock moved since the lookup. */
static int
cache_detail_moved(struct call *c)
{
	return (strcmp(c->route->name, CACHE_DETAIL_ROUTE) == 0 &&
	    c->match.ids[0] > 0 && cache_moved(c->match.ids[0], &c->cache_at));
}

void
cache_store(struct call *c, int status, const char *body, size_t len)
{
	struct cache_entry *e, *victim;
	uint64_t	    h, now, cost;
	char		   *key;
	size_t		    keylen;
	int		    i;

	/*
	 * Not kept when the caches were emptied, or this product's stock
	 * moved, while it was fetched: it may predate that write.
	 */
	if (!redis_subscribed() || len > CACHE_MAX_BODY ||
	    cache_flushed(&c->cache_at) || cache_detail_moved(c)) {
		cache_flight_done(c);
		return;
	}
	if (!c->cache_keyed)
		cache_key_hash(c);
	h = c->cache_hash;
	key = cache_key_copy(c, &keylen);
	if ((cost = cache_cost(keylen, len)) > cache_budget) {
		kore_free(key);
		cache_flight_done(c);
		return;
	}
	now = (uint64_t)time(NULL) * 1000;
	victim = NULL;
	for (i = 0; i < CACHE_PROBES; i++) {
		e = &cache_slots[(h + (uint64_t)i) & (CACHE_SLOTS - 1)];
		if (e->key == NULL || e->gen != cache_inval.gen ||
		    e->expires <= now ||
		    cache_key_is(c, e->hash, e->key, e->keylen)) {
			victim = e;
			break;
		}
	}
	/* All probes live: the home slot gives way. */
	if (victim == NULL)
		victim = &cache_slots[h & (CACHE_SLOTS - 1)];
	cache_evict(victim);

	/* Within the budget: the oldest entries go first. */
	while (cache_bytes + cost > cache_budget &&
	    (e = TAILQ_FIRST(&cache_order)) != NULL) {
		cache_evict(e);
		metrics_count("cache_evictions");
	}

	victim->key = key;
	victim->keylen = keylen;
	victim->hash = h;
	victim->body = kore_malloc(len + 1);
	memcpy(victim->body, body, len);
	victim->body[len] = '\0';
	victim->len = len;
	victim->status = status;
	victim->gen = cache_inval.gen;
	victim->expires = cache_expiry(now);
	TAILQ_INSERT_TAIL(&cache_order, victim, order);
	cache_bytes += cost;
	metrics_cache_bytes(cache_bytes, cache_budget);
	cache_flight_done(c);
}
