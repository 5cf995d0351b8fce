/*
 * cache: rendered answers of the public catalog routes, per worker
 * (app/cache.c), kept as long as no write came in since their fetch: a
 * mark (struct cache_mark, app/api.h) says where things stood then.
 */

#ifndef CACHE_H
#define CACHE_H

#include <stddef.h>
#include <stdint.h>

struct call;
struct cache_mark;

#define CACHE_MISS 0
#define CACHE_HIT  1
#define CACHE_WAIT 2

void		  cache_init(void);
void		  cache_flush(void);
int		  cache_lookup(struct call *);
void		  cache_flight_done(struct call *);
void		  cache_store(struct call *, int, const char *, size_t);
uint64_t	  cache_generation(void);
struct cache_mark cache_mark(void);
int		  cache_moved(int64_t, const struct cache_mark *);
void		  cache_drop_product(int64_t);
/* The query parameters a cacheable route reads, told by http_catalog.c. */
void cache_key_params(const char *, const char *const *);

#endif
