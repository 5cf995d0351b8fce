/*
 * jsonbody: a request body as the API reads it: at most JSONBODY_MAX bytes
 * of one JSON object, duplicate keys refused, and its string fields.
 */

#ifndef JSONBODY_H
#define JSONBODY_H

#include <jansson.h>
#include <stddef.h>

#define JSONBODY_MAX (64 * 1024)
/* Every body and notification the API reads: no key twice. */
#define JSONBODY_FLAGS JSON_REJECT_DUPLICATES

#define JSONBODY_OK	    0
#define JSONBODY_EMPTY	    1 /* no body at all */
#define JSONBODY_TOO_LARGE  2 /* more than the limit given */
#define JSONBODY_MALFORMED  3 /* not JSON: err says why */
#define JSONBODY_NOT_OBJECT 4 /* JSON, but not an object */

int jsonbody_parse(const void *, size_t, size_t, json_t **, json_error_t *);
const char *jsonbody_str(json_t *, const char *);

#endif
