/*
 * redis_link: one hiredis link on Kore's event loop, hiredis's asynchronous
 * API driven by epoll.  A host name is resolved on a task thread before
 * each connection (hiredis would resolve it on the event loop), which then
 * goes to the address.  A link reconnects on a timer after a drop; its
 * owner (app/redis.c, app/redis_sentinel.c) says where it goes, what it
 * sends first and what a drop means (struct redis_link's hooks).
 */

#include <sys/epoll.h>

#include <arpa/inet.h>

#include <kore/kore.h>

#include "redis_link.h"
#include "resolve.h"

#define KORE_TYPE_REDIS 100

static void redis_link_connect(struct redis_link *, const char *);
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

/* Opens the link, or closes it to have it opened again (to the master). */
void
redis_link_restart(struct redis_link *l)
{
	if (l->ac != NULL)
		redisAsyncDisconnect(l->ac); /* reconnects on its timer */
	else if (!l->timer_armed && !l->resolving)
		redis_link_open(l);
}

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
		    l->name, l->host(), resolve_error(r));
		l->timer_armed = 1;
		kore_timer_add(redis_reconnect, RECONNECT_MS, l, 1);
		return;
	}
	redis_link_connect(l, resolve_addr(r, 0));
}

/* Opens the link: at once to an address, after resolution to a name. */
void
redis_link_open(struct redis_link *l)
{
	l->timer_armed = 0;
	if (redis_numeric(l->host())) {
		redis_link_connect(l, l->host());
	} else if (!l->resolving) {
		l->resolving = 1;
		resolve_start(l->host(), redis_resolved, l);
	}
}

static void
redis_link_connect(struct redis_link *l, const char *addr)
{
	redisAsyncContext *ac;

	ac = redisAsyncConnect(addr, l->port());
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
	l->hello(l);
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
		l->lost(l, 0);
		if (!l->timer_armed) {
			l->timer_armed = 1;
			kore_timer_add(redis_reconnect, RECONNECT_MS, l, 1);
		}
		return;
	}
	if (l->ready_on_connect)
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
	l->lost(l, 1);
	if (!l->timer_armed) {
		l->timer_armed = 1;
		kore_timer_add(redis_reconnect, RECONNECT_MS, l, 1);
	}
}

void
redis_ignore(redisAsyncContext *ac, void *r, void *priv)
{
	redisReply *reply = r;

	(void)ac;
	(void)priv;
	if (reply != NULL && reply->type == REDIS_REPLY_ERROR)
		kore_log(LOG_ERR, "redis: %s", reply->str);
}
