/*
 * histogram: latency buckets for /metrics.  Observations above the last
 * bound count only in the total, the +Inf bucket of the exposition.
 */

#include "histogram.h"

const uint64_t histogram_bounds_us[HISTOGRAM_BUCKETS] = { 250, 500, 1000, 2000,
	5000, 10000, 20000, 50000, 100000, 250000, 500000, 1000000 };

void
histogram_observe(struct histogram *h, uint64_t us)
{
	int i;

	h->count++;
	h->sum_us += us;
	for (i = 0; i < HISTOGRAM_BUCKETS; i++) {
		if (us <= histogram_bounds_us[i]) {
			h->bucket[i]++;
			return;
		}
	}
}

/* Observations at or below bound i. */
uint64_t
histogram_cumulative(const struct histogram *h, int i)
{
	uint64_t n;
	int	 k;

	for (n = 0, k = 0; k <= i && k < HISTOGRAM_BUCKETS; k++)
		n += h->bucket[k];
	return (n);
}

/*
 * The bound of the first bucket holding quantile q (0 < q <= 1): an upper
 * estimate, as Prometheus' histogram_quantile would interpolate within it.
 * 0 when empty; UINT64_MAX when the quantile lies beyond the last bound.
 */
uint64_t
histogram_quantile_us(const struct histogram *h, double q)
{
	uint64_t rank;
	double	 r;
	int	 i;

	if (h->count == 0)
		return (0);
	/* Round the rank up: the median of 3 is the 2nd, not the 1st. */
	r = (double)h->count * q;
	rank = (uint64_t)r;
	if ((double)rank < r)
		rank++;
	if (rank == 0)
		rank = 1;
	for (i = 0; i < HISTOGRAM_BUCKETS; i++) {
		if (histogram_cumulative(h, i) >= rank)
			return (histogram_bounds_us[i]);
	}
	return (UINT64_MAX);
}
