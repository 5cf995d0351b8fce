-- Checkout without a quote round trip: the server prices a cart from its
-- per-worker caches (app/facts.c, the fee rules in app/pricing.c) and
-- place_order() checks what the price rests on under the row locks.  Only a
-- capped waiver asks the database first (cap_usage), and anything found
-- stale sends the server back to checkout_quote().

-- The facts a cart and a checkout need of each product: now with what the
-- fee rules match on and the names the order answer shows.  Index lookups
-- only: the view product_facts hash-joins whole tables for a few lines.
CREATE OR REPLACE FUNCTION cart_facts(p_ids bigint[]) RETURNS json
LANGUAGE plpgsql STABLE AS $$
DECLARE
    th integer := credit_threshold();
    today date := (now() AT TIME ZONE 'Asia/Shanghai')::date;
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_object('product_id', p.id,
        'title', p.title, 'vendor_id', p.vendor_id, 'listed', p.status = 'listed',
        'stock', p.stock, 'list_price_fen', p.price_fen,
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
END $$;

-- The fee rules that are or will be in force, as checkout_quote() lists
-- them; the server keeps them per worker and picks by the time of day.
CREATE FUNCTION fee_rules_live() RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_object('id', r.id,
        'name', r.name, 'commission_bps', r.commission_bps,
        'waiver_bps', r.waiver_bps, 'match', r.match,
        'cap_fen_per_month', r.cap_fen_per_month,
        'valid_from', extract(epoch FROM r.valid_from)::bigint,
        'valid_to', extract(epoch FROM r.valid_to)::bigint,
        'priority', r.priority) ORDER BY r.id), '[]')
    FROM fee_rules r WHERE r.valid_to IS NULL OR r.valid_to > now());
END $$;

-- This month's use of the waiver caps of these (rule, vendor) pairs.
CREATE FUNCTION cap_usage(p_rules bigint[], p_vendors bigint[]) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_object('rule_id', u.rule_id,
        'vendor_id', u.vendor_id, 'waived_fen', u.waived_fen)), '[]')
    FROM unnest(p_rules, p_vendors) AS k(rule_id, vendor_id)
    JOIN fee_cap_usage u ON u.rule_id = k.rule_id AND u.vendor_id = k.vendor_id
     AND u.month = shanghai_month(now()));
END $$;

-- A line of a priced order, as the server sends it.
CREATE TYPE order_line_in AS (
    product_id      bigint,
    vendor_id       bigint,
    qty             integer,
    unit_price_fen  bigint,
    qualified       boolean,
    line_total_fen  bigint,
    fee_fen         bigint,
    fee_waived_fen  bigint,
    fee_rule_id     bigint,
    commission_bps  integer,
    waiver_bps      integer
);

-- Places an order from a priced cart in one transaction.  Products are
-- locked in id order (no deadlock between checkouts) and checked again:
-- a short or unlisted line is 409 insufficient_stock with nothing taken;
-- a price, vendor or qualification that moved since the pricing, or a cap
-- that no longer holds, is 409 'stale' and the server quotes again from
-- the database.  The answer is the order's identity (the server has the
-- rest), or the whole order when an idempotency key keeps it for replays.
DROP FUNCTION place_order(bigint, text, text, jsonb);
CREATE FUNCTION place_order(p_user bigint, p_key text, p_hash text, p_order jsonb,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
    ls order_line_in[];
    l order_line_in;
    p record;
    c jsonb;
    short jsonb := '[]';
    stale boolean := false;
    oid bigint;
    n integer := 0;
    total bigint := 0;
    t timestamptz := now();
    route constant text := 'POST /orders';
BEGIN
    IF p_key IS NOT NULL THEN
        SELECT i.status, i.body INTO status, body
          FROM idem_claim(p_user, route, p_key, p_hash) i;
        IF status IS NOT NULL THEN
            RETURN;
        END IF;
    END IF;

    ls := ARRAY(SELECT x FROM jsonb_populate_recordset(NULL::order_line_in,
                p_order->'lines') x ORDER BY x.product_id);

    FOR p IN
        SELECT pr.id, pr.stock, pr.status = 'listed' AS listed, pr.vendor_id,
               pr.price_fen
        FROM products pr WHERE pr.id = ANY (ARRAY(SELECT (x).product_id FROM unnest(ls) x))
        ORDER BY pr.id
        FOR UPDATE
    LOOP
        n := n + 1;
        l := ls[n];
        IF l.product_id <> p.id THEN
            stale := true;      -- a line names a product twice or none
            EXIT;
        END IF;
        IF NOT p.listed OR p.stock < l.qty THEN
            short := short || jsonb_build_object('field', 'items.' || p.id,
                'product_id', p.id, 'requested', l.qty,
                'available', CASE WHEN p.listed THEN p.stock ELSE 0 END,
                'message', 'not enough stock');
        ELSIF p.vendor_id <> l.vendor_id
           OR tier_price(p.id, p.price_fen, l.qty) <> l.unit_price_fen THEN
            stale := true;
        END IF;
        total := total + l.line_total_fen;
    END LOOP;
    IF n <> coalesce(array_length(ls, 1), 0) THEN
        stale := true;
    END IF;

    IF jsonb_array_length(short) = 0 AND NOT stale THEN
        -- The vendors' names for the answer, and their qualification now.
        SELECT coalesce(json_agg(json_build_object('vendor_id', v.id, 'vendor_name', v.name)
                                 ORDER BY v.id), '[]'),
               bool_or(vendor_qualified(v.status, v.qualified_until, v.credit_score)
                       IS DISTINCT FROM q.qualified)
          INTO body, stale
          FROM (SELECT (x).vendor_id, bool_and((x).qualified) AS qualified
                  FROM unnest(ls) x GROUP BY 1) q
          JOIN vendors v ON v.id = q.vendor_id;
        stale := coalesce(stale, true);
    END IF;

    IF jsonb_array_length(short) > 0 OR stale THEN
        IF p_key IS NOT NULL THEN
            PERFORM idem_release(p_user, route, p_key);
        END IF;
        status := 409;
        body := CASE WHEN jsonb_array_length(short) > 0
            THEN json_build_object('code', 'insufficient_stock', 'errors', short)
            ELSE json_build_object('code', 'stale') END;
        RETURN;
    END IF;

    -- Waiver caps: taken only if they still hold.
    FOR c IN SELECT * FROM jsonb_array_elements(p_order->'caps') ORDER BY
        (value->>'rule_id')::bigint, (value->>'vendor_id')::bigint
    LOOP
        INSERT INTO fee_cap_usage AS u (rule_id, vendor_id, month, waived_fen)
        VALUES ((c->>'rule_id')::bigint, (c->>'vendor_id')::bigint,
                shanghai_month(t), (c->>'waived_fen')::bigint)
        ON CONFLICT (rule_id, vendor_id, month) DO UPDATE
            SET waived_fen = u.waived_fen + EXCLUDED.waived_fen
            WHERE u.waived_fen + EXCLUDED.waived_fen <= (c->>'cap_fen')::bigint;
        IF NOT FOUND THEN
            IF p_key IS NOT NULL THEN
                PERFORM idem_release(p_user, route, p_key);
            END IF;
            status := 409;
            body := json_build_object('code', 'stale');
            RETURN;
        END IF;
    END LOOP;

    UPDATE products pr SET stock = pr.stock - x.qty, updated_at = t
      FROM unnest(ls) x WHERE pr.id = x.product_id;

    oid := nextval('orders_id_seq');
    INSERT INTO orders (id, order_no, user_id, status, total_fen, address, note,
                        pay_before, created_at, updated_at)
    VALUES (oid, 'BF' || to_char(t AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')
                 || lpad(oid::text, 8, '0'),
            p_user, 'pending_payment', total, p_order->'address',
            coalesce(p_order->>'note', ''),
            t + make_interval(secs => (p_order->>'pay_timeout_s')::integer), t, t);

    -- Parts (one a vendor), lines in the order given, and the events.
    WITH parts AS (
        INSERT INTO order_parts (order_id, vendor_id, status, subtotal_fen, fee_fen,
                                 fee_waived_fen)
        SELECT oid, (x).vendor_id, 'pending', sum((x).line_total_fen),
               sum((x).fee_fen), sum((x).fee_waived_fen)
        FROM unnest(ls) x GROUP BY 2 ORDER BY 2
        RETURNING id, vendor_id
    ), lines AS (
        INSERT INTO order_lines (order_id, part_id, product_id, qty, unit_price_fen,
            line_total_fen, fee_fen, fee_waived_fen, fee_rule_id, commission_bps,
            waiver_bps)
        SELECT oid, parts.id, y.product_id, y.qty, y.unit_price_fen, y.line_total_fen,
               y.fee_fen, y.fee_waived_fen, nullif(y.fee_rule_id, 0),
               coalesce(y.commission_bps, 0), coalesce(y.waiver_bps, 0)
        FROM jsonb_populate_recordset(NULL::order_line_in, p_order->'lines')
             WITH ORDINALITY AS y
        JOIN parts ON parts.vendor_id = y.vendor_id ORDER BY y.ordinality
    ), ev AS (
        INSERT INTO order_events (order_id, part_id, event, to_status, actor_id,
                                  created_at)
        SELECT oid, NULL::bigint, 'create', 'pending_payment', p_user, t
        UNION ALL
        SELECT oid, parts.id, 'create', 'pending', p_user, t FROM parts
    )
    SELECT json_agg(json_build_object('id', parts.id, 'vendor_id', parts.vendor_id)
                    ORDER BY parts.id) INTO c FROM parts;

    status := 201;
    IF p_key IS NOT NULL THEN
        body := order_json(oid);
        PERFORM idem_store(p_user, route, p_key, status, body);
    ELSE
        body := json_build_object('id', oid,
            'order_no', 'BF' || to_char(t AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')
                        || lpad(oid::text, 8, '0'),
            'created_at', t,
            'pay_before', t + make_interval(secs => (p_order->>'pay_timeout_s')::integer),
            'parts', c, 'vendors', body);
    END IF;
END $$;
