# Sourced by scripts/bench.sh: add-to-cart, checkout, and pgbench's TPC-B
# on the same PostgreSQL, for the ratios of the orders issue.
export BANGFU_ROOT="$ROOT"
TOKENS="$VAR/bench_tokens.txt"
/usr/bin/python3 "$ROOT/scripts/bench_prepare.py" "${BENCH_USERS:-80000}" "$TOKENS" >&2
# The users' sessions and carts grew Redis's append-only file: compact it
# now, not in the middle of a measure.
redis-cli -p "$REDIS_PORT" BGREWRITEAOF >/dev/null 2>&1 || true
i=0
while redis-cli -p "$REDIS_PORT" INFO persistence | grep -q '^aof_rewrite_in_progress:1' ||
    redis-cli -p "$REDIS_PORT" INFO persistence | grep -q '^aof_rewrite_scheduled:1'; do
	i=$((i + 1)); [ $i -gt 600 ] && break
	sleep 0.1
done
CART_PID=$(psql_local -tA -c "SELECT id FROM products WHERE status = 'listed' AND kind = 'goods' ORDER BY id DESC LIMIT 1")
bench add_to_cart "$BASE/api/v1/cart/items/$CART_PID" -s "$ROOT/tests/load/cart.lua" -- "$TOKENS" "$CART_PID"
# The checkout script replaces report.lua as wrk's -s: bench() passes -s
# first, wrk uses the last.  Every checkout empties a cart, so the warm-up
# spends users of its own (the first 8,000) and the measure the others.
head -n 8000 "$TOKENS" > "$TOKENS.warm"
tail -n +8001 "$TOKENS" > "$TOKENS.main"
wrk -t2 -c64 -d2s -s "$ROOT/tests/load/checkout.lua" "$BASE/api/v1/orders" -- "$TOKENS.warm" >/dev/null 2>&1 || true
BENCH_NO_WARMUP=1 bench checkout "$BASE/api/v1/orders" -s "$ROOT/tests/load/checkout.lua" -- "$TOKENS.main"

# pgbench, TPC-B-like, 16 clients, in a database of its own.
psql -X -q "host=127.0.0.1 port=$PG_PORT user=bangfu dbname=postgres" \
    -c "DROP DATABASE IF EXISTS pgbench" -c "CREATE DATABASE pgbench" >&2
"$PGBIN/pgbench" -q -i -s 16 "host=127.0.0.1 port=$PG_PORT user=bangfu dbname=pgbench" >/dev/null 2>&1
tps=$("$PGBIN/pgbench" -c 16 -j 2 -T "${DURATION%s}" "host=127.0.0.1 port=$PG_PORT user=bangfu dbname=pgbench" 2>/dev/null |
    awk '/^tps/ { print int($3); exit }')
lat=$("$PGBIN/pgbench" -c 16 -j 2 -T 3 -r "host=127.0.0.1 port=$PG_PORT user=bangfu dbname=pgbench" 2>/dev/null |
    awk '/latency average/ { print $4; exit }')
echo "pgbench_tpcb BENCH rps=$tps p50_ms=$lat p99_ms=- errors=0"
