-- Organisations and 以购代捐 (clause 一, 二): buying organisations with
-- members in roles, yearly procurement plans, bulk orders with many
-- recipients, their approval trail, placement into per-vendor orders with
-- one shipment per recipient, and the report against the plan.
--
-- Every function that acts for a user answers (status, body) like those of
-- 003_orders.sql: 404 for anyone who is not a member of the organisation
-- (its data is another's object), 403 for a member without the role.
-- Error bodies are {code, detail[, errors]}; app/http_orgs.c maps them.

CREATE TABLE orgs (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    kind            text NOT NULL CHECK (kind IN ('enterprise', 'agency', 'soe', 'ngo')),
    -- 统一社会信用代码 (GB 32100-2015), checked in C with its check character.
    credit_code     text NOT NULL UNIQUE CHECK (credit_code ~ '^[0-9A-HJ-NPQRTUWXY]{18}$'),
    created_by      bigint NOT NULL REFERENCES users,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- A member holds one row per role: buyer, approver, admin.
CREATE TABLE org_members (
    org_id          bigint NOT NULL REFERENCES orgs,
    user_id         bigint NOT NULL REFERENCES users,
    role            text NOT NULL CHECK (role IN ('buyer', 'approver', 'admin')),
    added_by        bigint REFERENCES users,
    added_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, user_id, role)
);
CREATE INDEX org_members_user ON org_members (user_id);

-- The yearly plan (clause 一: 明确一定额度或一定比例): a budget and the part of
-- it reserved for paired-region products, given as an amount or a share
-- (reserved_basis says which; the other is derived by modules/quota.c).
CREATE TABLE procurement_plans (
    org_id                  bigint NOT NULL REFERENCES orgs,
    year                    integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    budget_fen              bigint NOT NULL CHECK (budget_fen >= 0),
    reserved_fen            bigint NOT NULL CHECK (reserved_fen >= 0 AND reserved_fen <= budget_fen),
    reserved_share_bps      integer NOT NULL CHECK (reserved_share_bps BETWEEN 0 AND 10000),
    reserved_basis          text NOT NULL CHECK (reserved_basis IN ('amount', 'share')),
    approval_threshold_fen  bigint NOT NULL CHECK (approval_threshold_fen >= 0),
    updated_by              bigint REFERENCES users,
    updated_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (org_id, year)
);

CREATE TABLE procurement_plan_history (
    id              bigserial PRIMARY KEY,
    org_id          bigint NOT NULL,
    year            integer NOT NULL,
    changed_by      bigint REFERENCES users,
    changed_at      timestamptz NOT NULL DEFAULT now(),
    snapshot        jsonb NOT NULL
);

CREATE TABLE bulk_orders (
    id                  bigserial PRIMARY KEY,
    org_id              bigint NOT NULL REFERENCES orgs,
    purpose             text NOT NULL
                        CHECK (purpose IN ('welfare', 'meeting_supply', 'canteen', 'other')),
    status              text NOT NULL DEFAULT 'draft'
                        CHECK (status IN ('draft', 'submitted', 'approved', 'rejected', 'placed')),
    -- The quote as last computed (at each change of recipients, at submit
    -- and when placement found prices moved): what was approved.
    quote               jsonb NOT NULL DEFAULT '{}',
    total_fen           bigint NOT NULL DEFAULT 0 CHECK (total_fen >= 0),
    recipients_count    integer NOT NULL DEFAULT 0,
    lines_count         integer NOT NULL DEFAULT 0,
    needs_approval      boolean,
    created_by          bigint NOT NULL REFERENCES users,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    submitted_by        bigint REFERENCES users,
    submitted_at        timestamptz,
    decided_by          bigint REFERENCES users,
    decided_at          timestamptz,
    reject_reason       text,
    placed_by           bigint REFERENCES users,
    placed_at           timestamptz
);
CREATE INDEX bulk_orders_org ON bulk_orders (org_id, id DESC);

CREATE TABLE bulk_recipients (
    id              bigserial PRIMARY KEY,
    bulk_order_id   bigint NOT NULL REFERENCES bulk_orders,
    seq             integer NOT NULL,
    name            text NOT NULL,
    phone           text NOT NULL,
    address         text NOT NULL,
    UNIQUE (bulk_order_id, seq)
);

CREATE TABLE bulk_lines (
    id              bigserial PRIMARY KEY,
    bulk_order_id   bigint NOT NULL REFERENCES bulk_orders,
    recipient_id    bigint NOT NULL REFERENCES bulk_recipients,
    product_id      bigint NOT NULL REFERENCES products,
    qty             integer NOT NULL CHECK (qty > 0),
    UNIQUE (recipient_id, product_id)
);
CREATE INDEX bulk_lines_order ON bulk_lines (bulk_order_id, product_id);

-- The trail: every step, who (NULL: the rules themselves) and when.
CREATE TABLE bulk_events (
    id              bigserial PRIMARY KEY,
    bulk_order_id   bigint NOT NULL REFERENCES bulk_orders,
    action          text NOT NULL CHECK (action IN ('create', 'recipients_replaced',
                        'submit', 'approve', 'reject', 'requote', 'place')),
    from_status     text,
    to_status       text NOT NULL,
    actor_id        bigint REFERENCES users,
    note            text,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX bulk_events_order ON bulk_events (bulk_order_id, id);

-- Orders and shipments of bulk orders (columns of 003_orders.sql).
CREATE INDEX orders_org ON orders (org_id, paid_at) WHERE org_id IS NOT NULL;
CREATE INDEX shipments_recipient ON shipments (recipient_id) WHERE recipient_id IS NOT NULL;
-- A bulk order's shipments exist from placement, one per recipient and
-- vendor, and are shipped (shipped_at set) when the vendor ships its part.
ALTER TABLE shipments ALTER COLUMN shipped_at DROP NOT NULL;

-- When a vendor ships a bulk part (vendor_ship() inserts one shipment for
-- the part), the waybill fills the part's pending per-recipient shipments
-- instead of adding a row of its own.
CREATE FUNCTION shipments_fill_recipients() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.recipient_id IS NULL THEN
        UPDATE shipments SET carrier = NEW.carrier, tracking_no = NEW.tracking_no,
               shipped_at = coalesce(NEW.shipped_at, now())
         WHERE part_id = NEW.part_id AND recipient_id IS NOT NULL AND shipped_at IS NULL;
        IF FOUND THEN
            RETURN NULL;
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER shipments_fill_recipients BEFORE INSERT ON shipments
    FOR EACH ROW EXECUTE FUNCTION shipments_fill_recipients();

-- The orders of a bulk order share one payment, which order_refund() of
-- 003_orders.sql looks for by order: when such an order is refunded (a
-- cancel after payment), its refund of its own total is recorded against
-- the bulk payment here, and the payment is refunded with its last order.
CREATE FUNCTION bulk_order_refund() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    pay payments;
BEGIN
    SELECT * INTO pay FROM payments
     WHERE bulk_order_id = NEW.bulk_order_id AND status = 'succeeded'
     ORDER BY id LIMIT 1 FOR UPDATE;
    IF FOUND THEN
        INSERT INTO refunds (payment_id, order_id, amount_fen, status, reason)
        VALUES (pay.id, NEW.id, NEW.total_fen, 'succeeded',
                'order of bulk order ' || NEW.bulk_order_id || ' refunded');
        IF NOT EXISTS (SELECT 1 FROM orders o WHERE o.bulk_order_id = NEW.bulk_order_id
                        AND o.id <> NEW.id AND o.status <> 'refunded') THEN
            UPDATE payments SET status = 'refunded' WHERE id = pay.id;
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER bulk_order_refund AFTER UPDATE OF status ON orders
    FOR EACH ROW WHEN (NEW.status = 'refunded' AND OLD.status <> 'refunded'
                       AND NEW.bulk_order_id IS NOT NULL)
    EXECUTE FUNCTION bulk_order_refund();

-- ------------------------------------------------------------ helpers

-- GET /me's org_ids (the placeholder of 002_catalog_read.sql).
CREATE OR REPLACE FUNCTION user_org_ids(uid bigint) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT coalesce(json_agg(DISTINCT m.org_id ORDER BY m.org_id), '[]')
    FROM org_members m WHERE m.user_id = uid);
END $$;

CREATE FUNCTION org_err(p_code text, p_detail text, p_errors jsonb DEFAULT NULL)
RETURNS json LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN p_errors IS NULL
        THEN json_build_object('code', p_code, 'detail', p_detail)
        ELSE json_build_object('code', p_code, 'detail', p_detail, 'errors', p_errors) END
$$;

-- The share part/whole in basis points, rounded half up; NULL without a
-- whole.  The same rule as quota_share_bps() in modules/quota.c.
CREATE FUNCTION share_bps(part bigint, whole bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN whole IS NULL OR whole <= 0 THEN NULL
                ELSE (part * 10000 + whole / 2) / whole END
$$;

CREATE FUNCTION shanghai_year(t timestamptz) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT extract(year FROM t AT TIME ZONE 'Asia/Shanghai')::integer
$$;

-- The caller's roles in the organisation, NULL when not a member.
CREATE FUNCTION org_roles(p_user bigint, p_org bigint) RETURNS text[]
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT array_agg(m.role ORDER BY m.role) FROM org_members m
     WHERE m.org_id = p_org AND m.user_id = p_user);
END $$;

-- NULL status when the caller holds one of p_need (any role when empty);
-- else 404 for a non-member (or no such organisation), 403 without the role.
CREATE FUNCTION org_access(p_user bigint, p_org bigint, p_need text[],
    OUT status integer, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    r text[] := org_roles(p_user, p_org);
BEGIN
    IF r IS NULL THEN
        status := 404;
        body := org_err('not_found', 'no such organisation');
    ELSIF cardinality(p_need) > 0 AND NOT r && p_need THEN
        status := 403;
        body := org_err('forbidden', 'this needs the role ' ||
                        array_to_string(p_need, ' or ') || ' in the organisation');
    END IF;
END $$;

CREATE FUNCTION user_brief(uid bigint) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT json_build_object('id', u.id, 'name', u.name) FROM users u WHERE u.id = uid);
END $$;

-- ------------------------------------------------------------ organisations

CREATE FUNCTION org_json(p_org bigint, p_user bigint) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT json_build_object('id', o.id, 'name', o.name, 'kind', o.kind,
        'credit_code', o.credit_code, 'created_at', o.created_at,
        'my_roles', coalesce(to_json(org_roles(p_user, o.id)), '[]'),
        'members', coalesce((SELECT json_agg(json_build_object(
                'user_id', u.id, 'email', u.email, 'name', u.name,
                'roles', m.roles) ORDER BY u.id)
            FROM (SELECT user_id, array_agg(role ORDER BY role) AS roles
                  FROM org_members WHERE org_id = o.id GROUP BY user_id) m
            JOIN users u ON u.id = m.user_id), '[]'),
        'plans', coalesce((SELECT json_agg(plan_json(p) ORDER BY p.year DESC)
            FROM procurement_plans p WHERE p.org_id = o.id), '[]'))
    FROM orgs o WHERE o.id = p_org);
END $$;

CREATE FUNCTION plan_json(p procurement_plans) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('org_id', p.org_id, 'year', p.year,
        'budget_fen', p.budget_fen, 'reserved_fen', p.reserved_fen,
        'reserved_share_bps', p.reserved_share_bps,
        'reserved_basis', p.reserved_basis,
        'approval_threshold_fen', p.approval_threshold_fen,
        'updated_by', p.updated_by, 'updated_at', p.updated_at)
$$;

CREATE FUNCTION org_create(p_user bigint, p_name text, p_kind text, p_code text,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
    oid bigint;
BEGIN
    INSERT INTO orgs (name, kind, credit_code, created_by)
    VALUES (p_name, p_kind, p_code, p_user)
    ON CONFLICT (credit_code) DO NOTHING RETURNING id INTO oid;
    IF oid IS NULL THEN
        status := 409;
        body := org_err('credit_code_taken',
            'an organisation with this credit code is already registered');
        RETURN;
    END IF;
    INSERT INTO org_members (org_id, user_id, role, added_by)
    VALUES (oid, p_user, 'admin', p_user);
    status := 201;
    body := org_json(oid, p_user);
END $$;

CREATE FUNCTION api_orgs(p_user bigint) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT json_build_object('items', coalesce(json_agg(json_build_object(
        'id', o.id, 'name', o.name, 'kind', o.kind, 'credit_code', o.credit_code,
        'my_roles', m.roles) ORDER BY o.id), '[]'))
    FROM (SELECT org_id, array_agg(role ORDER BY role) AS roles FROM org_members
          WHERE user_id = p_user GROUP BY org_id) m
    JOIN orgs o ON o.id = m.org_id);
END $$;

CREATE FUNCTION api_org(p_user bigint, p_org bigint, OUT status integer, OUT body json)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{}') a;
    IF status IS NULL THEN
        status := 200;
        body := org_json(p_org, p_user);
    END IF;
END $$;

-- An admin adds a role to a user named by e-mail: 422 for an unknown
-- address (a field of the body, not the resource), 409 for a role held.
CREATE FUNCTION org_member_add(p_user bigint, p_org bigint, p_email text, p_role text,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
    u users;
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{admin}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT * INTO u FROM users WHERE lower(email) = lower(p_email);
    IF NOT FOUND THEN
        status := 422;
        body := org_err('validation_failed', 'some fields are invalid',
            jsonb_build_array(jsonb_build_object('field', 'email',
                'message', 'no account has this e-mail address')));
        RETURN;
    END IF;
    INSERT INTO org_members (org_id, user_id, role, added_by)
    VALUES (p_org, u.id, p_role, p_user) ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        status := 409;
        body := org_err('already_member', 'this user already holds this role');
        RETURN;
    END IF;
    status := 201;
    body := json_build_object('org_id', p_org, 'user_id', u.id, 'email', u.email,
        'name', u.name, 'role', p_role,
        'roles', to_json(org_roles(u.id, p_org)), 'added_at', now());
END $$;

-- Creates or replaces the plan of a year; reserved amount and share come
-- already resolved from modules/quota.c.
CREATE FUNCTION plan_put(p_user bigint, p_org bigint, p_year integer, p_budget bigint,
    p_reserved bigint, p_bps integer, p_basis text, p_threshold bigint,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
    p procurement_plans;
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{admin}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    INSERT INTO procurement_plans AS x (org_id, year, budget_fen, reserved_fen,
        reserved_share_bps, reserved_basis, approval_threshold_fen, updated_by)
    VALUES (p_org, p_year, p_budget, p_reserved, p_bps, p_basis, p_threshold, p_user)
    ON CONFLICT (org_id, year) DO UPDATE SET budget_fen = EXCLUDED.budget_fen,
        reserved_fen = EXCLUDED.reserved_fen,
        reserved_share_bps = EXCLUDED.reserved_share_bps,
        reserved_basis = EXCLUDED.reserved_basis,
        approval_threshold_fen = EXCLUDED.approval_threshold_fen,
        updated_by = EXCLUDED.updated_by, updated_at = now()
    RETURNING * INTO p;
    INSERT INTO procurement_plan_history (org_id, year, changed_by, snapshot)
    VALUES (p_org, p_year, p_user, to_jsonb(p));
    status := 200;
    body := plan_json(p);
END $$;

CREATE FUNCTION api_plan(p_user bigint, p_org bigint, p_year integer,
    OUT status integer, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    p procurement_plans;
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT * INTO p FROM procurement_plans WHERE org_id = p_org AND year = p_year;
    IF NOT FOUND THEN
        status := 404;
        body := org_err('not_found', 'no plan for this year');
        RETURN;
    END IF;
    status := 200;
    body := plan_json(p);
END $$;

-- ------------------------------------------------------------ bulk orders

-- The quote of a bulk order's lines at today's prices: the unit price of
-- each product is the tier its TOTAL quantity over all recipients reaches;
-- plan_share_bps is the total's share of this (Shanghai) year's budget.
CREATE FUNCTION bulk_quote(p_bid bigint) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
DECLARE
    v_org bigint;
    v_year integer := shanghai_year(now());
BEGIN
    SELECT org_id INTO v_org FROM bulk_orders WHERE id = p_bid;
    RETURN (
    WITH q AS (
        SELECT l.product_id, sum(l.qty)::bigint AS qty FROM bulk_lines l
         WHERE l.bulk_order_id = p_bid GROUP BY l.product_id
    ), p AS (
        SELECT q.product_id, q.qty, pr.vendor_id,
               tier_price(pr.id, pr.price_fen, q.qty) AS unit_price_fen
        FROM q JOIN products pr ON pr.id = q.product_id
    ), t AS (
        SELECT coalesce(sum(unit_price_fen * qty), 0)::bigint AS total FROM p
    )
    SELECT jsonb_build_object(
        'lines', coalesce((SELECT jsonb_agg(jsonb_build_object('product_id', p.product_id,
            'vendor_id', p.vendor_id, 'qty', p.qty, 'unit_price_fen', p.unit_price_fen,
            'total_fen', p.unit_price_fen * p.qty) ORDER BY p.product_id) FROM p), '[]'),
        'by_vendor', coalesce((SELECT jsonb_agg(jsonb_build_object('vendor_id', v.vendor_id,
            'total_fen', v.total) ORDER BY v.vendor_id)
            FROM (SELECT vendor_id, sum(unit_price_fen * qty)::bigint AS total
                  FROM p GROUP BY vendor_id) v), '[]'),
        'total_fen', t.total,
        'plan_year', v_year,
        'plan_share_bps', share_bps(t.total, (SELECT pl.budget_fen FROM procurement_plans pl
            WHERE pl.org_id = v_org AND pl.year = v_year)),
        'quoted_at', now())
    FROM t);
END $$;

CREATE FUNCTION bulk_json(p_bid bigint) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT json_build_object('id', b.id, 'org_id', b.org_id, 'status', b.status,
        'purpose', b.purpose, 'recipients_count', b.recipients_count,
        'lines_count', b.lines_count, 'quote', b.quote, 'total_fen', b.total_fen,
        'needs_approval', b.needs_approval,
        'created_by', user_brief(b.created_by), 'created_at', b.created_at,
        'updated_at', b.updated_at,
        'submitted_by', user_brief(b.submitted_by), 'submitted_at', b.submitted_at,
        'decided_by', user_brief(b.decided_by), 'decided_at', b.decided_at,
        'reject_reason', b.reject_reason,
        'placed_by', user_brief(b.placed_by), 'placed_at', b.placed_at,
        'trail', coalesce((SELECT json_agg(json_build_object('action', e.action,
                'from_status', e.from_status, 'to_status', e.to_status,
                'actor', user_brief(e.actor_id), 'note', e.note, 'at', e.created_at)
                ORDER BY e.id) FROM bulk_events e WHERE e.bulk_order_id = b.id), '[]'),
        'orders', coalesce((SELECT json_agg(json_build_object('id', o.id,
                'order_no', o.order_no, 'status', o.status, 'total_fen', o.total_fen,
                'vendor_id', (SELECT p.vendor_id FROM order_parts p
                              WHERE p.order_id = o.id ORDER BY p.id LIMIT 1),
                'pay_before', o.pay_before, 'paid_at', o.paid_at) ORDER BY o.id)
                FROM orders o WHERE o.bulk_order_id = b.id), '[]'))
    FROM bulk_orders b WHERE b.id = p_bid);
END $$;

-- The rows of recipients' lines, from JSON or CSV (app/http_bulk.c):
-- [{field, line, r, name, phone, address, product_id, qty}].  The errors
-- of products unknown or not listed, one per row.
CREATE FUNCTION bulk_product_errors(p_rows jsonb) RETURNS jsonb
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object(
        'field', x->>'field', 'line', (x->>'line')::integer,
        'message', CASE WHEN pr.id IS NULL
            THEN 'unknown product ' || (x->>'product_id')
            ELSE 'product ' || pr.id || ' is not on sale' END))
        ORDER BY (x->>'line')::integer, ord), '[]')
    FROM jsonb_array_elements(p_rows) WITH ORDINALITY AS r(x, ord)
    LEFT JOIN products pr ON pr.id = (x->>'product_id')::bigint
    WHERE x->>'product_id' IS NOT NULL
      AND (pr.id IS NULL OR pr.status <> 'listed'));
END $$;

-- Replaces the recipients and lines of a bulk order with p_rows.  Rows
-- with the same r (JSON: the recipient's index) are one recipient; CSV rows
-- have none, and rows with the same name, phone and address are one.
CREATE FUNCTION bulk_fill(p_bid bigint, p_rows jsonb) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM bulk_lines WHERE bulk_order_id = p_bid;
    DELETE FROM bulk_recipients WHERE bulk_order_id = p_bid;
    WITH r AS (
        SELECT (x->>'line')::integer AS line, ord, x->>'name' AS name,
               x->>'phone' AS phone, x->>'address' AS address,
               (x->>'product_id')::bigint AS product_id, (x->>'qty')::integer AS qty,
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
    INSERT INTO bulk_lines (bulk_order_id, recipient_id, product_id, qty)
    SELECT p_bid, ins.id, k.product_id, sum(k.qty) FROM k JOIN ins ON ins.seq = k.key
    GROUP BY ins.id, k.product_id;
    UPDATE bulk_orders SET
        recipients_count = (SELECT count(*) FROM bulk_recipients WHERE bulk_order_id = p_bid),
        lines_count = (SELECT count(*) FROM bulk_lines WHERE bulk_order_id = p_bid),
        updated_at = now()
     WHERE id = p_bid;
    UPDATE bulk_orders SET quote = bulk_quote(p_bid) WHERE id = p_bid;
    UPDATE bulk_orders SET total_fen = (quote->>'total_fen')::bigint WHERE id = p_bid;
END $$;

-- The errors of a file or body, sorted by line, at most 100 listed.
CREATE FUNCTION bulk_errors_reply(p_errors jsonb, p_total integer) RETURNS json
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    e jsonb;
BEGIN
    SELECT coalesce(jsonb_agg(x ORDER BY (x->>'line')::integer NULLS FIRST, ord), '[]')
      INTO e FROM (SELECT x, ord FROM jsonb_array_elements(p_errors) WITH ORDINALITY t(x, ord)
                   ORDER BY (x->>'line')::integer NULLS FIRST, ord LIMIT 100) s;
    IF p_total > jsonb_array_length(e) THEN
        e := e || jsonb_build_object('field', 'file', 'message',
            (p_total - jsonb_array_length(e)) || ' more errors not listed');
    END IF;
    RETURN org_err('validation_failed', 'some rows are invalid; nothing was imported', e);
END $$;

CREATE FUNCTION bulk_create(p_user bigint, p_org bigint, p_purpose text, p_rows jsonb,
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
    errs jsonb;
    bid bigint;
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{buyer}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    errs := bulk_product_errors(p_rows);
    IF jsonb_array_length(errs) > 0 THEN
        status := 422;
        body := bulk_errors_reply(errs, jsonb_array_length(errs));
        RETURN;
    END IF;
    INSERT INTO bulk_orders (org_id, purpose, created_by)
    VALUES (p_org, p_purpose, p_user) RETURNING id INTO bid;
    PERFORM bulk_fill(bid, p_rows);
    INSERT INTO bulk_events (bulk_order_id, action, to_status, actor_id, note)
    VALUES (bid, 'create', 'draft', p_user,
            (SELECT recipients_count || ' recipients' FROM bulk_orders WHERE id = bid));
    status := 201;
    body := bulk_json(bid);
END $$;

-- Locks the bulk order of the organisation for an action of p_need.
CREATE FUNCTION bulk_lock(p_user bigint, p_org bigint, p_bid bigint, p_need text[],
    OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, p_need) a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM bulk_orders WHERE id = p_bid AND org_id = p_org FOR UPDATE;
    IF NOT FOUND THEN
        status := 404;
        body := org_err('not_found', 'no such bulk order');
    END IF;
END $$;

CREATE FUNCTION bulk_bad_status(b bulk_orders, p_want text) RETURNS json
LANGUAGE sql IMMUTABLE AS $$
    SELECT json_build_object('code', 'invalid_transition', 'status', b.status,
        'detail', 'the bulk order is ' || b.status || '; this needs it ' || p_want)
$$;

-- The CSV import: replaces a draft's recipients, or nothing at all when
-- any row is bad (p_errors: what the C parser found; p_nerr their count).
CREATE FUNCTION bulk_replace(p_user bigint, p_org bigint, p_bid bigint, p_rows jsonb,
    p_errors jsonb, p_nerr integer, OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
    b bulk_orders;
    errs jsonb;
BEGIN
    SELECT l.status, l.body INTO status, body
      FROM bulk_lock(p_user, p_org, p_bid, '{buyer}') l;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT * INTO b FROM bulk_orders WHERE id = p_bid;
    IF b.status <> 'draft' THEN
        status := 409;
        body := bulk_bad_status(b, 'draft');
        RETURN;
    END IF;
    errs := bulk_product_errors(p_rows);
    IF p_nerr + jsonb_array_length(errs) > 0 THEN
        status := 422;
        body := bulk_errors_reply(p_errors || errs, p_nerr + jsonb_array_length(errs));
        RETURN;
    END IF;
    PERFORM bulk_fill(p_bid, p_rows);
    INSERT INTO bulk_events (bulk_order_id, action, from_status, to_status, actor_id, note)
    VALUES (p_bid, 'recipients_replaced', 'draft', 'draft', p_user,
            (SELECT recipients_count || ' recipients, ' || lines_count || ' lines from CSV'
             FROM bulk_orders WHERE id = p_bid));
    status := 200;
    body := bulk_json(p_bid);
END $$;

-- submit (buyer), approve and reject (approver or admin).  Submitting
-- quotes again at today's prices; at or below the threshold of this year's
-- plan the order is approved at once, above it (or without a plan) an
-- approver who is not the submitter must approve.
CREATE FUNCTION bulk_action(p_user bigint, p_org bigint, p_bid bigint, p_action text,
    p_reason text, OUT status integer, OUT body json)
LANGUAGE plpgsql AS $$
DECLARE
    b bulk_orders;
    pl procurement_plans;
    q jsonb;
    need boolean;
BEGIN
    SELECT l.status, l.body INTO status, body
      FROM bulk_lock(p_user, p_org, p_bid,
                     CASE WHEN p_action = 'submit' THEN '{buyer}'::text[]
                          ELSE '{approver,admin}'::text[] END) l;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT * INTO b FROM bulk_orders WHERE id = p_bid;
    IF p_action = 'submit' THEN
        IF b.status <> 'draft' THEN
            status := 409;
            body := bulk_bad_status(b, 'draft');
            RETURN;
        END IF;
        IF b.recipients_count = 0 THEN
            status := 422;
            body := org_err('validation_failed', 'the bulk order has no recipients',
                jsonb_build_array(jsonb_build_object('field', 'recipients',
                    'message', 'at least one recipient with a line')));
            RETURN;
        END IF;
        q := bulk_quote(p_bid);
        SELECT * INTO pl FROM procurement_plans
         WHERE org_id = p_org AND year = (q->>'plan_year')::integer;
        need := NOT FOUND OR (q->>'total_fen')::bigint > pl.approval_threshold_fen;
        UPDATE bulk_orders SET status = CASE WHEN need THEN 'submitted' ELSE 'approved' END,
            quote = q, total_fen = (q->>'total_fen')::bigint, needs_approval = need,
            submitted_by = p_user, submitted_at = now(),
            decided_by = NULL, decided_at = CASE WHEN need THEN NULL ELSE now() END,
            updated_at = now()
         WHERE id = p_bid;
        INSERT INTO bulk_events (bulk_order_id, action, from_status, to_status, actor_id, note)
        VALUES (p_bid, 'submit', 'draft', 'submitted', p_user,
                'total ' || (q->>'total_fen') || ' fen');
        IF NOT need THEN
            INSERT INTO bulk_events (bulk_order_id, action, from_status, to_status,
                actor_id, note)
            VALUES (p_bid, 'approve', 'submitted', 'approved', NULL,
                    'at or below the approval threshold of ' ||
                    pl.approval_threshold_fen || ' fen');
        END IF;
    ELSE
        IF b.status <> 'submitted' THEN
            status := 409;
            body := bulk_bad_status(b, 'submitted');
            RETURN;
        END IF;
        IF p_action = 'approve' AND b.submitted_by = p_user THEN
            status := 403;
            body := org_err('self_approval',
                'the submitter of a bulk order cannot approve it');
            RETURN;
        END IF;
        UPDATE bulk_orders SET
            status = CASE WHEN p_action = 'approve' THEN 'approved' ELSE 'rejected' END,
            decided_by = p_user, decided_at = now(),
            reject_reason = CASE WHEN p_action = 'reject' THEN p_reason END,
            updated_at = now()
         WHERE id = p_bid;
        INSERT INTO bulk_events (bulk_order_id, action, from_status, to_status, actor_id, note)
        VALUES (p_bid, p_action, 'submitted',
                CASE WHEN p_action = 'approve' THEN 'approved' ELSE 'rejected' END,
                p_user, p_reason);
    END IF;
    status := 200;
    body := bulk_json(p_bid);
END $$;

CREATE FUNCTION api_bulk_orders(p_user bigint, p_org bigint, p_status text,
    p_page integer, p_per_page integer, OUT status integer, OUT body json)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    status := 200;
    body := json_build_object(
        'items', coalesce((SELECT json_agg(bulk_json(x.id) ORDER BY x.id DESC)
            FROM (SELECT id FROM bulk_orders WHERE org_id = p_org
                    AND (p_status IS NULL OR bulk_orders.status = p_status)
                  ORDER BY id DESC LIMIT p_per_page
                  OFFSET (p_page - 1) * p_per_page) x), '[]'),
        'page', p_page, 'per_page', p_per_page,
        'total', (SELECT count(*) FROM bulk_orders WHERE org_id = p_org
                    AND (p_status IS NULL OR bulk_orders.status = p_status)));
END $$;

CREATE FUNCTION api_bulk_order(p_user bigint, p_org bigint, p_bid bigint,
    OUT status integer, OUT body json)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    body := (SELECT bulk_json(b.id) FROM bulk_orders b
              WHERE b.id = p_bid AND b.org_id = p_org);
    IF body IS NULL THEN
        status := 404;
        body := org_err('not_found', 'no such bulk order');
        RETURN;
    END IF;
    status := 200;
END $$;

-- The recipients of a bulk order with their lines, a page at a time.
CREATE FUNCTION api_bulk_recipients(p_user bigint, p_org bigint, p_bid bigint,
    p_page integer, p_per_page integer, OUT status integer, OUT body json)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM bulk_orders WHERE id = p_bid AND org_id = p_org) THEN
        status := 404;
        body := org_err('not_found', 'no such bulk order');
        RETURN;
    END IF;
    status := 200;
    body := json_build_object(
        'items', coalesce((SELECT json_agg(json_build_object('id', r.id,
                'name', r.name, 'phone', r.phone, 'address', r.address,
                'lines', (SELECT json_agg(json_build_object('product_id', l.product_id,
                    'qty', l.qty) ORDER BY l.product_id)
                    FROM bulk_lines l WHERE l.recipient_id = r.id)) ORDER BY r.seq)
            FROM (SELECT * FROM bulk_recipients WHERE bulk_order_id = p_bid
                  ORDER BY seq LIMIT p_per_page OFFSET (p_page - 1) * p_per_page) r), '[]'),
        'page', p_page, 'per_page', p_per_page,
        'total', (SELECT count(*) FROM bulk_recipients WHERE bulk_order_id = p_bid));
END $$;

-- What placement prices (app/http_bulk.c, then orders_price() as at
-- checkout): checkout_quote() of the products' total quantities, its
-- lines spread back over the recipients' lines, each at the unit price of
-- the total.  Refuses early what bulk_place() would refuse anyway.
CREATE FUNCTION bulk_place_input(p_user bigint, p_org bigint, p_bid bigint,
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

-- Places an approved bulk order in one transaction, with the discipline
-- of place_order(): products locked in id order and checked again; a
-- short line is 409 with nothing taken.  Unit prices must still be those
-- approved, else the order goes back to draft with a new quote (409
-- quote_changed); a price, qualification or cap that moved since the C
-- side priced it is 409 'stale' and the server prices again.  One order
-- per vendor (org_id, bulk_order_id), its lines carrying the recipient,
-- and one pending shipment per recipient of that vendor.
CREATE FUNCTION bulk_place(p_user bigint, p_org bigint, p_bid bigint, p_route text,
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

    FOR p IN
        SELECT pr.id, pr.stock, pr.status AS pstatus, pr.vendor_id, t.qty,
               tier_price(pr.id, pr.price_fen, t.qty) AS unit_price_fen,
               vendor_qualified(v.status, v.qualified_until, v.credit_score) AS qualified,
               priced->(pr.id::text) AS x
        FROM (SELECT product_id, sum(qty)::bigint AS qty FROM bulk_lines
               WHERE bulk_order_id = p_bid GROUP BY product_id) t
        JOIN products pr ON pr.id = t.product_id
        JOIN vendors v ON v.id = pr.vendor_id
        ORDER BY pr.id
        FOR UPDATE OF pr
    LOOP
        IF p.pstatus <> 'listed' OR p.stock < p.qty THEN
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
             WHERE bulk_order_id = p_bid GROUP BY product_id) t
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

-- One payment for every order of a placed bulk order; payment_notify()
-- settles them all.
CREATE FUNCTION bulk_create_payment(p_user bigint, p_org bigint, p_bid bigint,
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
    body := json_build_object('payment_id', pay.id, 'provider', pay.provider,
        'amount_fen', pay.amount_fen, 'status', pay.status, 'bulk_order_id', p_bid);
    PERFORM idem_store(p_user, p_route, p_key, status, body);
END $$;

-- A vendor's delivery list for its part of a bulk order.
CREATE FUNCTION api_vendor_part_recipients(p_user bigint, p_part bigint,
    OUT status integer, OUT body json)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM order_parts op JOIN vendors v ON v.id = op.vendor_id
                    WHERE op.id = p_part AND v.user_id = p_user) THEN
        status := 404;
        body := org_err('not_found', 'no such order part');
        RETURN;
    END IF;
    status := 200;
    body := json_build_object('part_id', p_part, 'items', coalesce((
        SELECT json_agg(json_build_object('recipient_id', r.id, 'name', r.name,
            'phone', r.phone, 'address', r.address,
            'carrier', s.carrier, 'tracking_no', s.tracking_no, 'shipped_at', s.shipped_at,
            'lines', (SELECT json_agg(json_build_object('product_id', l.product_id,
                'qty', l.qty) ORDER BY l.product_id) FROM order_lines l
                WHERE l.part_id = p_part AND l.recipient_id = r.id)) ORDER BY r.seq)
        FROM shipments s JOIN bulk_recipients r ON r.id = s.recipient_id
        WHERE s.part_id = p_part), '[]'));
END $$;

-- ------------------------------------------------------------ report

-- The facts of an organisation's year (Shanghai time): orders of the
-- organisation paid in that year and not refunded (a refund takes the
-- whole order out, so refunds are netted), their spend, the part of it on
-- products of Shanghai's paired regions (every region in the catalog is
-- one, so today the two are equal), by region, the poor households linked
-- by the vendors bought from (each vendor once), and the plan.  The share
-- and on_track are decided in C (modules/quota.c) from these facts.
CREATE FUNCTION org_year_facts(p_org bigint, p_year integer) RETURNS json
LANGUAGE plpgsql STABLE AS $$
DECLARE
    y0 timestamptz := make_timestamptz(p_year, 1, 1, 0, 0, 0, 'Asia/Shanghai');
    y1 timestamptz := make_timestamptz(p_year + 1, 1, 1, 0, 0, 0, 'Asia/Shanghai');
    today date := (now() AT TIME ZONE 'Asia/Shanghai')::date;
BEGIN
    RETURN (
    WITH o AS (
        SELECT id, total_fen FROM orders
         WHERE org_id = p_org AND paid_at >= y0 AND paid_at < y1
           AND status IN ('paid', 'shipped', 'completed')
    ), l AS (
        SELECT ol.order_id, ol.line_total_fen, r.code, r.name, r.sort,
               v.id AS vendor_id, v.poor_households_linked
        FROM order_lines ol JOIN o ON o.id = ol.order_id
        JOIN products pr ON pr.id = ol.product_id
        JOIN vendors v ON v.id = pr.vendor_id
        JOIN counties c ON c.id = v.county_id
        JOIN regions r ON r.id = c.region_id
    ), reg AS (
        SELECT code, name, sort, sum(line_total_fen)::bigint AS spend,
               count(DISTINCT order_id) AS orders
        FROM l GROUP BY code, name, sort
    )
    SELECT json_build_object(
        'org', (SELECT json_build_object('id', g.id, 'name', g.name, 'kind', g.kind,
                'credit_code', g.credit_code) FROM orgs g WHERE g.id = p_org),
        'year', p_year,
        'spend_fen', (SELECT coalesce(sum(total_fen), 0)::bigint FROM o),
        'paired_region_spend_fen', (SELECT coalesce(sum(line_total_fen), 0)::bigint FROM l),
        'orders', (SELECT count(*) FROM o),
        'by_region', coalesce((SELECT json_agg(json_build_object('code', code,
                'name', name, 'spend_fen', spend, 'orders', orders) ORDER BY sort)
                FROM reg), '[]'),
        'households_linked', (SELECT coalesce(sum(h), 0) FROM
                (SELECT DISTINCT vendor_id, poor_households_linked AS h FROM l) d),
        'plan', (SELECT plan_json(p) FROM procurement_plans p
                  WHERE p.org_id = p_org AND p.year = p_year),
        'as_of', today,
        'today_year', extract(year FROM today)::integer,
        'today_yday', extract(doy FROM today)::integer));
END $$;

CREATE FUNCTION api_org_year(p_user bigint, p_org bigint, p_year integer,
    OUT status integer, OUT body json)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    SELECT a.status, a.body INTO status, body FROM org_access(p_user, p_org, '{}') a;
    IF status IS NOT NULL THEN
        RETURN;
    END IF;
    status := 200;
    body := org_year_facts(p_org, p_year);
END $$;
