/*
 * redis_link: one hiredis link on Kore's event loop (app/redis_link.c),
 * private to the Redis adapter: the command and subscriber links of
 * app/redis.c and the Sentinel link of app/redis_sentinel.c.  Whoever owns
 * a link says where it goes, what it sends first and what a drop means
 * (the hooks); the link connects, watches its socket and reconnects.
 */

#ifndef REDIS_LINK_H
#define REDIS_LINK_H

#include <hiredis/async.h>

#define RECONNECT_MS 500

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
	int		   ready_on_connect; /* else its hello makes it ready */
	int		   timer_armed;
	int		   resolving;

	/* The owner's hooks. */
	const char *(*host)(void); /* where it goes */
	int (*port)(void);
	/* Queues the first commands, answered before anything else. */
	void (*hello)(struct redis_link *);
	/* It dropped (up was 1), or could not connect (0). */
	void (*lost)(struct redis_link *, int);
};

void redis_link_open(struct redis_link *);
void redis_link_restart(struct redis_link *);
void redis_ignore(redisAsyncContext *, void *, void *);

#endif
