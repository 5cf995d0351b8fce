/*
 * facts: what a cart needs to know of a product (listed, stock, prices,
 * title, vendor), per worker, so that cart reads and writes touch Redis
 * only.  Entries live in the catalog cache's generation (app/cache.c): a
 * catalog write anywhere empties them, an order's stock move marks their
 * stock stale, and a lost subscription empties them when it is lost and
 * again when it is back (carts and checkouts need Redis anyway).
 * FACTS_TTL_MS bounds them besides, for a change made behind the server's
 * back, in SQL.  The checkout takes
 * stock under a row lock, so a cart can never oversell.  A checkout prices
 * from the same entries, stock aside (facts_terms): place_orders() checks
 * what the price and fees rest on again under the lock, so a stale entry
 * costs a quote from the database, never a wrong price.
 */

#include <string.h>
#include <time.h>

#include "api.h"
#include "cache.h"
#include "json.h"
#include "cart.h"
#include "facts.h"

#define FACTS_SLOTS  8192 /* power of two */
#define FACTS_TTL_MS 60000

static struct product_fact facts[FACTS_SLOTS];

/* Where product id's facts live, if anywhere. */
static struct product_fact *
facts_slot(int64_t id)
{
	return (&facts[(uint64_t)id & (FACTS_SLOTS - 1)]);
}

static uint64_t
facts_now(void)
{
	return ((uint64_t)time(NULL) * 1000);
}

/*
 * The fresh terms of product id, or NULL; its stock is as last read, and
 * may have moved since (facts_get() is for when that matters).
 */
const struct product_fact *
facts_terms(int64_t id)
{
	struct product_fact *f;

	if (id <= 0)
		return (NULL);
	f = facts_slot(id);
	if (f->id != id || f->gen != cache_generation() ||
	    f->expires <= facts_now())
		return (NULL);
	return (f);
}

/* The fresh facts of product id, stock included, or NULL. */
const struct product_fact *
facts_get(int64_t id)
{
	const struct product_fact *f;

	if ((f = facts_terms(id)) == NULL || f->stock_stale)
		return (NULL);
	return (f);
}

static void
facts_copy(char *dst, size_t len, json_t *v)
{
	(void)snprintf(
	    dst, len, "%s", json_is_string(v) ? json_string_value(v) : "");
}

/*
 * Stores the array that cart_facts() returns, as read from mark: in the
 * caches' generation then (entries of an older one are never used); a
 * product whose stock moved since keeps its terms, its stock to be read
 * again.
 */
void
facts_put(json_t *arr, const struct cache_mark *mark)
{
	struct product_fact *f;
	json_t		    *o, *tiers, *t;
	size_t		     i, j;
	int64_t		     id;

	json_array_foreach(arr, i, o)
	{
		id = json_integer_value(json_object_get(o, "product_id"));
		if (id <= 0)
			continue;
		f = facts_slot(id);
		memset(f, 0, sizeof(*f));
		f->id = id;
		f->listed = json_is_true(json_object_get(o, "listed"));
		f->service = json_is_string(json_object_get(o, "kind")) &&
		    strcmp(json_string_value(json_object_get(o, "kind")),
			"service") == 0;
		f->stock = json_integer_value(json_object_get(o, "stock"));
		f->price_fen =
		    json_integer_value(json_object_get(o, "list_price_fen"));
		f->vendor_id =
		    json_integer_value(json_object_get(o, "vendor_id"));
		facts_copy(
		    f->title, sizeof(f->title), json_object_get(o, "title"));
		/* Always JSON: a title the checks let in always fits. */
		if (!json_encode_str(
			f->title_json, sizeof(f->title_json), f->title))
			(void)snprintf(
			    f->title_json, sizeof(f->title_json), "\"\"");
		facts_copy(f->vendor_name, sizeof(f->vendor_name),
		    json_object_get(o, "vendor_name"));
		facts_copy(f->vendor_kind, sizeof(f->vendor_kind),
		    json_object_get(o, "vendor_kind"));
		facts_copy(
		    f->region, sizeof(f->region), json_object_get(o, "region"));
		facts_copy(f->category, sizeof(f->category),
		    json_object_get(o, "category"));
		f->qualified = json_is_true(json_object_get(o, "qualified"));
		f->poverty_county =
		    json_is_true(json_object_get(o, "poverty_county"));
		tiers = json_object_get(o, "tiers");
		json_array_foreach(tiers, j, t)
		{
			if (f->ntiers == FACTS_MAX_TIERS)
				break;
			f->tier_qty[f->ntiers] =
			    json_integer_value(json_object_get(t, "min_qty"));
			f->tier_price[f->ntiers] = json_integer_value(
			    json_object_get(t, "unit_price_fen"));
			f->ntiers++;
		}
		f->gen = mark->gen;
		f->stock_stale = cache_moved(id, mark);
		f->expires = facts_now() + FACTS_TTL_MS;
	}
}

int64_t
facts_unit_price(const struct product_fact *f, int64_t qty)
{
	return (cart_tier_price(
	    f->price_fen, f->tier_qty, f->tier_price, f->ntiers, qty));
}

void
facts_drop(int64_t id)
{
	struct product_fact *f = facts_slot(id);

	if (f->id == id)
		f->id = 0;
}

/* The stock of product id moved: carts read it afresh, prices stand. */
void
facts_stock_moved(int64_t id)
{
	struct product_fact *f = facts_slot(id);

	if (f->id == id)
		f->stock_stale = 1;
}
