/*
 * auth.h: password jobs run on Kore's task threads (app/auth.c).
 */

#ifndef AUTH_H
#define AUTH_H

#include <sodium.h>

#include "validate.h"

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
