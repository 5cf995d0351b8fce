/*
 * answer: the one writer of answers (app/answer.c): an empty one, a body
 * already rendered, or one of a given content type.
 */

#ifndef ANSWER_H
#define ANSWER_H

#include <stddef.h>

struct call;

void json_reply_empty(struct call *, int);
void json_reply_raw(struct call *, int, const char *, size_t);
void json_reply_typed(struct call *, int, const char *, const char *, size_t);

#endif
