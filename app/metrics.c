/*
 * metrics: request counts by route and status, a latency histogram per
 * route and a few counters, in one shared mapping made before the workers
 * fork so that whichever worker answers /metrics reports them all.
 */

#include <sys/mman.h>

#include <stdint.h>
#include <string.h>

#include <kore/kore.h>

#include "metrics.h"
#include "histogram.h"

#define METRICS_WORKERS	 64
#define METRICS_ROUTES	 192
#define METRICS_COUNTERS 14

static const int metrics_codes[] = { 200, 201, 204, 400, 401, 403, 404, 405,
	409, 413, 422, 429, 500, 503, 0 };
#define METRICS_NCODES (sizeof(metrics_codes) / sizeof(metrics_codes[0]))

static const char *metrics_counter_names[METRICS_COUNTERS] = { "cache_hits",
	"cache_misses", "db_errors", "redis_errors", "auth_failures",
	"rate_limited", "checkout_batches", "checkout_batched_orders",
	"cache_flushes", "db_connects", "db_timeouts", "cache_evictions",
	"payment_batches", "payment_batched" };

struct metrics_route {
	struct histogram h;
	uint64_t	 codes[METRICS_NCODES];
};

struct metrics_worker {
	struct metrics_route route[METRICS_ROUTES];
	uint64_t	     counter[METRICS_COUNTERS];
	uint64_t	     cache_bytes; /* held by the catalog cache */
	uint64_t	     cache_budget; /* 0: no such worker */
};

static struct metrics_worker *metrics_shm;
static const char	     *metrics_names[METRICS_ROUTES];
static int		      metrics_nnames;

void metrics_init(void);
int  metrics_route_register(const char *);

/* In the parent, before the workers exist. */
void
metrics_init(void)
{
	metrics_shm = mmap(NULL, sizeof(*metrics_shm) * METRICS_WORKERS,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (metrics_shm == MAP_FAILED)
		fatal("metrics: mmap: %s", errno_s);
	memset(metrics_shm, 0, sizeof(*metrics_shm) * METRICS_WORKERS);
}

/* Route names are registered in the same order in every process. */
int
metrics_route_register(const char *name)
{
	int i;

	for (i = 0; i < metrics_nnames; i++) {
		if (strcmp(metrics_names[i], name) == 0)
			return (i);
	}
	if (metrics_nnames == METRICS_ROUTES)
		fatal("metrics: more than %d routes (METRICS_ROUTES)",
		    METRICS_ROUTES);
	metrics_names[metrics_nnames] = name;
	return (metrics_nnames++);
}

static struct metrics_worker *
metrics_mine(void)
{
	if (metrics_shm == NULL || worker == NULL ||
	    worker->id >= METRICS_WORKERS)
		return (NULL);
	return (&metrics_shm[worker->id]);
}

void
metrics_observe(const char *route, int status, uint64_t us)
{
	struct metrics_worker *w;
	struct metrics_route  *r;
	size_t		       i;
	int		       idx;

	if ((w = metrics_mine()) == NULL)
		return;
	for (idx = 0; idx < metrics_nnames; idx++) {
		if (metrics_names[idx] == route ||
		    strcmp(metrics_names[idx], route) == 0)
			break;
	}
	if (idx == metrics_nnames)
		return;
	r = &w->route[idx];
	histogram_observe(&r->h, us);
	for (i = 0; i < METRICS_NCODES - 1; i++) {
		if (metrics_codes[i] == status)
			break;
	}
	r->codes[i]++;
}

void
metrics_count(const char *name)
{
	struct metrics_worker *w;
	int		       i;

	if ((w = metrics_mine()) == NULL)
		return;
	for (i = 0; i < METRICS_COUNTERS && metrics_counter_names[i]; i++) {
		if (strcmp(metrics_counter_names[i], name) == 0) {
			w->counter[i]++;
			return;
		}
	}
}

/* The catalog cache's bytes held and its budget, in this worker. */
void
metrics_cache_bytes(uint64_t held, uint64_t budget)
{
	struct metrics_worker *w;

	if ((w = metrics_mine()) == NULL)
		return;
	w->cache_bytes = held;
	w->cache_budget = budget;
}

void
metrics_render(struct kore_buf *b, const struct metrics_pool *pool)
{
	struct metrics_route sum;
	uint64_t	     total;
	size_t		     k;
	int		     i, n, wk;

	kore_buf_appendf(b, "# TYPE bangfu_requests_total counter\n");
	kore_buf_appendf(b,
	    "# TYPE bangfu_request_duration_seconds "
	    "histogram\n");
	for (i = 0; i < metrics_nnames; i++) {
		memset(&sum, 0, sizeof(sum));
		for (wk = 0; wk < METRICS_WORKERS; wk++) {
			const struct metrics_route *r =
			    &metrics_shm[wk].route[i];
			for (n = 0; n < HISTOGRAM_BUCKETS; n++)
				sum.h.bucket[n] += r->h.bucket[n];
			sum.h.count += r->h.count;
			sum.h.sum_us += r->h.sum_us;
			for (k = 0; k < METRICS_NCODES; k++)
				sum.codes[k] += r->codes[k];
		}
		for (k = 0; k < METRICS_NCODES; k++) {
			if (sum.codes[k] == 0)
				continue;
			if (metrics_codes[k] == 0) {
				kore_buf_appendf(b,
				    "bangfu_requests_total"
				    "{route=\"%s\",status=\"other\"} %lu\n",
				    metrics_names[i], sum.codes[k]);
			} else {
				kore_buf_appendf(b,
				    "bangfu_requests_total"
				    "{route=\"%s\",status=\"%d\"} %lu\n",
				    metrics_names[i], metrics_codes[k],
				    sum.codes[k]);
			}
		}
		for (n = 0; n < HISTOGRAM_BUCKETS; n++) {
			kore_buf_appendf(b,
			    "bangfu_request_duration_seconds_"
			    "bucket{route=\"%s\",le=\"%g\"} %lu\n",
			    metrics_names[i],
			    (double)histogram_bounds_us[n] / 1e6,
			    histogram_cumulative(&sum.h, n));
		}
		kore_buf_appendf(b,
		    "bangfu_request_duration_seconds_bucket"
		    "{route=\"%s\",le=\"+Inf\"} %lu\n",
		    metrics_names[i], sum.h.count);
		kore_buf_appendf(b,
		    "bangfu_request_duration_seconds_sum"
		    "{route=\"%s\"} %.6f\n",
		    metrics_names[i], (double)sum.h.sum_us / 1e6);
		kore_buf_appendf(b,
		    "bangfu_request_duration_seconds_count"
		    "{route=\"%s\"} %lu\n",
		    metrics_names[i], sum.h.count);
	}
	for (i = 0; i < METRICS_COUNTERS && metrics_counter_names[i]; i++) {
		total = 0;
		for (wk = 0; wk < METRICS_WORKERS; wk++)
			total += metrics_shm[wk].counter[i];
		kore_buf_appendf(b,
		    "# TYPE bangfu_%s_total counter\n"
		    "bangfu_%s_total %lu\n",
		    metrics_counter_names[i], metrics_counter_names[i], total);
	}
	kore_buf_appendf(b,
	    "# TYPE bangfu_pgsql_conn_up gauge\nbangfu_pgsql_conn_up %d\n"
	    "# TYPE bangfu_pgsql_conn_busy gauge\nbangfu_pgsql_conn_busy %d\n"
	    "# TYPE bangfu_pgsql_queued gauge\nbangfu_pgsql_queued %u\n",
	    pool->up, pool->busy, pool->queued);
	kore_buf_appendf(b, "# TYPE bangfu_cache_bytes gauge\n");
	for (wk = 0; wk < METRICS_WORKERS; wk++) {
		if (metrics_shm[wk].cache_budget != 0)
			kore_buf_appendf(b,
			    "bangfu_cache_bytes{worker=\"%d\"} %lu\n", wk,
			    metrics_shm[wk].cache_bytes);
	}
	kore_buf_appendf(b, "# TYPE bangfu_cache_budget_bytes gauge\n");
	for (wk = 0; wk < METRICS_WORKERS; wk++) {
		if (metrics_shm[wk].cache_budget != 0)
			kore_buf_appendf(b,
			    "bangfu_cache_budget_bytes{worker=\"%d\"} %lu\n",
			    wk, metrics_shm[wk].cache_budget);
	}
	kore_buf_appendf(b,
	    "# TYPE bangfu_pgsql_queue_limit gauge\n"
	    "bangfu_pgsql_queue_limit %u\n# TYPE bangfu_pgsql_conn_max gauge\n"
	    "bangfu_pgsql_conn_max %u\n",
	    pool->queue_limit, pool->conn_max);
}
