/*
 * invalidate: the catalog's invalidation, in one place.  A write empties
 * this worker's caches and tells every other worker and node over Redis;
 * what is heard there (modules/inval.c reads the messages) empties theirs.
 */

#include "cache.h"
#include "invalidate.h"
#include "redis.h"
#include "facts.h"
#include "inval.h"

#define INVALIDATE_CHANNEL "bangfu:invalidate"

static void invalidate_heard(int, const char *);

/* In each worker, before redis_init() connects. */
void
invalidate_init(void)
{
	redis_subscribe(INVALIDATE_CHANNEL, invalidate_heard);
}

/* A product's stock moved: its detail and its cart facts go. */
static void
invalidate_product(int64_t id)
{
	cache_drop_product(id);
	facts_stock_moved(id);
}

/*
 * The subscription came up, or went down (messages may have been missed
 * either way: everything goes), or a message came.
 */
static void
invalidate_heard(int event, const char *msg)
{
	int64_t id;

	if (event == REDIS_SUB_MESSAGE &&
	    inval_msg_parse(msg, &id) == INVAL_PRODUCT)
		invalidate_product(id);
	else
		cache_flush();
}

/* After a catalog write's commit: every cache, everywhere. */
void
invalidate_catalog(void)
{
	cache_flush();
	redis_publish(INVALIDATE_CHANNEL, INVAL_MSG_CATALOG);
}

/* After an order or a cancel: these products' stock moved, everywhere. */
void
invalidate_stock(const int64_t *ids, size_t n)
{
	char   msg[INVAL_MSG_MAX];
	size_t i;

	for (i = 0; i < n; i++) {
		invalidate_product(ids[i]);
		inval_msg_product(msg, ids[i]);
		redis_publish(INVALIDATE_CHANNEL, msg);
	}
}
