#!/bin/sh
# make test: unit tests under ASan and UBSan, then the API tests against a
# server of its own (the sanitized build) on a fresh database, on ports of
# its own, so it can run beside make run.  Stops what it started, always.
set -eu
export INSTANCE=${TEST_INSTANCE:-test}  # another name needs PG_PORT, REDIS_PORT, PORT
. "$(dirname "$0")/instance.sh"
cd "$ROOT"

cleanup() {
	"$ROOT/scripts/server.sh" stop || true
	"$ROOT/scripts/services.sh" stop || true
}
trap cleanup EXIT INT TERM

"$ROOT/scripts/fresh-check.sh"	# builds on a machine that never had deps
make -s bangfu.so build/test/bangfu.so build/pwhash build/twins
make -s unit
# Every fuzz harness for a few seconds: a crash fails the run.
FUZZ_SECONDS=${FUZZ_TEST_SECONDS:-3} "$ROOT/scripts/fuzz.sh"
"$ROOT/scripts/docs.sh" lint  # the contract: JSON, /docs pages, Redocly lint
"$ROOT/scripts/web.sh" build

"$ROOT/scripts/server.sh" stop
# A fresh Redis as well as a fresh database: nothing of an earlier run.
"$ROOT/scripts/services.sh" stop
rm -rf "$VAR/redis"
"$ROOT/scripts/services.sh" start
psql -X -q "host=127.0.0.1 port=$PG_PORT user=bangfu dbname=postgres" \
    -c "DROP DATABASE IF EXISTS bangfu WITH (FORCE)" -c "CREATE DATABASE bangfu"
redis-cli -p "$REDIS_PORT" flushall >/dev/null
"$ROOT/scripts/setup-db.sh"
# scripts/schema/functions.sql is what the migrations make.
"$ROOT/scripts/schema.sh" check

rm -f "$VAR"/asan.*
log_from=$(($(cat "$VAR/kore.log" 2>/dev/null | wc -c) + 1))
SECCOMP_TRACING=no SO="$ROOT/build/test/bangfu.so" \
SERVER_ENV="env LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=1:log_path=$VAR/asan LSAN_OPTIONS=suppressions=$ROOT/tests/lsan/suppressions.txt:print_suppressions=0 UBSAN_OPTIONS=print_stacktrace=1:log_path=$VAR/ubsan \
RATE_LIMIT_LOGIN=${RATE_LIMIT_LOGIN:-30} RATE_LIMIT_REGISTER=${RATE_LIMIT_REGISTER:-20} ORDER_PAY_TIMEOUT=${ORDER_PAY_TIMEOUT:-10} RATE_LIMIT_ORDERS=${RATE_LIMIT_ORDERS:-100000} \
CACHE_MAX_BYTES=${CACHE_MAX_BYTES:-2097152}" \
    "$ROOT/scripts/server.sh" start

export BANGFU_URL="http://127.0.0.1:$PORT"
# Kore itself, for the tests that pin a connection to one worker.
export BANGFU_KORE_URL="http://127.0.0.1:$KORE_PORT"
export BANGFU_PG="host=127.0.0.1 port=$PG_PORT user=bangfu dbname=bangfu"
export BANGFU_REDIS_PORT="$REDIS_PORT"
export BANGFU_ROOT="$ROOT"
status=0
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/api "$@" || status=$?
# The shop in Chromium (tests/web); WEB_TESTS=0 leaves it out.
[ "${WEB_TESTS:-1}" = 0 ] || "$ROOT/scripts/web.sh" test || status=1
# Every worker must leave with the server (a stuck one is a bug).
"$ROOT/scripts/server.sh" stop || status=1
# Issue 15's drills 2 and 3, short, on a replicated cluster of this run's
# own (scripts/test_drills.sh); DRILLS=0 leaves them out.
[ "${DRILLS:-1}" = 0 ] || "$ROOT/scripts/test_drills.sh" || status=1

# Any report: a leak found by a worker's check at its exit (the sanitized
# build runs LeakSanitizer there), memory errors, undefined behaviour.
if ls "$VAR"/asan.* "$VAR"/ubsan.* 2>/dev/null | grep -q .; then
	echo "sanitizer reports:" >&2
	cat "$VAR"/asan.* "$VAR"/ubsan.* >&2 || true
	status=1
fi
# The check must have run: each worker logs its outcome when it leaves.
if ! tail -c "+$log_from" "$VAR/kore.log" | grep -q "leak check at exit"; then
	echo "no worker ran its leak check at exit" >&2
	status=1
fi
# Tracing is off (Kore's tracer would hold the ptrace LeakSanitizer needs):
# a call the filter lacks kills its worker, which Kore logs.
if grep -q "seccomp violation\|sandbox violation" "$VAR/kore.log"; then
	echo "seccomp violations:" >&2
	grep "seccomp violation\|sandbox violation" "$VAR/kore.log" >&2
	status=1
fi
exit $status
