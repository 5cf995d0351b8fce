/*
 * http_docs: the contract itself, GET /api/v1/openapi.json.  scripts/docs.sh
 * converts assets/api/openapi.yaml to build/openapi.json at build time; each
 * worker reads it once when it starts (OPENAPI_JSON names another file) and
 * answers it from memory.  The reference pages at /docs are static files.
 */

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "api.h"
#include "answer.h"
#include "problem.h"
#include "routes.h"

#define DOCS_MAX (4 * 1024 * 1024)

static int openapi_get(struct http_request *);

ONE(openapi_states, openapi_get);

struct api_route routes_docs[] = {
	{ HTTP_METHOD_GET, "/openapi.json", "openapi", AUTH_NONE,
	    STATES(openapi_states), 0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL },
};

static char  *docs_json;
static size_t docs_len;

/* At worker start: the document, or nothing (the route answers 503). */
void
docs_init(void)
{
	const char *path;
	ssize_t	    n;
	size_t	    cap;
	int	    fd;

	if ((path = getenv("OPENAPI_JSON")) == NULL || *path == '\0')
		path = "build/openapi.json";
	if (docs_json != NULL)
		kore_free(docs_json);
	docs_json = NULL;
	docs_len = 0;
	n = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		kore_log(LOG_NOTICE, "openapi: cannot open %s", path);
		return;
	}
	cap = 256 * 1024;
	docs_json = kore_malloc(cap);
	for (;;) {
		if (docs_len == cap) {
			if (cap >= DOCS_MAX)
				break;
			cap *= 2;
			docs_json = kore_realloc(docs_json, cap);
		}
		if ((n = read(fd, docs_json + docs_len, cap - docs_len)) <= 0)
			break;
		docs_len += (size_t)n;
	}
	(void)close(fd);
	if (n < 0 || docs_len == 0 || docs_len == cap) {
		kore_log(LOG_NOTICE, "openapi: cannot read %s", path);
		kore_free(docs_json);
		docs_json = NULL;
		docs_len = 0;
	}
}

static int
openapi_get(struct http_request *req)
{
	struct call *c = http_state_get(req);

	if (docs_json == NULL)
		return (problem(
		    c, 503, "unavailable", "the document was not built"));
	json_reply_raw(c, 200, docs_json, docs_len);
	return (HTTP_STATE_COMPLETE);
}
