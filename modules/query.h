/*
 * query: a URL query string split into decoded name/value pairs, held in a
 * fixed buffer, with typed getters that tell a missing value from a bad one.
 */

#ifndef QUERY_H
#define QUERY_H

#include <stdint.h>

#define QUERY_MAX_PAIRS 32
#define QUERY_MAX_BYTES 2048

#define QUERY_OK      0
#define QUERY_MISSING 1
#define QUERY_INVALID (-1)

struct query {
	int  npairs;
	char buf[QUERY_MAX_BYTES];
	struct {
		const char *name;
		const char *value;
	} pair[QUERY_MAX_PAIRS];
};

int	    query_parse(struct query *, const char *);
const char *query_get(const struct query *, const char *);
int query_int(const struct query *, const char *, int64_t, int64_t, int64_t *);
int query_date(const struct query *, const char *, char *);

#endif
