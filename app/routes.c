/*
 * routes: the one list of route tables, read by the dispatcher (api.c,
 * the tables under /api/v1) and by metrics (main.c, every table).
 */

#include "bangfu.h"

const struct route_table route_tables[] = {
	{ routes_auth, 1, NULL },
	{ routes_catalog, 1, NULL },
	{ routes_cart, 1, NULL },
	{ routes_orders, 1, NULL },
	{ routes_vendor, 1, NULL },
	{ routes_admin_fees, 1, NULL },
	{ routes_admin_vendors, 1, NULL },
	{ routes_admin_merch, 1, admin_merch_details },
	{ routes_ledger, 1, NULL },
	{ routes_orgs, 1, NULL },
	{ routes_org_years, 1, NULL },
	{ routes_bulk, 1, NULL },
	{ routes_services, 1, NULL },
	{ routes_bookings, 1, NULL },
	{ routes_docs, 1, NULL },
	{ routes_sandbox, 0, NULL }, /* outside /api/v1 */
	{ NULL, 0, NULL },
};

/* The refusals of the table that holds r (NULL if it has none). */
const struct code_detail *
route_details(const struct api_route *r)
{
	const struct route_table *t;
	const struct api_route	 *e;

	for (t = route_tables; r != NULL && t->routes != NULL; t++) {
		for (e = t->routes; e->pattern != NULL; e++) {
			if (e == r)
				return (t->details);
		}
	}
	return (NULL);
}
