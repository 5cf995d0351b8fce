#!/bin/sh
# make ledger-check: proves the ledger (台账) agrees with the orders of the
# instance (INSTANCE, run by default), in one snapshot:
#   1. per order line, the sum of its ledger amounts is its line_total_fen
#      when its part is paid or shipped (and the order was not cancelled or
#      refunded), what was kept of it when a booking's cancellation refunded
#      only a share (line_kept_fen, 016_services_shop.sql), else 0: pending,
#      cancelled and refunded lines net to 0;
#   2. no line has more than one sale or one reversal;
#   3. the summaries ledger_daily and ledger_monthly equal the entries
#      summed again.
# The bench's synthetic entries belong to no order line and are left out of
# 1 and 2 (they are still in 3).  Prints each disagreement; exits 1 on any.
set -eu
. "$(dirname "$0")/instance.sh"

out=$(psql_local -tA -F '	' <<'SQL'
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
WITH e AS (
    SELECT order_line_id, sum(amount_fen) AS recorded,
           count(*) FILTER (WHERE kind = 'sale') AS sales,
           count(*) FILTER (WHERE kind = 'refund') AS refunds
    FROM ledger_entries WHERE NOT synthetic GROUP BY order_line_id
), x AS (
    SELECT l.id, o.order_no, p.id AS part_id, p.status AS part_status,
           o.status AS order_status,
           CASE WHEN p.status IN ('paid', 'shipped')
                 AND o.status NOT IN ('cancelled', 'refunded')
                THEN l.line_total_fen
                WHEN o.status = 'refunded'
                THEN line_kept_fen(o.id, l.line_total_fen)
                ELSE 0 END AS expected,
           coalesce(e.recorded, 0) AS recorded,
           coalesce(e.sales, 0) AS sales, coalesce(e.refunds, 0) AS refunds
    FROM order_lines l
    JOIN order_parts p ON p.id = l.part_id
    JOIN orders o ON o.id = l.order_id
    LEFT JOIN e ON e.order_line_id = l.id
)
SELECT 'line', id, order_no, part_id, part_status || '/' || order_status,
       expected, recorded, sales, refunds
FROM x WHERE expected <> recorded OR sales > 1 OR refunds > sales
ORDER BY id;

WITH e AS (
    SELECT day, region_id, county_id, vendor_id, category_id,
           coalesce(org_id::text, 'none') AS org, synthetic,
           CASE WHEN qty > 0 THEN 1 WHEN qty < 0 THEN -1 ELSE 0 END AS line, amount_fen,
           poverty_county, vendor_qualified, bxbp, orders_delta,
           region_orders_delta, county_orders_delta, vendor_orders_delta,
           category_orders_delta, households_linked
    FROM ledger_entries
), b AS (
    SELECT 'daily' AS tab, e.* FROM e
    UNION ALL
    SELECT 'monthly', date_trunc('month', e.day)::date, e.region_id,
           e.county_id, e.vendor_id, e.category_id, e.org, e.synthetic,
           e.line, e.amount_fen, e.poverty_county, e.vendor_qualified, e.bxbp,
           e.orders_delta, e.region_orders_delta, e.county_orders_delta,
           e.vendor_orders_delta, e.category_orders_delta, e.households_linked
    FROM e
), a AS (
    SELECT tab, day, region_id, county_id, vendor_id, category_id, org,
           synthetic, sum(line) AS lines, sum(amount_fen) AS gmv,
           coalesce(sum(amount_fen) FILTER (WHERE poverty_county), 0) AS poverty,
           coalesce(sum(amount_fen) FILTER (WHERE vendor_qualified), 0) AS qualified,
           coalesce(sum(amount_fen) FILTER (WHERE bxbp), 0) AS bxbp,
           sum(orders_delta) AS orders, sum(region_orders_delta) AS region_orders,
           sum(county_orders_delta) AS county_orders,
           sum(vendor_orders_delta) AS vendor_orders,
           sum(category_orders_delta) AS category_orders,
           max(households_linked) AS households
    FROM b GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
), s AS (
    SELECT 'daily' AS tab, * FROM ledger_daily
    UNION ALL
    SELECT 'monthly', * FROM ledger_monthly
), d AS (
    SELECT tab, day, region_id, county_id, vendor_id, category_id,
           coalesce(org_id::text, 'none') AS org, synthetic, lines, gmv_fen AS gmv,
           poverty_county_gmv_fen AS poverty, qualified_vendor_gmv_fen AS qualified,
           bxbp_gmv_fen AS bxbp, orders, region_orders, county_orders,
           vendor_orders, category_orders, households_linked AS households
    FROM s
)
SELECT 'summary', tab, day, region_id, county_id, vendor_id, category_id,
       org, synthetic, to_jsonb(a) - keys, to_jsonb(d) - keys
FROM a FULL JOIN d USING (tab, day, region_id, county_id, vendor_id,
                          category_id, org, synthetic),
     (SELECT ARRAY['tab', 'day', 'region_id', 'county_id', 'vendor_id',
                   'category_id', 'org', 'synthetic'] AS keys) k
WHERE (to_jsonb(a) IS DISTINCT FROM to_jsonb(d))
ORDER BY tab, day, region_id, county_id, vendor_id, category_id, org;

SELECT 'counted', (SELECT count(*) FROM order_lines),
       (SELECT count(*) FROM ledger_entries WHERE NOT synthetic),
       (SELECT count(*) FROM ledger_entries WHERE synthetic),
       (SELECT count(*) FROM ledger_daily),
       (SELECT count(*) FROM ledger_monthly);
COMMIT;
SQL
)

bad=0
printf '%s\n' "$out" | {
	while IFS='	' read -r what a b c d e f g h i j; do
		case "$what" in
		line)
			echo "ledger-check: line $a of order $b (part $c, $d):" \
			    "expected $e fen, ledger $f fen ($g sale, $h refund)"
			bad=1 ;;
		summary)
			echo "ledger-check: ledger_$a $b region $c county $d" \
			    "vendor $e category $f org $g synthetic $h:" \
			    "entries $i, summary $j"
			bad=1 ;;
		counted)
			if [ $bad = 0 ]; then
				echo "ledger-check: OK: $a order lines, $b entries" \
				    "($c synthetic left out), $d daily and $e" \
				    "monthly summary rows"
			fi ;;
		esac
	done
	exit $bad
}
