/*
 * validate: the checks on user input that the API applies before anything
 * reaches a database: UTF-8 text lengths, e-mail addresses, passwords, enums.
 */

#ifndef VALIDATE_H
#define VALIDATE_H

#include <stddef.h>

#define PASSWORD_MIN_CHARS 10
#define PASSWORD_MAX_BYTES 256

/*
 * A listing's price and each of its tiers' unit prices, in fen, and its
 * stock (and a tier's min_qty).  Plain literals, so TEXT() prints them.
 */
#define PRICE_FEN_MAX 10000000000
#define STOCK_MAX     10000000

/*
 * The fields fee rules match on, one size each, used by validation, the
 * rules (fees.h) and the product facts (app/facts.h): a limit in
 * characters, and a buffer for it (4 bytes a character, and the NUL).
 */
#define REGION_CODE_CHARS   32
#define CATEGORY_CODE_CHARS 32
#define VENDOR_KIND_CHARS   11 /* enterprise, cooperative, individual */
#define FIELD_BUF(chars)    ((chars)*4 + 1)
#define REGION_CODE_BUF	    FIELD_BUF(REGION_CODE_CHARS)
#define CATEGORY_CODE_BUF   FIELD_BUF(CATEGORY_CODE_CHARS)
#define VENDOR_KIND_BUF	    FIELD_BUF(VENDOR_KIND_CHARS)

long validate_utf8_len(const char *, size_t);
int  validate_text(const char *, long, long);
int  validate_email(const char *);
int  validate_password(const char *);
int  validate_oneof(const char *, const char *const *);
int  validate_phone(const char *);

#endif
