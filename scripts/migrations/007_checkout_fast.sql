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

-- A line of a priced order, as the server sends it; oi and pos are the
-- line's order in the batch and its place in that order.
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
    waiver_bps      integer,
    -- what the fee rules matched on, as the server saw it
    vendor_kind     text,
    poverty_county  boolean,
    region          text,
    category        text,
    oi              integer,
    pos             integer
);

-- Places a batch of priced carts, [{user, key, hash, order}], in one
-- transaction: the orders that reach a worker while its last batch is in
-- the database share one statement and one commit (app/placer.c).  Each
-- order is judged as if alone and after the ones before it in the batch:
--   * every product of the batch is locked in id order first, so batches
--     never deadlock on products, and stock is checked against what the
--     orders before took: a short or unlisted line is 409
--     insufficient_stock for that order, with nothing of it taken;
--   * a price, vendor, qualification or anything the fee rules match on
--     (vendor kind, poverty county, region, category) that moved since the
--     server priced the cart, or a waiver cap that no longer holds, is 409
--     'stale' and the server quotes that cart again from the database;
--   * an idempotency key replays its stored answer, or is claimed.
-- One row per order: (i, status, body), i counting from 1.  A 201's body is
-- the order's identity, parts and titles (the server has the rest), or the
-- whole order when an idempotency key keeps it for replays.
DROP FUNCTION place_order(bigint, text, text, jsonb);
CREATE FUNCTION place_orders(p_batch jsonb)
RETURNS TABLE (i integer, status integer, body json)
LANGUAGE plpgsql AS $$
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
    pcat text[]; ptitle text[];
    vid bigint[]; vq boolean[]; vname text[]; vkind text[]; vpoor boolean[]; vregion text[];
    o jsonb; c jsonb; k integer; j integer; j0 integer; p integer; v integer;
    s integer; b json; short jsonb; stale boolean; taken jsonb; cnt integer;
    t timestamptz := now();
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
           array_agg(q.category ORDER BY q.id), array_agg(q.title ORDER BY q.id)
      INTO pid, rem, listed, pvendor, pcat, ptitle
      FROM (SELECT pr.id, pr.stock::bigint, pr.status = 'listed' AS listed, pr.vendor_id,
                   (SELECT c.code FROM categories c WHERE c.id = pr.category_id) AS category,
                   pr.title
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
        stale := false;
        WHILE j <= array_length(ls, 1) AND ls[j].oi = k LOOP
            l := ls[j];
            p := array_position(pid, l.product_id);
            v := array_position(vid, l.vendor_id);
            IF p IS NULL OR v IS NULL OR (j > j0 AND ls[j - 1].product_id = l.product_id) THEN
                stale := true;
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
        IF jsonb_array_length(short) = 0 AND NOT stale THEN
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

        IF jsonb_array_length(short) > 0 OR stale THEN
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
END $$;

-- Generic plans: the batch's size is known only at run time, and planning
-- every statement of every call again would cost more than the placing.
ALTER FUNCTION place_orders(jsonb) SET plan_cache_mode = force_generic_plan;
