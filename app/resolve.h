/*
 * resolve: host names resolved on a task thread, the answer handed back on
 * the event loop (app/resolve.c).
 */

#ifndef RESOLVE_H
#define RESOLVE_H

#include <netinet/in.h>

#include "hostlist.h"

#define RESOLVE_MAX HOSTLIST_MAX

struct resolve;
void resolve_start(const char *, void (*)(struct resolve *), void *);
void resolve_begin(const char *, int, void (*)(struct resolve *), void *);
int  resolve_count(struct resolve *);
const char *resolve_addr(struct resolve *, int);
const char *resolve_error(struct resolve *);
void	   *resolve_arg(struct resolve *);
int	    resolve_per_host(struct resolve *);
char (*resolve_addrs(struct resolve *))[INET6_ADDRSTRLEN];

#endif
