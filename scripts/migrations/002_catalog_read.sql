-- The read side of the catalog: every public answer is built here as JSON
-- in one statement, so a handler is one round trip and the shapes of the
-- contract live in one place.

-- Filled in by the organisations migration; until then nobody has any.
CREATE FUNCTION user_org_ids(uid bigint) RETURNS json
LANGUAGE sql STABLE AS $$ SELECT '[]'::json $$;

CREATE VIEW product_facts AS
SELECT p.*,
       v.name AS vendor_name,
       v.kind AS vendor_kind,
       v.poor_households_linked,
       -- vendor_qualified() spelled out, with the threshold read once per
       -- query rather than once per row.
       (v.status = 'approved' AND v.qualified_until IS NOT NULL
        AND v.qualified_until >= (now() AT TIME ZONE 'Asia/Shanghai')::date
        AND v.credit_score >= th.threshold) AS qualified,
       credit_level(v.credit_score) AS credit_level,
       c.id AS county_pk, c.code AS county_code, c.name AS county_name,
       c.is_poverty_county,
       r.id AS region_pk, r.code AS region_code, r.name AS region_name,
       cat.code AS category_code, cat.name AS category_name,
       EXISTS (SELECT 1 FROM bxbp_designations b
               WHERE b.product_id = p.id AND b.revoked_at IS NULL) AS bxbp
FROM products p
JOIN vendors v ON v.id = p.vendor_id
JOIN counties c ON c.id = v.county_id
JOIN regions r ON r.id = c.region_id
JOIN categories cat ON cat.id = p.category_id
CROSS JOIN (SELECT value::integer AS threshold FROM settings
            WHERE key = 'credit_threshold') th;

CREATE FUNCTION product_labels(f product_facts) RETURNS json
LANGUAGE plpgsql STABLE AS $$
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
END $$;

CREATE FUNCTION product_item_json(f product_facts) RETURNS json
LANGUAGE sql STABLE AS $$
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
$$;

CREATE FUNCTION api_product(pid bigint) RETURNS json
LANGUAGE plpgsql STABLE AS $$
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
END $$;

-- The list with every filter of the contract.  Relevance is a plain
-- ranking here (text match, then sales); boost rules refine it later.
CREATE FUNCTION api_products(p_region text, p_county text, p_category text,
    p_vendor bigint, p_q text, p_label text, p_cert text, p_min bigint,
    p_max bigint, p_sort text, p_page integer, p_per_page integer)
RETURNS json LANGUAGE plpgsql STABLE AS $$
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
END $$;

CREATE FUNCTION api_regions() RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT json_build_object('items', coalesce(json_agg(json_build_object(
        'code', r.code, 'name', r.name, 'kind', r.kind,
        'county_count', (SELECT count(*) FROM counties c WHERE c.region_id = r.id),
        'product_count', (SELECT count(*) FROM product_facts f
                          WHERE f.region_pk = r.id AND f.status = 'listed'))
        ORDER BY r.sort, r.id), '[]'))
    FROM regions r);
END $$;

CREATE FUNCTION region_json(r regions) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT json_build_object('code', r.code, 'name', r.name, 'kind', r.kind,
        'intro', r.intro,
        'counties', coalesce((SELECT json_agg(json_build_object('code', c.code,
            'name', c.name, 'is_poverty_county', c.is_poverty_county)
            ORDER BY c.id) FROM counties c WHERE c.region_id = r.id), '[]')));
END $$;

CREATE FUNCTION api_region(p_code text) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT region_json(r) FROM regions r WHERE r.code = p_code);
END $$;

CREATE FUNCTION vendor_json(v vendors) RETURNS json
LANGUAGE plpgsql STABLE AS $$
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
END $$;

CREATE FUNCTION api_vendor(p_id bigint) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT vendor_json(v) FROM vendors v
    WHERE v.id = p_id AND v.status = 'approved');
END $$;

CREATE FUNCTION api_region_shop(p_code text) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT json_build_object(
        'region', region_json(r),
        'featured', coalesce((SELECT json_agg(product_item_json(f) ORDER BY
                f.bxbp DESC, f.sales DESC, f.id)
            FROM (SELECT * FROM product_facts f
                  WHERE f.region_pk = r.id AND f.status = 'listed' AND f.qualified
                  ORDER BY f.bxbp DESC, f.sales DESC, f.id LIMIT 12) f), '[]'),
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

CREATE FUNCTION api_trace(p_code text) RETURNS json
LANGUAGE plpgsql STABLE AS $$
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
END $$;

-- Products of a campaign: those named, plus those its match selects.
CREATE FUNCTION campaign_matches(cm campaigns, f product_facts) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM campaign_products cp
                   WHERE cp.campaign_id = cm.id AND cp.product_id = f.id)
        OR (cm.match <> '{}'::jsonb
            AND (NOT cm.match ? 'region' OR cm.match->>'region' = f.region_code)
            AND (NOT cm.match ? 'category' OR cm.match->>'category' = f.category_code)
            AND (NOT cm.match ? 'poverty_county'
                 OR (cm.match->>'poverty_county')::boolean = f.is_poverty_county)
            AND (NOT cm.match ? 'bxbp' OR (cm.match->>'bxbp')::boolean = f.bxbp))
$$;

CREATE FUNCTION campaign_json(cm campaigns, with_products boolean, lim integer,
    all_named boolean)
RETURNS json LANGUAGE sql STABLE AS $$
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
$$;

CREATE FUNCTION api_campaigns() RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT json_build_object('items', coalesce(json_agg(
        campaign_json(cm, false, 0, false) ORDER BY cm.starts_at DESC, cm.id), '[]'))
    FROM campaigns cm);
END $$;

CREATE FUNCTION api_campaign(p_slug text) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT campaign_json(cm, true, 100, true) FROM campaigns cm WHERE cm.slug = p_slug);
END $$;

-- The 扶贫频道: active campaigns, then sections, qualified vendors only.
CREATE FUNCTION api_channel() RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    WITH q AS (SELECT * FROM product_facts f
               WHERE f.status = 'listed' AND f.qualified)
    SELECT json_build_object(
        'campaigns', coalesce((SELECT json_agg(campaign_json(cm, true, 8, false)
                ORDER BY cm.starts_at, cm.id)
            FROM campaigns cm WHERE now() BETWEEN cm.starts_at AND cm.ends_at), '[]'),
        'sections', (
            SELECT json_agg(s.section ORDER BY s.ord) FROM (
                SELECT 0 AS ord, json_build_object('key', 'seasonal',
                    'title', '当季推荐', 'items', coalesce((
                    SELECT json_agg(product_item_json(x) ORDER BY x.sales DESC, x.id)
                    FROM (SELECT * FROM q WHERE q.kind = 'goods'
                          ORDER BY q.sales DESC, q.id LIMIT 12) x), '[]')) AS section
                UNION ALL
                SELECT 1, json_build_object('key', 'bxbp', 'title', '百县百品',
                    'items', coalesce((
                    SELECT json_agg(product_item_json(x) ORDER BY x.sales DESC, x.id)
                    FROM (SELECT * FROM q WHERE q.bxbp
                          ORDER BY q.sales DESC, q.id LIMIT 12) x), '[]'))
                UNION ALL
                SELECT 2 + r.sort, json_build_object('key', 'region:' || r.code,
                    'title', r.name, 'items', coalesce((
                    SELECT json_agg(product_item_json(x) ORDER BY x.sales DESC, x.id)
                    FROM (SELECT * FROM q WHERE q.region_pk = r.id
                          ORDER BY q.sales DESC, q.id LIMIT 8) x), '[]'))
                FROM regions r
            ) s)));
END $$;
