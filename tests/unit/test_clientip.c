/*
 * test_clientip: the trusted-proxy list (addresses and CIDR blocks, IPv4 and
 * IPv6) and which address clientip_resolve believes for a request.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "clientip.h"

#define LOOPBACK "127.0.0.1, ::1"

/* The address resolve settles on, or "" when it refuses. */
static const char *
resolve(const char *peer, const char *xff, const char *trusted)
{
	static char out[CLIENTIP_MAX];

	memset(out, 'z', sizeof(out));
	if (!clientip_resolve(peer, xff, trusted, out, sizeof(out)))
		return ("");
	return (out);
}

static void
test_untrusted_peer(void **state)
{
	(void)state;
	/* A client talking to us directly cannot choose its address. */
	assert_string_equal(
	    resolve("203.0.113.9", "1.2.3.4", LOOPBACK), "203.0.113.9");
	assert_string_equal(
	    resolve("203.0.113.9", "1.2.3.4, 5.6.7.8", LOOPBACK),
	    "203.0.113.9");
	assert_string_equal(
	    resolve("127.0.0.2", "1.2.3.4", LOOPBACK), "127.0.0.2");
	assert_string_equal(
	    resolve("2001:db8::1", "1.2.3.4", LOOPBACK), "2001:db8::1");
	assert_string_equal(resolve("127.0.0.1", "1.2.3.4", ""), "127.0.0.1");
	assert_string_equal(resolve("127.0.0.1", "1.2.3.4", NULL), "127.0.0.1");
}

static void
test_trusted_last_entry(void **state)
{
	(void)state;
	assert_string_equal(
	    resolve("127.0.0.1", "1.2.3.4", LOOPBACK), "1.2.3.4");
	/* The last entry, never the first, which the client may forge. */
	assert_string_equal(
	    resolve("127.0.0.1", "1.2.3.4, 5.6.7.8", LOOPBACK), "5.6.7.8");
	assert_string_equal(
	    resolve("127.0.0.1", "1.2.3.4,5.6.7.8", LOOPBACK), "5.6.7.8");
	assert_string_equal(
	    resolve("127.0.0.1", "9.9.9.9, 1.2.3.4, 5.6.7.8", LOOPBACK),
	    "5.6.7.8");
	assert_string_equal(
	    resolve("::1", "1.2.3.4, 5.6.7.8", LOOPBACK), "5.6.7.8");
	assert_string_equal(
	    resolve("::1", "2001:db8::7", LOOPBACK), "2001:db8::7");
	assert_string_equal(
	    resolve("127.0.0.1",
		"1.2.3.4, ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255",
		LOOPBACK),
	    "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
}

static void
test_spaces(void **state)
{
	(void)state;
	assert_string_equal(
	    resolve("127.0.0.1", "  5.6.7.8  ", LOOPBACK), "5.6.7.8");
	assert_string_equal(
	    resolve("127.0.0.1", "1.2.3.4 ,\t5.6.7.8\t", LOOPBACK), "5.6.7.8");
	assert_string_equal(
	    resolve("127.0.0.1", "1.2.3.4,    5.6.7.8 ", LOOPBACK), "5.6.7.8");
}

static void
test_bad_last_entry(void **state)
{
	static const char *const bad[] = { "", " ", ",", "1.2.3.4,",
		"1.2.3.4, ", "5.6.7.8, garbage", "5.6.7.8, 1.2.3",
		"5.6.7.8, 1.2.3.256", "5.6.7.8, 1.2.3.4.5",
		"5.6.7.8, 01.2.3.4x", "5.6.7.8, 1.2.3.4/8",
		"5.6.7.8, 1.2.3.4:80", "5.6.7.8, [::1]",
		"5.6.7.8, fe80::1%eth0", "5.6.7.8, unknown",
		"5.6.7.8, 1.2.3.4 9.9.9.9", "5.6.7.8, 1.2.3.4 x",
		"5.6.7.8, 1.2.3.4;9.9.9.9",
		"5.6.7.8, 1111:2222:3333:4444:5555:6666:7777:8888:9999",
		"5.6.7.8, 0000:0000:0000:0000:0000:0000:0000:0000:0000:0001",
		NULL };
	int			 i;

	(void)state;
	/* A trusted peer with a malformed last entry is the client itself. */
	for (i = 0; bad[i] != NULL; i++) {
		if (strcmp(resolve("127.0.0.1", bad[i], LOOPBACK),
			"127.0.0.1") != 0)
			fail_msg("believed \"%s\": %s", bad[i],
			    resolve("127.0.0.1", bad[i], LOOPBACK));
	}
}

static void
test_null_xff(void **state)
{
	char out[CLIENTIP_MAX];

	(void)state;
	assert_string_equal(resolve("127.0.0.1", NULL, LOOPBACK), "127.0.0.1");
	assert_string_equal(
	    resolve("203.0.113.9", NULL, LOOPBACK), "203.0.113.9");

	/* No peer, or no room for any address: refused. */
	assert_string_equal(resolve(NULL, "1.2.3.4", LOOPBACK), "");
	assert_int_equal(clientip_resolve("127.0.0.1", "1.2.3.4", LOOPBACK, out,
			     CLIENTIP_MAX - 1),
	    0);
	assert_int_equal(
	    clientip_resolve("127.0.0.1", "1.2.3.4", LOOPBACK, out, 0), 0);
}

static void
test_trusted_list(void **state)
{
	(void)state;
	assert_int_equal(clientip_trusted("127.0.0.1", "127.0.0.1"), 1);
	assert_int_equal(clientip_trusted("127.0.0.1", LOOPBACK), 1);
	assert_int_equal(clientip_trusted("::1", LOOPBACK), 1);
	assert_int_equal(clientip_trusted("127.0.0.2", LOOPBACK), 0);
	assert_int_equal(clientip_trusted("::2", LOOPBACK), 0);
	assert_int_equal(clientip_trusted("127.0.0.1", ""), 0);
	assert_int_equal(clientip_trusted("127.0.0.1", " , ,"), 0);
	assert_int_equal(clientip_trusted("127.0.0.1", NULL), 0);
	assert_int_equal(clientip_trusted(NULL, LOOPBACK), 0);
	assert_int_equal(clientip_trusted("", LOOPBACK), 0);
	assert_int_equal(clientip_trusted("localhost", "localhost"), 0);
	assert_int_equal(clientip_trusted("garbage", "0.0.0.0/0, ::/0"), 0);

	/* Separators: commas, spaces, both, repeated. */
	assert_int_equal(
	    clientip_trusted("10.1.1.1", "192.168.0.1 10.1.1.1"), 1);
	assert_int_equal(
	    clientip_trusted("10.1.1.1", ",, 192.168.0.1 ,, 10.1.1.1 ,"), 1);
}

static void
test_cidr_v4(void **state)
{
	const char *list = "10.0.0.0/8, 127.0.0.1";

	(void)state;
	assert_int_equal(clientip_trusted("10.0.0.0", list), 1);
	assert_int_equal(clientip_trusted("10.1.2.3", list), 1);
	assert_int_equal(clientip_trusted("10.255.255.255", list), 1);
	assert_int_equal(clientip_trusted("127.0.0.1", list), 1);
	assert_int_equal(clientip_trusted("11.0.0.0", list), 0);
	assert_int_equal(clientip_trusted("9.255.255.255", list), 0);
	assert_int_equal(clientip_trusted("127.0.0.2", list), 0);

	/* Prefixes that do not end on a byte. */
	assert_int_equal(clientip_trusted("172.16.0.1", "172.16.0.0/12"), 1);
	assert_int_equal(
	    clientip_trusted("172.31.255.255", "172.16.0.0/12"), 1);
	assert_int_equal(clientip_trusted("172.32.0.0", "172.16.0.0/12"), 0);
	assert_int_equal(
	    clientip_trusted("172.15.255.255", "172.16.0.0/12"), 0);
	assert_int_equal(
	    clientip_trusted("192.168.1.127", "192.168.1.0/25"), 1);
	assert_int_equal(
	    clientip_trusted("192.168.1.128", "192.168.1.0/25"), 0);
	assert_int_equal(clientip_trusted("10.0.0.1", "10.0.0.0/31"), 1);
	assert_int_equal(clientip_trusted("10.0.0.2", "10.0.0.0/31"), 0);
	assert_int_equal(clientip_trusted("128.0.0.1", "0.0.0.0/1"), 0);
	assert_int_equal(clientip_trusted("127.0.0.1", "0.0.0.0/1"), 1);

	/* /32 is the address alone; /0 is every IPv4 address, no IPv6. */
	assert_int_equal(clientip_trusted("10.0.0.1", "10.0.0.1/32"), 1);
	assert_int_equal(clientip_trusted("10.0.0.2", "10.0.0.1/32"), 0);
	assert_int_equal(clientip_trusted("203.0.113.9", "0.0.0.0/0"), 1);
	assert_int_equal(clientip_trusted("::1", "0.0.0.0/0"), 0);

	/* A trusted block lets the peer speak for the client. */
	assert_string_equal(
	    resolve("10.9.8.7", "1.2.3.4, 5.6.7.8", list), "5.6.7.8");
	assert_string_equal(
	    resolve("11.9.8.7", "1.2.3.4, 5.6.7.8", list), "11.9.8.7");
}

static void
test_cidr_v6(void **state)
{
	const char *list = "2001:db8::/32";

	(void)state;
	assert_int_equal(clientip_trusted("::1", "::1"), 1);
	assert_int_equal(clientip_trusted("::1", "0:0:0:0:0:0:0:1"), 1);
	assert_int_equal(clientip_trusted("::1", "::1/128"), 1);
	assert_int_equal(clientip_trusted("::2", "::1/128"), 0);
	assert_int_equal(clientip_trusted("2001:db8::1", list), 1);
	assert_int_equal(clientip_trusted("2001:db8:ffff:ffff::1", list), 1);
	assert_int_equal(clientip_trusted("2001:0db8:0:0:0:0:0:1", list), 1);
	assert_int_equal(clientip_trusted("2001:db9::1", list), 0);
	assert_int_equal(clientip_trusted("2001:db7:ffff::1", list), 0);
	assert_int_equal(clientip_trusted("fd00::1", "fc00::/7"), 1);
	assert_int_equal(clientip_trusted("fe00::1", "fc00::/7"), 0);
	assert_int_equal(clientip_trusted("2001:db8::1", "::/0"), 1);
	assert_int_equal(clientip_trusted("1.2.3.4", "::/0"), 0);

	assert_string_equal(resolve("2001:db8::5", "1.2.3.4, 2001:db8::9",
				"10.0.0.0/8, 2001:db8::/32"),
	    "2001:db8::9");
}

static void
test_family_mismatch(void **state)
{
	(void)state;
	/* An IPv4 peer never matches an IPv6 entry and the reverse. */
	assert_int_equal(clientip_trusted("127.0.0.1", "::1"), 0);
	assert_int_equal(clientip_trusted("::1", "127.0.0.1"), 0);
	assert_int_equal(clientip_trusted("::ffff:127.0.0.1", "127.0.0.1"), 0);
	assert_int_equal(clientip_trusted("127.0.0.1", "::ffff:127.0.0.1"), 0);
	assert_int_equal(clientip_trusted("10.0.0.1", "::/0"), 0);
	assert_int_equal(clientip_trusted("::a00:1", "10.0.0.0/8"), 0);
}

static void
test_bad_prefix(void **state)
{
	char			 list[1100];
	static const char *const bad[] = { "127.0.0.1/33", "127.0.0.0/64",
		"127.0.0.0/999", "127.0.0.0/1000", "127.0.0.0/4294967304",
		"127.0.0.0/abc", "127.0.0.0/8a", "127.0.0.0/-8", "127.0.0.0/+8",
		"127.0.0.0/ 8", "127.0.0.0/", "127.0.0.0/8/8", "/8",
		"127.0.0/8", "127.0.0.0.0/8", "localhost/8", NULL };
	int			 i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		if (clientip_trusted("127.0.0.1", bad[i]))
			fail_msg("trusted by \"%s\"", bad[i]);
	}
	assert_int_equal(clientip_trusted("::1", "::1/129"), 0);
	assert_int_equal(clientip_trusted("::1", "::/abc"), 0);
	assert_int_equal(clientip_trusted("::1", "::1/"), 0);

	/* A bad entry spoils only itself, not the rest of the list. */
	assert_int_equal(
	    clientip_trusted("127.0.0.1", "127.0.0.1/33, 127.0.0.1"), 1);
	assert_int_equal(clientip_trusted("10.0.0.1", "junk, 10.0.0.0/8"), 1);

	/* An entry too long for the parser is skipped, not overrun. */
	memset(list, '1', 1000);
	strcpy(list + 1000, ", 127.0.0.1");
	assert_int_equal(clientip_trusted("127.0.0.1", list), 1);
	strcpy(list + 1000, "/8");
	assert_int_equal(clientip_trusted("127.0.0.1", list), 0);
	strcpy(list, "127.0.0.1/");
	memset(list + 10, '0', 100);
	strcpy(list + 110, "8");
	assert_int_equal(clientip_trusted("127.0.0.1", list), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_untrusted_peer),
		cmocka_unit_test(test_trusted_last_entry),
		cmocka_unit_test(test_spaces),
		cmocka_unit_test(test_bad_last_entry),
		cmocka_unit_test(test_null_xff),
		cmocka_unit_test(test_trusted_list),
		cmocka_unit_test(test_cidr_v4),
		cmocka_unit_test(test_cidr_v6),
		cmocka_unit_test(test_family_mismatch),
		cmocka_unit_test(test_bad_prefix),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
