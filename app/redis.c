/*
 * redis: hiredis's asynchronous API on Kore's event loop.  Each worker has
 * one command link and one subscriber link (redis_subscribe()); both
 * reconnect on a timer after a drop.  Requests sleep while Redis answers.
 * A host name is resolved on a task thread before each connection (hiredis
 * would resolve it on the event loop), which then goes to the address.
 *
 * With REDIS_SENTINELS (host:port,...) and REDIS_MASTER_NAME, a third link
 * asks a Sentinel where the master is (SENTINEL get-master-addr-by-name),
 * then listens for +switch-master; REDIS_URL gives only the password and
 * the database.  A new master closes both links, which reconnect to it.
 * A lost command link, or a server that is not the master (ROLE, or a
 * READONLY answer), makes the Sentinel link start over with the next
 * Sentinel, which asks again.  The command link takes commands only once
 * ROLE said master.
 */

#include <sys/epoll.h>

#include <arpa/inet.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>

#include <stdlib.h>
#include <string.h>

#include "bangfu.h"

#include "hostlist.h"
#include "resolve.h"

_Static_assert(RV_STRING == REDIS_REPLY_STRING &&
	RV_ARRAY == REDIS_REPLY_ARRAY && RV_INTEGER == REDIS_REPLY_INTEGER &&
	RV_NIL == REDIS_REPLY_NIL && RV_STATUS == REDIS_REPLY_STATUS &&
	RV_ERROR == REDIS_REPLY_ERROR,
    "enum redis_type is hiredis's REDIS_REPLY_*");

#define KORE_TYPE_REDIS 100
#define RECONNECT_MS	500

struct redis_link {
	struct kore_event  evt; /* first: Kore dispatches on it */
	const char	  *name;
	redisAsyncContext *ac;
	int		   fd;
	int		   reading;
	int		   writing;
	int		   mask; /* what epoll watches for it now */
	int		   flush_armed; /* a write is due this turn */
	int		   flushing;
	int		   ready;
	int		   subscriber;
	int		   sentinel;
	int		   timer_armed;
	int		   resolving;
};

/* A command in flight; the request may be gone before the reply comes. */
struct redis_wait {
	struct http_request *req;
	struct call	    *call;
	int		     done;
	struct redis_value  *value;
};

static void redis_link_open(struct redis_link *);
static void redis_link_update(struct redis_link *);
static void redis_event(void *, int);
static void redis_add_read(void *);
static void redis_flush(void *, u_int64_t);
static void redis_del_read(void *);
static void redis_add_write(void *);
static void redis_del_write(void *);
static void redis_cleanup(void *);
static void redis_on_connect(const redisAsyncContext *, int);
static void redis_on_disconnect(const redisAsyncContext *, int);
static void redis_reconnect(void *, u_int64_t);
static void redis_reply(redisAsyncContext *, void *, void *);
static void redis_message(redisAsyncContext *, void *, void *);
static int  redis_send(struct call *, int, const char **, const size_t *, int);
static void redis_ignore(redisAsyncContext *, void *, void *);
static struct redis_value *redis_value_dup(const redisReply *);

static void redis_sentinel_master(redisAsyncContext *, void *, void *);
static void redis_sentinel_message(redisAsyncContext *, void *, void *);
static void redis_role(redisAsyncContext *, void *, void *);
static void redis_sentinel_again(void);

static struct redis_link cmd_link = { .name = "command" };
static struct redis_link sub_link = { .name = "subscriber", .subscriber = 1 };
static struct redis_link sen_link = { .name = "sentinel", .sentinel = 1 };
static const char	*sub_channel;
static void (*sub_cb)(int, const char *);
static struct hostlist_entry sentinels[HOSTLIST_MAX];
static int		     nsentinels, sentinel_i;
static char		     master_name[128];
static char		     sentinel_pass[256];
static char		     redis_host[256] = "127.0.0.1";
static int		     redis_port = 6379;
static char		     redis_user[128];
static char		     redis_pass[256];
static int		     redis_db;

/* Parses redis://[:password@]host[:port][/db] and opens both links. */
int
redis_init(const char *url)
{
	const char *p, *at, *slash, *colon;
	size_t	    len;

	if (strncmp(url, "redis://", 8) != 0) {
		kore_log(LOG_ERR, "redis: REDIS_URL must start with redis://");
		return (KORE_RESULT_ERROR);
	}
	p = url + 8;
	if ((at = strchr(p, '@')) != NULL) {
		/* [user]:password (an ACL user, or the default one). */
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon != NULL) {
			len = (size_t)(at - colon - 1);
			if (len >= sizeof(redis_pass) ||
			    (size_t)(colon - p) >= sizeof(redis_user))
				return (KORE_RESULT_ERROR);
			memcpy(redis_pass, colon + 1, len);
			redis_pass[len] = '\0';
			memcpy(redis_user, p, (size_t)(colon - p));
			redis_user[colon - p] = '\0';
		}
		p = at + 1;
	}
	slash = strchr(p, '/');
	len = slash ? (size_t)(slash - p) : strlen(p);
	if (len == 0 || len >= sizeof(redis_host))
		return (KORE_RESULT_ERROR);
	memcpy(redis_host, p, len);
	redis_host[len] = '\0';
	if ((colon = strrchr(redis_host, ':')) != NULL) {
		redis_port = atoi(colon + 1);
		redis_host[colon - redis_host] = '\0';
	}
	if (slash != NULL && slash[1] != '\0')
		redis_db = atoi(slash + 1);

	if ((p = getenv("REDIS_SENTINELS")) != NULL && *p != '\0') {
		if ((nsentinels = hostlist_parse(
			 p, 26379, sentinels, HOSTLIST_MAX)) <= 0) {
			kore_log(
			    LOG_ERR, "redis: REDIS_SENTINELS: host:port,...");
			return (KORE_RESULT_ERROR);
		}
		(void)snprintf(master_name, sizeof(master_name), "%s",
		    (p = getenv("REDIS_MASTER_NAME")) && *p ? p : "bangfu");
		if ((p = getenv("REDIS_SENTINEL_PASSWORD")) != NULL)
			(void)snprintf(
			    sentinel_pass, sizeof(sentinel_pass), "%s", p);
		/* The data links open once a Sentinel has named the master. */
		sentinel_i = (int)(getpid() % nsentinels);
		redis_link_open(&sen_link);
		return (KORE_RESULT_OK);
	}
	redis_link_open(&cmd_link);
	redis_link_open(&sub_link);
	return (KORE_RESULT_OK);
}

static const char *
redis_link_host(struct redis_link *l)
{
	return (l->sentinel ? sentinels[sentinel_i].host : redis_host);
}

static int
redis_link_port(struct redis_link *l)
{
	return (l->sentinel ? sentinels[sentinel_i].port : redis_port);
}

/* Opens the link, or closes it to have it opened again (to the master). */
static void
redis_link_restart(struct redis_link *l)
{
	if (l->ac != NULL)
		redisAsyncDisconnect(l->ac); /* reconnects on its timer */
	else if (!l->timer_armed && !l->resolving)
		redis_link_open(l);
}

/* The master is at host:port now: the data links go there. */
static void
redis_master_at(const char *host, int port)
{
	if (strcmp(host, redis_host) == 0 && port == redis_port &&
	    (cmd_link.ac != NULL || cmd_link.timer_armed || cmd_link.resolving))
		return;
	if (strlen(host) >= sizeof(redis_host))
		return;
	kore_log(LOG_NOTICE, "redis: master %s is at %s:%d", master_name, host,
	    port);
	(void)snprintf(redis_host, sizeof(redis_host), "%s", host);
	redis_port = port;
	redis_link_restart(&cmd_link);
	redis_link_restart(&sub_link);
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
	redis_master_at(reply->element[0]->str, atoi(reply->element[1]->str));
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
		redis_master_at(e.host, e.port);
	}
}

/* The command link takes commands once the server says it is the master. */
static void
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
	    redis_host, redis_port);
	redisAsyncDisconnect(ac);
	redis_sentinel_again();
}

/*
 * Asks a Sentinel again, the next one: the link starts over (a subscribed
 * link takes no other command).  Not while it is still connecting.
 */
static void
redis_sentinel_again(void)
{
	if (nsentinels == 0 || (sen_link.ac != NULL && !sen_link.ready))
		return;
	redis_link_restart(&sen_link);
}

int
redis_ready(void)
{
	return (cmd_link.ready);
}

static void redis_link_connect(struct redis_link *, const char *);

static int
redis_numeric(const char *h)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return (inet_pton(AF_INET, h, buf) == 1 ||
	    inet_pton(AF_INET6, h, buf) == 1);
}

static void
redis_resolved(struct resolve *r)
{
	struct redis_link *l = resolve_arg(r);

	l->resolving = 0;
	if (resolve_count(r) == 0) {
		kore_log(LOG_NOTICE, "redis: %s link: cannot resolve %s: %s",
		    l->name, redis_link_host(l), resolve_error(r));
		l->timer_armed = 1;
		kore_timer_add(redis_reconnect, RECONNECT_MS, l, 1);
		return;
	}
	redis_link_connect(l, resolve_addr(r, 0));
}

/* Opens the link: at once to an address, after resolution to a name. */
static void
redis_link_open(struct redis_link *l)
{
	l->timer_armed = 0;
	if (redis_numeric(redis_link_host(l))) {
		redis_link_connect(l, redis_link_host(l));
	} else if (!l->resolving) {
		l->resolving = 1;
		resolve_start(redis_link_host(l), redis_resolved, l);
	}
}

static void
redis_link_connect(struct redis_link *l, const char *addr)
{
	redisAsyncContext *ac;
	char		   db[16];
	const char	  *argv[3];

	ac = redisAsyncConnect(addr, redis_link_port(l));
	if (ac == NULL || ac->err) {
		kore_log(LOG_NOTICE, "redis: %s link: %s", l->name,
		    ac ? ac->errstr : "out of memory");
		if (ac != NULL)
			redisAsyncFree(ac);
		l->timer_armed = 1;
		kore_timer_add(redis_reconnect, RECONNECT_MS, l, 1);
		return;
	}

	l->ac = ac;
	l->fd = ac->c.fd;
	l->evt.type = KORE_TYPE_REDIS;
	l->evt.flags = 0;
	l->evt.handle = redis_event;
	l->reading = l->writing = l->mask = 0;

	ac->data = l;
	ac->ev.data = l;
	ac->ev.addRead = redis_add_read;
	ac->ev.delRead = redis_del_read;
	ac->ev.addWrite = redis_add_write;
	ac->ev.delWrite = redis_del_write;
	ac->ev.cleanup = redis_cleanup;
	redisAsyncSetConnectCallback(ac, redis_on_connect);
	redisAsyncSetDisconnectCallback(ac, redis_on_disconnect);

	/* Queued now, sent once connected, answered before anything else. */
	if (l->sentinel) {
		if (sentinel_pass[0] != '\0') {
			argv[0] = "AUTH";
			argv[1] = sentinel_pass;
			redisAsyncCommandArgv(
			    ac, redis_ignore, NULL, 2, argv, NULL);
		}
		argv[0] = "SENTINEL";
		argv[1] = "get-master-addr-by-name";
		argv[2] = master_name;
		redisAsyncCommandArgv(
		    ac, redis_sentinel_master, NULL, 3, argv, NULL);
		argv[0] = "SUBSCRIBE";
		argv[1] = "+switch-master";
		redisAsyncCommandArgv(
		    ac, redis_sentinel_message, NULL, 2, argv, NULL);
		return;
	}
	if (redis_pass[0] != '\0') {
		argv[0] = "AUTH";
		argv[1] = redis_user[0] ? redis_user : redis_pass;
		argv[2] = redis_pass;
		redisAsyncCommandArgv(
		    ac, redis_ignore, NULL, redis_user[0] ? 3 : 2, argv, NULL);
	}
	if (redis_db != 0) {
		(void)snprintf(db, sizeof(db), "%d", redis_db);
		argv[0] = "SELECT";
		argv[1] = db;
		redisAsyncCommandArgv(ac, redis_ignore, NULL, 2, argv, NULL);
	}
	if (l->subscriber) {
		if (sub_channel == NULL)
			return;
		argv[0] = "SUBSCRIBE";
		argv[1] = sub_channel;
		redisAsyncCommandArgv(ac, redis_message, NULL, 2, argv, NULL);
	} else if (nsentinels > 0) {
		argv[0] = "ROLE";
		redisAsyncCommandArgv(ac, redis_role, NULL, 1, argv, NULL);
	}
}

static void
redis_reconnect(void *arg, u_int64_t now)
{
	(void)now;
	redis_link_open(arg);
}

/*
 * Level-triggered: hiredis reads one chunk per call.  epoll hears of a
 * change of what is watched only: a command costs no system call here.
 */
static void
redis_link_update(struct redis_link *l)
{
	int mask;

	mask = (l->reading ? EPOLLIN : 0) | (l->writing ? EPOLLOUT : 0);
	if (mask == l->mask)
		return;
	if (mask == 0)
		kore_platform_disable_read(l->fd);
	else
		kore_platform_event_schedule(l->fd, mask, 0, l);
	l->mask = mask;
}

static void
redis_add_read(void *arg)
{
	struct redis_link *l = arg;

	l->reading = 1;
	redis_link_update(l);
}

/*
 * The commands of one turn of the event loop leave together, early in the
 * next turn: one write for all, and no EPOLLOUT to arm and disarm for each.
 * epoll waits for writability only while connecting, or when the socket's
 * buffer was full.
 */
static void
redis_flush(void *arg, u_int64_t now)
{
	struct redis_link *l = arg;

	(void)now;
	l->flush_armed = 0;
	if (l->ac == NULL)
		return;
	l->flushing = 1;
	redisAsyncHandleWrite(l->ac);
	l->flushing = 0;
}

static void
redis_del_read(void *arg)
{
	struct redis_link *l = arg;

	l->reading = 0;
	redis_link_update(l);
}

static void
redis_add_write(void *arg)
{
	struct redis_link *l = arg;

	if (l->ac != NULL && (l->ac->c.flags & REDIS_CONNECTED) &&
	    !l->flushing) {
		if (!l->flush_armed) {
			l->flush_armed = 1;
			kore_timer_add(redis_flush, 0, l, KORE_TIMER_ONESHOT);
		}
		return;
	}
	l->writing = 1;
	redis_link_update(l);
}

static void
redis_del_write(void *arg)
{
	struct redis_link *l = arg;

	l->writing = 0;
	redis_link_update(l);
}

static void
redis_cleanup(void *arg)
{
	struct redis_link *l = arg;

	l->reading = l->writing = 0;
	redis_link_update(l);
	l->ac = NULL;
	l->ready = 0;
}

static void
redis_event(void *obj, int err)
{
	struct redis_link *l = obj;
	int		   flags;

	flags = l->evt.flags;
	l->evt.flags &= ~(KORE_EVENT_READ | KORE_EVENT_WRITE);

	/* On a hang-up, reading is what lets hiredis see the EOF. */
	if (l->ac != NULL && ((flags & KORE_EVENT_READ) || err))
		redisAsyncHandleRead(l->ac);
	if (l->ac != NULL && (flags & KORE_EVENT_WRITE))
		redisAsyncHandleWrite(l->ac);
}

/*
 * With Sentinels: a lost Sentinel link tries the next one; a lost command
 * link asks where the master is now.
 */
static void
redis_link_lost(struct redis_link *l)
{
	if (l->sentinel)
		sentinel_i = (sentinel_i + 1) % nsentinels;
	else if (l == &cmd_link)
		redis_sentinel_again();
}

static void
redis_on_connect(const redisAsyncContext *ac, int status)
{
	struct redis_link *l = ac->data;

	if (status != REDIS_OK) {
		kore_log(LOG_NOTICE, "redis: %s link: connect: %s", l->name,
		    ac->errstr);
		/* hiredis frees the context after this callback. */
		l->ac = NULL;
		l->ready = 0;
		redis_link_lost(l);
		if (!l->timer_armed) {
			l->timer_armed = 1;
			kore_timer_add(redis_reconnect, RECONNECT_MS, l, 1);
		}
		return;
	}
	if (!l->subscriber && !l->sentinel && nsentinels == 0)
		l->ready = 1;
}

static void
redis_on_disconnect(const redisAsyncContext *ac, int status)
{
	struct redis_link *l = ac->data;

	(void)status;
	kore_log(LOG_NOTICE, "redis: %s link lost", l->name);
	l->ac = NULL;
	l->ready = 0;
	/* Messages may be missed while we are away: the subscriber is told. */
	if (l->subscriber && sub_cb != NULL)
		sub_cb(REDIS_SUB_LOST, NULL);
	redis_link_lost(l);
	if (!l->timer_armed) {
		l->timer_armed = 1;
		kore_timer_add(redis_reconnect, RECONNECT_MS, l, 1);
	}
}

/*
 * The subscriber's replies: the SUBSCRIBE confirmation (messages may have
 * been missed before it) and each message, passed on as they come.
 */
static void
redis_message(redisAsyncContext *ac, void *r, void *priv)
{
	struct redis_link *l = ac->data;
	redisReply	  *reply = r;

	(void)priv;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements < 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(reply->element[0]->str, "subscribe") == 0) {
		if (sub_cb != NULL)
			sub_cb(REDIS_SUB_READY, NULL);
		l->ready = 1;
	} else if (strcmp(reply->element[0]->str, "message") == 0 &&
	    sub_cb != NULL) {
		sub_cb(REDIS_SUB_MESSAGE,
		    reply->element[2]->type == REDIS_REPLY_STRING
			? reply->element[2]->str
			: NULL);
	}
}

/*
 * The one channel of the subscriber link, and who hears it: set before
 * redis_init() connects.
 */
void
redis_subscribe(const char *channel, void (*cb)(int, const char *))
{
	sub_channel = channel;
	sub_cb = cb;
}

/* Whether the subscription is live: every message can reach us. */
int
redis_subscribed(void)
{
	return (sub_link.ready);
}

static void
redis_ignore(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply *reply = r;

	(void)ac;
	(void)priv;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		kore_log(LOG_ERR, "redis: %s", reply->str);
}

/* Fire and forget: msg to every subscriber of channel. */
void
redis_publish(const char *channel, const char *msg)
{
	const char *argv[3];

	if (cmd_link.ac == NULL || !cmd_link.ready) {
		metrics_count("redis_errors");
		return;
	}
	argv[0] = "PUBLISH";
	argv[1] = channel;
	argv[2] = msg;
	redisAsyncCommandArgv(cmd_link.ac, redis_ignore, NULL, 3, argv, NULL);
}

/*
 * Sends one command for the request, then reports its reply: DB_PENDING
 * while asleep, DB_OK with the reply in c->rv (which the caller owns until
 * the next command), DB_ERROR when Redis is unreachable or answers an error.
 */
int
redis_poll(struct call *c, int argc, const char **argv, const size_t *lens)
{
	struct redis_wait *w;
	int		   rc;

	if ((w = c->rw) == NULL)
		return (redis_send(c, argc, argv, lens, 1));
	if (!w->done)
		return (DB_PENDING);

	c->rw = NULL;
	c->rv = w->value;
	kore_free(w);
	/* Redis lost its scripts (a restart): send the script itself once. */
	if (c->rv != NULL && c->rv->type == RV_ERROR &&
	    strncmp(c->rv->str, "NOSCRIPT", 8) == 0 &&
	    strcmp(argv[0], "EVAL") == 0)
		return (redis_send(c, argc, argv, lens, 0));
	rc = DB_OK;
	if (c->rv == NULL || c->rv->type == RV_ERROR) {
		if (c->rv != NULL)
			kore_log(LOG_ERR, "redis: %s", c->rv->str);
		metrics_count("redis_errors");
		rc = DB_ERROR;
	}
	return (rc);
}

/*
 * The SHA1 of a script, hex, kept by the script's address: our scripts are
 * static strings, so EVAL becomes EVALSHA and the script text is sent only
 * when Redis does not know it yet.
 */
static const char *
redis_script_sha(const char *script)
{
	static struct {
		const char *script;
		char	    sha[41];
	} shas[32];
	static int    nshas;
	unsigned char d[SHA_DIGEST_LENGTH];
	int	      i;

	for (i = 0; i < nshas; i++) {
		if (shas[i].script == script)
			return (shas[i].sha);
	}
	if (nshas == (int)(sizeof(shas) / sizeof(shas[0])))
		return (NULL);
	SHA1((const unsigned char *)script, strlen(script), d);
	for (i = 0; i < SHA_DIGEST_LENGTH; i++)
		(void)snprintf(&shas[nshas].sha[i * 2], 3, "%02x", d[i]);
	shas[nshas].script = script;
	return (shas[nshas++].sha);
}

static int
redis_send(
    struct call *c, int argc, const char **argv, const size_t *lens, int by_sha)
{
	struct redis_wait *w;
	const char	  *args[64], *sha;
	int		   i;

	if (c->rv != NULL) {
		redis_value_free(c->rv);
		c->rv = NULL;
	}
	if (cmd_link.ac == NULL || !cmd_link.ready || argc > 64) {
		metrics_count("redis_errors");
		return (DB_ERROR);
	}
	for (i = 0; i < argc; i++)
		args[i] = argv[i];
	if (by_sha && lens == NULL && argc >= 2 &&
	    strcmp(argv[0], "EVAL") == 0 &&
	    (sha = redis_script_sha(argv[1])) != NULL) {
		args[0] = "EVALSHA";
		args[1] = sha;
	}
	w = kore_calloc(1, sizeof(*w));
	w->req = c->req;
	w->call = c;
	if (redisAsyncCommandArgv(
		cmd_link.ac, redis_reply, w, argc, args, lens) != REDIS_OK) {
		kore_free(w);
		metrics_count("redis_errors");
		return (DB_ERROR);
	}
	c->rw = w;
	http_request_sleep(c->req);
	return (DB_PENDING);
}

static void
redis_reply(redisAsyncContext *ac, void *r, void *priv)
{
	struct redis_wait *w = priv;

	w->done = 1;
	w->value = r ? redis_value_dup(r) : NULL;
	/* A master turned replica under us: find the new one. */
	if (nsentinels > 0 && w->value != NULL &&
	    w->value->type == REDIS_REPLY_ERROR &&
	    strncmp(w->value->str, "READONLY", 8) == 0) {
		redisAsyncDisconnect(ac);
		redis_sentinel_again();
	}
	if (w->req == NULL) {
		/* The request went away while we waited. */
		redis_value_free(w->value);
		kore_free(w);
		return;
	}
	http_request_wakeup(w->req);
}

/* Called when a request is freed with a command in flight. */
void
redis_wait_orphan(struct call *c)
{
	if (c->rw != NULL) {
		c->rw->req = NULL;
		c->rw->call = NULL;
		c->rw = NULL;
	}
	if (c->rv != NULL) {
		redis_value_free(c->rv);
		c->rv = NULL;
	}
}

static struct redis_value *
redis_value_dup(const redisReply *r)
{
	struct redis_value *v;
	size_t		    i;

	v = kore_calloc(1, sizeof(*v));
	v->type = (enum redis_type)r->type;
	v->integer = r->integer;
	if (r->str != NULL) {
		v->len = r->len;
		v->str = kore_malloc(r->len + 1);
		memcpy(v->str, r->str, r->len);
		v->str[r->len] = '\0';
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
		v->elements = r->elements;
		v->element = kore_calloc(r->elements, sizeof(*v->element));
		for (i = 0; i < r->elements; i++)
			v->element[i] = redis_value_dup(r->element[i]);
	}
	return (v);
}

void
redis_value_free(struct redis_value *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->elements; i++)
		redis_value_free(v->element[i]);
	kore_free(v->element);
	kore_free(v->str);
	kore_free(v);
}
