/*
 * services_check: the body checks the service routes share: bounded
 * integers and fields a body must not have.
 */

#include "api.h"
#include "problem.h"
#include "services_check.h"
#include "validate.h"

/* Whether v is an integer within [min, max]. */
int
services_int_in(json_t *v, int64_t min, int64_t max)
{
	return (json_is_integer(v) && json_integer_value(v) >= min &&
	    json_integer_value(v) <= max);
}

/* Fields of body that are not in keys. */
void
services_unknown(json_t *b, const char *const *keys, json_t **errs)
{
	const char *k;
	json_t	   *v;

	json_object_foreach(b, k, v)
	{
		if (!validate_oneof(k, keys))
			problem_field_add(errs,
			    validate_text(k, 1, 32) ? k : "body",
			    "unknown field");
	}
}
