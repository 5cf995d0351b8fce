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

#endif
