/*
 * payment: the providers.  The sandbox behaves like the real ones: it
 * notifies asynchronously, signs with a shared secret (HMAC-SHA256 over
 * the raw body, hex in X-Sandbox-Signature) and may repeat itself.
 */

#include <sodium.h>

#include <string.h>

#include "bangfu.h"
#include "orders.h"

static int sandbox_verify(struct http_request *);

static const struct payment_provider providers[] = {
	{ "sandbox", sandbox_verify },
};

const struct payment_provider *
payment_provider(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
		if (strcmp(providers[i].name, name) == 0)
			return (&providers[i]);
	}
	return (NULL);
}

/* Compared in constant time; a malformed signature is just a wrong one. */
static int
sandbox_verify(struct http_request *req)
{
	crypto_auth_hmacsha256_state st;
	unsigned char		     mac[crypto_auth_hmacsha256_BYTES];
	unsigned char		     got[crypto_auth_hmacsha256_BYTES];
	const char		    *sig;
	size_t			     len;
	int			     ok;

	if (cfg.sandbox_secret == NULL || req->http_body == NULL)
		return (0);
	if (!http_request_header(req, "x-sandbox-signature", &sig) ||
	    strlen(sig) != 2 * sizeof(got))
		return (0);
	if (sodium_hex2bin(
		got, sizeof(got), sig, strlen(sig), NULL, &len, NULL) != 0 ||
	    len != sizeof(got))
		return (0);
	crypto_auth_hmacsha256_init(&st,
	    (const unsigned char *)cfg.sandbox_secret,
	    strlen(cfg.sandbox_secret));
	crypto_auth_hmacsha256_update(
	    &st, req->http_body->data, req->http_body_length);
	crypto_auth_hmacsha256_final(&st, mac);
	ok = sodium_memcmp(mac, got, sizeof(mac)) == 0;
	sodium_memzero(&st, sizeof(st));
	return (ok);
}
