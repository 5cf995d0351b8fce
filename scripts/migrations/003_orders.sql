-- Orders: fee rules, orders split per vendor, payments, refunds, shipments,
-- idempotency keys and the event trail.  Every change of several rows is
-- one function, so one statement and one transaction from the server.
-- Status changes take their {from: to} maps from the C state machine
-- (modules/order_fsm.c): SQL applies them, it does not invent them.

CREATE TABLE fee_rules (
    id                  bigserial PRIMARY KEY,
    name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    commission_bps      integer NOT NULL CHECK (commission_bps BETWEEN 0 AND 10000),
    waiver_bps          integer NOT NULL DEFAULT 0 CHECK (waiver_bps BETWEEN 0 AND 10000),
    match               jsonb NOT NULL DEFAULT '{}',
    cap_fen_per_month   bigint CHECK (cap_fen_per_month >= 0),
    valid_from          timestamptz NOT NULL DEFAULT now(),
    valid_to            timestamptz CHECK (valid_to > valid_from),
    priority            integer NOT NULL DEFAULT 0,
    created_by          bigint REFERENCES users,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Rules are data with their history: every version, who and when.
CREATE TABLE fee_rule_history (
    id              bigserial PRIMARY KEY,
    rule_id         bigint NOT NULL REFERENCES fee_rules,
    changed_by      bigint REFERENCES users,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    snapshot        jsonb NOT NULL
);

-- Waivers granted per rule, vendor and Shanghai month, against the cap.
CREATE TABLE fee_cap_usage (
    rule_id         bigint NOT NULL REFERENCES fee_rules,
    vendor_id       bigint NOT NULL REFERENCES vendors,
    month           date NOT NULL,
    waived_fen      bigint NOT NULL CHECK (waived_fen >= 0),
    PRIMARY KEY (rule_id, vendor_id, month)
);

CREATE TABLE orders (
    id              bigserial PRIMARY KEY,
    order_no        text NOT NULL UNIQUE,
    user_id         bigint NOT NULL REFERENCES users,
    org_id          bigint,
    bulk_order_id   bigint,
    status          text NOT NULL CHECK (status IN ('pending_payment', 'paid',
                        'shipped', 'completed', 'cancelled', 'refunded')),
    total_fen       bigint NOT NULL CHECK (total_fen >= 0),
    address         jsonb NOT NULL,
    note            text NOT NULL DEFAULT '',
    pay_before      timestamptz NOT NULL,
    paid_at         timestamptz,
    closed_at       timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_user ON orders (user_id, id DESC);
CREATE INDEX orders_unpaid ON orders (pay_before) WHERE status = 'pending_payment';
CREATE INDEX orders_bulk ON orders (bulk_order_id) WHERE bulk_order_id IS NOT NULL;

CREATE TABLE order_parts (
    id              bigserial PRIMARY KEY,
    order_id        bigint NOT NULL REFERENCES orders,
    vendor_id       bigint NOT NULL REFERENCES vendors,
    status          text NOT NULL CHECK (status IN ('pending', 'paid', 'shipped',
                        'cancelled', 'refunded')),
    subtotal_fen    bigint NOT NULL CHECK (subtotal_fen >= 0),
    fee_fen         bigint NOT NULL DEFAULT 0,
    fee_waived_fen  bigint NOT NULL DEFAULT 0,
    shipped_at      timestamptz,
    UNIQUE (order_id, vendor_id)
);
CREATE INDEX order_parts_vendor ON order_parts (vendor_id, id DESC);

CREATE TABLE order_lines (
    id              bigserial PRIMARY KEY,
    order_id        bigint NOT NULL REFERENCES orders,
    part_id         bigint NOT NULL REFERENCES order_parts,
    product_id      bigint NOT NULL REFERENCES products,
    qty             integer NOT NULL CHECK (qty > 0),
    unit_price_fen  bigint NOT NULL CHECK (unit_price_fen > 0),
    line_total_fen  bigint NOT NULL CHECK (line_total_fen >= 0),
    fee_fen         bigint NOT NULL DEFAULT 0 CHECK (fee_fen >= 0),
    fee_waived_fen  bigint NOT NULL DEFAULT 0
                    CHECK (fee_waived_fen >= 0 AND fee_waived_fen <= fee_fen),
    fee_rule_id     bigint REFERENCES fee_rules,
    commission_bps  integer NOT NULL DEFAULT 0,
    waiver_bps      integer NOT NULL DEFAULT 0,
    recipient_id    bigint
);
CREATE INDEX order_lines_order ON order_lines (order_id);
CREATE INDEX order_lines_part ON order_lines (part_id);

CREATE TABLE shipments (
    id              bigserial PRIMARY KEY,
    part_id         bigint NOT NULL REFERENCES order_parts,
    recipient_id    bigint,
    carrier         text NOT NULL,
    tracking_no     text NOT NULL,
    shipped_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX shipments_part ON shipments (part_id);

CREATE TABLE payments (
    id              bigserial PRIMARY KEY,
    order_id        bigint REFERENCES orders,
    bulk_order_id   bigint,
    user_id         bigint NOT NULL REFERENCES users,
    provider        text NOT NULL CHECK (provider IN ('sandbox')),
    amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'succeeded', 'failed', 'refunded')),
    notifications   integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    settled_at      timestamptz,
    CHECK ((order_id IS NULL) <> (bulk_order_id IS NULL))
);
CREATE INDEX payments_order ON payments (order_id);

CREATE TABLE refunds (
    id              bigserial PRIMARY KEY,
    payment_id      bigint NOT NULL REFERENCES payments,
    order_id        bigint NOT NULL REFERENCES orders,
    amount_fen      bigint NOT NULL CHECK (amount_fen > 0),
    status          text NOT NULL CHECK (status IN ('pending', 'succeeded')),
    reason          text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Idempotency: scoped to the user and the route, with a digest of the body
-- and the first answer.  status 0 marks a request still in flight.
CREATE TABLE idempotency_keys (
    user_id         bigint NOT NULL REFERENCES users,
    route           text NOT NULL,
    key             text NOT NULL,
    request_hash    text NOT NULL,
    status          integer NOT NULL DEFAULT 0,
    response        json,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, route, key)
);

CREATE TABLE order_events (
    id              bigserial PRIMARY KEY,
    order_id        bigint NOT NULL REFERENCES orders,
    part_id         bigint REFERENCES order_parts,
    event           text NOT NULL,
    from_status     text,
    to_status       text NOT NULL,
    actor_id        bigint,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_events_order ON order_events (order_id);

CREATE FUNCTION shanghai_month(t timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT date_trunc('month', t AT TIME ZONE 'Asia/Shanghai')::date
$$;

CREATE FUNCTION fee_rule_json(r fee_rules) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', r.id, 'name', r.name,
        'commission_bps', r.commission_bps, 'waiver_bps', r.waiver_bps,
        'match', r.match, 'cap_fen_per_month', r.cap_fen_per_month,
        'valid_from', r.valid_from, 'valid_to', r.valid_to,
        'priority', r.priority, 'updated_at', r.updated_at)
$$;

-- The unit price a quantity reaches: the tier with the largest min_qty
-- not above it, else the list price.
CREATE FUNCTION tier_price(pid bigint, list_price bigint, qty bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT coalesce((SELECT t.unit_price_fen FROM price_tiers t
                     WHERE t.product_id = pid AND t.min_qty <= qty
                     ORDER BY t.min_qty DESC LIMIT 1), list_price));
END $$;

-- What the server needs to price a cart and decide its fees: the lines'
-- catalog facts, the rules valid now, and this month's use of the caps.
CREATE FUNCTION checkout_quote(p_items jsonb) RETURNS json
LANGUAGE plpgsql STABLE AS $$
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
END $$;

CREATE FUNCTION order_json(oid bigint) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT json_build_object('id', o.id, 'order_no', o.order_no,
        'status', o.status, 'total_fen', o.total_fen,
        'address', o.address, 'note', o.note,
        'pay_before', o.pay_before, 'paid_at', o.paid_at,
        'created_at', o.created_at, 'bulk_order_id', o.bulk_order_id,
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

-- The facts a cart needs of each product (app/facts.c keeps them).
CREATE FUNCTION cart_facts(p_ids bigint[]) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(json_agg(json_build_object('product_id', p.id,
        'title', p.title, 'vendor_id', p.vendor_id, 'listed', p.status = 'listed',
        'stock', p.stock, 'list_price_fen', p.price_fen,
        'tiers', coalesce((SELECT json_agg(json_build_object('min_qty', t.min_qty,
            'unit_price_fen', t.unit_price_fen)) FROM price_tiers t
            WHERE t.product_id = p.id), '[]')) ORDER BY p.id), '[]')
    FROM products p WHERE p.id = ANY (p_ids));
END $$;

-- Looks up an idempotency key: NULL when new, else (status, response),
-- or 422 when the key was used with another body.
CREATE FUNCTION idem_lookup(p_user bigint, p_route text, p_key text, p_hash text,
    OUT status integer, OUT body json)
LANGUAGE plpgsql STABLE AS $$
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
END $$;

-- Claims a key inside the caller's transaction.  Returns NULL when claimed;
-- else the stored answer (a concurrent twin committed first) or 422.
CREATE FUNCTION idem_claim(p_user bigint, p_route text, p_key text, p_hash text,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

CREATE FUNCTION idem_store(p_user bigint, p_route text, p_key text,
    p_status integer, p_body json) RETURNS void
LANGUAGE sql AS $$
    UPDATE idempotency_keys SET status = p_status, response = p_body
     WHERE user_id = p_user AND route = p_route AND key = p_key
$$;

CREATE FUNCTION idem_release(p_user bigint, p_route text, p_key text) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM idempotency_keys
     WHERE user_id = p_user AND route = p_route AND key = p_key AND status = 0
$$;

-- Places an order from a priced cart (see app/http_orders.c), in one
-- transaction: products are locked in id order, so concurrent checkouts
-- never deadlock, and checked again: a short line is 409 with nothing
-- taken; a price, listing, qualification or cap that moved since the quote
-- is 409 'stale' and the server quotes again.
CREATE FUNCTION place_order(p_user bigint, p_key text, p_hash text, p_order jsonb,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
    c jsonb;
    p record;
    short jsonb := '[]';
    stale boolean := false;
    oid bigint;
    found_n integer := 0;
    route constant text := 'POST /orders';
BEGIN
    SELECT i.status, i.body INTO status, body
      FROM idem_claim(p_user, route, p_key, p_hash) i;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;

    FOR p IN
        SELECT pr.id, pr.stock, pr.status AS pstatus, pr.vendor_id,
               tier_price(pr.id, pr.price_fen, (x->>'qty')::bigint) AS unit_price_fen,
               vendor_qualified(v.status, v.qualified_until, v.credit_score) AS qualified,
               (x->>'qty')::integer AS qty, x
        FROM jsonb_array_elements(p_order->'lines') x
        JOIN products pr ON pr.id = (x->>'product_id')::bigint
        JOIN vendors v ON v.id = pr.vendor_id
        ORDER BY pr.id
        FOR UPDATE OF pr
    LOOP
        found_n := found_n + 1;
        IF p.pstatus <> 'listed' OR p.stock < p.qty THEN
            short := short || jsonb_build_object('field', 'items.' || p.id,
                'product_id', p.id, 'requested', p.qty,
                'available', CASE WHEN p.pstatus = 'listed' THEN p.stock ELSE 0 END,
                'message', 'not enough stock');
        ELSIF p.unit_price_fen <> (p.x->>'unit_price_fen')::bigint
           OR p.qualified <> (p.x->>'qualified')::boolean
           OR p.vendor_id <> (p.x->>'vendor_id')::bigint THEN
            stale := true;
        END IF;
    END LOOP;

    IF found_n <> jsonb_array_length(p_order->'lines') THEN
        stale := true;
    END IF;

    IF jsonb_array_length(short) > 0 OR stale THEN
        PERFORM idem_release(p_user, route, p_key);
        IF jsonb_array_length(short) > 0 THEN
            status := 409;
            body := json_build_object('code', 'insufficient_stock', 'errors', short);
        ELSE
            status := 409;
            body := json_build_object('code', 'stale');
        END IF;
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
            PERFORM idem_release(p_user, route, p_key);
            status := 409;
            body := json_build_object('code', 'stale');
            RETURN;
        END IF;
    END LOOP;

    UPDATE products pr SET stock = pr.stock - (x->>'qty')::integer, updated_at = now()
      FROM jsonb_array_elements(p_order->'lines') x
     WHERE pr.id = (x->>'product_id')::bigint;

    -- The order, its parts (one a vendor), lines and events: set-based, so
    -- the statement count does not grow with the number of vendors.
    oid := nextval('orders_id_seq');
    INSERT INTO orders (id, order_no, user_id, org_id, bulk_order_id, status,
                        total_fen, address, note, pay_before)
    VALUES (oid, 'BF' || to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')
                 || lpad(oid::text, 8, '0'),
            p_user, (p_order->>'org_id')::bigint, (p_order->>'bulk_order_id')::bigint,
            'pending_payment',
            (SELECT sum((x->>'line_total_fen')::bigint)
               FROM jsonb_array_elements(p_order->'lines') x),
            p_order->'address', coalesce(p_order->>'note', ''),
            now() + make_interval(secs => (p_order->>'pay_timeout_s')::integer));

    WITH l AS (
        SELECT (x->>'vendor_id')::bigint AS vendor_id,
               (x->>'product_id')::bigint AS product_id,
               (x->>'qty')::integer AS qty,
               (x->>'unit_price_fen')::bigint AS unit_price_fen,
               (x->>'line_total_fen')::bigint AS line_total_fen,
               (x->>'fee_fen')::bigint AS fee_fen,
               (x->>'fee_waived_fen')::bigint AS fee_waived_fen,
               nullif((x->>'fee_rule_id')::bigint, 0) AS fee_rule_id,
               coalesce((x->>'commission_bps')::integer, 0) AS commission_bps,
               coalesce((x->>'waiver_bps')::integer, 0) AS waiver_bps,
               (x->>'recipient_id')::bigint AS recipient_id,
               ord
        FROM jsonb_array_elements(p_order->'lines') WITH ORDINALITY AS t(x, ord)
    ), parts AS (
        INSERT INTO order_parts (order_id, vendor_id, status, subtotal_fen, fee_fen,
                                 fee_waived_fen)
        SELECT oid, vendor_id, 'pending', sum(line_total_fen), sum(fee_fen),
               sum(fee_waived_fen)
        FROM l GROUP BY vendor_id ORDER BY vendor_id
        RETURNING id, vendor_id
    ), lines AS (
        INSERT INTO order_lines (order_id, part_id, product_id, qty, unit_price_fen,
            line_total_fen, fee_fen, fee_waived_fen, fee_rule_id, commission_bps,
            waiver_bps, recipient_id)
        SELECT oid, parts.id, l.product_id, l.qty, l.unit_price_fen, l.line_total_fen,
               l.fee_fen, l.fee_waived_fen, l.fee_rule_id, l.commission_bps,
               l.waiver_bps, l.recipient_id
        FROM l JOIN parts ON parts.vendor_id = l.vendor_id ORDER BY l.ord
    )
    INSERT INTO order_events (order_id, part_id, event, to_status, actor_id)
    SELECT oid, NULL::bigint, 'create', 'pending_payment', p_user
    UNION ALL
    SELECT oid, parts.id, 'create', 'pending', p_user FROM parts;

    status := 201;
    body := order_json(oid);
    IF p_key IS NOT NULL THEN
        PERFORM idem_store(p_user, route, p_key, status, body);
    END IF;
END $$;

-- Moves an order and its parts along the maps given by the state machine.
-- Every part must have a move when the part map is not empty (a shipped
-- part blocks a cancel).  Returns NULL when the order cannot move.
CREATE FUNCTION order_move(oid bigint, p_event text, p_omap jsonb, p_pmap jsonb,
    p_actor bigint) RETURNS text
LANGUAGE plpgsql AS $$
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
END $$;

-- Gives the stock of an order back (cancel, refund, expiry).
CREATE FUNCTION order_restock_all(oids bigint[], was_paid boolean) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Products are locked in id order, as checkout locks them: whatever
    -- the orders, a restock and a checkout never wait on each other in a
    -- cycle.
    PERFORM 1 FROM products
      WHERE id IN (SELECT product_id FROM order_lines WHERE order_id = ANY (oids))
      ORDER BY id FOR UPDATE;
    UPDATE products p SET stock = p.stock + l.qty,
        sales = CASE WHEN was_paid THEN greatest(p.sales - l.qty, 0) ELSE p.sales END,
        updated_at = now()
    FROM (SELECT product_id, sum(qty) AS qty FROM order_lines
          WHERE order_id = ANY (oids) GROUP BY product_id) l
    WHERE p.id = l.product_id;
END $$;

CREATE FUNCTION order_restock(oid bigint, was_paid boolean) RETURNS void
LANGUAGE sql AS $$
    SELECT order_restock_all(ARRAY[oid], was_paid)
$$;

-- Refunds the succeeded payment of an order through the sandbox provider,
-- which settles refunds at once.
CREATE FUNCTION order_refund(oid bigint, p_reason text) RETURNS void
LANGUAGE plpgsql AS $$
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
END $$;

-- The owner's actions: cancel and confirm.  (status, body): 404 for an
-- order that is not the caller's, 409 when the state machine refuses.
CREATE FUNCTION order_action(p_user bigint, oid bigint, p_event text,
    p_omap jsonb, p_pmap jsonb, OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
    was text;
BEGIN
    PERFORM 1 FROM orders WHERE id = oid AND user_id = p_user FOR UPDATE;
    IF NOT FOUND THEN
        status := 404;
        RETURN;
    END IF;
    was := order_move(oid, p_event, p_omap, p_pmap, p_user);
    IF was IS NULL THEN
        status := 409;
        body := json_build_object('code', 'invalid_transition',
                                  'status', (SELECT o.status FROM orders o WHERE o.id = oid));
        RETURN;
    END IF;
    IF p_event = 'cancel' THEN
        PERFORM order_restock(oid, was = 'paid');
        IF was = 'paid' THEN
            PERFORM order_refund(oid, 'cancelled by buyer');
        END IF;
    END IF;
    status := 200;
    body := order_json(oid);
END $$;

CREATE FUNCTION api_orders(p_user bigint, p_page integer, p_per_page integer)
RETURNS json LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT json_build_object(
        'items', coalesce((SELECT json_agg(order_json(o.id) ORDER BY o.id DESC)
            FROM (SELECT id FROM orders WHERE user_id = p_user
                  ORDER BY id DESC LIMIT p_per_page
                  OFFSET (p_page - 1) * p_per_page) o), '[]'),
        'page', p_page, 'per_page', p_per_page,
        'total', (SELECT count(*) FROM orders WHERE user_id = p_user)));
END $$;

CREATE FUNCTION api_order(p_user bigint, oid bigint) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT order_json(o.id) FROM orders o WHERE o.id = oid AND o.user_id = p_user);
END $$;

-- A payment for the whole of a pending order.
CREATE FUNCTION create_payment(p_user bigint, oid bigint, p_provider text,
    p_key text, p_hash text, OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
    INSERT INTO payments (order_id, user_id, provider, amount_fen)
    VALUES (oid, p_user, p_provider, o.total_fen) RETURNING * INTO pay;
    status := 201;
    body := json_build_object('payment_id', pay.id, 'provider', pay.provider,
        'amount_fen', pay.amount_fen, 'status', pay.status, 'order_id', oid);
    PERFORM idem_store(p_user, route, p_key, status, body);
END $$;

-- The provider's notification, already authenticated by its signature.
-- Repeats change nothing; a wrong amount is refused; a success for an
-- order that expired meanwhile is refunded at once.
CREATE FUNCTION payment_notify(p_payment bigint, p_result text, p_amount bigint,
    p_omap jsonb, p_pmap jsonb, OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
    pay payments;
    was text;
    oid bigint;
    paid bigint[] := '{}';
BEGIN
    SELECT * INTO pay FROM payments WHERE id = p_payment FOR UPDATE;
    IF NOT FOUND THEN
        status := 404;
        RETURN;
    END IF;
    UPDATE payments SET notifications = notifications + 1 WHERE id = pay.id;
    IF pay.amount_fen <> p_amount THEN
        status := 422;
        body := json_build_object('code', 'amount_mismatch',
                                  'expected_fen', pay.amount_fen);
        RETURN;
    END IF;
    IF pay.status <> 'pending' THEN
        status := 200;
        body := json_build_object('payment_id', pay.id, 'status', pay.status,
                                  'changed', false);
        RETURN;
    END IF;
    IF p_result = 'failed' THEN
        UPDATE payments SET status = 'failed', settled_at = now() WHERE id = pay.id;
    ELSE
        UPDATE payments SET status = 'succeeded', settled_at = now() WHERE id = pay.id;
        -- All the payment's orders must still be payable, or none is paid:
        -- money that arrives after an order expired goes back whole.  The
        -- orders are locked first (in id order, as everywhere) so that the
        -- expiry job cannot slip in between the check and the moves.
        PERFORM 1 FROM orders o
          WHERE o.id = pay.order_id
             OR (pay.bulk_order_id IS NOT NULL AND o.bulk_order_id = pay.bulk_order_id)
          ORDER BY o.id FOR UPDATE;
        IF EXISTS (SELECT 1 FROM orders o
                    WHERE (o.id = pay.order_id
                       OR (pay.bulk_order_id IS NOT NULL
                           AND o.bulk_order_id = pay.bulk_order_id))
                      AND (p_omap->>o.status) IS NULL) THEN
            UPDATE payments SET status = 'refunded' WHERE id = pay.id;
            INSERT INTO refunds (payment_id, order_id, amount_fen, status, reason)
            SELECT pay.id, min(o.id), pay.amount_fen, 'succeeded', 'order no longer payable'
              FROM orders o
             WHERE o.id = pay.order_id
                OR (pay.bulk_order_id IS NOT NULL AND o.bulk_order_id = pay.bulk_order_id);
        ELSE
            FOR oid IN SELECT o.id FROM orders o
                        WHERE o.id = pay.order_id
                           OR (pay.bulk_order_id IS NOT NULL
                               AND o.bulk_order_id = pay.bulk_order_id)
                        ORDER BY o.id
            LOOP
                PERFORM order_move(oid, 'pay', p_omap, p_pmap, NULL);
                paid := paid || oid;
            END LOOP;
            -- Sales counts, products locked in id order as checkout does.
            PERFORM 1 FROM products
              WHERE id IN (SELECT product_id FROM order_lines
                           WHERE order_id = ANY (paid))
              ORDER BY id FOR UPDATE;
            UPDATE products p SET sales = p.sales + l.qty
              FROM (SELECT product_id, sum(qty) AS qty FROM order_lines
                    WHERE order_id = ANY (paid) GROUP BY product_id) l
             WHERE p.id = l.product_id;
        END IF;
    END IF;
    status := 200;
    body := json_build_object('payment_id', pay.id,
        'status', (SELECT p.status FROM payments p WHERE p.id = pay.id),
        'changed', true);
END $$;

-- Cancels unpaid orders past their deadline, a batch at a time.  SKIP
-- LOCKED lets any number of workers and nodes run it: each order is
-- cancelled by exactly one of them.
CREATE FUNCTION expire_orders(p_omap jsonb, p_pmap jsonb, p_limit integer)
RETURNS integer LANGUAGE plpgsql AS $$
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
    -- One restock for the batch, locking its products in id order.
    IF cardinality(moved) > 0 THEN
        PERFORM order_restock_all(moved, false);
    END IF;
    RETURN cardinality(moved);
END $$;

-- A vendor ships its part; the order ships when its last part does.
CREATE FUNCTION vendor_ship(p_user bigint, p_part bigint, p_carrier text,
    p_tracking text, p_pmap jsonb, p_omap jsonb, OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

CREATE FUNCTION vendor_part_json(pid bigint) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT json_build_object('id', p.id, 'order_id', o.id, 'order_no', o.order_no,
        'status', p.status, 'order_status', o.status,
        'subtotal_fen', p.subtotal_fen, 'fee_fen', p.fee_fen,
        'fee_waived_fen', p.fee_waived_fen, 'address', o.address,
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
END $$;

CREATE FUNCTION api_vendor_orders(p_user bigint, p_status text, p_page integer,
    p_per_page integer) RETURNS json
LANGUAGE plpgsql STABLE AS $$
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
END $$;

-- What a vendor earned over [from, to] (Shanghai dates, by payment time):
-- gross, the platform's fee, what the rules waived, and the lines.
CREATE FUNCTION api_vendor_statement(p_user bigint, p_from date, p_to date)
RETURNS json LANGUAGE plpgsql STABLE AS $$
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
END $$;

CREATE FUNCTION api_fee_rules() RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT json_build_object('items', coalesce(json_agg(fee_rule_json(r)
        ORDER BY r.priority DESC, r.id), '[]')) FROM fee_rules r);
END $$;

-- Creates (p_id NULL) or updates a rule from validated JSON, keeping the
-- version in the history.  Fields absent from an update keep their value.
CREATE FUNCTION fee_rule_save(p_id bigint, p jsonb, p_admin bigint,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;
