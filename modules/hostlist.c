/*
 * hostlist: server lists from the configuration.  Plain parsing, no I/O:
 * the adapters (app/db.c, app/redis.c) resolve names and connect.
 */

#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostlist.h"

/*
 * Splits a comma-separated list (libpq's host and port lists) into its
 * fields: their count, 0 for an empty list, -1 when there are more than
 * max or one is too long.
 */
int
hostlist_split(const char *list, char (*out)[HOSTLIST_NAME], int max)
{
	const char *p, *comma;
	size_t	    len;
	int	    n = 0;

	if (list == NULL || *list == '\0')
		return (0);
	for (p = list;; p = comma + 1) {
		comma = strchr(p, ',');
		len = comma ? (size_t)(comma - p) : strlen(p);
		if (n == max || len >= HOSTLIST_NAME)
			return (-1);
		memcpy(out[n], p, len);
		out[n++][len] = '\0';
		if (comma == NULL)
			return (n);
	}
}

int
hostlist_numeric(const char *h)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return (inet_pton(AF_INET, h, buf) == 1 ||
	    inet_pton(AF_INET6, h, buf) == 1);
}

/* A name to resolve: not an address, not a socket directory, not empty. */
int
hostlist_is_name(const char *h)
{
	return (
	    h[0] != '\0' && h[0] != '/' && h[0] != '@' && !hostlist_numeric(h));
}

static int
hostlist_port(const char *s, size_t len)
{
	char buf[8], *end;
	long n;

	if (len == 0 || len >= sizeof(buf))
		return (-1);
	memcpy(buf, s, len);
	buf[len] = '\0';
	n = strtol(buf, &end, 10);
	if (*end != '\0' || n < 1 || n > 65535)
		return (-1);
	return ((int)n);
}

/*
 * host:port,[v6addr]:port,... (REDIS_SENTINELS): the count of entries, a
 * missing port being defport; -1 when malformed or more than max.
 */
int
hostlist_parse(
    const char *list, int defport, struct hostlist_entry *out, int max)
{
	const char *p, *end, *hend, *colon;
	size_t	    len;
	int	    n = 0;

	if (list == NULL || *list == '\0')
		return (0);
	for (p = list;; p = end + 1) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		if (n == max)
			return (-1);
		if (*p == '[') {
			if ((hend = memchr(p, ']', (size_t)(end - p))) == NULL)
				return (-1);
			p++;
			colon = hend + 1 < end ? hend + 1 : NULL;
			if (colon != NULL && *colon != ':')
				return (-1);
		} else {
			colon = memchr(p, ':', (size_t)(end - p));
			hend = colon ? colon : end;
		}
		len = (size_t)(hend - p);
		if (len == 0 || len >= HOSTLIST_NAME)
			return (-1);
		memcpy(out[n].host, p, len);
		out[n].host[len] = '\0';
		out[n].port = defport;
		if (colon != NULL &&
		    (out[n].port = hostlist_port(
			 colon + 1, (size_t)(end - colon - 1))) < 0)
			return (-1);
		n++;
		if (*end == '\0')
			return (n);
	}
}

/*
 * Sentinel's +switch-master message, "<name> <old-ip> <old-port> <new-ip>
 * <new-port>": 1 with the new master in out when it is about name, else 0.
 */
int
hostlist_switch_master(
    const char *msg, const char *name, struct hostlist_entry *out)
{
	char	    f[5][HOSTLIST_NAME];
	int	    n = 0, port;
	const char *p = msg, *sp;
	size_t	    len;

	while (n < 5) {
		sp = strchr(p, ' ');
		len = sp ? (size_t)(sp - p) : strlen(p);
		if (len == 0 || len >= HOSTLIST_NAME)
			return (0);
		memcpy(f[n], p, len);
		f[n++][len] = '\0';
		if (sp == NULL)
			break;
		p = sp + 1;
	}
	if (n != 5 || strcmp(f[0], name) != 0)
		return (0);
	if ((port = hostlist_port(f[4], strlen(f[4]))) < 0)
		return (0);
	(void)snprintf(out->host, sizeof(out->host), "%s", f[3]);
	out->port = port;
	return (1);
}

static int
hostlist_append(char *dst, size_t len, int first, const char *s)
{
	size_t have = strlen(dst);
	int    w;

	w = snprintf(dst + have, len - have, "%s%s", first ? "" : ",", s);
	return (w >= 0 && (size_t)w < len - have);
}

/*
 * libpq's host, hostaddr and port lists for the hosts of a multi-host
 * conninfo whose names were resolved into addrs ("" when a name did not
 * resolve, or for a socket directory): a name without an address is left
 * out, so the others are still tried.  nports is 0 (libpq's default), 1
 * (one for all) or nhosts.  Returns how many hosts are kept, -1 when the
 * lists do not fit in len or the port count is wrong.
 */
int
hostlist_conninfo(char (*hosts)[HOSTLIST_NAME], int nhosts,
    char (*ports)[HOSTLIST_NAME], int nports, char (*addrs)[HOSTLIST_ADDR],
    char *host_out, char *addr_out, char *port_out, size_t len)
{
	int i, kept = 0;

	if (nports != 0 && nports != 1 && nports != nhosts)
		return (-1);
	host_out[0] = addr_out[0] = port_out[0] = '\0';
	for (i = 0; i < nhosts; i++) {
		if (addrs[i][0] == '\0' && hostlist_is_name(hosts[i]))
			continue;
		if (!hostlist_append(host_out, len, kept == 0, hosts[i]) ||
		    !hostlist_append(addr_out, len, kept == 0, addrs[i]))
			return (-1);
		if (nports > 0 &&
		    !hostlist_append(
			port_out, len, kept == 0, ports[nports == 1 ? 0 : i]))
			return (-1);
		kept++;
	}
	return (kept);
}
