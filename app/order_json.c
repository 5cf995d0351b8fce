/*
 * order_json: an order as the contract shows it, written in C where the
 * database's order_json() (003_orders.sql) would cost a statement: the
 * 201 of a checkout without an Idempotency-Key.
 */

#include <stdio.h>
#include <stdlib.h>

#include "api.h"
#include "order_json.h"

/*
 * The 201 body, as order_json() (003_orders.sql) would write it, from the
 * priced order and what place_orders() returned: the order's identity and
 * its parts' ids and vendors.  Free with free().
 */
char *
order_json_placed(json_t *order, const char *placed)
{
	json_t	    *pl, *parts, *p, *items, *l, *out, *title;
	char	     pidbuf[24];
	json_error_t err;
	json_int_t   vid, sub, fee, waived, rule;
	const char  *vname;
	size_t	     i, j;
	char	    *s;

	if ((pl = json_loads(placed, 0, &err)) == NULL)
		return (NULL);
	parts = json_array();
	json_array_foreach(json_object_get(pl, "parts"), i, p)
	{
		vid = json_integer_value(json_object_get(p, "vendor_id"));
		vname = json_string_value(json_object_get(p, "vendor_name"));
		items = json_array();
		sub = fee = waived = 0;
		json_array_foreach(json_object_get(order, "lines"), j, l)
		{
			if (json_integer_value(
				json_object_get(l, "vendor_id")) != vid)
				continue;
			sub += json_integer_value(
			    json_object_get(l, "line_total_fen"));
			fee +=
			    json_integer_value(json_object_get(l, "fee_fen"));
			waived += json_integer_value(
			    json_object_get(l, "fee_waived_fen"));
			rule = json_integer_value(
			    json_object_get(l, "fee_rule_id"));
			/* The title as the database has it now. */
			(void)snprintf(pidbuf, sizeof(pidbuf), "%lld",
			    (long long)json_integer_value(
				json_object_get(l, "product_id")));
			if ((title = json_object_get(
				 json_object_get(pl, "titles"), pidbuf)) ==
			    NULL)
				title = json_object_get(l, "title");
			json_array_append_new(items,
			    json_pack("{s:O, s:O?, s:O, s:O, s:O, s:O, s:O, "
				      "s:o, s:n}",
				"product_id", json_object_get(l, "product_id"),
				"title", title, "qty",
				json_object_get(l, "qty"), "unit_price_fen",
				json_object_get(l, "unit_price_fen"),
				"line_total_fen",
				json_object_get(l, "line_total_fen"), "fee_fen",
				json_object_get(l, "fee_fen"), "fee_waived_fen",
				json_object_get(l, "fee_waived_fen"),
				"fee_rule_id",
				rule ? json_integer(rule) : json_null(),
				"recipient_id"));
		}
		json_array_append_new(parts,
		    json_pack("{s:O, s:I, s:s?, s:s, s:I, s:I, s:I, s:n, s:[], "
			      "s:o}",
			"id", json_object_get(p, "id"), "vendor_id", vid,
			"vendor_name", vname, "status", "pending",
			"subtotal_fen", sub, "fee_fen", fee, "fee_waived_fen",
			waived, "shipped_at", "shipments", "items", items));
	}
	out = json_pack("{s:O, s:O, s:s, s:O, s:O, s:O, s:O, s:n, s:O, s:n, "
			"s:n, s:o}",
	    "id", json_object_get(pl, "id"), "order_no",
	    json_object_get(pl, "order_no"), "status", "pending_payment",
	    "total_fen", json_object_get(order, "total_fen"), "address",
	    json_object_get(order, "address"), "note",
	    json_object_get(order, "note"), "pay_before",
	    json_object_get(pl, "pay_before"), "paid_at", "created_at",
	    json_object_get(pl, "created_at"), "bulk_order_id", "booking_id",
	    "parts", parts);
	json_decref(pl);
	if (out == NULL)
		return (NULL);
	s = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return (s);
}
