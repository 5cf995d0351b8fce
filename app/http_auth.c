/*
 * http_auth: register, login, refresh, logout and /me.  Sessions live in
 * Redis as sess:<sid> {uid, role, rt}, where rt is the digest of the one
 * refresh token that is current; presenting any other revokes the session.
 */

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "answer.h"
#include "config.h"
#include "db.h"
#include "json.h"
#include "metrics.h"
#include "problem.h"
#include "ratelimit.h"
#include "redis.h"
#include "routes.h"
#include "auth.h"
#include "validate.h"
#include "cart.h"
#include "cart_store.h"

#define SID_LEN		22 /* 128 random bits, base64url */
#define SECRET_LEN	43 /* 256 random bits, base64url */
#define USER_NAME_CHARS 100
/* What a password must be, in the words of its limits (validate.h). */
#define PASSWORD_MIN  "at least " TEXT(PASSWORD_MIN_CHARS) " characters"
#define PASSWORD_MAX  "at most " TEXT(PASSWORD_MAX_BYTES) " bytes"
#define PASSWORD_RULE PASSWORD_MIN ", " PASSWORD_MAX

struct auth_ctx {
	struct call   c;
	struct pw_job job;
	int64_t	      uid;
	char	      role[16];
	char	      sid[SID_LEN + 2];
	char	      refresh[SID_LEN + SECRET_LEN + 4];
	char	      guest_key[64];
	json_t	     *guest; /* guest cart being merged */
	json_t	     *user;
	json_t	     *merged;
};

static int  register_limit(struct http_request *);
static int  register_check(struct http_request *);
static int  register_hash(struct http_request *);
static int  register_insert(struct http_request *);
static int  login_limit(struct http_request *);
static int  login_lookup(struct http_request *);
static int  login_verify(struct http_request *);
static int  login_session(struct http_request *);
static int  refresh_rotate(struct http_request *);
static int  logout_revoke(struct http_request *);
static int  me_query(struct http_request *);
static int  login_merge_read(struct http_request *);
static int  login_merge_stock(struct http_request *);
static int  login_merge_write(struct http_request *);
static int  auth_tokens_reply(struct auth_ctx *, int);
static void auth_cleanup(struct call *);

enum register_state {
	REGISTER_LIMIT,
	REGISTER_CHECK,
	REGISTER_HASH,
	REGISTER_INSERT,
};
static struct http_state register_states[] = {
	[REGISTER_LIMIT] = { "REGISTER_LIMIT", register_limit },
	[REGISTER_CHECK] = { "REGISTER_CHECK", register_check },
	[REGISTER_HASH] = { "REGISTER_HASH", register_hash },
	[REGISTER_INSERT] = { "REGISTER_INSERT", register_insert },
};
enum login_state {
	LOGIN_LIMIT,
	LOGIN_LOOKUP,
	LOGIN_VERIFY,
	LOGIN_SESSION,
	LOGIN_MERGE_READ,
	LOGIN_MERGE_STOCK,
	LOGIN_MERGE_WRITE,
};
static struct http_state login_states[] = {
	[LOGIN_LIMIT] = { "LOGIN_LIMIT", login_limit },
	[LOGIN_LOOKUP] = { "LOGIN_LOOKUP", login_lookup },
	[LOGIN_VERIFY] = { "LOGIN_VERIFY", login_verify },
	[LOGIN_SESSION] = { "LOGIN_SESSION", login_session },
	[LOGIN_MERGE_READ] = { "LOGIN_MERGE_READ", login_merge_read },
	[LOGIN_MERGE_STOCK] = { "LOGIN_MERGE_STOCK", login_merge_stock },
	[LOGIN_MERGE_WRITE] = { "LOGIN_MERGE_WRITE", login_merge_write },
};
static struct http_state refresh_states[] = {
	{ "REFRESH_ROTATE", refresh_rotate },
};
static struct http_state logout_states[] = {
	{ "LOGOUT_REVOKE", logout_revoke },
};
static struct http_state me_states[] = {
	{ "ME_QUERY", me_query },
};

struct api_route routes_auth[] = {
	{ HTTP_METHOD_POST, "/auth/register", "auth_register", BODY_JSON,
	    STATES(register_states), sizeof(struct auth_ctx), NULL },
	{ HTTP_METHOD_POST, "/auth/login", "auth_login", BODY_JSON,
	    STATES(login_states), sizeof(struct auth_ctx), auth_cleanup },
	{ HTTP_METHOD_POST, "/auth/refresh", "auth_refresh", BODY_JSON,
	    STATES(refresh_states), sizeof(struct auth_ctx), NULL },
	{ HTTP_METHOD_POST, "/auth/logout", "auth_logout", AUTH_USER,
	    STATES(logout_states), 0, NULL },
	{ HTTP_METHOD_GET, "/me", "me", AUTH_USER, STATES(me_states), 0, NULL },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};

static const char sql_register[] =
    "INSERT INTO users (email, password_hash, name, role) "
    "VALUES ($1, $2, $3, $4) ON CONFLICT ((lower(email))) DO NOTHING "
    "RETURNING json_build_object('id', id, 'email', email, 'name', name, "
    "'role', role)";

static const char sql_login[] =
    "SELECT id, password_hash, role FROM users WHERE lower(email) = "
    "lower($1)";

static const char sql_me[] =
    "SELECT json_build_object('id', u.id, 'email', u.email, 'name', "
    "u.name, 'role', u.role, 'org_ids', user_org_ids(u.id), "
    "'vendor_id', v.id) FROM users u LEFT JOIN vendors v "
    "ON v.user_id = u.id WHERE u.id = $1";

/* Creates the session with its first refresh digest, and its lifetime. */
static const char session_create_lua[] =
    "redis.call('HSET', KEYS[1], 'uid', ARGV[1], 'role', ARGV[2], "
    "'rt', ARGV[3]) redis.call('EXPIRE', KEYS[1], ARGV[4]) return 1";

/*
 * Rotation: the current digest moves on and joins the session's spent
 * set.  A spent token presented again was stolen or replayed: the session
 * ends at once.  A token that was never issued is just refused, so that
 * knowing a session id is not enough to end someone's session.
 */
static const char session_rotate_lua[] =
    "local rt = redis.call('HGET', KEYS[1], 'rt') "
    "if not rt then return 0 end "
    "if rt == ARGV[1] then "
    "redis.call('SADD', KEYS[2], rt) "
    "redis.call('EXPIRE', KEYS[2], ARGV[3]) "
    "redis.call('HSET', KEYS[1], 'rt', ARGV[2]) "
    "redis.call('EXPIRE', KEYS[1], ARGV[3]) "
    "return redis.call('HMGET', KEYS[1], 'uid', 'role') end "
    "if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then "
    "redis.call('DEL', KEYS[1], KEYS[2]) return -1 end "
    "return 0";

static int
register_limit(struct http_request *req)
{
	struct call *c = http_state_get(req);
	int	     rc;

	rc = ratelimit_poll(c, "register", cfg.register_limit, cfg.rate_window);
	return (rc == HTTP_STATE_CONTINUE ? call_next(c, REGISTER_CHECK) : rc);
}

static int
register_check(struct http_request *req)
{
	static const char *const roles[] = { ROLE_CITIZEN, ROLE_VENDOR, NULL };
	struct auth_ctx		*a = http_state_get(req);
	json_t			*errs = NULL;
	const char		*email, *pw, *name, *role;

	email = json_field_str(a->c.body, "email");
	pw = json_field_str(a->c.body, "password");
	name = json_field_str(a->c.body, "name");
	role = json_field_str(a->c.body, "role");
	if (!validate_email(email))
		problem_field_add(&errs, "email", "a valid e-mail address");
	if (!validate_password(pw))
		problem_field_add(&errs, "password", PASSWORD_RULE);
	if (!validate_text(name, 1, USER_NAME_CHARS))
		problem_field_chars(&errs, "name", 1, USER_NAME_CHARS);
	if (!validate_oneof(role, roles))
		problem_field_add(&errs, "role", "citizen or vendor");
	if (errs != NULL)
		return (problem_validation(&a->c, errs));

	auth_pw_start(&a->c, &a->job, PW_HASH, pw, NULL);
	return (call_next(&a->c, REGISTER_HASH));
}

static int
register_hash(struct http_request *req)
{
	struct auth_ctx *a = http_state_get(req);

	switch (auth_pw_poll(&a->job)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR:
		return (problem_internal(&a->c, "password hashing failed"));
	}
	if (!a->job.ok) {
		kore_log(LOG_ERR, "argon2id: %s", strerror(a->job.err));
		return (problem_internal(&a->c, "password hashing failed"));
	}
	return (call_next(&a->c, REGISTER_INSERT));
}

static int
register_insert(struct http_request *req)
{
	struct auth_ctx *a = http_state_get(req);
	const char	*v[4];

	v[0] = json_field_str(a->c.body, "email");
	v[1] = a->job.hash;
	v[2] = json_field_str(a->c.body, "name");
	v[3] = json_field_str(a->c.body, "role");
	switch (db_poll(&a->c, sql_register, 4, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR:
		return (problem_internal(&a->c, "register: database error"));
	}
	if (db_rows(&a->c) == 0) {
		return (problem(&a->c, 409, "email_taken",
		    "an account with this e-mail address exists"));
	}
	return (db_json_reply(&a->c, 201));
}

static int
login_limit(struct http_request *req)
{
	struct call *c = http_state_get(req);
	int	     rc;

	rc = ratelimit_poll(c, "login", cfg.login_limit, cfg.rate_window);
	return (rc == HTTP_STATE_CONTINUE ? call_next(c, LOGIN_LOOKUP) : rc);
}

static int
login_lookup(struct http_request *req)
{
	struct auth_ctx *a = http_state_get(req);
	json_t		*errs = NULL;
	const char	*email, *pw, *v[1];

	email = json_field_str(a->c.body, "email");
	pw = json_field_str(a->c.body, "password");
	if (email == NULL || strlen(email) > 254)
		problem_field_add(&errs, "email", "required");
	if (pw == NULL || strlen(pw) > PASSWORD_MAX_BYTES)
		problem_field_add(&errs, "password", "required");
	if (errs != NULL)
		return (problem_validation(&a->c, errs));

	v[0] = email;
	switch (db_poll(&a->c, sql_login, 1, v)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR:
		return (problem_internal(&a->c, "login: database error"));
	}
	if (db_rows(&a->c) == 1) {
		a->uid = strtoll(db_value(&a->c, 0, 0), NULL, 10);
		(void)snprintf(
		    a->role, sizeof(a->role), "%s", db_value(&a->c, 0, 2));
	}
	/* Unknown accounts verify against a dummy: same time, same answer. */
	auth_pw_start(&a->c, &a->job, PW_VERIFY, pw,
	    db_rows(&a->c) == 1 ? db_value(&a->c, 0, 1) : NULL);
	return (call_next(&a->c, LOGIN_VERIFY));
}

static int
login_verify(struct http_request *req)
{
	struct auth_ctx *a = http_state_get(req);

	switch (auth_pw_poll(&a->job)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR:
		return (problem_internal(&a->c, "password check failed"));
	}
	if (!a->job.ok) {
		metrics_count("auth_failures");
		return (problem(&a->c, 401, "invalid_credentials",
		    "wrong e-mail address or password"));
	}
	return (call_next(&a->c, LOGIN_SESSION));
}

static int
login_session(struct http_request *req)
{
	struct auth_ctx *a = http_state_get(req);
	const char	*argv[8];
	char		 key[64], uid[24], ttl[16], digest[65];
	char		 secret[SECRET_LEN + 1];

	if (a->c.rw == NULL) {
		auth_random_token(a->sid, SID_LEN + 1);
		auth_random_token(secret, sizeof(secret));
		(void)snprintf(
		    a->refresh, sizeof(a->refresh), "%s.%s", a->sid, secret);
	}
	auth_digest(a->refresh, digest, sizeof(digest));
	(void)snprintf(key, sizeof(key), "sess:{%s}", a->sid);
	(void)snprintf(uid, sizeof(uid), "%lld", (long long)a->uid);
	(void)snprintf(ttl, sizeof(ttl), "%d", cfg.refresh_ttl);
	argv[0] = "EVAL";
	argv[1] = session_create_lua;
	argv[2] = "1";
	argv[3] = key;
	argv[4] = uid;
	argv[5] = a->role;
	argv[6] = digest;
	argv[7] = ttl;
	switch (redis_poll(&a->c, 8, argv, NULL)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR:
		return (problem(&a->c, 503, "unavailable",
		    "the session store is unavailable"));
	}
	return (call_next(&a->c, LOGIN_MERGE_READ));
}

static void
auth_cleanup(struct call *c)
{
	struct auth_ctx *a = (struct auth_ctx *)c;

	json_decref(a->guest);
	json_decref(a->user);
	json_decref(a->merged);
	a->guest = a->user = a->merged = NULL;
}

/*
 * With X-Cart-Token, the guest cart joins the user's: quantities add up,
 * capped by stock; the guest cart is gone after.  A failure here does not
 * fail the login: the carts are left as they were.
 */
static int
login_merge_read(struct http_request *req)
{
	struct auth_ctx *a = http_state_get(req);
	const char	*t;
	char		 ukey[64];

	if (!http_request_header(req, "x-cart-token", &t) ||
	    !cart_token_valid(t))
		return (auth_tokens_reply(a, 200));
	cart_guest_key(t, a->guest_key, sizeof(a->guest_key));
	cart_user_key(a->uid, ukey, sizeof(ukey));
	switch (cart_store_merge_read(&a->c, a->guest_key, ukey)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR: return (auth_tokens_reply(a, 200));
	}
	if (a->c.rv->elements != 2)
		return (auth_tokens_reply(a, 200));
	a->guest = cart_items_from_hash(a->c.rv->element[0]);
	a->user = cart_items_from_hash(a->c.rv->element[1]);
	if (json_array_size(a->guest) == 0)
		return (auth_tokens_reply(a, 200));
	return (call_next(&a->c, LOGIN_MERGE_STOCK));
}

static int64_t
login_qty(json_t *items, int64_t pid)
{
	json_t *it;
	size_t	i;

	json_array_foreach(items, i, it)
	{
		if (json_integer_value(json_object_get(it, "product_id")) ==
		    pid)
			return (json_integer_value(json_object_get(it, "qty")));
	}
	return (0);
}

static int
login_merge_stock(struct http_request *req)
{
	struct auth_ctx *a = http_state_get(req);
	json_t		*all, *facts, *f;
	size_t		 i;
	int64_t		 pid, q;

	all = json_copy(a->guest);
	json_array_extend(all, a->user);
	switch (cart_facts_poll(&a->c, all)) {
	case DB_PENDING: json_decref(all); return (HTTP_STATE_RETRY);
	case DB_ERROR: json_decref(all); return (auth_tokens_reply(a, 200));
	}
	json_decref(all);
	a->merged = json_array();
	if ((facts = db_json(&a->c, 0, 0)) == NULL)
		return (auth_tokens_reply(a, 200));
	json_array_foreach(facts, i, f)
	{
		pid = json_integer_value(json_object_get(f, "product_id"));
		if (login_qty(a->guest, pid) == 0)
			continue;
		q = cart_merge_qty(login_qty(a->user, pid),
		    login_qty(a->guest, pid),
		    json_is_true(json_object_get(f, "listed"))
			? json_integer_value(json_object_get(f, "stock"))
			: 0);
		json_array_append_new(a->merged,
		    json_pack("{s:I, s:I}", "product_id", (json_int_t)pid,
			"qty", (json_int_t)q));
	}
	json_decref(facts);
	return (call_next(&a->c, LOGIN_MERGE_WRITE));
}

/* The merged lines into the user's cart; the guest cart is gone. */
static int
login_merge_write(struct http_request *req)
{
	struct auth_ctx *a = http_state_get(req);
	char		 ukey[64];

	cart_user_key(a->uid, ukey, sizeof(ukey));
	if (cart_store_merge_write(&a->c, a->guest_key, ukey, a->merged) ==
	    DB_PENDING)
		return (HTTP_STATE_RETRY);
	return (auth_tokens_reply(a, 200));
}

static int
auth_tokens_reply(struct auth_ctx *a, int status)
{
	struct who w;
	char	  *access;
	int	   expires;

	memset(&w, 0, sizeof(w));
	w.uid = a->uid;
	(void)snprintf(w.role, sizeof(w.role), "%s", a->role);
	(void)snprintf(w.sid, sizeof(w.sid), "%s", a->sid);
	if (!auth_token_issue(&w, &access, &expires))
		return (problem_internal(&a->c, "cannot sign a token"));
	json_reply(&a->c, status,
	    json_pack("{s:s, s:s, s:s, s:i, s:i}", "access_token", access,
		"refresh_token", a->refresh, "token_type", "Bearer",
		"expires_in", expires, "refresh_expires_in", cfg.refresh_ttl));
	free(access);
	return (HTTP_STATE_COMPLETE);
}

static int
refresh_rotate(struct http_request *req)
{
	struct auth_ctx *a = http_state_get(req);
	const char	*tok, *dot, *argv[8];
	char		 key[64], spent[80], ttl[16], old[65], new[65];
	char		 secret[SECRET_LEN + 1];
	json_t		*errs = NULL;

	tok = json_field_str(a->c.body, "refresh_token");
	if (tok == NULL) {
		problem_field_add(&errs, "refresh_token", "required");
		return (problem_validation(&a->c, errs));
	}
	if (strlen(tok) != SID_LEN + 1 + SECRET_LEN ||
	    (dot = strchr(tok, '.')) == NULL || dot - tok != SID_LEN) {
		return (problem(&a->c, 401, "unauthenticated",
		    "the refresh token is not valid"));
	}
	if (a->c.rw == NULL) {
		memcpy(a->sid, tok, SID_LEN);
		a->sid[SID_LEN] = '\0';
		auth_random_token(secret, sizeof(secret));
		(void)snprintf(
		    a->refresh, sizeof(a->refresh), "%s.%s", a->sid, secret);
	}
	auth_digest(tok, old, sizeof(old));
	auth_digest(a->refresh, new, sizeof(new));
	(void)snprintf(key, sizeof(key), "sess:{%s}", a->sid);
	(void)snprintf(spent, sizeof(spent), "sess:{%s}:spent", a->sid);
	(void)snprintf(ttl, sizeof(ttl), "%d", cfg.refresh_ttl);
	argv[0] = "EVAL";
	argv[1] = session_rotate_lua;
	argv[2] = "2";
	argv[3] = key;
	argv[4] = spent;
	argv[5] = old;
	argv[6] = new;
	argv[7] = ttl;
	switch (redis_poll(&a->c, 8, argv, NULL)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR:
		return (problem(&a->c, 503, "unavailable",
		    "the session store is unavailable"));
	}
	if (a->c.rv->elements != 2 || a->c.rv->element[0]->str == NULL ||
	    a->c.rv->element[1]->str == NULL) {
		return (problem(&a->c, 401, "unauthenticated",
		    a->c.rv->integer == -1
			? "refresh token reused: the session is revoked"
			: "the refresh token is not valid"));
	}
	a->uid = strtoll(a->c.rv->element[0]->str, NULL, 10);
	(void)snprintf(
	    a->role, sizeof(a->role), "%s", a->c.rv->element[1]->str);
	return (auth_tokens_reply(a, 200));
}

static int
logout_revoke(struct http_request *req)
{
	struct call *c = http_state_get(req);
	const char  *argv[3];
	char	     key[96], spent[112];

	(void)snprintf(key, sizeof(key), "sess:{%s}", c->who.sid);
	(void)snprintf(spent, sizeof(spent), "sess:{%s}:spent", c->who.sid);
	argv[0] = "DEL";
	argv[1] = key;
	argv[2] = spent;
	switch (redis_poll(c, 3, argv, NULL)) {
	case DB_PENDING: return (HTTP_STATE_RETRY);
	case DB_ERROR:
		return (problem(
		    c, 503, "unavailable", "the session store is unavailable"));
	}
	json_reply_empty(c, 204);
	return (HTTP_STATE_COMPLETE);
}

static int
me_query(struct http_request *req)
{
	struct call *c = http_state_get(req);
	char	     uid[24];
	const char  *v[1];

	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	return (db_json_call(c, sql_me, 1, v));
}
