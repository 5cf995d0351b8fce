/*
 * http_orgs.h: what the organisation routes (app/http_orgs.c) and the bulk
 * order routes (app/http_bulk.c) share.
 */

#ifndef HTTP_ORGS_H
#define HTTP_ORGS_H

#define ORGS_YEAR_MIN 2000
#define ORGS_YEAR_MAX 2100

#endif
