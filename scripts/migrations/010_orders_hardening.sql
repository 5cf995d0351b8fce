-- What an afternoon's attack found (issue 10, item 5): payments that name
-- where the buyer returns to, a limit on each buyer's unpaid orders (so
-- that nobody holds the stock of a shop for half an hour at a time), and
-- members who join an organisation by accepting an invitation instead of
-- being added by anyone who knows their address.

-- ------------------------------------------------------------ payments

-- Where the sandbox's cashier page sends the buyer back to: a path of
-- ours, checked by the server (app/http_orders.c).
ALTER TABLE payments ADD COLUMN return_url text
    CHECK (return_url IS NULL OR (return_url ~ '^/($|[^/\\])' AND length(return_url) <= 512));

DROP FUNCTION create_payment(bigint, bigint, text, text, text);

-- A payment for the whole of a pending order; pay_url is the provider's
-- cashier page (the sandbox's own, outside /api/v1).
CREATE FUNCTION create_payment(p_user bigint, oid bigint, p_provider text,
    p_key text, p_hash text, p_return text, OUT status integer, OUT body json)
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
    INSERT INTO payments (order_id, user_id, provider, amount_fen, return_url)
    VALUES (oid, p_user, p_provider, o.total_fen, p_return) RETURNING * INTO pay;
    status := 201;
    body := payment_json(pay);
    PERFORM idem_store(p_user, route, p_key, status, body);
END $$;

CREATE FUNCTION payment_json(pay payments) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_strip_nulls(json_build_object('payment_id', pay.id,
        'provider', pay.provider, 'amount_fen', pay.amount_fen,
        'status', pay.status, 'pay_url', '/sandbox/pay/' || pay.id,
        'return_url', pay.return_url, 'order_id', pay.order_id,
        'bulk_order_id', pay.bulk_order_id))
$$;

-- What the sandbox's cashier page shows of a payment, and where it sends
-- the buyer afterwards; NULL for no such payment.
CREATE FUNCTION sandbox_payment(p_id bigint) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('payment_id', p.id, 'amount_fen', p.amount_fen,
        'status', p.status,
        'order_no', (SELECT o.order_no FROM orders o WHERE o.id = p.order_id),
        'return_url', coalesce(p.return_url,
            CASE WHEN p.order_id IS NOT NULL THEN '/orders/' || p.order_id
                 ELSE '/' END))
      FROM payments p WHERE p.id = p_id AND p.provider = 'sandbox'
$$;

-- One payment for every order of a placed bulk order (as in 005_orgs.sql),
-- now with its pay_url.
CREATE OR REPLACE FUNCTION bulk_create_payment(p_user bigint, p_org bigint, p_bid bigint,
    p_provider text, p_route text, p_key text, p_hash text,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

-- ------------------------------------------------------------ unpaid orders

-- A buyer's own orders awaiting payment (a bulk order's are its
-- organisation's, approved through its own trail, and do not count);
-- those past their deadline are as good as expired.
CREATE INDEX orders_user_unpaid ON orders (user_id, pay_before)
    WHERE status = 'pending_payment' AND bulk_order_id IS NULL;

CREATE FUNCTION unpaid_orders(p_user bigint, t timestamptz) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT count(*)::integer FROM orders
     WHERE user_id = p_user AND status = 'pending_payment'
       AND bulk_order_id IS NULL AND pay_before > t
$$;

-- The advisory lock space of "a buyer's unpaid orders" (place_orders()).
CREATE FUNCTION unpaid_lock_space() RETURNS integer
LANGUAGE sql IMMUTABLE AS $$ SELECT 1651798833 $$;

-- place_orders() of 007_checkout_fast.sql, with the limit: an order may
-- carry max_unpaid, and a buyer who already has that many unpaid orders
-- (those placed before in the same batch included) gets 409
-- too_many_unpaid_orders for it, with nothing taken.  The count is made
-- under a per-buyer advisory lock, taken after the idempotency keys and
-- before the products, so that the order of locks stays fixed.
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
    pcat text[]; ptitle text[];
    vid bigint[]; vq boolean[]; vname text[]; vkind text[]; vpoor boolean[]; vregion text[];
    o jsonb; c jsonb; k integer; j integer; j0 integer; p integer; v integer;
    s integer; b json; short jsonb; stale boolean; taken jsonb; cnt integer;
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

-- ------------------------------------------------------------ invitations

-- An admin invites an address to a role; the person behind it, if any,
-- sees the invitation and accepts or declines it.  Nothing is looked up
-- when inviting, so the answer (and its time) says nothing about whether
-- the address has an account.  An invitation lapses after 14 days.
CREATE TABLE org_invitations (
    id              bigserial PRIMARY KEY,
    org_id          bigint NOT NULL REFERENCES orgs,
    email           text NOT NULL CHECK (email = lower(email)),
    role            text NOT NULL CHECK (role IN ('buyer', 'approver', 'admin')),
    invited_by      bigint NOT NULL REFERENCES users,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'accepted', 'declined')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    answered_at     timestamptz,
    answered_by     bigint REFERENCES users
);
CREATE UNIQUE INDEX org_invitations_open ON org_invitations (org_id, email, role)
    WHERE status = 'pending';
CREATE INDEX org_invitations_email ON org_invitations (email) WHERE status = 'pending';

CREATE FUNCTION invitation_ttl() RETURNS interval
LANGUAGE sql IMMUTABLE AS $$ SELECT interval '14 days' $$;

-- The old direct add, which answered whether an address had an account.
DROP FUNCTION org_member_add(bigint, bigint, text, text);

-- 202 for any address, known or not; inviting again renews the invitation.
CREATE FUNCTION org_invite(p_user bigint, p_org bigint, p_email text, p_role text,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

-- The caller's open invitations: addressed to the e-mail of the account,
-- not lapsed, and from someone who is still an admin of the organisation.
CREATE FUNCTION my_invitations(p_user bigint) RETURNS SETOF org_invitations
LANGUAGE sql STABLE AS $$
    SELECT i.* FROM org_invitations i JOIN users u ON i.email = lower(u.email)
     WHERE u.id = p_user AND i.status = 'pending'
       AND i.created_at > now() - invitation_ttl()
       AND EXISTS (SELECT 1 FROM org_members m WHERE m.org_id = i.org_id
                    AND m.user_id = i.invited_by AND m.role = 'admin')
$$;

CREATE FUNCTION invitation_json(i org_invitations) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', i.id,
        'org', (SELECT json_build_object('id', o.id, 'name', o.name, 'kind', o.kind)
                  FROM orgs o WHERE o.id = i.org_id),
        'role', i.role, 'invited_by', user_brief(i.invited_by),
        'status', i.status, 'created_at', i.created_at,
        'expires_at', i.created_at + invitation_ttl())
$$;

CREATE FUNCTION api_my_invitations(p_user bigint) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('items', coalesce(json_agg(invitation_json(i)
        ORDER BY i.id DESC), '[]'))
      FROM my_invitations(p_user) i
$$;

-- Accept (the caller becomes a member in that role) or decline; another
-- user's invitation, or one lapsed or answered, is 404.
CREATE FUNCTION invitation_answer(p_user bigint, p_id bigint, p_accept boolean,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;

-- An admin removes a member (p_role NULL) or one role of a member; any
-- member may leave.  The organisation's row is locked first, so that two
-- admins removing each other cannot leave it without one: the last admin
-- stays (409 last_admin).
CREATE FUNCTION org_member_remove(p_user bigint, p_org bigint, p_target bigint,
    p_role text, OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
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
END $$;
