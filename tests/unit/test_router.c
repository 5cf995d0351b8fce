/*
 * test_router: router_match on literal routes, {name} and {#id} parameters,
 * and on paths built to break it (overflowing ids, long or extra params).
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "router.h"

static void
test_literal(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match("/", "/", &m), 1);
	assert_int_equal(m.nparams, 0);
	assert_int_equal(router_match("/health", "/health", &m), 1);
	assert_int_equal(m.nparams, 0);
	assert_int_equal(router_match("/auth/login", "/auth/login", &m), 1);
	assert_int_equal(router_match("/auth/login", "/auth/logout", &m), 0);
	assert_int_equal(router_match("/auth/login", "/auth/logi", &m), 0);
	assert_int_equal(router_match("/auth/login", "/auth", &m), 0);
	assert_int_equal(router_match("/auth", "/auth/login", &m), 0);
	assert_int_equal(router_match("/health", "/Health", &m), 0);
	assert_int_equal(router_match("/", "/health", &m), 0);
	assert_int_equal(router_match("/health", "/", &m), 0);
}

static void
test_trailing_slash(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match("/products", "/products/", &m), 0);
	assert_int_equal(router_match("/products/", "/products", &m), 0);
	assert_int_equal(router_match("/products/", "/products/", &m), 1);
	assert_int_equal(
	    router_match("/products/{#id}", "/products/7/", &m), 0);
	assert_int_equal(
	    router_match("/regions/{code}", "/regions/yn/", &m), 0);
}

static void
test_empty_segment(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match("/products/{#id}", "/products/", &m), 0);
	assert_int_equal(router_match("/regions/{code}", "/regions/", &m), 0);
	assert_int_equal(
	    router_match("/regions/{code}/shop", "/regions//shop", &m), 0);
	assert_int_equal(router_match("/a/b", "/a//b", &m), 0);
	assert_int_equal(router_match("/{x}", "//", &m), 0);
	assert_int_equal(router_match("/{x}", "/", &m), 0);
}

static void
test_name_param(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(
	    router_match("/regions/{code}/shop", "/regions/yunnan/shop", &m),
	    1);
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.params[0], "yunnan");
	assert_int_equal(m.ids[0], 0);

	/* Any bytes but '/', including what looks like a number or UTF-8. */
	assert_int_equal(
	    router_match("/regions/{code}", "/regions/007", &m), 1);
	assert_string_equal(m.params[0], "007");
	assert_int_equal(router_match("/regions/{code}",
			     "/regions/\xe6\x99\xae\xe6\xb4\xb1", &m),
	    1);
	assert_string_equal(m.params[0], "\xe6\x99\xae\xe6\xb4\xb1");

	assert_int_equal(
	    router_match("/regions/{code}/shop", "/regions/yunnan/shops", &m),
	    0);
	assert_int_equal(
	    router_match("/regions/{code}/shop", "/regions/yunnan", &m), 0);
	assert_int_equal(
	    router_match("/regions/{code}", "/regions/yunnan/shop", &m), 0);
}

static void
test_id_param(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(
	    router_match("/products/{#id}", "/products/42", &m), 1);
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.params[0], "42");
	assert_int_equal(m.ids[0], 42);

	assert_int_equal(router_match("/products/{#id}", "/products/1", &m), 1);
	assert_int_equal(m.ids[0], 1);

	/* 18 digits: the longest accepted, and exact. */
	assert_int_equal(
	    router_match("/products/{#id}", "/products/999999999999999999", &m),
	    1);
	assert_int_equal(m.ids[0], INT64_C(999999999999999999));
	assert_int_equal(
	    router_match("/products/{#id}", "/products/123456789012345678", &m),
	    1);
	assert_int_equal(m.ids[0], INT64_C(123456789012345678));
}

static void
test_id_rejected(void **state)
{
	static const char *const bad[] = { "/products/0", "/products/00",
		"/products/01", "/products/007", "/products/-1", "/products/+1",
		"/products/1a", "/products/a1", "/products/abc",
		"/products/1.5", "/products/1e3", "/products/0x10",
		"/products/%31", "/products/ 1", "/products/1 ",
		/* 19 digits and up: could overflow, never a real id. */
		"/products/1000000000000000000",
		"/products/9223372036854775807",
		"/products/9223372036854775808",
		"/products/99999999999999999999",
		"/products/18446744073709551617", NULL };
	struct route_match	 m;
	int			 i;

	(void)state;
	for (i = 0; bad[i] != NULL; i++) {
		if (router_match("/products/{#id}", bad[i], &m) != 0)
			fail_msg("accepted %s", bad[i]);
	}
}

static void
test_param_length(void **state)
{
	struct route_match m;
	char		   path[16 + ROUTE_PARAM_MAX + 8];
	char		   seg[ROUTE_PARAM_MAX + 8];

	(void)state;
	/* ROUTE_PARAM_MAX - 1 bytes fit with their NUL. */
	memset(seg, 'x', ROUTE_PARAM_MAX - 1);
	seg[ROUTE_PARAM_MAX - 1] = '\0';
	snprintf(path, sizeof(path), "/regions/%s", seg);
	assert_int_equal(router_match("/regions/{code}", path, &m), 1);
	assert_int_equal(strlen(m.params[0]), ROUTE_PARAM_MAX - 1);
	assert_string_equal(m.params[0], seg);

	/* ROUTE_PARAM_MAX bytes and beyond do not. */
	memset(seg, 'x', ROUTE_PARAM_MAX);
	seg[ROUTE_PARAM_MAX] = '\0';
	snprintf(path, sizeof(path), "/regions/%s", seg);
	assert_int_equal(router_match("/regions/{code}", path, &m), 0);

	memset(seg, 'x', ROUTE_PARAM_MAX + 7);
	seg[ROUTE_PARAM_MAX + 7] = '\0';
	snprintf(path, sizeof(path), "/regions/%s", seg);
	assert_int_equal(router_match("/regions/{code}", path, &m), 0);

	/* A long literal segment is fine: it is compared, not copied. */
	snprintf(path, sizeof(path), "/%s", seg);
	assert_int_equal(router_match(path, path, &m), 1);
}

static void
test_max_params(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match("/{a}/{b}/{c}/{d}", "/w/x/y/z", &m), 1);
	assert_int_equal(m.nparams, ROUTE_MAX_PARAMS);
	assert_string_equal(m.params[0], "w");
	assert_string_equal(m.params[3], "z");

	assert_int_equal(
	    router_match("/{a}/{b}/{c}/{d}/{e}", "/v/w/x/y/z", &m), 0);
	assert_int_equal(
	    router_match("/{#a}/{#b}/{#c}/{#d}/{#e}", "/1/2/3/4/5", &m), 0);
	assert_int_equal(
	    router_match("/{#a}/{#b}/{#c}/{#d}", "/1/2/3/4", &m), 1);
	assert_int_equal(m.ids[0], 1);
	assert_int_equal(m.ids[3], 4);
}

static void
test_not_absolute(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match("health", "health", &m), 0);
	assert_int_equal(router_match("/health", "health", &m), 0);
	assert_int_equal(router_match("health", "/health", &m), 0);
	assert_int_equal(router_match("", "", &m), 0);
	assert_int_equal(router_match("/", "", &m), 0);
	assert_int_equal(router_match("", "/", &m), 0);
	assert_int_equal(router_match("{x}", "x", &m), 0);
}

static void
test_multi_param(void **state)
{
	const char	  *pat = "/orgs/{#id}/bulk-orders/{#bid}/approve";
	struct route_match m;

	(void)state;
	assert_int_equal(
	    router_match(pat, "/orgs/12/bulk-orders/345/approve", &m), 1);
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[0], "12");
	assert_string_equal(m.params[1], "345");
	assert_int_equal(m.ids[0], 12);
	assert_int_equal(m.ids[1], 345);

	assert_int_equal(
	    router_match(pat, "/orgs/12/bulk-orders/345/reject", &m), 0);
	assert_int_equal(router_match(pat, "/orgs/12/bulk-orders/345", &m), 0);
	assert_int_equal(
	    router_match(pat, "/orgs/12/bulk-orders/345/approve/", &m), 0);
	assert_int_equal(
	    router_match(pat, "/orgs/x/bulk-orders/345/approve", &m), 0);
	assert_int_equal(
	    router_match(pat, "/orgs/12/bulk-orders/0/approve", &m), 0);
	assert_int_equal(router_match(pat, "/orgs/12/bulk/345/approve", &m), 0);
	assert_int_equal(
	    router_match(pat, "/orgs//bulk-orders/345/approve", &m), 0);

	/* Mixed kinds keep their order. */
	assert_int_equal(router_match("/regions/{code}/products/{#id}",
			     "/regions/yn/products/9", &m),
	    1);
	assert_int_equal(m.nparams, 2);
	assert_string_equal(m.params[0], "yn");
	assert_int_equal(m.ids[0], 0);
	assert_string_equal(m.params[1], "9");
	assert_int_equal(m.ids[1], 9);
}

/* A failed match must not leave the captures of an earlier one behind. */
static void
test_match_reset(void **state)
{
	struct route_match m;

	(void)state;
	assert_int_equal(router_match("/products/{#id}", "/products/5", &m), 1);
	assert_int_equal(router_match("/products/{#id}", "/products/x", &m), 0);
	assert_int_equal(m.nparams, 0);
	assert_int_equal(router_match("/a/{x}", "/a/y", &m), 1);
	assert_int_equal(router_match("/b/{x}", "/b/z", &m), 1);
	assert_int_equal(m.nparams, 1);
	assert_string_equal(m.params[0], "z");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal),
		cmocka_unit_test(test_trailing_slash),
		cmocka_unit_test(test_empty_segment),
		cmocka_unit_test(test_name_param),
		cmocka_unit_test(test_id_param),
		cmocka_unit_test(test_id_rejected),
		cmocka_unit_test(test_param_length),
		cmocka_unit_test(test_max_params),
		cmocka_unit_test(test_not_absolute),
		cmocka_unit_test(test_multi_param),
		cmocka_unit_test(test_match_reset),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
