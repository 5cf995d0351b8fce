/*
 * config: the settings from the environment (app/config.c), read once
 * before the workers fork.
 */

#ifndef CONFIG_H
#define CONFIG_H

/* The sandbox's secret, at least (PAYMENT_SANDBOX_SECRET). */
#define SANDBOX_SECRET_MIN 32

struct bangfu_config {
	char *database_url;
	char *redis_url;
	char *jwt_secret;
	char *cert_secret;
	char *sandbox_secret; /* NULL unless the sandbox is on */
	char *trusted_proxies;
	int   access_ttl;
	int   refresh_ttl;
	int   login_limit;
	int   register_limit;
	int   rate_window;
	int   order_pay_timeout;
	int   payment_sandbox; /* PAYMENT_SANDBOX=1 */
	int   max_unpaid_orders;
	int   orders_limit; /* checkouts per user and window */
	int   invites_limit; /* invitations per admin and window */
	int   db_statement_ms; /* a statement's answer, at most */
	int   db_queue_ms; /* a job's wait for a connection, at most */
};
extern struct bangfu_config cfg;
void			    config_load(void);
void			    config_check(void);

#endif
