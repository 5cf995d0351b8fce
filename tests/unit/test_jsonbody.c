/*
 * test_jsonbody: the request body as every JSON route reads it: empty, too
 * large, malformed, duplicate keys, not an object; and string fields.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>

#include <cmocka.h>

#include "jsonbody.h"

static int
parse(const char *s, size_t max, json_t **out, json_error_t *err)
{
	return (jsonbody_parse(s, s ? strlen(s) : 0, max, out, err));
}

static void
test_parse(void **state)
{
	json_error_t err;
	json_t	    *v;

	(void)state;
	v = (json_t *)1;
	assert_int_equal(parse(NULL, JSONBODY_MAX, &v, &err), JSONBODY_EMPTY);
	assert_null(v);
	assert_int_equal(parse("", JSONBODY_MAX, &v, &err), JSONBODY_EMPTY);

	assert_int_equal(
	    parse("{\"a\":1}", JSONBODY_MAX, &v, &err), JSONBODY_OK);
	assert_true(json_is_object(v));
	json_decref(v);
	/* The limit is on bytes, inclusive. */
	assert_int_equal(parse("{\"a\":1}", 7, &v, &err), JSONBODY_OK);
	json_decref(v);
	assert_int_equal(parse("{\"a\":1}", 6, &v, &err), JSONBODY_TOO_LARGE);
	assert_null(v);

	assert_int_equal(
	    parse("{\"a\":", JSONBODY_MAX, &v, &err), JSONBODY_MALFORMED);
	assert_null(v);
	assert_true(err.text[0] != '\0');
	/* A key twice is refused, not the last one kept. */
	assert_int_equal(parse("{\"a\":1,\"a\":2}", JSONBODY_MAX, &v, &err),
	    JSONBODY_MALFORMED);
	assert_non_null(strstr(err.text, "duplicate"));
	/* No NUL inside a string reaches a handler. */
	assert_int_equal(parse("{\"a\":\"x\\u0000y\"}", JSONBODY_MAX, &v, &err),
	    JSONBODY_MALFORMED);
	assert_int_equal(
	    parse("{} {}", JSONBODY_MAX, &v, &err), JSONBODY_MALFORMED);

	assert_int_equal(
	    parse("[1]", JSONBODY_MAX, &v, &err), JSONBODY_NOT_OBJECT);
	assert_null(v);
	/* A bare value is not even read (no JSON_DECODE_ANY). */
	assert_int_equal(
	    parse("\"a\"", JSONBODY_MAX, &v, &err), JSONBODY_MALFORMED);
	assert_int_equal(
	    parse("null", JSONBODY_MAX, &v, &err), JSONBODY_MALFORMED);
}

static void
test_str(void **state)
{
	json_error_t err;
	json_t	    *v;

	(void)state;
	assert_int_equal(parse("{\"s\":\"x\",\"n\":1,\"z\":null,\"o\":{}}",
			     JSONBODY_MAX, &v, &err),
	    JSONBODY_OK);
	assert_string_equal(jsonbody_str(v, "s"), "x");
	assert_null(jsonbody_str(v, "n"));
	assert_null(jsonbody_str(v, "z"));
	assert_null(jsonbody_str(v, "o"));
	assert_null(jsonbody_str(v, "missing"));
	assert_null(jsonbody_str(NULL, "s"));
	assert_null(jsonbody_str(json_object_get(v, "s"), "s"));
	json_decref(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_str),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
