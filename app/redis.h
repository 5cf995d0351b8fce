/*
 * redis: Redis, as handlers and the invalidation see it (app/redis.c).  A
 * request sends one command at a time (redis_poll) and reads the reply as
 * a struct redis_value; a subscriber hears one channel (redis_subscribe).
 * No hiredis here: that is the Redis files' own.
 */

#ifndef REDIS_H
#define REDIS_H

#include <stddef.h>

struct call;

/* A reply's type: hiredis's REDIS_REPLY_* (checked in app/redis.c). */
enum redis_type {
	RV_STRING = 1,
	RV_ARRAY = 2,
	RV_INTEGER = 3,
	RV_NIL = 4,
	RV_STATUS = 5,
	RV_ERROR = 6,
};

struct redis_value {
	enum redis_type	     type;
	long long	     integer;
	char		    *str;
	size_t		     len;
	size_t		     elements;
	struct redis_value **element;
};

int  redis_init(const char *);
int  redis_poll(struct call *, int, const char **, const size_t *);
int  redis_ready(void);
int  redis_subscribed(void);
void redis_value_free(struct redis_value *);
void redis_publish(const char *, const char *);
/* What the subscriber link tells its callback (redis_subscribe()). */
#define REDIS_SUB_READY	  0 /* subscribed: messages may have been missed */
#define REDIS_SUB_LOST	  1 /* the link dropped: messages will be missed */
#define REDIS_SUB_MESSAGE 2 /* a message (NULL when not a string) */
void redis_subscribe(const char *, void (*)(int, const char *));
void redis_wait_orphan(struct call *);

#endif
