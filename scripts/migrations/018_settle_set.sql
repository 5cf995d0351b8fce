-- A batch of payment notifications settled with set-based statements
-- (issue 17).  017's settle_payments() judged each notification with
-- payment_settle_one() in turn: per payment its own order moves, and per
-- order part a ledger_write() whose INSERT fired ledger_summary_add(), two
-- upserts of the ledger's summary rows per part.  Every payment of a hot
-- product upserts the same summary rows (its day, region, county, vendor,
-- category), so a batch of 64 payments wrote them 64 times over, one after
-- another, inside its transaction.
--
-- Now the judging is done in memory first, in the batch's order, exactly
-- as payment_settle_one() did it one by one (404 unknown, 422 wrong amount
-- with the payment's notifications still counted, 200 unchanged for a
-- replay or a payment settled earlier in the batch, 'failed', and money
-- for an order no longer payable, or paid by an earlier payment of the
-- batch, refunded whole).  Then each table is written once per batch:
-- payments (one UPDATE), refunds, the parts' events, the parts (with the
-- ledger's per-row trigger held off), the ledger's sale rows in one INSERT
-- by ledger_write_parts() (so its summary trigger upserts each key once),
-- the orders, the orders' events, the products' sales.  Locks are taken
-- as before: payments in id order, then their orders in id order, the
-- summary rows in key order, the products last in id order.
--
-- payment_notify() (a notification settled alone) is a batch of one.

-- Held off by the settlement while it moves parts; it writes their
-- ledger rows itself, set-based.  A setting local to the transaction,
-- set back before the settlement returns.
CREATE OR REPLACE FUNCTION ledger_on_part() RETURNS trigger
LANGUAGE plpgsql AS $$
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
END $$;

-- The ledger rows of many parts (of many orders) in one INSERT, sales or
-- refunds: 016's ledger_write() over a set, and now the only body of it
-- (ledger_write() of one part calls this).  The orders' counters
-- (orders_delta and the per-region, county, vendor, category ones) flip on
-- the first row of each order (and of each order's region, ...) against
-- what the order already had in the ledger: summed per order and key they
-- equal what part after part gave (ledger_flip telescopes), which is all
-- the summaries keep.  A refund reverses what was refunded:
-- order_partial_refund() of a booking's order, else the whole sale.
CREATE FUNCTION ledger_write_parts(p_parts bigint[], p_kind text, p_at timestamptz)
RETURNS integer
LANGUAGE plpgsql AS $$
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
END $$;

-- ledger_write() of 016_services_shop.sql: ledger_write_parts() of one part.
CREATE OR REPLACE FUNCTION ledger_write(p_part bigint, p_kind text, p_at timestamptz)
RETURNS integer
LANGUAGE sql AS $$
    SELECT ledger_write_parts(ARRAY[p_part], p_kind, p_at)
$$;

-- The orders a payment pays (its order, or every order of its bulk order),
-- for many payments at once; two joins an index answers each, where one
-- join on "o.id = p.order_id OR o.bulk_order_id = p.bulk_order_id" reads
-- every order.
CREATE FUNCTION payment_orders(p_ids bigint[])
RETURNS TABLE(payment_id bigint, order_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT p.id, p.order_id FROM payments p
     WHERE p.id = ANY (p_ids) AND p.order_id IS NOT NULL
    UNION ALL
    SELECT p.id, o.id FROM payments p JOIN orders o
        ON o.bulk_order_id = p.bulk_order_id
     WHERE p.id = ANY (p_ids) AND p.bulk_order_id IS NOT NULL
$$;

-- A batch of notifications, [{"payment_id", "status", "amount_fen"}, ...]
-- as the provider signed them: one row (i, status, body) per element, i
-- from 1, each answered as if it had come alone, in the batch's order.
-- An error of SQL rolls the whole batch back; app/settler.c then settles
-- each alone (payment_notify(), a batch of one).
CREATE OR REPLACE FUNCTION settle_payments(p_batch jsonb, p_omap jsonb, p_pmap jsonb)
RETURNS TABLE(i integer, status integer, body json)
LANGUAGE plpgsql AS $$
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
END $$;

CREATE OR REPLACE FUNCTION payment_notify(p_payment bigint, p_result text,
    p_amount bigint, p_omap jsonb, p_pmap jsonb,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT s.status, s.body INTO status, body
      FROM settle_payments(jsonb_build_array(jsonb_build_object(
               'payment_id', p_payment, 'status', p_result,
               'amount_fen', p_amount)), p_omap, p_pmap) s;
END $$;

DROP FUNCTION payment_settle_one(bigint, text, bigint, jsonb, jsonb);
