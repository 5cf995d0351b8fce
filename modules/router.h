/*
 * router: matches a request path against a route pattern such as
 * "/products/{#id}" or "/regions/{code}/shop" and captures the parameters.
 */

#ifndef ROUTER_H
#define ROUTER_H

#include <stdint.h>

#define ROUTE_MAX_PARAMS 4
#define ROUTE_PARAM_MAX	 128

/*
 * "{name}" matches one non-empty segment of at most ROUTE_PARAM_MAX - 1
 * bytes; "{#name}" one positive decimal integer that fits an int64_t, also
 * stored in ids[].
 */
struct route_match {
	int	nparams;
	char	params[ROUTE_MAX_PARAMS][ROUTE_PARAM_MAX];
	int64_t ids[ROUTE_MAX_PARAMS];
};

int router_match(const char *, const char *, struct route_match *);

#endif
