/*
 * test_placer: how a batch's outcome reaches its orders (app/placer.c,
 * compiled in with Kore and the pool stubbed out).  An order of a
 * committed batch must never be sent again: not when its answer cannot be
 * copied (strdup fails), not when the batch's rows lack it.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static int   strdup_fails; /* the next strdup() that many calls on fails */
static char *test_strdup(const char *);

#define strdup test_strdup
#include "../../app/placer.c"
#undef strdup

static char *
test_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char  *p;

	if (strdup_fails > 0 && --strdup_fails == 0)
		return (NULL);
	if ((p = malloc(n)) != NULL)
		memcpy(p, s, n);
	return (p);
}

/* Kore and the rest of bangfu, as far as the placer uses them. */
static struct db_job *submitted;
static int	      woken;

void *
kore_calloc(size_t n, size_t len)
{
	void *p;

	if ((p = calloc(n, len)) == NULL)
		abort();
	return (p);
}

void
kore_free(void *p)
{
	free(p);
}

char *
kore_strdup(const char *s)
{
	char *p;

	if ((p = test_strdup(s)) == NULL)
		abort();
	return (p);
}

void
kore_log(int prio, const char *fmt, ...)
{
	(void)prio;
	(void)fmt;
}

void
kore_buf_init(struct kore_buf *b, size_t len)
{
	b->data = kore_calloc(1, len);
	b->length = len;
	b->offset = 0;
	b->flags = 0;
}

void
kore_buf_append(struct kore_buf *b, const void *d, size_t len)
{
	if (b->offset + len + 1 > b->length) {
		b->length = (b->offset + len + 1) * 2;
		if ((b->data = realloc(b->data, b->length)) == NULL)
			abort();
	}
	memcpy(b->data + b->offset, d, len);
	b->offset += len;
}

char *
kore_buf_stringify(struct kore_buf *b, size_t *len)
{
	b->data[b->offset] = '\0';
	if (len != NULL)
		*len = b->offset;
	return ((char *)b->data);
}

void
kore_buf_cleanup(struct kore_buf *b)
{
	free(b->data);
	b->data = NULL;
}

void
http_request_sleep(struct http_request *req)
{
	(void)req;
}

void
http_request_wakeup(struct http_request *req)
{
	(void)req;
	woken++;
}

void
metrics_count(const char *name)
{
	(void)name;
}

int
db_submit(struct db_job *j, const char *sql, int n, const char **vals)
{
	(void)sql;
	(void)n;
	(void)vals;
	submitted = j;
	j->res = NULL;
	j->sqlstate[0] = '\0';
	j->sent = j->lost = 0;
	return (1);
}

void
db_job_forget(struct db_job *j)
{
	if (j->res != NULL)
		PQclear(j->res);
	j->res = NULL;
}

/* A place_orders() result: rows (i, status, body). */
static PGresult *
result(int nrows, const int *idx, const int *status)
{
	PGresAttDesc attrs[3];
	PGresult    *r;
	char	     v[16];
	int	     i;

	memset(attrs, 0, sizeof(attrs));
	attrs[0].name = "i";
	attrs[1].name = "status";
	attrs[2].name = "body";
	attrs[0].format = attrs[1].format = attrs[2].format = 0;
	r = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
	assert_non_null(r);
	assert_true(PQsetResultAttrs(r, 3, attrs));
	for (i = 0; i < nrows; i++) {
		(void)snprintf(v, sizeof(v), "%d", idx[i]);
		assert_true(PQsetvalue(r, i, 0, v, (int)strlen(v)));
		(void)snprintf(v, sizeof(v), "%d", status[i]);
		assert_true(PQsetvalue(r, i, 1, v, (int)strlen(v)));
		assert_true(PQsetvalue(r, i, 2, "{\"id\":1}", 8));
	}
	return (r);
}

/*
 * Three orders queued behind a batch in flight (one at a time), so that
 * they leave together in the next.
 */
static struct db_job *
three(struct placer_wait *w)
{
	static struct placer_wait blocker;
	struct http_request	 *req = (struct http_request *)w; /* any */
	const int		  one = 1, created = 201;
	struct db_job		 *first;
	int			  i;

	memset(&blocker, 0, sizeof(blocker));
	memset(w, 0, 3 * sizeof(*w));
	submitted = NULL;
	placer_submit(&blocker, req, test_strdup("{}"), "");
	assert_non_null((first = submitted));
	for (i = 0; i < 3; i++) {
		placer_submit(&w[i], req, test_strdup("{\"o\":1}"), "");
		assert_int_equal(w[i].state, PLACER_QUEUED);
	}
	first->res = result(1, &one, &created);
	first->sent = 1;
	placer_done(first);
	assert_int_equal(blocker.status, 201);
	placer_forget(&blocker);
	assert_true(submitted != first);
	for (i = 0; i < 3; i++)
		assert_int_equal(w[i].state, PLACER_SENT);
	woken = 0;
	return (submitted);
}

/* Three orders in one batch, answered by rows. */
static void
batch(struct placer_wait *w, int nrows, const int *idx, const int *status)
{
	struct db_job *j = three(w);
	int	       i;

	j->res = result(nrows, idx, status);
	j->sent = 1;
	placer_done(j);
	assert_int_equal(woken, 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(w[i].state, PLACER_DONE);
}

static void
forget(struct placer_wait *w)
{
	int i;

	for (i = 0; i < 3; i++)
		placer_forget(&w[i]);
}

static void
test_answered(void **state)
{
	struct placer_wait w[3];
	const int	   idx[] = { 1, 2, 3 }, st[] = { 201, 409, 201 };

	(void)state;
	batch(w, 3, idx, st);
	assert_int_equal(w[0].status, 201);
	assert_int_equal(w[1].status, 409);
	assert_int_equal(w[2].status, 201);
	assert_string_equal(w[0].body, "{\"id\":1}");
	forget(w);
}

static void
test_strdup_failure_is_lost(void **state)
{
	struct placer_wait w[3];
	const int	   idx[] = { 1, 2, 3 }, st[] = { 201, 201, 201 };
	struct db_job	  *j;
	int		   i;

	(void)state;
	/* The second answer's copy fails: its order was placed all the same. */
	j = three(w);
	j->res = result(3, idx, st);
	j->sent = 1;
	strdup_fails = 2;
	placer_done(j);
	strdup_fails = 0;
	for (i = 0; i < 3; i++)
		assert_int_equal(w[i].state, PLACER_DONE);
	assert_int_equal(w[0].status, 201);
	assert_int_equal(w[1].status, PLACER_LOST);
	assert_null(w[1].body);
	assert_int_equal(w[2].status, 201);
	forget(w);
}

static void
test_missing_row_is_lost(void **state)
{
	struct placer_wait w[3];
	const int	   idx[] = { 1, 3 }, st[] = { 201, 201 };

	(void)state;
	batch(w, 2, idx, st);
	assert_int_equal(w[0].status, 201);
	assert_int_equal(w[1].status, PLACER_LOST);
	assert_int_equal(w[2].status, 201);
	forget(w);
}

static void
test_outcomes(void **state)
{
	struct placer_wait w[3];
	struct db_job	  *j;
	int		   i;

	(void)state;
	/* Rolled back by an error of SQL: each goes alone. */
	j = three(w);
	j->sent = 1;
	(void)snprintf(j->sqlstate, sizeof(j->sqlstate), "23505");
	placer_done(j);
	for (i = 0; i < 3; i++)
		assert_int_equal(w[i].status, PLACER_ALONE);
	forget(w);
	/* Sent, then no answer: lost. */
	j = three(w);
	j->sent = j->lost = 1;
	(void)snprintf(j->sqlstate, sizeof(j->sqlstate), "57014");
	placer_done(j);
	for (i = 0; i < 3; i++)
		assert_int_equal(w[i].status, PLACER_LOST);
	forget(w);
	/* Never sent: not placed, unavailable. */
	j = three(w);
	(void)snprintf(j->sqlstate, sizeof(j->sqlstate), "08001");
	placer_done(j);
	for (i = 0; i < 3; i++)
		assert_int_equal(w[i].status, PLACER_UNAVAILABLE);
	forget(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answered),
		cmocka_unit_test(test_strdup_failure_is_lost),
		cmocka_unit_test(test_missing_row_is_lost),
		cmocka_unit_test(test_outcomes),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
