/*
 * validate: the checks on user input that the API applies before anything
 * reaches a database: UTF-8 text lengths, e-mail addresses, passwords, enums.
 */

#ifndef VALIDATE_H
#define VALIDATE_H

#include <stddef.h>

#define PASSWORD_MIN_CHARS 10
#define PASSWORD_MAX_BYTES 256

long validate_utf8_len(const char *, size_t);
int  validate_text(const char *, long, long);
int  validate_email(const char *);
int  validate_password(const char *);
int  validate_oneof(const char *, const char *const *);
int  validate_phone(const char *);

#endif
