/*
 * test_hostlist: the server lists of the configuration: libpq's multi-host
 * DATABASE_URL (host and port lists, the hostaddr list made after names
 * are resolved), REDIS_SENTINELS and Sentinel's +switch-master message.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "hostlist.h"

static void
test_split(void **state)
{
	char f[HOSTLIST_MAX][HOSTLIST_NAME];
	char big[HOSTLIST_NAME + 8];

	(void)state;
	assert_int_equal(hostlist_split("", f, HOSTLIST_MAX), 0);
	assert_int_equal(hostlist_split(NULL, f, HOSTLIST_MAX), 0);
	assert_int_equal(hostlist_split("127.0.0.1", f, HOSTLIST_MAX), 1);
	assert_string_equal(f[0], "127.0.0.1");
	assert_int_equal(
	    hostlist_split("127.0.0.1,127.0.0.1,db3", f, HOSTLIST_MAX), 3);
	assert_string_equal(f[0], "127.0.0.1");
	assert_string_equal(f[2], "db3");
	assert_int_equal(hostlist_split("25601,25602,25603", f, 3), 3);
	assert_string_equal(f[1], "25602");
	/* libpq keeps an empty field (its default there). */
	assert_int_equal(hostlist_split("a,,b", f, HOSTLIST_MAX), 3);
	assert_string_equal(f[1], "");
	assert_int_equal(hostlist_split("a,b,c", f, 2), -1);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(hostlist_split(big, f, HOSTLIST_MAX), -1);
}

static void
test_names(void **state)
{
	(void)state;
	assert_true(hostlist_numeric("127.0.0.1"));
	assert_true(hostlist_numeric("::1"));
	assert_false(hostlist_numeric("127.0.0.1,127.0.0.1"));
	assert_false(hostlist_numeric("db1.internal"));
	assert_true(hostlist_is_name("db1.internal"));
	assert_true(hostlist_is_name("localhost"));
	assert_false(hostlist_is_name("10.0.0.5"));
	assert_false(hostlist_is_name("/var/run/postgresql"));
	assert_false(hostlist_is_name("@abstract"));
	assert_false(hostlist_is_name(""));
}

/* What db.c does with a conninfo's host and port lists once resolved. */
static void
test_conninfo(void **state)
{
	char h[HOSTLIST_MAX][HOSTLIST_NAME], p[HOSTLIST_MAX][HOSTLIST_NAME];
	char a[HOSTLIST_MAX][HOSTLIST_ADDR];
	char ho[512], ao[512], po[512];
	int  nh, np;

	(void)state;
	nh = hostlist_split("db1,10.0.0.2,db3", h, HOSTLIST_MAX);
	np = hostlist_split("5432,5433,5434", p, HOSTLIST_MAX);
	strcpy(a[0], "10.0.0.1");
	strcpy(a[1], "10.0.0.2");
	strcpy(a[2], "10.0.0.3");
	assert_int_equal(
	    hostlist_conninfo(h, nh, p, np, a, ho, ao, po, sizeof(ho)), 3);
	assert_string_equal(ho, "db1,10.0.0.2,db3");
	assert_string_equal(ao, "10.0.0.1,10.0.0.2,10.0.0.3");
	assert_string_equal(po, "5432,5433,5434");

	/* A name that did not resolve is left out with its port. */
	a[0][0] = '\0';
	assert_int_equal(
	    hostlist_conninfo(h, nh, p, np, a, ho, ao, po, sizeof(ho)), 2);
	assert_string_equal(ho, "10.0.0.2,db3");
	assert_string_equal(ao, "10.0.0.2,10.0.0.3");
	assert_string_equal(po, "5433,5434");

	/* One port for all, or none (libpq's default). */
	np = hostlist_split("6432", p, HOSTLIST_MAX);
	assert_int_equal(
	    hostlist_conninfo(h, nh, p, np, a, ho, ao, po, sizeof(ho)), 2);
	assert_string_equal(po, "6432,6432");
	assert_int_equal(
	    hostlist_conninfo(h, nh, p, 0, a, ho, ao, po, sizeof(ho)), 2);
	assert_string_equal(po, "");

	/* A socket directory needs no address: an empty hostaddr entry. */
	nh = hostlist_split("/run/pg,db2", h, HOSTLIST_MAX);
	a[0][0] = '\0';
	strcpy(a[1], "10.0.0.9");
	assert_int_equal(
	    hostlist_conninfo(h, nh, p, 0, a, ho, ao, po, sizeof(ho)), 2);
	assert_string_equal(ho, "/run/pg,db2");
	assert_string_equal(ao, ",10.0.0.9");

	/* Port lists of another length are libpq's error too. */
	np = hostlist_split("1,2,3", p, HOSTLIST_MAX);
	assert_int_equal(
	    hostlist_conninfo(h, nh, p, np, a, ho, ao, po, sizeof(ho)), -1);
	/* Too long for the buffers. */
	np = 0;
	assert_int_equal(hostlist_conninfo(h, nh, p, np, a, ho, ao, po, 8), -1);
}

static void
test_sentinels(void **state)
{
	struct hostlist_entry e[HOSTLIST_MAX];

	(void)state;
	assert_int_equal(hostlist_parse("127.0.0.1:26610,127.0.0.1:26611,"
					"sentinel3.internal",
			     26379, e, HOSTLIST_MAX),
	    3);
	assert_string_equal(e[0].host, "127.0.0.1");
	assert_int_equal(e[0].port, 26610);
	assert_int_equal(e[1].port, 26611);
	assert_string_equal(e[2].host, "sentinel3.internal");
	assert_int_equal(e[2].port, 26379);
	assert_int_equal(
	    hostlist_parse("[::1]:26612,[2001:db8::7]", 26379, e, HOSTLIST_MAX),
	    2);
	assert_string_equal(e[0].host, "::1");
	assert_int_equal(e[0].port, 26612);
	assert_string_equal(e[1].host, "2001:db8::7");
	assert_int_equal(e[1].port, 26379);
	assert_int_equal(hostlist_parse("", 26379, e, HOSTLIST_MAX), 0);
	assert_int_equal(hostlist_parse("a:0", 26379, e, HOSTLIST_MAX), -1);
	assert_int_equal(hostlist_parse("a:65536", 26379, e, HOSTLIST_MAX), -1);
	assert_int_equal(hostlist_parse("a:12x", 26379, e, HOSTLIST_MAX), -1);
	assert_int_equal(hostlist_parse("a:", 26379, e, HOSTLIST_MAX), -1);
	assert_int_equal(hostlist_parse(":1", 26379, e, HOSTLIST_MAX), -1);
	assert_int_equal(hostlist_parse("a,,b", 26379, e, HOSTLIST_MAX), -1);
	assert_int_equal(hostlist_parse("[::1", 26379, e, HOSTLIST_MAX), -1);
	assert_int_equal(hostlist_parse("[::1]x", 26379, e, HOSTLIST_MAX), -1);
	assert_int_equal(hostlist_parse("a,b,c", 1, e, 2), -1);
}

static void
test_switch_master(void **state)
{
	struct hostlist_entry e;

	(void)state;
	memset(&e, 0, sizeof(e));
	assert_int_equal(
	    hostlist_switch_master(
		"bangfu 127.0.0.1 26600 127.0.0.1 26601", "bangfu", &e),
	    1);
	assert_string_equal(e.host, "127.0.0.1");
	assert_int_equal(e.port, 26601);
	/* Another master's switch is not ours. */
	assert_int_equal(hostlist_switch_master(
			     "other 10.0.0.1 6379 10.0.0.2 6380", "bangfu", &e),
	    0);
	assert_int_equal(e.port, 26601);
	assert_int_equal(hostlist_switch_master(
			     "bangfu 10.0.0.1 6379 10.0.0.2", "bangfu", &e),
	    0);
	assert_int_equal(hostlist_switch_master(
			     "bangfu 10.0.0.1 6379 10.0.0.2 x", "bangfu", &e),
	    0);
	assert_int_equal(hostlist_switch_master(
			     "bangfu  10.0.0.1 6379 10.0.0.2 1", "bangfu", &e),
	    0);
	assert_int_equal(hostlist_switch_master("", "bangfu", &e), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_conninfo),
		cmocka_unit_test(test_sentinels),
		cmocka_unit_test(test_switch_master),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
