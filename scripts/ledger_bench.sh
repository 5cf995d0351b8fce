#!/bin/sh
# The ledger at scale: a million synthetic entries, then the operators'
# county grouping over one year timed in SQL (psql \timing) and over HTTP
# (curl, as the admin).  INSTANCE=run by default; the server must be up
# for the HTTP part (make run).  Target: under 200 ms.
#
#   scripts/ledger_bench.sh [all]   generate (once), then sql and http
#   scripts/ledger_bench.sh generate|sql|http
#   scripts/ledger_bench.sh token   print an admin access token (for wrk)
#   scripts/ledger_bench.sh purge   delete the synthetic entries again
#
# Why it is fast: the grouped read never touches the entries.  The insert
# trigger keeps two summaries with additive sums (004_ledger.sql): per
# Shanghai month and per Shanghai day, region, county, vendor, category and
# org.  A period reads its whole months from the monthly one and only its
# ragged ends from the daily one, so a year of a million entries is a few
# thousand rows, not a million; the read aggregates those twice (per group
# and vendor, to count each vendor's households once, then per group).
# The "entries" timing below is the same grouping straight from the
# entries, for comparison.
#
# The generated entries are marked synthetic (no order line, user or
# order): ledger-check leaves them out of its per-line proof (there is no
# line to prove them against) and checks them only in the summary; /impact
# never shows them.  The admin ledger does count them: measuring it is the
# point.  They are spread like real trade: products by a skewed popularity,
# days over the last 365 with festival peaks (春节, 中秋, 国庆, 扶贫日,
# 双十一), 1 to 10 units, and 12% bought by 80 organisations in bulk on a
# few days each (negative org ids, which no real organisation has).
set -eu
. "$(dirname "$0")/instance.sh"

ROWS=${LEDGER_BENCH_ROWS:-1000000}
BASE="http://127.0.0.1:$PORT"
TO=$(psql_local -tA -c "SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date")
FROM=$(psql_local -tA -c "SELECT ('$TO'::date - 364)")

generate() {
	have=$(psql_local -tA -c "SELECT count(*) FROM ledger_entries WHERE synthetic")
	if [ "$have" -ge "$ROWS" ]; then
		echo "ledger_bench: $have synthetic entries already there"
		return 0
	fi
	n=$((ROWS - have))
	echo "ledger_bench: generating $n synthetic entries"
	start=$(date +%s)
	psql_local -v n="$n" -v from="$FROM" <<'SQL'
WITH p AS (
    SELECT (row_number() OVER (ORDER BY f.sales DESC, f.id) - 1)::integer AS i,
           f.id, f.vendor_id, f.county_pk, f.region_pk, f.is_poverty_county,
           f.qualified, f.bxbp, f.category_id, f.price_fen,
           f.poor_households_linked
    FROM product_facts f WHERE f.status = 'listed'
), c AS (
    SELECT count(*)::integer AS n FROM p
), g AS (
    SELECT g, random() AS r_product, random() AS r_qty, random() AS r_day,
           random() AS r_time, random() AS r_org
    FROM generate_series(1, :n) g
), s AS (
    -- 12% bulk: organisation o's bulk order b falls on one day and buys
    -- one of a few products; the rest is people, any day, any product.
    SELECT g.*, CASE WHEN g.r_org < 0.12
                     THEN 1 + floor(g.r_org / 0.12 * 80)::integer END AS org,
           g.g % 8 AS bulk
    FROM g
), e AS (
    SELECT s.*,
           CASE WHEN s.org IS NOT NULL
                THEN (s.org * 37 + s.bulk * 45) % c.n
                ELSE floor(power(s.r_product, 2) * c.n)::integer END AS pi,
           CASE WHEN s.org IS NOT NULL
                THEN (s.org * 41 + s.bulk * 46) % 365
                WHEN s.g % 5 = 0
                THEN ((ARRAY[30, 120, 150, 260, 300])[1 + (s.g / 5) % 5]
                      + floor(s.r_day * 15)::integer) % 365
                ELSE floor(s.r_day * 365)::integer END AS d,
           1 + floor(power(s.r_qty, 3) * 10)::integer AS qty
    FROM s CROSS JOIN c
)
INSERT INTO ledger_entries (kind, product_id, qty, amount_fen, at, region_id,
    county_id, poverty_county, vendor_id, vendor_qualified, bxbp, category_id,
    org_id, households_linked, orders_delta, region_orders_delta,
    county_orders_delta, vendor_orders_delta, category_orders_delta, synthetic)
SELECT 'sale', p.id, e.qty, p.price_fen * e.qty,
       ((:'from'::date + e.d)::timestamp + e.r_time * interval '1 day')
           AT TIME ZONE 'Asia/Shanghai',
       p.region_pk, p.county_pk, p.is_poverty_county, p.vendor_id,
       p.qualified, p.bxbp, p.category_id, -e.org, p.poor_households_linked,
       1, 1, 1, 1, 1, true
FROM e JOIN p ON p.i = e.pi;
VACUUM (ANALYZE) ledger_entries;
VACUUM (ANALYZE) ledger_daily;
VACUUM (ANALYZE) ledger_monthly;
SQL
	echo "ledger_bench: generated in $(( $(date +%s) - start )) s;" \
	    "$(psql_local -tA -c "SELECT count(*) FROM ledger_entries") entries," \
	    "$(psql_local -tA -c "SELECT count(*) FROM ledger_daily") daily and" \
	    "$(psql_local -tA -c "SELECT count(*) FROM ledger_monthly") monthly summary rows"
}

# p50 and max of the "Time: N ms" lines psql printed.
summary() {
	grep '^Time:' | awk '{ print $2 }' | sort -n | awk '
	    { t[NR] = $1 } END { printf "p50 %.1f ms, max %.1f ms (%d runs)", t[int((NR + 1) / 2)], t[NR], NR }'
}

sql() {
	echo "ledger_bench: $(psql_local -tA -c "SELECT count(*) FROM ledger_entries") entries," \
	    "county grouping $FROM .. $TO"
	q="SELECT length(api_ledger('$FROM', '$TO', 'county')::text);"
	r=$( { printf '%s\n' '\timing on'; for _ in 1 2 3 4 5 6 7 8 9 10 11; do echo "$q"; done; } |
	    psql_local -tA)
	# The first run reads from disk: it is left out.
	echo "ledger_bench: sql api_ledger (summary): $(echo "$r" | grep '^Time:' | tail -n +2 | summary)"
	q="SELECT county_id, sum(amount_fen), count(DISTINCT vendor_id) FROM ledger_entries WHERE day BETWEEN '$FROM' AND '$TO' GROUP BY 1;"
	r=$( { printf '%s\n' '\timing on'; echo "$q"; echo "$q"; echo "$q"; } | psql_local -tA)
	echo "ledger_bench: sql same grouping from the entries: $(echo "$r" | summary)"
}

# An admin session; login is rate-limited per address, so from one of its
# own (loopback is a trusted proxy: X-Forwarded-For names the client).
admin_token() {
	addr="10.250.$(( $(date +%s) % 250 )).$(( $$ % 250 + 1 ))"
	curl -sf -H "X-Forwarded-For: $addr" -H 'Content-Type: application/json' \
	    -d '{"email":"admin@demo.bangfu.cn","password":"bangfu-demo-admin"}' \
	    "$BASE/api/v1/auth/login" |
	    sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p'
}

http() {
	tok=$(admin_token)
	if [ -z "$tok" ]; then
		echo "ledger_bench: no admin session (is the server up on $BASE?)" >&2
		return 1
	fi
	url="$BASE/api/v1/admin/ledger?group_by=county&from=$FROM&to=$TO"
	curl -s -o /dev/null -H "Authorization: Bearer $tok" "$url"
	r=$(for _ in $(seq 1 21); do
		curl -s -o /dev/null -w '%{http_code} %{time_total}\n' \
		    -H "Authorization: Bearer $tok" "$url"
	done)
	if echo "$r" | grep -qv '^200 '; then
		echo "ledger_bench: http errors: $(echo "$r" | grep -v '^200 ' | head -n 3)" >&2
		return 1
	fi
	echo "ledger_bench: http GET /admin/ledger?group_by=county (curl):" \
	    "$(echo "$r" | awk '{ printf "Time: %.1f ms\n", $2 * 1000 }' | summary)"
}

purge() {
	psql_local <<'SQL'
BEGIN;
SET LOCAL bangfu.ledger_purge = 'synthetic';
DELETE FROM ledger_entries WHERE synthetic;
DELETE FROM ledger_daily WHERE synthetic;
DELETE FROM ledger_monthly WHERE synthetic;
COMMIT;
VACUUM (ANALYZE) ledger_entries;
VACUUM (ANALYZE) ledger_daily;
VACUUM (ANALYZE) ledger_monthly;
SQL
	echo "ledger_bench: synthetic entries purged"
}

case "${1:-all}" in
all)		generate; sql; http ;;
generate)	generate ;;
sql)		sql ;;
http)		http ;;
token)		admin_token ;;
purge)		purge ;;
*)		echo "usage: $0 [all|generate|sql|http|purge]" >&2; exit 2 ;;
esac
