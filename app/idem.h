/*
 * idem: the Idempotency-Key of a POST, and the state that replays a key
 * seen before (app/idem.c).
 */

#ifndef IDEM_H
#define IDEM_H

#include "api.h"
#include "routes.h"

int idem_key(struct call *, char *, size_t, char *);
int idem_replay(struct call *, const char *, const char *, const char *, int);

extern const struct code_detail idem_details[];

#endif
