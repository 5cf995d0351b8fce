#!/bin/sh
# make bench: wrk (2 threads, 64 connections) against the run instance, through
# its nginx on PORT as users reach it (scripts/server.sh), on
# each route, reporting requests/s, p50, p99 and the share of /healthz's
# throughput measured in the same run.  Starts what is not running and
# stops, by PID, only what it started.  INSTANCE (default run, the one
# `make run` uses) picks the instance; any other name takes PG_PORT,
# REDIS_PORT, PORT and KORE_PORT from the environment (scripts/instance.sh),
# so a bench can run beside `make run` without sharing its services.
set -eu
# BENCH_ONLY=cluster: the replicated cluster (scripts/cluster.sh, its ports
# from LB_PORT, NODES, CLUSTER_PG_PORT, CLUSTER_REDIS_PORT) through its nginx
# against one of its nodes (scripts/cluster_bench.sh); started, and then
# stopped, here when it is not running.  Before instance.sh: the cluster
# has keys of its own.
if [ "${BENCH_ONLY:-}" = cluster ]; then
	"$(dirname "$0")/cluster.sh" up && exec "$(dirname "$0")/cluster.sh" bench
	"$(dirname "$0")/cluster.sh" start >/dev/null
	trap '"$(dirname "$0")/cluster.sh" stop' EXIT INT TERM
	"$(dirname "$0")/cluster.sh" bench
	exit 0
fi
export INSTANCE=${INSTANCE:-run}
. "$(dirname "$0")/instance.sh"
cd "$ROOT"

DURATION=${BENCH_DURATION:-10s}
# BENCH_ONLY=catalog|orders|ledger|bulk|festival|web: /healthz and that
# group only; BENCH_ONLY=cluster: the cluster against one node, only.
ONLY=${BENCH_ONLY:-}
started_server=0
started_services=0
cleanup() {
	[ $started_server = 1 ] && "$ROOT/scripts/server.sh" stop
	[ $started_services = 1 ] && "$ROOT/scripts/services.sh" stop
	return 0
}
trap cleanup EXIT INT TERM

if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
	started_services=1
fi
"$ROOT/scripts/setup-db.sh" >/dev/null
if ! curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
	started_server=1
	"$ROOT/scripts/server.sh" start >/dev/null
fi

BASE="http://127.0.0.1:$PORT"

# The ranking under realistic load: 50 active boost rules (the demo data
# holds a live campaign), then the caches emptied as any rule write would.
psql_local -q -c "INSERT INTO boost_rules (name, weight, pin_slots, placements, match)
    SELECT 'bench boost ' || i, 10 + i % 40, CASE WHEN i % 10 = 0 THEN 2 ELSE 0 END,
           ARRAY['search', 'region_shop', 'channel'],
           jsonb_build_object('category', (ARRAY['tea', 'nuts', 'fruit', 'grain', 'meat',
               'herbs', 'specialty', 'craft', 'tourism', 'wellness'])[1 + i % 10])
    FROM generate_series(1, 50) i
    WHERE (SELECT count(*) FROM boost_rules WHERE name LIKE 'bench boost %') = 0"
redis-cli -p "$REDIS_PORT" publish bangfu:invalidate catalog >/dev/null
PID=$(psql_local -tA -c "SELECT f.id FROM product_facts f WHERE f.status = 'listed' ORDER BY f.sales DESC, f.id LIMIT 1")

# Steady state is what is measured: two seconds of the same load first
# warm every worker's cache and every pooled connection's plans.
bench() {
	name=$1; shift
	[ "${BENCH_NO_WARMUP:-0}" = 1 ] ||
	    wrk -t2 -c64 -d2s -s "$ROOT/tests/load/report.lua" "$@" >/dev/null 2>&1 || true
	out=$(wrk -t2 -c64 -d"$DURATION" --latency -s "$ROOT/tests/load/report.lua" "$@" | grep '^BENCH')
	echo "$name $out"
}

echo "bangfu bench: wrk -t2 -c64 -d$DURATION against $BASE"
results=$(mktemp)
{
	bench healthz "$BASE/healthz"
	if [ -z "$ONLY" ] || [ "$ONLY" = catalog ]; then
		bench product_detail "$BASE/api/v1/products/$PID"
		bench product_list_region "$BASE/api/v1/products?region=yunnan"
		bench product_list_relevance "$BASE/api/v1/products?q=%E8%8C%B6&sort=relevance"
		bench channel "$BASE/api/v1/channel"
	fi
	for extra in "$ROOT"/tests/load/bench_*.sh; do
		case "$ONLY" in
		"" | "${extra##*/bench_}") ;;
		*.sh) continue ;;
		*) [ "$ONLY.sh" = "${extra##*/bench_}" ] || continue ;;
		esac
		[ -f "$extra" ] && . "$extra"
	done
} > "$results"

awk '
/BENCH/ {
	name = $1
	for (i = 2; i <= NF; i++) { split($i, kv, "="); v[name, kv[1]] = kv[2] }
	order[n++] = name
	if (name == "healthz") base = v[name, "rps"]
}
END {
	printf "%-24s %10s %9s %9s %8s %7s\n", "route", "req/s", "p50 ms", "p99 ms", "errors", "share"
	for (i = 0; i < n; i++) {
		k = order[i]
		printf "%-24s %10s %9s %9s %8s %6.0f%%\n", k, v[k, "rps"], v[k, "p50_ms"], v[k, "p99_ms"], v[k, "errors"], base ? 100 * v[k, "rps"] / base : 0
	}
	# The orders issue measures checkout against pgbench, not /healthz.
	if (v["pgbench_tpcb", "rps"] > 0 && v["checkout", "rps"] > 0)
		printf "checkout / pgbench_tpcb   %.0f%% (pgbench p50 column: its average latency)\n", 100 * v["checkout", "rps"] / v["pgbench_tpcb", "rps"]
}' "$results"
# Issue 17's festival scenarios (tests/load/bench_festival.sh), if run.
awk -f "$ROOT/tests/load/festival_report.awk" "$results"
if grep -q '^fest_' "$results"; then
	mkdir -p "$VAR/festival"
	cp "$results" "$VAR/festival/last.txt"
	echo "(raw lines in $VAR/festival/last.txt)"
fi
rm -f "$results"
# The shop's budget (Lighthouse, first-view JavaScript, first card): scripts/web_budget.sh.
if [ -z "$ONLY" ] || [ "$ONLY" = web ]; then
	"$ROOT/scripts/web.sh" build >/dev/null
	"$ROOT/scripts/web_budget.sh" "$PID" "$BASE"
fi
