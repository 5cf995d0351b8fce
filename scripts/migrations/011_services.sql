-- 旅游与康养: listings of kind 'service' sold by the date.  A vendor opens
-- sessions (a date, a capacity, a price, a booking cutoff); a booking takes
-- places of a session under its row lock and is one order, so payment,
-- fees, expiry, the ledger and the reports treat it as any order.  The
-- payment issues one voucher per place; the vendor redeems each once.
-- Places come back, and vouchers stop working, when the order is cancelled,
-- refunded or expires: a trigger on orders does it, whatever path moved it.

CREATE TABLE service_sessions (
    id              bigserial PRIMARY KEY,
    product_id      bigint NOT NULL REFERENCES products,
    vendor_id       bigint NOT NULL REFERENCES vendors,
    date            date NOT NULL,
    starts_at       timestamptz,
    capacity        integer NOT NULL CHECK (capacity BETWEEN 0 AND 10000),
    -- Places held by bookings not cancelled: never above capacity.
    booked          integer NOT NULL DEFAULT 0
                    CHECK (booked >= 0 AND booked <= capacity),
    price_fen       bigint CHECK (price_fen > 0),
    book_until      timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX service_sessions_product ON service_sessions (product_id, date);
CREATE INDEX service_sessions_vendor ON service_sessions (vendor_id, date);

-- A listing's cancellation rules: [{days_before, refund_bps}], days_before
-- strictly decreasing; the first rule the cancellation is at least that
-- many Shanghai days ahead of the session applies, none: no refund.
CREATE TABLE cancellation_rules (
    product_id      bigint PRIMARY KEY REFERENCES products,
    rules           jsonb NOT NULL DEFAULT '[]',
    updated_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bookings (
    id              bigserial PRIMARY KEY,
    session_id      bigint NOT NULL REFERENCES service_sessions,
    -- One order, or for a bulk order one of its orders (several bookings).
    order_id        bigint NOT NULL REFERENCES orders,
    recipient_id    bigint REFERENCES bulk_recipients,
    user_id         bigint NOT NULL REFERENCES users,
    places          integer NOT NULL CHECK (places BETWEEN 1 AND 20),
    guests          jsonb NOT NULL,
    refund_fen      bigint CHECK (refund_fen >= 0),
    -- When the places went back (the order cancelled, refunded, expired).
    released_at     timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bookings_user ON bookings (user_id, id DESC);
CREATE INDEX bookings_order ON bookings (order_id);
CREATE INDEX bookings_session ON bookings (session_id);

CREATE TABLE vouchers (
    id              bigserial PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (code ~ '^[2-9A-HJ-NP-Z]{12}$'),
    booking_id      bigint NOT NULL REFERENCES bookings,
    vendor_id       bigint NOT NULL REFERENCES vendors,
    guest_no        integer NOT NULL,
    guest_name      text NOT NULL,
    status          text NOT NULL DEFAULT 'valid'
                    CHECK (status IN ('valid', 'redeemed', 'void')),
    redeemed_at     timestamptz,
    UNIQUE (booking_id, guest_no)
);

-- 12 characters of a 32-letter alphabet (no 0, O, 1, I): 60 bits from
-- pgcrypto's CSPRNG, 5 bits of each byte, so every letter is as likely.
CREATE FUNCTION voucher_code() RETURNS text
LANGUAGE sql VOLATILE AS $$
    SELECT string_agg(substr('23456789ABCDEFGHJKLMNPQRSTUVWXYZ',
                             (get_byte(x.b, i) & 31) + 1, 1), '' ORDER BY i)
      FROM (SELECT gen_random_bytes(12) AS b) x, generate_series(0, 11) i
$$;

CREATE FUNCTION shanghai_today() RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date
$$;

CREATE FUNCTION session_price(s service_sessions) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce(s.price_fen, (SELECT p.price_fen FROM products p
                                   WHERE p.id = s.product_id))
$$;

CREATE FUNCTION session_json(s service_sessions) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', s.id, 'product_id', s.product_id,
        'date', s.date, 'starts_at', s.starts_at, 'capacity', s.capacity,
        'booked', s.booked, 'available', s.capacity - s.booked,
        'price_fen', session_price(s), 'book_until', s.book_until,
        'status', s.status)
$$;

CREATE FUNCTION booking_json(bid bigint) RETURNS json
LANGUAGE sql STABLE AS $$
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
$$;

-- The vendor of a user, or NULL.
CREATE FUNCTION user_vendor(p_user bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT id FROM vendors WHERE user_id = p_user
$$;

-- ------------------------------------------------------------ sessions

-- Opens a session of the vendor's service listing.  b: {date, starts_at,
-- capacity, price_fen, book_until}, checked for shape by the server; the
-- times are judged here against the session's Shanghai date.
CREATE FUNCTION vendor_session_create(p_user bigint, pid bigint, b jsonb,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

-- {capacity} (never below booked) and/or {status: open|closed}.
CREATE FUNCTION vendor_session_update(p_user bigint, sid bigint, b jsonb,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

-- The public's view: open sessions of a listed service from today.
CREATE FUNCTION api_product_sessions(pid bigint, p_from date, p_to date)
RETURNS json LANGUAGE sql STABLE AS $$
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
$$;

-- The vendor's view of a listing's sessions, closed and past ones too.
CREATE FUNCTION api_vendor_sessions(p_user bigint, pid bigint, p_from date, p_to date)
RETURNS json LANGUAGE sql STABLE AS $$
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
$$;

CREATE FUNCTION vendor_cancellation_put(p_user bigint, pid bigint, p_rules jsonb,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

-- ------------------------------------------------------------ booking

-- What the server prices a booking from: checkout_quote()'s shape for the
-- session's listing, at the session's price, with the places left as its
-- stock; NULL for no such session of a listed service.
CREATE FUNCTION booking_quote(sid bigint, p_places integer) RETURNS json
LANGUAGE plpgsql STABLE AS $$
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
END $$;

-- Places a booking from its priced order (app/http_services.c), in one
-- transaction: the session is locked, its places checked and taken, and the
-- order written as place_orders() writes one.  A price or waiver cap that
-- moved since the quote is 409 'stale' and the server prices again.
CREATE FUNCTION booking_place(p_user bigint, p_key text, p_hash text, sid bigint,
    p_guests jsonb, p_order jsonb, OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

CREATE FUNCTION api_booking(p_user bigint, bid bigint) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT booking_json(b.id) FROM bookings b WHERE b.id = bid AND b.user_id = p_user
$$;

CREATE FUNCTION api_my_bookings(p_user bigint, p_page integer, p_per_page integer)
RETURNS json LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'items', coalesce((SELECT json_agg(booking_json(b.id) ORDER BY b.id DESC)
            FROM (SELECT id FROM bookings WHERE user_id = p_user
                  ORDER BY id DESC LIMIT p_per_page
                  OFFSET (p_page - 1) * p_per_page) b), '[]'),
        'page', p_page, 'per_page', p_per_page,
        'total', (SELECT count(*) FROM bookings WHERE user_id = p_user))
$$;

-- The share of the price refunded when a booking of session date d is
-- cancelled at p_at: the first rule whose days_before the cancellation is
-- at least that many Shanghai days ahead of d; none, nothing.
CREATE FUNCTION cancellation_refund_bps(pid bigint, d date, p_at timestamptz)
RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT (r->>'refund_bps')::integer
                       FROM cancellation_rules c, jsonb_array_elements(c.rules) r
                      WHERE c.product_id = pid
                        AND d - (p_at AT TIME ZONE 'Asia/Shanghai')::date
                            >= (r->>'days_before')::integer
                      ORDER BY (r->>'days_before')::integer DESC LIMIT 1), 0)
$$;

-- Cancels the booking of order oid, the order locked by the caller: an
-- unpaid one is cancelled; a paid one refunded as the listing's rules say.
-- The places and vouchers follow through the trigger on orders.  NULL when
-- the order cannot be cancelled (a voucher redeemed, or its status).
CREATE FUNCTION booking_cancel_order(oid bigint, p_actor bigint, p_omap jsonb,
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
    was := order_move(oid, 'cancel', p_omap, p_pmap, p_actor);
    IF was IS NULL THEN
        RETURN NULL;
    END IF;
    IF was = 'paid' THEN
        SELECT * INTO pay FROM payments WHERE order_id = oid AND status = 'succeeded'
         ORDER BY id LIMIT 1 FOR UPDATE;
        IF FOUND THEN
            refund := pay.amount_fen * cancellation_refund_bps(s.product_id, s.date, now())
                      / 10000;
            UPDATE payments SET status = 'refunded' WHERE id = pay.id;
            UPDATE products SET sales = greatest(sales - b.places, 0)
             WHERE id = s.product_id;
            IF refund > 0 THEN
                INSERT INTO refunds (payment_id, order_id, amount_fen, status, reason)
                VALUES (pay.id, oid, refund, 'succeeded',
                        'booking cancelled by buyer');
            END IF;
        END IF;
    END IF;
    UPDATE bookings SET refund_fen = refund WHERE id = b.id;
    RETURN was;
END $$;

CREATE FUNCTION booking_cancel(p_user bigint, bid bigint, p_omap jsonb,
    p_pmap jsonb, OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

-- An order that a booking is: payment issues the vouchers; cancellation,
-- refund or expiry gives the places back and voids the vouchers.
CREATE FUNCTION booking_on_order() RETURNS trigger
LANGUAGE plpgsql AS $$
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
END $$;
CREATE TRIGGER booking_on_order AFTER UPDATE OF status ON orders
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION booking_on_order();

-- ------------------------------------------------------------ vouchers

CREATE FUNCTION vendor_voucher_redeem(p_user bigint, p_code text,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

-- ------------------------------------------------------------ orders

-- Whether a line of order oid for product pid is booked places, not stock.
CREATE FUNCTION line_booked(oid bigint, pid bigint) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM bookings b JOIN service_sessions s ON s.id = b.session_id
                    WHERE b.order_id = oid AND s.product_id = pid)
$$;

-- order_restock_all() of 003_orders.sql: a booked line gives places back
-- (booking_on_order), not stock, so a restock skips it.
CREATE OR REPLACE FUNCTION order_restock_all(oids bigint[], was_paid boolean)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM products
      WHERE id IN (SELECT product_id FROM order_lines l WHERE l.order_id = ANY (oids)
                      AND NOT line_booked(l.order_id, l.product_id))
      ORDER BY id FOR UPDATE;
    UPDATE products p SET stock = p.stock + l.qty,
        sales = CASE WHEN was_paid THEN greatest(p.sales - l.qty, 0) ELSE p.sales END,
        updated_at = now()
    FROM (SELECT product_id, sum(qty) AS qty FROM order_lines l
          WHERE l.order_id = ANY (oids) AND NOT line_booked(l.order_id, l.product_id)
          GROUP BY product_id) l
    WHERE p.id = l.product_id;
END $$;

-- order_action() of 003_orders.sql; cancelling a booking's order goes by
-- the listing's cancellation rules (booking_cancel_order), not in full.
CREATE OR REPLACE FUNCTION order_action(p_user bigint, oid bigint, p_event text,
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
END $$;

-- ------------------------------------------------------------ bulk orders

-- An organisation's bulk order may book sessions for its recipients (a
-- union's group trip): a line {product_id, qty, session_id} takes qty places
-- of that session for the recipient, at the listing's price (its tiers by
-- the total quantity, as any bulk line), and becomes a booking of the
-- vendor's order when the bulk order is placed.  The functions below are
-- those of 005_orgs.sql with the sessions added.
ALTER TABLE bulk_lines ADD COLUMN session_id bigint REFERENCES service_sessions;
ALTER TABLE bulk_lines DROP CONSTRAINT bulk_lines_recipient_id_product_id_key;
ALTER TABLE bulk_lines ADD CONSTRAINT bulk_lines_recipient_product_session
    UNIQUE NULLS NOT DISTINCT (recipient_id, product_id, session_id);

CREATE OR REPLACE FUNCTION bulk_product_errors(p_rows jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
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
END $$;

CREATE OR REPLACE FUNCTION bulk_fill(p_bid bigint, p_rows jsonb) RETURNS void
LANGUAGE plpgsql AS $$
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
END $$;

CREATE OR REPLACE FUNCTION bulk_place_input(p_user bigint, p_org bigint, p_bid bigint,
    OUT status integer, OUT body json)
LANGUAGE plpgsql STABLE AS $$
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
END $$;

CREATE OR REPLACE FUNCTION bulk_place(p_user bigint, p_org bigint, p_bid bigint, p_route text,
    p_key text, p_hash text, p_order jsonb, OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;
