/*
 * ratelimit: fixed windows counted in Redis, per client address or per
 * user (app/ratelimit.c).
 */

#ifndef RATELIMIT_H
#define RATELIMIT_H

struct call;

int ratelimit_poll(struct call *, const char *, int, int);
int ratelimit_user_poll(struct call *, const char *, int, int);

#endif
