/*
 * auth: access tokens (HS256 JWTs through libjwt), Argon2id password
 * hashing through libsodium on Kore's task threads, and random tokens.
 * The only file that knows libjwt and libsodium.
 */

#include <jwt.h>
#include <sodium.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "auth.h"
#include "config.h"
#include "validate.h"

#define JWT_ISSUER   "bangfu"
#define JWT_AUDIENCE "bangfu-api"
#define JWT_MAX_LEN  2048

static int  auth_pw_task(struct kore_task *);
static void auth_tokcache_init(void);

/*
 * Spent on unknown e-mail addresses so that login takes as long whether
 * the account exists or not.  Not a secret: a hash of a random password.
 */
static const char auth_dummy_hash[] =
    "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHRzb21lc2FsdA"
    "$Ez8ZrB2w3y3s0n0Hc5bOQ9mV8p1xXWq2m0e4ZqQw1Vc";

int
auth_init(void)
{
	if (sodium_init() < 0) {
		kore_log(LOG_ERR, "auth: sodium_init failed");
		return (KORE_RESULT_ERROR);
	}
	if (cfg.jwt_secret == NULL || strlen(cfg.jwt_secret) < 32) {
		kore_log(
		    LOG_ERR, "auth: JWT_SECRET must hold 32 bytes or more");
		return (KORE_RESULT_ERROR);
	}
	auth_tokcache_init();
	return (KORE_RESULT_OK);
}

/* A new access token for w; *out is freed with free(). */
int
auth_token_issue(const struct who *w, char **out, int *expires_in)
{
	jwt_t *jwt;
	char   sub[32];
	time_t now;
	int    ok;

	if (jwt_new(&jwt) != 0)
		return (KORE_RESULT_ERROR);
	now = time(NULL);
	(void)snprintf(sub, sizeof(sub), "%lld", (long long)w->uid);
	ok = jwt_add_grant(jwt, "iss", JWT_ISSUER) == 0 &&
	    jwt_add_grant(jwt, "aud", JWT_AUDIENCE) == 0 &&
	    jwt_add_grant(jwt, "sub", sub) == 0 &&
	    jwt_add_grant(jwt, "sid", w->sid) == 0 &&
	    jwt_add_grant(jwt, "role", w->role) == 0 &&
	    jwt_add_grant_int(jwt, "iat", now) == 0 &&
	    jwt_add_grant_int(jwt, "exp", now + cfg.access_ttl) == 0 &&
	    jwt_set_alg(jwt, JWT_ALG_HS256,
		(const unsigned char *)cfg.jwt_secret,
		(int)strlen(cfg.jwt_secret)) == 0;
	*out = ok ? jwt_encode_str(jwt) : NULL;
	jwt_free(jwt);
	if (*out == NULL)
		return (KORE_RESULT_ERROR);
	*expires_in = cfg.access_ttl;
	return (KORE_RESULT_OK);
}

/*
 * Checks signature, algorithm, issuer, audience and expiry, and fills w
 * with the subject and session.  Only HS256 is accepted: a token that names
 * another algorithm, "none" included, is refused whatever it carries.
 */
static int
auth_token_check(const char *tok, struct who *w, long *expp)
{
	jwt_t	   *jwt;
	const char *iss, *aud, *sub, *sid, *role, *p;
	long	    exp;
	int	    ok, dots;
	char	   *end;

	if (strlen(tok) > JWT_MAX_LEN)
		return (0);
	for (dots = 0, p = tok; *p != '\0'; p++)
		dots += (*p == '.');
	/* header.payload.signature, with a signature. */
	if (dots != 2 || tok[strlen(tok) - 1] == '.')
		return (0);

	if (jwt_decode(&jwt, tok, (const unsigned char *)cfg.jwt_secret,
		(int)strlen(cfg.jwt_secret)) != 0)
		return (0);

	ok = 0;
	if (jwt_get_alg(jwt) != JWT_ALG_HS256)
		goto done;
	iss = jwt_get_grant(jwt, "iss");
	aud = jwt_get_grant(jwt, "aud");
	sub = jwt_get_grant(jwt, "sub");
	sid = jwt_get_grant(jwt, "sid");
	role = jwt_get_grant(jwt, "role");
	errno = 0;
	exp = jwt_get_grant_int(jwt, "exp");
	if (errno != 0 || iss == NULL || aud == NULL || sub == NULL ||
	    sid == NULL || role == NULL)
		goto done;
	if (strcmp(iss, JWT_ISSUER) != 0 || strcmp(aud, JWT_AUDIENCE) != 0)
		goto done;
	if (exp <= time(NULL) || exp > time(NULL) + cfg.access_ttl + 60)
		goto done;
	if (strlen(sid) == 0 || strlen(sid) >= sizeof(w->sid) ||
	    strspn(sid,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789-_") != strlen(sid))
		goto done;
	errno = 0;
	w->uid = strtoll(sub, &end, 10);
	if (errno != 0 || *end != '\0' || w->uid <= 0)
		goto done;
	(void)snprintf(w->sid, sizeof(w->sid), "%s", sid);
	(void)snprintf(w->role, sizeof(w->role), "%s", role);
	*expp = exp;
	ok = 1;
done:
	jwt_free(jwt);
	return (ok);
}

/*
 * Verified tokens, per worker: a client sends the same token for up to 15
 * minutes, and checking it (base64, JSON, HMAC) is most of what a cheap
 * request costs.  Keyed by a 128-bit SipHash of the whole token under a
 * key of this worker's (random, never known outside it), so a forged token
 * never finds a slot.  Sets of TOKCACHE_WAYS entries: tokens that share a
 * set take turns in it instead of evicting each other on every request; a
 * new token takes the way that dies first.  An entry dies with the
 * token's exp.  Revocation is the session's business (Redis), checked on
 * every request.
 */
#define TOKCACHE_SETS 1024 /* power of two */
#define TOKCACHE_WAYS 4

struct tok_entry {
	unsigned char digest[crypto_shorthash_siphashx24_BYTES];
	long	      exp;
	struct who    who;
};

static struct tok_entry tokcache[TOKCACHE_SETS][TOKCACHE_WAYS];
static unsigned char	tokcache_key[crypto_shorthash_siphashx24_KEYBYTES];

static void
auth_tokcache_init(void)
{
	randombytes_buf(tokcache_key, sizeof(tokcache_key));
	memset(tokcache, 0, sizeof(tokcache));
}

int
auth_token_verify(const char *tok, struct who *w)
{
	struct tok_entry *set, *e;
	unsigned char	  d[crypto_shorthash_siphashx24_BYTES];
	uint64_t	  h;
	size_t		  len, i;
	long		  exp, now;

	if ((len = strlen(tok)) > JWT_MAX_LEN)
		return (0);
	(void)crypto_shorthash_siphashx24(
	    d, (const unsigned char *)tok, len, tokcache_key);
	memcpy(&h, d, sizeof(h));
	set = tokcache[h & (TOKCACHE_SETS - 1)];
	now = (long)time(NULL);
	e = &set[0];
	for (i = 0; i < TOKCACHE_WAYS; i++) {
		if (set[i].exp > now &&
		    sodium_memcmp(set[i].digest, d, sizeof(d)) == 0) {
			*w = set[i].who;
			return (1);
		}
		if (set[i].exp < e->exp)
			e = &set[i];
	}
	if (!auth_token_check(tok, w, &exp))
		return (0);
	memcpy(e->digest, d, sizeof(d));
	e->exp = exp;
	e->who = *w;
	return (1);
}

/* len - 1 characters of URL-safe base64 from fresh random bytes. */
void
auth_random_token(char *out, size_t len)
{
	unsigned char raw[48];
	size_t	      n;

	n = (len - 1) * 3 / 4;
	if (n > sizeof(raw))
		n = sizeof(raw);
	randombytes_buf(raw, n);
	sodium_bin2base64(
	    out, len, raw, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

/* A keyed digest of a refresh token: what Redis stores instead of it. */
void
auth_digest(const char *tok, char *hex, size_t hexlen)
{
	unsigned char d[32];

	crypto_generichash(d, sizeof(d), (const unsigned char *)tok,
	    strlen(tok), (const unsigned char *)cfg.jwt_secret, 32);
	sodium_bin2hex(hex, hexlen, d, sizeof(d));
}

/* An unkeyed digest of a request body, for idempotency keys. */
void
auth_body_digest(const void *body, size_t len, char *hex)
{
	unsigned char d[32];

	crypto_generichash(d, sizeof(d), body, len, NULL, 0);
	sodium_bin2hex(hex, 65, d, sizeof(d));
}

/*
 * Hashing and verifying take tens of milliseconds of CPU and 64 MiB each,
 * so they run on Kore's task threads while the request sleeps.
 */
static int
auth_pw_task(struct kore_task *t)
{
	struct pw_job *job;

	if (kore_task_channel_read(t, &job, sizeof(job)) != sizeof(job))
		return (KORE_RESULT_ERROR);
	if (job->mode == PW_HASH) {
		errno = 0;
		job->ok = crypto_pwhash_str(job->hash, job->pw, strlen(job->pw),
			      crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
		job->err = errno;
	} else {
		job->ok = crypto_pwhash_str_verify(
			      job->hash, job->pw, strlen(job->pw)) == 0;
	}
	sodium_memzero(job->pw, sizeof(job->pw));
	return (KORE_RESULT_OK);
}

/*
 * Starts the job: PW_HASH of pw, or PW_VERIFY of pw against hash (NULL for
 * an unknown account, which verifies against a dummy and fails).
 */
void
auth_pw_start(struct call *c, struct pw_job *job, int mode, const char *pw,
    const char *hash)
{
	job->mode = mode;
	job->ok = 0;
	(void)snprintf(job->pw, sizeof(job->pw), "%s", pw);
	(void)snprintf(
	    job->hash, sizeof(job->hash), "%s", hash ? hash : auth_dummy_hash);
	job->known = (hash != NULL);
	kore_task_create(&job->task, auth_pw_task);
	kore_task_bind_request(&job->task, c->req);
	kore_task_run(&job->task);
	kore_task_channel_write(&job->task, &job, sizeof(job));
	job->started = 1;
}

/* DB_PENDING until the job is done, then DB_OK with job->ok set. */
int
auth_pw_poll(struct pw_job *job)
{
	if (kore_task_state(&job->task) != KORE_TASK_STATE_FINISHED)
		return (DB_PENDING);
	if (kore_task_result(&job->task) != KORE_RESULT_OK)
		return (DB_ERROR);
	if (job->mode == PW_VERIFY && !job->known)
		job->ok = 0;
	return (DB_OK);
}

/*
 * Certificates of 以购代捐 purchases: the facts as a JWT signed with
 * CERT_SECRET, a key kept apart from the access tokens' JWT_SECRET, with an
 * audience and a typ claim of their own, so that an access token is never
 * a valid certificate nor a certificate an access token.
 */
#define CERT_AUDIENCE "bangfu-certificate"
#define CERT_TYPE     "bangfu-certificate"
#define CERT_MAX_LEN  4096

static int
auth_cert_key(void)
{
	if (cfg.cert_secret == NULL || strlen(cfg.cert_secret) < 32) {
		kore_log(
		    LOG_ERR, "auth: CERT_SECRET must hold 32 bytes or more");
		return (0);
	}
	if (cfg.jwt_secret != NULL &&
	    strcmp(cfg.cert_secret, cfg.jwt_secret) == 0) {
		kore_log(
		    LOG_ERR, "auth: CERT_SECRET must differ from JWT_SECRET");
		return (0);
	}
	return (1);
}

/* Signs facts (a JSON object's text); *out is freed with free(). */
int
auth_cert_issue(const char *facts, char **out)
{
	jwt_t	    *jwt;
	json_t	    *f, *g;
	json_error_t err;
	char	    *grants;
	int	     ok;

	*out = NULL;
	if (!auth_cert_key())
		return (KORE_RESULT_ERROR);
	if ((f = json_loads(facts, 0, &err)) == NULL || !json_is_object(f)) {
		if (f != NULL)
			json_decref(f);
		return (KORE_RESULT_ERROR);
	}
	g = json_pack("{s:o}", "certificate", f);
	grants = json_dumps(g, JSON_COMPACT);
	json_decref(g);
	if (grants == NULL)
		return (KORE_RESULT_ERROR);
	if (jwt_new(&jwt) != 0) {
		free(grants);
		return (KORE_RESULT_ERROR);
	}
	ok = jwt_add_grants_json(jwt, grants) == 0 &&
	    jwt_add_grant(jwt, "iss", JWT_ISSUER) == 0 &&
	    jwt_add_grant(jwt, "aud", CERT_AUDIENCE) == 0 &&
	    jwt_add_grant(jwt, "typ", CERT_TYPE) == 0 &&
	    jwt_add_grant_int(jwt, "iat", time(NULL)) == 0 &&
	    jwt_set_alg(jwt, JWT_ALG_HS256,
		(const unsigned char *)cfg.cert_secret,
		(int)strlen(cfg.cert_secret)) == 0;
	free(grants);
	*out = ok ? jwt_encode_str(jwt) : NULL;
	jwt_free(jwt);
	return (*out != NULL ? KORE_RESULT_OK : KORE_RESULT_ERROR);
}

/*
 * Checks a certificate: HS256 under CERT_SECRET, its type, issuer and
 * audience.  Returns 1 with the facts' JSON text in *facts (free()) and
 * the time of issue in *iat, or 0 for anything else, "none" included.
 */
int
auth_cert_verify(const char *tok, char **facts, long *iat)
{
	jwt_t	   *jwt;
	const char *p, *typ, *iss, *aud;
	int	    dots, ok;

	*facts = NULL;
	if (!auth_cert_key() || strlen(tok) > CERT_MAX_LEN)
		return (0);
	for (dots = 0, p = tok; *p != '\0'; p++)
		dots += (*p == '.');
	if (dots != 2 || tok[strlen(tok) - 1] == '.')
		return (0);
	if (jwt_decode(&jwt, tok, (const unsigned char *)cfg.cert_secret,
		(int)strlen(cfg.cert_secret)) != 0)
		return (0);

	ok = 0;
	if (jwt_get_alg(jwt) != JWT_ALG_HS256)
		goto done;
	/* libjwt 1.10 writes the header's typ itself: ours is a claim. */
	typ = jwt_get_grant(jwt, "typ");
	iss = jwt_get_grant(jwt, "iss");
	aud = jwt_get_grant(jwt, "aud");
	if (typ == NULL || iss == NULL || aud == NULL ||
	    strcmp(typ, CERT_TYPE) != 0 || strcmp(iss, JWT_ISSUER) != 0 ||
	    strcmp(aud, CERT_AUDIENCE) != 0)
		goto done;
	errno = 0;
	*iat = jwt_get_grant_int(jwt, "iat");
	if (errno != 0)
		goto done;
	if ((*facts = jwt_get_grants_json(jwt, "certificate")) == NULL)
		goto done;
	if ((*facts)[0] != '{') {
		free(*facts);
		*facts = NULL;
		goto done;
	}
	ok = 1;
done:
	jwt_free(jwt);
	return (ok);
}
