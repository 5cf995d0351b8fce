/*
 * redis_sentinel: where the Redis master is.  With REDIS_SENTINELS
 * (host:port,...) and REDIS_MASTER_NAME, a link of its own asks a Sentinel
 * where the master is (SENTINEL get-master-addr-by-name), then listens for
 * +switch-master; REDIS_URL gives only the password and the database.  The
 * answer goes to app/redis.c (the callback given to redis_sentinel_init),
 * whose links then reconnect to the master.  A lost command link, or a
 * server that is not the master (ROLE, or a READONLY answer), makes the
 * Sentinel link start over with the next Sentinel, which asks again.
 */

#include <stdlib.h>
#include <string.h>

#include <kore/kore.h>

#include "hostlist.h"
#include "redis_link.h"
#include "redis_sentinel.h"

static void	   redis_sentinel_master(redisAsyncContext *, void *, void *);
static void	   redis_sentinel_message(redisAsyncContext *, void *, void *);
static void	   redis_sentinel_hello(struct redis_link *);
static void	   redis_sentinel_lost(struct redis_link *, int);
static const char *redis_sentinel_host(void);
static int	   redis_sentinel_port(void);

static struct redis_link sen_link = {
	.name = "sentinel",
	.host = redis_sentinel_host,
	.port = redis_sentinel_port,
	.hello = redis_sentinel_hello,
	.lost = redis_sentinel_lost,
};
static struct hostlist_entry sentinels[HOSTLIST_MAX];
static int		     nsentinels, sentinel_i;
static char		     master_name[128];
static char		     sentinel_pass[256];
/* Where the master is, told to app/redis.c. */
static void (*master_at)(const char *, int);

/*
 * Reads the Sentinels of list (host:port,...), the master's name and the
 * Sentinels' password, and opens the Sentinel link; the data links open
 * once a Sentinel has named the master (at).
 */
int
redis_sentinel_init(const char *list, void (*at)(const char *, int))
{
	const char *p;

	if ((nsentinels = hostlist_parse(
		 list, 26379, sentinels, HOSTLIST_MAX)) <= 0) {
		kore_log(LOG_ERR, "redis: REDIS_SENTINELS: host:port,...");
		return (KORE_RESULT_ERROR);
	}
	(void)snprintf(master_name, sizeof(master_name), "%s",
	    (p = getenv("REDIS_MASTER_NAME")) && *p ? p : "bangfu");
	if ((p = getenv("REDIS_SENTINEL_PASSWORD")) != NULL)
		(void)snprintf(sentinel_pass, sizeof(sentinel_pass), "%s", p);
	master_at = at;
	sentinel_i = (int)(getpid() % nsentinels);
	redis_link_open(&sen_link);
	return (KORE_RESULT_OK);
}

/* Whether the master is found through Sentinels. */
int
redis_sentinels(void)
{
	return (nsentinels);
}

const char *
redis_sentinel_name(void)
{
	return (master_name);
}

static const char *
redis_sentinel_host(void)
{
	return (sentinels[sentinel_i].host);
}

static int
redis_sentinel_port(void)
{
	return (sentinels[sentinel_i].port);
}

/* Queued now, sent once connected, answered before anything else. */
static void
redis_sentinel_hello(struct redis_link *l)
{
	redisAsyncContext *ac = l->ac;
	const char	  *argv[3];

	if (sentinel_pass[0] != '\0') {
		argv[0] = "AUTH";
		argv[1] = sentinel_pass;
		redisAsyncCommandArgv(ac, redis_ignore, NULL, 2, argv, NULL);
	}
	argv[0] = "SENTINEL";
	argv[1] = "get-master-addr-by-name";
	argv[2] = master_name;
	redisAsyncCommandArgv(ac, redis_sentinel_master, NULL, 3, argv, NULL);
	argv[0] = "SUBSCRIBE";
	argv[1] = "+switch-master";
	redisAsyncCommandArgv(ac, redis_sentinel_message, NULL, 2, argv, NULL);
}

/* A lost Sentinel link tries the next one. */
static void
redis_sentinel_lost(struct redis_link *l, int up)
{
	(void)l;
	(void)up;
	sentinel_i = (sentinel_i + 1) % nsentinels;
}

/* SENTINEL get-master-addr-by-name: [ip, port], or nil when unknown. */
static void
redis_sentinel_master(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply *reply = r;

	(void)priv;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[1]->type != REDIS_REPLY_STRING) {
		kore_log(LOG_NOTICE, "redis: sentinel knows no master %s",
		    master_name);
		/* Ask the next one, after the reconnection delay. */
		redisAsyncDisconnect(ac);
		return;
	}
	master_at(reply->element[0]->str, atoi(reply->element[1]->str));
}

/* +switch-master "<name> <old-ip> <old-port> <new-ip> <new-port>". */
static void
redis_sentinel_message(redisAsyncContext *ac, void *r, void *priv)
{
	struct redis_link    *l = ac->data;
	redisReply	     *reply = r;
	struct hostlist_entry e;

	(void)priv;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements < 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(reply->element[0]->str, "subscribe") == 0) {
		l->ready = 1;
	} else if (strcmp(reply->element[0]->str, "message") == 0 &&
	    reply->element[2]->type == REDIS_REPLY_STRING &&
	    hostlist_switch_master(reply->element[2]->str, master_name, &e)) {
		master_at(e.host, e.port);
	}
}

/* The command link takes commands once the server says it is the master. */
void
redis_role(redisAsyncContext *ac, void *r, void *priv)
{
	struct redis_link *l = ac->data;
	redisReply	  *reply = r;

	(void)priv;
	if (reply != NULL && reply->type == REDIS_REPLY_ARRAY &&
	    reply->elements > 0 &&
	    reply->element[0]->type == REDIS_REPLY_STRING &&
	    strcmp(reply->element[0]->str, "master") == 0) {
		l->ready = 1;
		return;
	}
	kore_log(LOG_NOTICE, "redis: %s:%d is not the master: asking again",
	    l->host(), l->port());
	redisAsyncDisconnect(ac);
	redis_sentinel_again();
}

/*
 * Asks a Sentinel again, the next one: the link starts over (a subscribed
 * link takes no other command).  Not while it is still connecting.
 */
void
redis_sentinel_again(void)
{
	if (nsentinels == 0 || (sen_link.ac != NULL && !sen_link.ready))
		return;
	redis_link_restart(&sen_link);
}
