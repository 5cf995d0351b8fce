/*
 * http_orgs: buying organisations (以购代捐): their members and roles, and
 * the invitations through which people join.  A year's plan, report and
 * certificate are app/http_org_years.c's.  Only members see an
 * organisation (others get 404); roles are checked in SQL (005_orgs.sql,
 * 010_orders_hardening.sql).
 */

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "answer.h"
#include "config.h"
#include "db.h"
#include "json.h"
#include "problem.h"
#include "ratelimit.h"
#include "routes.h"
#include "creditcode.h"
#include "validate.h"

#define ORG_NAME_CHARS 100

static int org_create(struct http_request *);
static int orgs_list(struct http_request *);
static int org_get(struct http_request *);
static int org_invite_check(struct http_request *);
static int org_invite_limit(struct http_request *);
static int org_invite(struct http_request *);
static int org_member_remove(struct http_request *);
static int org_role_remove(struct http_request *);
static int my_invitations(struct http_request *);
static int invitation_accept(struct http_request *);
static int invitation_decline(struct http_request *);

ONE(org_create_states, org_create);
ONE(orgs_list_states, orgs_list);
ONE(org_get_states, org_get);
/* Inviting: the body checked, the admin's rate, then the invitation. */
enum invite_state {
	S_INVITE_CHECK,
	S_INVITE_LIMIT,
	S_INVITE,
};
static struct http_state org_invite_states[] = {
	[S_INVITE_CHECK] = { "INVITE_CHECK", org_invite_check },
	[S_INVITE_LIMIT] = { "INVITE_LIMIT", org_invite_limit },
	[S_INVITE] = { "INVITE", org_invite },
};
ONE(org_member_remove_states, org_member_remove);
ONE(org_role_remove_states, org_role_remove);
ONE(my_invitations_states, my_invitations);
ONE(invitation_accept_states, invitation_accept);
ONE(invitation_decline_states, invitation_decline);

struct api_route routes_orgs[] = {
	/* An organisation's routes: members only, roles checked in SQL. */
	{ HTTP_METHOD_POST, "/orgs", "org_create", AUTH_USER | BODY_JSON,
	    STATES(org_create_states), 0, NULL },
	{ HTTP_METHOD_GET, "/orgs", "orgs", AUTH_USER, STATES(orgs_list_states),
	    0, NULL },
	{ HTTP_METHOD_GET, "/orgs/{#id}", "org", AUTH_USER,
	    STATES(org_get_states), 0, NULL },
	{ HTTP_METHOD_POST, "/orgs/{#id}/members", "org_invite",
	    AUTH_USER | BODY_JSON, STATES(org_invite_states), 0, NULL },
	{ HTTP_METHOD_DELETE, "/orgs/{#id}/members/{#user_id}",
	    "org_member_remove", AUTH_USER, STATES(org_member_remove_states), 0,
	    NULL },
	{ HTTP_METHOD_DELETE, "/orgs/{#id}/members/{#user_id}/roles/{role}",
	    "org_role_remove", AUTH_USER, STATES(org_role_remove_states), 0,
	    NULL },
	/* The invitee's side: only invitations to the account's address. */
	{ HTTP_METHOD_GET, "/me/invitations", "my_invitations", AUTH_USER,
	    STATES(my_invitations_states), 0, NULL },
	{ HTTP_METHOD_POST, "/me/invitations/{#id}/accept", "invitation_accept",
	    AUTH_USER, STATES(invitation_accept_states), 0, NULL },
	{ HTTP_METHOD_POST, "/me/invitations/{#id}/decline",
	    "invitation_decline", AUTH_USER, STATES(invitation_decline_states),
	    0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};

static const char *const orgs_kinds[] = { "enterprise", "agency", "soe", "ngo",
	NULL };
static const char *const orgs_roles[] = { "buyer", "approver", "admin", NULL };

static int
org_create(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL;
	const char  *name, *kind, *code, *v[4];
	char	     uid[24];

	name = json_field_str(c->body, "name");
	kind = json_field_str(c->body, "kind");
	code = json_field_str(c->body, "credit_code");
	if (!validate_text(name, 1, ORG_NAME_CHARS))
		problem_field_chars(&errs, "name", 1, ORG_NAME_CHARS);
	if (kind == NULL || !validate_oneof(kind, orgs_kinds))
		problem_field_add(
		    &errs, "kind", "enterprise, agency, soe or ngo");
	if (!creditcode_valid(code))
		problem_field_add(&errs, "credit_code",
		    "a unified social credit code: 18 characters with a "
		    "valid check character");
	if (errs != NULL)
		return (problem_validation(c, errs));
	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = name;
	v[2] = kind;
	v[3] = code;
	switch (db_poll(c,
	    "SELECT status, body FROM org_create($1::bigint, $2, $3, $4)", 4,
	    v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "orgs: database error"));
	}
	return (db_status_reply(c, "refused"));
}

static int
orgs_list(struct http_request *req)
{
	struct call *c = http_state_get(req);
	char	     uid[24];
	const char  *v[1];

	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	return (db_json_call(c, "SELECT api_orgs($1::bigint)", 1, v));
}

static int
org_get(struct http_request *req)
{
	return (db_status_mine(http_state_get(req),
	    "SELECT status, body FROM api_org($1::bigint, $2::bigint)", NULL,
	    NULL, "refused"));
}

static int
org_invite_check(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL;
	const char  *email, *role;

	email = json_field_str(c->body, "email");
	role = json_field_str(c->body, "role");
	if (!validate_email(email))
		problem_field_add(&errs, "email", "an e-mail address");
	if (role == NULL || !validate_oneof(role, orgs_roles))
		problem_field_add(&errs, "role", "buyer, approver or admin");
	if (errs != NULL)
		return (problem_validation(c, errs));
	return (call_next(c, S_INVITE_LIMIT));
}

/* Invitations per inviting user and window (RATE_LIMIT_INVITES). */
static int
org_invite_limit(struct http_request *req)
{
	struct call *c = http_state_get(req);
	int	     rc;

	rc = ratelimit_user_poll(
	    c, "invites", cfg.invites_limit, cfg.rate_window);
	if (rc != HTTP_STATE_CONTINUE)
		return (rc);
	return (call_next(c, S_INVITE));
}

/*
 * 202 whoever the address belongs to, if anyone: the invitee sees it at
 * GET /me/invitations and decides.  Nothing here tells an account apart.
 */
static int
org_invite(struct http_request *req)
{
	struct call *c = http_state_get(req);
	const char  *v[4];
	char	     uid[24];

	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = json_field_str(c->body, "email");
	v[3] = json_field_str(c->body, "role");
	return (db_status_call(c,
	    "SELECT status, body FROM org_invite($1::bigint, $2::bigint, $3, "
	    "$4)",
	    4, v, NULL, "refused"));
}

/* A removal: 204 with no body, or the function's refusal. */
static int
orgs_remove(struct call *c, const char *role)
{
	const char *st, *v[4];
	char	    uid[24];

	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = c->match.params[1];
	v[3] = role;
	switch (db_poll(c,
	    "SELECT status, body FROM org_member_remove($1::bigint, "
	    "$2::bigint, $3::bigint, $4)",
	    4, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (problem_internal(c, "orgs: database error"));
	}
	if ((st = db_value(c, 0, 0)) != NULL && atoi(st) == 204) {
		json_reply_empty(c, 204);
		return (HTTP_STATE_COMPLETE);
	}
	return (db_status_reply(c, "refused"));
}

static int
org_member_remove(struct http_request *req)
{
	return (orgs_remove(http_state_get(req), NULL));
}

static int
org_role_remove(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL;

	if (!validate_oneof(c->match.params[2], orgs_roles)) {
		problem_field_add(&errs, "role", "buyer, approver or admin");
		return (problem_validation(c, errs));
	}
	return (orgs_remove(c, c->match.params[2]));
}

static int
my_invitations(struct http_request *req)
{
	struct call *c = http_state_get(req);
	char	     uid[24];
	const char  *v[1];

	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	return (db_json_call(c, "SELECT api_my_invitations($1::bigint)", 1, v));
}

static int
invitation_answer(struct http_request *req, const char *accept)
{
	return (db_status_mine(http_state_get(req),
	    "SELECT status, body FROM invitation_answer($1::bigint, "
	    "$2::bigint, $3::boolean)",
	    accept, NULL, "refused"));
}

static int
invitation_accept(struct http_request *req)
{
	return (invitation_answer(req, "true"));
}

static int
invitation_decline(struct http_request *req)
{
	return (invitation_answer(req, "false"));
}
