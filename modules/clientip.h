/*
 * clientip: which address a request comes from.  The peer's, unless the
 * peer is a trusted proxy, in which case the last X-Forwarded-For entry.
 */

#ifndef CLIENTIP_H
#define CLIENTIP_H

#include <stddef.h>

#define CLIENTIP_MAX 46 /* INET6_ADDRSTRLEN */

int clientip_trusted(const char *, const char *);
int clientip_resolve(const char *, const char *, const char *, char *, size_t);

#endif
