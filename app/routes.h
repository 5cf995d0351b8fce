/*
 * routes: the resource files as the server sees them.  Their route tables,
 * listed once in app/routes.c for the dispatcher (app/api.c) and metrics
 * (app/main.c), the words of their refusals, and the hooks the server
 * calls at start: worker setup, timers and the pages outside /api/v1.
 */

#ifndef ROUTES_H
#define ROUTES_H

#include <sys/types.h>

struct api_route;
struct http_request;

/* The routes, one table per resource file. */
extern struct api_route routes_auth[];
extern struct api_route routes_catalog[];
extern struct api_route routes_cart[];
extern struct api_route routes_orders[];
extern struct api_route routes_vendor[];
extern struct api_route routes_vendor_products[];
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
extern struct api_route routes_sandbox[]; /* outside /api/v1 */
/* The order side: checkout, payments, the bulk orders' CSV import and
 * their way on. */
extern struct api_route routes_checkout[];
extern struct api_route routes_payments[];
extern struct api_route routes_bulk_csv[];
extern struct api_route routes_bulk_place[];

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
/* The tables' own refusals, and those many tables raise (routes.c). */
extern const struct code_detail	       checkout_details[];
extern const struct code_detail	       payment_details[];
extern const struct code_detail	       vendor_details[];
extern const struct code_detail	       admin_merch_details[];
extern const struct code_detail *const shared_details[];

/* Hooks of the resource files, called by app/main.c. */
void docs_init(void); /* http_docs.c */
void catalog_init(void); /* http_catalog.c: in each worker, after cache_init */
void web_static_init(void); /* http_static.c: before the workers fork */
void orders_expire_tick(void *, u_int64_t); /* order_expiry.c: the timer */
/* payment.c: the sandbox's cashier page, outside /api/v1. */
int sandbox_dispatch(struct http_request *);

#endif
