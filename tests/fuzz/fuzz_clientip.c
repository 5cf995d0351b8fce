/*
 * fuzz_clientip: peer, X-Forwarded-For and TRUSTED_PROXIES from the input
 * (NUL-separated, each in a buffer of its own size).  The answer is always
 * NUL-terminated inside the caller's buffer; it is the peer unless the
 * peer is trusted, and then an address the header's last entry names; an
 * address is inside its own block and every wider one.
 */

#include <arpa/inet.h>

#include "clientip.h"
#include "fuzz.h"

static char *
part(const uint8_t **data, size_t *len)
{
	const uint8_t *end;
	size_t	       n;
	char	      *s;

	end = memchr(*data, '\0', *len);
	n = end ? (size_t)(end - *data) : *len;
	s = fuzz_str(*data, n);
	*data += n;
	*len -= n;
	if (*len > 0) {
		(*data)++;
		(*len)--;
	}
	return (s);
}

static int
is_ip(const char *s)
{
	unsigned char b[16];

	return (
	    inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char  *peer, *xff, *trusted, *out, block[80], *last;
	size_t outlen;
	int    rc, t, bits, maxbits;

	if (len < 1)
		return (0);
	outlen = CLIENTIP_MAX + (data[0] & 0x1f);
	data++;
	len--;
	peer = part(&data, &len);
	xff = len > 0 ? part(&data, &len) : NULL;
	trusted = part(&data, &len);

	CHECK((out = malloc(outlen)) != NULL);
	t = clientip_trusted(peer, trusted);
	CHECK(t == 0 || t == 1);
	rc = clientip_resolve(peer, xff, trusted, out, outlen);
	CHECK(rc == 1);
	CHECK(fuzz_terminated(out, outlen));
	if (!t || xff == NULL) {
		CHECK(strncmp(out, peer, outlen - 1) == 0);
	} else if (strncmp(out, peer, outlen - 1) != 0) {
		/* Taken from the header: an address, its last entry. */
		last = strrchr(xff, ',') ? strrchr(xff, ',') + 1 : xff;
		last += strspn(last, " \t");
		CHECK(is_ip(out));
		CHECK(strncmp(last, out, strlen(out)) == 0);
		CHECK(last[strlen(out) + strspn(last + strlen(out), " \t")] ==
		    '\0');
	}
	CHECK(clientip_resolve(peer, xff, trusted, out, CLIENTIP_MAX - 1) == 0);
	CHECK(clientip_resolve(NULL, xff, trusted, out, outlen) == 0);
	CHECK(
	    !clientip_trusted(NULL, trusted) && !clientip_trusted(peer, NULL));

	if (is_ip(peer) && strlen(peer) < 60) {
		CHECK(clientip_trusted(peer, peer));
		maxbits = strchr(peer, ':') ? 128 : 32;
		for (bits = 0; bits <= maxbits; bits += 1 + bits / 8) {
			snprintf(block, sizeof(block), " ,%s/%d,", peer, bits);
			CHECK(clientip_trusted(peer, block));
		}
		snprintf(block, sizeof(block), "%s/%d", peer, maxbits + 1);
		CHECK(!clientip_trusted(peer, block));
	}
	/* Inside a block, inside every wider one. */
	if (t && strchr(trusted, '/') == NULL && strchr(trusted, ',') == NULL &&
	    strchr(trusted, ' ') == NULL && strlen(trusted) < 60) {
		maxbits = strchr(trusted, ':') ? 128 : 32;
		for (bits = maxbits; bits >= 0; bits -= 1 + bits / 16) {
			snprintf(block, sizeof(block), "%s/%d", trusted, bits);
			CHECK(clientip_trusted(peer, block));
		}
	}
	free(out);
	free(peer);
	free(xff);
	free(trusted);
	return (0);
}
