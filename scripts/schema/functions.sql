-- The SQL functions as scripts/migrations/ leave them: generated
-- by scripts/schema.sh (make schema) and checked by make test.
-- Edit a migration, never this file.

CREATE OR REPLACE FUNCTION public.admin_vendor_json(v vendors)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (SELECT json_build_object('id', v.id, 'name', v.name, 'kind', v.kind,
        'status', v.status, 'credit_code', v.credit_code,
        'county', json_build_object('code', c.code, 'name', c.name,
                                    'is_poverty_county', c.is_poverty_county),
        'region', json_build_object('code', r.code, 'name', r.name),
        'poor_households_linked', v.poor_households_linked,
        'description', v.description,
        'qualified', vendor_qualified(v.status, v.qualified_until, v.credit_score),
        'qualified_until', v.qualified_until, 'credit_score', v.credit_score,
        'credit_level', credit_level(v.credit_score),
        'reviewed_at', v.reviewed_at, 'reviewed_by', v.reviewed_by,
        'review_reason', v.review_reason, 'created_at', v.created_at)
    FROM counties c JOIN regions r ON r.id = c.region_id WHERE c.id = v.county_id);
END $function$
;
CREATE OR REPLACE FUNCTION public.api_admin_campaigns()
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (SELECT json_build_object('items', coalesce(json_agg(
        campaign_json(cm, false, 0, false)::jsonb || jsonb_build_object('id', cm.id,
            'product_ids', coalesce((SELECT jsonb_agg(cp.product_id ORDER BY cp.product_id)
                FROM campaign_products cp WHERE cp.campaign_id = cm.id), '[]'))
        ORDER BY cm.starts_at DESC, cm.id), '[]')) FROM campaigns cm);
END $function$
;
CREATE OR REPLACE FUNCTION public.api_admin_credit_events(p_vendor bigint, p_page integer, p_per_page integer)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM vendors WHERE id = p_vendor) THEN NULL
    ELSE json_build_object(
        'items', coalesce((SELECT json_agg(credit_event_json(e) ORDER BY e.id DESC)
            FROM (SELECT * FROM credit_events WHERE vendor_id = p_vendor
                  ORDER BY id DESC LIMIT p_per_page
                  OFFSET (p_page - 1) * p_per_page) e), '[]'),
        'page', p_page, 'per_page', p_per_page,
        'total', (SELECT count(*) FROM credit_events WHERE vendor_id = p_vendor)) END
$function$
;
CREATE OR REPLACE FUNCTION public.api_admin_vendors(p_status text, p_page integer, p_per_page integer)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (SELECT json_build_object(
        'items', coalesce((SELECT json_agg(admin_vendor_json(v) ORDER BY v.id)
            FROM (SELECT * FROM vendors WHERE p_status IS NULL OR status = p_status
                  ORDER BY id LIMIT p_per_page OFFSET (p_page - 1) * p_per_page) v), '[]'),
        'page', p_page, 'per_page', p_per_page,
        'total', (SELECT count(*) FROM vendors WHERE p_status IS NULL OR status = p_status)));
END $function$
;
CREATE OR REPLACE FUNCTION public.api_booking(p_user bigint, bid bigint)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT booking_json(b.id) FROM bookings b WHERE b.id = bid AND b.user_id = p_user
$function$
;
CREATE OR REPLACE FUNCTION public.api_boost_rules()
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (SELECT json_build_object('items', coalesce(json_agg(boost_rule_json(r)
        ORDER BY r.id), '[]')) FROM boost_rules r);
END $function$
;
CREATE OR REPLACE FUNCTION public.api_bulk_order(p_user bigint, p_org bigint, p_bid bigint, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    body := (SELECT bulk_json(b.id) FROM bulk_orders b
              WHERE b.id = p_bid AND b.org_id = p_org);
    IF body IS NULL THEN
        status := 404;
        body := org_err('not_found', 'no such bulk order');
        RETURN;
    END IF;
    status := 200;
END $function$
;
CREATE OR REPLACE FUNCTION public.api_bulk_orders(p_user bigint, p_org bigint, p_status text, p_page integer, p_per_page integer, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    status := 200;
    body := json_build_object(
        'items', coalesce((SELECT json_agg(bulk_json(x.id) ORDER BY x.id DESC)
            FROM (SELECT id FROM bulk_orders WHERE org_id = p_org
                    AND (p_status IS NULL OR bulk_orders.status = p_status)
                  ORDER BY id DESC LIMIT p_per_page
                  OFFSET (p_page - 1) * p_per_page) x), '[]'),
        'page', p_page, 'per_page', p_per_page,
        'total', (SELECT count(*) FROM bulk_orders WHERE org_id = p_org
                    AND (p_status IS NULL OR bulk_orders.status = p_status)));
END $function$
;
CREATE OR REPLACE FUNCTION public.api_bulk_recipients(p_user bigint, p_org bigint, p_bid bigint, p_page integer, p_per_page integer, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM bulk_orders WHERE id = p_bid AND org_id = p_org) THEN
        status := 404;
        body := org_err('not_found', 'no such bulk order');
        RETURN;
    END IF;
    status := 200;
    body := json_build_object(
        'items', coalesce((SELECT json_agg(json_build_object('id', r.id,
                'name', r.name, 'phone', r.phone, 'address', r.address,
                'lines', (SELECT json_agg(json_build_object('product_id', l.product_id,
                    'qty', l.qty) ORDER BY l.product_id)
                    FROM bulk_lines l WHERE l.recipient_id = r.id)) ORDER BY r.seq)
            FROM (SELECT * FROM bulk_recipients WHERE bulk_order_id = p_bid
                  ORDER BY seq LIMIT p_per_page OFFSET (p_page - 1) * p_per_page) r), '[]'),
        'page', p_page, 'per_page', p_per_page,
        'total', (SELECT count(*) FROM bulk_recipients WHERE bulk_order_id = p_bid));
END $function$
;
CREATE OR REPLACE FUNCTION public.api_campaign(p_slug text)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT campaign_json(cm, true, 100, true) FROM campaigns cm WHERE cm.slug = p_slug);
END $function$
;
CREATE OR REPLACE FUNCTION public.api_campaigns()
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT json_build_object('items', coalesce(json_agg(
        campaign_json(cm, false, 0, false) ORDER BY cm.starts_at DESC, cm.id), '[]'))
    FROM campaigns cm);
END $function$
;
CREATE OR REPLACE FUNCTION public.api_channel()
 RETURNS json
 LANGUAGE plpgsql
 STABLE
 SET jit TO 'off'
AS $function$
BEGIN
    RETURN (
    WITH rules AS MATERIALIZED (
        SELECT rank_rules('channel') AS r
    ), live AS MATERIALIZED (
        SELECT cm, rank_rule_of(cm.id, cm.boost_weight, 0, cm.match) AS r
        FROM campaigns cm WHERE now() BETWEEN cm.starts_at AND cm.ends_at
    ), named AS MATERIALIZED (
        SELECT cp.product_id, array_agg(cp.campaign_id) AS ids
        FROM campaign_products cp
        WHERE cp.campaign_id IN (SELECT (l.r).id FROM live l)
        GROUP BY cp.product_id
    ), m AS MATERIALIZED (
        SELECT f.id, f.sales, f.bxbp, f.region_code,
               ROW(f.id, f.qualified, f.vendor_kind, f.region_code,
                   f.is_poverty_county, f.category_code, f.vendor_id,
                   f.bxbp)::rank_fact AS rf,
               coalesce(n.ids, '{}') AS named
        FROM product_facts f LEFT JOIN named n ON n.product_id = f.id
        WHERE f.status = 'listed' AND f.qualified
    ), b AS MATERIALIZED (
        SELECT m.id, m.sales, m.bxbp, m.region_code,
               coalesce(r.boost, 0) + coalesce((SELECT sum((c.r).weight) FROM live c
                     WHERE (c.r).id = ANY (m.named)
                        OR ((c.r).has_any AND rank_cond(c.r, m.rf))), 0) AS boost,
               coalesce(r.pin, 0) AS pin
        FROM m CROSS JOIN LATERAL (
            SELECT sum((x.r).weight) AS boost,
                   max((x.r).pin_slots) FILTER (WHERE (x.r).pin_slots > 0) AS pin
            FROM rules x WHERE rank_cond(x.r, m.rf)) r
    ), s AS MATERIALIZED (
        SELECT b.*, rank_score(0, b.boost, b.sales) AS score FROM b
    ), secs AS (
        SELECT 0 AS ord, 'seasonal'::text AS key, '当季推荐'::text AS title,
               12 AS lim, NULL::text AS region, false AS bxbp_only
        UNION ALL SELECT 1, 'bxbp', '百县百品', 12, NULL, true
        UNION ALL SELECT 2 + r.sort, 'region:' || r.code, r.name, 8, r.code, false
        FROM regions r
    ), k AS MATERIALIZED (
        SELECT x.ord, x.key, x.lim, s.id, s.sales, s.boost, s.pin,
               row_number() OVER (PARTITION BY x.ord, x.key
                                  ORDER BY s.score DESC, s.id) AS rk,
               row_number() OVER (PARTITION BY x.ord, x.key, s.pin
                                  ORDER BY s.score DESC, s.id) AS rk_pin
        FROM secs x JOIN s ON (x.region IS NULL OR s.region_code = x.region)
                          AND (NOT x.bxbp_only OR s.bxbp)
    ), shown AS MATERIALIZED (
        SELECT k.* FROM k
        WHERE k.rk <= k.lim OR (k.pin > 0 AND k.rk_pin <= k.lim)
    ), cprod AS MATERIALIZED (
        -- Each live campaign's first 8 products by sales.
        SELECT (l.cm).id AS cid, y.id, y.sales
        FROM live l CROSS JOIN LATERAL (
            SELECT m.id, m.sales FROM m
            WHERE (l.r).id = ANY (m.named)
               OR ((l.r).has_any AND rank_cond(l.r, m.rf))
            ORDER BY m.sales DESC, m.id LIMIT 8) y
    ), items AS MATERIALIZED (
        -- The item of each product shown, once however often it is.
        SELECT f.id, product_item_json(f) AS item
        FROM product_facts f
        WHERE f.id IN (SELECT h.id FROM shown h UNION SELECT c.id FROM cprod c)
    )
    SELECT json_build_object(
        -- campaign_json(cm, true, 8, false), from the products at hand.
        'campaigns', coalesce((SELECT json_agg(json_build_object(
                'slug', (l.cm).slug, 'title', (l.cm).title,
                'theme', (l.cm).theme, 'starts_at', (l.cm).starts_at,
                'ends_at', (l.cm).ends_at,
                'active', now() BETWEEN (l.cm).starts_at AND (l.cm).ends_at,
                'boost_weight', (l.cm).boost_weight, 'match', (l.cm).match,
                'products', coalesce((SELECT json_agg(i.item
                        ORDER BY c.sales DESC, c.id)
                    FROM cprod c JOIN items i ON i.id = c.id
                    WHERE c.cid = (l.cm).id), '[]'))
                ORDER BY (l.cm).starts_at, (l.cm).id) FROM live l), '[]'),
        'sections', (SELECT json_agg(json_build_object('key', x.key,
                'title', x.title, 'limit', x.lim,
                'candidates', coalesce((SELECT json_agg(json_build_object(
                    'id', k.id, 'text', 0, 'sales', k.sales, 'boost', k.boost,
                    'pin', k.pin, 'item', i.item) ORDER BY k.rk)
                    FROM shown k JOIN items i ON i.id = k.id
                    WHERE k.ord = x.ord AND k.key = x.key), '[]'))
            ORDER BY x.ord, x.key) FROM secs x)));
END $function$
;
CREATE OR REPLACE FUNCTION public.api_fee_rule_history(p_rule bigint)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM fee_rules WHERE id = p_rule) THEN NULL
    ELSE json_build_object('items', coalesce((SELECT json_agg(json_build_object(
            'id', h.id, 'changed_at', h.changed_at,
            'changed_by', CASE WHEN u.id IS NULL THEN NULL
                ELSE json_build_object('id', u.id, 'name', u.name) END,
            'rule', fee_rule_json(jsonb_populate_record(NULL::fee_rules, h.snapshot)))
            ORDER BY h.id DESC)
        FROM fee_rule_history h LEFT JOIN users u ON u.id = h.changed_by
        WHERE h.rule_id = p_rule), '[]')) END
$function$
;
CREATE OR REPLACE FUNCTION public.api_fee_rules()
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT json_build_object('items', coalesce(json_agg(fee_rule_json(r)
        ORDER BY r.priority DESC, r.id), '[]')) FROM fee_rules r);
END $function$
;
CREATE OR REPLACE FUNCTION public.api_impact()
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    y integer := date_part('year', now() AT TIME ZONE 'Asia/Shanghai')::integer;
BEGIN
    RETURN (
    WITH v AS (
        SELECT s.region_id, s.vendor_id, sum(s.gmv_fen) AS gmv,
               sum(s.poverty_county_gmv_fen) AS poverty,
               sum(s.region_orders) AS orders, max(s.households_linked) AS households
        FROM ledger_summary(make_date(y, 1, 1), make_date(y, 12, 31)) s
        WHERE NOT s.synthetic
        GROUP BY s.region_id, s.vendor_id
    ), g AS (
        SELECT v.region_id, sum(v.gmv) AS gmv, sum(v.poverty) AS poverty,
               sum(v.orders) AS orders,
               sum(v.households) FILTER (WHERE v.gmv > 0) AS households
        FROM v GROUP BY v.region_id
    )
    SELECT json_build_object('year', y,
        'regions', json_agg(json_build_object('code', r.code, 'name', r.name,
            'gmv_fen', coalesce(g.gmv, 0)::bigint,
            'orders', coalesce(g.orders, 0)::bigint,
            'poverty_county_share_bps', CASE WHEN g.gmv > 0
                THEN round(g.poverty * 10000 / g.gmv)::bigint
                ELSE 0 END,
            'households_linked', coalesce(g.households, 0)::bigint)
            ORDER BY r.sort, r.id))
    FROM regions r LEFT JOIN g ON g.region_id = r.id);
END $function$
;
CREATE OR REPLACE FUNCTION public.api_ledger(p_from date, p_to date, p_group text)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    WITH d AS (
        SELECT CASE p_group
                   WHEN 'region' THEN s.region_id::bigint
                   WHEN 'county' THEN s.county_id::bigint
                   WHEN 'vendor' THEN s.vendor_id
                   WHEN 'org' THEN s.org_id
                   WHEN 'category' THEN s.category_id::bigint
                   ELSE (date_part('year', s.day) * 100
                         + date_part('month', s.day))::bigint
               END AS k,
               s.vendor_id, s.lines, s.gmv_fen, s.poverty_county_gmv_fen,
               s.qualified_vendor_gmv_fen, s.bxbp_gmv_fen,
               CASE p_group
                   WHEN 'region' THEN s.region_orders
                   WHEN 'county' THEN s.county_orders
                   WHEN 'vendor' THEN s.vendor_orders
                   WHEN 'category' THEN s.category_orders
                   ELSE s.orders
               END AS orders,
               s.orders AS all_orders, s.households_linked
        FROM ledger_summary(p_from, p_to) s
    ), v AS (
        -- One row per group and vendor: the step that counts vendors once.
        SELECT d.k, d.vendor_id, sum(d.orders) AS orders,
               sum(d.all_orders) AS all_orders, sum(d.lines) AS lines,
               sum(d.gmv_fen) AS gmv, sum(d.poverty_county_gmv_fen) AS poverty,
               sum(d.qualified_vendor_gmv_fen) AS qualified,
               sum(d.bxbp_gmv_fen) AS bxbp, max(d.households_linked) AS households
        FROM d GROUP BY d.k, d.vendor_id
    ), g AS (
        SELECT v.k, sum(v.orders) AS orders, sum(v.lines) AS lines,
               sum(v.gmv) AS gmv, sum(v.poverty) AS poverty,
               sum(v.qualified) AS qualified, sum(v.bxbp) AS bxbp,
               coalesce(sum(v.households) FILTER (WHERE v.gmv > 0), 0) AS households
        FROM v GROUP BY v.k
        -- A group whose sales were all reversed in the period is no row.
        HAVING sum(v.orders) <> 0 OR sum(v.lines) <> 0 OR sum(v.gmv) <> 0
            OR sum(v.poverty) <> 0 OR sum(v.qualified) <> 0 OR sum(v.bxbp) <> 0
    ), vt AS (
        SELECT v.vendor_id, sum(v.all_orders) AS orders, sum(v.lines) AS lines,
               sum(v.gmv) AS gmv, sum(v.poverty) AS poverty,
               sum(v.qualified) AS qualified, sum(v.bxbp) AS bxbp,
               max(v.households) AS households
        FROM v GROUP BY v.vendor_id
    )
    SELECT json_build_object('from', p_from, 'to', p_to, 'group_by', p_group,
        'rows', coalesce((
            SELECT json_agg(json_build_object('key', l.o_key, 'name', l.o_name,
                'orders', g.orders::bigint, 'lines', g.lines::bigint,
                'gmv_fen', g.gmv::bigint, 'poverty_county_gmv_fen', g.poverty::bigint,
                'qualified_vendor_gmv_fen', g.qualified::bigint,
                'bxbp_gmv_fen', g.bxbp::bigint,
                'households_linked', g.households::bigint)
                ORDER BY CASE WHEN p_group = 'month' THEN g.k END,
                         g.gmv DESC, g.k NULLS LAST)
            FROM g CROSS JOIN LATERAL ledger_group_label(p_group, g.k) l), '[]'),
        'totals', (
            SELECT json_build_object(
                'orders', coalesce(sum(vt.orders), 0)::bigint,
                'lines', coalesce(sum(vt.lines), 0)::bigint,
                'gmv_fen', coalesce(sum(vt.gmv), 0)::bigint,
                'poverty_county_gmv_fen', coalesce(sum(vt.poverty), 0)::bigint,
                'qualified_vendor_gmv_fen', coalesce(sum(vt.qualified), 0)::bigint,
                'bxbp_gmv_fen', coalesce(sum(vt.bxbp), 0)::bigint,
                'households_linked',
                    coalesce(sum(vt.households) FILTER (WHERE vt.gmv > 0), 0)::bigint)
            FROM vt)));
END $function$
;
CREATE OR REPLACE FUNCTION public.api_my_bookings(p_user bigint, p_page integer, p_per_page integer)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT json_build_object(
        'items', coalesce((SELECT json_agg(booking_json(b.id) ORDER BY b.id DESC)
            FROM (SELECT id FROM bookings WHERE user_id = p_user
                  ORDER BY id DESC LIMIT p_per_page
                  OFFSET (p_page - 1) * p_per_page) b), '[]'),
        'page', p_page, 'per_page', p_per_page,
        'total', (SELECT count(*) FROM bookings WHERE user_id = p_user))
$function$
;
CREATE OR REPLACE FUNCTION public.api_my_invitations(p_user bigint)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT json_build_object('items', coalesce(json_agg(invitation_json(i)
        ORDER BY i.id DESC), '[]'))
      FROM my_invitations(p_user) i
$function$
;
CREATE OR REPLACE FUNCTION public.api_order(p_user bigint, oid bigint)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT order_json(o.id) FROM orders o WHERE o.id = oid AND o.user_id = p_user);
END $function$
;
CREATE OR REPLACE FUNCTION public.api_orders(p_user bigint, p_page integer, p_per_page integer)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT json_build_object(
        'items', coalesce((SELECT json_agg(order_json(o.id) ORDER BY o.id DESC)
            FROM (SELECT id FROM orders WHERE user_id = p_user
                  ORDER BY id DESC LIMIT p_per_page
                  OFFSET (p_page - 1) * p_per_page) o), '[]'),
        'page', p_page, 'per_page', p_per_page,
        'total', (SELECT count(*) FROM orders WHERE user_id = p_user)));
END $function$
;
CREATE OR REPLACE FUNCTION public.api_org(p_user bigint, p_org bigint, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{}') a;
    IF status IS NULL THEN
        status := 200;
        body := org_json(p_org, p_user);
    END IF;
END $function$
;
CREATE OR REPLACE FUNCTION public.api_org_year(p_user bigint, p_org bigint, p_year integer, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    status := 200;
    body := org_year_facts(p_org, p_year);
END $function$
;
CREATE OR REPLACE FUNCTION public.api_orgs(p_user bigint)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT json_build_object('items', coalesce(json_agg(json_build_object(
        'id', o.id, 'name', o.name, 'kind', o.kind, 'credit_code', o.credit_code,
        'my_roles', m.roles) ORDER BY o.id), '[]'))
    FROM (SELECT org_id, array_agg(role ORDER BY role) AS roles FROM org_members
          WHERE user_id = p_user GROUP BY org_id) m
    JOIN orgs o ON o.id = m.org_id);
END $function$
;
CREATE OR REPLACE FUNCTION public.api_plan(p_user bigint, p_org bigint, p_year integer, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    p procurement_plans;
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT * INTO p FROM procurement_plans WHERE org_id = p_org AND year = p_year;
    IF NOT FOUND THEN
        status := 404;
        body := org_err('not_found', 'no plan for this year');
        RETURN;
    END IF;
    status := 200;
    body := plan_json(p);
END $function$
;
CREATE OR REPLACE FUNCTION public.api_product(pid bigint)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT json_build_object(
        'id', f.id, 'title', f.title, 'description', f.description,
        'category', json_build_object('code', f.category_code, 'name', f.category_name),
        'kind', f.kind, 'unit', f.unit, 'price_fen', f.price_fen,
        'price_tiers', (
            SELECT json_agg(json_build_object('min_qty', t.min_qty,
                   'unit_price_fen', t.unit_price_fen) ORDER BY t.min_qty)
            FROM (SELECT 1 AS min_qty, f.price_fen AS unit_price_fen
                  UNION ALL SELECT pt.min_qty, pt.unit_price_fen
                  FROM price_tiers pt WHERE pt.product_id = f.id) t),
        'stock', f.stock,
        'vendor', json_build_object('id', f.vendor_id, 'name', f.vendor_name,
            'qualified', f.qualified, 'credit_level', f.credit_level,
            'kind', f.vendor_kind),
        'region', json_build_object('code', f.region_code, 'name', f.region_name),
        'county', json_build_object('code', f.county_code, 'name', f.county_name,
            'is_poverty_county', f.is_poverty_county),
        'labels', product_labels(f),
        'certifications', coalesce((
            SELECT json_agg(json_build_object('kind', c.kind, 'number', c.number,
                   'valid_until', c.valid_until,
                   'valid', c.valid_until >= (now() AT TIME ZONE 'Asia/Shanghai')::date)
                   ORDER BY c.kind)
            FROM certifications c WHERE c.product_id = f.id), '[]'),
        'bxbp', f.bxbp,
        'batches', coalesce((
            SELECT json_agg(json_build_object('code', b.code,
                   'trace_code', b.trace_code, 'produced_on', b.produced_on)
                   ORDER BY b.produced_on DESC, b.id DESC)
            FROM batches b WHERE b.product_id = f.id), '[]'),
        'images', f.images,
        'sales', f.sales)
    FROM product_facts f
    WHERE f.id = pid AND f.status = 'listed');
END $function$
;
CREATE OR REPLACE FUNCTION public.api_product_sessions(pid bigint, p_from date, p_to date)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT json_build_object('product_id', p.id,
        'cancellation', coalesce((SELECT c.rules FROM cancellation_rules c
                                  WHERE c.product_id = p.id), '[]'),
        'items', coalesce((SELECT json_agg(json_build_object('id', s.id,
                'date', s.date, 'starts_at', s.starts_at,
                'available', s.capacity - s.booked, 'price_fen', session_price(s),
                'book_until', s.book_until) ORDER BY s.date, s.starts_at, s.id)
            FROM service_sessions s
           WHERE s.product_id = p.id AND s.status = 'open'
             AND s.date >= greatest(shanghai_today(), coalesce(p_from, shanghai_today()))
             AND (p_to IS NULL OR s.date <= p_to)), '[]'))
      FROM products p WHERE p.id = pid AND p.status = 'listed'
$function$
;
CREATE OR REPLACE FUNCTION public.api_products(p_region text, p_county text, p_category text, p_vendor bigint, p_q text, p_label text, p_cert text, p_min bigint, p_max bigint, p_sort text, p_page integer, p_per_page integer)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    WITH m AS (
        SELECT f AS fact, f.id, f.price_fen, f.created_at, f.sales, f.qualified,
               CASE WHEN p_q IS NULL THEN 0
                    WHEN strpos(lower(f.title), lower(p_q)) > 0 THEN 2
                    ELSE 1 END AS text_score
        FROM product_facts f
        WHERE f.status = 'listed'
          AND (p_region IS NULL OR f.region_code = p_region)
          AND (p_county IS NULL OR f.county_code = p_county)
          AND (p_category IS NULL OR f.category_code = p_category)
          AND (p_vendor IS NULL OR f.vendor_id = p_vendor)
          AND (p_q IS NULL OR strpos(lower(f.title), lower(p_q)) > 0
               OR strpos(lower(f.description), lower(p_q)) > 0)
          AND (p_label IS NULL
               OR (p_label = 'bxbp' AND f.bxbp)
               OR (p_label = 'poverty_county' AND f.is_poverty_county)
               OR (p_label = 'qualified_vendor' AND f.qualified))
          AND (p_cert IS NULL OR EXISTS (
               SELECT 1 FROM certifications c WHERE c.product_id = f.id
                 AND c.kind = p_cert
                 AND c.valid_until >= (now() AT TIME ZONE 'Asia/Shanghai')::date))
          AND (p_min IS NULL OR f.price_fen >= p_min)
          AND (p_max IS NULL OR f.price_fen <= p_max)
    ), page AS (
        SELECT m.fact, row_number() OVER (ORDER BY
            CASE WHEN p_sort = 'price_asc' THEN m.price_fen END ASC,
            CASE WHEN p_sort = 'price_desc' THEN m.price_fen END DESC,
            CASE WHEN p_sort = 'newest' THEN m.created_at END DESC,
            CASE WHEN p_sort = 'sales' THEN m.sales END DESC,
            CASE WHEN p_sort = 'relevance' THEN m.text_score END DESC,
            CASE WHEN p_sort = 'relevance' THEN m.qualified::int END DESC,
            CASE WHEN p_sort = 'relevance' THEN m.sales END DESC,
            m.id ASC) AS ord
        FROM m
        ORDER BY ord
        LIMIT p_per_page OFFSET (p_page - 1) * p_per_page
    )
    SELECT json_build_object(
        'items', coalesce((SELECT json_agg(product_item_json(page.fact)
                 ORDER BY page.ord) FROM page), '[]'),
        'page', p_page, 'per_page', p_per_page,
        'total', (SELECT count(*) FROM m)));
END $function$
;
CREATE OR REPLACE FUNCTION public.api_region(p_code text)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT region_json(r) FROM regions r WHERE r.code = p_code);
END $function$
;
CREATE OR REPLACE FUNCTION public.api_region_shop(p_code text)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT json_build_object(
        'region', region_json(r),
        'featured_limit', 12,
        'candidates', rank_top('region_shop', r.code, NULL, NULL, NULL,
            NULL, NULL, NULL, NULL, NULL, true, false, 1000, 12)->'candidates',
        'vendors', coalesce((SELECT json_agg(vendor_json(v) ORDER BY v.id)
            FROM vendors v JOIN counties c ON c.id = v.county_id
            WHERE c.region_id = r.id AND v.status = 'approved'), '[]'),
        'categories', coalesce((SELECT json_agg(json_build_object('code', x.code,
                'name', x.name, 'product_count', x.n) ORDER BY x.sort, x.code)
            FROM (SELECT cat.code, cat.name, cat.sort, count(*) AS n
                  FROM product_facts f JOIN categories cat ON cat.id = f.category_id
                  WHERE f.region_pk = r.id AND f.status = 'listed'
                  GROUP BY cat.code, cat.name, cat.sort) x), '[]'))
    FROM regions r WHERE r.code = p_code);
END $function$
;
CREATE OR REPLACE FUNCTION public.api_regions()
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT json_build_object('items', coalesce(json_agg(json_build_object(
        'code', r.code, 'name', r.name, 'kind', r.kind,
        'county_count', (SELECT count(*) FROM counties c WHERE c.region_id = r.id),
        'product_count', (SELECT count(*) FROM product_facts f
                          WHERE f.region_pk = r.id AND f.status = 'listed'))
        ORDER BY r.sort, r.id), '[]'))
    FROM regions r);
END $function$
;
CREATE OR REPLACE FUNCTION public.api_trace(p_code text)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT json_build_object(
        'code', b.trace_code,
        'product', json_build_object('id', f.id, 'title', f.title,
                                     'listed', f.status = 'listed'),
        'vendor', json_build_object('id', f.vendor_id, 'name', f.vendor_name,
                                    'qualified', f.qualified),
        'county', json_build_object('code', f.county_code, 'name', f.county_name,
                                    'is_poverty_county', f.is_poverty_county),
        'region', json_build_object('code', f.region_code, 'name', f.region_name),
        'batch', json_build_object('code', b.code, 'produced_on', b.produced_on,
            'base', b.base,
            'inspection', json_build_object('result', b.inspection_result,
                'report_no', b.inspection_report_no,
                'inspected_on', b.inspected_on)))
    FROM batches b JOIN product_facts f ON f.id = b.product_id
    WHERE b.trace_code = upper(p_code));
END $function$
;
CREATE OR REPLACE FUNCTION public.api_vendor(p_id bigint)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT vendor_json(v) FROM vendors v
    WHERE v.id = p_id AND v.status = 'approved');
END $function$
;
CREATE OR REPLACE FUNCTION public.api_vendor_orders(p_user bigint, p_status text, p_page integer, p_per_page integer)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    WITH v AS (SELECT id FROM vendors WHERE user_id = p_user),
    m AS (SELECT p.id FROM order_parts p
          WHERE p.vendor_id = (SELECT id FROM v)
            AND (p_status IS NULL OR p.status = p_status))
    SELECT json_build_object(
        'items', coalesce((SELECT json_agg(vendor_part_json(x.id) ORDER BY x.id DESC)
            FROM (SELECT id FROM m ORDER BY id DESC LIMIT p_per_page
                  OFFSET (p_page - 1) * p_per_page) x), '[]'),
        'page', p_page, 'per_page', p_per_page, 'total', (SELECT count(*) FROM m)));
END $function$
;
CREATE OR REPLACE FUNCTION public.api_vendor_part_recipients(p_user bigint, p_part bigint, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    paid boolean;
BEGIN
    SELECT o.paid_at IS NOT NULL INTO paid
      FROM order_parts op JOIN vendors v ON v.id = op.vendor_id
      JOIN orders o ON o.id = op.order_id
     WHERE op.id = p_part AND v.user_id = p_user;
    IF NOT FOUND THEN
        status := 404;
        body := org_err('not_found', 'no such order part');
        RETURN;
    END IF;
    status := 200;
    body := json_build_object('part_id', p_part, 'items', coalesce((
        SELECT json_agg(json_build_object('recipient_id', r.id,
            'name', CASE WHEN paid THEN r.name END,
            'phone', CASE WHEN paid THEN r.phone END,
            'address', CASE WHEN paid THEN r.address END,
            'carrier', s.carrier, 'tracking_no', s.tracking_no, 'shipped_at', s.shipped_at,
            'lines', (SELECT json_agg(json_build_object('product_id', l.product_id,
                'qty', l.qty) ORDER BY l.product_id) FROM order_lines l
                WHERE l.part_id = p_part AND l.recipient_id = r.id)) ORDER BY r.seq)
        FROM shipments s JOIN bulk_recipients r ON r.id = s.recipient_id
        WHERE s.part_id = p_part), '[]'));
END $function$
;
CREATE OR REPLACE FUNCTION public.api_vendor_product(p_user bigint, pid bigint)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (SELECT vendor_product_json(p.id) FROM products p JOIN vendors v
             ON v.id = p.vendor_id WHERE p.id = pid AND v.user_id = p_user);
END $function$
;
CREATE OR REPLACE FUNCTION public.api_vendor_products(p_user bigint, p_status text, p_page integer, p_per_page integer)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    vid bigint;
BEGIN
    SELECT id INTO vid FROM vendors WHERE user_id = p_user;
    RETURN (SELECT json_build_object(
        'items', coalesce((SELECT json_agg(vendor_product_json(p.id) ORDER BY p.id)
            FROM (SELECT id FROM products WHERE vendor_id = vid
                    AND (p_status IS NULL OR status = p_status)
                  ORDER BY id LIMIT p_per_page OFFSET (p_page - 1) * p_per_page) p), '[]'),
        'page', p_page, 'per_page', p_per_page,
        'total', (SELECT count(*) FROM products WHERE vendor_id = vid
                    AND (p_status IS NULL OR status = p_status))));
END $function$
;
CREATE OR REPLACE FUNCTION public.api_vendor_profile(p_user bigint)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT json_build_object('id', v.id, 'name', v.name, 'kind', v.kind,
        'status', v.status, 'credit_code', v.credit_code,
        'county', json_build_object('code', c.code, 'name', c.name,
                                    'is_poverty_county', c.is_poverty_county),
        'region', json_build_object('code', r.code, 'name', r.name),
        'poor_households_linked', v.poor_households_linked,
        'description', v.description,
        'qualified', vendor_qualified(v.status, v.qualified_until, v.credit_score),
        'qualified_until', v.qualified_until, 'credit_score', v.credit_score,
        'credit_level', credit_level(v.credit_score),
        'reviewed_at', v.reviewed_at, 'review_reason', v.review_reason,
        'created_at', v.created_at,
        'reviews', coalesce((SELECT json_agg(json_build_object('decision', w.decision,
                'qualified_until', w.qualified_until, 'reason', w.reason,
                'reviewed_at', w.reviewed_at) ORDER BY w.id DESC)
            FROM vendor_reviews w WHERE w.vendor_id = v.id), '[]'),
        'credit_events', coalesce((SELECT json_agg(credit_event_json(e) ORDER BY e.id DESC)
            FROM (SELECT * FROM credit_events WHERE vendor_id = v.id
                  ORDER BY id DESC LIMIT 100) e), '[]'))
    FROM vendors v JOIN counties c ON c.id = v.county_id
    JOIN regions r ON r.id = c.region_id
    WHERE v.user_id = p_user
$function$
;
CREATE OR REPLACE FUNCTION public.api_vendor_sessions(p_user bigint, pid bigint, p_from date, p_to date)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT json_build_object('product_id', p.id,
        'cancellation', coalesce((SELECT c.rules FROM cancellation_rules c
                                  WHERE c.product_id = p.id), '[]'),
        'items', coalesce((SELECT json_agg(session_json(s)
                                  ORDER BY s.date, s.starts_at, s.id)
            FROM service_sessions s
           WHERE s.product_id = p.id
             AND (p_from IS NULL OR s.date >= p_from)
             AND (p_to IS NULL OR s.date <= p_to)), '[]'))
      FROM products p WHERE p.id = pid AND p.vendor_id = user_vendor(p_user)
$function$
;
CREATE OR REPLACE FUNCTION public.api_vendor_statement(p_user bigint, p_from date, p_to date)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    WITH lines AS (
        SELECT l.*, o.order_no, o.paid_at, p.status AS part_status,
               pr.title, r.name AS fee_rule_name
        FROM order_lines l
        JOIN order_parts p ON p.id = l.part_id
        JOIN orders o ON o.id = l.order_id
        JOIN products pr ON pr.id = l.product_id
        LEFT JOIN fee_rules r ON r.id = l.fee_rule_id
        WHERE p.vendor_id = (SELECT id FROM vendors WHERE user_id = p_user)
          AND p.status IN ('paid', 'shipped')
          AND o.paid_at IS NOT NULL
          AND (o.paid_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN p_from AND p_to
    )
    SELECT json_build_object('from', p_from, 'to', p_to,
        'gross_fen', coalesce(sum(line_total_fen), 0),
        'fee_fen', coalesce(sum(fee_fen), 0),
        'fee_waived_fen', coalesce(sum(fee_waived_fen), 0),
        'net_fen', coalesce(sum(line_total_fen - fee_fen + fee_waived_fen), 0),
        'lines', coalesce(json_agg(json_build_object('order_no', order_no,
            'part_id', part_id, 'product_id', product_id, 'title', title,
            'qty', qty, 'unit_price_fen', unit_price_fen,
            'line_total_fen', line_total_fen, 'fee_fen', fee_fen,
            'fee_waived_fen', fee_waived_fen, 'fee_rule_id', fee_rule_id,
            'fee_rule_name', fee_rule_name, 'paid_at', paid_at)
            ORDER BY paid_at, id), '[]'))
    FROM lines);
END $function$
;
CREATE OR REPLACE FUNCTION public.booking_cancel(p_user bigint, bid bigint, p_omap jsonb, p_pmap jsonb, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    oid bigint;
BEGIN
    SELECT b.order_id INTO oid FROM bookings b WHERE b.id = bid AND b.user_id = p_user;
    IF NOT FOUND THEN
        status := 404;
        RETURN;
    END IF;
    PERFORM 1 FROM orders WHERE id = oid FOR UPDATE;
    -- A bulk order's booking goes with its order (POST /orders/{id}/cancel).
    IF EXISTS (SELECT 1 FROM orders o WHERE o.id = oid AND o.bulk_order_id IS NOT NULL)
       OR booking_cancel_order(oid, p_user, p_omap, p_pmap) IS NULL THEN
        status := 409;
        body := json_build_object('code', 'invalid_transition',
            'status', (SELECT o.status FROM orders o WHERE o.id = oid));
        RETURN;
    END IF;
    status := 200;
    body := booking_json(bid);
END $function$
;
CREATE OR REPLACE FUNCTION public.booking_cancel_order(oid bigint, p_actor bigint, p_omap jsonb, p_pmap jsonb)
 RETURNS text
 LANGUAGE plpgsql
AS $function$
DECLARE
    b bookings;
    s service_sessions;
    was text;
    pay payments;
    refund bigint := 0;
BEGIN
    SELECT * INTO b FROM bookings WHERE order_id = oid;
    SELECT * INTO s FROM service_sessions WHERE id = b.session_id;
    IF EXISTS (SELECT 1 FROM vouchers v WHERE v.booking_id = b.id
                AND v.status = 'redeemed') THEN
        RETURN NULL;
    END IF;
    IF (SELECT o.status FROM orders o WHERE o.id = oid) = 'paid' THEN
        SELECT * INTO pay FROM payments WHERE order_id = oid AND status = 'succeeded'
         ORDER BY id LIMIT 1 FOR UPDATE;
        IF FOUND THEN
            refund := pay.amount_fen * cancellation_refund_bps(s.product_id, s.date, now())
                      / 10000;
        END IF;
    END IF;
    UPDATE bookings SET refund_fen = refund WHERE id = b.id;
    was := order_move(oid, 'cancel', p_omap, p_pmap, p_actor);
    IF was IS NULL THEN
        UPDATE bookings SET refund_fen = b.refund_fen WHERE id = b.id;
        RETURN NULL;
    END IF;
    IF was = 'paid' AND pay.id IS NOT NULL THEN
        UPDATE payments SET status = 'refunded' WHERE id = pay.id;
        UPDATE product_sales SET sales = greatest(sales - b.places, 0)
         WHERE product_id = s.product_id;
        IF refund > 0 THEN
            INSERT INTO refunds (payment_id, order_id, amount_fen, status, reason)
            VALUES (pay.id, oid, refund, 'succeeded', 'booking cancelled by buyer');
        END IF;
    END IF;
    RETURN was;
END $function$
;
CREATE OR REPLACE FUNCTION public.booking_json(bid bigint)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT json_build_object('id', b.id,
        'session', session_json(s), 'product_id', s.product_id,
        'title', (SELECT p.title FROM products p WHERE p.id = s.product_id),
        'places', b.places, 'status', o.status,
        'guests', b.guests, 'refund_fen', b.refund_fen,
        'created_at', b.created_at, 'order', order_json(o.id),
        'vouchers', coalesce((SELECT json_agg(json_build_object(
            'code', v.code, 'guest_name', v.guest_name, 'status', v.status,
            'redeemed_at', v.redeemed_at) ORDER BY v.guest_no)
            FROM vouchers v WHERE v.booking_id = b.id), '[]'))
      FROM bookings b
      JOIN service_sessions s ON s.id = b.session_id
      JOIN orders o ON o.id = b.order_id
     WHERE b.id = bid
$function$
;
CREATE OR REPLACE FUNCTION public.booking_on_order()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    b bookings;
BEGIN
    FOR b IN SELECT * FROM bookings WHERE order_id = NEW.id ORDER BY session_id, id LOOP
        IF NEW.status = 'paid' AND OLD.status = 'pending_payment' THEN
            INSERT INTO vouchers (code, booking_id, vendor_id, guest_no, guest_name)
            SELECT voucher_code(), b.id, s.vendor_id, g.n, g.v->>'name'
              FROM service_sessions s,
                   jsonb_array_elements(b.guests) WITH ORDINALITY AS g(v, n)
             WHERE s.id = b.session_id
            ON CONFLICT (booking_id, guest_no) DO NOTHING;
        ELSIF NEW.status IN ('cancelled', 'refunded') AND b.released_at IS NULL THEN
            UPDATE bookings SET released_at = now() WHERE id = b.id;
            UPDATE service_sessions SET booked = booked - b.places, updated_at = now()
             WHERE id = b.session_id;
            UPDATE vouchers SET status = 'void'
             WHERE booking_id = b.id AND status = 'valid';
        END IF;
    END LOOP;
    RETURN NULL;
END $function$
;
CREATE OR REPLACE FUNCTION public.booking_place(p_user bigint, p_key text, p_hash text, sid bigint, p_guests jsonb, p_order jsonb, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    route constant text := 'POST /bookings';
    t timestamptz := now();
    s service_sessions;
    p product_facts;
    n integer := jsonb_array_length(p_guests);
    l jsonb := p_order->'lines'->0;
    c jsonb;
    taken jsonb := '[]';
    lim integer := (p_order->>'max_unpaid')::integer;
    oid bigint;
    part bigint;
    bid bigint;
    cnt integer;
BEGIN
    SELECT x.status, x.body INTO status, body FROM idem_claim(p_user, route, p_key, p_hash) x;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    -- The buyer's unpaid orders, counted as place_orders() counts them.
    PERFORM pg_advisory_xact_lock(unpaid_lock_space(), (p_user % 2147483647)::integer);
    cnt := unpaid_orders(p_user, t);
    IF lim IS NOT NULL AND cnt >= lim THEN
        status := 409;
        body := json_build_object('code', 'too_many_unpaid_orders',
            'detail', 'pay or cancel one of your ' || cnt || ' unpaid orders first',
            'limit', lim);
    END IF;
    IF status IS NULL THEN
        SELECT * INTO s FROM service_sessions WHERE id = sid FOR UPDATE;
        SELECT * INTO p FROM product_facts WHERE id = s.product_id;
        IF s.id IS NULL OR p.status <> 'listed' OR p.kind <> 'service' THEN
            status := 404;
        ELSIF s.status <> 'open' OR s.book_until <= t THEN
            status := 422;
            body := json_build_object('code', 'booking_closed',
                'detail', 'this session takes no more bookings',
                'book_until', s.book_until);
        ELSIF s.capacity - s.booked < n THEN
            status := 409;
            body := json_build_object('code', 'insufficient_capacity',
                'detail', 'not enough places left; nothing was taken',
                'available', s.capacity - s.booked,
                'errors', json_build_array(json_build_object('field', 'guests',
                    'message', (s.capacity - s.booked) || ' places left')));
        ELSIF (l->>'product_id')::bigint IS DISTINCT FROM s.product_id
           OR (l->>'qty')::integer IS DISTINCT FROM n
           OR (l->>'unit_price_fen')::bigint IS DISTINCT FROM session_price(s)
           OR (l->>'vendor_id')::bigint IS DISTINCT FROM p.vendor_id
           OR (l->'qualified')::boolean IS DISTINCT FROM p.qualified
           OR l->>'category' IS DISTINCT FROM p.category_code THEN
            status := 409;
            body := json_build_object('code', 'stale');
        END IF;
    END IF;
    -- Waiver caps: taken only if they all still hold.
    IF status IS NULL THEN
        FOR c IN SELECT x FROM jsonb_array_elements(p_order->'caps') x
                  ORDER BY (x->>'rule_id')::bigint, (x->>'vendor_id')::bigint
        LOOP
            INSERT INTO fee_cap_usage AS u (rule_id, vendor_id, month, waived_fen)
            VALUES ((c->>'rule_id')::bigint, (c->>'vendor_id')::bigint,
                    shanghai_month(t), (c->>'waived_fen')::bigint)
            ON CONFLICT (rule_id, vendor_id, month) DO UPDATE
                SET waived_fen = u.waived_fen + EXCLUDED.waived_fen
                WHERE u.waived_fen + EXCLUDED.waived_fen <= (c->>'cap_fen')::bigint;
            IF NOT FOUND THEN
                status := 409;
                body := json_build_object('code', 'stale');
                UPDATE fee_cap_usage u
                   SET waived_fen = u.waived_fen - (x->>'waived_fen')::bigint
                  FROM jsonb_array_elements(taken) x
                 WHERE u.rule_id = (x->>'rule_id')::bigint
                   AND u.vendor_id = (x->>'vendor_id')::bigint
                   AND u.month = shanghai_month(t);
                EXIT;
            END IF;
            taken := taken || c;
        END LOOP;
    END IF;
    IF status IS NOT NULL THEN
        PERFORM idem_release(p_user, route, p_key);
        RETURN;
    END IF;

    oid := nextval('orders_id_seq');
    INSERT INTO orders (id, order_no, user_id, status, total_fen, address, note,
                        pay_before, created_at, updated_at)
    VALUES (oid, 'BF' || to_char(t AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')
                 || lpad(oid::text, 8, '0'),
            p_user, 'pending_payment', (p_order->>'total_fen')::bigint,
            jsonb_build_object('name', p_guests->0->>'name',
                'phone', p_guests->0->>'phone', 'province', p.region_name,
                'city', p.county_name, 'district', p.county_name,
                'line', p.title || ' ' || s.date),
            coalesce(p_order->>'note', ''),
            t + make_interval(secs => (p_order->>'pay_timeout_s')::integer), t, t);
    INSERT INTO order_parts (order_id, vendor_id, status, subtotal_fen, fee_fen,
                             fee_waived_fen)
    VALUES (oid, p.vendor_id, 'pending', (l->>'line_total_fen')::bigint,
            (l->>'fee_fen')::bigint, (l->>'fee_waived_fen')::bigint)
    RETURNING id INTO part;
    INSERT INTO order_lines (order_id, part_id, product_id, qty, unit_price_fen,
        line_total_fen, fee_fen, fee_waived_fen, fee_rule_id, commission_bps,
        waiver_bps)
    VALUES (oid, part, s.product_id, n, (l->>'unit_price_fen')::bigint,
            (l->>'line_total_fen')::bigint, (l->>'fee_fen')::bigint,
            (l->>'fee_waived_fen')::bigint, nullif((l->>'fee_rule_id')::bigint, 0),
            coalesce((l->>'commission_bps')::integer, 0),
            coalesce((l->>'waiver_bps')::integer, 0));
    INSERT INTO order_events (order_id, part_id, event, to_status, actor_id, created_at)
    VALUES (oid, NULL, 'create', 'pending_payment', p_user, t),
           (oid, part, 'create', 'pending', p_user, t);
    UPDATE service_sessions SET booked = booked + n, updated_at = t WHERE id = sid;
    INSERT INTO bookings (session_id, order_id, user_id, places, guests, created_at)
    VALUES (sid, oid, p_user, n, p_guests, t) RETURNING id INTO bid;
    status := 201;
    body := booking_json(bid);
    PERFORM idem_store(p_user, route, p_key, status, body);
END $function$
;
CREATE OR REPLACE FUNCTION public.booking_quote(sid bigint, p_places integer)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    s service_sessions;
    q jsonb;
BEGIN
    SELECT ss.* INTO s FROM service_sessions ss
      JOIN products p ON p.id = ss.product_id
     WHERE ss.id = sid AND p.status = 'listed' AND p.kind = 'service';
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    q := checkout_quote(jsonb_build_array(jsonb_build_object(
             'product_id', s.product_id, 'qty', p_places)))::jsonb;
    q := jsonb_set(q, '{lines,0,unit_price_fen}', to_jsonb(session_price(s)));
    q := jsonb_set(q, '{lines,0,stock}', to_jsonb(s.capacity - s.booked));
    RETURN (q || jsonb_build_object('closed',
                 s.status <> 'open' OR s.book_until <= now()))::json;
END $function$
;
CREATE OR REPLACE FUNCTION public.boost_matches(m jsonb, f product_facts)
 RETURNS boolean
 LANGUAGE sql
 STABLE
AS $function$
    SELECT f.qualified
       AND (NOT m ? 'qualified' OR (m->>'qualified')::boolean = f.qualified)
       AND (NOT m ? 'vendor_kind' OR m->>'vendor_kind' = f.vendor_kind)
       AND (NOT m ? 'region' OR m->>'region' = f.region_code)
       AND (NOT m ? 'poverty_county' OR (m->>'poverty_county')::boolean = f.is_poverty_county)
       AND (NOT m ? 'category' OR m->>'category' = f.category_code)
       AND (NOT m ? 'vendor_id' OR (m->>'vendor_id')::bigint = f.vendor_id)
       AND (NOT m ? 'bxbp' OR (m->>'bxbp')::boolean = f.bxbp)
       AND (NOT m ? 'product_ids' OR m->'product_ids' @> to_jsonb(f.id))
$function$
;
CREATE OR REPLACE FUNCTION public.boost_rule_json(r boost_rules)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT json_build_object('id', r.id, 'name', r.name, 'weight', r.weight,
        'pin_slots', r.pin_slots, 'placements', r.placements, 'match', r.match,
        'valid_from', r.valid_from, 'valid_to', r.valid_to,
        'active', r.valid_from <= now() AND (r.valid_to IS NULL OR r.valid_to > now()))
$function$
;
CREATE OR REPLACE FUNCTION public.boost_rule_save(p_id bigint, p jsonb, p_admin bigint, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    r boost_rules;
BEGIN
    IF p_id IS NULL THEN
        INSERT INTO boost_rules (name, weight, pin_slots, placements, match,
                                 valid_from, valid_to, created_by)
        VALUES (p->>'name', (p->>'weight')::integer,
                coalesce((p->>'pin_slots')::integer, 0),
                ARRAY(SELECT jsonb_array_elements_text(p->'placements')),
                coalesce(p->'match', '{}'),
                coalesce((p->>'valid_from')::timestamptz, now()),
                (p->>'valid_to')::timestamptz, p_admin)
        RETURNING * INTO r;
        status := 201;
    ELSE
        UPDATE boost_rules SET
            name = CASE WHEN p ? 'name' THEN p->>'name' ELSE name END,
            weight = CASE WHEN p ? 'weight' THEN (p->>'weight')::integer ELSE weight END,
            pin_slots = CASE WHEN p ? 'pin_slots' THEN (p->>'pin_slots')::integer
                        ELSE pin_slots END,
            placements = CASE WHEN p ? 'placements'
                THEN ARRAY(SELECT jsonb_array_elements_text(p->'placements'))
                ELSE placements END,
            match = CASE WHEN p ? 'match' THEN p->'match' ELSE match END,
            valid_from = CASE WHEN p ? 'valid_from'
                THEN (p->>'valid_from')::timestamptz ELSE valid_from END,
            valid_to = CASE WHEN p ? 'valid_to'
                THEN (p->>'valid_to')::timestamptz ELSE valid_to END,
            updated_at = now()
        WHERE id = p_id RETURNING * INTO r;
        IF NOT FOUND THEN
            status := 404;
            RETURN;
        END IF;
        status := 200;
    END IF;
    INSERT INTO boost_rule_history (rule_id, changed_by, snapshot)
    VALUES (r.id, p_admin, to_jsonb(r));
    body := boost_rule_json(r);
EXCEPTION WHEN check_violation OR invalid_datetime_format OR datetime_field_overflow THEN
    status := 422;
    body := json_build_object('code', 'validation_failed', 'detail', SQLERRM);
END $function$
;
CREATE OR REPLACE FUNCTION public.bulk_action(p_user bigint, p_org bigint, p_bid bigint, p_action text, p_reason text, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    b bulk_orders;
    pl procurement_plans;
    q jsonb;
    need boolean;
BEGIN
    SELECT l.status, l.body INTO status, body
      FROM bulk_lock(p_user, p_org, p_bid,
                     CASE WHEN p_action = 'submit' THEN '{buyer}'::text[]
                          ELSE '{approver,admin}'::text[] END) l;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT * INTO b FROM bulk_orders WHERE id = p_bid;
    IF p_action = 'submit' THEN
        IF b.status <> 'draft' THEN
            status := 409;
            body := bulk_bad_status(b, 'draft');
            RETURN;
        END IF;
        IF b.recipients_count = 0 THEN
            status := 422;
            body := org_err('validation_failed', 'the bulk order has no recipients',
                jsonb_build_array(jsonb_build_object('field', 'recipients',
                    'message', 'at least one recipient with a line')));
            RETURN;
        END IF;
        q := bulk_quote(p_bid);
        SELECT * INTO pl FROM procurement_plans
         WHERE org_id = p_org AND year = (q->>'plan_year')::integer;
        need := NOT FOUND OR (q->>'total_fen')::bigint > pl.approval_threshold_fen;
        UPDATE bulk_orders SET status = CASE WHEN need THEN 'submitted' ELSE 'approved' END,
            quote = q, total_fen = (q->>'total_fen')::bigint, needs_approval = need,
            submitted_by = p_user, submitted_at = now(),
            decided_by = NULL, decided_at = CASE WHEN need THEN NULL ELSE now() END,
            updated_at = now()
         WHERE id = p_bid;
        INSERT INTO bulk_events (bulk_order_id, action, from_status, to_status, actor_id, note)
        VALUES (p_bid, 'submit', 'draft', 'submitted', p_user,
                'total ' || (q->>'total_fen') || ' fen');
        IF NOT need THEN
            INSERT INTO bulk_events (bulk_order_id, action, from_status, to_status,
                actor_id, note)
            VALUES (p_bid, 'approve', 'submitted', 'approved', NULL,
                    'at or below the approval threshold of ' ||
                    pl.approval_threshold_fen || ' fen');
        END IF;
    ELSE
        IF b.status <> 'submitted' THEN
            status := 409;
            body := bulk_bad_status(b, 'submitted');
            RETURN;
        END IF;
        IF p_action = 'approve' AND b.submitted_by = p_user THEN
            status := 403;
            body := org_err('self_approval',
                'the submitter of a bulk order cannot approve it');
            RETURN;
        END IF;
        UPDATE bulk_orders SET
            status = CASE WHEN p_action = 'approve' THEN 'approved' ELSE 'rejected' END,
            decided_by = p_user, decided_at = now(),
            reject_reason = CASE WHEN p_action = 'reject' THEN p_reason END,
            updated_at = now()
         WHERE id = p_bid;
        INSERT INTO bulk_events (bulk_order_id, action, from_status, to_status, actor_id, note)
        VALUES (p_bid, p_action, 'submitted',
                CASE WHEN p_action = 'approve' THEN 'approved' ELSE 'rejected' END,
                p_user, p_reason);
    END IF;
    status := 200;
    body := bulk_json(p_bid);
END $function$
;
CREATE OR REPLACE FUNCTION public.bulk_bad_status(b bulk_orders, p_want text)
 RETURNS json
 LANGUAGE sql
 IMMUTABLE
AS $function$
    SELECT json_build_object('code', 'invalid_transition', 'status', b.status,
        'detail', 'the bulk order is ' || b.status || '; this needs it ' || p_want)
$function$
;
CREATE OR REPLACE FUNCTION public.bulk_create(p_user bigint, p_org bigint, p_purpose text, p_rows jsonb, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    errs jsonb;
    bid bigint;
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{buyer}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    errs := bulk_product_errors(p_rows);
    IF jsonb_array_length(errs) > 0 THEN
        status := 422;
        body := bulk_errors_reply(errs, jsonb_array_length(errs));
        RETURN;
    END IF;
    INSERT INTO bulk_orders (org_id, purpose, created_by)
    VALUES (p_org, p_purpose, p_user) RETURNING id INTO bid;
    PERFORM bulk_fill(bid, p_rows);
    INSERT INTO bulk_events (bulk_order_id, action, to_status, actor_id, note)
    VALUES (bid, 'create', 'draft', p_user,
            (SELECT recipients_count || ' recipients' FROM bulk_orders WHERE id = bid));
    status := 201;
    body := bulk_json(bid);
END $function$
;
CREATE OR REPLACE FUNCTION public.bulk_create_payment(p_user bigint, p_org bigint, p_bid bigint, p_provider text, p_route text, p_key text, p_hash text, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    b bulk_orders;
    pay payments;
    amount bigint;
BEGIN
    SELECT i.status, i.body INTO status, body
      FROM idem_claim(p_user, p_route, p_key, p_hash) i;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT l.status, l.body INTO status, body
      FROM bulk_lock(p_user, p_org, p_bid, '{buyer}') l;
    SELECT * INTO b FROM bulk_orders WHERE id = p_bid;
    IF status IS NULL AND b.status <> 'placed' THEN
        status := 409;
        body := bulk_bad_status(b, 'placed');
    END IF;
    IF status IS NULL THEN
        PERFORM 1 FROM orders o WHERE o.bulk_order_id = p_bid ORDER BY o.id FOR UPDATE;
        IF EXISTS (SELECT 1 FROM orders o WHERE o.bulk_order_id = p_bid
                    AND (o.status <> 'pending_payment' OR o.pay_before <= now())) THEN
            status := 409;
            body := json_build_object('code', 'invalid_transition',
                'detail', 'the orders of this bulk order are no longer awaiting payment');
        END IF;
    END IF;
    IF status IS NOT NULL THEN
        PERFORM idem_release(p_user, p_route, p_key);
        RETURN;
    END IF;
    SELECT sum(total_fen) INTO amount FROM orders WHERE bulk_order_id = p_bid;
    INSERT INTO payments (bulk_order_id, user_id, provider, amount_fen)
    VALUES (p_bid, p_user, p_provider, amount) RETURNING * INTO pay;
    status := 201;
    body := payment_json(pay);
    PERFORM idem_store(p_user, p_route, p_key, status, body);
END $function$
;
CREATE OR REPLACE FUNCTION public.bulk_errors_reply(p_errors jsonb, p_total integer)
 RETURNS json
 LANGUAGE plpgsql
 IMMUTABLE
AS $function$
DECLARE
    e jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(x ORDER BY (x->>'line')::integer NULLS FIRST, ord), '[]')
      INTO e FROM (SELECT x, ord FROM jsonb_array_elements(p_errors) WITH ORDINALITY t(x, ord)
                   ORDER BY (x->>'line')::integer NULLS FIRST, ord LIMIT 100) s;
    IF p_total > jsonb_array_length(e) THEN
        e := e || jsonb_build_object('field', 'file', 'message',
            (p_total - jsonb_array_length(e)) || ' more errors not listed');
    END IF;
    RETURN org_err('validation_failed', 'some rows are invalid; nothing was imported', e);
END $function$
;
CREATE OR REPLACE FUNCTION public.bulk_fill(p_bid bigint, p_rows jsonb)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
    DELETE FROM bulk_lines WHERE bulk_order_id = p_bid;
    DELETE FROM bulk_recipients WHERE bulk_order_id = p_bid;
    WITH r AS (
        SELECT (x->>'line')::integer AS line, ord, x->>'name' AS name,
               x->>'phone' AS phone, x->>'address' AS address,
               (x->>'product_id')::bigint AS product_id, (x->>'qty')::integer AS qty,
               (x->>'session_id')::bigint AS session_id,
               (x->>'r')::integer AS rk
        FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS t(x, ord)
    ), k AS (
        SELECT r.*, coalesce(rk, min(coalesce(line, ord::integer))
                    OVER (PARTITION BY name, phone, address)) AS key
        FROM r
    ), ins AS (
        INSERT INTO bulk_recipients (bulk_order_id, seq, name, phone, address)
        SELECT DISTINCT ON (key) p_bid, key, name, phone, address FROM k ORDER BY key
        RETURNING id, seq
    )
    INSERT INTO bulk_lines (bulk_order_id, recipient_id, product_id, qty, session_id)
    SELECT p_bid, ins.id, k.product_id, sum(k.qty), k.session_id
      FROM k JOIN ins ON ins.seq = k.key
    GROUP BY ins.id, k.product_id, k.session_id;
    UPDATE bulk_orders SET
        recipients_count = (SELECT count(*) FROM bulk_recipients WHERE bulk_order_id = p_bid),
        lines_count = (SELECT count(*) FROM bulk_lines WHERE bulk_order_id = p_bid),
        updated_at = now()
     WHERE id = p_bid;
    UPDATE bulk_orders SET quote = bulk_quote(p_bid) WHERE id = p_bid;
    UPDATE bulk_orders SET total_fen = (quote->>'total_fen')::bigint WHERE id = p_bid;
END $function$
;
CREATE OR REPLACE FUNCTION public.bulk_json(p_bid bigint)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT json_build_object('id', b.id, 'org_id', b.org_id, 'status', b.status,
        'purpose', b.purpose, 'recipients_count', b.recipients_count,
        'lines_count', b.lines_count, 'quote', b.quote, 'total_fen', b.total_fen,
        'needs_approval', b.needs_approval,
        'created_by', user_brief(b.created_by), 'created_at', b.created_at,
        'updated_at', b.updated_at,
        'submitted_by', user_brief(b.submitted_by), 'submitted_at', b.submitted_at,
        'decided_by', user_brief(b.decided_by), 'decided_at', b.decided_at,
        'reject_reason', b.reject_reason,
        'placed_by', user_brief(b.placed_by), 'placed_at', b.placed_at,
        'trail', coalesce((SELECT json_agg(json_build_object('action', e.action,
                'from_status', e.from_status, 'to_status', e.to_status,
                'actor', user_brief(e.actor_id), 'note', e.note, 'at', e.created_at)
                ORDER BY e.id) FROM bulk_events e WHERE e.bulk_order_id = b.id), '[]'),
        'orders', coalesce((SELECT json_agg(json_build_object('id', o.id,
                'order_no', o.order_no, 'status', o.status, 'total_fen', o.total_fen,
                'vendor_id', (SELECT p.vendor_id FROM order_parts p
                              WHERE p.order_id = o.id ORDER BY p.id LIMIT 1),
                'pay_before', o.pay_before, 'paid_at', o.paid_at) ORDER BY o.id)
                FROM orders o WHERE o.bulk_order_id = b.id), '[]'))
    FROM bulk_orders b WHERE b.id = p_bid);
END $function$
;
CREATE OR REPLACE FUNCTION public.bulk_lock(p_user bigint, p_org bigint, p_bid bigint, p_need text[], OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, p_need) a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM bulk_orders WHERE id = p_bid AND org_id = p_org FOR UPDATE;
    IF NOT FOUND THEN
        status := 404;
        body := org_err('not_found', 'no such bulk order');
    END IF;
END $function$
;
CREATE OR REPLACE FUNCTION public.bulk_order_refund()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    pay payments;
BEGIN
    SELECT * INTO pay FROM payments
     WHERE bulk_order_id = NEW.bulk_order_id AND status = 'succeeded'
     ORDER BY id LIMIT 1 FOR UPDATE;
    IF FOUND THEN
        INSERT INTO refunds (payment_id, order_id, amount_fen, status, reason)
        VALUES (pay.id, NEW.id, NEW.total_fen, 'succeeded',
                'order of bulk order ' || NEW.bulk_order_id || ' refunded');
        IF NOT EXISTS (SELECT 1 FROM orders o WHERE o.bulk_order_id = NEW.bulk_order_id
                        AND o.id <> NEW.id AND o.status <> 'refunded') THEN
            UPDATE payments SET status = 'refunded' WHERE id = pay.id;
        END IF;
    END IF;
    RETURN NULL;
END $function$
;
CREATE OR REPLACE FUNCTION public.bulk_place(p_user bigint, p_org bigint, p_bid bigint, p_route text, p_key text, p_hash text, p_order jsonb, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    b bulk_orders;
    o orgs;
    p record;
    c jsonb;
    short jsonb := '[]';
    stale boolean := false;
    changed boolean := false;
    approved jsonb;
    priced jsonb;
    vmap jsonb := '{}';
    vid bigint;
    oid bigint;
    pid bigint;
    oids bigint[] := '{}';
    sx record;
BEGIN
    SELECT i.status, i.body INTO status, body
      FROM idem_claim(p_user, p_route, p_key, p_hash) i;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT l.status, l.body INTO status, body
      FROM bulk_lock(p_user, p_org, p_bid, '{buyer}') l;
    SELECT * INTO b FROM bulk_orders WHERE id = p_bid;
    IF status IS NULL AND b.status <> 'approved' THEN
        status := 409;
        body := bulk_bad_status(b, 'approved');
    END IF;
    IF status IS NOT NULL THEN
        PERFORM idem_release(p_user, p_route, p_key);
        RETURN;
    END IF;

    SELECT jsonb_object_agg(l->>'product_id', l->'unit_price_fen') INTO approved
      FROM jsonb_array_elements(b.quote->'lines') l;
    SELECT jsonb_object_agg(x->>'product_id', x) INTO priced
      FROM jsonb_array_elements(p_order->'lines') x;
    approved := coalesce(approved, '{}');
    priced := coalesce(priced, '{}');

    -- Sessions first (as expiry locks them, through booking_on_order,
    -- before the products), in id order: their places, under the lock.
    FOR sx IN
        SELECT s.id, s.status AS sstatus, s.book_until, s.capacity - s.booked AS avail,
               s.product_id AS sproduct, t.product_id, t.qty
        FROM (SELECT session_id, product_id, sum(qty)::bigint AS qty FROM bulk_lines
               WHERE bulk_order_id = p_bid AND session_id IS NOT NULL
               GROUP BY session_id, product_id) t
        JOIN service_sessions s ON s.id = t.session_id
        ORDER BY s.id
        FOR UPDATE OF s
    LOOP
        IF sx.sproduct <> sx.product_id OR sx.sstatus <> 'open' OR sx.book_until <= now()
           OR sx.avail < sx.qty THEN
            short := short || jsonb_build_object('field', 'sessions.' || sx.id,
                'session_id', sx.id, 'requested', sx.qty,
                'available', CASE WHEN sx.sstatus = 'open' AND sx.book_until > now()
                             THEN greatest(sx.avail, 0) ELSE 0 END,
                'message', 'not enough places');
        END IF;
    END LOOP;
    IF jsonb_array_length(short) > 0 THEN
        PERFORM idem_release(p_user, p_route, p_key);
        status := 409;
        body := json_build_object('code', 'insufficient_capacity',
            'detail', 'some sessions are short of places; nothing was taken',
            'errors', short);
        RETURN;
    END IF;

    FOR p IN
        SELECT pr.id, pr.stock, pr.status AS pstatus, pr.vendor_id, t.qty, t.sqty,
               tier_price(pr.id, pr.price_fen, t.qty) AS unit_price_fen,
               vendor_qualified(v.status, v.qualified_until, v.credit_score) AS qualified,
               priced->(pr.id::text) AS x
        FROM (SELECT product_id, sum(qty)::bigint AS qty,
                     (sum(qty) FILTER (WHERE session_id IS NOT NULL))::bigint AS sqty
                FROM bulk_lines
               WHERE bulk_order_id = p_bid GROUP BY product_id) t
        JOIN products pr ON pr.id = t.product_id
        JOIN vendors v ON v.id = pr.vendor_id
        ORDER BY pr.id
        FOR UPDATE OF pr
    LOOP
        IF p.pstatus <> 'listed' OR p.stock < p.qty - coalesce(p.sqty, 0) THEN
            short := short || jsonb_build_object('field', 'items.' || p.id,
                'product_id', p.id, 'requested', p.qty,
                'available', CASE WHEN p.pstatus = 'listed' THEN p.stock ELSE 0 END,
                'message', 'not enough stock');
        ELSIF (approved->>(p.id::text))::bigint IS DISTINCT FROM p.unit_price_fen THEN
            changed := true;
        ELSIF p.x IS NULL OR p.unit_price_fen <> (p.x->>'unit_price_fen')::bigint
           OR p.qualified <> (p.x->>'qualified')::boolean
           OR p.vendor_id <> (p.x->>'vendor_id')::bigint THEN
            stale := true;
        END IF;
    END LOOP;

    -- The priced lines must be the bulk order's lines, no more, no less.
    IF NOT stale AND (SELECT count(*) FROM bulk_lines WHERE bulk_order_id = p_bid)
       <> jsonb_array_length(p_order->'lines') THEN
        stale := true;
    END IF;

    IF jsonb_array_length(short) > 0 THEN
        PERFORM idem_release(p_user, p_route, p_key);
        status := 409;
        body := json_build_object('code', 'insufficient_stock',
            'detail', 'some lines are short of stock; nothing was taken', 'errors', short);
        RETURN;
    END IF;
    IF changed THEN
        UPDATE bulk_orders SET status = 'draft', quote = bulk_quote(p_bid),
            needs_approval = NULL, decided_by = NULL, decided_at = NULL, updated_at = now()
         WHERE id = p_bid;
        UPDATE bulk_orders SET total_fen = (quote->>'total_fen')::bigint WHERE id = p_bid;
        INSERT INTO bulk_events (bulk_order_id, action, from_status, to_status, actor_id, note)
        VALUES (p_bid, 'requote', 'approved', 'draft', NULL,
                'prices changed since approval; submit the new quote again');
        PERFORM idem_release(p_user, p_route, p_key);
        status := 409;
        body := org_err('quote_changed',
            'prices changed since approval: the bulk order is a draft again with a new quote');
        RETURN;
    END IF;
    IF stale THEN
        PERFORM idem_release(p_user, p_route, p_key);
        status := 409;
        body := json_build_object('code', 'stale');
        RETURN;
    END IF;

    -- Waiver caps: taken only if they still hold.
    FOR c IN SELECT * FROM jsonb_array_elements(p_order->'caps') ORDER BY
        (value->>'rule_id')::bigint, (value->>'vendor_id')::bigint
    LOOP
        INSERT INTO fee_cap_usage AS u (rule_id, vendor_id, month, waived_fen)
        VALUES ((c->>'rule_id')::bigint, (c->>'vendor_id')::bigint,
                shanghai_month(now()), (c->>'waived_fen')::bigint)
        ON CONFLICT (rule_id, vendor_id, month) DO UPDATE
            SET waived_fen = u.waived_fen + EXCLUDED.waived_fen
            WHERE u.waived_fen + EXCLUDED.waived_fen <= (c->>'cap_fen')::bigint;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'serialization_failure',
                MESSAGE = 'stale cap';
        END IF;
    END LOOP;

    UPDATE products pr SET stock = pr.stock - t.qty, updated_at = now()
      FROM (SELECT product_id, sum(qty)::integer AS qty FROM bulk_lines
             WHERE bulk_order_id = p_bid AND session_id IS NULL GROUP BY product_id) t
     WHERE pr.id = t.product_id;

    SELECT * INTO o FROM orgs WHERE id = p_org;
    FOR vid IN SELECT DISTINCT (x->>'vendor_id')::bigint FROM jsonb_array_elements(p_order->'lines') x
               ORDER BY 1
    LOOP
        oid := nextval('orders_id_seq');
        INSERT INTO orders (id, order_no, user_id, org_id, bulk_order_id, status,
                            total_fen, address, note, pay_before)
        VALUES (oid, 'BF' || to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')
                     || lpad(oid::text, 8, '0'),
                p_user, p_org, p_bid, 'pending_payment', 0,
                jsonb_build_object('name', o.name, 'phone', '', 'province', '',
                    'city', '', 'district', '',
                    'line', '以购代捐批量订单 #' || p_bid || '：按收件人逐一发货',
                    'bulk_order_id', p_bid),
                CASE b.purpose WHEN 'welfare' THEN '以购代捐 · 职工福利'
                    WHEN 'meeting_supply' THEN '以购代捐 · 会务用品'
                    WHEN 'canteen' THEN '以购代捐 · 食堂采购' ELSE '以购代捐' END,
                now() + make_interval(secs => (p_order->>'pay_timeout_s')::integer));
        INSERT INTO order_parts (order_id, vendor_id, status, subtotal_fen)
        VALUES (oid, vid, 'pending', 0) RETURNING id INTO pid;
        vmap := vmap || jsonb_build_object(vid::text, jsonb_build_array(oid, pid));
        oids := oids || oid;
    END LOOP;

    INSERT INTO order_lines (order_id, part_id, product_id, qty, unit_price_fen,
        line_total_fen, fee_fen, fee_waived_fen, fee_rule_id, commission_bps,
        waiver_bps, recipient_id)
    SELECT (m->>0)::bigint, (m->>1)::bigint, (x->>'product_id')::bigint,
           (x->>'qty')::integer, (x->>'unit_price_fen')::bigint,
           (x->>'line_total_fen')::bigint, (x->>'fee_fen')::bigint,
           (x->>'fee_waived_fen')::bigint, nullif((x->>'fee_rule_id')::bigint, 0),
           coalesce((x->>'commission_bps')::integer, 0),
           coalesce((x->>'waiver_bps')::integer, 0), (x->>'recipient_id')::bigint
    FROM jsonb_array_elements(p_order->'lines') WITH ORDINALITY AS t(x, ord),
         LATERAL (SELECT vmap->(x->>'vendor_id') AS m) mm
    ORDER BY ord;

    INSERT INTO shipments (part_id, recipient_id, carrier, tracking_no, shipped_at)
    SELECT DISTINCT l.part_id, l.recipient_id, '', '', NULL::timestamptz
    FROM order_lines l WHERE l.order_id = ANY (oids)
    ORDER BY l.part_id, l.recipient_id;

    UPDATE order_parts op SET subtotal_fen = s.sub, fee_fen = s.fee,
        fee_waived_fen = s.waived
    FROM (SELECT part_id, sum(line_total_fen) AS sub, sum(fee_fen) AS fee,
                 sum(fee_waived_fen) AS waived
          FROM order_lines WHERE order_id = ANY (oids) GROUP BY part_id) s
    WHERE op.id = s.part_id;
    UPDATE orders od SET total_fen = s.total
    FROM (SELECT order_id, sum(line_total_fen) AS total FROM order_lines
          WHERE order_id = ANY (oids) GROUP BY order_id) s
    WHERE od.id = s.order_id;
    INSERT INTO order_events (order_id, part_id, event, to_status, actor_id)
    SELECT op.order_id, op.id, 'create', 'pending', p_user
      FROM order_parts op WHERE op.order_id = ANY (oids);
    INSERT INTO order_events (order_id, event, to_status, actor_id)
    SELECT unnest(oids), 'create', 'pending_payment', p_user;

    -- The booked lines: one booking per recipient and session, its guest
    -- the recipient, in the order of that recipient's vendor.
    INSERT INTO bookings (session_id, order_id, recipient_id, user_id, places, guests)
    SELECT bl.session_id, (vmap->(pr.vendor_id::text)->>0)::bigint, bl.recipient_id,
           p_user, bl.qty,
           (SELECT jsonb_agg(x.guest) FROM (SELECT jsonb_build_object('name', r.name,
                    'phone', r.phone) AS guest FROM generate_series(1, bl.qty)) x)
      FROM bulk_lines bl
      JOIN bulk_recipients r ON r.id = bl.recipient_id
      JOIN products pr ON pr.id = bl.product_id
     WHERE bl.bulk_order_id = p_bid AND bl.session_id IS NOT NULL
     ORDER BY bl.session_id, bl.recipient_id;
    UPDATE service_sessions s SET booked = s.booked + t.qty, updated_at = now()
      FROM (SELECT session_id, sum(qty)::integer AS qty FROM bulk_lines
             WHERE bulk_order_id = p_bid AND session_id IS NOT NULL
             GROUP BY session_id) t
     WHERE s.id = t.session_id;

    UPDATE bulk_orders SET status = 'placed', placed_by = p_user, placed_at = now(),
        updated_at = now() WHERE id = p_bid;
    INSERT INTO bulk_events (bulk_order_id, action, from_status, to_status, actor_id, note)
    VALUES (p_bid, 'place', 'approved', 'placed', p_user,
            cardinality(oids) || ' orders, one per vendor');

    status := 201;
    body := json_build_object('id', p_bid, 'status', 'placed',
        'orders', (SELECT json_agg(order_json(x) ORDER BY x) FROM unnest(oids) x),
        'total_fen', (SELECT sum(total_fen) FROM orders WHERE id = ANY (oids)));
    PERFORM idem_store(p_user, p_route, p_key, status, body);
EXCEPTION WHEN serialization_failure THEN
    -- A waiver cap moved since pricing: nothing was written; price again.
    status := 409;
    body := json_build_object('code', 'stale');
END $function$
;
CREATE OR REPLACE FUNCTION public.bulk_place_input(p_user bigint, p_org bigint, p_bid bigint, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    b bulk_orders;
    items jsonb;
    q jsonb;
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{buyer}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT * INTO b FROM bulk_orders WHERE id = p_bid AND org_id = p_org;
    IF NOT FOUND THEN
        status := 404;
        body := org_err('not_found', 'no such bulk order');
        RETURN;
    END IF;
    IF b.status <> 'approved' THEN
        status := 409;
        body := bulk_bad_status(b, 'approved');
        RETURN;
    END IF;
    SELECT coalesce(jsonb_agg(jsonb_build_object('product_id', product_id, 'qty', qty)
                    ORDER BY product_id), '[]')
      INTO items FROM (SELECT product_id, sum(qty)::bigint AS qty FROM bulk_lines
                        WHERE bulk_order_id = p_bid GROUP BY product_id) t;
    q := checkout_quote(items)::jsonb;
    -- Booked lines take places, judged under the sessions' locks by
    -- bulk_place(), not stock.
    q := jsonb_set(q, '{lines}', coalesce((SELECT jsonb_agg(CASE WHEN EXISTS (
            SELECT 1 FROM bulk_lines bl WHERE bl.bulk_order_id = p_bid
               AND bl.product_id = (ql->>'product_id')::bigint
               AND bl.session_id IS NOT NULL)
            THEN ql || '{"stock": 10000000}' ELSE ql END ORDER BY n)
          FROM jsonb_array_elements(q->'lines') WITH ORDINALITY AS t(ql, n)), '[]'));
    status := 200;
    body := json_build_object('items', items, 'quote', q || jsonb_build_object('lines',
        coalesce((SELECT jsonb_agg(ql || jsonb_build_object('qty', l.qty,
                'recipient_id', l.recipient_id)
                ORDER BY (ql->>'vendor_id')::bigint, l.recipient_id, l.product_id)
            FROM bulk_lines l
            JOIN jsonb_array_elements(q->'lines') ql
              ON (ql->>'product_id')::bigint = l.product_id
            WHERE l.bulk_order_id = p_bid), '[]')));
END $function$
;
CREATE OR REPLACE FUNCTION public.bulk_product_errors(p_rows jsonb)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
        'field', x->>'field', 'line', (x->>'line')::integer,
        'message', CASE WHEN pr.id IS NULL
            THEN 'unknown product ' || (x->>'product_id')
            WHEN pr.status <> 'listed' THEN 'product ' || pr.id || ' is not on sale'
            ELSE 'session ' || (x->>'session_id') || ' is not an open session of product '
                 || pr.id END))
        ORDER BY (x->>'line')::integer, ord), '[]')
    FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS r(x, ord)
    LEFT JOIN products pr ON pr.id = (x->>'product_id')::bigint
    LEFT JOIN service_sessions s ON s.id = (x->>'session_id')::bigint
    WHERE x->>'product_id' IS NOT NULL
      AND (pr.id IS NULL OR pr.status <> 'listed'
           OR (x->>'session_id' IS NOT NULL
               AND (s.id IS NULL OR s.product_id <> pr.id OR s.status <> 'open'))));
END $function$
;
CREATE OR REPLACE FUNCTION public.bulk_quote(p_bid bigint)
 RETURNS jsonb
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    v_org bigint;
    v_year integer := shanghai_year(now());
BEGIN
    SELECT org_id INTO v_org FROM bulk_orders WHERE id = p_bid;
    RETURN (
    WITH q AS (
        SELECT l.product_id, sum(l.qty)::bigint AS qty FROM bulk_lines l
         WHERE l.bulk_order_id = p_bid GROUP BY l.product_id
    ), p AS (
        SELECT q.product_id, q.qty, pr.vendor_id,
               tier_price(pr.id, pr.price_fen, q.qty) AS unit_price_fen
        FROM q JOIN products pr ON pr.id = q.product_id
    ), t AS (
        SELECT coalesce(sum(unit_price_fen * qty), 0)::bigint AS total FROM p
    )
    SELECT jsonb_build_object(
        'lines', coalesce((SELECT jsonb_agg(jsonb_build_object('product_id', p.product_id,
            'vendor_id', p.vendor_id, 'qty', p.qty, 'unit_price_fen', p.unit_price_fen,
            'total_fen', p.unit_price_fen * p.qty) ORDER BY p.product_id) FROM p), '[]'),
        'by_vendor', coalesce((SELECT jsonb_agg(jsonb_build_object('vendor_id', v.vendor_id,
            'total_fen', v.total) ORDER BY v.vendor_id)
            FROM (SELECT vendor_id, sum(unit_price_fen * qty)::bigint AS total
                  FROM p GROUP BY vendor_id) v), '[]'),
        'total_fen', t.total,
        'plan_year', v_year,
        'plan_share_bps', share_bps(t.total, (SELECT pl.budget_fen FROM procurement_plans pl
            WHERE pl.org_id = v_org AND pl.year = v_year)),
        'quoted_at', now())
    FROM t);
END $function$
;
CREATE OR REPLACE FUNCTION public.bulk_replace(p_user bigint, p_org bigint, p_bid bigint, p_rows jsonb, p_errors jsonb, p_nerr integer, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    b bulk_orders;
    errs jsonb;
BEGIN
    SELECT l.status, l.body INTO status, body
      FROM bulk_lock(p_user, p_org, p_bid, '{buyer}') l;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT * INTO b FROM bulk_orders WHERE id = p_bid;
    IF b.status <> 'draft' THEN
        status := 409;
        body := bulk_bad_status(b, 'draft');
        RETURN;
    END IF;
    errs := bulk_product_errors(p_rows);
    IF p_nerr + jsonb_array_length(errs) > 0 THEN
        status := 422;
        body := bulk_errors_reply(p_errors || errs, p_nerr + jsonb_array_length(errs));
        RETURN;
    END IF;
    PERFORM bulk_fill(p_bid, p_rows);
    INSERT INTO bulk_events (bulk_order_id, action, from_status, to_status, actor_id, note)
    VALUES (p_bid, 'recipients_replaced', 'draft', 'draft', p_user,
            (SELECT recipients_count || ' recipients, ' || lines_count || ' lines from CSV'
             FROM bulk_orders WHERE id = p_bid));
    status := 200;
    body := bulk_json(p_bid);
END $function$
;
CREATE OR REPLACE FUNCTION public.bxbp_check()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM counties c JOIN vendors v ON v.county_id = c.id
                   JOIN products p ON p.vendor_id = v.id
                   WHERE p.id = NEW.product_id AND c.id = NEW.county_id
                     AND c.is_poverty_county) THEN
        RAISE EXCEPTION 'product % is not from poverty county %',
            NEW.product_id, NEW.county_id USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $function$
;
CREATE OR REPLACE FUNCTION public.bxbp_designate(p_admin bigint, pid bigint, p_on boolean, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    cid integer;
BEGIN
    SELECT v.county_id INTO cid FROM products p JOIN vendors v ON v.id = p.vendor_id
     WHERE p.id = pid;
    IF NOT FOUND THEN
        status := 404;
        RETURN;
    END IF;
    IF p_on THEN
        IF EXISTS (SELECT 1 FROM bxbp_designations WHERE product_id = pid
                   AND revoked_at IS NULL) THEN
            status := 200;
        ELSE
            INSERT INTO bxbp_designations (product_id, county_id, designated_by)
            VALUES (pid, cid, p_admin);
            status := 201;
        END IF;
    ELSE
        UPDATE bxbp_designations SET revoked_at = now(), revoked_by = p_admin
         WHERE product_id = pid AND revoked_at IS NULL;
        status := 200;
    END IF;
    body := json_build_object('product_id', pid, 'bxbp', p_on,
        'county', (SELECT c.code FROM counties c WHERE c.id = cid));
EXCEPTION
    WHEN unique_violation THEN
        status := 409;
        body := json_build_object('code', 'bxbp_taken');
    WHEN check_violation THEN
        status := 422;
        body := json_build_object('code', 'not_poverty_county');
END $function$
;
CREATE OR REPLACE FUNCTION public.campaign_json(cm campaigns, with_products boolean, lim integer, all_named boolean)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT json_build_object('slug', cm.slug, 'title', cm.title,
        'theme', cm.theme, 'starts_at', cm.starts_at, 'ends_at', cm.ends_at,
        'active', now() BETWEEN cm.starts_at AND cm.ends_at,
        'boost_weight', cm.boost_weight, 'match', cm.match,
        -- The best sellers among its products, up to lim; with all_named
        -- every product the campaign names comes first, whatever lim.
        'products', CASE WHEN with_products THEN coalesce((
            SELECT json_agg(product_item_json(x.fact) ORDER BY
                   CASE WHEN all_named THEN x.named END DESC, x.sales DESC, x.id)
            FROM (SELECT f AS fact, f.sales, f.id,
                         EXISTS (SELECT 1 FROM campaign_products cp
                          WHERE cp.campaign_id = cm.id AND cp.product_id = f.id) AS named
                  FROM product_facts f
                  WHERE f.status = 'listed' AND f.qualified
                    AND campaign_matches(cm, f)
                  ORDER BY CASE WHEN all_named THEN EXISTS (SELECT 1
                           FROM campaign_products cp WHERE cp.campaign_id = cm.id
                           AND cp.product_id = f.id) END DESC, f.sales DESC, f.id
                  LIMIT CASE WHEN all_named THEN greatest(lim, (SELECT count(*)
                             FROM campaign_products cp WHERE cp.campaign_id = cm.id))
                        ELSE lim END) x), '[]') END)
$function$
;
CREATE OR REPLACE FUNCTION public.campaign_matches(cm campaigns, f product_facts)
 RETURNS boolean
 LANGUAGE sql
 STABLE
AS $function$
    SELECT EXISTS (SELECT 1 FROM campaign_products cp
                   WHERE cp.campaign_id = cm.id AND cp.product_id = f.id)
        OR (cm.match <> '{}'::jsonb
            AND (NOT cm.match ? 'qualified' OR (cm.match->>'qualified')::boolean = f.qualified)
            AND (NOT cm.match ? 'vendor_kind' OR cm.match->>'vendor_kind' = f.vendor_kind)
            AND (NOT cm.match ? 'region' OR cm.match->>'region' = f.region_code)
            AND (NOT cm.match ? 'poverty_county'
                 OR (cm.match->>'poverty_county')::boolean = f.is_poverty_county)
            AND (NOT cm.match ? 'category' OR cm.match->>'category' = f.category_code)
            AND (NOT cm.match ? 'vendor_id' OR (cm.match->>'vendor_id')::bigint = f.vendor_id)
            AND (NOT cm.match ? 'bxbp' OR (cm.match->>'bxbp')::boolean = f.bxbp)
            AND (NOT cm.match ? 'product_ids' OR cm.match->'product_ids' @> to_jsonb(f.id)))
$function$
;
CREATE OR REPLACE FUNCTION public.campaign_save(p_slug text, p jsonb, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    cm campaigns;
BEGIN
    IF p_slug IS NULL THEN
        INSERT INTO campaigns (slug, title, theme, starts_at, ends_at, match, boost_weight)
        VALUES (p->>'slug', p->>'title', coalesce(p->>'theme', ''),
                (p->>'starts_at')::timestamptz, (p->>'ends_at')::timestamptz,
                coalesce(p->'match', '{}'), coalesce((p->>'boost_weight')::integer, 0))
        RETURNING * INTO cm;
        status := 201;
    ELSE
        UPDATE campaigns SET
            title = coalesce(p->>'title', title),
            theme = coalesce(p->>'theme', theme),
            starts_at = coalesce((p->>'starts_at')::timestamptz, starts_at),
            ends_at = coalesce((p->>'ends_at')::timestamptz, ends_at),
            match = coalesce(p->'match', match),
            boost_weight = coalesce((p->>'boost_weight')::integer, boost_weight)
        WHERE slug = p_slug RETURNING * INTO cm;
        IF NOT FOUND THEN
            status := 404;
            RETURN;
        END IF;
        status := 200;
    END IF;
    IF p ? 'product_ids' THEN
        DELETE FROM campaign_products WHERE campaign_id = cm.id;
        INSERT INTO campaign_products (campaign_id, product_id)
        SELECT DISTINCT cm.id, x::bigint FROM jsonb_array_elements_text(p->'product_ids') x;
    END IF;
    body := campaign_json(cm, true, 100, true);
EXCEPTION
    WHEN unique_violation THEN
        status := 409;
        body := json_build_object('code', 'slug_taken');
    WHEN foreign_key_violation THEN
        status := 422;
        body := json_build_object('code', 'validation_failed',
                                  'detail', 'product_ids: no such product');
    WHEN check_violation OR not_null_violation OR invalid_datetime_format
      OR datetime_field_overflow OR invalid_text_representation THEN
        status := 422;
        body := json_build_object('code', 'validation_failed', 'detail', SQLERRM);
END $function$
;
CREATE OR REPLACE FUNCTION public.cancellation_refund_bps(pid bigint, d date, p_at timestamp with time zone)
 RETURNS integer
 LANGUAGE sql
 STABLE
AS $function$
    SELECT coalesce((SELECT (r->>'refund_bps')::integer
                       FROM cancellation_rules c, jsonb_array_elements(c.rules) r
                      WHERE c.product_id = pid
                        AND d - (p_at AT TIME ZONE 'Asia/Shanghai')::date
                            >= (r->>'days_before')::integer
                      ORDER BY (r->>'days_before')::integer DESC LIMIT 1), 0)
$function$
;
CREATE OR REPLACE FUNCTION public.cap_usage(p_rules bigint[], p_vendors bigint[])
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_object('rule_id', u.rule_id,
        'vendor_id', u.vendor_id, 'waived_fen', u.waived_fen)), '[]')
    FROM unnest(p_rules, p_vendors) AS k(rule_id, vendor_id)
    JOIN fee_cap_usage u ON u.rule_id = k.rule_id AND u.vendor_id = k.vendor_id
     AND u.month = shanghai_month(now()));
END $function$
;
CREATE OR REPLACE FUNCTION public.cart_facts(p_ids bigint[])
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    th integer := credit_threshold();
    today date := (now() AT TIME ZONE 'Asia/Shanghai')::date;
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_object('product_id', p.id,
        'title', p.title, 'vendor_id', p.vendor_id, 'listed', p.status = 'listed',
        'kind', p.kind, 'stock', p.stock, 'list_price_fen', p.price_fen,
        'vendor_name', v.name, 'vendor_kind', v.kind,
        'qualified', v.status = 'approved' AND v.qualified_until IS NOT NULL
                     AND v.qualified_until >= today AND v.credit_score >= th,
        'poverty_county', c.is_poverty_county, 'region', r.code,
        'category', cat.code,
        'tiers', coalesce((SELECT json_agg(json_build_object('min_qty', t.min_qty,
            'unit_price_fen', t.unit_price_fen)) FROM price_tiers t
            WHERE t.product_id = p.id), '[]')) ORDER BY p.id), '[]')
    FROM unnest(p_ids) AS i(id)
    JOIN products p ON p.id = i.id
    JOIN vendors v ON v.id = p.vendor_id
    JOIN counties c ON c.id = v.county_id
    JOIN regions r ON r.id = c.region_id
    JOIN categories cat ON cat.id = p.category_id);
END $function$
;
CREATE OR REPLACE FUNCTION public.checkout_quote(p_items jsonb)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    WITH items AS (
        SELECT (i->>'product_id')::bigint AS product_id,
               sum((i->>'qty')::bigint)::bigint AS qty
        FROM jsonb_array_elements(p_items) i GROUP BY 1
    ), lines AS (
        SELECT i.product_id, i.qty, f.title, f.status = 'listed' AS listed,
               f.stock, f.price_fen AS list_price_fen,
               tier_price(f.id, f.price_fen, i.qty) AS unit_price_fen,
               f.vendor_id, f.vendor_kind, f.qualified,
               f.is_poverty_county AS poverty_county,
               f.region_code AS region, f.category_code AS category
        FROM items i JOIN product_facts f ON f.id = i.product_id
    )
    SELECT json_build_object(
        'now', extract(epoch FROM now())::bigint,
        'lines', coalesce((SELECT json_agg(l ORDER BY l.product_id) FROM lines l), '[]'),
        'rules', coalesce((SELECT json_agg(json_build_object('id', r.id,
                 'name', r.name, 'commission_bps', r.commission_bps,
                 'waiver_bps', r.waiver_bps, 'match', r.match,
                 'cap_fen_per_month', r.cap_fen_per_month,
                 'valid_from', extract(epoch FROM r.valid_from)::bigint,
                 'valid_to', extract(epoch FROM r.valid_to)::bigint,
                 'priority', r.priority) ORDER BY r.id)
                 FROM fee_rules r WHERE r.valid_from <= now()
                   AND (r.valid_to IS NULL OR r.valid_to > now())), '[]'),
        'usage', coalesce((SELECT json_agg(json_build_object('rule_id', u.rule_id,
                 'vendor_id', u.vendor_id, 'waived_fen', u.waived_fen))
                 FROM fee_cap_usage u WHERE u.month = shanghai_month(now())
                   AND u.vendor_id IN (SELECT vendor_id FROM lines)), '[]')));
END $function$
;
CREATE OR REPLACE FUNCTION public.create_payment(p_user bigint, oid bigint, p_provider text, p_key text, p_hash text, p_return text, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    o orders;
    pay payments;
    route constant text := 'POST /orders/' || oid || '/payments';
BEGIN
    SELECT i.status, i.body INTO status, body
      FROM idem_claim(p_user, route, p_key, p_hash) i;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT * INTO o FROM orders WHERE id = oid AND user_id = p_user FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM idem_release(p_user, route, p_key);
        status := 404;
        RETURN;
    END IF;
    IF o.status <> 'pending_payment' OR o.pay_before <= now() THEN
        PERFORM idem_release(p_user, route, p_key);
        status := 409;
        body := json_build_object('code', 'invalid_transition', 'status', o.status);
        RETURN;
    END IF;
    INSERT INTO payments (order_id, user_id, provider, amount_fen, return_url)
    VALUES (oid, p_user, p_provider, o.total_fen, p_return) RETURNING * INTO pay;
    status := 201;
    body := payment_json(pay);
    PERFORM idem_store(p_user, route, p_key, status, body);
END $function$
;
CREATE OR REPLACE FUNCTION public.credit_event_json(e credit_events)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT json_build_object('id', e.id, 'kind', e.kind, 'points', e.points,
        'note', e.note, 'score_after', e.score_after,
        'level_after', credit_level(e.score_after), 'created_at', e.created_at)
$function$
;
CREATE OR REPLACE FUNCTION public.credit_level(score integer)
 RETURNS text
 LANGUAGE sql
 IMMUTABLE
AS $function$
    SELECT CASE WHEN score >= 90 THEN 'A' WHEN score >= 75 THEN 'B'
                WHEN score >= 60 THEN 'C' ELSE 'D' END
$function$
;
CREATE OR REPLACE FUNCTION public.credit_threshold()
 RETURNS integer
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT value::integer FROM settings WHERE key = 'credit_threshold');
END $function$
;
CREATE OR REPLACE FUNCTION public.expire_orders(p_omap jsonb, p_pmap jsonb, p_limit integer)
 RETURNS integer
 LANGUAGE sql
AS $function$
    SELECT json_array_length(expire_orders_restocked(p_omap, p_pmap, p_limit))
$function$
;
CREATE OR REPLACE FUNCTION public.expire_orders_restocked(p_omap jsonb, p_pmap jsonb, p_limit integer)
 RETURNS json
 LANGUAGE plpgsql
AS $function$
DECLARE
    oid bigint;
    moved bigint[] := '{}';
BEGIN
    FOR oid IN SELECT id FROM orders
                WHERE status = 'pending_payment' AND pay_before < now()
                ORDER BY pay_before LIMIT p_limit FOR UPDATE SKIP LOCKED
    LOOP
        IF order_move(oid, 'expire', p_omap, p_pmap, NULL) IS NOT NULL THEN
            moved := moved || oid;
        END IF;
    END LOOP;
    IF cardinality(moved) = 0 THEN
        RETURN '[]'::json;
    END IF;
    -- One restock for the batch, locking its products in id order.
    PERFORM order_restock_all(moved, false);
    RETURN (SELECT json_agg(json_build_object('product_id', product_id)
                            ORDER BY product_id)
              FROM (SELECT DISTINCT product_id FROM order_lines
                     WHERE order_id = ANY (moved)) l);
END $function$
;
CREATE OR REPLACE FUNCTION public.fee_rule_json(r fee_rules)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT json_build_object('id', r.id, 'name', r.name,
        'commission_bps', r.commission_bps, 'waiver_bps', r.waiver_bps,
        'match', r.match, 'cap_fen_per_month', r.cap_fen_per_month,
        'valid_from', r.valid_from, 'valid_to', r.valid_to,
        'priority', r.priority, 'updated_at', r.updated_at)
$function$
;
CREATE OR REPLACE FUNCTION public.fee_rule_save(p_id bigint, p jsonb, p_admin bigint, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    r fee_rules;
BEGIN
    IF p_id IS NULL THEN
        INSERT INTO fee_rules (name, commission_bps, waiver_bps, match,
            cap_fen_per_month, valid_from, valid_to, priority, created_by)
        VALUES (p->>'name', (p->>'commission_bps')::integer,
            coalesce((p->>'waiver_bps')::integer, 0), coalesce(p->'match', '{}'),
            (p->>'cap_fen_per_month')::bigint,
            coalesce((p->>'valid_from')::timestamptz, now()),
            (p->>'valid_to')::timestamptz, coalesce((p->>'priority')::integer, 0),
            p_admin)
        RETURNING * INTO r;
        status := 201;
    ELSE
        UPDATE fee_rules SET
            name = CASE WHEN p ? 'name' THEN p->>'name' ELSE name END,
            commission_bps = CASE WHEN p ? 'commission_bps'
                THEN (p->>'commission_bps')::integer ELSE commission_bps END,
            waiver_bps = CASE WHEN p ? 'waiver_bps'
                THEN (p->>'waiver_bps')::integer ELSE waiver_bps END,
            match = CASE WHEN p ? 'match' THEN p->'match' ELSE match END,
            cap_fen_per_month = CASE WHEN p ? 'cap_fen_per_month'
                THEN (p->>'cap_fen_per_month')::bigint ELSE cap_fen_per_month END,
            valid_from = CASE WHEN p ? 'valid_from'
                THEN (p->>'valid_from')::timestamptz ELSE valid_from END,
            valid_to = CASE WHEN p ? 'valid_to'
                THEN (p->>'valid_to')::timestamptz ELSE valid_to END,
            priority = CASE WHEN p ? 'priority'
                THEN (p->>'priority')::integer ELSE priority END,
            updated_at = now()
        WHERE id = p_id RETURNING * INTO r;
        IF NOT FOUND THEN
            status := 404;
            RETURN;
        END IF;
        status := 200;
    END IF;
    INSERT INTO fee_rule_history (rule_id, changed_by, snapshot)
    VALUES (r.id, p_admin, to_jsonb(r));
    body := fee_rule_json(r);
EXCEPTION WHEN check_violation OR invalid_datetime_format OR datetime_field_overflow THEN
    status := 422;
    body := json_build_object('code', 'validation_failed', 'detail', SQLERRM);
END $function$
;
CREATE OR REPLACE FUNCTION public.fee_rules_live()
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_object('id', r.id,
        'name', r.name, 'commission_bps', r.commission_bps,
        'waiver_bps', r.waiver_bps, 'match', r.match,
        'cap_fen_per_month', r.cap_fen_per_month,
        'valid_from', extract(epoch FROM r.valid_from)::bigint,
        'valid_to', extract(epoch FROM r.valid_to)::bigint,
        'priority', r.priority) ORDER BY r.id), '[]')
    FROM fee_rules r WHERE r.valid_to IS NULL OR r.valid_to > now());
END $function$
;
CREATE OR REPLACE FUNCTION public.idem_claim(p_user bigint, p_route text, p_key text, p_hash text, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF p_key IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO idempotency_keys (user_id, route, key, request_hash)
    VALUES (p_user, p_route, p_key, p_hash) ON CONFLICT DO NOTHING;
    IF FOUND THEN
        RETURN;
    END IF;
    SELECT l.status, l.body INTO status, body
      FROM idem_lookup(p_user, p_route, p_key, p_hash) l;
    IF status IS NULL THEN
        status := 409;
        body := json_build_object('code', 'idempotency_in_progress');
    END IF;
END $function$
;
CREATE OR REPLACE FUNCTION public.idem_lookup(p_user bigint, p_route text, p_key text, p_hash text, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    k idempotency_keys;
BEGIN
    SELECT * INTO k FROM idempotency_keys
     WHERE user_id = p_user AND route = p_route AND key = p_key;
    IF NOT FOUND OR k.status = 0 THEN
        RETURN;
    END IF;
    IF k.request_hash <> p_hash THEN
        status := 422;
        body := json_build_object('code', 'idempotency_key_reused');
        RETURN;
    END IF;
    status := k.status;
    body := k.response;
END $function$
;
CREATE OR REPLACE FUNCTION public.idem_release(p_user bigint, p_route text, p_key text)
 RETURNS void
 LANGUAGE sql
AS $function$
    DELETE FROM idempotency_keys
     WHERE user_id = p_user AND route = p_route AND key = p_key AND status = 0
$function$
;
CREATE OR REPLACE FUNCTION public.idem_store(p_user bigint, p_route text, p_key text, p_status integer, p_body json)
 RETURNS void
 LANGUAGE sql
AS $function$
    UPDATE idempotency_keys SET status = p_status, response = p_body
     WHERE user_id = p_user AND route = p_route AND key = p_key
$function$
;
CREATE OR REPLACE FUNCTION public.invitation_answer(p_user bigint, p_id bigint, p_accept boolean, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    inv org_invitations;
BEGIN
    SELECT * INTO inv FROM org_invitations
     WHERE id = (SELECT m.id FROM my_invitations(p_user) m WHERE m.id = p_id)
       FOR UPDATE;
    IF NOT FOUND OR inv.status <> 'pending' THEN
        status := 404;
        body := org_err('not_found', 'no such invitation');
        RETURN;
    END IF;
    UPDATE org_invitations SET status = CASE WHEN p_accept THEN 'accepted' ELSE 'declined' END,
           answered_at = now(), answered_by = p_user
     WHERE id = inv.id RETURNING * INTO inv;
    IF p_accept THEN
        INSERT INTO org_members (org_id, user_id, role, added_by)
        VALUES (inv.org_id, p_user, inv.role, inv.invited_by) ON CONFLICT DO NOTHING;
    END IF;
    status := 200;
    body := (invitation_json(inv)::jsonb || jsonb_build_object('my_roles',
        coalesce(to_jsonb(org_roles(p_user, inv.org_id)), '[]')))::json;
END $function$
;
CREATE OR REPLACE FUNCTION public.invitation_json(i org_invitations)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT json_build_object('id', i.id,
        'org', (SELECT json_build_object('id', o.id, 'name', o.name, 'kind', o.kind)
                  FROM orgs o WHERE o.id = i.org_id),
        'role', i.role, 'invited_by', user_brief(i.invited_by),
        'status', i.status, 'created_at', i.created_at,
        'expires_at', i.created_at + invitation_ttl())
$function$
;
CREATE OR REPLACE FUNCTION public.invitation_ttl()
 RETURNS interval
 LANGUAGE sql
 IMMUTABLE
AS $function$ SELECT interval '14 days' $function$
;
CREATE OR REPLACE FUNCTION public.ledger_flip(before numeric, added numeric)
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE
AS $function$
    SELECT (before + added > 0)::integer - (before > 0)::integer
$function$
;
CREATE OR REPLACE FUNCTION public.ledger_group_label(p_group text, k bigint, OUT o_key json, OUT o_name text)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    CASE p_group
    WHEN 'region' THEN
        SELECT to_json(r.code), r.name INTO o_key, o_name FROM regions r WHERE r.id = k;
    WHEN 'county' THEN
        SELECT to_json(c.code), c.name INTO o_key, o_name FROM counties c WHERE c.id = k;
    WHEN 'category' THEN
        SELECT to_json(c.code), c.name INTO o_key, o_name FROM categories c WHERE c.id = k;
    WHEN 'vendor' THEN
        o_key := to_json(k);
        SELECT v.name INTO o_name FROM vendors v WHERE v.id = k;
    WHEN 'org' THEN
        o_key := to_json(k);
        IF k IS NULL THEN
            o_name := '个人消费者';
        ELSIF to_regclass('orgs') IS NOT NULL THEN
            BEGIN
                EXECUTE 'SELECT name FROM orgs WHERE id = $1' INTO o_name USING k;
            EXCEPTION WHEN undefined_column OR undefined_table THEN
                o_name := NULL;
            END;
        END IF;
    ELSE
        o_key := to_json(format('%s-%s', k / 100, lpad((k % 100)::text, 2, '0')));
        o_name := format('%s年%s月', k / 100, k % 100);
    END CASE;
    IF o_key IS NULL AND k IS NOT NULL THEN
        o_key := to_json(k);
    END IF;
    o_name := coalesce(o_name, '#' || k);
END $function$
;
CREATE OR REPLACE FUNCTION public.ledger_immutable()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.synthetic
           AND current_setting('bangfu.ledger_purge', true) = 'synthetic' THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'ledger entries are never changed (%): post a reversing entry', TG_OP
        USING ERRCODE = 'restrict_violation';
END $function$
;
CREATE OR REPLACE FUNCTION public.ledger_on_part()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF current_setting('bangfu.ledger_deferred', true) = 'on' THEN
        RETURN NULL;
    END IF;
    IF NEW.status IN ('paid', 'shipped') AND OLD.status NOT IN ('paid', 'shipped') THEN
        PERFORM ledger_write(NEW.id, 'sale', now());
    ELSIF OLD.status IN ('paid', 'shipped') AND NEW.status NOT IN ('paid', 'shipped') THEN
        PERFORM ledger_write(NEW.id, 'refund', now());
    END IF;
    RETURN NULL;
END $function$
;
CREATE OR REPLACE FUNCTION public.ledger_summary(p_from date, p_to date)
 RETURNS SETOF ledger_daily
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    -- Whole months are [m_from, m_end): none when m_from >= m_end.
    m_from date := (date_trunc('month', p_from - 1) + interval '1 month')::date;
    m_end date := date_trunc('month', p_to + 1)::date;
BEGIN
    RETURN QUERY
    SELECT * FROM ledger_monthly m WHERE m.day >= m_from AND m.day < m_end
    UNION ALL
    SELECT * FROM ledger_daily d
    WHERE d.day BETWEEN p_from AND least(p_to, m_from - 1)
    UNION ALL
    SELECT * FROM ledger_daily d
    WHERE d.day BETWEEN greatest(m_end, m_from) AND p_to;
END $function$
;
CREATE OR REPLACE FUNCTION public.ledger_summary_add()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    INSERT INTO ledger_daily AS d
    SELECT a.day, a.region_id, a.county_id, a.vendor_id, a.category_id,
           a.org_id, a.synthetic,
           sum(CASE WHEN a.qty > 0 THEN 1 WHEN a.qty < 0 THEN -1 ELSE 0 END), sum(a.amount_fen),
           coalesce(sum(a.amount_fen) FILTER (WHERE a.poverty_county), 0),
           coalesce(sum(a.amount_fen) FILTER (WHERE a.vendor_qualified), 0),
           coalesce(sum(a.amount_fen) FILTER (WHERE a.bxbp), 0),
           sum(a.orders_delta), sum(a.region_orders_delta),
           sum(a.county_orders_delta), sum(a.vendor_orders_delta),
           sum(a.category_orders_delta), max(a.households_linked)
    FROM added a
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (day, region_id, county_id, vendor_id, category_id, org_id,
                 synthetic) DO UPDATE SET
        lines = d.lines + EXCLUDED.lines,
        gmv_fen = d.gmv_fen + EXCLUDED.gmv_fen,
        poverty_county_gmv_fen = d.poverty_county_gmv_fen + EXCLUDED.poverty_county_gmv_fen,
        qualified_vendor_gmv_fen = d.qualified_vendor_gmv_fen + EXCLUDED.qualified_vendor_gmv_fen,
        bxbp_gmv_fen = d.bxbp_gmv_fen + EXCLUDED.bxbp_gmv_fen,
        orders = d.orders + EXCLUDED.orders,
        region_orders = d.region_orders + EXCLUDED.region_orders,
        county_orders = d.county_orders + EXCLUDED.county_orders,
        vendor_orders = d.vendor_orders + EXCLUDED.vendor_orders,
        category_orders = d.category_orders + EXCLUDED.category_orders,
        households_linked = greatest(d.households_linked, EXCLUDED.households_linked);

    INSERT INTO ledger_monthly AS m
    SELECT date_trunc('month', a.day)::date, a.region_id, a.county_id,
           a.vendor_id, a.category_id, a.org_id, a.synthetic,
           sum(CASE WHEN a.qty > 0 THEN 1 WHEN a.qty < 0 THEN -1 ELSE 0 END), sum(a.amount_fen),
           coalesce(sum(a.amount_fen) FILTER (WHERE a.poverty_county), 0),
           coalesce(sum(a.amount_fen) FILTER (WHERE a.vendor_qualified), 0),
           coalesce(sum(a.amount_fen) FILTER (WHERE a.bxbp), 0),
           sum(a.orders_delta), sum(a.region_orders_delta),
           sum(a.county_orders_delta), sum(a.vendor_orders_delta),
           sum(a.category_orders_delta), max(a.households_linked)
    FROM added a
    GROUP BY 1, 2, 3, 4, 5, 6, 7
    ORDER BY 1, 2, 3, 4, 5, 6, 7
    ON CONFLICT (day, region_id, county_id, vendor_id, category_id, org_id,
                 synthetic) DO UPDATE SET
        lines = m.lines + EXCLUDED.lines,
        gmv_fen = m.gmv_fen + EXCLUDED.gmv_fen,
        poverty_county_gmv_fen = m.poverty_county_gmv_fen + EXCLUDED.poverty_county_gmv_fen,
        qualified_vendor_gmv_fen = m.qualified_vendor_gmv_fen + EXCLUDED.qualified_vendor_gmv_fen,
        bxbp_gmv_fen = m.bxbp_gmv_fen + EXCLUDED.bxbp_gmv_fen,
        orders = m.orders + EXCLUDED.orders,
        region_orders = m.region_orders + EXCLUDED.region_orders,
        county_orders = m.county_orders + EXCLUDED.county_orders,
        vendor_orders = m.vendor_orders + EXCLUDED.vendor_orders,
        category_orders = m.category_orders + EXCLUDED.category_orders,
        households_linked = greatest(m.households_linked, EXCLUDED.households_linked);
    RETURN NULL;
END $function$
;
CREATE OR REPLACE FUNCTION public.ledger_summary_rebuild()
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
    t record;
BEGIN
    LOCK TABLE ledger_entries IN SHARE MODE;
    FOR t IN SELECT * FROM (VALUES ('ledger_daily', 'day'),
                 ('ledger_monthly', 'date_trunc(''month'', day)::date')) v(tab, bucket)
    LOOP
        EXECUTE format('DELETE FROM %I', t.tab);
        EXECUTE format($q$
            INSERT INTO %I
            SELECT %s, region_id, county_id, vendor_id, category_id, org_id,
                   synthetic, sum(CASE WHEN qty > 0 THEN 1 WHEN qty < 0 THEN -1 ELSE 0 END),
                   sum(amount_fen),
                   coalesce(sum(amount_fen) FILTER (WHERE poverty_county), 0),
                   coalesce(sum(amount_fen) FILTER (WHERE vendor_qualified), 0),
                   coalesce(sum(amount_fen) FILTER (WHERE bxbp), 0),
                   sum(orders_delta), sum(region_orders_delta),
                   sum(county_orders_delta), sum(vendor_orders_delta),
                   sum(category_orders_delta), max(households_linked)
            FROM ledger_entries GROUP BY 1, 2, 3, 4, 5, 6, 7 $q$, t.tab, t.bucket);
    END LOOP;
END $function$
;
CREATE OR REPLACE FUNCTION public.ledger_write(p_part bigint, p_kind text, p_at timestamp with time zone)
 RETURNS integer
 LANGUAGE sql
AS $function$
    SELECT ledger_write_parts(ARRAY[p_part], p_kind, p_at)
$function$
;
CREATE OR REPLACE FUNCTION public.ledger_write_parts(p_parts bigint[], p_kind text, p_at timestamp with time zone)
 RETURNS integer
 LANGUAGE plpgsql
AS $function$
DECLARE
    n integer;
BEGIN
    IF cardinality(p_parts) = 0 THEN
        RETURN 0;
    END IF;
    WITH fresh AS MATERIALIZED (
        SELECT l.id AS line_id, l.order_id, l.part_id, l.product_id, l.qty,
               l.line_total_fen AS amount, c.region_id, c.id AS county_id,
               c.is_poverty_county AS poverty_county, v.id AS vendor_id,
               vendor_qualified(v.status, v.qualified_until, v.credit_score)
                   AS vendor_qualified,
               EXISTS (SELECT 1 FROM bxbp_designations b
                       WHERE b.product_id = l.product_id
                         AND b.revoked_at IS NULL) AS bxbp,
               pr.category_id, o.user_id, o.org_id,
               v.poor_households_linked AS households_linked
        FROM order_parts p
        JOIN orders o ON o.id = p.order_id
        JOIN order_lines l ON l.part_id = p.id
        JOIN products pr ON pr.id = l.product_id
        JOIN vendors v ON v.id = p.vendor_id
        JOIN counties c ON c.id = v.county_id
        WHERE p_kind = 'sale' AND p.id = ANY (p_parts)
          AND NOT EXISTS (SELECT 1 FROM ledger_entries e
                          WHERE e.order_line_id = l.id AND e.kind = 'sale')
        UNION ALL
        SELECT e.order_line_id, e.order_id, e.part_id, e.product_id,
               CASE WHEN x.refund IS NULL OR x.refund >= e.amount_fen
                    THEN -e.qty ELSE 0 END,
               -least(coalesce(x.refund, e.amount_fen), e.amount_fen),
               e.region_id, e.county_id, e.poverty_county,
               e.vendor_id, e.vendor_qualified, e.bxbp, e.category_id,
               e.user_id, e.org_id, e.households_linked
        FROM (SELECT p.id, p.order_id, order_partial_refund(p.order_id) AS refund
              FROM order_parts p
              WHERE p_kind = 'refund' AND p.id = ANY (p_parts)) x
        JOIN ledger_entries e ON e.order_id = x.order_id AND e.part_id = x.id
        WHERE e.kind = 'sale'
          AND coalesce(x.refund, 1) <> 0
          AND NOT EXISTS (SELECT 1 FROM ledger_entries r
                          WHERE r.order_line_id = e.order_line_id
                            AND r.kind = 'refund')
    ), prior AS MATERIALIZED (
        SELECT e.order_id, e.region_id, e.county_id, e.vendor_id,
               e.category_id, e.amount_fen
        FROM ledger_entries e
        WHERE e.order_id IN (SELECT DISTINCT f.order_id FROM fresh f)
    ), w AS (
        SELECT f.*,
               row_number() OVER (PARTITION BY f.order_id ORDER BY f.line_id) AS n_all,
               sum(f.amount) OVER (PARTITION BY f.order_id) AS a_all,
               row_number() OVER (PARTITION BY f.order_id, f.region_id ORDER BY f.line_id) AS n_region,
               sum(f.amount) OVER (PARTITION BY f.order_id, f.region_id) AS a_region,
               row_number() OVER (PARTITION BY f.order_id, f.county_id ORDER BY f.line_id) AS n_county,
               sum(f.amount) OVER (PARTITION BY f.order_id, f.county_id) AS a_county,
               row_number() OVER (PARTITION BY f.order_id, f.vendor_id ORDER BY f.line_id) AS n_vendor,
               sum(f.amount) OVER (PARTITION BY f.order_id, f.vendor_id) AS a_vendor,
               row_number() OVER (PARTITION BY f.order_id, f.category_id ORDER BY f.line_id) AS n_category,
               sum(f.amount) OVER (PARTITION BY f.order_id, f.category_id) AS a_category
        FROM fresh f
    )
    INSERT INTO ledger_entries (kind, order_line_id, order_id, part_id,
        product_id, qty, amount_fen, at, region_id, county_id, poverty_county,
        vendor_id, vendor_qualified, bxbp, category_id, user_id, org_id,
        households_linked, orders_delta, region_orders_delta,
        county_orders_delta, vendor_orders_delta, category_orders_delta)
    SELECT p_kind, w.line_id, w.order_id, w.part_id, w.product_id, w.qty,
           w.amount, p_at, w.region_id, w.county_id, w.poverty_county,
           w.vendor_id, w.vendor_qualified, w.bxbp, w.category_id, w.user_id,
           w.org_id, w.households_linked,
           CASE WHEN w.n_all = 1 THEN ledger_flip(
               (SELECT coalesce(sum(p.amount_fen), 0) FROM prior p
                WHERE p.order_id = w.order_id), w.a_all) ELSE 0 END,
           CASE WHEN w.n_region = 1 THEN ledger_flip(
               (SELECT coalesce(sum(p.amount_fen), 0) FROM prior p
                WHERE p.order_id = w.order_id AND p.region_id = w.region_id),
               w.a_region) ELSE 0 END,
           CASE WHEN w.n_county = 1 THEN ledger_flip(
               (SELECT coalesce(sum(p.amount_fen), 0) FROM prior p
                WHERE p.order_id = w.order_id AND p.county_id = w.county_id),
               w.a_county) ELSE 0 END,
           CASE WHEN w.n_vendor = 1 THEN ledger_flip(
               (SELECT coalesce(sum(p.amount_fen), 0) FROM prior p
                WHERE p.order_id = w.order_id AND p.vendor_id = w.vendor_id),
               w.a_vendor) ELSE 0 END,
           CASE WHEN w.n_category = 1 THEN ledger_flip(
               (SELECT coalesce(sum(p.amount_fen), 0) FROM prior p
                WHERE p.order_id = w.order_id AND p.category_id = w.category_id),
               w.a_category) ELSE 0 END
    FROM w ORDER BY w.line_id
    ON CONFLICT (order_line_id, kind) WHERE order_line_id IS NOT NULL DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $function$
;
CREATE OR REPLACE FUNCTION public.line_booked(oid bigint, pid bigint)
 RETURNS boolean
 LANGUAGE sql
 STABLE
AS $function$
    SELECT EXISTS (SELECT 1 FROM bookings b JOIN service_sessions s ON s.id = b.session_id
                    WHERE b.order_id = oid AND s.product_id = pid)
$function$
;
CREATE OR REPLACE FUNCTION public.line_kept_fen(oid bigint, p_total bigint)
 RETURNS bigint
 LANGUAGE sql
 STABLE
AS $function$
    SELECT coalesce(greatest(p_total - order_partial_refund(oid), 0), 0)
$function$
;
CREATE OR REPLACE FUNCTION public.my_invitations(p_user bigint)
 RETURNS SETOF org_invitations
 LANGUAGE sql
 STABLE
AS $function$
    SELECT i.* FROM org_invitations i JOIN users u ON i.email = lower(u.email)
     WHERE u.id = p_user AND i.status = 'pending'
       AND i.created_at > now() - invitation_ttl()
       AND EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = i.org_id
                    AND m.user_id = i.invited_by AND m.role = 'admin')
$function$
;
CREATE OR REPLACE FUNCTION public.new_trace_code()
 RETURNS text
 LANGUAGE plpgsql
AS $function$
DECLARE
    alphabet constant text := 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
    b bytea := gen_random_bytes(16);
    out text := '';
BEGIN
    FOR i IN 0..15 LOOP
        out := out || substr(alphabet, (get_byte(b, i) % 32) + 1, 1);
    END LOOP;
    RETURN out;
END $function$
;
CREATE OR REPLACE FUNCTION public.order_action(p_user bigint, oid bigint, p_event text, p_omap jsonb, p_pmap jsonb, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    was text;
BEGIN
    PERFORM 1 FROM orders WHERE id = oid AND user_id = p_user FOR UPDATE;
    IF NOT FOUND THEN
        status := 404;
        RETURN;
    END IF;
    IF p_event = 'cancel' AND EXISTS (SELECT 1 FROM bookings b WHERE b.order_id = oid)
       AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = oid
                        AND o.bulk_order_id IS NOT NULL) THEN
        was := booking_cancel_order(oid, p_user, p_omap, p_pmap);
    ELSE
        was := order_move(oid, p_event, p_omap, p_pmap, p_user);
        IF was IS NOT NULL AND p_event = 'cancel' THEN
            PERFORM order_restock(oid, was = 'paid');
            IF was = 'paid' THEN
                PERFORM order_refund(oid, 'cancelled by buyer');
            END IF;
        END IF;
    END IF;
    IF was IS NULL THEN
        status := 409;
        body := json_build_object('code', 'invalid_transition',
                                  'status', (SELECT o.status FROM orders o WHERE o.id = oid));
        RETURN;
    END IF;
    status := 200;
    body := order_json(oid);
END $function$
;
CREATE OR REPLACE FUNCTION public.order_booking_id(oid bigint)
 RETURNS bigint
 LANGUAGE sql
 STABLE
AS $function$
    SELECT min(b.id) FROM bookings b WHERE b.order_id = oid
$function$
;
CREATE OR REPLACE FUNCTION public.order_json(oid bigint)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT json_build_object('id', o.id, 'order_no', o.order_no,
        'status', o.status, 'total_fen', o.total_fen,
        'address', o.address, 'note', o.note,
        'pay_before', o.pay_before, 'paid_at', o.paid_at,
        'created_at', o.created_at, 'bulk_order_id', o.bulk_order_id,
        'booking_id', order_booking_id(o.id),
        'parts', coalesce((SELECT json_agg(json_build_object(
            'id', p.id, 'vendor_id', p.vendor_id,
            'vendor_name', (SELECT v.name FROM vendors v WHERE v.id = p.vendor_id),
            'status', p.status, 'subtotal_fen', p.subtotal_fen,
            'fee_fen', p.fee_fen, 'fee_waived_fen', p.fee_waived_fen,
            'shipped_at', p.shipped_at,
            'shipments', coalesce((SELECT json_agg(json_build_object(
                'carrier', s.carrier, 'tracking_no', s.tracking_no,
                'recipient_id', s.recipient_id, 'shipped_at', s.shipped_at)
                ORDER BY s.id) FROM shipments s WHERE s.part_id = p.id), '[]'),
            'items', (SELECT json_agg(json_build_object(
                'product_id', l.product_id,
                'title', (SELECT pr.title FROM products pr WHERE pr.id = l.product_id),
                'qty', l.qty, 'unit_price_fen', l.unit_price_fen,
                'line_total_fen', l.line_total_fen, 'fee_fen', l.fee_fen,
                'fee_waived_fen', l.fee_waived_fen, 'fee_rule_id', l.fee_rule_id,
                'recipient_id', l.recipient_id)
                ORDER BY l.id) FROM order_lines l WHERE l.part_id = p.id))
            ORDER BY p.id) FROM order_parts p WHERE p.order_id = o.id), '[]'))
    FROM orders o WHERE o.id = oid);
END $function$
;
CREATE OR REPLACE FUNCTION public.order_move(oid bigint, p_event text, p_omap jsonb, p_pmap jsonb, p_actor bigint)
 RETURNS text
 LANGUAGE plpgsql
AS $function$
DECLARE
    o orders;
    nxt text;
BEGIN
    SELECT * INTO o FROM orders WHERE id = oid FOR UPDATE;
    nxt := p_omap->>o.status;
    IF nxt IS NULL THEN
        RETURN NULL;
    END IF;
    IF p_pmap <> '{}'::jsonb AND EXISTS (SELECT 1 FROM order_parts
            WHERE order_id = oid AND NOT p_pmap ? status) THEN
        RETURN NULL;
    END IF;
    INSERT INTO order_events (order_id, part_id, event, from_status, to_status, actor_id)
    SELECT oid, id, p_event, status, p_pmap->>status, p_actor
      FROM order_parts WHERE order_id = oid AND p_pmap ? status;
    UPDATE order_parts SET status = p_pmap->>status
     WHERE order_id = oid AND p_pmap ? status;
    UPDATE orders SET status = nxt, updated_at = now(),
        paid_at = CASE WHEN nxt = 'paid' THEN now() ELSE paid_at END,
        closed_at = CASE WHEN nxt IN ('completed', 'cancelled', 'refunded')
                         THEN now() ELSE closed_at END
     WHERE id = oid;
    INSERT INTO order_events (order_id, event, from_status, to_status, actor_id)
    VALUES (oid, p_event, o.status, nxt, p_actor);
    RETURN o.status;
END $function$
;
CREATE OR REPLACE FUNCTION public.order_partial_refund(oid bigint)
 RETURNS bigint
 LANGUAGE sql
 STABLE
AS $function$
    SELECT b.refund_fen FROM bookings b JOIN orders o ON o.id = b.order_id
     WHERE b.order_id = oid AND o.bulk_order_id IS NULL
       AND b.refund_fen IS NOT NULL AND NOT b.ledger_full_reversal
     ORDER BY b.id LIMIT 1
$function$
;
CREATE OR REPLACE FUNCTION public.order_refund(oid bigint, p_reason text)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
    pay payments;
BEGIN
    SELECT * INTO pay FROM payments WHERE order_id = oid AND status = 'succeeded'
     ORDER BY id LIMIT 1 FOR UPDATE;
    IF FOUND THEN
        UPDATE payments SET status = 'refunded' WHERE id = pay.id;
        INSERT INTO refunds (payment_id, order_id, amount_fen, status, reason)
        VALUES (pay.id, oid, pay.amount_fen, 'succeeded', p_reason);
    END IF;
END $function$
;
CREATE OR REPLACE FUNCTION public.order_restock(oid bigint, was_paid boolean)
 RETURNS void
 LANGUAGE sql
AS $function$
    SELECT order_restock_all(ARRAY[oid], was_paid)
$function$
;
CREATE OR REPLACE FUNCTION public.order_restock_all(oids bigint[], was_paid boolean)
 RETURNS void
 LANGUAGE plpgsql
AS $function$
DECLARE
    ids bigint[];   -- the products restocked, in id order
    qtys bigint[];  -- the quantity of each, beside it
BEGIN
    SELECT array_agg(l.product_id ORDER BY l.product_id),
           array_agg(l.qty ORDER BY l.product_id)
      INTO ids, qtys
      FROM (SELECT product_id, sum(qty) AS qty FROM order_lines l
            WHERE l.order_id = ANY (oids) AND NOT line_booked(l.order_id, l.product_id)
            GROUP BY product_id) l;
    IF ids IS NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM products WHERE id = ANY (ids) ORDER BY id FOR UPDATE;
    UPDATE products p SET stock = p.stock + x.qty, updated_at = now()
      FROM unnest(ids, qtys) x(id, qty) WHERE p.id = x.id;
    IF was_paid THEN
        PERFORM 1 FROM product_sales WHERE product_id = ANY (ids)
          ORDER BY product_id FOR UPDATE;
        UPDATE product_sales s SET sales = greatest(s.sales - x.qty, 0)
          FROM unnest(ids, qtys) x(id, qty) WHERE s.product_id = x.id;
    END IF;
END $function$
;
CREATE OR REPLACE FUNCTION public.org_access(p_user bigint, p_org bigint, p_need text[], OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    r text[] := org_roles(p_user, p_org);
BEGIN
    IF r IS NULL THEN
        status := 404;
        body := org_err('not_found', 'no such organisation');
    ELSIF cardinality(p_need) > 0 AND NOT r && p_need THEN
        status := 403;
        body := org_err('forbidden', 'this needs the role ' ||
                        array_to_string(p_need, ' or ') || ' in the organisation');
    END IF;
END $function$
;
CREATE OR REPLACE FUNCTION public.org_create(p_user bigint, p_name text, p_kind text, p_code text, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    oid bigint;
BEGIN
    INSERT INTO orgs (name, kind, credit_code, created_by)
    VALUES (p_name, p_kind, p_code, p_user)
    ON CONFLICT (credit_code) DO NOTHING RETURNING id INTO oid;
    IF oid IS NULL THEN
        status := 409;
        body := org_err('credit_code_taken',
            'an organisation with this credit code is already registered');
        RETURN;
    END IF;
    INSERT INTO org_members (org_id, user_id, role, added_by)
    VALUES (oid, p_user, 'admin', p_user);
    status := 201;
    body := org_json(oid, p_user);
END $function$
;
CREATE OR REPLACE FUNCTION public.org_err(p_code text, p_detail text, p_errors jsonb DEFAULT NULL::jsonb)
 RETURNS json
 LANGUAGE sql
 IMMUTABLE
AS $function$
    SELECT CASE WHEN p_errors IS NULL
        THEN json_build_object('code', p_code, 'detail', p_detail)
        ELSE json_build_object('code', p_code, 'detail', p_detail, 'errors', p_errors) END
$function$
;
CREATE OR REPLACE FUNCTION public.org_invite(p_user bigint, p_org bigint, p_email text, p_role text, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
#variable_conflict use_column
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{admin}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    INSERT INTO org_invitations AS i (org_id, email, role, invited_by)
    VALUES (p_org, lower(p_email), p_role, p_user)
    ON CONFLICT (org_id, email, role) WHERE status = 'pending'
    DO UPDATE SET invited_by = EXCLUDED.invited_by, created_at = now();
    status := 202;
    body := json_build_object('status', 'invited');
END $function$
;
CREATE OR REPLACE FUNCTION public.org_json(p_org bigint, p_user bigint)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT json_build_object('id', o.id, 'name', o.name, 'kind', o.kind,
        'credit_code', o.credit_code, 'created_at', o.created_at,
        'my_roles', coalesce(to_json(org_roles(p_user, o.id)), '[]'),
        'members', coalesce((SELECT json_agg(json_build_object(
                'user_id', u.id, 'email', u.email, 'name', u.name,
                'roles', m.roles) ORDER BY u.id)
            FROM (SELECT user_id, array_agg(role ORDER BY role) AS roles
                  FROM org_members WHERE org_id = o.id GROUP BY user_id) m
            JOIN users u ON u.id = m.user_id), '[]'),
        'plans', coalesce((SELECT json_agg(plan_json(p) ORDER BY p.year DESC)
            FROM procurement_plans p WHERE p.org_id = o.id), '[]'))
    FROM orgs o WHERE o.id = p_org);
END $function$
;
CREATE OR REPLACE FUNCTION public.org_member_remove(p_user bigint, p_org bigint, p_target bigint, p_role text, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    mine text[];
    theirs text[];
BEGIN
    PERFORM 1 FROM orgs WHERE id = p_org FOR UPDATE;
    mine := org_roles(p_user, p_org);
    IF mine IS NULL THEN
        status := 404;
        body := org_err('not_found', 'no such organisation');
        RETURN;
    END IF;
    IF NOT (p_role IS NULL AND p_target = p_user) AND NOT 'admin' = ANY (mine) THEN
        status := 403;
        body := org_err('forbidden', 'this needs the role admin in the organisation');
        RETURN;
    END IF;
    theirs := org_roles(p_target, p_org);
    IF theirs IS NULL OR (p_role IS NOT NULL AND NOT p_role = ANY (theirs)) THEN
        status := 404;
        body := org_err('not_found', CASE WHEN theirs IS NULL THEN 'no such member'
                                          ELSE 'the member does not hold this role' END);
        RETURN;
    END IF;
    IF 'admin' = ANY (theirs) AND coalesce(p_role, 'admin') = 'admin'
       AND NOT EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = p_org
                        AND m.role = 'admin' AND m.user_id <> p_target) THEN
        status := 409;
        body := org_err('last_admin', 'the organisation''s last admin cannot be removed');
        RETURN;
    END IF;
    DELETE FROM org_members WHERE org_id = p_org AND user_id = p_target
       AND (p_role IS NULL OR role = p_role);
    status := 204;
END $function$
;
CREATE OR REPLACE FUNCTION public.org_roles(p_user bigint, p_org bigint)
 RETURNS text[]
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT array_agg(m.role ORDER BY m.role) FROM org_members m
     WHERE m.org_id = p_org AND m.user_id = p_user);
END $function$
;
CREATE OR REPLACE FUNCTION public.org_year_facts(p_org bigint, p_year integer)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
DECLARE
    y0 timestamptz := make_timestamptz(p_year, 1, 1, 0, 0, 0, 'Asia/Shanghai');
    y1 timestamptz := make_timestamptz(p_year + 1, 1, 1, 0, 0, 0, 'Asia/Shanghai');
    today date := (now() AT TIME ZONE 'Asia/Shanghai')::date;
BEGIN
    RETURN (
    WITH o AS (
        SELECT id, total_fen FROM orders
         WHERE org_id = p_org AND paid_at >= y0 AND paid_at < y1
           AND status IN ('paid', 'shipped', 'completed')
    ), l AS (
        SELECT ol.order_id, ol.line_total_fen, r.code, r.name, r.sort,
               v.id AS vendor_id, v.poor_households_linked
        FROM order_lines ol JOIN o ON o.id = ol.order_id
        JOIN products pr ON pr.id = ol.product_id
        JOIN vendors v ON v.id = pr.vendor_id
        JOIN counties c ON c.id = v.county_id
        JOIN regions r ON r.id = c.region_id
    ), reg AS (
        SELECT code, name, sort, sum(line_total_fen)::bigint AS spend,
               count(DISTINCT order_id) AS orders
        FROM l GROUP BY code, name, sort
    )
    SELECT json_build_object(
        'org', (SELECT json_build_object('id', g.id, 'name', g.name, 'kind', g.kind,
                'credit_code', g.credit_code) FROM orgs g WHERE g.id = p_org),
        'year', p_year,
        'spend_fen', (SELECT coalesce(sum(total_fen), 0)::bigint FROM o),
        'paired_region_spend_fen', (SELECT coalesce(sum(line_total_fen), 0)::bigint FROM l),
        'orders', (SELECT count(*) FROM o),
        'by_region', coalesce((SELECT json_agg(json_build_object('code', code,
                'name', name, 'spend_fen', spend, 'orders', orders) ORDER BY sort)
                FROM reg), '[]'),
        'households_linked', (SELECT coalesce(sum(h), 0) FROM
                (SELECT DISTINCT vendor_id, poor_households_linked AS h FROM l) d),
        'plan', (SELECT plan_json(p) FROM procurement_plans p
                  WHERE p.org_id = p_org AND p.year = p_year),
        'as_of', today,
        'today_year', extract(year FROM today)::integer,
        'today_yday', extract(doy FROM today)::integer));
END $function$
;
CREATE OR REPLACE FUNCTION public.payment_json(pay payments)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT json_strip_nulls(json_build_object('payment_id', pay.id,
        'provider', pay.provider, 'amount_fen', pay.amount_fen,
        'status', pay.status, 'pay_url', '/sandbox/pay/' || pay.id,
        'return_url', pay.return_url, 'order_id', pay.order_id,
        'bulk_order_id', pay.bulk_order_id))
$function$
;
CREATE OR REPLACE FUNCTION public.payment_notify(p_payment bigint, p_result text, p_amount bigint, p_omap jsonb, p_pmap jsonb, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
BEGIN
    SELECT s.status, s.body INTO status, body
      FROM settle_payments(jsonb_build_array(jsonb_build_object(
               'payment_id', p_payment, 'status', p_result,
               'amount_fen', p_amount)), p_omap, p_pmap) s;
END $function$
;
CREATE OR REPLACE FUNCTION public.payment_orders(p_ids bigint[])
 RETURNS TABLE(payment_id bigint, order_id bigint)
 LANGUAGE sql
 STABLE
AS $function$
    SELECT p.id, p.order_id FROM payments p
     WHERE p.id = ANY (p_ids) AND p.order_id IS NOT NULL
    UNION ALL
    SELECT p.id, o.id FROM payments p JOIN orders o
        ON o.bulk_order_id = p.bulk_order_id
     WHERE p.id = ANY (p_ids) AND p.bulk_order_id IS NOT NULL
$function$
;
CREATE OR REPLACE FUNCTION public.payment_sales(p_paid bigint[])
 RETURNS void
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF cardinality(p_paid) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO product_sales AS s (product_id, sales)
    SELECT l.product_id, sum(l.qty) FROM order_lines l
     WHERE l.order_id = ANY (p_paid)
     GROUP BY l.product_id ORDER BY l.product_id
    ON CONFLICT (product_id) DO UPDATE SET sales = s.sales + EXCLUDED.sales;
END $function$
;
CREATE OR REPLACE FUNCTION public.place_orders(p_batch jsonb)
 RETURNS TABLE(i integer, status integer, body json)
 LANGUAGE plpgsql
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
#variable_conflict use_column
DECLARE
    n integer := jsonb_array_length(p_batch);
    st integer[] := array_fill(0, ARRAY[n]);    -- 0: still to place
    bd json[] := array_fill(NULL::json, ARRAY[n]);
    tot bigint[] := array_fill(0::bigint, ARRAY[n]);
    oidk bigint[] := array_fill(NULL::bigint, ARRAY[n]);
    ls order_line_in[];
    lprice bigint[];
    l order_line_in;
    pid bigint[]; rem bigint[]; stock0 bigint[]; listed boolean[]; pvendor bigint[];
    pcat text[]; ptitle text[]; pgood boolean[];
    vid bigint[]; vq boolean[]; vname text[]; vkind text[]; vpoor boolean[]; vregion text[];
    o jsonb; c jsonb; k integer; j integer; j0 integer; p integer; v integer;
    s integer; b json; short jsonb; svc jsonb; stale boolean; taken jsonb; cnt integer;
    t timestamptz := now();
    uids bigint[]; unpaid integer[]; u integer; lim integer;
    route constant text := 'POST /orders';
BEGIN
    -- Idempotency keys first, claimed in (user, key) order.
    FOR k IN SELECT q.k FROM jsonb_array_elements(p_batch) WITH ORDINALITY AS q(o, k)
              WHERE q.o->>'key' IS NOT NULL
              ORDER BY (q.o->>'user')::bigint, q.o->>'key'
    LOOP
        o := p_batch->(k - 1);
        SELECT x.status, x.body INTO s, b
          FROM idem_claim((o->>'user')::bigint, route, o->>'key', o->>'hash') x;
        IF s IS NOT NULL THEN
            st[k] := s;
            bd[k] := b;
        END IF;
    END LOOP;

    -- The unpaid orders of each buyer of the batch, counted under a lock
    -- per buyer taken in id order (before any product): two batches that
    -- hold the same buyer's checkouts pass here one after the other.
    uids := ARRAY(SELECT DISTINCT (q->>'user')::bigint
                    FROM jsonb_array_elements(p_batch) q ORDER BY 1);
    FOR k IN 1..coalesce(array_length(uids, 1), 0) LOOP
        PERFORM pg_advisory_xact_lock(unpaid_lock_space(),
                                      (uids[k] % 2147483647)::integer);
    END LOOP;
    unpaid := ARRAY(SELECT unpaid_orders(x, t) FROM unnest(uids) WITH ORDINALITY
                      AS z(x, n) ORDER BY z.n);

    -- The lines of the orders to place, order by order.
    ls := ARRAY(SELECT ROW(l.product_id, l.vendor_id, l.qty, l.unit_price_fen,
                    l.qualified, l.line_total_fen, l.fee_fen, l.fee_waived_fen,
                    l.fee_rule_id, l.commission_bps, l.waiver_bps, l.vendor_kind,
                    l.poverty_county, l.region, l.category, b.oi,
                    l.ordinality::integer)::order_line_in
                FROM jsonb_array_elements(p_batch) WITH ORDINALITY AS b(v, oi),
                     ROWS FROM (jsonb_populate_recordset(NULL::order_line_in,
                         b.v->'order'->'lines')) WITH ORDINALITY AS l
                WHERE st[b.oi] = 0
                ORDER BY b.oi, l.product_id);

    -- Every product of the batch, locked in id order.
    SELECT array_agg(q.id ORDER BY q.id), array_agg(q.stock ORDER BY q.id),
           array_agg(q.listed ORDER BY q.id), array_agg(q.vendor_id ORDER BY q.id),
           array_agg(q.category ORDER BY q.id), array_agg(q.title ORDER BY q.id),
           array_agg(q.good ORDER BY q.id)
      INTO pid, rem, listed, pvendor, pcat, ptitle, pgood
      FROM (SELECT pr.id, pr.stock::bigint, pr.status = 'listed' AS listed, pr.vendor_id,
                   (SELECT c.code FROM categories c WHERE c.id = pr.category_id) AS category,
                   pr.title, pr.kind = 'goods' AS good
              FROM products pr
             WHERE pr.id = ANY (ARRAY(SELECT (x).product_id FROM unnest(ls) x))
             ORDER BY pr.id FOR UPDATE) q;
    stock0 := rem;
    -- What each line's unit price must be, and the vendors as they are now.
    lprice := ARRAY(SELECT tier_price(pr.id, pr.price_fen, u.qty)
                      FROM unnest(ls) WITH ORDINALITY AS u
                      LEFT JOIN products pr ON pr.id = u.product_id
                     ORDER BY u.ordinality);
    SELECT array_agg(w.id ORDER BY w.id),
           array_agg(vendor_qualified(w.status, w.qualified_until, w.credit_score)
                     ORDER BY w.id),
           array_agg(w.name ORDER BY w.id), array_agg(w.kind ORDER BY w.id),
           array_agg(c.is_poverty_county ORDER BY w.id), array_agg(r.code ORDER BY w.id)
      INTO vid, vq, vname, vkind, vpoor, vregion
      FROM vendors w
      JOIN counties c ON c.id = w.county_id
      JOIN regions r ON r.id = c.region_id
     WHERE w.id = ANY (ARRAY(SELECT (x).vendor_id FROM unnest(ls) x));

    -- The batch's waiver caps, locked in (rule, vendor) order before any
    -- is taken, so that two batches never wait for each other on them.
    IF EXISTS (SELECT 1 FROM jsonb_array_elements(p_batch) q
                WHERE jsonb_array_length(q->'order'->'caps') > 0) THEN
        INSERT INTO fee_cap_usage (rule_id, vendor_id, month, waived_fen)
        SELECT DISTINCT (x->>'rule_id')::bigint, (x->>'vendor_id')::bigint,
               shanghai_month(t), 0
          FROM jsonb_array_elements(p_batch) q,
               jsonb_array_elements(q->'order'->'caps') x
         ORDER BY 1, 2
        ON CONFLICT DO NOTHING;
        PERFORM 1 FROM fee_cap_usage u
         WHERE u.month = shanghai_month(t)
           AND (u.rule_id, u.vendor_id) IN (
               SELECT (x->>'rule_id')::bigint, (x->>'vendor_id')::bigint
                 FROM jsonb_array_elements(p_batch) q,
                      jsonb_array_elements(q->'order'->'caps') x)
         ORDER BY u.rule_id, u.vendor_id
           FOR UPDATE;
    END IF;

    -- Each order in turn, against the stock the ones before it left.
    j := 1;
    WHILE j <= coalesce(array_length(ls, 1), 0) LOOP
        k := ls[j].oi;
        j0 := j;
        short := '[]';
        svc := '[]';
        stale := false;
        -- A buyer at the limit of unpaid orders places nothing more.
        u := array_position(uids, (p_batch->(k - 1)->>'user')::bigint);
        lim := (p_batch->(k - 1)->'order'->>'max_unpaid')::integer;
        IF lim IS NOT NULL AND unpaid[u] >= lim THEN
            WHILE j <= array_length(ls, 1) AND ls[j].oi = k LOOP
                j := j + 1;
            END LOOP;
            st[k] := 409;
            bd[k] := json_build_object('code', 'too_many_unpaid_orders',
                'detail', 'pay or cancel one of your ' || unpaid[u]
                          || ' unpaid orders first', 'limit', lim);
            o := p_batch->(k - 1);
            IF o->>'key' IS NOT NULL THEN
                PERFORM idem_release((o->>'user')::bigint, route, o->>'key');
            END IF;
            CONTINUE;
        END IF;
        WHILE j <= array_length(ls, 1) AND ls[j].oi = k LOOP
            l := ls[j];
            p := array_position(pid, l.product_id);
            v := array_position(vid, l.vendor_id);
            IF p IS NULL OR v IS NULL OR (j > j0 AND ls[j - 1].product_id = l.product_id) THEN
                stale := true;
            ELSIF NOT pgood[p] THEN
                -- A service is booked by the date (POST /bookings), never
                -- placed from a cart.
                svc := svc || jsonb_build_object('field', 'items.' || l.product_id,
                    'product_id', l.product_id,
                    'message', 'a service is booked by the date, not bought from the cart');
            ELSIF NOT listed[p] OR rem[p] < l.qty THEN
                short := short || jsonb_build_object('field', 'items.' || l.product_id,
                    'product_id', l.product_id, 'requested', l.qty,
                    'available', CASE WHEN listed[p] THEN rem[p] ELSE 0 END,
                    'message', 'not enough stock');
            ELSIF pvendor[p] <> l.vendor_id OR lprice[j] IS DISTINCT FROM l.unit_price_fen
               OR vq[v] IS DISTINCT FROM l.qualified
               OR vkind[v] IS DISTINCT FROM l.vendor_kind
               OR vpoor[v] IS DISTINCT FROM l.poverty_county
               OR vregion[v] IS DISTINCT FROM l.region
               OR pcat[p] IS DISTINCT FROM l.category THEN
                stale := true;
            END IF;
            tot[k] := tot[k] + l.line_total_fen;
            j := j + 1;
        END LOOP;

        -- Waiver caps: taken only if they all still hold.
        IF jsonb_array_length(short) = 0 AND jsonb_array_length(svc) = 0
           AND NOT stale THEN
            taken := '[]';
            FOR c IN SELECT x FROM jsonb_array_elements(p_batch->(k - 1)->'order'->'caps') x
                ORDER BY (x->>'rule_id')::bigint, (x->>'vendor_id')::bigint
            LOOP
                INSERT INTO fee_cap_usage AS u (rule_id, vendor_id, month, waived_fen)
                VALUES ((c->>'rule_id')::bigint, (c->>'vendor_id')::bigint,
                        shanghai_month(t), (c->>'waived_fen')::bigint)
                ON CONFLICT (rule_id, vendor_id, month) DO UPDATE
                    SET waived_fen = u.waived_fen + EXCLUDED.waived_fen
                    WHERE u.waived_fen + EXCLUDED.waived_fen <= (c->>'cap_fen')::bigint;
                IF NOT FOUND THEN
                    stale := true;
                    EXIT;
                END IF;
                taken := taken || c;
            END LOOP;
            IF stale THEN
                -- Give back what this order took of the other caps.
                UPDATE fee_cap_usage u SET waived_fen = u.waived_fen - (x->>'waived_fen')::bigint
                  FROM jsonb_array_elements(taken) x
                 WHERE u.rule_id = (x->>'rule_id')::bigint
                   AND u.vendor_id = (x->>'vendor_id')::bigint
                   AND u.month = shanghai_month(t);
            END IF;
        END IF;

        IF jsonb_array_length(svc) > 0 THEN
            st[k] := 422;
            bd[k] := json_build_object('code', 'not_a_good',
                'detail', 'a service is booked by the date, not bought from the cart',
                'errors', svc);
            o := p_batch->(k - 1);
            IF o->>'key' IS NOT NULL THEN
                PERFORM idem_release((o->>'user')::bigint, route, o->>'key');
            END IF;
        ELSIF jsonb_array_length(short) > 0 OR stale THEN
            st[k] := 409;
            bd[k] := CASE WHEN jsonb_array_length(short) > 0
                THEN json_build_object('code', 'insufficient_stock', 'errors', short)
                ELSE json_build_object('code', 'stale') END;
            o := p_batch->(k - 1);
            IF o->>'key' IS NOT NULL THEN
                PERFORM idem_release((o->>'user')::bigint, route, o->>'key');
            END IF;
        ELSE
            FOR j0 IN j0..j - 1 LOOP
                p := array_position(pid, ls[j0].product_id);
                rem[p] := rem[p] - ls[j0].qty;
            END LOOP;
            oidk[k] := nextval('orders_id_seq');
            unpaid[u] := unpaid[u] + 1;
        END IF;
    END LOOP;

    IF array_position(st, 0) IS NOT NULL THEN
        -- The stock taken, with a conditional update: under the locks it
        -- cannot fail, and if it ever did nothing of the batch would stay.
        UPDATE products pr SET stock = pr.stock - x.taken, updated_at = t
          FROM unnest(pid, stock0, rem) AS r(id, before, after),
               LATERAL (SELECT r.before - r.after AS taken) x
         WHERE pr.id = r.id AND r.before <> r.after AND pr.stock >= x.taken;
        GET DIAGNOSTICS cnt = ROW_COUNT;
        IF cnt <> (SELECT count(*) FROM unnest(stock0, rem) AS r(before, after)
                  WHERE r.before <> r.after) THEN
            RAISE EXCEPTION 'place_orders: stock moved under the lock';
        END IF;

        INSERT INTO orders (id, order_no, user_id, status, total_fen, address, note,
                            pay_before, created_at, updated_at)
        SELECT oidk[k], 'BF' || to_char(t AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')
                        || lpad(oidk[k]::text, 8, '0'),
               (o->>'user')::bigint, 'pending_payment', tot[k], o->'order'->'address',
               coalesce(o->'order'->>'note', ''),
               t + make_interval(secs => (o->'order'->>'pay_timeout_s')::integer), t, t
          FROM jsonb_array_elements(p_batch) WITH ORDINALITY AS b(o, k)
         WHERE st[k] = 0;

        -- Parts (one a vendor), lines in the cart's order, the events; and
        -- for each order placed without a key, its answer.
        RETURN QUERY
        WITH parts AS (
            INSERT INTO order_parts (order_id, vendor_id, status, subtotal_fen, fee_fen,
                                     fee_waived_fen)
            SELECT oidk[(x).oi], (x).vendor_id, 'pending', sum((x).line_total_fen),
                   sum((x).fee_fen), sum((x).fee_waived_fen)
              FROM unnest(ls) x WHERE st[(x).oi] = 0
             GROUP BY (x).oi, (x).vendor_id ORDER BY (x).oi, (x).vendor_id
            RETURNING id, order_id, vendor_id
        ), lines AS (
            INSERT INTO order_lines (order_id, part_id, product_id, qty, unit_price_fen,
                line_total_fen, fee_fen, fee_waived_fen, fee_rule_id, commission_bps,
                waiver_bps)
            SELECT pa.order_id, pa.id, (x).product_id, (x).qty, (x).unit_price_fen,
                   (x).line_total_fen, (x).fee_fen, (x).fee_waived_fen,
                   nullif((x).fee_rule_id, 0), coalesce((x).commission_bps, 0),
                   coalesce((x).waiver_bps, 0)
              FROM unnest(ls) x
              JOIN parts pa ON pa.order_id = oidk[(x).oi] AND pa.vendor_id = (x).vendor_id
             ORDER BY (x).oi, (x).pos
        ), ev AS (
            INSERT INTO order_events (order_id, part_id, event, to_status, actor_id,
                                      created_at)
            SELECT oidk[b.k], NULL::bigint, 'create', 'pending_payment',
                   (b.o->>'user')::bigint, t
              FROM jsonb_array_elements(p_batch) WITH ORDINALITY AS b(o, k)
             WHERE st[b.k] = 0
            UNION ALL
            SELECT pa.order_id, pa.id, 'create', 'pending',
                   (p_batch->(array_position(oidk, pa.order_id) - 1)->>'user')::bigint, t
              FROM parts pa
        )
        SELECT a.k::integer, 201, json_build_object('id', oidk[a.k],
                   'order_no', 'BF' || to_char(t AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')
                               || lpad(oidk[a.k]::text, 8, '0'),
                   'created_at', t,
                   'pay_before', t + make_interval(secs =>
                       (p_batch->(a.k - 1)->'order'->>'pay_timeout_s')::integer),
                   'parts', (SELECT json_agg(json_build_object('id', pa.id,
                                 'vendor_id', pa.vendor_id,
                                 'vendor_name', vname[array_position(vid, pa.vendor_id)])
                                 ORDER BY pa.id)
                               FROM parts pa WHERE pa.order_id = oidk[a.k]),
                   'titles', (SELECT json_object_agg(x.product_id,
                                  ptitle[array_position(pid, x.product_id)])
                                FROM unnest(ls) x WHERE x.oi = a.k))
          FROM generate_subscripts(st, 1) AS a(k)
         WHERE st[a.k] = 0 AND p_batch->(a.k - 1)->>'key' IS NULL;
    END IF;

    -- The rest: orders placed with a key (stored for replays), and answers.
    FOR k IN 1..n LOOP
        o := p_batch->(k - 1);
        i := k;
        IF st[k] = 0 AND o->>'key' IS NOT NULL THEN
            status := 201;
            body := order_json(oidk[k]);
            PERFORM idem_store((o->>'user')::bigint, route, o->>'key', status, body);
            RETURN NEXT;
        ELSIF st[k] <> 0 THEN
            status := st[k];
            body := bd[k];
            RETURN NEXT;
        END IF;
    END LOOP;
END $function$
;
CREATE OR REPLACE FUNCTION public.plan_json(p procurement_plans)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT json_build_object('org_id', p.org_id, 'year', p.year,
        'budget_fen', p.budget_fen, 'reserved_fen', p.reserved_fen,
        'reserved_share_bps', p.reserved_share_bps,
        'reserved_basis', p.reserved_basis,
        'approval_threshold_fen', p.approval_threshold_fen,
        'updated_by', p.updated_by, 'updated_at', p.updated_at)
$function$
;
CREATE OR REPLACE FUNCTION public.plan_put(p_user bigint, p_org bigint, p_year integer, p_budget bigint, p_reserved bigint, p_bps integer, p_basis text, p_threshold bigint, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    p procurement_plans;
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{admin}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    INSERT INTO procurement_plans AS x (org_id, year, budget_fen, reserved_fen,
        reserved_share_bps, reserved_basis, approval_threshold_fen, updated_by)
    VALUES (p_org, p_year, p_budget, p_reserved, p_bps, p_basis, p_threshold, p_user)
    ON CONFLICT (org_id, year) DO UPDATE SET budget_fen = EXCLUDED.budget_fen,
        reserved_fen = EXCLUDED.reserved_fen,
        reserved_share_bps = EXCLUDED.reserved_share_bps,
        reserved_basis = EXCLUDED.reserved_basis,
        approval_threshold_fen = EXCLUDED.approval_threshold_fen,
        updated_by = EXCLUDED.updated_by, updated_at = now()
    RETURNING * INTO p;
    INSERT INTO procurement_plan_history (org_id, year, changed_by, snapshot)
    VALUES (p_org, p_year, p_user, to_jsonb(p));
    status := 200;
    body := plan_json(p);
END $function$
;
CREATE OR REPLACE FUNCTION public.product_item_json(f product_facts)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT json_build_object(
        'id', f.id, 'title', f.title, 'description', f.description,
        'kind', f.kind, 'unit', f.unit, 'price_fen', f.price_fen,
        'category', json_build_object('code', f.category_code, 'name', f.category_name),
        'region', json_build_object('code', f.region_code, 'name', f.region_name),
        'county', json_build_object('code', f.county_code, 'name', f.county_name),
        'vendor', json_build_object('id', f.vendor_id, 'name', f.vendor_name,
                                    'qualified', f.qualified),
        'labels', product_labels(f), 'bxbp', f.bxbp,
        'sales', f.sales,
        'image', f.images->>0)
$function$
;
CREATE OR REPLACE FUNCTION public.product_labels(f product_facts)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT coalesce(json_agg(l), '[]') FROM (
        SELECT 'bxbp' AS l WHERE f.bxbp
        UNION ALL SELECT 'poverty_county' WHERE f.is_poverty_county
        UNION ALL SELECT 'qualified_vendor' WHERE f.qualified
        UNION ALL SELECT c.kind FROM certifications c
            WHERE c.product_id = f.id
              AND c.valid_until >= (now() AT TIME ZONE 'Asia/Shanghai')::date
    ) x);
END $function$
;
CREATE OR REPLACE FUNCTION public.rank_campaigns()
 RETURNS SETOF rank_rule
 LANGUAGE sql
 STABLE ROWS 5
AS $function$
    SELECT rank_rule_of(cm.id, cm.boost_weight, 0, cm.match) FROM campaigns cm
    WHERE now() BETWEEN cm.starts_at AND cm.ends_at
$function$
;
CREATE OR REPLACE FUNCTION public.rank_candidates(p_placement text, p_region text, p_county text, p_category text, p_vendor bigint, p_q text, p_label text, p_cert text, p_min bigint, p_max bigint, p_qualified_only boolean, p_bxbp_only boolean, p_limit integer)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    WITH rules AS (
        SELECT * FROM boost_rules r
        WHERE p_placement = ANY (r.placements) AND r.valid_from <= now()
          AND (r.valid_to IS NULL OR r.valid_to > now())
    ), live AS (
        SELECT * FROM campaigns cm WHERE now() BETWEEN cm.starts_at AND cm.ends_at
    ), m AS (
        SELECT f AS fact, f.id, f.sales, f.qualified,
               CASE WHEN p_q IS NULL THEN 0
                    WHEN strpos(lower(f.title), lower(p_q)) > 0 THEN 2
                    ELSE 1 END AS text_score
        FROM product_facts f
        WHERE f.status = 'listed'
          AND (NOT p_qualified_only OR f.qualified)
          AND (NOT p_bxbp_only OR f.bxbp)
          AND (p_region IS NULL OR f.region_code = p_region)
          AND (p_county IS NULL OR f.county_code = p_county)
          AND (p_category IS NULL OR f.category_code = p_category)
          AND (p_vendor IS NULL OR f.vendor_id = p_vendor)
          AND (p_q IS NULL OR strpos(lower(f.title), lower(p_q)) > 0
               OR strpos(lower(f.description), lower(p_q)) > 0)
          AND (p_label IS NULL
               OR (p_label = 'bxbp' AND f.bxbp)
               OR (p_label = 'poverty_county' AND f.is_poverty_county)
               OR (p_label = 'qualified_vendor' AND f.qualified))
          AND (p_cert IS NULL OR EXISTS (
               SELECT 1 FROM certifications c WHERE c.product_id = f.id
                 AND c.kind = p_cert
                 AND c.valid_until >= (now() AT TIME ZONE 'Asia/Shanghai')::date))
          AND (p_min IS NULL OR f.price_fen >= p_min)
          AND (p_max IS NULL OR f.price_fen <= p_max)
        LIMIT p_limit
    )
    SELECT coalesce(json_agg(json_build_object(
        'id', m.id, 'text', m.text_score, 'sales', m.sales,
        'boost', coalesce((SELECT sum(r.weight) FROM rules r
                           WHERE boost_matches(r.match, m.fact)), 0)
               + CASE WHEN m.qualified THEN coalesce((SELECT sum(cm.boost_weight)
                           FROM live cm WHERE campaign_matches(cm, m.fact)), 0)
                 ELSE 0 END,
        'pin', coalesce((SELECT max(r.pin_slots) FROM rules r
                         WHERE r.pin_slots > 0 AND boost_matches(r.match, m.fact)), 0),
        'item', product_item_json(m.fact))), '[]')
    FROM m);
END $function$
;
CREATE OR REPLACE FUNCTION public.rank_cond(r rank_rule, f rank_fact)
 RETURNS boolean
 LANGUAGE sql
 STABLE
AS $function$
    SELECT (NOT r.has_q OR r.q = f.qualified)
       AND (NOT r.has_vk OR r.vk = f.vendor_kind)
       AND (NOT r.has_rg OR r.rg = f.region_code)
       AND (NOT r.has_pc OR r.pc = f.is_poverty_county)
       AND (NOT r.has_cat OR r.cat = f.category_code)
       AND (NOT r.has_vid OR r.vid = f.vendor_id)
       AND (NOT r.has_bx OR r.bx = f.bxbp)
       AND (NOT r.has_pids OR r.pids @> to_jsonb(f.id))
$function$
;
CREATE OR REPLACE FUNCTION public.rank_fact_of(f product_facts)
 RETURNS rank_fact
 LANGUAGE sql
 STABLE
AS $function$
    SELECT ROW(f.id, f.qualified, f.vendor_kind, f.region_code,
        f.is_poverty_county, f.category_code, f.vendor_id, f.bxbp)::rank_fact
$function$
;
CREATE OR REPLACE FUNCTION public.rank_lg(v bigint)
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT floor(ln(v::float8) / ln(2::float8))::integer
         + CASE WHEN floor(ln(v::float8) / ln(2::float8)) < 62
                     AND (1::bigint << (floor(ln(v::float8) / ln(2::float8))::integer + 1)) <= v
                THEN 1
                WHEN (1::bigint << floor(ln(v::float8) / ln(2::float8))::integer) > v
                     OR (1::bigint << floor(ln(v::float8) / ln(2::float8))::integer) < 0
                THEN -1
                ELSE 0 END
$function$
;
CREATE OR REPLACE FUNCTION public.rank_rule_of(p_id bigint, p_weight integer, p_pin integer, m jsonb)
 RETURNS rank_rule
 LANGUAGE sql
 IMMUTABLE
AS $function$
    SELECT ROW(p_id, p_weight, p_pin, m <> '{}'::jsonb,
        m ? 'qualified', (m->>'qualified')::boolean,
        m ? 'vendor_kind', m->>'vendor_kind',
        m ? 'region', m->>'region',
        m ? 'poverty_county', (m->>'poverty_county')::boolean,
        m ? 'category', m->>'category',
        m ? 'vendor_id', (m->>'vendor_id')::bigint,
        m ? 'bxbp', (m->>'bxbp')::boolean,
        m ? 'product_ids', m->'product_ids')::rank_rule
$function$
;
CREATE OR REPLACE FUNCTION public.rank_rules(p_placement text)
 RETURNS SETOF rank_rule
 LANGUAGE sql
 STABLE ROWS 50
AS $function$
    SELECT rank_rule_of(r.id, r.weight, r.pin_slots, r.match) FROM boost_rules r
    WHERE p_placement = ANY (r.placements) AND r.valid_from <= now()
      AND (r.valid_to IS NULL OR r.valid_to > now())
$function$
;
CREATE OR REPLACE FUNCTION public.rank_sales_points(p_sales bigint)
 RETURNS bigint
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT CASE WHEN p_sales <= 0 THEN 0::bigint ELSE
        rank_lg(p_sales + 1)::bigint * 100
        + div(((p_sales + 1) - (1::bigint << rank_lg(p_sales + 1)))::numeric * 100,
              (1::bigint << rank_lg(p_sales + 1))::numeric)::bigint
    END
$function$
;
CREATE OR REPLACE FUNCTION public.rank_score(p_text integer, p_boost bigint, p_sales bigint)
 RETURNS bigint
 LANGUAGE sql
 IMMUTABLE PARALLEL SAFE
AS $function$
    SELECT greatest(least(p_text, 2), 0)::bigint * 10000000
         + greatest(least(p_boost, 5000), -5000) * 1000
         + rank_sales_points(p_sales)
$function$
;
CREATE OR REPLACE FUNCTION public.rank_top(p_placement text, p_region text, p_county text, p_category text, p_vendor bigint, p_q text, p_label text, p_cert text, p_min bigint, p_max bigint, p_qualified_only boolean, p_bxbp_only boolean, p_limit integer, p_keep bigint)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
 SET jit TO 'off'
AS $function$
BEGIN
    RETURN (
    WITH rules AS MATERIALIZED (
        SELECT rank_rules(p_placement) AS r
    ), live AS MATERIALIZED (
        SELECT rank_campaigns() AS r
    ), m AS MATERIALIZED (
        SELECT f AS fact, f.id, f.sales,
               ROW(f.id, f.qualified, f.vendor_kind, f.region_code,
                   f.is_poverty_county, f.category_code, f.vendor_id,
                   f.bxbp)::rank_fact AS rf,
               CASE WHEN p_q IS NULL THEN 0
                    WHEN strpos(lower(f.title), lower(p_q)) > 0 THEN 2
                    ELSE 1 END AS text_score
        FROM product_facts f
        WHERE f.status = 'listed'
          AND (NOT p_qualified_only OR f.qualified)
          AND (NOT p_bxbp_only OR f.bxbp)
          AND (p_region IS NULL OR f.region_code = p_region)
          AND (p_county IS NULL OR f.county_code = p_county)
          AND (p_category IS NULL OR f.category_code = p_category)
          AND (p_vendor IS NULL OR f.vendor_id = p_vendor)
          AND (p_q IS NULL OR strpos(lower(f.title), lower(p_q)) > 0
               OR strpos(lower(f.description), lower(p_q)) > 0)
          AND (p_label IS NULL
               OR (p_label = 'bxbp' AND f.bxbp)
               OR (p_label = 'poverty_county' AND f.is_poverty_county)
               OR (p_label = 'qualified_vendor' AND f.qualified))
          AND (p_cert IS NULL OR EXISTS (
               SELECT 1 FROM certifications c WHERE c.product_id = f.id
                 AND c.kind = p_cert
                 AND c.valid_until >= (now() AT TIME ZONE 'Asia/Shanghai')::date))
          AND (p_min IS NULL OR f.price_fen >= p_min)
          AND (p_max IS NULL OR f.price_fen <= p_max)
        LIMIT p_limit
    ), b AS MATERIALIZED (
        SELECT m.fact, m.id, m.sales, m.text_score,
               coalesce((SELECT sum((x.r).weight) FROM rules x
                         WHERE (m.rf).qualified AND rank_cond(x.r, m.rf)), 0)
               + CASE WHEN (m.rf).qualified THEN coalesce((SELECT sum((c.r).weight)
                     FROM live c
                     WHERE EXISTS (SELECT 1 FROM campaign_products cp
                                   WHERE cp.campaign_id = (c.r).id
                                     AND cp.product_id = m.id)
                        OR ((c.r).has_any AND rank_cond(c.r, m.rf))), 0)
                 ELSE 0 END AS boost,
               coalesce((SELECT max((x.r).pin_slots) FROM rules x
                         WHERE (x.r).pin_slots > 0 AND (m.rf).qualified
                           AND rank_cond(x.r, m.rf)), 0) AS pin
        FROM m
    ), k AS (
        SELECT b.*,
               row_number() OVER (ORDER BY rank_score(b.text_score, b.boost, b.sales) DESC, b.id) AS rk,
               row_number() OVER (PARTITION BY b.pin
                                  ORDER BY rank_score(b.text_score, b.boost, b.sales) DESC, b.id) AS rk_pin
        FROM b
    )
    SELECT json_build_object('total', (SELECT count(*) FROM m),
        'candidates', coalesce((SELECT json_agg(json_build_object(
            'id', k.id, 'text', k.text_score, 'sales', k.sales, 'boost', k.boost,
            'pin', k.pin, 'item', product_item_json(k.fact)) ORDER BY k.rk)
            FROM k WHERE k.rk <= p_keep OR (k.pin > 0 AND k.rk_pin <= p_keep)), '[]')));
END $function$
;
CREATE OR REPLACE FUNCTION public.region_json(r regions)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT json_build_object('code', r.code, 'name', r.name, 'kind', r.kind,
        'intro', r.intro,
        'counties', coalesce((SELECT json_agg(json_build_object('code', c.code,
            'name', c.name, 'is_poverty_county', c.is_poverty_county)
            ORDER BY c.id) FROM counties c WHERE c.region_id = r.id), '[]')));
END $function$
;
CREATE OR REPLACE FUNCTION public.sandbox_payment(p_id bigint)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT json_build_object('payment_id', p.id, 'amount_fen', p.amount_fen,
        'status', p.status,
        'order_no', (SELECT o.order_no FROM orders o WHERE o.id = p.order_id),
        'return_url', coalesce(p.return_url,
            CASE WHEN p.order_id IS NOT NULL THEN '/orders/' || p.order_id
                 WHEN p.bulk_order_id IS NOT NULL THEN '/org/bulk/' || p.bulk_order_id
                 ELSE '/' END))
      FROM payments p WHERE p.id = p_id AND p.provider = 'sandbox'
$function$
;
CREATE OR REPLACE FUNCTION public.session_json(s service_sessions)
 RETURNS json
 LANGUAGE sql
 STABLE
AS $function$
    SELECT json_build_object('id', s.id, 'product_id', s.product_id,
        'date', s.date, 'starts_at', s.starts_at, 'capacity', s.capacity,
        'booked', s.booked, 'available', s.capacity - s.booked,
        'price_fen', session_price(s), 'book_until', s.book_until,
        'status', s.status)
$function$
;
CREATE OR REPLACE FUNCTION public.session_price(s service_sessions)
 RETURNS bigint
 LANGUAGE sql
 STABLE
AS $function$
    SELECT coalesce(s.price_fen, (SELECT p.price_fen FROM products p
                                   WHERE p.id = s.product_id))
$function$
;
CREATE OR REPLACE FUNCTION public.settle_payments(p_batch jsonb, p_omap jsonb, p_pmap jsonb)
 RETURNS TABLE(i integer, status integer, body json)
 LANGUAGE plpgsql
AS $function$
#variable_conflict use_column
DECLARE
    e record;
    pay record;
    st jsonb := '{}';       -- payment id -> status as the batch goes
    seen jsonb := '{}';     -- payment id -> notifications counted
    claimed bigint[] := '{}';   -- orders paid by this batch so far
    won bigint[] := '{}';       -- payments whose orders are paid
    lost bigint[] := '{}';      -- payments refunded: orders not payable
    r_st integer[] := '{}';
    r_body json[] := '{}';
    cur text;
    moved bigint[];
    parts bigint[];
    refund_parts bigint[];
BEGIN
    -- The payments, locked in id order; then the orders of those still
    -- pending, in id order, so the expiry job or a cancel cannot slip in
    -- between the check and the moves.
    PERFORM 1 FROM payments p
      WHERE p.id IN (SELECT (x->>'payment_id')::bigint
                     FROM jsonb_array_elements(p_batch) x)
      ORDER BY p.id FOR UPDATE;
    PERFORM 1 FROM orders o
      WHERE o.id IN (SELECT po.order_id FROM payment_orders(ARRAY(
                         SELECT p.id FROM payments p
                          WHERE p.id IN (SELECT (x->>'payment_id')::bigint
                                         FROM jsonb_array_elements(p_batch) x)
                            AND p.status = 'pending')) po)
      ORDER BY o.id FOR UPDATE;

    -- Judged in the batch's order, in memory: each payment with its
    -- orders, and whether all of them were payable at the start.
    FOR e IN
        SELECT x.k, (x.v->>'payment_id')::bigint AS pid, x.v->>'status' AS result,
               (x.v->>'amount_fen')::bigint AS amount
        FROM jsonb_array_elements(p_batch) WITH ORDINALITY x(v, k)
        ORDER BY x.k
    LOOP
        SELECT p.id, p.amount_fen, p.status INTO pay
          FROM payments p WHERE p.id = e.pid;
        IF NOT FOUND THEN
            r_st := r_st || 404;
            r_body := r_body || NULL::json;
            CONTINUE;
        END IF;
        seen := jsonb_set(seen, ARRAY[pay.id::text],
            to_jsonb(coalesce((seen->>pay.id::text)::integer, 0) + 1));
        cur := coalesce(st->>pay.id::text, pay.status);
        IF pay.amount_fen <> e.amount THEN
            r_st := r_st || 422;
            r_body := r_body || json_build_object('code', 'amount_mismatch',
                                                  'expected_fen', pay.amount_fen);
            CONTINUE;
        END IF;
        IF cur <> 'pending' THEN
            r_st := r_st || 200;
            r_body := r_body || json_build_object('payment_id', pay.id,
                'status', cur, 'changed', false);
            CONTINUE;
        END IF;
        IF e.result = 'failed' THEN
            cur := 'failed';
        ELSIF EXISTS (SELECT 1 FROM payment_orders(ARRAY[pay.id]) po
                         JOIN orders o ON o.id = po.order_id
                       WHERE (p_omap->>o.status) IS NULL
                          OR o.id = ANY (claimed)) THEN
            -- Money for an order no longer payable (or paid earlier in
            -- this batch) goes back whole.
            cur := 'refunded';
            lost := lost || pay.id;
        ELSE
            cur := 'succeeded';
            won := won || pay.id;
            claimed := claimed || ARRAY(
                SELECT po.order_id FROM payment_orders(ARRAY[pay.id]) po);
        END IF;
        st := jsonb_set(st, ARRAY[pay.id::text], to_jsonb(cur));
        r_st := r_st || 200;
        r_body := r_body || json_build_object('payment_id', pay.id,
            'status', cur, 'changed', true);
    END LOOP;

    -- The payments, each once: notifications counted, status settled.
    UPDATE payments p
       SET notifications = p.notifications + (s.value)::integer,
           status = coalesce(st->>p.id::text, p.status),
           settled_at = CASE WHEN st ? p.id::text THEN now() ELSE p.settled_at END
      FROM jsonb_each_text(seen) s
     WHERE p.id = s.key::bigint;
    INSERT INTO refunds (payment_id, order_id, amount_fen, status, reason)
    SELECT p.id, min(po.order_id), p.amount_fen, 'succeeded', 'order no longer payable'
      FROM payments p JOIN payment_orders(lost) po ON po.payment_id = p.id
     GROUP BY p.id, p.amount_fen
     ORDER BY p.id;

    -- The orders paid, as order_move() moves one: only one whose parts
    -- the event can all move.
    moved := ARRAY(
        SELECT o.id FROM orders o
         WHERE o.id = ANY (claimed) AND (p_omap->>o.status) IS NOT NULL
           AND (p_pmap = '{}'::jsonb OR NOT EXISTS (
                SELECT 1 FROM order_parts op
                 WHERE op.order_id = o.id AND NOT p_pmap ? op.status))
         ORDER BY o.id);
    IF cardinality(moved) > 0 THEN
        INSERT INTO order_events (order_id, part_id, event, from_status, to_status, actor_id)
        SELECT op.order_id, op.id, 'pay', op.status, p_pmap->>op.status, NULL
          FROM order_parts op
         WHERE op.order_id = ANY (moved) AND p_pmap ? op.status
         ORDER BY op.order_id, op.id;
        -- The parts, their ledger rows written below in one INSERT.
        PERFORM set_config('bangfu.ledger_deferred', 'on', true);
        WITH old AS (
            SELECT op.id, op.status FROM order_parts op
             WHERE op.order_id = ANY (moved) AND p_pmap ? op.status
             ORDER BY op.id FOR UPDATE
        ), upd AS (
            UPDATE order_parts op SET status = p_pmap->>old.status
              FROM old WHERE op.id = old.id
            RETURNING op.id, old.status AS was, op.status AS became
        )
        SELECT array_agg(u.id ORDER BY u.id) FILTER (
                   WHERE u.became IN ('paid', 'shipped') AND u.was NOT IN ('paid', 'shipped')),
               array_agg(u.id ORDER BY u.id) FILTER (
                   WHERE u.was IN ('paid', 'shipped') AND u.became NOT IN ('paid', 'shipped'))
          INTO parts, refund_parts
          FROM upd u;
        PERFORM set_config('bangfu.ledger_deferred', '', true);
        PERFORM ledger_write_parts(coalesce(parts, '{}'), 'sale', now());
        PERFORM ledger_write_parts(coalesce(refund_parts, '{}'), 'refund', now());
        INSERT INTO order_events (order_id, event, from_status, to_status, actor_id)
        SELECT o.id, 'pay', o.status, p_omap->>o.status, NULL
          FROM orders o WHERE o.id = ANY (moved) ORDER BY o.id;
        UPDATE orders o SET status = p_omap->>o.status, updated_at = now(),
            paid_at = CASE WHEN p_omap->>o.status = 'paid' THEN now() ELSE o.paid_at END,
            closed_at = CASE WHEN p_omap->>o.status IN ('completed', 'cancelled', 'refunded')
                             THEN now() ELSE o.closed_at END
         WHERE o.id = ANY (moved);
        PERFORM payment_sales(moved);
    END IF;

    RETURN QUERY
    SELECT k::integer, r_st[k], r_body[k]
      FROM generate_series(1, cardinality(r_st)) k ORDER BY k;
END $function$
;
CREATE OR REPLACE FUNCTION public.shanghai_month(t timestamp with time zone)
 RETURNS date
 LANGUAGE sql
 IMMUTABLE
AS $function$
    SELECT date_trunc('month', t AT TIME ZONE 'Asia/Shanghai')::date
$function$
;
CREATE OR REPLACE FUNCTION public.shanghai_today()
 RETURNS date
 LANGUAGE sql
 STABLE
AS $function$
    SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date
$function$
;
CREATE OR REPLACE FUNCTION public.shanghai_year(t timestamp with time zone)
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE
AS $function$
    SELECT extract(year FROM t AT TIME ZONE 'Asia/Shanghai')::integer
$function$
;
CREATE OR REPLACE FUNCTION public.share_bps(part bigint, whole bigint)
 RETURNS bigint
 LANGUAGE sql
 IMMUTABLE
AS $function$
    SELECT CASE WHEN whole IS NULL OR whole <= 0 THEN NULL
                ELSE (part * 10000 + whole / 2) / whole END
$function$
;
CREATE OR REPLACE FUNCTION public.shipments_fill_recipients()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF NEW.recipient_id IS NULL THEN
        UPDATE shipments SET carrier = NEW.carrier, tracking_no = NEW.tracking_no,
               shipped_at = coalesce(NEW.shipped_at, now())
         WHERE part_id = NEW.part_id AND recipient_id IS NOT NULL AND shipped_at IS NULL;
        IF FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    RETURN NEW;
END $function$
;
CREATE OR REPLACE FUNCTION public.tier_price(pid bigint, list_price bigint, qty bigint)
 RETURNS bigint
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT coalesce((SELECT t.unit_price_fen FROM price_tiers t
                     WHERE t.product_id = pid AND t.min_qty <= qty
                     ORDER BY t.min_qty DESC LIMIT 1), list_price));
END $function$
;
CREATE OR REPLACE FUNCTION public.unpaid_lock_space()
 RETURNS integer
 LANGUAGE sql
 IMMUTABLE
AS $function$ SELECT 1651798833 $function$
;
CREATE OR REPLACE FUNCTION public.unpaid_orders(p_user bigint, t timestamp with time zone)
 RETURNS integer
 LANGUAGE sql
 STABLE
AS $function$
    SELECT count(*)::integer FROM orders
     WHERE user_id = p_user AND status = 'pending_payment'
       AND bulk_order_id IS NULL AND pay_before > t
$function$
;
CREATE OR REPLACE FUNCTION public.user_brief(uid bigint)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT json_build_object('id', u.id, 'name', u.name) FROM users u WHERE u.id = uid);
END $function$
;
CREATE OR REPLACE FUNCTION public.user_org_ids(uid bigint)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT coalesce(json_agg(DISTINCT m.org_id ORDER BY m.org_id), '[]')
    FROM org_members m WHERE m.user_id = uid);
END $function$
;
CREATE OR REPLACE FUNCTION public.user_vendor(p_user bigint)
 RETURNS bigint
 LANGUAGE sql
 STABLE
AS $function$
    SELECT id FROM vendors WHERE user_id = p_user
$function$
;
CREATE OR REPLACE FUNCTION public.vendor_apply(p_user bigint, p jsonb, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    cid integer;
    vid bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM vendors WHERE user_id = p_user) THEN
        status := 409;
        body := json_build_object('code', 'vendor_exists');
        RETURN;
    END IF;
    SELECT id INTO cid FROM counties WHERE code = p->>'county_code';
    IF NOT FOUND THEN
        status := 422;
        body := json_build_object('code', 'validation_failed', 'field', 'county_code',
                                  'detail', 'no such county');
        RETURN;
    END IF;
    -- Any conflict, so that a concurrent twin application is a 409 too.
    INSERT INTO vendors (user_id, name, kind, county_id, credit_code,
                         poor_households_linked, description)
    VALUES (p_user, p->>'name', p->>'kind', cid, upper(p->>'credit_code'),
            (p->>'poor_households_linked')::integer, coalesce(p->>'description', ''))
    ON CONFLICT DO NOTHING
    RETURNING id INTO vid;
    IF vid IS NULL THEN
        status := 409;
        body := CASE WHEN EXISTS (SELECT 1 FROM vendors v WHERE v.user_id = p_user)
                THEN json_build_object('code', 'vendor_exists')
                ELSE json_build_object('code', 'credit_code_taken') END;
        RETURN;
    END IF;
    status := 201;
    body := json_build_object('id', vid, 'status', 'pending_review');
END $function$
;
CREATE OR REPLACE FUNCTION public.vendor_batch_add(p_user bigint, pid bigint, p jsonb, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    b batches;
BEGIN
    PERFORM 1 FROM products p2 JOIN vendors v ON v.id = p2.vendor_id
     WHERE p2.id = pid AND v.user_id = p_user;
    IF NOT FOUND THEN
        status := 404;
        RETURN;
    END IF;
    INSERT INTO batches (product_id, code, produced_on, base, inspection_result,
                         inspection_report_no, inspected_on)
    VALUES (pid, p->>'code', (p->>'produced_on')::date, p->>'base',
            coalesce(p->'inspection'->>'result', 'pending'),
            p->'inspection'->>'report_no', (p->'inspection'->>'inspected_on')::date)
    RETURNING * INTO b;
    status := 201;
    body := json_build_object('id', b.id, 'code', b.code, 'trace_code', b.trace_code,
        'produced_on', b.produced_on, 'base', b.base,
        'inspection', json_build_object('result', b.inspection_result,
            'report_no', b.inspection_report_no, 'inspected_on', b.inspected_on));
EXCEPTION
    WHEN unique_violation THEN
        status := 409;
        body := json_build_object('code', 'batch_exists');
    WHEN check_violation OR invalid_datetime_format OR datetime_field_overflow THEN
        status := 422;
        body := json_build_object('code', 'validation_failed', 'detail', SQLERRM);
END $function$
;
CREATE OR REPLACE FUNCTION public.vendor_cancellation_put(p_user bigint, pid bigint, p_rules jsonb, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    p products;
BEGIN
    SELECT * INTO p FROM products
     WHERE id = pid AND vendor_id = user_vendor(p_user);
    IF NOT FOUND THEN
        status := 404;
        RETURN;
    END IF;
    IF p.kind <> 'service' THEN
        status := 422;
        body := json_build_object('code', 'not_a_service',
            'detail', 'cancellation rules are for listings of kind service');
        RETURN;
    END IF;
    INSERT INTO cancellation_rules (product_id, rules) VALUES (pid, p_rules)
    ON CONFLICT (product_id) DO UPDATE SET rules = EXCLUDED.rules, updated_at = now();
    status := 200;
    body := json_build_object('product_id', pid, 'rules', p_rules);
END $function$
;
CREATE OR REPLACE FUNCTION public.vendor_credit_event(p_admin bigint, p_vendor bigint, p_kind text, p_points integer, p_note text, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    v vendors;
BEGIN
    UPDATE vendors SET credit_score = greatest(0, least(200, credit_score + p_points))
     WHERE id = p_vendor RETURNING * INTO v;
    IF NOT FOUND THEN
        status := 404;
        RETURN;
    END IF;
    INSERT INTO credit_events (vendor_id, kind, points, note, score_after, created_by)
    VALUES (p_vendor, p_kind, p_points, coalesce(p_note, ''), v.credit_score, p_admin);
    status := 201;
    body := admin_vendor_json(v);
END $function$
;
CREATE OR REPLACE FUNCTION public.vendor_json(v vendors)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT json_build_object('id', v.id, 'name', v.name, 'kind', v.kind,
        'county', json_build_object('code', c.code, 'name', c.name),
        'region', json_build_object('code', r.code, 'name', r.name),
        'qualified', vendor_qualified(v.status, v.qualified_until, v.credit_score),
        'qualified_until', v.qualified_until,
        'credit_score', v.credit_score,
        'credit_level', credit_level(v.credit_score),
        'poor_households_linked', v.poor_households_linked)
    FROM counties c JOIN regions r ON r.id = c.region_id
    WHERE c.id = v.county_id);
END $function$
;
CREATE OR REPLACE FUNCTION public.vendor_part_json(pid bigint)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (
    SELECT json_build_object('id', p.id, 'order_id', o.id, 'order_no', o.order_no,
        'status', p.status, 'order_status', o.status,
        'subtotal_fen', p.subtotal_fen, 'fee_fen', p.fee_fen,
        'fee_waived_fen', p.fee_waived_fen,
        'address', CASE WHEN o.paid_at IS NOT NULL THEN o.address END,
        'created_at', o.created_at, 'paid_at', o.paid_at, 'shipped_at', p.shipped_at,
        'items', (SELECT json_agg(json_build_object('product_id', l.product_id,
                'title', (SELECT pr.title FROM products pr WHERE pr.id = l.product_id),
                'qty', l.qty, 'unit_price_fen', l.unit_price_fen,
                'line_total_fen', l.line_total_fen, 'fee_fen', l.fee_fen,
                'fee_waived_fen', l.fee_waived_fen, 'fee_rule_id', l.fee_rule_id)
                ORDER BY l.id) FROM order_lines l WHERE l.part_id = p.id),
        'shipments', coalesce((SELECT json_agg(json_build_object('carrier', s.carrier,
                'tracking_no', s.tracking_no, 'shipped_at', s.shipped_at) ORDER BY s.id)
                FROM shipments s WHERE s.part_id = p.id), '[]'))
    FROM order_parts p JOIN orders o ON o.id = p.order_id WHERE p.id = pid);
END $function$
;
CREATE OR REPLACE FUNCTION public.vendor_product_json(pid bigint)
 RETURNS json
 LANGUAGE plpgsql
 STABLE
AS $function$
BEGIN
    RETURN (SELECT json_build_object('id', p.id, 'title', p.title,
        'description', p.description,
        'category', (SELECT c.code FROM categories c WHERE c.id = p.category_id),
        'kind', p.kind, 'unit', p.unit, 'price_fen', p.price_fen,
        'price_tiers', coalesce((SELECT json_agg(json_build_object('min_qty', t.min_qty,
            'unit_price_fen', t.unit_price_fen) ORDER BY t.min_qty)
            FROM price_tiers t WHERE t.product_id = p.id), '[]'),
        'stock', p.stock, 'status', p.status, 'images', p.images,
        'certifications', coalesce((SELECT json_agg(json_build_object('kind', c.kind,
            'number', c.number, 'valid_until', c.valid_until) ORDER BY c.kind)
            FROM certifications c WHERE c.product_id = p.id), '[]'),
        'batches', coalesce((SELECT json_agg(json_build_object('id', b.id, 'code', b.code,
            'trace_code', b.trace_code, 'produced_on', b.produced_on, 'base', b.base,
            'inspection', json_build_object('result', b.inspection_result,
                'report_no', b.inspection_report_no, 'inspected_on', b.inspected_on))
            ORDER BY b.id) FROM batches b WHERE b.product_id = p.id), '[]'),
        'sales', coalesce((SELECT s.sales FROM product_sales s
                           WHERE s.product_id = p.id), 0),
        'created_at', p.created_at, 'updated_at', p.updated_at)
    FROM products p WHERE p.id = pid);
END $function$
;
CREATE OR REPLACE FUNCTION public.vendor_product_publish(p_user bigint, pid bigint, p_publish boolean, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    v vendors;
BEGIN
    SELECT v2.* INTO v FROM vendors v2 JOIN products p ON p.vendor_id = v2.id
     WHERE p.id = pid AND v2.user_id = p_user;
    IF NOT FOUND THEN
        status := 404;
        RETURN;
    END IF;
    IF p_publish AND v.status <> 'approved' THEN
        status := 403;
        body := json_build_object('code', 'vendor_not_approved');
        RETURN;
    END IF;
    UPDATE products SET status = CASE WHEN p_publish THEN 'listed' ELSE 'unlisted' END,
           updated_at = now()
     WHERE id = pid;
    status := 200;
    body := vendor_product_json(pid);
END $function$
;
CREATE OR REPLACE FUNCTION public.vendor_product_save(p_user bigint, pid bigint, p jsonb, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    vid bigint;
    cat integer;
    id_ bigint := pid;
BEGIN
    SELECT id INTO vid FROM vendors WHERE user_id = p_user;
    IF vid IS NULL THEN
        status := 403;
        body := json_build_object('code', 'no_vendor');
        RETURN;
    END IF;
    IF p ? 'category' THEN
        SELECT id INTO cat FROM categories WHERE code = p->>'category';
        IF cat IS NULL THEN
            status := 422;
            body := json_build_object('code', 'validation_failed',
                                      'field', 'category', 'detail', 'no such category');
            RETURN;
        END IF;
    END IF;
    IF pid IS NULL THEN
        INSERT INTO products (vendor_id, category_id, kind, title, description, unit,
                              price_fen, stock, status, images)
        VALUES (vid, cat, coalesce(p->>'kind', 'goods'), p->>'title',
                coalesce(p->>'description', ''), p->>'unit', (p->>'price_fen')::bigint,
                coalesce((p->>'stock')::integer, 0), 'draft', coalesce(p->'images', '[]'))
        RETURNING id INTO id_;
        status := 201;
    ELSE
        UPDATE products SET
            category_id = coalesce(cat, category_id),
            kind = coalesce(p->>'kind', kind),
            title = coalesce(p->>'title', title),
            description = coalesce(p->>'description', description),
            unit = coalesce(p->>'unit', unit),
            price_fen = coalesce((p->>'price_fen')::bigint, price_fen),
            stock = coalesce((p->>'stock')::integer, stock),
            images = coalesce(p->'images', images),
            updated_at = now()
        WHERE id = pid AND vendor_id = vid;
        IF NOT FOUND THEN
            status := 404;
            RETURN;
        END IF;
        status := 200;
    END IF;
    IF p ? 'price_tiers' THEN
        DELETE FROM price_tiers WHERE product_id = id_;
        INSERT INTO price_tiers (product_id, min_qty, unit_price_fen)
        SELECT id_, (t->>'min_qty')::integer, (t->>'unit_price_fen')::bigint
          FROM jsonb_array_elements(p->'price_tiers') t
         WHERE (t->>'min_qty')::integer >= 2;
    END IF;
    IF p ? 'certifications' THEN
        DELETE FROM certifications WHERE product_id = id_;
        INSERT INTO certifications (product_id, kind, number, valid_until)
        SELECT id_, c->>'kind', c->>'number', (c->>'valid_until')::date
          FROM jsonb_array_elements(p->'certifications') c;
    END IF;
    body := vendor_product_json(id_);
EXCEPTION
    WHEN check_violation OR not_null_violation OR invalid_text_representation
      OR invalid_datetime_format OR datetime_field_overflow OR numeric_value_out_of_range THEN
        status := 422;
        body := json_build_object('code', 'validation_failed', 'detail', SQLERRM);
    WHEN unique_violation THEN
        status := 422;
        body := json_build_object('code', 'validation_failed',
                                  'detail', 'duplicate tier or certification kind');
END $function$
;
CREATE OR REPLACE FUNCTION public.vendor_product_stock(p_user bigint, pid bigint, p_stock integer, p_delta integer, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM 1 FROM products p JOIN vendors v ON v.id = p.vendor_id
     WHERE p.id = pid AND v.user_id = p_user FOR UPDATE OF p;
    IF NOT FOUND THEN
        status := 404;
        RETURN;
    END IF;
    -- bigint arithmetic: a huge delta is refused, never an overflow.
    UPDATE products SET stock = coalesce(p_stock, stock::bigint + p_delta),
           updated_at = now()
     WHERE id = pid AND coalesce(p_stock, stock::bigint + p_delta) BETWEEN 0 AND 10000000;
    IF NOT FOUND THEN
        status := 409;
        body := json_build_object('code', 'insufficient_stock',
            'detail', 'stock must stay between 0 and 10000000');
        RETURN;
    END IF;
    status := 200;
    body := vendor_product_json(pid);
END $function$
;
CREATE OR REPLACE FUNCTION public.vendor_qualified(status text, until date, score integer)
 RETURNS boolean
 LANGUAGE sql
 STABLE
AS $function$
    SELECT status = 'approved' AND until IS NOT NULL
       AND until >= (now() AT TIME ZONE 'Asia/Shanghai')::date
       AND score >= credit_threshold()
$function$
;
CREATE OR REPLACE FUNCTION public.vendor_review(p_admin bigint, p_vendor bigint, p_decision text, p_until date, p_reason text, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    v vendors;
BEGIN
    SELECT * INTO v FROM vendors WHERE id = p_vendor FOR UPDATE;
    IF NOT FOUND THEN
        status := 404;
        RETURN;
    END IF;
    UPDATE vendors SET
        status = CASE WHEN p_decision = 'approve' THEN 'approved' ELSE 'rejected' END,
        qualified_until = CASE WHEN p_decision = 'approve' THEN p_until ELSE qualified_until END,
        reviewed_by = p_admin, reviewed_at = now(), review_reason = p_reason
    WHERE id = p_vendor RETURNING * INTO v;
    INSERT INTO vendor_reviews (vendor_id, decision, qualified_until, reason, reviewed_by)
    VALUES (p_vendor, p_decision, p_until, p_reason, p_admin);
    -- A rejected vendor's listings come off sale.
    IF p_decision = 'reject' THEN
        UPDATE products SET status = 'unlisted', updated_at = now()
         WHERE vendor_id = p_vendor AND products.status = 'listed';
    END IF;
    status := 200;
    body := admin_vendor_json(v);
END $function$
;
CREATE OR REPLACE FUNCTION public.vendor_session_create(p_user bigint, pid bigint, b jsonb, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    p products;
    d date := (b->>'date')::date;
    st timestamptz := (b->>'starts_at')::timestamptz;
    bu timestamptz;
    day_end timestamptz;
    s service_sessions;
BEGIN
    SELECT * INTO p FROM products
     WHERE id = pid AND vendor_id = user_vendor(p_user);
    IF NOT FOUND THEN
        status := 404;
        RETURN;
    END IF;
    IF p.kind <> 'service' THEN
        status := 422;
        body := json_build_object('code', 'not_a_service',
            'detail', 'sessions are for listings of kind service');
        RETURN;
    END IF;
    status := 422;
    IF d < shanghai_today() THEN
        body := json_build_object('code', 'validation_failed', 'field', 'date',
            'detail', 'today or later (Shanghai)');
        RETURN;
    END IF;
    IF d > shanghai_today() + 730 THEN
        body := json_build_object('code', 'validation_failed', 'field', 'date',
            'detail', 'within two years');
        RETURN;
    END IF;
    IF st IS NOT NULL AND (st AT TIME ZONE 'Asia/Shanghai')::date <> d THEN
        body := json_build_object('code', 'validation_failed',
            'field', 'starts_at', 'detail', 'on the session''s date (Shanghai)');
        RETURN;
    END IF;
    day_end := (d + 1)::timestamp AT TIME ZONE 'Asia/Shanghai';
    bu := coalesce((b->>'book_until')::timestamptz,
                   ((d - 1)::timestamp + time '18:00') AT TIME ZONE 'Asia/Shanghai');
    IF bu > coalesce(st, day_end) THEN
        body := json_build_object('code', 'validation_failed',
            'field', 'book_until', 'detail', 'not after the session starts');
        RETURN;
    END IF;
    IF bu <= now() THEN
        body := json_build_object('code', 'validation_failed',
            'field', 'book_until',
            'detail', 'in the future (the default is 18:00 Shanghai the day before)');
        RETURN;
    END IF;
    INSERT INTO service_sessions (product_id, vendor_id, date, starts_at, capacity,
                                  price_fen, book_until)
    VALUES (pid, p.vendor_id, d, st, (b->>'capacity')::integer,
            (b->>'price_fen')::bigint, bu)
    RETURNING * INTO s;
    status := 201;
    body := session_json(s);
END $function$
;
CREATE OR REPLACE FUNCTION public.vendor_session_update(p_user bigint, sid bigint, b jsonb, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    s service_sessions;
BEGIN
    SELECT * INTO s FROM service_sessions
     WHERE id = sid AND vendor_id = user_vendor(p_user) FOR UPDATE;
    IF NOT FOUND THEN
        status := 404;
        RETURN;
    END IF;
    IF b ? 'capacity' AND (b->>'capacity')::integer < s.booked THEN
        status := 409;
        body := json_build_object('code', 'capacity_below_booked',
            'detail', s.booked || ' places are booked', 'booked', s.booked);
        RETURN;
    END IF;
    UPDATE service_sessions ss
       SET capacity = coalesce((b->>'capacity')::integer, ss.capacity),
           status = coalesce(b->>'status', ss.status), updated_at = now()
     WHERE ss.id = sid RETURNING * INTO s;
    status := 200;
    body := session_json(s);
END $function$
;
CREATE OR REPLACE FUNCTION public.vendor_ship(p_user bigint, p_part bigint, p_carrier text, p_tracking text, p_pmap jsonb, p_omap jsonb, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    p order_parts;
    nxt text;
BEGIN
    SELECT op.* INTO p FROM order_parts op JOIN vendors v ON v.id = op.vendor_id
     WHERE op.id = p_part AND v.user_id = p_user FOR UPDATE OF op;
    IF NOT FOUND THEN
        status := 404;
        RETURN;
    END IF;
    PERFORM 1 FROM orders WHERE id = p.order_id FOR UPDATE;
    nxt := p_pmap->>p.status;
    IF nxt IS NULL THEN
        status := 409;
        body := json_build_object('code', 'invalid_transition', 'status', p.status);
        RETURN;
    END IF;
    UPDATE order_parts SET status = nxt, shipped_at = now() WHERE id = p.id;
    INSERT INTO shipments (part_id, carrier, tracking_no) VALUES (p.id, p_carrier, p_tracking);
    INSERT INTO order_events (order_id, part_id, event, from_status, to_status, actor_id)
    VALUES (p.order_id, p.id, 'ship', p.status, nxt, p_user);
    IF NOT EXISTS (SELECT 1 FROM order_parts op WHERE op.order_id = p.order_id
                   AND op.status NOT IN ('shipped', 'cancelled', 'refunded')) THEN
        PERFORM order_move(p.order_id, 'ship_all', p_omap, '{}'::jsonb, p_user);
    END IF;
    status := 200;
    body := vendor_part_json(p.id);
END $function$
;
CREATE OR REPLACE FUNCTION public.vendor_voucher_redeem(p_user bigint, p_code text, OUT status integer, OUT body json)
 RETURNS record
 LANGUAGE plpgsql
AS $function$
DECLARE
    v vouchers;
    s service_sessions;
BEGIN
    SELECT * INTO v FROM vouchers
     WHERE code = upper(p_code) AND vendor_id = user_vendor(p_user) FOR UPDATE;
    IF NOT FOUND THEN
        status := 404;
        RETURN;
    END IF;
    SELECT ss.* INTO s FROM service_sessions ss JOIN bookings b ON b.session_id = ss.id
     WHERE b.id = v.booking_id;
    status := 409;
    IF v.status = 'void' THEN
        body := json_build_object('code', 'voucher_void',
            'detail', 'this voucher''s booking was cancelled');
    ELSIF v.status = 'redeemed' THEN
        body := json_build_object('code', 'voucher_used',
            'detail', 'this voucher was redeemed at ' || v.redeemed_at,
            'redeemed_at', v.redeemed_at);
    ELSIF s.date > shanghai_today() THEN
        status := 422;
        body := json_build_object('code', 'too_early',
            'detail', 'this voucher is good from ' || s.date || ' (Shanghai)');
    ELSE
        UPDATE vouchers SET status = 'redeemed', redeemed_at = now()
         WHERE id = v.id RETURNING * INTO v;
        status := 200;
        body := json_build_object('code', v.code, 'booking_id', v.booking_id,
            'guest_name', v.guest_name, 'session', session_json(s),
            'redeemed_at', v.redeemed_at);
    END IF;
END $function$
;
CREATE OR REPLACE FUNCTION public.voucher_code()
 RETURNS text
 LANGUAGE sql
AS $function$
    SELECT string_agg(substr('23456789ABCDEFGHJKLMNPQRSTUVWXYZ',
                             (get_byte(x.b, i) & 31) + 1, 1), '' ORDER BY i)
      FROM (SELECT gen_random_bytes(12) AS b) x, generate_series(0, 11) i
$function$
;
