/*
 * histogram: fixed-bucket latency histogram in the Prometheus style
 * (cumulative buckets, a sum and a count), in microseconds.
 */

#ifndef HISTOGRAM_H
#define HISTOGRAM_H

#include <stdint.h>

#define HISTOGRAM_BUCKETS 12

extern const uint64_t histogram_bounds_us[HISTOGRAM_BUCKETS];

struct histogram {
	uint64_t bucket[HISTOGRAM_BUCKETS]; /* not cumulative */
	uint64_t count;
	uint64_t sum_us;
};

void	 histogram_observe(struct histogram *, uint64_t);
uint64_t histogram_cumulative(const struct histogram *, int);
uint64_t histogram_quantile_us(const struct histogram *, double);

#endif
