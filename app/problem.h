/*
 * problem: refusals in the contract's problem+json format (app/problem.c),
 * with their field errors.
 */

#ifndef PROBLEM_H
#define PROBLEM_H

#include <jansson.h>

struct call;

int  problem(struct call *, int, const char *, const char *);
int  problem_fields(struct call *, int, const char *, const char *, json_t *);
void problem_field_add(json_t **, const char *, const char *);
int  problem_validation(struct call *, json_t *);
int  problem_internal(struct call *, const char *);
/* Messages made of the limits a field is checked against (issue 16). */
void
problem_field_range(json_t **, const char *, const char *, int64_t, int64_t);
void problem_field_chars(json_t **, const char *, long, long);

#endif
