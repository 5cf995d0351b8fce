/*
 * admin_check: the body checks that the operators' routes share: periods
 * of RFC 3339 times, region and category codes, bounded integers and
 * names.  Each adds to a validation errors list; none answers.
 */

#include <string.h>

#include "admin_check.h"
#include "api.h"
#include "problem.h"
#include "timefmt.h"
#include "validate.h"

/*
 * A period of two RFC 3339 times: each well formed when given (the end may
 * be null where nullable), and the end after the start when both are.  A
 * PATCH that moves one end only is checked by the table's constraint.
 */
void
admin_period(json_t *b, const char *from, const char *to, int required,
    int nullable, json_t **errs)
{
	json_t *f, *t;
	int64_t fs, ts;
	int	has_f, has_t;

	f = json_object_get(b, from);
	t = json_object_get(b, to);
	has_f = has_t = 0;
	if (f != NULL || required) {
		if (!(has_f = timefmt_rfc3339(json_string_value(f), &fs)))
			problem_field_add(errs, from, "an RFC 3339 time");
	}
	if (t != NULL && !(nullable && json_is_null(t))) {
		if (!(has_t = timefmt_rfc3339(json_string_value(t), &ts)))
			problem_field_add(errs, to,
			    nullable ? "null or an RFC 3339 time"
				     : "an RFC 3339 time");
	} else if (t == NULL && required && !nullable) {
		problem_field_add(errs, to, "an RFC 3339 time");
	}
	if (has_f && has_t && ts <= fs)
		problem_field_add(errs, to, "after the start of the period");
}

/* A match's region or category: a code of the size fee rules keep. */
int
admin_code_field(const char *k, json_t *v)
{
	long max;

	if (strcmp(k, "region") == 0)
		max = REGION_CODE_CHARS;
	else if (strcmp(k, "category") == 0)
		max = CATEGORY_CODE_CHARS;
	else
		return (0);
	return (
	    json_is_string(v) && validate_text(json_string_value(v), 1, max));
}

/*
 * An integer field from min to max, required or not; msg is what a wrong
 * one is told, NULL for "an integer from <min> to <max>".
 */
int
admin_int(json_t *body, const char *name, int64_t min, int64_t max,
    int required, json_t **errs, const char *msg)
{
	json_t *v;

	v = json_object_get(body, name);
	if (v == NULL && !required)
		return (0);
	if (v != NULL && json_is_integer(v) && json_integer_value(v) >= min &&
	    json_integer_value(v) <= max)
		return (1);
	if (msg != NULL)
		problem_field_add(errs, name, msg);
	else
		problem_field_range(errs, name, "an integer", min, max);
	return (0);
}

/* A name (or title) of 1 to ADMIN_NAME_CHARS, required or not. */
void
admin_name(json_t *body, const char *name, int required, json_t **errs)
{
	json_t *v;

	if ((v = json_object_get(body, name)) == NULL && !required)
		return;
	if (!json_is_string(v) ||
	    !validate_text(json_string_value(v), 1, ADMIN_NAME_CHARS))
		problem_field_chars(errs, name, 1, ADMIN_NAME_CHARS);
}
