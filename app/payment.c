/*
 * payment: the payments of orders.  A buyer's payment of an order
 * (create_payment(), 003_orders.sql), the provider's notification that
 * settles it (batched by app/settler.c), and the sandbox's own cashier
 * page.  The sandbox behaves like the real providers (app/providers.c):
 * it notifies asynchronously, signs with a shared secret and may repeat
 * itself.  It is off unless PAYMENT_SANDBOX=1, and then its routes (the
 * notification's and the cashier page's) do not exist.
 */

#include <sodium.h>

#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "answer.h"
#include "db.h"
#include "json.h"
#include "problem.h"
#include "routes.h"
#include "idem.h"
#include "orders.h"
#include "settler.h"

#define SANDBOX_FORM_MAX 256

int ops_notfound(struct http_request *);

static int  order_pay(struct http_request *);
static int  payment_notify(struct http_request *);
static void notify_cleanup(struct call *);
static int  sandbox_page(struct http_request *);
static int  sandbox_load(struct http_request *);
static int  sandbox_settle(struct http_request *);
static void sandbox_cleanup(struct call *);

/* The provider's notification, settled in a batch (app/settler.c). */
struct notify_ctx {
	struct call	   c;
	struct settle_wait sw;
};

/* The cashier page's POST: the payment read, then settled as notified. */
struct sandbox_ctx {
	struct call	   c;
	char		   raw[160]; /* the notification, signed */
	size_t		   rawlen;
	char		   sig[2 * crypto_auth_hmacsha256_BYTES + 1];
	char		   back[ORDERS_RETURN_URL_MAX + 1];
	struct settle_wait sw; /* app/settler.c */
};

enum sandbox_state {
	S_LOAD,
	S_SETTLE,
};

/* A notification's refusal (payment_notify(), 003_orders.sql). */
const struct code_detail payment_details[] = {
	{ "amount_mismatch", "the amount does not match the payment" },
	{ NULL, NULL },
};

ONE(pay_states, order_pay);
ONE(notify_states, payment_notify);

struct api_route routes_payments[] = {
	{ HTTP_METHOD_POST, "/orders/{#id}/payments", "order_pay",
	    AUTH_USER | BODY_JSON, STATES(pay_states), 0, NULL },
	{ HTTP_METHOD_POST, "/payments/sandbox/notify", "payment_notify", 0,
	    STATES(notify_states), sizeof(struct notify_ctx), notify_cleanup },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};

static struct http_state sandbox_page_states[] = {
	{ "SANDBOX_PAGE", sandbox_page },
};
static struct http_state sandbox_pay_states[] = {
	[S_LOAD] = { "SANDBOX_LOAD", sandbox_load },
	[S_SETTLE] = { "SANDBOX_SETTLE", sandbox_settle },
};

/* Outside /api/v1: the paths as the browser sees them (conf/bangfu.conf). */
struct api_route routes_sandbox[] = {
	{ HTTP_METHOD_GET, "/sandbox/pay/{#payment_id}", "sandbox_page", 0,
	    STATES(sandbox_page_states), 0, NULL },
	{ HTTP_METHOD_POST, "/sandbox/pay/{#payment_id}", "sandbox_pay", 0,
	    STATES(sandbox_pay_states), sizeof(struct sandbox_ctx),
	    sandbox_cleanup },
	{ 0, NULL, NULL, 0, NULL, 0, 0, NULL }
};

/*
 * Where the provider's page sends the buyer back: a path of this site
 * only (one leading '/', no scheme, no host, no backslash), so that a
 * payment cannot be made to lead anywhere else.
 */
static int
order_return_url_valid(const char *u)
{
	const char *p;

	if (u == NULL || u[0] != '/' || u[1] == '/' || u[1] == '\\')
		return (0);
	if (strlen(u) > ORDERS_RETURN_URL_MAX)
		return (0);
	for (p = u; *p != '\0'; p++) {
		if (*p <= 0x20 || *p >= 0x7f || *p == '\\')
			return (0);
	}
	return (1);
}

static int
order_pay(struct http_request *req)
{
	struct call *c = http_state_get(req);
	json_t	    *errs = NULL, *ret;
	const char  *prov, *v[6];
	struct idem  idem;
	char	     uid[24];
	int	     ps;

	prov = json_field_str(c->body, "provider");
	ps = payment_provider_state(prov);
	if (ps == PROVIDER_UNKNOWN)
		problem_field_add(&errs, "provider", "sandbox");
	ret = json_object_get(c->body, "return_url");
	if (ret != NULL && !json_is_null(ret) &&
	    !order_return_url_valid(json_string_value(ret)))
		problem_field_add(&errs, "return_url",
		    "a path of this site, such as /orders/12");
	(void)idem_read(c, &idem, &errs);
	if (errs != NULL)
		return (problem_validation(c, errs));
	if (ps == PROVIDER_OFF)
		return (payment_unavailable(c));
	call_uid(c, uid, sizeof(uid));
	v[0] = uid;
	v[1] = c->match.params[0];
	v[2] = prov;
	v[3] = idem.has ? idem.key : NULL;
	v[4] = idem.hash;
	v[5] = json_string_value(ret);
	return (db_status_call(c,
	    "SELECT status, body FROM create_payment($1::bigint, "
	    "$2::bigint, $3, $4, $5, $6)",
	    6, v, NULL, "payment refused"));
}

/*
 * The provider calls us: no user, so the signature over the raw body is
 * the only authentication, checked before anything is parsed or touched.
 * With the sandbox off, the route does not exist.
 */
static int
payment_notify(struct http_request *req)
{
	struct notify_ctx *n = http_state_get(req);
	struct call	  *c = &n->c;
	const char	  *sig;
	int		   rc;

	if (payment_provider_state("sandbox") != PROVIDER_ON)
		return (problem(c, 404, "not_found", "no such route"));
	if (!http_request_header(req, "x-sandbox-signature", &sig))
		sig = NULL;
	rc = payment_settle(c, &n->sw,
	    req->http_body ? req->http_body->data : NULL,
	    req->http_body ? req->http_body_length : 0, sig);
	if (rc == DB_PENDING)
		return (HTTP_STATE_RETRY);
	if (rc == DB_ERROR)
		return (HTTP_STATE_COMPLETE);
	return (db_answer(c, n->sw.status, n->sw.body, "notification refused"));
}

static void
notify_cleanup(struct call *c)
{
	settle_forget(&((struct notify_ctx *)c)->sw);
}

/*
 * Kore hands /sandbox/pay/... here (conf/bangfu.conf).  With the sandbox
 * off the paths do not exist; on, they run through the API's machinery
 * (app/api.c) like any route.
 */
int
sandbox_dispatch(struct http_request *req)
{
	const struct api_route *r;
	struct route_match	m;
	int			method;

	if (http_state_exists(req))
		return (api_run(req, NULL, NULL));
	if (!provider_sandbox_on())
		return (ops_notfound(req));
	method =
	    req->method == HTTP_METHOD_HEAD ? HTTP_METHOD_GET : req->method;
	for (r = routes_sandbox; r->pattern != NULL; r++) {
		if (r->method == method &&
		    router_match(r->pattern, req->path, &m))
			return (api_run(req, r, &m));
	}
	return (ops_notfound(req));
}

/* Text for HTML: the few characters that could open markup, escaped. */
static void
sandbox_html(struct kore_buf *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '&': kore_buf_appendf(b, "&amp;"); break;
		case '<': kore_buf_appendf(b, "&lt;"); break;
		case '>': kore_buf_appendf(b, "&gt;"); break;
		case '"': kore_buf_appendf(b, "&quot;"); break;
		case '\'': kore_buf_appendf(b, "&#39;"); break;
		default: kore_buf_append(b, s, 1);
		}
	}
}

/* The payment as sandbox_payment() has it, or NULL once answered. */
static json_t *
sandbox_payment(struct call *c, int *rc)
{
	const char *v[1];
	json_t	   *p;

	v[0] = c->match.params[0];
	switch (db_poll(c, "SELECT sandbox_payment($1::bigint)", 1, v)) {
	case DB_PENDING: *rc = HTTP_STATE_RETRY; return (NULL);
	case DB_ERROR:
		*rc = problem_internal(c, "sandbox: database error");
		return (NULL);
	}
	if (db_isnull(c, 0, 0) || (p = db_json(c, 0, 0)) == NULL) {
		*rc = problem(c, 404, "not_found", "no such payment");
		return (NULL);
	}
	db_reset(&c->db);
	return (p);
}

/*
 * The cashier page: the amount and two buttons in a form, no script, so
 * it works in any browser, a phone's included.  The secret stays here.
 */
static int
sandbox_page(struct http_request *req)
{
	struct call	*c = http_state_get(req);
	struct kore_buf *b;
	json_t		*p;
	const char	*status;
	long long	 fen;
	int		 rc;

	if ((p = sandbox_payment(c, &rc)) == NULL)
		return (rc);
	fen = (long long)json_integer_value(json_object_get(p, "amount_fen"));
	status = json_string_value(json_object_get(p, "status"));
	b = kore_buf_alloc(2048);
	kore_buf_appendf(b,
	    "<!doctype html>\n<html lang=\"zh-CN\"><head>"
	    "<meta charset=\"utf-8\">"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">"
	    "<title>沙箱收银台</title></head><body>"
	    "<h1>沙箱收银台</h1><p>订单 ");
	sandbox_html(b, json_string_value(json_object_get(p, "order_no")));
	kore_buf_appendf(b, "</p><p>支付单号 %s</p>", c->match.params[0]);
	kore_buf_appendf(b, "<p>应付金额 <strong>¥%lld.%02lld</strong></p>",
	    fen / 100, fen % 100);
	if (status != NULL && strcmp(status, "pending") == 0) {
		kore_buf_appendf(b,
		    "<form method=\"post\" action=\"/sandbox/pay/%s\">"
		    "<p><button type=\"submit\" name=\"status\" "
		    "value=\"succeeded\">支付成功</button></p>"
		    "<p><button type=\"submit\" name=\"status\" "
		    "value=\"failed\">支付失败</button></p></form>",
		    c->match.params[0]);
	} else {
		kore_buf_appendf(b, "<p>这笔支付已经处理（");
		sandbox_html(b, status);
		kore_buf_appendf(b, "）。</p><p><a href=\"");
		sandbox_html(
		    b, json_string_value(json_object_get(p, "return_url")));
		kore_buf_appendf(b, "\">返回</a></p>");
	}
	kore_buf_appendf(b,
	    "<p><small>测试用沙箱支付，不会产生真实扣款。</small></p>"
	    "</body></html>\n");
	json_decref(p);
	json_reply_typed(c, 200, "text/html; charset=utf-8",
	    (const char *)b->data, b->offset);
	kore_buf_free(b);
	return (HTTP_STATE_COMPLETE);
}

/* status=succeeded or status=failed, from the page's form. */
static const char *
sandbox_form_status(struct call *c)
{
	struct http_request *req = c->req;
	char		     form[SANDBOX_FORM_MAX + 1];
	struct query	    *q;
	const char	    *st, *out;

	if (req->http_body == NULL || req->http_body_length == 0 ||
	    req->http_body_length > SANDBOX_FORM_MAX)
		return (NULL);
	memcpy(form, req->http_body->data, req->http_body_length);
	form[req->http_body_length] = '\0';
	q = kore_malloc(sizeof(*q));
	out = NULL;
	if (query_parse(q, form) == QUERY_OK &&
	    (st = query_get(q, "status")) != NULL) {
		if (strcmp(st, "succeeded") == 0)
			out = "succeeded";
		else if (strcmp(st, "failed") == 0)
			out = "failed";
	}
	kore_free(q);
	return (out);
}

/*
 * The button pressed: the server writes and signs the notification the
 * provider would send, as the provider would, for the settle step.
 */
static int
sandbox_load(struct http_request *req)
{
	struct sandbox_ctx *k = http_state_get(req);
	unsigned char	    mac[crypto_auth_hmacsha256_BYTES];
	json_t		   *p, *errs = NULL;
	const char	   *status, *back;
	int		    rc, n;

	if ((status = sandbox_form_status(&k->c)) == NULL) {
		problem_field_add(&errs, "status", "succeeded or failed");
		return (problem_validation(&k->c, errs));
	}
	if ((p = sandbox_payment(&k->c, &rc)) == NULL)
		return (rc);
	n = snprintf(k->raw, sizeof(k->raw),
	    "{\"payment_id\":%lld,\"status\":\"%s\",\"amount_fen\":%lld}",
	    (long long)k->c.match.ids[0], status,
	    (long long)json_integer_value(json_object_get(p, "amount_fen")));
	back = json_string_value(json_object_get(p, "return_url"));
	(void)snprintf(k->back, sizeof(k->back), "%s", back ? back : "/");
	json_decref(p);
	if (n < 0 || (size_t)n >= sizeof(k->raw))
		return (problem_internal(&k->c, "sandbox: notification"));
	k->rawlen = (size_t)n;
	provider_sandbox_mac(k->raw, k->rawlen, mac);
	(void)sodium_bin2hex(k->sig, sizeof(k->sig), mac, sizeof(mac));
	return (call_next(&k->c, S_SETTLE));
}

/* Settled through the notify route's own code, then back to the shop. */
static int
sandbox_settle(struct http_request *req)
{
	struct sandbox_ctx *k = http_state_get(req);
	int		    rc;

	rc = payment_settle(&k->c, &k->sw, k->raw, k->rawlen, k->sig);
	if (rc == DB_PENDING)
		return (HTTP_STATE_RETRY);
	if (rc == DB_ERROR)
		return (HTTP_STATE_COMPLETE);
	if (k->sw.status != 200)
		return (db_answer(
		    &k->c, k->sw.status, k->sw.body, "notification refused"));
	http_response_header(req, "location", k->back);
	json_reply_typed(&k->c, 303, "text/html; charset=utf-8", NULL, 0);
	return (HTTP_STATE_COMPLETE);
}

static void
sandbox_cleanup(struct call *c)
{
	settle_forget(&((struct sandbox_ctx *)c)->sw);
}
