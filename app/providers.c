/*
 * providers: the payment providers this server knows, whether each is on,
 * and how their notifications are signed.  The sandbox signs with a shared
 * secret: HMAC-SHA256 over the raw body, hex in X-Sandbox-Signature.
 */

#include <sodium.h>

#include <string.h>

#include "config.h"
#include "problem.h"
#include "orders.h"

static int sandbox_verify(const void *, size_t, const char *);

static const struct payment_provider providers[] = {
	{ "sandbox", provider_sandbox_on, sandbox_verify },
};

const struct payment_provider *
payment_provider(const char *name)
{
	size_t i;

	if (name == NULL)
		return (NULL);
	for (i = 0; i < sizeof(providers) / sizeof(providers[0]); i++) {
		if (strcmp(providers[i].name, name) == 0)
			return (&providers[i]);
	}
	return (NULL);
}

/* PROVIDER_UNKNOWN, PROVIDER_OFF (known, not enabled here) or PROVIDER_ON. */
int
payment_provider_state(const char *name)
{
	const struct payment_provider *pp;

	if ((pp = payment_provider(name)) == NULL)
		return (PROVIDER_UNKNOWN);
	return (pp->enabled() ? PROVIDER_ON : PROVIDER_OFF);
}

int
payment_unavailable(struct call *c)
{
	json_t *errs = NULL;

	problem_field_add(
	    &errs, "provider", "this provider is not enabled on this server");
	return (problem_fields(c, 422, "provider_unavailable",
	    "the payment provider asked for is not available", errs));
}

int
provider_sandbox_on(void)
{
	return (cfg.payment_sandbox && cfg.sandbox_secret != NULL);
}

void
provider_sandbox_mac(const void *raw, size_t len, unsigned char *mac)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st,
	    (const unsigned char *)cfg.sandbox_secret,
	    strlen(cfg.sandbox_secret));
	crypto_auth_hmacsha256_update(&st, raw, len);
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_memzero(&st, sizeof(st));
}

/* Compared in constant time; a malformed signature is just a wrong one. */
static int
sandbox_verify(const void *raw, size_t len, const char *sig)
{
	unsigned char mac[crypto_auth_hmacsha256_BYTES];
	unsigned char got[crypto_auth_hmacsha256_BYTES];
	size_t	      n;

	if (!provider_sandbox_on() || raw == NULL || sig == NULL ||
	    strlen(sig) != 2 * sizeof(got))
		return (0);
	if (sodium_hex2bin(
		got, sizeof(got), sig, strlen(sig), NULL, &n, NULL) != 0 ||
	    n != sizeof(got))
		return (0);
	provider_sandbox_mac(raw, len, mac);
	return (sodium_memcmp(mac, got, sizeof(mac)) == 0);
}
