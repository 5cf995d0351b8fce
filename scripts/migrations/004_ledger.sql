-- 台账, the consumption poverty-alleviation ledger (clause 十五): one entry
-- per order line when its part is paid, one reversing entry when it is
-- refunded, each a fact of its moment that is never changed afterwards.
--
-- Written by a trigger on order_parts, so every path that moves a part
-- (payment_notify, order_action, a bulk payment, a future one) writes the
-- ledger in its own transaction without 003_orders.sql knowing.  Read from
-- ledger_monthly and ledger_daily, summaries kept by a statement trigger on
-- the entries in the same transaction: the operators' grouped queries and
-- /impact aggregate a few thousand summary rows instead of millions of
-- entries (scripts/ledger_bench.sh measures it), and nothing has to be
-- refreshed.

-- An entry copies every fact the ledger is queried by as it stood at that
-- moment: a vendor that loses its qualification, a product that loses its
-- 百县百品 designation or a vendor that links more households later
-- changes no recorded entry.  A reversing entry copies the facts of the sale
-- it reverses (not today's), so every grouping nets out to zero.
--
-- amount_fen and qty are signed: positive for a sale, negative for a refund.
-- The *_orders_delta columns make distinct order counts additive (see
-- ledger_write): +1 on the entry with which an order starts to count in
-- that dimension's group, -1 on the one with which it stops.
--
-- synthetic marks the bench's generated entries (scripts/ledger_bench.sh):
-- they belong to no order line, ledger-check leaves them out, /impact
-- never shows them, and only they may be purged.  A production ledger
-- holds none.
CREATE TABLE ledger_entries (
    id                      bigserial PRIMARY KEY,
    kind                    text NOT NULL CHECK (kind IN ('sale', 'refund')),
    order_line_id           bigint REFERENCES order_lines,
    order_id                bigint,
    part_id                 bigint,
    product_id              bigint NOT NULL,
    qty                     integer NOT NULL,
    amount_fen              bigint NOT NULL,
    at                      timestamptz NOT NULL DEFAULT now(),
    -- The Shanghai date of the entry: periods and months are Shanghai's.
    day                     date NOT NULL
                            GENERATED ALWAYS AS ((at AT TIME ZONE 'Asia/Shanghai')::date) STORED,
    region_id               smallint NOT NULL,
    county_id               integer NOT NULL,
    poverty_county          boolean NOT NULL,
    vendor_id               bigint NOT NULL,
    vendor_qualified        boolean NOT NULL,
    bxbp                    boolean NOT NULL,
    category_id             integer NOT NULL,
    user_id                 bigint,
    org_id                  bigint,
    households_linked       integer NOT NULL,
    orders_delta            smallint NOT NULL DEFAULT 0,
    region_orders_delta     smallint NOT NULL DEFAULT 0,
    county_orders_delta     smallint NOT NULL DEFAULT 0,
    vendor_orders_delta     smallint NOT NULL DEFAULT 0,
    category_orders_delta   smallint NOT NULL DEFAULT 0,
    synthetic               boolean NOT NULL DEFAULT false,
    CHECK ((kind = 'sale' AND amount_fen >= 0 AND qty > 0)
        OR (kind = 'refund' AND amount_fen <= 0 AND qty < 0)),
    CHECK (synthetic OR (order_line_id IS NOT NULL AND order_id IS NOT NULL
                         AND part_id IS NOT NULL AND user_id IS NOT NULL))
);
-- At most one sale and one reversal per line, whatever runs twice.  Only
-- the line has a foreign key (order and part follow from it): the other
-- columns are snapshots, and the bench's million inserts should not pay
-- seven lookups each.
CREATE UNIQUE INDEX ledger_entries_line ON ledger_entries (order_line_id, kind)
    WHERE order_line_id IS NOT NULL;
CREATE INDEX ledger_entries_order ON ledger_entries (order_id)
    WHERE order_id IS NOT NULL;

-- Entries are never updated, deleted or truncated: a mistake is corrected
-- by another entry.  The application's role owns the table, so a REVOKE
-- would not bind it; these triggers bind every role short of one allowed
-- to disable triggers (the owner, by a deliberate ALTER TABLE).  The one
-- exception is the bench's synthetic entries, which a session that sets
-- bangfu.ledger_purge = 'synthetic' may delete (ledger_bench.sh purge).
CREATE FUNCTION ledger_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.synthetic
           AND current_setting('bangfu.ledger_purge', true) = 'synthetic' THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'ledger entries are never changed (%): post a reversing entry', TG_OP
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER ledger_immutable BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger_entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_immutable();

-- The summary: the entries' sums per Shanghai day (ledger_daily) and per
-- Shanghai month (ledger_monthly, day = the month's first) and every
-- dimension the ledger is grouped by: region, county, vendor, category,
-- org.  Each row holds net lines, the four amounts, the five order counts
-- (sums of the entries' deltas) and the largest number of households its
-- vendor was recorded as linking.  Everything is additive, so any period
-- and grouping is a sum over rows, and counting each vendor once is a
-- GROUP BY vendor_id, which is in the key.  A period reads its whole
-- months from ledger_monthly and only its ragged ends from ledger_daily,
-- so a read touches at most two months of daily rows, however long the
-- period (api_ledger).
--
-- Derived data: ledger_summary_rebuild() makes both again from the
-- entries, and ledger-check proves they agree.  Kept in the transaction
-- that writes the entries, they cost a payment two upserts per (vendor,
-- category) of each part, in key order, so concurrent payments lock the
-- rows they share in the same order.
CREATE TABLE ledger_daily (
    day                         date NOT NULL,
    region_id                   smallint NOT NULL,
    county_id                   integer NOT NULL,
    vendor_id                   bigint NOT NULL,
    category_id                 integer NOT NULL,
    org_id                      bigint,
    synthetic                   boolean NOT NULL,
    lines                       bigint NOT NULL,
    gmv_fen                     bigint NOT NULL,
    poverty_county_gmv_fen      bigint NOT NULL,
    qualified_vendor_gmv_fen    bigint NOT NULL,
    bxbp_gmv_fen                bigint NOT NULL,
    orders                      bigint NOT NULL,
    region_orders               bigint NOT NULL,
    county_orders               bigint NOT NULL,
    vendor_orders               bigint NOT NULL,
    category_orders             bigint NOT NULL,
    households_linked           integer NOT NULL
);
CREATE UNIQUE INDEX ledger_daily_key ON ledger_daily
    (day, region_id, county_id, vendor_id, category_id, org_id, synthetic)
    NULLS NOT DISTINCT;

CREATE TABLE ledger_monthly (LIKE ledger_daily,
    CHECK (day = date_trunc('month', day)::date));
CREATE UNIQUE INDEX ledger_monthly_key ON ledger_monthly
    (day, region_id, county_id, vendor_id, category_id, org_id, synthetic)
    NULLS NOT DISTINCT;

-- Adds the entries one INSERT wrote to both summaries: one upsert per key,
-- however many entries (a part's lines, or the bench's million).
CREATE FUNCTION ledger_summary_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_daily AS d
    SELECT a.day, a.region_id, a.county_id, a.vendor_id, a.category_id,
           a.org_id, a.synthetic,
           sum(CASE WHEN a.kind = 'sale' THEN 1 ELSE -1 END), sum(a.amount_fen),
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
           sum(CASE WHEN a.kind = 'sale' THEN 1 ELSE -1 END), sum(a.amount_fen),
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
CREATE TRIGGER ledger_summary_add AFTER INSERT ON ledger_entries
    REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_summary_add();

-- Both summaries made again from the entries (after the bench's synthetic
-- entries are purged, or should ledger-check ever find them apart).
CREATE FUNCTION ledger_summary_rebuild() RETURNS void
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
                   synthetic, sum(CASE WHEN kind = 'sale' THEN 1 ELSE -1 END),
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

-- 1 when an order starts to count in a group (its net amount there goes
-- from zero to positive), -1 when it stops, else 0.
CREATE FUNCTION ledger_flip(before numeric, added numeric) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT (before + added > 0)::integer - (before > 0)::integer
$$;

-- Writes the entries of one part: 'sale' records each line with the facts
-- of now; 'refund' reverses each sale entry of the part not yet reversed.
-- Lines already written are skipped, so running it twice changes nothing.
--
-- Order counts: "orders" of a group over a period is, like its amounts, a
-- flow: orders that began to count there (first sale) less those that
-- stopped (fully reversed), each on its entry's date.  An order counts in a
-- group while its net amount there is positive; the delta of a dimension
-- goes on the first new entry of each of its groups, computed from what
-- the order already holds in the ledger (earlier parts of the same order
-- were written by earlier statements of this transaction and are seen).
-- The org and month groupings and the totals use orders_delta (an order
-- has one buyer); vendor uses vendor_orders_delta (in effect parts).
CREATE FUNCTION ledger_write(p_part bigint, p_kind text, p_at timestamptz)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    oid bigint;
    n integer;
BEGIN
    SELECT order_id INTO oid FROM order_parts WHERE id = p_part;
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
        SELECT e.order_line_id, e.order_id, e.part_id, e.product_id, -e.qty,
               -e.amount_fen, e.region_id, e.county_id, e.poverty_county,
               e.vendor_id, e.vendor_qualified, e.bxbp, e.category_id,
               e.user_id, e.org_id, e.households_linked
        FROM ledger_entries e
        WHERE p_kind = 'refund' AND e.order_id = oid AND e.part_id = p_part
          AND e.kind = 'sale'
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

-- A part that becomes paid (or shipped) writes its sale; one that leaves
-- paid or shipped for anything else (refunded; cancelled or pending should
-- a later path allow it) writes the reversal.  Parts are born 'pending'
-- before their lines exist, so an UPDATE is the only way in.  The entry's
-- time is now(), the transaction's: the same instant as orders.paid_at.
CREATE FUNCTION ledger_on_part() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('paid', 'shipped') AND OLD.status NOT IN ('paid', 'shipped') THEN
        PERFORM ledger_write(NEW.id, 'sale', now());
    ELSIF OLD.status IN ('paid', 'shipped') AND NEW.status NOT IN ('paid', 'shipped') THEN
        PERFORM ledger_write(NEW.id, 'refund', now());
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_on_part AFTER UPDATE OF status ON order_parts
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION ledger_on_part();

-- Orders paid before the ledger existed: their sales at the time they were
-- paid and their reversals at the time they closed.  Qualification, 百县百品
-- and households are today's, the best record there is of those moments.
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT op.id, coalesce(o.paid_at, o.created_at) AS paid_at
             FROM order_parts op JOIN orders o ON o.id = op.order_id
             WHERE op.status IN ('paid', 'shipped', 'refunded')
             ORDER BY op.id
    LOOP
        PERFORM ledger_write(p.id, 'sale', p.paid_at);
    END LOOP;
    FOR p IN SELECT op.id, coalesce(o.closed_at, o.updated_at) AS closed_at
             FROM order_parts op JOIN orders o ON o.id = op.order_id
             WHERE op.status = 'refunded'
             ORDER BY op.id
    LOOP
        PERFORM ledger_write(p.id, 'refund', p.closed_at);
    END LOOP;
END $$;

-- ------------------------------------------------------------ reading

-- A group's key and name as the answer shows them: region, county and
-- category by code, vendor and org by id (org null: people buying for
-- themselves), month as YYYY-MM (k is year * 100 + month).  Names are
-- today's.  Organisations arrive in a later migration: their names are
-- looked up only if that table exists.
CREATE FUNCTION ledger_group_label(p_group text, k bigint,
    OUT o_key json, OUT o_name text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    CASE p_group
    WHEN 'region' THEN
        SELECT to_json(r.code), r.name INTO o_key, o_name FROM regions r WHERE r.id = k;
    WHEN 'county' THEN
        SELECT to_json(c.code), c.name INTO o_key, o_name FROM counties c WHERE c.id = k;
    WHEN 'category' THEN
        SELECT to_json(c.code), c.name INTO o_key, o_name FROM categories c WHERE c.id = k;
    WHEN 'vendor' THEN
        o_key := to_json(k);
        SELECT v.name INTO o_name FROM vendors v WHERE v.id = k;
    WHEN 'org' THEN
        o_key := to_json(k);
        IF k IS NULL THEN
            o_name := '个人消费者';
        ELSIF to_regclass('orgs') IS NOT NULL THEN
            BEGIN
                EXECUTE 'SELECT name FROM orgs WHERE id = $1' INTO o_name USING k;
            EXCEPTION WHEN undefined_column OR undefined_table THEN
                o_name := NULL;
            END;
        END IF;
    ELSE
        o_key := to_json(format('%s-%s', k / 100, lpad((k % 100)::text, 2, '0')));
        o_name := format('%s年%s月', k / 100, k % 100);
    END CASE;
    IF o_key IS NULL AND k IS NOT NULL THEN
        o_key := to_json(k);
    END IF;
    o_name := coalesce(o_name, '#' || k);
END $$;

-- The summary rows of the Shanghai dates [p_from, p_to]: the whole months
-- from ledger_monthly, the days before the first and after the last whole
-- month from ledger_daily.  A year is 12 monthly row sets or 11 and up to
-- two months of days, instead of 365 days.
CREATE FUNCTION ledger_summary(p_from date, p_to date) RETURNS SETOF ledger_daily
LANGUAGE plpgsql STABLE AS $$
DECLARE
    -- Whole months are [m_from, m_end): none when m_from >= m_end.
    m_from date := (date_trunc('month', p_from - 1) + interval '1 month')::date;
    m_end date := date_trunc('month', p_to + 1)::date;
BEGIN
    RETURN QUERY
    SELECT * FROM ledger_monthly m WHERE m.day >= m_from AND m.day < m_end
    UNION ALL
    SELECT * FROM ledger_daily d
    WHERE d.day BETWEEN p_from AND least(p_to, m_from - 1)
    UNION ALL
    SELECT * FROM ledger_daily d
    WHERE d.day BETWEEN greatest(m_end, m_from) AND p_to;
END $$;

-- GET /admin/ledger: the ledger over the Shanghai dates [p_from, p_to]
-- grouped by p_group, with the totals, from the summaries.  Per group:
--   orders, lines      net flows (sales less reversals) in the period;
--   *_gmv_fen          net amounts: refunds net out;
--   households_linked  over the distinct vendors with a positive net
--                      amount in the group, the sum of the households each
--                      was recorded as linking (the largest number on its
--                      entries there).  A vendor counts once per group, so
--                      the totals' figure (over all vendors of the period)
--                      is not the sum of the rows' when a vendor sells in
--                      several groups (categories, months, orgs).
-- A group whose every figure nets to zero (sold and refunded within the
-- period) is left out, as it would be had neither happened.
CREATE FUNCTION api_ledger(p_from date, p_to date, p_group text) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    WITH d AS (
        SELECT CASE p_group
                   WHEN 'region' THEN s.region_id::bigint
                   WHEN 'county' THEN s.county_id::bigint
                   WHEN 'vendor' THEN s.vendor_id
                   WHEN 'org' THEN s.org_id
                   WHEN 'category' THEN s.category_id::bigint
                   ELSE (date_part('year', s.day) * 100
                         + date_part('month', s.day))::bigint
               END AS k,
               s.vendor_id, s.lines, s.gmv_fen, s.poverty_county_gmv_fen,
               s.qualified_vendor_gmv_fen, s.bxbp_gmv_fen,
               CASE p_group
                   WHEN 'region' THEN s.region_orders
                   WHEN 'county' THEN s.county_orders
                   WHEN 'vendor' THEN s.vendor_orders
                   WHEN 'category' THEN s.category_orders
                   ELSE s.orders
               END AS orders,
               s.orders AS all_orders, s.households_linked
        FROM ledger_summary(p_from, p_to) s
    ), v AS (
        -- One row per group and vendor: the step that counts vendors once.
        SELECT d.k, d.vendor_id, sum(d.orders) AS orders,
               sum(d.all_orders) AS all_orders, sum(d.lines) AS lines,
               sum(d.gmv_fen) AS gmv, sum(d.poverty_county_gmv_fen) AS poverty,
               sum(d.qualified_vendor_gmv_fen) AS qualified,
               sum(d.bxbp_gmv_fen) AS bxbp, max(d.households_linked) AS households
        FROM d GROUP BY d.k, d.vendor_id
    ), g AS (
        SELECT v.k, sum(v.orders) AS orders, sum(v.lines) AS lines,
               sum(v.gmv) AS gmv, sum(v.poverty) AS poverty,
               sum(v.qualified) AS qualified, sum(v.bxbp) AS bxbp,
               coalesce(sum(v.households) FILTER (WHERE v.gmv > 0), 0) AS households
        FROM v GROUP BY v.k
        -- A group whose sales were all reversed in the period is no row.
        HAVING sum(v.orders) <> 0 OR sum(v.lines) <> 0 OR sum(v.gmv) <> 0
            OR sum(v.poverty) <> 0 OR sum(v.qualified) <> 0 OR sum(v.bxbp) <> 0
    ), vt AS (
        SELECT v.vendor_id, sum(v.all_orders) AS orders, sum(v.lines) AS lines,
               sum(v.gmv) AS gmv, sum(v.poverty) AS poverty,
               sum(v.qualified) AS qualified, sum(v.bxbp) AS bxbp,
               max(v.households) AS households
        FROM v GROUP BY v.vendor_id
    )
    SELECT json_build_object('from', p_from, 'to', p_to, 'group_by', p_group,
        'rows', coalesce((
            SELECT json_agg(json_build_object('key', l.o_key, 'name', l.o_name,
                'orders', g.orders::bigint, 'lines', g.lines::bigint,
                'gmv_fen', g.gmv::bigint, 'poverty_county_gmv_fen', g.poverty::bigint,
                'qualified_vendor_gmv_fen', g.qualified::bigint,
                'bxbp_gmv_fen', g.bxbp::bigint,
                'households_linked', g.households::bigint)
                ORDER BY CASE WHEN p_group = 'month' THEN g.k END,
                         g.gmv DESC, g.k NULLS LAST)
            FROM g CROSS JOIN LATERAL ledger_group_label(p_group, g.k) l), '[]'),
        'totals', (
            SELECT json_build_object(
                'orders', coalesce(sum(vt.orders), 0)::bigint,
                'lines', coalesce(sum(vt.lines), 0)::bigint,
                'gmv_fen', coalesce(sum(vt.gmv), 0)::bigint,
                'poverty_county_gmv_fen', coalesce(sum(vt.poverty), 0)::bigint,
                'qualified_vendor_gmv_fen', coalesce(sum(vt.qualified), 0)::bigint,
                'bxbp_gmv_fen', coalesce(sum(vt.bxbp), 0)::bigint,
                'households_linked',
                    coalesce(sum(vt.households) FILTER (WHERE vt.gmv > 0), 0)::bigint)
            FROM vt)));
END $$;

-- GET /impact: the public totals of the current Shanghai year by region,
-- all five even with nothing sold, the same definitions as api_ledger's
-- region grouping; poverty_county_share_bps is the poverty counties' share
-- of the amount, in basis points rounded half up.  Aggregates only: no
-- buyer, user or organisation is named.  Synthetic entries never count.
CREATE FUNCTION api_impact() RETURNS json
LANGUAGE plpgsql STABLE AS $$
DECLARE
    y integer := date_part('year', now() AT TIME ZONE 'Asia/Shanghai')::integer;
BEGIN
    RETURN (
    WITH v AS (
        SELECT s.region_id, s.vendor_id, sum(s.gmv_fen) AS gmv,
               sum(s.poverty_county_gmv_fen) AS poverty,
               sum(s.region_orders) AS orders, max(s.households_linked) AS households
        FROM ledger_summary(make_date(y, 1, 1), make_date(y, 12, 31)) s
        WHERE NOT s.synthetic
        GROUP BY s.region_id, s.vendor_id
    ), g AS (
        SELECT v.region_id, sum(v.gmv) AS gmv, sum(v.poverty) AS poverty,
               sum(v.orders) AS orders,
               sum(v.households) FILTER (WHERE v.gmv > 0) AS households
        FROM v GROUP BY v.region_id
    )
    SELECT json_build_object('year', y,
        'regions', json_agg(json_build_object('code', r.code, 'name', r.name,
            'gmv_fen', coalesce(g.gmv, 0)::bigint,
            'orders', coalesce(g.orders, 0)::bigint,
            'poverty_county_share_bps', CASE WHEN g.gmv > 0
                THEN round(g.poverty * 10000 / g.gmv)::bigint
                ELSE 0 END,
            'households_linked', coalesce(g.households, 0)::bigint)
            ORDER BY r.sort, r.id))
    FROM regions r LEFT JOIN g ON g.region_id = r.id);
END $$;
