/*
 * idem: the Idempotency-Key of a POST, and the steps of a keyed route that
 * read it, route on it and replay a key seen before (app/idem.c).
 */

#ifndef IDEM_H
#define IDEM_H

#include <jansson.h>

#include "api.h"
#include "routes.h"

#define IDEM_KEY_MAX 128 /* printable characters */

/* A POST's key, if it sent one, and the digest of its body. */
struct idem {
	char key[IDEM_KEY_MAX + 1];
	char hash[65];
	int  has;
};

int idem_read(struct call *, struct idem *, json_t **);
int idem_limit(struct call *, const struct idem *, const char *, int, int);
int idem_replay(struct call *, const char *, const struct idem *, int);

extern const struct code_detail idem_details[];

#endif
