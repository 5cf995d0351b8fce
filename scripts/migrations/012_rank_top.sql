-- Issue 17: a channel or search miss handed C every candidate with its
-- whole item JSON (about 426 kB for the 扶贫频道, for a 45 kB answer), and
-- the channel computed every product's boosts once per section.  The order
-- is still decided by modules/ranking.c; SQL now hands it only the
-- candidates that can reach the first k places, k being what the answer
-- shows, and computes the channel's boosts once per product.
--
-- Which candidates can reach the first k: ranking_sort() orders by score
-- (then id), then fills slot s (s < k) with the best remaining product
-- whose pin is above s.  A product chosen for a slot is the best remaining
-- of its own pin value, so only the first k of each pin value can ever be
-- chosen; a product placed in score order behind the pins is among the
-- first k by score.  So the first k by score, and the first k of each pin
-- value above 0, hold every product the first k places can show, and
-- ranking them alone gives those places exactly as ranking everything
-- (tests/api/test_ranking_channel.py checks both against a full ranking).
-- That needs the score here exactly as ranking_score() computes it.

-- floor(log2(v)) for v >= 1, exactly: the float estimate, corrected by one
-- either way (tests/api/test_ranking_channel.py checks it bit by bit).
-- Plain expressions only, so that the planner inlines it.
CREATE FUNCTION rank_lg(v bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT floor(ln(v::float8) / ln(2::float8))::integer
         + CASE WHEN floor(ln(v::float8) / ln(2::float8)) < 62
                     AND (1::bigint << (floor(ln(v::float8) / ln(2::float8))::integer + 1)) <= v
                THEN 1
                WHEN (1::bigint << floor(ln(v::float8) / ln(2::float8))::integer) > v
                     OR (1::bigint << floor(ln(v::float8) / ln(2::float8))::integer) < 0
                THEN -1
                ELSE 0 END
$$;

-- ranking_sales_points(): 100 points per doubling of sales, linear in
-- between, in integers (the product in numeric: it passes 2^63).
CREATE FUNCTION rank_sales_points(p_sales bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_sales <= 0 THEN 0::bigint ELSE
        rank_lg(p_sales + 1)::bigint * 100
        + div(((p_sales + 1) - (1::bigint << rank_lg(p_sales + 1)))::numeric * 100,
              (1::bigint << rank_lg(p_sales + 1))::numeric)::bigint
    END
$$;

-- ranking_score(): text dominates, then the clamped boost, then sales.
CREATE FUNCTION rank_score(p_text integer, p_boost bigint, p_sales bigint)
RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT greatest(least(p_text, 2), 0)::bigint * 10000000
         + greatest(least(p_boost, 5000), -5000) * 1000
         + rank_sales_points(p_sales)
$$;

-- A rule's or a campaign's match, read once per statement instead of once
-- per product, and what of a product it reads: with these as plain row
-- values, rank_cond() below is inlined, where boost_matches() and
-- campaign_matches() on a product_facts row are called once per product
-- and rule (their row argument holds a sub-plan: never inlined).
CREATE TYPE rank_rule AS (
    id bigint, weight integer, pin_slots integer, has_any boolean,
    has_q boolean, q boolean, has_vk boolean, vk text,
    has_rg boolean, rg text, has_pc boolean, pc boolean,
    has_cat boolean, cat text, has_vid boolean, vid bigint,
    has_bx boolean, bx boolean, has_pids boolean, pids jsonb);

CREATE TYPE rank_fact AS (
    id bigint, qualified boolean, vendor_kind text, region_code text,
    is_poverty_county boolean, category_code text, vendor_id bigint,
    bxbp boolean);

CREATE FUNCTION rank_rule_of(p_id bigint, p_weight integer, p_pin integer,
    m jsonb) RETURNS rank_rule LANGUAGE sql IMMUTABLE AS $$
    SELECT ROW(p_id, p_weight, p_pin, m <> '{}'::jsonb,
        m ? 'qualified', (m->>'qualified')::boolean,
        m ? 'vendor_kind', m->>'vendor_kind',
        m ? 'region', m->>'region',
        m ? 'poverty_county', (m->>'poverty_county')::boolean,
        m ? 'category', m->>'category',
        m ? 'vendor_id', (m->>'vendor_id')::bigint,
        m ? 'bxbp', (m->>'bxbp')::boolean,
        m ? 'product_ids', m->'product_ids')::rank_rule
$$;

CREATE FUNCTION rank_fact_of(f product_facts) RETURNS rank_fact
LANGUAGE sql STABLE AS $$
    SELECT ROW(f.id, f.qualified, f.vendor_kind, f.region_code,
        f.is_poverty_county, f.category_code, f.vendor_id, f.bxbp)::rank_fact
$$;

-- The match keys of boost_matches() and campaign_matches(), one by one.
-- STABLE as to_jsonb() is: an IMMUTABLE function calling it is never inlined.
CREATE FUNCTION rank_cond(r rank_rule, f rank_fact) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT (NOT r.has_q OR r.q = f.qualified)
       AND (NOT r.has_vk OR r.vk = f.vendor_kind)
       AND (NOT r.has_rg OR r.rg = f.region_code)
       AND (NOT r.has_pc OR r.pc = f.is_poverty_county)
       AND (NOT r.has_cat OR r.cat = f.category_code)
       AND (NOT r.has_vid OR r.vid = f.vendor_id)
       AND (NOT r.has_bx OR r.bx = f.bxbp)
       AND (NOT r.has_pids OR r.pids @> to_jsonb(f.id))
$$;

-- The live boost rules of a placement, and the live campaigns.
CREATE FUNCTION rank_rules(p_placement text) RETURNS SETOF rank_rule
LANGUAGE sql STABLE ROWS 50 AS $$
    SELECT rank_rule_of(r.id, r.weight, r.pin_slots, r.match) FROM boost_rules r
    WHERE p_placement = ANY (r.placements) AND r.valid_from <= now()
      AND (r.valid_to IS NULL OR r.valid_to > now())
$$;

CREATE FUNCTION rank_campaigns() RETURNS SETOF rank_rule
LANGUAGE sql STABLE ROWS 5 AS $$
    SELECT rank_rule_of(cm.id, cm.boost_weight, 0, cm.match) FROM campaigns cm
    WHERE now() BETWEEN cm.starts_at AND cm.ends_at
$$;

-- rank_candidates() with the same filter and the same inputs per product,
-- as {total, candidates}: total counts every candidate (what the list
-- answers as total), candidates are only those that can reach the first
-- p_keep places, in score order.
CREATE FUNCTION rank_top(p_placement text, p_region text, p_county text,
    p_category text, p_vendor bigint, p_q text, p_label text, p_cert text,
    p_min bigint, p_max bigint, p_qualified_only boolean, p_bxbp_only boolean,
    p_limit integer, p_keep bigint)
RETURNS json LANGUAGE plpgsql STABLE SET jit = off AS $$
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
END $$;

-- The channel: every qualified listed product's boost and pin computed
-- once, then for each section the candidates that can reach its places.
-- These statements take milliseconds: JIT, which the planner's estimates
-- of their CTEs can trigger, cost seconds.
CREATE OR REPLACE FUNCTION api_channel() RETURNS json
LANGUAGE plpgsql STABLE SET jit = off AS $$
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
        SELECT f AS fact, f.id, f.sales, f.bxbp, f.region_code,
               ROW(f.id, f.qualified, f.vendor_kind, f.region_code,
                   f.is_poverty_county, f.category_code, f.vendor_id,
                   f.bxbp)::rank_fact AS rf,
               coalesce(n.ids, '{}') AS named
        FROM product_facts f LEFT JOIN named n ON n.product_id = f.id
        WHERE f.status = 'listed' AND f.qualified
    ), b AS MATERIALIZED (
        SELECT m.fact, m.id, m.sales, m.bxbp, m.region_code,
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
        SELECT x.ord, x.key, x.lim, s.fact, s.id, s.sales, s.boost, s.pin,
               row_number() OVER (PARTITION BY x.ord, x.key
                                  ORDER BY s.score DESC, s.id) AS rk,
               row_number() OVER (PARTITION BY x.ord, x.key, s.pin
                                  ORDER BY s.score DESC, s.id) AS rk_pin
        FROM secs x JOIN s ON (x.region IS NULL OR s.region_code = x.region)
                          AND (NOT x.bxbp_only OR s.bxbp)
    )
    SELECT json_build_object(
        -- campaign_json(cm, true, 8, false), from the products at hand.
        'campaigns', coalesce((SELECT json_agg(json_build_object(
                'slug', (l.cm).slug, 'title', (l.cm).title,
                'theme', (l.cm).theme, 'starts_at', (l.cm).starts_at,
                'ends_at', (l.cm).ends_at,
                'active', now() BETWEEN (l.cm).starts_at AND (l.cm).ends_at,
                'boost_weight', (l.cm).boost_weight, 'match', (l.cm).match,
                'products', coalesce((SELECT json_agg(product_item_json(y.fact)
                        ORDER BY y.sales DESC, y.id)
                    FROM (SELECT m.fact, m.sales, m.id FROM m
                          WHERE (l.r).id = ANY (m.named)
                             OR ((l.r).has_any AND rank_cond(l.r, m.rf))
                          ORDER BY m.sales DESC, m.id LIMIT 8) y), '[]'))
                ORDER BY (l.cm).starts_at, (l.cm).id) FROM live l), '[]'),
        'sections', (SELECT json_agg(json_build_object('key', x.key,
                'title', x.title, 'limit', x.lim,
                'candidates', coalesce((SELECT json_agg(json_build_object(
                    'id', k.id, 'text', 0, 'sales', k.sales, 'boost', k.boost,
                    'pin', k.pin, 'item', product_item_json(k.fact)) ORDER BY k.rk)
                    FROM k WHERE k.ord = x.ord AND k.key = x.key
                      AND (k.rk <= k.lim OR (k.pin > 0 AND k.rk_pin <= k.lim))), '[]'))
            ORDER BY x.ord, x.key) FROM secs x)));
END $$;

-- The region shop's featured products: the first 12 places only.
CREATE OR REPLACE FUNCTION api_region_shop(p_code text) RETURNS json
LANGUAGE plpgsql STABLE AS $$
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
END $$;
