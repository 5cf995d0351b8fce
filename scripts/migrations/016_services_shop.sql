-- 旅游与康养 in the shop: a service is booked by the date, never carted
-- (the cart's facts say a product's kind, PUT /cart/items/{id} answers 422
-- not_a_good, checkout refuses a service line the same way); a service
-- order's answer carries its booking_id; and a paid booking cancelled with
-- a partial refund reverses only the refunded amount in the ledger.

-- The cart's facts, with the product's kind.
CREATE OR REPLACE FUNCTION cart_facts(p_ids bigint[]) RETURNS json
LANGUAGE plpgsql STABLE AS $$
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
END $$;

-- Checkout as 010 placed it, and a line of a service refused: 422
-- not_a_good, with the line in errors[], nothing placed.
CREATE OR REPLACE FUNCTION place_orders(p_batch jsonb)
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
END $$;

-- Generic plans: the batch's size is known only at run time, and planning
-- every statement of every call again would cost more than the placing.
ALTER FUNCTION place_orders(jsonb) SET plan_cache_mode = force_generic_plan;

-- ------------------------------------------------------------ orders

-- An order's booking: the booking it is, or for an order of a bulk order
-- that books sessions, the first of them (GET /me/bookings has them all);
-- NULL for an order of goods.
CREATE FUNCTION order_booking_id(oid bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT min(b.id) FROM bookings b WHERE b.order_id = oid
$$;

-- order_json() of 003_orders.sql with booking_id.
CREATE OR REPLACE FUNCTION order_json(oid bigint) RETURNS json
LANGUAGE plpgsql STABLE AS $$
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
END $$;

-- ------------------------------------------------------------ partial refunds

-- A paid booking cancelled under its listing's rules may refund only a
-- share of the price: the rest is the vendor's, a sale that stands.  The
-- ledger reverses only the refunded amount (an entry of kind 'refund' with
-- qty 0: the line still counts, its amount is what was kept), nothing at
-- all when nothing was refunded, and the whole sale when all was.  Bookings
-- cancelled before this migration were reversed in full: they keep that.
ALTER TABLE bookings ADD COLUMN ledger_full_reversal boolean NOT NULL DEFAULT false;
UPDATE bookings SET ledger_full_reversal = true WHERE refund_fen IS NOT NULL;

-- What the cancellation of order oid's booking refunded, when it went by
-- the listing's rules (one booking, one line: a bulk order's bookings go
-- with their order, in full); NULL otherwise: a refund takes the whole
-- order out.
CREATE FUNCTION order_partial_refund(oid bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT b.refund_fen FROM bookings b JOIN orders o ON o.id = b.order_id
     WHERE b.order_id = oid AND o.bulk_order_id IS NULL
       AND b.refund_fen IS NOT NULL AND NOT b.ledger_full_reversal
     ORDER BY b.id LIMIT 1
$$;

-- What of a line's amount stands once its order is closed: the line's
-- total less the refunded share for a booking refunded in part, else 0.
CREATE FUNCTION line_kept_fen(oid bigint, p_total bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce(greatest(p_total - order_partial_refund(oid), 0), 0)
$$;

ALTER TABLE ledger_entries DROP CONSTRAINT ledger_entries_check;
ALTER TABLE ledger_entries ADD CONSTRAINT ledger_entries_check
    CHECK ((kind = 'sale' AND amount_fen >= 0 AND qty > 0)
        OR (kind = 'refund' AND amount_fen <= 0 AND qty < 0)
        OR (kind = 'refund' AND amount_fen < 0 AND qty = 0));

-- ledger_write() of 004_ledger.sql; a 'refund' reverses what was refunded:
-- order_partial_refund() of a booking's order, else the whole sale.
CREATE OR REPLACE FUNCTION ledger_write(p_part bigint, p_kind text, p_at timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    oid bigint;
    n integer;
    part_refund bigint;
BEGIN
    SELECT order_id INTO oid FROM order_parts WHERE id = p_part;
    IF p_kind = 'refund' THEN
        part_refund := order_partial_refund(oid);
    END IF;
    WITH fresh AS (
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
        WHERE p_kind = 'sale' AND p.id = p_part
          AND NOT EXISTS (SELECT 1 FROM ledger_entries e
                          WHERE e.order_line_id = l.id AND e.kind = 'sale')
        UNION ALL
        SELECT e.order_line_id, e.order_id, e.part_id, e.product_id,
               CASE WHEN part_refund IS NULL OR part_refund >= e.amount_fen
                    THEN -e.qty ELSE 0 END,
               -least(coalesce(part_refund, e.amount_fen), e.amount_fen),
               e.region_id, e.county_id, e.poverty_county,
               e.vendor_id, e.vendor_qualified, e.bxbp, e.category_id,
               e.user_id, e.org_id, e.households_linked
        FROM ledger_entries e
        WHERE p_kind = 'refund' AND e.order_id = oid AND e.part_id = p_part
          AND e.kind = 'sale'
          AND coalesce(part_refund, 1) <> 0
          AND NOT EXISTS (SELECT 1 FROM ledger_entries r
                          WHERE r.order_line_id = e.order_line_id
                            AND r.kind = 'refund')
    ), prior AS (
        SELECT e.region_id, e.county_id, e.vendor_id, e.category_id,
               e.amount_fen
        FROM ledger_entries e WHERE e.order_id = oid
    ), w AS (
        SELECT f.*,
               row_number() OVER (ORDER BY f.line_id) AS n_all,
               sum(f.amount) OVER () AS a_all,
               row_number() OVER (PARTITION BY f.region_id ORDER BY f.line_id) AS n_region,
               sum(f.amount) OVER (PARTITION BY f.region_id) AS a_region,
               row_number() OVER (PARTITION BY f.county_id ORDER BY f.line_id) AS n_county,
               sum(f.amount) OVER (PARTITION BY f.county_id) AS a_county,
               row_number() OVER (PARTITION BY f.vendor_id ORDER BY f.line_id) AS n_vendor,
               sum(f.amount) OVER (PARTITION BY f.vendor_id) AS a_vendor,
               row_number() OVER (PARTITION BY f.category_id ORDER BY f.line_id) AS n_category,
               sum(f.amount) OVER (PARTITION BY f.category_id) AS a_category
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
               (SELECT coalesce(sum(p.amount_fen), 0) FROM prior p), w.a_all)
               ELSE 0 END,
           CASE WHEN w.n_region = 1 THEN ledger_flip(
               (SELECT coalesce(sum(p.amount_fen), 0) FROM prior p
                WHERE p.region_id = w.region_id), w.a_region) ELSE 0 END,
           CASE WHEN w.n_county = 1 THEN ledger_flip(
               (SELECT coalesce(sum(p.amount_fen), 0) FROM prior p
                WHERE p.county_id = w.county_id), w.a_county) ELSE 0 END,
           CASE WHEN w.n_vendor = 1 THEN ledger_flip(
               (SELECT coalesce(sum(p.amount_fen), 0) FROM prior p
                WHERE p.vendor_id = w.vendor_id), w.a_vendor) ELSE 0 END,
           CASE WHEN w.n_category = 1 THEN ledger_flip(
               (SELECT coalesce(sum(p.amount_fen), 0) FROM prior p
                WHERE p.category_id = w.category_id), w.a_category) ELSE 0 END
    FROM w ORDER BY w.line_id
    ON CONFLICT (order_line_id, kind) WHERE order_line_id IS NOT NULL DO NOTHING;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- The summaries count a line by the sign of its entry's qty: +1 a sale, -1
-- a reversal in full, 0 a partial one (the line still counts).  The same
-- as 004's kind for every entry written before.
CREATE OR REPLACE FUNCTION ledger_summary_add() RETURNS trigger
LANGUAGE plpgsql AS $$
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
END $$;

CREATE OR REPLACE FUNCTION ledger_summary_rebuild() RETURNS void
LANGUAGE plpgsql AS $$
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
END $$;

-- booking_cancel_order() of 011_services.sql, the refund decided before the
-- order moves: the ledger's reversal (written as the order's part leaves
-- paid) reads it from the booking.
CREATE OR REPLACE FUNCTION booking_cancel_order(oid bigint, p_actor bigint, p_omap jsonb,
    p_pmap jsonb) RETURNS text
LANGUAGE plpgsql AS $$
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
        UPDATE products SET sales = greatest(sales - b.places, 0)
         WHERE id = s.product_id;
        IF refund > 0 THEN
            INSERT INTO refunds (payment_id, order_id, amount_fen, status, reason)
            VALUES (pay.id, oid, refund, 'succeeded', 'booking cancelled by buyer');
        END IF;
    END IF;
    RETURN was;
END $$;
