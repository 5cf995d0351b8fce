/*
 * invalidate: the catalog's invalidation, to every worker and node
 * (app/invalidate.c): after a write's commit, and as heard over Redis.
 */

#ifndef INVALIDATE_H
#define INVALIDATE_H

#include <stddef.h>
#include <stdint.h>

void invalidate_init(void);
void invalidate_catalog(void);
void invalidate_stock(const int64_t *, size_t);

#endif
