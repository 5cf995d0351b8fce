/*
 * routes: the one list of route tables, read by the dispatcher (api.c,
 * the tables under /api/v1) and by metrics (main.c, every table).
 */

#include "api.h"
#include "idem.h"
#include "orders.h"
#include "routes.h"

const struct route_table route_tables[] = {
	{ routes_auth, 1, NULL },
	{ routes_catalog, 1, NULL },
	{ routes_cart, 1, NULL },
	{ routes_checkout, 1, checkout_details },
	{ routes_orders, 1, NULL },
	{ routes_payments, 1, payment_details },
	{ routes_vendor, 1, vendor_details },
	{ routes_vendor_products, 1, vendor_details },
	{ routes_admin_fees, 1, NULL },
	{ routes_admin_vendors, 1, NULL },
	{ routes_admin_merch, 1, admin_merch_details },
	{ routes_ledger, 1, NULL },
	{ routes_orgs, 1, NULL },
	{ routes_org_years, 1, NULL },
	{ routes_bulk, 1, NULL },
	{ routes_bulk_csv, 1, NULL },
	{ routes_bulk_place, 1, NULL },
	{ routes_services, 1, NULL },
	{ routes_bookings, 1, NULL },
	{ routes_docs, 1, NULL },
	{ routes_sandbox, 0, payment_details }, /* outside /api/v1 */
	{ NULL, 0, NULL },
};

/*
 * The refusals that routes of many tables raise, looked up after the
 * route's own: a keyed request's (app/idem.c), a status's (app/orders.c).
 */
const struct code_detail *const shared_details[] = { idem_details, fsm_details,
	NULL };

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
