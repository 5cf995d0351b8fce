/*
 * idem: idempotency keys, shared by checkout, bookings, bulk placement and
 * payments.  A keyed POST seen before answers at once with its stored
 * answer (422 when the key comes back with another body).
 */

#include <stdio.h>
#include <string.h>

#include "api.h"
#include "auth.h"
#include "config.h"
#include "db.h"
#include "json.h"
#include "problem.h"
#include "ratelimit.h"
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
 * The Idempotency-Key header, if any: 1 to IDEM_KEY_MAX printable
 * characters.  Returns -1 when it is malformed, 1 when present, 0 when
 * absent, and the digest of the body in hash.
 */
static int
idem_key(struct call *c, struct idem *k)
{
	const char *v, *p;

	if (c->req->http_body != NULL)
		auth_body_digest(
		    c->req->http_body->data, c->req->http_body_length, k->hash);
	else
		auth_body_digest("", 0, k->hash);
	if (!http_request_header(c->req, "idempotency-key", &v))
		return (0);
	if (strlen(v) < 1 || strlen(v) > IDEM_KEY_MAX)
		return (-1);
	for (p = v; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e)
			return (-1);
	}
	(void)snprintf(k->key, sizeof(k->key), "%s", v);
	return (1);
}

/*
 * Reads a POST's key into k, with the digest of its body, among the
 * route's checks: a malformed key adds its refusal to errs.  Returns 0
 * then, else 1.
 */
int
idem_read(struct call *c, struct idem *k, json_t **errs)
{
	int rc;

	k->has = 0;
	if ((rc = idem_key(c, k)) < 0) {
		problem_field_add(errs, "Idempotency-Key",
		    "1 to " TEXT(IDEM_KEY_MAX) " printable characters");
		return (0);
	}
	k->has = rc;
	return (1);
}

/*
 * The step after the checks of a POST that places orders: counted per user
 * and window as kind (RATE_LIMIT_ORDERS), before any work; then a keyed
 * request looks its key up (state idem), any other goes on to next.
 */
int
idem_limit(
    struct call *c, const struct idem *k, const char *kind, int idem, int next)
{
	int rc;

	rc = ratelimit_user_poll(c, kind, cfg.orders_limit, cfg.rate_window);
	if (rc != HTTP_STATE_CONTINUE)
		return (rc);
	return (call_next(c, k->has ? idem : next));
}

/*
 * The state of a keyed POST that answers a key seen before at once, with
 * its stored answer (or 422 when reused with another body); a new key
 * moves the request on to state next.
 */
int
idem_replay(struct call *c, const char *route, const struct idem *k, int next)
{
	char	    uid[24];
	const char *v[4];

	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = route;
	v[2] = k->key;
	v[3] = k->hash;
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
