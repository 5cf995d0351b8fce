#!/bin/sh
# BENCH_ONLY=cluster make bench (scripts/cluster.sh bench): the cluster's
# throughput through its nginx (LB_PORT, both Kore nodes) against one node
# behind an nginx of the same configuration (ONE_NODE_PORT, the first node
# only), on the same data tier, in the same run: wrk (2 threads, 64
# connections) on a catalog route or two and on checkout, the two fronts
# taking turns route by route, and each ratio printed.  Run by cluster.sh,
# which exports the cluster's environment (CVAR, LB_PORT, NODES, PG_PORT of
# the primary, REDIS_PORT of the master, REDISCLI_AUTH, PGPASSFILE,
# JWT_SECRET).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=${BENCH_DURATION:-10s}
ONE=${ONE_NODE_PORT:-$((LB_PORT + 1))}
FIRST=${NODES%% *}
B1="$CVAR/bench1"
TOKENS="$CVAR/bench_tokens.txt"
# checkout.lua finds report.lua through it.
export BANGFU_ROOT="$ROOT"

# nginx over the first node only: the cluster's own configuration.
mkdir -p "$B1/nginx"
user=""
if [ "$(id -u)" -eq 0 ]; then
	user="user ${NGINX_USER:-www-data};"
	chown "${NGINX_USER:-www-data}" "$B1/nginx"
fi
sed -e "s|@VAR@|$B1|g" -e "s|@CONF@|$ROOT/conf|g" -e "s|@PORT@|$ONE|" \
    -e "s|@UPSTREAMS@|server 127.0.0.1:$FIRST max_fails=1 fail_timeout=5s;|" \
    -e "s|@USER@|$user|" "$ROOT/conf/cluster/nginx.conf.in" > "$B1/nginx.conf"
setsid nginx -e "$B1/nginx-error.log" -p "$B1/nginx" -c "$B1/nginx.conf" \
    >> "$B1/nginx-error.log" 2>&1 &
ONE_PID=$!
results=$(mktemp)
cleanup() {
	kill -TERM "$ONE_PID" 2>/dev/null || true
	wait "$ONE_PID" 2>/dev/null || true
	rm -f "$results"
}
trap cleanup EXIT INT TERM
i=0
until curl -sf -o /dev/null "http://127.0.0.1:$ONE/readyz"; do
	i=$((i + 1))
	if [ $i -gt 300 ] || ! kill -0 "$ONE_PID" 2>/dev/null; then
		echo "cluster bench: nginx on $ONE did not start; see $B1/nginx-error.log" >&2
		exit 1
	fi
	sleep 0.1
done

psql_c() { psql -X -tAq "host=127.0.0.1 port=$PG_PORT user=bangfu dbname=bangfu" -c "$1"; }
PID=$(psql_c "SELECT id FROM product_facts WHERE status = 'listed' ORDER BY sales DESC, id LIMIT 1")

run() { # name url [wrk args]: one line BENCH ...
	name=$1; shift
	[ "${BENCH_NO_WARMUP:-0}" = 1 ] ||
	    wrk -t2 -c64 -d2s -s "$ROOT/tests/load/report.lua" "$@" >/dev/null 2>&1 || true
	echo "$name $(wrk -t2 -c64 -d"$DURATION" --latency \
	    -s "$ROOT/tests/load/report.lua" "$@" | grep '^BENCH')"
}

# Signed-in users with a one-line cart each (scripts/bench_prepare.py, on
# the primary and the Redis master); each front gets its own quarter for
# its warm-up and its own for the measure (a checkout empties a cart).
n=${BENCH_USERS:-40000}
/usr/bin/python3 "$ROOT/scripts/bench_prepare.py" "$n" "$TOKENS" >&2
q=$((n / 4))
split -l "$q" -d -a 1 "$TOKENS" "$TOKENS."

echo "cluster bench: wrk -t2 -c64 -d$DURATION; cluster = nginx $LB_PORT over Kore $NODES," \
    "one node = nginx $ONE over Kore $FIRST; the same PostgreSQL and Redis"
{
	for front in cluster one; do
		port=$LB_PORT
		[ $front = one ] && port=$ONE
		run "${front}_healthz" "http://127.0.0.1:$port/healthz"
	done
	for front in cluster one; do
		port=$LB_PORT
		[ $front = one ] && port=$ONE
		run "${front}_product_detail" "http://127.0.0.1:$port/api/v1/products/$PID"
	done
	for front in cluster one; do
		port=$LB_PORT
		[ $front = one ] && port=$ONE
		run "${front}_product_list_region" "http://127.0.0.1:$port/api/v1/products?region=yunnan"
	done
	k=0
	for front in cluster one; do
		port=$LB_PORT
		[ $front = one ] && port=$ONE
		wrk -t2 -c64 -d2s -s "$ROOT/tests/load/checkout.lua" \
		    "http://127.0.0.1:$port/api/v1/orders" -- "$TOKENS.$k" >/dev/null 2>&1 || true
		BENCH_NO_WARMUP=1 run "${front}_checkout" "http://127.0.0.1:$port/api/v1/orders" \
		    -s "$ROOT/tests/load/checkout.lua" -- "$TOKENS.$((k + 1))"
		k=$((k + 2))
	done
} > "$results"
rm -f "$TOKENS".?

awk '
/BENCH/ {
	name = $1
	for (i = 2; i <= NF; i++) { split($i, kv, "="); v[name, kv[1]] = kv[2] }
	sub(/^(cluster|one)_/, "", name)
	if (!(name in seen)) { seen[name] = 1; order[n++] = name }
}
END {
	printf "%-22s %12s %12s %7s %14s %14s\n", "route", "cluster r/s", "one node r/s",
	    "ratio", "cluster p99 ms", "one p99 ms"
	for (i = 0; i < n; i++) {
		k = order[i]
		c = v["cluster_" k, "rps"]; o = v["one_" k, "rps"]
		printf "%-22s %12s %12s %6.2fx %14s %14s\n", k, c, o, o ? c / o : 0,
		    v["cluster_" k, "p99_ms"], v["one_" k, "p99_ms"]
		if (v["cluster_" k, "errors"] + v["one_" k, "errors"] > 0)
			printf "  (errors: cluster %d, one node %d)\n", v["cluster_" k, "errors"],
			    v["one_" k, "errors"]
	}
}' "$results"
