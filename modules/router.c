/*
 * router: path matching for the API dispatcher.  Plain string work, so the
 * rules for what an id looks like are tested without a server.
 */

#include <string.h>

#include "router.h"

static int router_segment(
    const char *, size_t, const char *, size_t, struct route_match *);

/* Returns 1 when path matches pattern, filling m; 0 otherwise. */
int
router_match(const char *pattern, const char *path, struct route_match *m)
{
	const char *p, *s;
	size_t	    plen, slen;

	/* Tried against every route: only the count is reset, not the buffers. */
	m->nparams = 0;
	if (*pattern != '/' || *path != '/')
		return (0);

	p = pattern;
	s = path;
	for (;;) {
		if (*p != '/' || *s != '/')
			return (*p == '\0' && *s == '\0');
		p++;
		s++;
		plen = strcspn(p, "/");
		slen = strcspn(s, "/");
		if (!router_segment(p, plen, s, slen, m))
			return (0);
		p += plen;
		s += slen;
	}
}

static int
router_segment(const char *p, size_t plen, const char *s, size_t slen,
    struct route_match *m)
{
	int	numeric, i;
	int64_t v;
	size_t	k;

	if (plen < 2 || p[0] != '{' || p[plen - 1] != '}')
		return (plen == slen && memcmp(p, s, plen) == 0);

	if (slen == 0 || slen >= ROUTE_PARAM_MAX ||
	    m->nparams >= ROUTE_MAX_PARAMS)
		return (0);

	numeric = (p[1] == '#');
	v = 0;
	if (numeric) {
		if (slen > 18 || s[0] == '0')
			return (0);
		for (k = 0; k < slen; k++) {
			if (s[k] < '0' || s[k] > '9')
				return (0);
			v = v * 10 + (s[k] - '0');
		}
	}

	i = m->nparams++;
	memcpy(m->params[i], s, slen);
	m->params[i][slen] = '\0';
	m->ids[i] = v;
	return (1);
}
