/*
 * admin_check.h: the body checks the operators' routes share (fee rules in
 * app/http_admin_fees.c, boosts and campaigns in app/http_admin_merch.c).
 */

#ifndef ADMIN_CHECK_H
#define ADMIN_CHECK_H

#include <stdint.h>

#include <jansson.h>

/* A rule's or campaign's name or title, in characters. */
#define ADMIN_NAME_CHARS 100

void admin_period(json_t *, const char *, const char *, int, int, json_t **);
int  admin_code_field(const char *, json_t *);
int  admin_int(
     json_t *, const char *, int64_t, int64_t, int, json_t **, const char *);
void admin_name(json_t *, const char *, int, json_t **);

#endif
