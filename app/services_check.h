/*
 * services_check.h: the body checks the service routes share (sessions in
 * app/http_services.c, bookings in app/http_bookings.c).
 */

#ifndef SERVICES_CHECK_H
#define SERVICES_CHECK_H

#include <stdint.h>

#include <jansson.h>

int  services_int_in(json_t *, int64_t, int64_t);
void services_unknown(json_t *, const char *const *, json_t **);

#endif
