/*
 * idem: idempotency keys, shared by checkout, bookings and bulk placement.
 * A keyed POST seen before answers at once with its stored answer (422
 * when the key comes back with another body).
 */

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "db.h"
#include "problem.h"
#include "routes.h"
#include "idem.h"

/*
 * The refusals of a key (idem_lookup() and idem_claim(), 003_orders.sql),
 * raised by every keyed route: db_answer() finds them after the route's.
 */
const struct code_detail idem_details[] = {
	{ "idempotency_key_reused",
	    "this Idempotency-Key was used with another body" },
	{ "idempotency_in_progress",
	    "a request with this Idempotency-Key is still in progress" },
	{ NULL, NULL },
};

/*
 * The Idempotency-Key header, if any: 1 to 128 printable characters.
 * Returns -1 when it is malformed, 1 when present, 0 when absent, and the
 * digest of the body in hash.
 */
int
idem_key(struct call *c, char *key, size_t keylen, char *hash)
{
	const char *k, *p;

	if (c->req->http_body != NULL)
		auth_body_digest(
		    c->req->http_body->data, c->req->http_body_length, hash);
	else
		auth_body_digest("", 0, hash);
	if (!http_request_header(c->req, "idempotency-key", &k))
		return (0);
	if (strlen(k) < 1 || strlen(k) > 128 || strlen(k) >= keylen)
		return (-1);
	for (p = k; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e)
			return (-1);
	}
	(void)snprintf(key, keylen, "%s", k);
	return (1);
}

/*
 * The state of a keyed POST that answers a key seen before at once, with
 * its stored answer (or 422 when reused with another body); a new key
 * moves the request on to state next.
 */
int
idem_replay(struct call *c, const char *route, const char *key,
    const char *hash, int next)
{
	char	    uid[24];
	const char *v[4];

	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = route;
	v[2] = key;
	v[3] = hash;
	switch (db_poll(c,
	    "SELECT status, body FROM idem_lookup($1::bigint, $2, $3, $4)", 4,
	    v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "database error"));
	}
	if (db_value(c, 0, 0) != NULL)
		return (db_status_reply(c, "replayed"));
	db_reset(&c->db);
	return (call_next(c, next));
}
