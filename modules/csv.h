/*
 * csv: an RFC 4180 reader over a buffer held by the caller: quoted fields,
 * doubled quotes, CRLF, LF or CR line ends, a UTF-8 BOM skipped, physical
 * line numbers that count the newlines inside quoted fields, and limits on
 * the length of a record and the number of its fields.
 */

#ifndef CSV_H
#define CSV_H

#include <stddef.h>

#define CSV_MAX_FIELDS 16

/*
 * What csv_next() returns: a record, the end, or a bad record (consumed
 * all the same): longer than row_max, more fields than max_fields, a quote
 * inside an unquoted field or text after a closing one, a quoted field
 * never closed (it took the rest of the input), a NUL byte.
 */
#define CSV_RECORD	     1
#define CSV_END		     0
#define CSV_ERR_TOO_LONG     (-1)
#define CSV_ERR_FIELDS	     (-2)
#define CSV_ERR_QUOTE	     (-3)
#define CSV_ERR_UNTERMINATED (-4)
#define CSV_ERR_NUL	     (-5)

struct csv_reader {
	const char *buf;
	size_t	    len;
	size_t	    pos;
	size_t	    line; /* the physical line at pos, from 1 */
	size_t	    row_max; /* bytes of a record, its line end excluded */
	int	    max_fields; /* at most CSV_MAX_FIELDS */
};

/*
 * One record.  The fields are NUL-terminated copies, quotes removed, in
 * the caller's buffer of at least row_max + CSV_MAX_FIELDS bytes.
 */
struct csv_record {
	size_t	    line; /* where it starts */
	size_t	    lines; /* physical lines it spans */
	size_t	    bytes; /* raw length, its line end excluded */
	int	    nfields; /* counted on even past max_fields */
	const char *field[CSV_MAX_FIELDS];
	size_t	    flen[CSV_MAX_FIELDS];
};

void	    csv_init(struct csv_reader *, const char *, size_t, size_t, int);
int	    csv_next(struct csv_reader *, struct csv_record *, char *, size_t);
int	    csv_blank(const struct csv_record *);
const char *csv_error_text(int);

#endif
