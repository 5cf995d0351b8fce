/*
 * routes: the one list of route tables, read by the dispatcher (api.c,
 * the tables under /api/v1) and by metrics (main.c, every table).
 */

#include "bangfu.h"

const struct route_table route_tables[] = {
	{ routes_auth, 1 },
	{ routes_catalog, 1 },
	{ routes_cart, 1 },
	{ routes_orders, 1 },
	{ routes_vendor, 1 },
	{ routes_admin, 1 },
	{ routes_ledger, 1 },
	{ routes_orgs, 1 },
	{ routes_bulk, 1 },
	{ routes_services, 1 },
	{ routes_docs, 1 },
	{ routes_sandbox, 0 }, /* outside /api/v1 */
	{ NULL, 0 },
};
