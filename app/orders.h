/*
 * orders.h: what checkout, bulk orders and the vendor routes share:
 * pricing with fees, the state machine's maps, idempotency keys, and the
 * payment providers.
 */

#ifndef ORDERS_H
#define ORDERS_H

#include "api.h"
#include "routes.h"

struct payment_provider {
	const char *name;
	/* Whether the provider is switched on in this server. */
	int (*enabled)(void);
	/* Whether sig is the provider's valid signature of the raw body. */
	int (*verify)(const void *, size_t, const char *);
};

#define PROVIDER_UNKNOWN 0
#define PROVIDER_OFF	 1
#define PROVIDER_ON	 2

/* return_url of a payment: a path of this site of at most this many bytes. */
#define ORDERS_RETURN_URL_MAX 512

const struct payment_provider *payment_provider(const char *);
int			       payment_provider_state(const char *);
int			       payment_unavailable(struct call *);
int			       provider_sandbox_on(void);
void provider_sandbox_mac(const void *, size_t, unsigned char *);

json_t *orders_price(json_t *, json_t *, json_t **);
json_t *pricing_rules_cached(void);
void	pricing_rules_put(json_t *, uint64_t);
json_t *pricing_cached_quote(json_t *);
int	pricing_capped(json_t *, char **, char **);
int	orders_phone_valid(const char *);
char   *fsm_map(int, int);
void	orders_stock_moved(json_t *);
int	orders_stale(int, const char *);
int	orders_sql_call(
	struct call *, const char *, int, const char **, int, const char *);

/* invalid_transition's words (app/orders.c), for every table (routes.c). */
extern const struct code_detail fsm_details[];

#endif
