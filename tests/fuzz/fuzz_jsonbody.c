/*
 * fuzz_jsonbody: a request body through the path every JSON route takes:
 * jsonbody_parse (api.c: the size limit, json_loadb with
 * JSON_REJECT_DUPLICATES, an object only), then the field checks of the
 * handlers (jsonbody_str, as json_field_str, and the validate module) for
 * registration and checkout.  A parsed body written out again parses to
 * an equal one, with a key doubled it is refused, one byte under its size
 * it is too large; no string reaches a handler with a NUL inside it.
 */

#include "fuzz.h"
#include "jsonbody.h"
#include "validate.h"

/* Every string in v, keys included, is a C string of its whole length. */
static void
walk(json_t *v, int depth)
{
	const char *k;
	json_t	   *e;
	size_t	    i;

	CHECK(depth < 4096);
	if (json_is_string(v)) {
		CHECK(strlen(json_string_value(v)) == json_string_length(v));
		(void)validate_text(json_string_value(v), 1, 100);
	} else if (json_is_object(v)) {
		json_object_foreach(v, k, e)
		{
			CHECK(json_object_get(v, k) == e);
			walk(e, depth + 1);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) walk(e, depth + 1);
	}
}

/* A field as a handler reads it: a string, or NULL. */
static const char *
field(json_t *obj, const char *name)
{
	const char *s;
	json_t	   *v;

	s = jsonbody_str(obj, name);
	v = json_is_object(obj) ? json_object_get(obj, name) : NULL;
	if (json_is_string(v))
		CHECK(s == json_string_value(v));
	else
		CHECK(s == NULL);
	return (s);
}

/* A text field accepted is what validate_text promises. */
static void
text(json_t *obj, const char *name, long min, long max)
{
	const char *s = field(obj, name);
	long	    n;

	if (!validate_text(s, min, max))
		return;
	n = validate_utf8_len(s, strlen(s));
	CHECK(n >= min && n <= max && n <= (long)strlen(s));
}

/* auth register (http_auth.c) and checkout (http_orders.c). */
static void
handlers(json_t *body)
{
	static const char *const roles[] = { "citizen", "vendor", NULL };
	json_t			*addr, *note;
	const char		*s;

	s = field(body, "email");
	if (validate_email(s))
		CHECK(strchr(s, '@') != NULL && strlen(s) <= 254);
	s = field(body, "password");
	if (validate_password(s))
		CHECK(strlen(s) <= PASSWORD_MAX_BYTES);
	text(body, "name", 1, 100);
	s = field(body, "role");
	if (validate_oneof(s, roles))
		CHECK(strcmp(s, "citizen") == 0 || strcmp(s, "vendor") == 0);

	addr = json_object_get(body, "address");
	if (json_is_object(addr)) {
		text(addr, "name", 1, 50);
		text(addr, "province", 1, 30);
		text(addr, "city", 1, 30);
		text(addr, "district", 1, 30);
		text(addr, "line", 1, 200);
		s = field(addr, "phone");
		if (validate_phone(s))
			CHECK(strspn(s, "+0123456789- ") == strlen(s));
	}
	note = json_object_get(body, "note");
	if (json_is_string(note))
		(void)validate_text(json_string_value(note), 0, 200);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	json_error_t err;
	json_t	    *body, *again;
	const char  *k;
	char	    *buf, *text2, *dup;
	size_t	     n;
	int	     rc;

	/* The body as Kore holds it: exactly len bytes, no NUL after. */
	CHECK((buf = malloc(len ? len : 1)) != NULL);
	memcpy(buf, data, len);
	body = (json_t *)1;
	rc = jsonbody_parse(len ? buf : NULL, len, JSONBODY_MAX, &body, &err);
	CHECK(rc >= JSONBODY_OK && rc <= JSONBODY_NOT_OBJECT);
	CHECK((rc == JSONBODY_OK) == (body != NULL));
	CHECK((rc == JSONBODY_EMPTY) == (len == 0));
	CHECK((rc == JSONBODY_TOO_LARGE) == (len > JSONBODY_MAX));
	CHECK(fuzz_terminated(err.text, sizeof(err.text)));
	if (rc == JSONBODY_MALFORMED)
		CHECK(err.text[0] != '\0');
	if (len > 0) {
		/* One byte under the body's size: too large, nothing kept. */
		again = (json_t *)1;
		CHECK(jsonbody_parse(buf, len, len - 1, &again, &err) ==
		    JSONBODY_TOO_LARGE);
		CHECK(again == NULL);
	}
	if (rc != JSONBODY_OK) {
		free(buf);
		return (0);
	}
	CHECK(json_is_object(body));
	walk(body, 0);
	handlers(body);

	/* Written out and read again: the same body. */
	CHECK((text2 = json_dumps(body, JSON_COMPACT)) != NULL);
	n = strlen(text2);
	CHECK(jsonbody_parse(text2, n, n, &again, &err) == JSONBODY_OK);
	CHECK(json_equal(body, again));
	json_decref(again);
	/* With its first key twice: refused. */
	if (json_object_size(body) > 0) {
		k = json_object_iter_key(json_object_iter(body));
		CHECK((again = json_pack("{s:n}", k)) != NULL);
		free(text2);
		CHECK((text2 = json_dumps(again, JSON_COMPACT)) != NULL);
		json_decref(again);
		dup = json_dumps(body, JSON_COMPACT);
		CHECK(dup != NULL);
		n = strlen(text2) + strlen(dup);
		CHECK((text2 = realloc(text2, n + 1)) != NULL);
		/* {"k":null} + {...} becomes {"k":null,...}. */
		text2[strlen(text2) - 1] = ',';
		strcat(text2, dup + 1);
		CHECK(jsonbody_parse(text2, n - 1, n, &again, &err) ==
		    JSONBODY_MALFORMED);
		CHECK(again == NULL);
		free(dup);
	}
	free(text2);
	json_decref(body);
	free(buf);
	return (0);
}
