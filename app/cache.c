/*
 * cache: rendered answers of the public catalog routes, per worker.
 *
 * What: the exact body of a 200 answer, keyed by route and full query.
 * Invalidation: any write that can change a catalog answer calls
 * cache_invalidate() after its commit, which empties this worker's cache and
 * publishes on Redis so every other worker and node empties its own.  The
 * cache answers only while this worker's subscription is live; a lost link
 * empties it.  An order or a cancel moves stock: it publishes
 * "product:<id>", which drops that product's detail and cart facts only.
 * Sales counts (in lists) do not invalidate and may lag by CACHE_TTL_MS.
 * Entries expire after CACHE_TTL_MS and never outlive the Shanghai day they
 * were made in, since qualification and certification validity are dates.
 *
 * Misses are single-flight: while one request fetches a key, the others
 * asking for it sleep and are woken when it is stored or abandoned; an
 * entry that merely aged is served to them meanwhile.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bangfu.h"
#include "facts.h"

#define CACHE_SLOTS	  4096 /* power of two */
#define CACHE_PROBES	  8
#define CACHE_STALE_MS	  5000 /* serve-while-refreshing window */
#define CACHE_TTL_MS	  10000
#define CACHE_MAX_BODY	  (512 * 1024)
#define SHANGHAI_OFFSET_S (8 * 3600)

#define CACHE_FLIGHTS 64

struct cache_flight {
	int		      used;
	char		      key[512];
	struct http_request **waiters;
	size_t		      nwaiters;
	size_t		      cap;
};

struct cache_entry {
	char	*key;
	char	*body;
	size_t	 len;
	int	 status;
	uint64_t gen;
	uint64_t expires;
};

static uint64_t cache_hash(const char *);
static uint64_t cache_expiry(uint64_t);

/*
 * Stock moves heard, in order: moved_at[] holds, per product slot, the
 * number of the last one.  An answer or facts fetched while a move of
 * their product was heard may predate it: they are not kept as fresh.
 */
#define MOVE_SLOTS 8192 /* power of two */

static struct cache_entry  cache_slots[CACHE_SLOTS];
static struct cache_flight cache_flights[CACHE_FLIGHTS];
static uint64_t		   cache_gen = 1;
static uint64_t		   move_seq;
static uint64_t		   moved_at[MOVE_SLOTS];

void
cache_init(void)
{
	memset(cache_slots, 0, sizeof(cache_slots));
	cache_gen = 1;
}

/* Lazy: entries of an older generation are dead and reused in place. */
void
cache_flush(void)
{
	cache_gen++;
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
	char		    key[64];
	uint64_t	    h;
	int		    i;

	moved_at[(uint64_t)id & (MOVE_SLOTS - 1)] = ++move_seq;
	facts_stock_moved(id);
	(void)snprintf(
	    key, sizeof(key), "%s/products/%lld?", API_PREFIX, (long long)id);
	h = cache_hash(key);
	for (i = 0; i < CACHE_PROBES; i++) {
		e = &cache_slots[(h + (uint64_t)i) & (CACHE_SLOTS - 1)];
		if (e->key != NULL && strcmp(e->key, key) == 0)
			e->gen = 0;
	}
}

/* Tells every worker and node that these products' stock moved. */
void
cache_stock_moved(const int64_t *ids, size_t n)
{
	char   msg[40];
	size_t i;

	for (i = 0; i < n; i++) {
		cache_drop_product(ids[i]);
		(void)snprintf(
		    msg, sizeof(msg), "product:%lld", (long long)ids[i]);
		redis_publish(NULL, msg);
	}
}

/* Where the caches stand now, for a fetch about to begin. */
struct cache_mark
cache_mark(void)
{
	struct cache_mark m = { cache_gen, move_seq };

	return (m);
}

/* Whether a stock move of product id was heard after the mark. */
int
cache_moved(int64_t id, const struct cache_mark *m)
{
	return (moved_at[(uint64_t)id & (MOVE_SLOTS - 1)] > m->moves);
}

/* The generation entries of this worker's caches must carry to be live. */
uint64_t
cache_generation(void)
{
	return (cache_gen);
}

void
cache_invalidate(void)
{
	cache_flush();
	redis_publish(NULL, "catalog");
}

static uint64_t
cache_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (h);
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

static void
cache_key(struct call *c)
{
	(void)snprintf(c->cache_key, sizeof(c->cache_key), "%s?%s",
	    c->req->path, c->req->query_string ? c->req->query_string : "");
}

static struct cache_flight *
cache_flight_find(const char *key)
{
	int i;

	for (i = 0; i < CACHE_FLIGHTS; i++) {
		if (cache_flights[i].used &&
		    strcmp(cache_flights[i].key, key) == 0)
			return (&cache_flights[i]);
	}
	return (NULL);
}

/*
 * CACHE_HIT when it answered the request, CACHE_WAIT when the request now
 * sleeps behind another fetching the same key, CACHE_MISS when the caller
 * is to fetch (and then store, or finish without storing).
 */
int
cache_lookup(struct call *c)
{
	struct cache_entry  *e, *stale;
	struct cache_flight *f;
	uint64_t	     h, now;
	int		     i;

	/* What a fetch after a miss must still match to be stored. */
	c->cache_at = cache_mark();
	if (!redis_subscribed())
		return (CACHE_MISS);
	cache_key(c);
	h = cache_hash(c->cache_key);
	now = (uint64_t)time(NULL) * 1000;
	stale = NULL;
	for (i = 0; i < CACHE_PROBES; i++) {
		e = &cache_slots[(h + (uint64_t)i) & (CACHE_SLOTS - 1)];
		if (e->key == NULL)
			break;
		if (e->gen != cache_gen || strcmp(e->key, c->cache_key) != 0)
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
	f = cache_flight_find(c->cache_key);
	if (f != NULL && stale != NULL) {
		metrics_count("cache_hits");
		json_reply_raw(c, stale->status, stale->body, stale->len);
		return (CACHE_HIT);
	}
	if (f != NULL) {
		if (f->nwaiters == f->cap) {
			f->cap = f->cap ? f->cap * 2 : 16;
			f->waiters = kore_realloc(
			    f->waiters, f->cap * sizeof(*f->waiters));
		}
		f->waiters[f->nwaiters++] = c->req;
		c->flight = (int)(f - cache_flights) + 1;
		c->flight_owner = 0;
		http_request_sleep(c->req);
		return (CACHE_WAIT);
	}
	for (i = 0; i < CACHE_FLIGHTS; i++) {
		if (!cache_flights[i].used)
			break;
	}
	if (i < CACHE_FLIGHTS) {
		f = &cache_flights[i];
		f->used = 1;
		f->nwaiters = 0;
		(void)snprintf(f->key, sizeof(f->key), "%s", c->cache_key);
		c->flight = i + 1;
		c->flight_owner = 1;
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
	struct cache_flight *f;
	size_t		     i;

	if (c->flight == 0)
		return;
	f = &cache_flights[c->flight - 1];
	if (c->flight_owner) {
		for (i = 0; i < f->nwaiters; i++)
			http_request_wakeup(f->waiters[i]);
		f->nwaiters = 0;
		f->used = 0;
	} else {
		for (i = 0; i < f->nwaiters; i++) {
			if (f->waiters[i] == c->req) {
				f->waiters[i] = f->waiters[--f->nwaiters];
				break;
			}
		}
	}
	c->flight = 0;
	c->flight_owner = 0;
}

/* A product's detail (it shows stock) whose stock moved since the lookup. */
static int
cache_detail_moved(struct call *c)
{
	static const char prefix[] = API_PREFIX "/products/";
	const char	 *p = c->req->path;
	char		 *end;
	long long	  id;

	if (strncmp(p, prefix, sizeof(prefix) - 1) != 0)
		return (0);
	id = strtoll(p + sizeof(prefix) - 1, &end, 10);
	return (*end == '\0' && id > 0 && cache_moved(id, &c->cache_at));
}

void
cache_store(struct call *c, int status, const char *body, size_t len)
{
	struct cache_entry *e, *victim;
	uint64_t	    h, now;
	int		    i;

	/*
	 * Not kept when the caches were emptied, or this product's stock
	 * moved, while it was fetched: it may predate that write.
	 */
	if (!redis_subscribed() || len > CACHE_MAX_BODY ||
	    c->cache_at.gen != cache_gen || cache_detail_moved(c)) {
		cache_flight_done(c);
		return;
	}
	if (c->cache_key[0] == '\0')
		cache_key(c);
	h = cache_hash(c->cache_key);
	now = (uint64_t)time(NULL) * 1000;
	victim = NULL;
	for (i = 0; i < CACHE_PROBES; i++) {
		e = &cache_slots[(h + (uint64_t)i) & (CACHE_SLOTS - 1)];
		if (e->key == NULL || e->gen != cache_gen ||
		    e->expires <= now || strcmp(e->key, c->cache_key) == 0) {
			victim = e;
			break;
		}
	}
	/* All probes live: the home slot gives way. */
	if (victim == NULL)
		victim = &cache_slots[h & (CACHE_SLOTS - 1)];

	kore_free(victim->key);
	kore_free(victim->body);
	victim->key = kore_strdup(c->cache_key);
	victim->body = kore_malloc(len + 1);
	memcpy(victim->body, body, len);
	victim->body[len] = '\0';
	victim->len = len;
	victim->status = status;
	victim->gen = cache_gen;
	victim->expires = cache_expiry(now);
	cache_flight_done(c);
}
