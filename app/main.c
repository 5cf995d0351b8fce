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

#include "api.h"
#include "auth.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "invalidate.h"
#include "redis.h"
#include "routes.h"

void kore_parent_configure(int, char **);
void kore_worker_configure(void);
void kore_worker_teardown(void);
void metrics_init(void);
int  metrics_route_register(const char *);

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

/* The same names in the same order in every process: see metrics.c. */
static void
routes_register(void)
{
	struct api_route *r;
	int		  i;

	(void)metrics_route_register("healthz");
	(void)metrics_route_register("readyz");
	(void)metrics_route_register("metrics");
	(void)metrics_route_register("not_found");
	for (i = 0; route_tables[i].routes != NULL; i++) {
		for (r = route_tables[i].routes; r->pattern != NULL; r++)
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
	catalog_init();
	invalidate_init();
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
