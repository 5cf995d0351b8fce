/*
 * vendor_check.h: the body checks the vendor's routes share (its application
 * in app/http_vendor.c, its listings in app/http_vendor_products.c).
 */

#ifndef VENDOR_CHECK_H
#define VENDOR_CHECK_H

#include <stdint.h>

#include <jansson.h>

int vendor_int(
    json_t *, const char *, int64_t, int64_t, int, json_t **, const char *);
void vendor_text(json_t *, const char *, long, long, int, json_t **);

#endif
