/*
 * fuzz_router: router_match on any path, against the API's own patterns
 * or one from the input.  A match puts the path back together from the
 * pattern and the captured parameters; a numeric one is a positive
 * integer written as its id; buffers left from an earlier match never
 * leak into a new one.
 */

#include "fuzz.h"
#include "router.h"

/* The patterns of the API routes (app/http_*.c). */
static const char *const routes[] = { "/admin/boost-rules",
	"/admin/boost-rules/{#id}", "/admin/campaigns",
	"/admin/campaigns/{slug}", "/admin/fee-rules", "/admin/fee-rules/{#id}",
	"/admin/ledger", "/admin/products/{#id}/bxbp", "/admin/vendors",
	"/admin/vendors/{#id}/credit-events", "/admin/vendors/{#id}/review",
	"/auth/login", "/auth/logout", "/auth/refresh", "/auth/register",
	"/campaigns", "/campaigns/{slug}", "/cart", "/cart/items/{#id}",
	"/certificates/verify", "/channel", "/impact", "/me", "/orders",
	"/orders/{#id}", "/orders/{#id}/cancel", "/orders/{#id}/confirm",
	"/orders/{#id}/payments", "/orgs", "/orgs/{#id}",
	"/orgs/{#id}/bulk-orders", "/orgs/{#id}/bulk-orders/{#bid}",
	"/orgs/{#id}/certificates/{#year}", "/orgs/{#id}/members",
	"/orgs/{#id}/plan/{#year}", "/orgs/{#id}/report/{#year}", "/payments",
	"/payments/sandbox/notify", "/products", "/products/{#id}", "/readyz",
	"/regions", "/regions/{code}", "/regions/{code}/shop", "/trace/{code}",
	"/vendor/orders", "/vendor/orders/{#id}/recipients",
	"/vendor/orders/{#id}/ship", "/vendor/products",
	"/vendor/products/{#id}", "/vendor/products/{#id}/batches",
	"/vendor/products/{#id}/publish", "/vendor/products/{#id}/stock",
	"/vendor/products/{#id}/unpublish", "/vendor/statement", "/vendors",
	"/vendors/{#id}", NULL };

static int
is_param(const char *p, size_t plen)
{
	return (plen >= 2 && p[0] == '{' && p[plen - 1] == '}');
}

/* The path pattern gives with m's parameters, into out (n bytes). */
static int
rebuild(const char *pattern, const struct route_match *m, char *out, size_t n)
{
	const char *p = pattern;
	size_t	    o = 0, plen, k;
	int	    i = 0;

	while (*p == '/') {
		p++;
		out[o++] = '/';
		plen = strcspn(p, "/");
		if (is_param(p, plen)) {
			if (i >= m->nparams)
				return (0);
			k = strlen(m->params[i]);
			if (o + k >= n)
				return (0);
			memcpy(out + o, m->params[i++], k);
			o += k;
		} else {
			if (o + plen >= n)
				return (0);
			memcpy(out + o, p, plen);
			o += plen;
		}
		p += plen;
	}
	out[o] = '\0';
	return (*p == '\0' && i == m->nparams);
}

static void
check(const char *pattern, const char *path)
{
	struct route_match m;
	char		  *again, num[24];
	size_t		   n;
	int		   i, rc;

	/* Garbage from an earlier route, as the dispatcher leaves it. */
	memset(&m, 0x5a, sizeof(m));
	rc = router_match(pattern, path, &m);
	CHECK(rc == 0 || rc == 1);
	CHECK(m.nparams >= 0 && m.nparams <= ROUTE_MAX_PARAMS);
	if (!rc)
		return;
	n = strlen(path) + 1;
	CHECK((again = malloc(n)) != NULL);
	CHECK(rebuild(pattern, &m, again, n));
	CHECK(strcmp(again, path) == 0);
	free(again);
	for (i = 0; i < m.nparams; i++) {
		CHECK(fuzz_terminated(m.params[i], ROUTE_PARAM_MAX));
		CHECK(m.params[i][0] != '\0');
		CHECK(strchr(m.params[i], '/') == NULL);
		if (m.ids[i] != 0) {
			CHECK(m.ids[i] > 0);
			snprintf(num, sizeof(num), "%lld", (long long)m.ids[i]);
			CHECK(strcmp(num, m.params[i]) == 0);
		}
	}
	/* The same answer a second time. */
	CHECK(router_match(pattern, path, &m) == 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	size_t	    nroutes, i;
	char	   *s;
	const char *path;

	if (len < 1)
		return (0);
	s = fuzz_str(data + 1, len - 1);
	for (nroutes = 0; routes[nroutes] != NULL; nroutes++)
		;
	if (data[0] < 0x80) {
		check(routes[data[0] % nroutes], s);
	} else if (data[0] < 0xc0) {
		for (i = 0; i < nroutes; i++)
			check(routes[i], s);
	} else {
		/* Pattern, NUL, path. */
		path = s + strlen(s);
		if (path < s + len - 1)
			path++;
		check(s, path);
	}
	free(s);
	return (0);
}
