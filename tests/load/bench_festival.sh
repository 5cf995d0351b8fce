# Sourced by scripts/bench.sh (BENCH_ONLY=festival): issue 17's festival
# day, each figure beside a reference measured in the same run.
#   pgbench TPC-B (16 clients, scale 16): the reference for the hot item
#   hot item: 64 shoppers (one wrk thread each), PUT cart then checkout
#   paid flow: cart, checkout, sandbox payment, the cashier's pay (303),
#     with the CPU of Kore and PostgreSQL from /proc per paid order
#   crowd: 64, 500 and 2,000 keep-alive connections on the hot item
#   channel over time: p99 in 12 windows of 5 s while an operator writes
#     a campaign every 10 s and unpaid orders expire in the background
#   misses: an uncached channel and relevance search, against a hit
# Each loop is a new signed-in user with an empty cart (users f<run>..-n),
# one order each, so neither MAX_UNPAID_ORDERS nor the checkout rate limit
# answers instead of the shop.  The hot product's stock is set far above
# what a run sells: the run measures selling, and prints the status mix.
export BANGFU_ROOT="$ROOT"
FEST_DUR=${DURATION%s}
FEST_RUN=$(date +%s)
HOT=$PID
FEST_OUT=${BENCH_FESTIVAL_OUT:-"$VAR/festival"}
mkdir -p "$FEST_OUT"

fest_users() { # prefix count -> token file
	BENCH_USER_PREFIX="f$FEST_RUN$1-" BENCH_EMPTY_CART=1 \
	    /usr/bin/python3 "$ROOT/scripts/bench_prepare.py" "$2" \
	    "$FEST_OUT/$1.tokens" >&2
	echo "$FEST_OUT/$1.tokens"
}

# In id order, as checkout locks products (no deadlock with a live server).
psql_local -q -c "UPDATE products SET stock = 100000000 WHERE id IN
    (SELECT id FROM products WHERE id = $HOT FOR UPDATE)"

# CPU ticks (user + system) of a process and its children, live and reaped.
fest_ticks() {
	root=$1
	{
		cat "/proc/$root/stat"
		for p in $(cat /proc/$root/task/*/children 2>/dev/null); do
			cat "/proc/$p/stat" 2>/dev/null || true
		done
	} | awk -v root="$root" '{
		sub(/^.*\) /, "")	# fields from 3 on: $12 utime, $13 stime
		t += $12 + $13
		if ($0 != "" && NR == 1) t += $14 + $15	# reaped children
	} END { print t + 0 }'
}
PG_MAIN=$(head -n 1 "$VAR/pg/postmaster.pid" 2>/dev/null || echo 0)

# BENCH_PROFILE=1: PostgreSQL's wait events sampled every 0.2 s during a
# scenario (what the bench's sessions wait on), as "count event" lines in
# $FEST_OUT/<scenario>.waits.
fest_waits_start() {
	[ "${BENCH_PROFILE:-0}" = 1 ] || return 0
	rm -f "$FEST_OUT/waits.stop"
	(
		while [ ! -f "$FEST_OUT/waits.stop" ]; do
			psql_local -tA -F ' ' -c "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU'), state
			    FROM pg_stat_activity WHERE datname = 'bangfu' AND state <> 'idle'
			      AND pid <> pg_backend_pid()" 2>/dev/null
			sleep 0.2
		done | sort | uniq -c | sort -rn > "$FEST_OUT/$1.waits"
	) &
	waits_pid=$!
}
fest_waits_stop() {
	[ "${BENCH_PROFILE:-0}" = 1 ] || return 0
	touch "$FEST_OUT/waits.stop"
	wait "$waits_pid" 2>/dev/null || true
}
# BENCH_PROFILE=1, for the paid scenario: PostgreSQL's own counters over
# the measured run (track_functions on for its length, statistics reset at
# its start): each function's calls and self time (plpgsql included: the
# settlement, the ledger, its summary trigger), and the rows written per
# table, in $FEST_OUT/paid.profile; the writes of the ledger's summaries
# per paid order as a "fest_paid PROFILE" line.
fest_profile_start() {
	[ "${BENCH_PROFILE:-0}" = 1 ] || return 0
	psql_local -q -c "ALTER SYSTEM SET track_functions = 'all'" -c "SELECT pg_reload_conf()" >/dev/null
	psql_local -q -c "SELECT pg_stat_reset()" >/dev/null
}
fest_profile_stop() { # scenario paid-orders
	[ "${BENCH_PROFILE:-0}" = 1 ] || return 0
	# The counters of the other backends reach the views at their next flush.
	sleep 1
	psql_local -c "SELECT funcname, calls, round(self_time) AS self_ms,
	        round(total_time) AS total_ms
	    FROM pg_stat_user_functions ORDER BY self_time DESC LIMIT 25" \
	    -c "SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot
	    FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd > 0
	    ORDER BY n_tup_ins + n_tup_upd DESC LIMIT 20" > "$FEST_OUT/$1.profile" 2>&1 || true
	psql_local -tA -c "SELECT 'fest_$1 PROFILE summary_writes_per_paid=' ||
	        round((sum(n_tup_ins + n_tup_upd) FILTER (WHERE relname = 'ledger_daily'))::numeric
	              / greatest($2, 1), 2)
	        || ' ledger_stmts_per_paid=' || coalesce(round((SELECT calls FROM pg_stat_user_functions
	              WHERE funcname = 'ledger_summary_add')::numeric / greatest($2, 1), 2), 0)
	        || ' settle_ms_per_paid=' || coalesce(round((SELECT sum(total_time) FROM pg_stat_user_functions
	              WHERE funcname IN ('settle_payments', 'payment_notify'))::numeric / greatest($2, 1), 2), 0)
	    FROM pg_stat_user_tables" 2>/dev/null || true
	psql_local -q -c "ALTER SYSTEM RESET track_functions" -c "SELECT pg_reload_conf()" >/dev/null
}
KORE_MAIN=$(cat "$VAR/kore.pid" 2>/dev/null || echo 0)
HZ=$(getconf CLK_TCK)

# --- the reference: pgbench TPC-B, as bench_orders.sh runs it
if [ -z "${FEST_TPS:-}" ]; then
	psql -X -q "host=127.0.0.1 port=$PG_PORT user=bangfu dbname=postgres" \
	    -c "DROP DATABASE IF EXISTS pgbench" -c "CREATE DATABASE pgbench" >&2
	"$PGBIN/pgbench" -q -i -s 16 "host=127.0.0.1 port=$PG_PORT user=bangfu dbname=pgbench" >/dev/null 2>&1
	FEST_TPS=$("$PGBIN/pgbench" -c 16 -j 2 -T "$FEST_DUR" "host=127.0.0.1 port=$PG_PORT user=bangfu dbname=pgbench" 2>/dev/null |
	    awk '/^tps/ { print int($3); exit }')
fi
echo "fest_pgbench_tpcb BENCH rps=$FEST_TPS p50_ms=- p99_ms=- errors=0"

# --- 1. the hot item, 64 shoppers
tok=$(fest_users hot 20000)
wrk -t64 -c64 -d2s -s "$ROOT/tests/load/flow.lua" "$BASE" -- "$tok" "$HOT" 64 hot >/dev/null 2>&1 || true
fest_waits_start hot
wrk -t64 -c64 -d"$DURATION" --timeout 10s -s "$ROOT/tests/load/flow.lua" "$BASE" -- "$tok" "$HOT" 64 hot > "$FEST_OUT/hot.out" 2>&1 || true
fest_waits_stop
sed -n 's/^STEP \([a-z]*\) /fest_hot_\1 STEP /p; s/^MIX /fest_hot MIX /p; s/^BENCH /fest_hot BENCH /p' "$FEST_OUT/hot.out"

# --- 2. the paid flow, 64 shoppers, with CPU per paid order
tok=$(fest_users paid 12000)
wrk -t64 -c64 -d2s -s "$ROOT/tests/load/flow.lua" "$BASE" -- "$tok" "$HOT" 64 paid >/dev/null 2>&1 || true
k0=$(fest_ticks "$KORE_MAIN"); p0=$(fest_ticks "$PG_MAIN")
fest_profile_start
fest_waits_start paid
wrk -t64 -c64 -d"$DURATION" --timeout 10s -s "$ROOT/tests/load/flow.lua" "$BASE" -- "$tok" "$HOT" 64 paid > "$FEST_OUT/paid.out" 2>&1 || true
fest_waits_stop
k1=$(fest_ticks "$KORE_MAIN"); p1=$(fest_ticks "$PG_MAIN")
sed -n 's/^STEP \([a-z]*\) /fest_paid_\1 STEP /p; s/^MIX /fest_paid MIX /p; s/^BENCH /fest_paid BENCH /p' "$FEST_OUT/paid.out"
paid=$(awk '/^STEP cashier/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "ok") print kv[2] } }' "$FEST_OUT/paid.out")
fest_profile_stop paid "${paid:-0}"
awk -v k=$((k1 - k0)) -v p=$((p1 - p0)) -v hz="$HZ" -v n="${paid:-0}" 'BEGIN {
	if (n > 0) printf "fest_paid CPU kore_ms_per_paid=%.2f pg_ms_per_paid=%.2f\n", 1000 * k / hz / n, 1000 * p / hz / n }'

# --- 3. the crowd: 64, 500 and 2,000 keep-alive connections, two threads
for c in 64 500 2000; do
	tok=$(fest_users "crowd$c" 20000)
	wrk -t2 -c"$c" -d2s --timeout 10s -s "$ROOT/tests/load/crowd.lua" "$BASE" -- "$tok" "$HOT" 2 >/dev/null 2>&1 || true
	wrk -t2 -c"$c" -d"$DURATION" --timeout 10s -s "$ROOT/tests/load/crowd.lua" "$BASE" -- "$tok" "$HOT" 2 > "$FEST_OUT/crowd$c.out" 2>&1 || true
	sed -n "s/^STEP order /fest_crowd$c STEP /p; s/^MIX /fest_crowd$c MIX /p" "$FEST_OUT/crowd$c.out"
done

# --- 4. the channel over time.  The orders the scenarios above left
# unpaid reach their deadline spread over the minute (the server's sweep
# expires them and gives their stock back); an operator (the demo admin)
# writes a campaign every 10 s; 12 windows of 5 s of wrk on /channel.
psql_local -q -c "UPDATE orders SET pay_before = now() + random() * interval '55 seconds'
    WHERE status = 'pending_payment' AND user_id IN
    (SELECT id FROM users WHERE email LIKE 'f${FEST_RUN}%@bench.bangfu.cn')"
admin=$(curl -s -X POST -H 'Content-Type: application/json' \
    -d '{"email":"admin@demo.bangfu.cn","password":"bangfu-demo-admin"}' \
    "$BASE/api/v1/auth/login" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
camp="bench-festival-$FEST_RUN"
curl -s -o /dev/null -X POST -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d "{\"slug\":\"$camp\",\"title\":\"丰收节\",\"theme\":\"丰收节\",\"starts_at\":\"2020-01-01T00:00:00Z\",\"ends_at\":\"2099-01-01T00:00:00Z\",\"match\":{\"category\":\"tea\"},\"boost_weight\":20}" \
    "$BASE/api/v1/admin/campaigns"
wrk -t2 -c64 -d2s "$BASE/api/v1/channel" >/dev/null 2>&1 || true
(
	for w in 1 2 3 4 5 6; do
		code=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH \
		    -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
		    -d "{\"boost_weight\":$((10 + w))}" "$BASE/api/v1/admin/campaigns/$camp")
		echo "campaign write $w: $code" >&2
		sleep 10
	done
) &
writer=$!
e0=$(psql_local -tA -c "SELECT count(*) FROM orders WHERE status = 'cancelled' AND user_id IN
    (SELECT id FROM users WHERE email LIKE 'f${FEST_RUN}%@bench.bangfu.cn')")
for w in 1 2 3 4 5 6 7 8 9 10 11 12; do
	out=$(wrk -t2 -c64 -d5s --latency -s "$ROOT/tests/load/report.lua" "$BASE/api/v1/channel" | grep '^BENCH' || echo "BENCH rps=0 p50_ms=0 p99_ms=0 errors=0")
	echo "fest_channel_w$w $out"
done
wait "$writer" 2>/dev/null || true
e1=$(psql_local -tA -c "SELECT count(*) FROM orders WHERE status = 'cancelled' AND user_id IN
    (SELECT id FROM users WHERE email LIKE 'f${FEST_RUN}%@bench.bangfu.cn')")
echo "fest_channel EXPIRED n=$((e1 - e0))"

# --- 5. misses: a request right after every worker emptied its cache
# (the flush counter moved by the number of workers), against a hit.
fest_metric() {
	curl -s "http://127.0.0.1:$KORE_PORT/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}
fest_miss() { # name url
	hits="" misses=""
	i=0
	while [ $i -lt 15 ]; do
		i=$((i + 1))
		curl -s -o /dev/null "$2"	# cached now
		t=$(curl -s -o /dev/null -w '%{time_total}' "$2")
		hits="$hits $t"
		f0=$(fest_metric bangfu_cache_flushes_total)
		m0=$(fest_metric bangfu_cache_misses_total)
		redis-cli -p "$REDIS_PORT" publish bangfu:invalidate catalog >/dev/null
		n=0
		while [ "$(fest_metric bangfu_cache_flushes_total)" -lt $((f0 + 2)) ] && [ $n -lt 100 ]; do
			n=$((n + 1))
		done
		t=$(curl -s -o /dev/null -w '%{time_total}' "$2")
		[ "$(fest_metric bangfu_cache_misses_total)" -gt "$m0" ] && misses="$misses $t"
	done
	echo "$hits" | tr ' ' '\n' | grep . | sort -n | awk -v n="$1" '{ a[NR] = $1 } END {
		printf "fest_%s_hit MISS median_ms=%.2f max_ms=%.2f n=%d\n", n, 1000 * a[int((NR + 1) / 2)], 1000 * a[NR], NR }'
	echo "$misses" | tr ' ' '\n' | grep . | sort -n | awk -v n="$1" '{ a[NR] = $1 } END {
		if (NR) printf "fest_%s_miss MISS median_ms=%.2f max_ms=%.2f n=%d\n", n, 1000 * a[int((NR + 1) / 2)], 1000 * a[NR], NR }'
}
fest_miss channel "$BASE/api/v1/channel"
fest_miss search "$BASE/api/v1/products?q=%E8%8C%B6&sort=relevance"
# The statement alone, in PostgreSQL: 9 runs, the median.
psql_local -c "DO \$\$ DECLARE t0 timestamptz; j json; BEGIN
    FOR i IN 1..10 LOOP t0 := clock_timestamp(); j := api_channel();
      IF i > 1 THEN RAISE WARNING 'ms %', 1000 * extract(epoch FROM clock_timestamp() - t0);
      END IF; END LOOP; END \$\$" 2>&1 |
    sed -n 's/^WARNING: *ms //p' | sort -n | awk '{ a[++n] = $1 } END {
	if (n) printf "fest_channel_sql MISS median_ms=%.2f max_ms=%.2f n=%d\n", a[int((n + 1) / 2)], a[n], n }'
echo "fest_channel_sql BYTES n=$(psql_local -tA -c 'SELECT length(api_channel()::text)')"
echo "fest_load LOAD avg=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' '/')"
