/*
 * clientip: the TRUSTED_PROXIES rule of the API contract.  Only the last
 * X-Forwarded-For entry is believed: it was written by our own proxy, while
 * anything before it came from the client and may be forged.
 */

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clientip.h"

static int clientip_in(const char *, const char *, size_t);
static int clientip_parse(const char *, unsigned char *, int *);

static int
clientip_parse(const char *s, unsigned char *out, int *family)
{
	if (inet_pton(AF_INET, s, out) == 1) {
		*family = AF_INET;
		return (1);
	}
	if (inet_pton(AF_INET6, s, out) == 1) {
		*family = AF_INET6;
		return (1);
	}
	return (0);
}

/* addr inside the entry ent[0..len): an address or a CIDR block. */
static int
clientip_in(const char *addr, const char *ent, size_t len)
{
	char	      buf[64], *slash;
	unsigned char a[16], n[16];
	int	      fa, fn, bits, maxbits, i;
	long	      v;

	if (len == 0 || len >= sizeof(buf))
		return (0);
	memcpy(buf, ent, len);
	buf[len] = '\0';

	bits = -1;
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash++ = '\0';
		if (*slash == '\0' ||
		    strspn(slash, "0123456789") != strlen(slash) ||
		    strlen(slash) > 3)
			return (0);
		v = strtol(slash, NULL, 10);
		bits = (int)v;
	}
	if (!clientip_parse(addr, a, &fa) || !clientip_parse(buf, n, &fn))
		return (0);
	if (fa != fn)
		return (0);
	maxbits = (fa == AF_INET) ? 32 : 128;
	if (bits == -1)
		bits = maxbits;
	if (bits > maxbits)
		return (0);
	for (i = 0; bits > 0; i++, bits -= 8) {
		if (bits >= 8) {
			if (a[i] != n[i])
				return (0);
		} else {
			if ((a[i] ^ n[i]) & (0xff << (8 - bits)))
				return (0);
		}
	}
	return (1);
}

/* Whether addr is in the comma-separated list of addresses and blocks. */
int
clientip_trusted(const char *addr, const char *list)
{
	size_t len;

	if (addr == NULL || list == NULL)
		return (0);
	while (*list != '\0') {
		list += strspn(list, " ,");
		len = strcspn(list, " ,");
		if (len > 0 && clientip_in(addr, list, len))
			return (1);
		list += len;
	}
	return (0);
}

/*
 * Writes the client address to out.  xff may be NULL.  A trusted peer with
 * a malformed last entry counts as the client itself.
 */
int
clientip_resolve(const char *peer, const char *xff, const char *trusted,
    char *out, size_t outlen)
{
	const char   *last, *end;
	char	      buf[CLIENTIP_MAX + 1];
	unsigned char tmp[16];
	size_t	      len;
	int	      fam;

	if (peer == NULL || outlen < CLIENTIP_MAX)
		return (0);
	snprintf(out, outlen, "%s", peer);
	if (xff == NULL || !clientip_trusted(peer, trusted))
		return (1);

	if ((last = strrchr(xff, ',')) != NULL)
		last++;
	else
		last = xff;
	last += strspn(last, " \t");
	end = last + strcspn(last, " \t");
	len = (size_t)(end - last);
	if (len == 0 || len > CLIENTIP_MAX || end[strspn(end, " \t")] != '\0')
		return (1);
	memcpy(buf, last, len);
	buf[len] = '\0';
	if (!clientip_parse(buf, tmp, &fam))
		return (1);
	snprintf(out, outlen, "%s", buf);
	return (1);
}
