/*
 * config: the settings a worker reads from the environment, with safe
 * local defaults for `make run` only, and the check the parent makes.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kore/kore.h>

#include "config.h"

struct bangfu_config cfg;

static char *
env_str(const char *name, const char *def)
{
	const char *v;

	if ((v = getenv(name)) == NULL || *v == '\0')
		v = def;
	return (v ? kore_strdup(v) : NULL);
}

static int
env_int(const char *name, int def, int min, int max)
{
	const char *v;
	char	   *end;
	long	    n;

	if ((v = getenv(name)) == NULL || *v == '\0')
		return (def);
	n = strtol(v, &end, 10);
	if (*end != '\0' || n < min || n > max) {
		kore_log(
		    LOG_NOTICE, "%s=%s out of range, using %d", name, v, def);
		return (def);
	}
	return ((int)n);
}

void
config_load(void)
{
	cfg.database_url = env_str("DATABASE_URL",
	    "host=127.0.0.1 port=5432 dbname=bangfu user=bangfu "
	    "connect_timeout=2 gssencmode=disable");
	cfg.redis_url = env_str("REDIS_URL", "redis://127.0.0.1:6379/0");
	cfg.jwt_secret = env_str("JWT_SECRET", NULL);
	cfg.cert_secret = env_str("CERT_SECRET", NULL);
	cfg.payment_sandbox = env_int("PAYMENT_SANDBOX", 0, 0, 1);
	cfg.sandbox_secret = cfg.payment_sandbox
	    ? env_str("PAYMENT_SANDBOX_SECRET", NULL)
	    : NULL;
	if (cfg.sandbox_secret != NULL &&
	    strlen(cfg.sandbox_secret) < SANDBOX_SECRET_MIN)
		fatal("bangfu: PAYMENT_SANDBOX_SECRET is too short");
	cfg.trusted_proxies = env_str("TRUSTED_PROXIES", "127.0.0.1,::1");
	/* The contract: access tokens live at most 15 minutes. */
	cfg.access_ttl = env_int("ACCESS_TOKEN_TTL", 900, 10, 900);
	cfg.refresh_ttl =
	    env_int("REFRESH_TOKEN_TTL", 30 * 86400, 60, 90 * 86400);
	cfg.login_limit = env_int("RATE_LIMIT_LOGIN", 10, 1, 1000000);
	cfg.register_limit = env_int("RATE_LIMIT_REGISTER", 5, 1, 1000000);
	cfg.rate_window = env_int("RATE_LIMIT_WINDOW", 60, 1, 86400);
	cfg.order_pay_timeout = env_int("ORDER_PAY_TIMEOUT", 1800, 5, 86400);
	cfg.max_unpaid_orders = env_int("MAX_UNPAID_ORDERS", 5, 1, 1000);
	cfg.orders_limit = env_int("RATE_LIMIT_ORDERS", 20, 1, 1000000);
	cfg.invites_limit = env_int("RATE_LIMIT_INVITES", 20, 1, 1000000);
	cfg.db_statement_ms =
	    env_int("DB_STATEMENT_DEADLINE_MS", 15000, 100, 3600000);
	cfg.db_queue_ms = env_int("DB_QUEUE_DEADLINE_MS", 10000, 100, 3600000);
}

/*
 * A sandbox that anyone could sign for is a way to free orders: with it
 * on, its secret must be long, or the server does not start at all.
 */
void
config_check(void)
{
	const char *v, *s;

	v = getenv("PAYMENT_SANDBOX");
	if (v == NULL || strcmp(v, "1") != 0)
		return;
	s = getenv("PAYMENT_SANDBOX_SECRET");
	if (s != NULL && strlen(s) >= SANDBOX_SECRET_MIN)
		return;
	kore_log(LOG_ERR,
	    "bangfu: PAYMENT_SANDBOX=1 needs PAYMENT_SANDBOX_SECRET of "
	    "%d bytes or more; not starting",
	    SANDBOX_SECRET_MIN);
	(void)fflush(stdout);
	(void)fflush(stderr);
	_exit(1);
}
