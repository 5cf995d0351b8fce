/*
 * metrics: request durations and counters in shared memory, every
 * worker's, rendered for /metrics (app/metrics.c).
 */

#ifndef METRICS_H
#define METRICS_H

#include <sys/types.h>

#include <stdint.h>

struct kore_buf;

void metrics_observe(const char *, int, uint64_t);
void metrics_count(const char *);
void metrics_cache_bytes(uint64_t, uint64_t);
/* The PostgreSQL pool's gauges, as db_pool_stats() reads them. */
struct metrics_pool {
	int	  up;
	int	  busy;
	u_int32_t queued;
	u_int32_t queue_limit; /* pgsql_queue_limit */
	u_int32_t conn_max; /* pgsql_conn_max */
};
void metrics_render(struct kore_buf *, const struct metrics_pool *);

#endif
