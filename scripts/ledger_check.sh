#!/bin/sh
# make ledger-check: proves the ledger (台账) agrees with the orders of the
# instance (INSTANCE, run by default), in one snapshot:
#   1. per order line, the sum of its ledger amounts is its line_total_fen
#      when its part is paid or shipped (and the order was not cancelled or
#      refunded), else 0: pending, cancelled and refunded lines net to 0;
#   2. no line has more than one sale or one reversal;
#   3. the summary ledger_daily equals the entries summed again.
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
                THEN l.line_total_fen ELSE 0 END AS expected,
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

WITH a AS (
    SELECT day, region_id, county_id, vendor_id, category_id,
           coalesce(org_id, -1) AS org, synthetic,
           sum(CASE WHEN kind = 'sale' THEN 1 ELSE -1 END) AS lines,
           sum(amount_fen) AS gmv,
           coalesce(sum(amount_fen) FILTER (WHERE poverty_county), 0) AS poverty,
           coalesce(sum(amount_fen) FILTER (WHERE vendor_qualified), 0) AS qualified,
           coalesce(sum(amount_fen) FILTER (WHERE bxbp), 0) AS bxbp,
           sum(orders_delta) AS orders, sum(region_orders_delta) AS region_orders,
           sum(county_orders_delta) AS county_orders,
           sum(vendor_orders_delta) AS vendor_orders,
           sum(category_orders_delta) AS category_orders,
           max(households_linked) AS households
    FROM ledger_entries GROUP BY 1, 2, 3, 4, 5, 6, 7
), d AS (
    SELECT day, region_id, county_id, vendor_id, category_id,
           coalesce(org_id, -1) AS org, synthetic, lines, gmv_fen AS gmv,
           poverty_county_gmv_fen AS poverty, qualified_vendor_gmv_fen AS qualified,
           bxbp_gmv_fen AS bxbp, orders, region_orders, county_orders,
           vendor_orders, category_orders, households_linked AS households
    FROM ledger_daily
)
SELECT 'summary', day, region_id, county_id, vendor_id, category_id, org,
       synthetic, to_jsonb(a) - keys, to_jsonb(d) - keys
FROM a FULL JOIN d USING (day, region_id, county_id, vendor_id, category_id,
                          org, synthetic),
     (SELECT ARRAY['day', 'region_id', 'county_id', 'vendor_id',
                   'category_id', 'org', 'synthetic'] AS keys) k
WHERE (to_jsonb(a) IS DISTINCT FROM to_jsonb(d))
ORDER BY day, region_id, county_id, vendor_id, category_id, org;

SELECT 'counted', (SELECT count(*) FROM order_lines),
       (SELECT count(*) FROM ledger_entries WHERE NOT synthetic),
       (SELECT count(*) FROM ledger_entries WHERE synthetic),
       (SELECT count(*) FROM ledger_daily);
COMMIT;
SQL
)

bad=0
printf '%s\n' "$out" | {
	while IFS='	' read -r what a b c d e f g h i; do
		case "$what" in
		line)
			echo "ledger-check: line $a of order $b (part $c, $d):" \
			    "expected $e fen, ledger $f fen ($g sale, $h refund)"
			bad=1 ;;
		summary)
			echo "ledger-check: ledger_daily $a region $b county $c" \
			    "vendor $d category $e org $f synthetic $g:" \
			    "entries $h, summary $i"
			bad=1 ;;
		counted)
			if [ $bad = 0 ]; then
				echo "ledger-check: OK: $a order lines, $b entries" \
				    "($c synthetic left out), $d summary rows"
			fi ;;
		esac
	done
	exit $bad
}
