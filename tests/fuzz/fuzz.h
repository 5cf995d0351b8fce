/*
 * fuzz: what every harness shares.  CHECK() aborts with the broken
 * invariant, which libFuzzer reports as a crash and keeps the input of.
 */

#ifndef FUZZ_H
#define FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: invariant broken: %s\n", \
			    __FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* data as a NUL-terminated string of exactly len + 1 bytes (free it). */
static inline char *
fuzz_str(const uint8_t *data, size_t len)
{
	char *s;

	if ((s = malloc(len + 1)) == NULL)
		abort();
	memcpy(s, data, len);
	s[len] = '\0';
	return (s);
}

/* s is NUL-terminated within its n bytes. */
static inline int
fuzz_terminated(const char *s, size_t n)
{
	return (memchr(s, '\0', n) != NULL);
}

#endif
