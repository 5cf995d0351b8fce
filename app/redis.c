/*
 * redis: the Redis adapter.  Each worker has one command link and one
 * subscriber link (app/redis_link.c); both reconnect on a timer after a
 * drop.  Requests sleep while Redis answers (redis_poll()); the subscriber
 * hands each message of its one channel to whoever subscribed
 * (redis_subscribe()), knowing nothing of what the messages say.
 *
 * With Sentinels (app/redis_sentinel.c) the links go where the Sentinels
 * say the master is, and a new master closes both links, which reconnect
 * to it.  The command link takes commands only once ROLE said master.
 */

#include <openssl/sha.h>

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "metrics.h"
#include "redis.h"

#include "redis_link.h"
#include "redis_sentinel.h"

_Static_assert(RV_STRING == REDIS_REPLY_STRING &&
	RV_ARRAY == REDIS_REPLY_ARRAY && RV_INTEGER == REDIS_REPLY_INTEGER &&
	RV_NIL == REDIS_REPLY_NIL && RV_STATUS == REDIS_REPLY_STATUS &&
	RV_ERROR == REDIS_REPLY_ERROR,
    "enum redis_type is hiredis's REDIS_REPLY_*");

/* A command in flight; the request may be gone before the reply comes. */
struct redis_wait {
	struct http_request *req;
	struct call	    *call;
	int		     done;
	struct redis_value  *value;
};

static void redis_reply(redisAsyncContext *, void *, void *);
static void redis_message(redisAsyncContext *, void *, void *);
static int  redis_send(struct call *, int, const char **, const size_t *, int);
static struct redis_value *redis_value_dup(const redisReply *);
static const char	  *redis_data_host(void);
static int		   redis_data_port(void);
static void		   redis_data_hello(struct redis_link *);
static void		   redis_cmd_lost(struct redis_link *, int);
static void		   redis_sub_lost(struct redis_link *, int);
static void		   redis_master_at(const char *, int);

static struct redis_link cmd_link = {
	.name = "command",
	.host = redis_data_host,
	.port = redis_data_port,
	.hello = redis_data_hello,
	.lost = redis_cmd_lost,
};
static struct redis_link sub_link = {
	.name = "subscriber",
	.host = redis_data_host,
	.port = redis_data_port,
	.hello = redis_data_hello,
	.lost = redis_sub_lost,
};
static const char *sub_channel;
static void (*sub_cb)(int, const char *);
static char redis_host[256] = "127.0.0.1";
static int  redis_port = 6379;
static char redis_user[128];
static char redis_pass[256];
static int  redis_db;

/* Parses redis://[:password@]host[:port][/db] and opens both links. */
int
redis_init(const char *url)
{
	const char *p, *at, *slash, *colon;
	size_t	    len;

	if (strncmp(url, "redis://", 8) != 0) {
		kore_log(LOG_ERR, "redis: REDIS_URL must start with redis://");
		return (KORE_RESULT_ERROR);
	}
	p = url + 8;
	if ((at = strchr(p, '@')) != NULL) {
		/* [user]:password (an ACL user, or the default one). */
		colon = memchr(p, ':', (size_t)(at - p));
		if (colon != NULL) {
			len = (size_t)(at - colon - 1);
			if (len >= sizeof(redis_pass) ||
			    (size_t)(colon - p) >= sizeof(redis_user))
				return (KORE_RESULT_ERROR);
			memcpy(redis_pass, colon + 1, len);
			redis_pass[len] = '\0';
			memcpy(redis_user, p, (size_t)(colon - p));
			redis_user[colon - p] = '\0';
		}
		p = at + 1;
	}
	slash = strchr(p, '/');
	len = slash ? (size_t)(slash - p) : strlen(p);
	if (len == 0 || len >= sizeof(redis_host))
		return (KORE_RESULT_ERROR);
	memcpy(redis_host, p, len);
	redis_host[len] = '\0';
	if ((colon = strrchr(redis_host, ':')) != NULL) {
		redis_port = atoi(colon + 1);
		redis_host[colon - redis_host] = '\0';
	}
	if (slash != NULL && slash[1] != '\0')
		redis_db = atoi(slash + 1);

	/* The data links open once a Sentinel has named the master. */
	if ((p = getenv("REDIS_SENTINELS")) != NULL && *p != '\0')
		return (redis_sentinel_init(p, redis_master_at));
	cmd_link.ready_on_connect = 1;
	redis_link_open(&cmd_link);
	redis_link_open(&sub_link);
	return (KORE_RESULT_OK);
}

static const char *
redis_data_host(void)
{
	return (redis_host);
}

static int
redis_data_port(void)
{
	return (redis_port);
}

/* The master is at host:port now: the data links go there. */
static void
redis_master_at(const char *host, int port)
{
	if (strcmp(host, redis_host) == 0 && port == redis_port &&
	    (cmd_link.ac != NULL || cmd_link.timer_armed || cmd_link.resolving))
		return;
	if (strlen(host) >= sizeof(redis_host))
		return;
	kore_log(LOG_NOTICE, "redis: master %s is at %s:%d",
	    redis_sentinel_name(), host, port);
	(void)snprintf(redis_host, sizeof(redis_host), "%s", host);
	redis_port = port;
	redis_link_restart(&cmd_link);
	redis_link_restart(&sub_link);
}

/* Queued now, sent once connected, answered before anything else. */
static void
redis_data_hello(struct redis_link *l)
{
	redisAsyncContext *ac = l->ac;
	char		   db[16];
	const char	  *argv[3];

	if (redis_pass[0] != '\0') {
		argv[0] = "AUTH";
		argv[1] = redis_user[0] ? redis_user : redis_pass;
		argv[2] = redis_pass;
		redisAsyncCommandArgv(
		    ac, redis_ignore, NULL, redis_user[0] ? 3 : 2, argv, NULL);
	}
	if (redis_db != 0) {
		(void)snprintf(db, sizeof(db), "%d", redis_db);
		argv[0] = "SELECT";
		argv[1] = db;
		redisAsyncCommandArgv(ac, redis_ignore, NULL, 2, argv, NULL);
	}
	if (l == &sub_link) {
		if (sub_channel == NULL)
			return;
		argv[0] = "SUBSCRIBE";
		argv[1] = sub_channel;
		redisAsyncCommandArgv(ac, redis_message, NULL, 2, argv, NULL);
	} else if (redis_sentinels()) {
		argv[0] = "ROLE";
		redisAsyncCommandArgv(ac, redis_role, NULL, 1, argv, NULL);
	}
}

/* With Sentinels, a lost command link asks where the master is now. */
static void
redis_cmd_lost(struct redis_link *l, int up)
{
	(void)l;
	(void)up;
	redis_sentinel_again();
}

/* Messages may be missed while we are away: the subscriber is told. */
static void
redis_sub_lost(struct redis_link *l, int up)
{
	(void)l;
	if (up && sub_cb != NULL)
		sub_cb(REDIS_SUB_LOST, NULL);
}

int
redis_ready(void)
{
	return (cmd_link.ready);
}

/*
 * The subscriber's replies: the SUBSCRIBE confirmation (messages may have
 * been missed before it) and each message, passed on as they come.
 */
static void
redis_message(redisAsyncContext *ac, void *r, void *priv)
{
	struct redis_link *l = ac->data;
	redisReply	  *reply = r;

	(void)priv;
	if (reply == NULL || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements < 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(reply->element[0]->str, "subscribe") == 0) {
		if (sub_cb != NULL)
			sub_cb(REDIS_SUB_READY, NULL);
		l->ready = 1;
	} else if (strcmp(reply->element[0]->str, "message") == 0 &&
	    sub_cb != NULL) {
		sub_cb(REDIS_SUB_MESSAGE,
		    reply->element[2]->type == REDIS_REPLY_STRING
			? reply->element[2]->str
			: NULL);
	}
}

/*
 * The one channel of the subscriber link, and who hears it: set before
 * redis_init() connects.
 */
void
redis_subscribe(const char *channel, void (*cb)(int, const char *))
{
	sub_channel = channel;
	sub_cb = cb;
}

/* Whether the subscription is live: every message can reach us. */
int
redis_subscribed(void)
{
	return (sub_link.ready);
}

/* Fire and forget: msg to every subscriber of channel. */
void
redis_publish(const char *channel, const char *msg)
{
	const char *argv[3];

	if (cmd_link.ac == NULL || !cmd_link.ready) {
		metrics_count("redis_errors");
		return;
	}
	argv[0] = "PUBLISH";
	argv[1] = channel;
	argv[2] = msg;
	redisAsyncCommandArgv(cmd_link.ac, redis_ignore, NULL, 3, argv, NULL);
}

/*
 * Sends one command for the request, then reports its reply: DB_PENDING
 * while asleep, DB_OK with the reply in c->rv (which the caller owns until
 * the next command), DB_ERROR when Redis is unreachable or answers an error.
 */
int
redis_poll(struct call *c, int argc, const char **argv, const size_t *lens)
{
	struct redis_wait *w;
	int		   rc;

	if ((w = c->rw) == NULL)
		return (redis_send(c, argc, argv, lens, 1));
	if (!w->done)
		return (DB_PENDING);

	c->rw = NULL;
	c->rv = w->value;
	kore_free(w);
	/* Redis lost its scripts (a restart): send the script itself once. */
	if (c->rv != NULL && c->rv->type == RV_ERROR &&
	    strncmp(c->rv->str, "NOSCRIPT", 8) == 0 &&
	    strcmp(argv[0], "EVAL") == 0)
		return (redis_send(c, argc, argv, lens, 0));
	rc = DB_OK;
	if (c->rv == NULL || c->rv->type == RV_ERROR) {
		if (c->rv != NULL)
			kore_log(LOG_ERR, "redis: %s", c->rv->str);
		metrics_count("redis_errors");
		rc = DB_ERROR;
	}
	return (rc);
}

/*
 * The SHA1 of a script, hex, kept by the script's address: our scripts are
 * static strings, so EVAL becomes EVALSHA and the script text is sent only
 * when Redis does not know it yet.
 */
static const char *
redis_script_sha(const char *script)
{
	static struct {
		const char *script;
		char	    sha[41];
	} shas[32];
	static int    nshas;
	unsigned char d[SHA_DIGEST_LENGTH];
	int	      i;

	for (i = 0; i < nshas; i++) {
		if (shas[i].script == script)
			return (shas[i].sha);
	}
	if (nshas == (int)(sizeof(shas) / sizeof(shas[0])))
		return (NULL);
	SHA1((const unsigned char *)script, strlen(script), d);
	for (i = 0; i < SHA_DIGEST_LENGTH; i++)
		(void)snprintf(&shas[nshas].sha[i * 2], 3, "%02x", d[i]);
	shas[nshas].script = script;
	return (shas[nshas++].sha);
}

static int
redis_send(
    struct call *c, int argc, const char **argv, const size_t *lens, int by_sha)
{
	struct redis_wait *w;
	const char	  *args[64], *sha;
	int		   i;

	if (c->rv != NULL) {
		redis_value_free(c->rv);
		c->rv = NULL;
	}
	if (cmd_link.ac == NULL || !cmd_link.ready || argc > 64) {
		metrics_count("redis_errors");
		return (DB_ERROR);
	}
	for (i = 0; i < argc; i++)
		args[i] = argv[i];
	if (by_sha && lens == NULL && argc >= 2 &&
	    strcmp(argv[0], "EVAL") == 0 &&
	    (sha = redis_script_sha(argv[1])) != NULL) {
		args[0] = "EVALSHA";
		args[1] = sha;
	}
	w = kore_calloc(1, sizeof(*w));
	w->req = c->req;
	w->call = c;
	if (redisAsyncCommandArgv(
		cmd_link.ac, redis_reply, w, argc, args, lens) != REDIS_OK) {
		kore_free(w);
		metrics_count("redis_errors");
		return (DB_ERROR);
	}
	c->rw = w;
	http_request_sleep(c->req);
	return (DB_PENDING);
}

static void
redis_reply(redisAsyncContext *ac, void *r, void *priv)
{
	struct redis_wait *w = priv;

	w->done = 1;
	w->value = r ? redis_value_dup(r) : NULL;
	/* A master turned replica under us: find the new one. */
	if (redis_sentinels() && w->value != NULL &&
	    w->value->type == REDIS_REPLY_ERROR &&
	    strncmp(w->value->str, "READONLY", 8) == 0) {
		redisAsyncDisconnect(ac);
		redis_sentinel_again();
	}
	if (w->req == NULL) {
		/* The request went away while we waited. */
		redis_value_free(w->value);
		kore_free(w);
		return;
	}
	http_request_wakeup(w->req);
}

/* Called when a request is freed with a command in flight. */
void
redis_wait_orphan(struct call *c)
{
	if (c->rw != NULL) {
		c->rw->req = NULL;
		c->rw->call = NULL;
		c->rw = NULL;
	}
	if (c->rv != NULL) {
		redis_value_free(c->rv);
		c->rv = NULL;
	}
}

static struct redis_value *
redis_value_dup(const redisReply *r)
{
	struct redis_value *v;
	size_t		    i;

	v = kore_calloc(1, sizeof(*v));
	v->type = (enum redis_type)r->type;
	v->integer = r->integer;
	if (r->str != NULL) {
		v->len = r->len;
		v->str = kore_malloc(r->len + 1);
		memcpy(v->str, r->str, r->len);
		v->str[r->len] = '\0';
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
		v->elements = r->elements;
		v->element = kore_calloc(r->elements, sizeof(*v->element));
		for (i = 0; i < r->elements; i++)
			v->element[i] = redis_value_dup(r->element[i]);
	}
	return (v);
}

void
redis_value_free(struct redis_value *v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < v->elements; i++)
		redis_value_free(v->element[i]);
	kore_free(v->element);
	kore_free(v->str);
	kore_free(v);
}
