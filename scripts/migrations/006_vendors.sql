-- Vendors and the 扶贫频道: onboarding and review, credit events, listings,
-- boost rules (流量支持) and the candidates the ranking module orders.
-- Qualification stays derived (vendor_qualified()), so a credit drop or a
-- lapse takes effect in the next statement everywhere.

CREATE TABLE credit_events (
    id              bigserial PRIMARY KEY,
    vendor_id       bigint NOT NULL REFERENCES vendors,
    kind            text NOT NULL CHECK (length(kind) BETWEEN 1 AND 40),
    points          integer NOT NULL CHECK (points BETWEEN -100 AND 100 AND points <> 0),
    note            text NOT NULL DEFAULT '',
    score_after     integer NOT NULL,
    created_by      bigint REFERENCES users,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credit_events_vendor ON credit_events (vendor_id, id);

CREATE TABLE vendor_reviews (
    id              bigserial PRIMARY KEY,
    vendor_id       bigint NOT NULL REFERENCES vendors,
    decision        text NOT NULL CHECK (decision IN ('approve', 'reject')),
    qualified_until date,
    reason          text,
    reviewed_by     bigint NOT NULL REFERENCES users,
    reviewed_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE boost_rules (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    weight          integer NOT NULL CHECK (weight BETWEEN -1000 AND 1000),
    pin_slots       integer NOT NULL DEFAULT 0 CHECK (pin_slots BETWEEN 0 AND 20),
    placements      text[] NOT NULL CHECK (placements <@ ARRAY['search', 'region_shop', 'channel']
                                           AND cardinality(placements) > 0),
    match           jsonb NOT NULL DEFAULT '{}',
    valid_from      timestamptz NOT NULL DEFAULT now(),
    valid_to        timestamptz CHECK (valid_to > valid_from),
    created_by      bigint REFERENCES users,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE boost_rule_history (
    id              bigserial PRIMARY KEY,
    rule_id         bigint NOT NULL REFERENCES boost_rules,
    changed_by      bigint REFERENCES users,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    snapshot        jsonb NOT NULL
);

CREATE FUNCTION boost_rule_json(r boost_rules) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', r.id, 'name', r.name, 'weight', r.weight,
        'pin_slots', r.pin_slots, 'placements', r.placements, 'match', r.match,
        'valid_from', r.valid_from, 'valid_to', r.valid_to,
        'active', r.valid_from <= now() AND (r.valid_to IS NULL OR r.valid_to > now()))
$$;

-- Whether a rule's match selects a product.  Boosts go to qualified
-- vendors only: whatever the match says, losing qualification loses them.
CREATE FUNCTION boost_matches(m jsonb, f product_facts) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT f.qualified
       AND (NOT m ? 'qualified' OR (m->>'qualified')::boolean = f.qualified)
       AND (NOT m ? 'vendor_kind' OR m->>'vendor_kind' = f.vendor_kind)
       AND (NOT m ? 'region' OR m->>'region' = f.region_code)
       AND (NOT m ? 'poverty_county' OR (m->>'poverty_county')::boolean = f.is_poverty_county)
       AND (NOT m ? 'category' OR m->>'category' = f.category_code)
       AND (NOT m ? 'vendor_id' OR (m->>'vendor_id')::bigint = f.vendor_id)
       AND (NOT m ? 'bxbp' OR (m->>'bxbp')::boolean = f.bxbp)
       AND (NOT m ? 'product_ids' OR m->'product_ids' @> to_jsonb(f.id))
$$;

-- The ranking inputs of the listed products that pass a filter, for one
-- placement: text match, sales, the sum of boost weights (rules and live
-- campaigns) and the pin slots of the strongest pinning rule.  The order
-- itself is decided by modules/ranking.c.
CREATE FUNCTION rank_candidates(p_placement text, p_region text, p_county text,
    p_category text, p_vendor bigint, p_q text, p_label text, p_cert text,
    p_min bigint, p_max bigint, p_qualified_only boolean, p_bxbp_only boolean,
    p_limit integer)
RETURNS json LANGUAGE plpgsql STABLE AS $$
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
END $$;

-- The channel's raw material: live campaigns and, per section, candidates.
CREATE OR REPLACE FUNCTION api_channel() RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT json_build_object(
        'campaigns', coalesce((SELECT json_agg(campaign_json(cm, true, 8, false)
                ORDER BY cm.starts_at, cm.id)
            FROM campaigns cm WHERE now() BETWEEN cm.starts_at AND cm.ends_at), '[]'),
        'sections', (
            SELECT json_agg(s.section ORDER BY s.ord) FROM (
                SELECT 0 AS ord, json_build_object('key', 'seasonal',
                    'title', '当季推荐', 'limit', 12,
                    'candidates', rank_candidates('channel', NULL, NULL, NULL, NULL,
                        NULL, NULL, NULL, NULL, NULL, true, false, 1000)) AS section
                UNION ALL
                SELECT 1, json_build_object('key', 'bxbp', 'title', '百县百品',
                    'limit', 12,
                    'candidates', rank_candidates('channel', NULL, NULL, NULL, NULL,
                        NULL, NULL, NULL, NULL, NULL, true, true, 1000))
                UNION ALL
                SELECT 2 + r.sort, json_build_object('key', 'region:' || r.code,
                    'title', r.name, 'limit', 8,
                    'candidates', rank_candidates('channel', r.code, NULL, NULL, NULL,
                        NULL, NULL, NULL, NULL, NULL, true, false, 1000))
                FROM regions r
            ) s)));
END $$;

CREATE OR REPLACE FUNCTION api_region_shop(p_code text) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT json_build_object(
        'region', region_json(r),
        'featured_limit', 12,
        'candidates', rank_candidates('region_shop', r.code, NULL, NULL, NULL,
            NULL, NULL, NULL, NULL, NULL, true, false, 1000),
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

-- A campaign's match reads the same keys as a boost rule's (without the
-- qualified gate, which the callers apply).
CREATE OR REPLACE FUNCTION campaign_matches(cm campaigns, f product_facts)
RETURNS boolean LANGUAGE sql STABLE AS $$
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
$$;

-- Onboarding: a user with role vendor applies once.
CREATE FUNCTION vendor_apply(p_user bigint, p jsonb, OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

CREATE FUNCTION admin_vendor_json(v vendors) RETURNS json
LANGUAGE plpgsql STABLE AS $$
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
END $$;

CREATE FUNCTION api_admin_vendors(p_status text, p_page integer, p_per_page integer)
RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT json_build_object(
        'items', coalesce((SELECT json_agg(admin_vendor_json(v) ORDER BY v.id)
            FROM (SELECT * FROM vendors WHERE p_status IS NULL OR status = p_status
                  ORDER BY id LIMIT p_per_page OFFSET (p_page - 1) * p_per_page) v), '[]'),
        'page', p_page, 'per_page', p_per_page,
        'total', (SELECT count(*) FROM vendors WHERE p_status IS NULL OR status = p_status)));
END $$;

CREATE FUNCTION vendor_review(p_admin bigint, p_vendor bigint, p_decision text,
    p_until date, p_reason text, OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

CREATE FUNCTION vendor_credit_event(p_admin bigint, p_vendor bigint, p_kind text,
    p_points integer, p_note text, OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

-- Listings, as the vendor sees them (drafts and all).
CREATE FUNCTION vendor_product_json(pid bigint) RETURNS json
LANGUAGE plpgsql STABLE AS $$
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
        'sales', p.sales, 'created_at', p.created_at, 'updated_at', p.updated_at)
    FROM products p WHERE p.id = pid);
END $$;

CREATE FUNCTION api_vendor_products(p_user bigint, p_status text, p_page integer,
    p_per_page integer) RETURNS json
LANGUAGE plpgsql STABLE AS $$
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
END $$;

CREATE FUNCTION api_vendor_product(p_user bigint, pid bigint) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT vendor_product_json(p.id) FROM products p JOIN vendors v
             ON v.id = p.vendor_id WHERE p.id = pid AND v.user_id = p_user);
END $$;

-- Creates (pid NULL: a draft) or edits a listing of the caller's vendor
-- from validated JSON; tiers and certifications, when given, replace the
-- old ones.  (status, body); 404 for another vendor's product.
CREATE FUNCTION vendor_product_save(p_user bigint, pid bigint, p jsonb,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

-- Publishing needs an approved vendor (403 vendor_not_approved).
CREATE FUNCTION vendor_product_publish(p_user bigint, pid bigint, p_publish boolean,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

-- Stock set absolutely or moved by a delta, never below zero.
CREATE FUNCTION vendor_product_stock(p_user bigint, pid bigint, p_stock integer,
    p_delta integer, OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

CREATE FUNCTION vendor_batch_add(p_user bigint, pid bigint, p jsonb,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

-- 百县百品: the partial unique index holds one live designation a county.
CREATE FUNCTION bxbp_designate(p_admin bigint, pid bigint, p_on boolean,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

CREATE FUNCTION api_boost_rules() RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT json_build_object('items', coalesce(json_agg(boost_rule_json(r)
        ORDER BY r.id), '[]')) FROM boost_rules r);
END $$;

CREATE FUNCTION boost_rule_save(p_id bigint, p jsonb, p_admin bigint,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

CREATE FUNCTION api_admin_campaigns() RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT json_build_object('items', coalesce(json_agg(
        campaign_json(cm, false, 0, false)::jsonb || jsonb_build_object('id', cm.id,
            'product_ids', coalesce((SELECT jsonb_agg(cp.product_id ORDER BY cp.product_id)
                FROM campaign_products cp WHERE cp.campaign_id = cm.id), '[]'))
        ORDER BY cm.starts_at DESC, cm.id), '[]')) FROM campaigns cm);
END $$;

CREATE FUNCTION campaign_save(p_slug text, p jsonb, OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;
