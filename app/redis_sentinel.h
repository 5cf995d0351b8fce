/*
 * redis_sentinel: where the Redis master is, asked of the Sentinels
 * (app/redis_sentinel.c); for app/redis.c, which moves its links there.
 */

#ifndef REDIS_SENTINEL_H
#define REDIS_SENTINEL_H

#include <hiredis/async.h>

int	    redis_sentinel_init(const char *, void (*)(const char *, int));
int	    redis_sentinels(void);
const char *redis_sentinel_name(void);
void	    redis_sentinel_again(void);
void	    redis_role(redisAsyncContext *, void *, void *);

#endif
