/*
 * main: start-up.  The parent sets up what workers share (metrics); each
 * worker reads its settings from the environment and opens its links to
 * PostgreSQL and Redis.  Also the seccomp additions our libraries need.
 */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include <kore/seccomp.h>

#if defined(BANGFU_LEAK_CHECK)
#include <sys/prctl.h>

#include <sanitizer/lsan_interface.h>

#define LEAK_CANARY_BYTES 4242
#endif

#include "bangfu.h"

void kore_parent_configure(int, char **);
void kore_worker_configure(void);
void kore_worker_teardown(void);
void metrics_init(void);
int  metrics_route_register(const char *);

struct bangfu_config cfg;

/*
 * What Kore's own filter lacks on bookworm: stat calls of glibc, threads
 * for the task pool (Argon2id, and name resolution of the database's and
 * Redis's hosts: sendmmsg for glibc's parallel DNS queries), and
 * mremap, with which glibc's realloc grows large blocks (big answers).
 */
KORE_SECCOMP_FILTER("bangfu", KORE_SYSCALL_ALLOW(newfstatat),
    KORE_SYSCALL_ALLOW(faccessat2), KORE_SYSCALL_ALLOW(uname),
    KORE_SYSCALL_ALLOW(clone3), KORE_SYSCALL_ALLOW(rseq),
    KORE_SYSCALL_ALLOW(getrandom), KORE_SYSCALL_ALLOW(socket),
    KORE_SYSCALL_ALLOW(connect), KORE_SYSCALL_ALLOW(getsockopt),
    KORE_SYSCALL_ALLOW(setsockopt), KORE_SYSCALL_ALLOW(getsockname),
    KORE_SYSCALL_ALLOW(getpeername), KORE_SYSCALL_ALLOW(recvfrom),
    KORE_SYSCALL_ALLOW(sendmsg), KORE_SYSCALL_ALLOW(recvmsg),
    KORE_SYSCALL_ALLOW(poll), KORE_SYSCALL_ALLOW(sched_yield),
    KORE_SYSCALL_ALLOW(futex), KORE_SYSCALL_ALLOW(set_robust_list),
    KORE_SYSCALL_ALLOW(sysinfo), KORE_SYSCALL_ALLOW(mremap),
    KORE_SYSCALL_ALLOW(sendmmsg)
#if defined(__SANITIZE_ADDRESS__)
    /* The test build's AddressSanitizer runtime, on its threads. */
    ,
    KORE_SYSCALL_ALLOW(gettid), KORE_SYSCALL_ALLOW(sched_getaffinity),
    KORE_SYSCALL_ALLOW(sigaltstack),
    KORE_SYSCALL_ALLOW(prctl)
#endif
#if defined(BANGFU_LEAK_CHECK)
    /* LeakSanitizer stops the worker's threads with ptrace to scan them. */
    ,
    KORE_SYSCALL_ALLOW(ptrace), KORE_SYSCALL_ALLOW(wait4),
    KORE_SYSCALL_ALLOW(waitid), KORE_SYSCALL_ALLOW(clone),
    KORE_SYSCALL_ALLOW(getdents), KORE_SYSCALL_ALLOW(getdents64),
    KORE_SYSCALL_ALLOW(tgkill), KORE_SYSCALL_ALLOW(getppid),
    KORE_SYSCALL_ALLOW(rt_sigprocmask), KORE_SYSCALL_ALLOW(rt_sigaction),
    KORE_SYSCALL_ALLOW(process_vm_readv), KORE_SYSCALL_ALLOW(pipe2),
    KORE_SYSCALL_ALLOW(mincore), KORE_SYSCALL_ALLOW(prctl)
#endif
);

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

static void
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
}

/*
 * A sandbox that anyone could sign for is a way to free orders: with it
 * on, its secret must be long, or the server does not start at all.
 */
static void
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

/* The same names in the same order in every process: see metrics.c. */
static void
routes_register(void)
{
	static struct api_route *tables[] = { routes_auth, routes_catalog,
		routes_cart, routes_orders, routes_vendor, routes_admin,
		routes_ledger, routes_orgs, routes_bulk, routes_services,
		routes_docs, routes_sandbox, NULL };
	struct api_route	*r;
	int			 i;

	(void)metrics_route_register("healthz");
	(void)metrics_route_register("readyz");
	(void)metrics_route_register("metrics");
	(void)metrics_route_register("not_found");
	for (i = 0; tables[i] != NULL; i++) {
		for (r = tables[i]; r->pattern != NULL; r++)
			(void)metrics_route_register(r->name);
	}
}

void
kore_parent_configure(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	config_check();
#if defined(BANGFU_LEAK_CHECK)
	/*
	 * The parent serves no request: what Kore's own parent keeps until it
	 * exits (a buffer it never frees) is not checked.  Workers, forked
	 * from here, turn the check back on.
	 */
	__lsan_disable();
#endif
	metrics_init();
	routes_register();
	web_static_init();
}

void
kore_worker_configure(void)
{
#if defined(BANGFU_LEAK_CHECK)
	/*
	 * Dropping root to runas cleared the dumpable flag, and LeakSanitizer's
	 * tracer may only attach to a dumpable process: the test build only.
	 */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_DUMPABLE): %s", errno_s);
	__lsan_enable();
	/* The leak check's positive control (tests/api/test_leak_check.py). */
	if (getenv("BANGFU_LEAK_CANARY") != NULL) {
		char *volatile canary = malloc(LEAK_CANARY_BYTES);

		if (canary != NULL)
			canary[0] = 1;
		canary = NULL;
	}
#endif
	config_load();
	cache_init();
	docs_init();
	if (!auth_init() || !db_init() || !redis_init(cfg.redis_url))
		fatal("bangfu: worker configuration failed");
	(void)kore_timer_add(orders_expire_tick, 2000, NULL, 0);
}

/*
 * A worker leaves with _exit(): exit() would run the shared libraries'
 * destructors, and p11-kit's (pulled in through libpq) waits forever on
 * glibc's locale lock in a forked worker, leaving it orphaned after the
 * parent has gone.  Sockets and memory go with the process anyway; the
 * log is flushed first.
 */
void
kore_worker_teardown(void)
{
	db_shutdown();
#if defined(BANGFU_LEAK_CHECK)
	/* The sanitized build: what _exit() would hide is reported first. */
	kore_log(LOG_NOTICE, "leak check at exit: %s",
	    __lsan_do_recoverable_leak_check() ? "leaks found" : "clean");
#endif
	(void)fflush(stdout);
	(void)fflush(stderr);
	_exit(0);
}
