/*
 * csvout: one field of a CSV answer (RFC 4180), quoted when it must be,
 * with spreadsheet formulas in text fields defused.
 */

#ifndef CSVOUT_H
#define CSVOUT_H

#include <stddef.h>

/* Text from users: a leading = + - @ tab or CR is not a formula. */
#define CSVOUT_TEXT 0x01

size_t csvout_field(char *, size_t, const char *, size_t, int);
int    csvout_needs_quotes(const char *, size_t, int);

#endif
