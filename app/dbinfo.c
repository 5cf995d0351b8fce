/*
 * dbinfo: the PostgreSQL pool's connection parameters.  DATABASE_URL as
 * libpq parses it, and the host names in it resolved on a task thread
 * (app/resolve.c) into hostaddr=, since libpq would resolve them while
 * blocking the worker.  A list (host=a,b,c) keeps its order and ports.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>
#include <libpq-fe.h>

#include "dbinfo.h"
#include "hostlist.h"
#include "resolve.h"

/* The connection parameters, with room for host and hostaddr. */
static const char **conn_kw;
static const char **conn_val;
static int	    host_i = -1, hostaddr_i = -1, port_i = -1;
static char	    db_host[HOSTLIST_MAX * HOSTLIST_NAME];
/* A multi-host conninfo (host=a,b,c port=1,2,3): its lists split. */
static char db_hosts[HOSTLIST_MAX][HOSTLIST_NAME];
static char db_ports[HOSTLIST_MAX][HOSTLIST_NAME];
static int  ndb_hosts, ndb_ports;
static int  need_resolve;
static int  addr_ready, resolving;
static void (*resolved_cb)(int);
static char addr_hosts[RESOLVE_MAX * (HOSTLIST_NAME + 1)];
static char addr_list[sizeof(addr_hosts)];
static char addr_ports[sizeof(addr_hosts)];
/* The configured lists, which the resolved ones replace in conn_val. */
static const char *conf_host, *conf_port;

static int connect_ms = 2000;
/* Parses DATABASE_URL; 0 (logged) when it cannot be used. */
int
dbinfo_load(const char *url)
{
	PQconninfoOption *opts, *o;
	char		 *err = NULL;
	int		  n, i, has_hostaddr = 0;
	const char	 *ports = NULL;

	if ((opts = PQconninfoParse(url, &err)) == NULL) {
		kore_log(LOG_ERR, "db: DATABASE_URL: %s", err ? err : "?");
		PQfreemem(err);
		return (0);
	}
	for (n = 0, o = opts; o->keyword != NULL; o++)
		n++;
	conn_kw = kore_calloc(n + 3, sizeof(*conn_kw));
	conn_val = kore_calloc(n + 3, sizeof(*conn_val));
	for (i = 0, o = opts; o->keyword != NULL; o++) {
		if (o->val == NULL || o->val[0] == '\0')
			continue;
		if (strcmp(o->keyword, "connect_timeout") == 0 &&
		    atoi(o->val) > 0)
			connect_ms = atoi(o->val) * 1000;
		if (strcmp(o->keyword, "hostaddr") == 0)
			has_hostaddr = 1;
		if (strcmp(o->keyword, "host") == 0) {
			host_i = i;
			(void)snprintf(db_host, sizeof(db_host), "%s", o->val);
		}
		if (strcmp(o->keyword, "port") == 0)
			port_i = i;
		conn_kw[i] = kore_strdup(o->keyword);
		conn_val[i++] = kore_strdup(o->val);
		if (port_i == i - 1)
			ports = conn_val[port_i];
	}
	PQconninfoFree(opts);
	conf_host = host_i >= 0 ? conn_val[host_i] : NULL;
	conf_port = ports;
	if ((ndb_hosts = hostlist_split(db_host, db_hosts, HOSTLIST_MAX)) < 0 ||
	    (ndb_ports = hostlist_split(ports, db_ports, HOSTLIST_MAX)) < 0) {
		kore_log(LOG_ERR, "db: DATABASE_URL: more than %d hosts",
		    HOSTLIST_MAX);
		return (0);
	}
	/*
	 * Names (not socket directories, not addresses) are resolved on a
	 * task thread; a list of addresses goes to libpq as it is.
	 */
	for (i = 0; i < ndb_hosts && !has_hostaddr; i++) {
		if (hostlist_is_name(db_hosts[i]))
			need_resolve = 1;
	}
	/* libpq's connect_timeout holds for each host: ours for them all. */
	if (ndb_hosts > 1)
		connect_ms *= ndb_hosts;
	i = 0;
	while (conn_kw[i] != NULL)
		i++;
	if (need_resolve) {
		hostaddr_i = i;
		conn_kw[i++] = "hostaddr";
	}
	conn_kw[i] = NULL;
	conn_val[i] = NULL;
	return (1);
}

static void
dbinfo_resolved(struct resolve *r)
{
	size_t hl = 0, al = 0;
	int    i;

	resolving = 0;
	if (resolve_count(r) == 0) {
		kore_log(LOG_NOTICE, "db: cannot resolve %s: %s", db_host,
		    resolve_error(r));
	} else if (resolve_per_host(r)) {
		/* The hosts that resolved, each at its address and port. */
		if (hostlist_conninfo(db_hosts, ndb_hosts, db_ports, ndb_ports,
			resolve_addrs(r), addr_hosts, addr_list, addr_ports,
			sizeof(addr_list)) > 0) {
			conn_val[host_i] = addr_hosts;
			conn_val[hostaddr_i] = addr_list;
			if (ndb_ports > 0)
				conn_val[port_i] = addr_ports;
			addr_ready = 1;
		}
	} else {
		addr_hosts[0] = addr_list[0] = '\0';
		for (i = 0; i < resolve_count(r); i++) {
			hl += (size_t)snprintf(addr_hosts + hl,
			    sizeof(addr_hosts) - hl, "%s%s", i ? "," : "",
			    db_host);
			al += (size_t)snprintf(addr_list + al,
			    sizeof(addr_list) - al, "%s%s", i ? "," : "",
			    resolve_addr(r, i));
		}
		conn_val[host_i] = addr_hosts;
		conn_val[hostaddr_i] = addr_list;
		addr_ready = 1;
	}
	resolved_cb(addr_ready);
}

/* Whether the parameters can be connected to as they are. */
int
dbinfo_ready(void)
{
	return (!need_resolve || addr_ready);
}

/* Resolves the names, once at a time; done(ready) on the event loop. */
void
dbinfo_resolve(void (*done)(int))
{
	resolved_cb = done;
	if (!resolving) {
		resolving = 1;
		resolve_begin(db_host, ndb_hosts > 1, dbinfo_resolved, NULL);
	}
}

/* A connection failed: the address may have moved; resolve next time. */
void
dbinfo_forget(void)
{
	addr_ready = 0;
}

int
dbinfo_connect_ms(void)
{
	return (connect_ms);
}

const char *const *
dbinfo_keywords(void)
{
	return (conn_kw);
}

const char *const *
dbinfo_values(void)
{
	return (conn_val);
}
