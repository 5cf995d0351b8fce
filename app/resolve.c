/*
 * resolve: host names resolved on Kore's task threads (getaddrinfo would
 * block the event loop), for the PostgreSQL pool and the Redis links.
 */

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netdb.h>

#include <stdio.h>
#include <string.h>

#include <kore/kore.h>
#include <kore/tasks.h>

#include "hostlist.h"
#include "resolve.h"

/* A host name resolved on a task thread. */
struct resolve {
	struct kore_task t;
	char		 host[HOSTLIST_MAX * HOSTLIST_NAME];
	char		 addrs[RESOLVE_MAX][INET6_ADDRSTRLEN];
	int		 naddrs;
	int		 gai;
	int		 per_host; /* a list: the first address of each */
	void (*done)(struct resolve *);
	void *arg;
};

/* Up to max addresses of host, IPv4 first; 0 and *gai when it fails. */
static int
resolve_host(
    const char *host, char (*addrs)[INET6_ADDRSTRLEN], int max, int *gai)
{
	struct addrinfo hints, *res, *ai;
	int		pass, n = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((*gai = getaddrinfo(host, NULL, &hints, &res)) != 0)
		return (0);
	/* IPv4 first: loopback services often listen on it only. */
	for (pass = 0; pass < 2; pass++) {
		for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
			if (ai->ai_family != (pass == 0 ? AF_INET : AF_INET6))
				continue;
			if (getnameinfo(ai->ai_addr, ai->ai_addrlen, addrs[n],
				INET6_ADDRSTRLEN, NULL, 0, NI_NUMERICHOST) == 0)
				n++;
		}
	}
	freeaddrinfo(res);
	return (n);
}

/*
 * Name resolution, off the event loop: every address of one host, or for
 * a list (libpq's host=a,b,c) the first address of each name in its
 * place, "" where there is none (a socket directory, or a name that did
 * not resolve).
 */
static int
resolve_run(struct kore_task *t)
{
	struct resolve *r = (struct resolve *)t;
	char		hosts[HOSTLIST_MAX][HOSTLIST_NAME];
	int		i, n, gai, found = 0;

	if (!r->per_host) {
		r->naddrs =
		    resolve_host(r->host, r->addrs, RESOLVE_MAX, &r->gai);
		return (r->naddrs ? KORE_RESULT_OK : KORE_RESULT_ERROR);
	}
	if ((n = hostlist_split(r->host, hosts, HOSTLIST_MAX)) <= 0)
		return (KORE_RESULT_ERROR);
	for (i = 0; i < n; i++) {
		r->addrs[i][0] = '\0';
		if (hostlist_numeric(hosts[i]))
			memcpy(r->addrs[i], hosts[i], strlen(hosts[i]) + 1);
		else if (hostlist_is_name(hosts[i]) &&
		    resolve_host(hosts[i], &r->addrs[i], 1, &gai) == 0) {
			r->gai = gai;
			continue;
		}
		found++;
	}
	/* Every entry in its place; none found is a failure. */
	r->naddrs = found ? n : 0;
	return (found ? KORE_RESULT_OK : KORE_RESULT_ERROR);
}

static void
resolve_cb(struct kore_task *t)
{
	struct resolve *r = (struct resolve *)t;

	if (!kore_task_finished(t))
		return;
	r->done(r);
	kore_task_destroy(t);
	kore_free(r);
}

void
resolve_begin(
    const char *host, int per_host, void (*done)(struct resolve *), void *arg)
{
	struct resolve *r;

	r = kore_calloc(1, sizeof(*r));
	(void)snprintf(r->host, sizeof(r->host), "%s", host);
	r->per_host = per_host;
	r->done = done;
	r->arg = arg;
	kore_task_create(&r->t, resolve_run);
	kore_task_bind_callback(&r->t, resolve_cb);
	kore_task_run(&r->t);
}

/*
 * Resolves host on a task thread, then calls done on the event loop with
 * the addresses (naddrs 0 when it failed).
 */
void
resolve_start(const char *host, void (*done)(struct resolve *), void *arg)
{
	resolve_begin(host, 0, done, arg);
}

int
resolve_count(struct resolve *r)
{
	return (r->naddrs);
}

const char *
resolve_addr(struct resolve *r, int i)
{
	return (i < r->naddrs ? r->addrs[i] : NULL);
}

void *
resolve_arg(struct resolve *r)
{
	return (r->arg);
}

const char *
resolve_error(struct resolve *r)
{
	return (r->gai ? gai_strerror(r->gai) : "no address");
}

/* Every address, in its place for a list (hostlist_conninfo()). */
char (*resolve_addrs(struct resolve *r))[INET6_ADDRSTRLEN]
{
	return (r->addrs);
}

int
resolve_per_host(struct resolve *r)
{
	return (r->per_host);
}
