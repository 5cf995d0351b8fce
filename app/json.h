/*
 * json: jansson values as answers, and the small text helpers of JSON
 * writing (app/json.c): integers as text, literals and strings escaped.
 */

#ifndef JSON_H
#define JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct call;
struct kore_buf;

void json_reply(struct call *, int, json_t *);
#define INT_TEXT_LEN 24
/* A macro's value as a string literal: TEXT(CART_MAX_LINES) is "100". */
#define TEXT_(x) #x
#define TEXT(x)	 TEXT_(x)
const char *int_text(char[INT_TEXT_LEN], int64_t);
void	    json_buf_int(struct kore_buf *, int64_t);
void	    json_buf_lit(struct kore_buf *, const char *);
int	    json_encode_str(char *, size_t, const char *);
const char *json_field_str(json_t *, const char *);

#endif
