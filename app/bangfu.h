/*
 * bangfu: the umbrella header, every adapter at once, libpq included.  It
 * is kept only for the files still being re-cut (issue 16); every other
 * file includes what it uses: api.h (struct call, routes), db.h, redis.h,
 * cache.h, json.h, answer.h, problem.h, auth.h, metrics.h, config.h, ...
 */

#ifndef BANGFU_H
#define BANGFU_H

#include <sys/types.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/pgsql.h>
#include <kore/tasks.h>

#include <jansson.h>
#include <stdint.h>

#include "answer.h"
#include "api.h"
#include "auth.h"
#include "cache.h"
#include "config.h"
#include "db.h"
#include "invalidate.h"
#include "json.h"
#include "metrics.h"
#include "problem.h"
#include "ratelimit.h"
#include "redis.h"
#include "routes.h"

#endif
