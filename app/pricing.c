/*
 * pricing: turns a quote (catalog facts, fee rules, cap usage; see
 * checkout_quote() in 003_orders.sql) into the priced order that
 * place_order() checks and writes.  The rules themselves are modules/fees.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "cache.h"
#include "db.h"
#include "problem.h"
#include "facts.h"
#include "fees.h"
#include "money.h"
#include "orders.h"
#include "validate.h"

#define MAX_CAPS     256
#define RULES_TTL_MS 60000

/* fee_rules_live(), this worker's copy: in the catalog's generation. */
static json_t  *rules_live;
static uint64_t rules_gen;
static uint64_t rules_expires;

static json_t *
pricing_order(json_t *, json_t *, const struct fee_rule *, int, json_t **);

struct cap_use {
	int64_t rule_id;
	int64_t vendor_id;
	int64_t used; /* before this order */
	int64_t taken; /* by this order */
	int64_t cap;
};

static void
pricing_copy(char *dst, size_t len, json_t *v)
{
	(void)snprintf(
	    dst, len, "%s", json_is_string(v) ? json_string_value(v) : "");
}

static int
pricing_flag(json_t *v)
{
	if (json_is_true(v))
		return (1);
	if (json_is_false(v))
		return (0);
	return (FEES_ANY);
}

/* The rules of a quote, all of them, for modules/fees.  Free with free(). */
static struct fee_rule *
pricing_rules(json_t *arr, int *count)
{
	struct fee_rule *rules;
	json_t		*r, *m;
	size_t		 i;
	int		 n;

	rules = calloc(json_array_size(arr) + 1, sizeof(*rules));
	if (rules == NULL)
		fatal("pricing: out of memory");
	n = 0;
	json_array_foreach(arr, i, r)
	{
		m = json_object_get(r, "match");
		rules[n].id = json_integer_value(json_object_get(r, "id"));
		rules[n].commission_bps = (int)json_integer_value(
		    json_object_get(r, "commission_bps"));
		rules[n].waiver_bps =
		    (int)json_integer_value(json_object_get(r, "waiver_bps"));
		rules[n].priority =
		    (int)json_integer_value(json_object_get(r, "priority"));
		rules[n].match_qualified =
		    pricing_flag(json_object_get(m, "qualified"));
		rules[n].match_poverty_county =
		    pricing_flag(json_object_get(m, "poverty_county"));
		pricing_copy(rules[n].match_vendor_kind,
		    sizeof(rules[n].match_vendor_kind),
		    json_object_get(m, "vendor_kind"));
		pricing_copy(rules[n].match_region,
		    sizeof(rules[n].match_region),
		    json_object_get(m, "region"));
		pricing_copy(rules[n].match_category,
		    sizeof(rules[n].match_category),
		    json_object_get(m, "category"));
		rules[n].cap_fen_per_month =
		    json_is_integer(json_object_get(r, "cap_fen_per_month"))
		    ? json_integer_value(
			  json_object_get(r, "cap_fen_per_month"))
		    : FEES_NO_CAP;
		rules[n].valid_from =
		    json_integer_value(json_object_get(r, "valid_from"));
		rules[n].valid_to =
		    json_integer_value(json_object_get(r, "valid_to"));
		n++;
	}
	*count = n;
	return (rules);
}

static struct cap_use *
pricing_cap(struct cap_use *caps, int *ncaps, json_t *usage, int64_t rule,
    int64_t vendor, int64_t cap)
{
	json_t *u;
	size_t	i;
	int	k;

	for (k = 0; k < *ncaps; k++) {
		if (caps[k].rule_id == rule && caps[k].vendor_id == vendor)
			return (&caps[k]);
	}
	if (*ncaps == MAX_CAPS)
		return (NULL);
	k = (*ncaps)++;
	memset(&caps[k], 0, sizeof(caps[k]));
	caps[k].rule_id = rule;
	caps[k].vendor_id = vendor;
	caps[k].cap = cap;
	json_array_foreach(usage, i, u)
	{
		if (json_integer_value(json_object_get(u, "rule_id")) == rule &&
		    json_integer_value(json_object_get(u, "vendor_id")) ==
			vendor)
			caps[k].used = json_integer_value(
			    json_object_get(u, "waived_fen"));
	}
	return (&caps[k]);
}

static uint64_t
pricing_now_ms(void)
{
	return ((uint64_t)time(NULL) * 1000);
}

/* The cached fee rules, or NULL when they must be read again. */
json_t *
pricing_rules_cached(void)
{
	if (rules_live == NULL || rules_gen != cache_generation() ||
	    rules_expires <= pricing_now_ms())
		return (NULL);
	return (rules_live);
}

/*
 * Keeps the array fee_rules_live() returned (taking the reference), in the
 * caches' generation gen when it was asked.
 */
void
pricing_rules_put(json_t *rules, uint64_t gen)
{
	if (rules_live != NULL)
		json_decref(rules_live);
	rules_live = rules;
	rules_gen = gen;
	rules_expires = pricing_now_ms() + RULES_TTL_MS;
}

/*
 * A quote in checkout_quote()'s shape, built from this worker's caches for
 * the cart items [{product_id, qty}], or NULL when a product's terms or the
 * rules are not cached.  Lines are quoted listed and in stock: the stock is
 * place_order()'s to judge, under the lock.  No cap usage: see
 * pricing_capped().
 */
json_t *
pricing_cached_quote(json_t *items)
{
	const struct product_fact *f;
	json_t			  *rules, *lines, *it, *l;
	size_t			   i;
	int64_t			   qty;

	if ((rules = pricing_rules_cached()) == NULL)
		return (NULL);
	lines = json_array();
	json_array_foreach(items, i, it)
	{
		f = facts_terms(
		    json_integer_value(json_object_get(it, "product_id")));
		if (f == NULL) {
			json_decref(lines);
			return (NULL);
		}
		qty = json_integer_value(json_object_get(it, "qty"));
		l = json_pack("{s:I, s:I, s:s, s:b, s:I, s:I, s:I, s:I, s:s, "
			      "s:b, s:b, s:s, s:s}",
		    "product_id", (json_int_t)f->id, "qty", (json_int_t)qty,
		    "title", f->title, "listed", 1, "stock", (json_int_t)qty,
		    "list_price_fen", (json_int_t)f->price_fen,
		    "unit_price_fen", (json_int_t)facts_unit_price(f, qty),
		    "vendor_id", (json_int_t)f->vendor_id, "vendor_kind",
		    f->vendor_kind, "qualified", f->qualified, "poverty_county",
		    f->poverty_county, "region", f->region, "category",
		    f->category);
		/* Never a line dropped: what cannot be said goes the long way. */
		if (l == NULL) {
			json_decref(lines);
			return (NULL);
		}
		json_array_append_new(lines, l);
	}
	return (json_pack("{s:I, s:o, s:O, s:[]}", "now",
	    (json_int_t)time(NULL), "lines", lines, "rules", rules, "usage"));
}

static void
pricing_line(json_t *l, int64_t amount, struct fee_line *fl)
{
	memset(fl, 0, sizeof(*fl));
	fl->vendor_id = json_integer_value(json_object_get(l, "vendor_id"));
	fl->qualified = json_is_true(json_object_get(l, "qualified"));
	fl->poverty_county = json_is_true(json_object_get(l, "poverty_county"));
	fl->vendor_kind = json_string_value(json_object_get(l, "vendor_kind"));
	fl->region = json_string_value(json_object_get(l, "region"));
	fl->category = json_string_value(json_object_get(l, "category"));
	fl->amount_fen = amount;
}

/*
 * Whether some line of the quote falls under a capped waiver: then the
 * month's use of those caps is needed, and *rule_ids and *vendor_ids are
 * the pairs as PostgreSQL array literals (free with free()).
 */
int
pricing_capped(json_t *quote, char **rule_ids, char **vendor_ids)
{
	struct fee_rule	      *rules;
	struct fee_line	       fl;
	const struct fee_rule *r;
	json_t		      *l, *ra, *va;
	size_t		       i, n;
	int64_t		       now;
	int		       nrules;

	now = json_integer_value(json_object_get(quote, "now"));
	rules = pricing_rules(json_object_get(quote, "rules"), &nrules);
	ra = json_array();
	va = json_array();
	json_array_foreach(json_object_get(quote, "lines"), i, l)
	{
		pricing_line(l, 0, &fl);
		r = fees_select(rules, nrules, &fl, now);
		if (r == NULL || r->cap_fen_per_month == FEES_NO_CAP)
			continue;
		json_array_append_new(ra, json_integer(r->id));
		json_array_append_new(va, json_integer(fl.vendor_id));
	}
	free(rules);
	n = json_array_size(ra);
	*rule_ids = n ? db_array(ra) : NULL;
	*vendor_ids = n ? db_array(va) : NULL;
	json_decref(ra);
	json_decref(va);
	return (n > 0);
}

/*
 * items is the cart, [{product_id, qty}].  Returns the priced order, or
 * NULL with *short_lines set when some line is unlisted or short of stock
 * (the contract's errors list), or NULL alone on bad amounts.
 */
json_t *
orders_price(json_t *quote, json_t *items, json_t **short_lines)
{
	struct fee_rule *rules;
	json_t		*out;
	int		 nrules;

	rules = pricing_rules(json_object_get(quote, "rules"), &nrules);
	out = pricing_order(quote, items, rules, nrules, short_lines);
	free(rules);
	return (out);
}

static json_t *
pricing_order(json_t *quote, json_t *items, const struct fee_rule *rules,
    int nrules, json_t **short_lines)
{
	struct cap_use	  caps[MAX_CAPS], *cu;
	struct fee_line	  fl;
	struct fee_result fr;
	json_t		 *lines, *l, *it, *out, *outl, *capj, *usage, *pl;
	size_t		  i, j;
	int64_t		  now, qty, stock, total, amount, pid;
	int		  ncaps, found;

	*short_lines = NULL;
	lines = json_object_get(quote, "lines");
	usage = json_object_get(quote, "usage");
	now = json_integer_value(json_object_get(quote, "now"));
	ncaps = 0;
	total = 0;

	/* Every cart line must be on sale in the quantity asked. */
	json_array_foreach(items, i, it)
	{
		pid = json_integer_value(json_object_get(it, "product_id"));
		qty = json_integer_value(json_object_get(it, "qty"));
		found = 0;
		stock = 0;
		json_array_foreach(lines, j, l)
		{
			if (json_integer_value(
				json_object_get(l, "product_id")) != pid)
				continue;
			found = json_is_true(json_object_get(l, "listed"));
			stock = json_integer_value(json_object_get(l, "stock"));
		}
		if (!found || qty > stock) {
			problem_field_add(
			    short_lines, "items", "not enough stock");
			pl = json_pack("{s:I, s:I, s:I}", "product_id",
			    (json_int_t)pid, "requested", (json_int_t)qty,
			    "available", (json_int_t)(found ? stock : 0));
			(void)json_object_update(
			    json_array_get(*short_lines,
				json_array_size(*short_lines) - 1),
			    pl);
			json_decref(pl);
		}
	}
	if (*short_lines != NULL)
		return (NULL);

	outl = json_array();
	json_array_foreach(lines, i, l)
	{
		qty = json_integer_value(json_object_get(l, "qty"));
		if (!money_mul(json_integer_value(
				   json_object_get(l, "unit_price_fen")),
			qty, &amount) ||
		    !money_add(total, amount, &total)) {
			json_decref(outl);
			return (NULL);
		}
		pricing_line(l, amount, &fl);

		cu = NULL;
		{
			const struct fee_rule *r =
			    fees_select(rules, nrules, &fl, now);
			if (r != NULL && r->cap_fen_per_month != FEES_NO_CAP)
				cu = pricing_cap(caps, &ncaps, usage, r->id,
				    fl.vendor_id, r->cap_fen_per_month);
		}
		if (!fees_apply(rules, nrules, &fl, now,
			cu ? cu->cap - cu->used - cu->taken : 0, &fr)) {
			json_decref(outl);
			return (NULL);
		}
		if (cu != NULL)
			cu->taken += fr.waived_fen;

		pl = json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O, s:I, s:O, "
			       "s:O, s:O, s:I, s:I, s:I, s:I, s:i, s:i}",
		    "title", json_object_get(l, "title"), "vendor_kind",
		    json_object_get(l, "vendor_kind"), "poverty_county",
		    json_object_get(l, "poverty_county"), "region",
		    json_object_get(l, "region"), "category",
		    json_object_get(l, "category"), "product_id",
		    json_object_get(l, "product_id"), "qty", (json_int_t)qty,
		    "unit_price_fen", json_object_get(l, "unit_price_fen"),
		    "vendor_id", json_object_get(l, "vendor_id"), "qualified",
		    json_object_get(l, "qualified"), "line_total_fen",
		    (json_int_t)amount, "fee_fen", (json_int_t)fr.fee_fen,
		    "fee_waived_fen", (json_int_t)fr.waived_fen, "fee_rule_id",
		    (json_int_t)fr.rule_id, "commission_bps", fr.commission_bps,
		    "waiver_bps", fr.waiver_bps);
		if (pl == NULL) {
			json_decref(outl);
			return (NULL);
		}
		json_array_append_new(outl, pl);
	}

	capj = json_array();
	for (i = 0; i < (size_t)ncaps; i++) {
		if (caps[i].taken == 0)
			continue;
		json_array_append_new(capj,
		    json_pack("{s:I, s:I, s:I, s:I}", "rule_id",
			(json_int_t)caps[i].rule_id, "vendor_id",
			(json_int_t)caps[i].vendor_id, "waived_fen",
			(json_int_t)caps[i].taken, "cap_fen",
			(json_int_t)caps[i].cap));
	}
	out = json_pack("{s:o, s:o, s:I}", "lines", outl, "caps", capj,
	    "total_fen", (json_int_t)total);
	return (out);
}

/* A phone number: validate_phone(). */
int
orders_phone_valid(const char *s)
{
	return (validate_phone(s));
}
