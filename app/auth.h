/*
 * auth: libjwt and libsodium behind one door (app/auth.c).  Access tokens
 * (HS256 JWTs), signed certificates, random tokens and digests, and the
 * password jobs that run on Kore's task threads.
 */

#ifndef AUTH_H
#define AUTH_H

#include <kore/kore.h>
#include <kore/tasks.h>

#include <sodium.h>

#include "validate.h"

struct call;
struct who;

int  auth_init(void);
int  auth_token_issue(const struct who *, char **, int *);
int  auth_token_verify(const char *, struct who *);
void auth_random_token(char *, size_t);
void auth_body_digest(const void *, size_t, char *);
int  auth_cert_issue(const char *, char **);
int  auth_cert_verify(const char *, char **, long *);

#define PW_HASH	  1
#define PW_VERIFY 2

/* Lives in the request's context: Kore frees it only after the task ends. */
struct pw_job {
	struct kore_task task;
	int		 mode;
	int		 ok;
	int		 known;
	int		 started;
	int		 err;
	char		 pw[PASSWORD_MAX_BYTES + 1];
	char		 hash[crypto_pwhash_STRBYTES];
};

void
auth_pw_start(struct call *, struct pw_job *, int, const char *, const char *);
int  auth_pw_poll(struct pw_job *);
void auth_digest(const char *, char *, size_t);

#endif
