/*
 * vendor_check: the body checks the vendor's routes share (its application
 * in app/http_vendor.c, its listings in app/http_vendor_products.c).
 */

#include <stdio.h>

#include "api.h"
#include "problem.h"
#include "validate.h"
#include "vendor_check.h"

/* The integer name of b within [min, max]: 1 if there, msg if not. */
int
vendor_int(json_t *b, const char *name, int64_t min, int64_t max, int required,
    json_t **errs, const char *msg)
{
	json_t *v;

	if ((v = json_object_get(b, name)) == NULL) {
		if (required)
			problem_field_add(errs, name, msg);
		return (0);
	}
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		problem_field_add(errs, name, msg);
		return (0);
	}
	return (1);
}

/* The text name of b of min to max characters. */
void
vendor_text(json_t *b, const char *name, long min, long max, int required,
    json_t **errs)
{
	json_t *v;
	char	msg[64];

	if ((v = json_object_get(b, name)) == NULL && !required)
		return;
	if (!json_is_string(v) ||
	    !validate_text(json_string_value(v), min, max)) {
		(void)snprintf(
		    msg, sizeof(msg), "%ld to %ld characters", min, max);
		problem_field_add(errs, name, msg);
	}
}
