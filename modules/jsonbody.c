/*
 * jsonbody: the parse every JSON route shares (api.c) and the field access
 * its handlers use (json_field_str), kept apart from Kore so that the
 * request-body path can be fuzzed as it runs.
 */

#include "jsonbody.h"

/*
 * Parses data[0..len) into *out, a new reference to an object, and
 * returns JSONBODY_OK; otherwise *out is NULL and the JSONBODY_* says why
 * (err->text for JSONBODY_MALFORMED).
 */
int
jsonbody_parse(
    const void *data, size_t len, size_t max, json_t **out, json_error_t *err)
{
	json_t *v;

	*out = NULL;
	err->text[0] = '\0';
	if (data == NULL || len == 0)
		return (JSONBODY_EMPTY);
	if (len > max)
		return (JSONBODY_TOO_LARGE);
	if ((v = json_loadb(data, len, JSONBODY_FLAGS, err)) == NULL)
		return (JSONBODY_MALFORMED);
	if (!json_is_object(v)) {
		json_decref(v);
		return (JSONBODY_NOT_OBJECT);
	}
	*out = v;
	return (JSONBODY_OK);
}

/* A string member of an object, or NULL when absent or not a string. */
const char *
jsonbody_str(json_t *obj, const char *name)
{
	json_t *v;

	if (obj == NULL || (v = json_object_get(obj, name)) == NULL ||
	    !json_is_string(v))
		return (NULL);
	return (json_string_value(v));
}
