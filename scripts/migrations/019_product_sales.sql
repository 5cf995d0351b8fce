-- A product's sales off its row (issue 17).  Checkout holds the product row
-- of a hot item while its batch commits (stock), and every settlement
-- batch waited for that row to add the paid quantities to products.sales:
-- profiles of the festival bench showed payment_sales() waiting on it for
-- 31 ms a batch, and the other settlement worker waiting in turn on the
-- ledger's summary rows this one held.  PostgreSQL locks a row whole, so
-- the two columns cannot be written apart on one row: the sales move to a
-- table of their own.  Checkout locks products, settlement product_sales;
-- neither waits for the other.
--
-- A product without a row here has sold nothing.  Every writer locks
-- product_sales rows in product id order: settlement (payment_sales), a
-- restock of cancelled paid orders (order_restock_all, after the products
-- it restocks, which settlement never locks), a booking's cancel (one row).
CREATE TABLE product_sales (
    product_id  bigint PRIMARY KEY REFERENCES products ON DELETE CASCADE,
    sales       bigint NOT NULL DEFAULT 0 CHECK (sales >= 0)
);
-- Written on every paid order of the product: room for HOT updates.
ALTER TABLE product_sales SET (fillfactor = 70);

INSERT INTO product_sales (product_id, sales)
SELECT id, sales FROM products WHERE sales > 0 ORDER BY id;

-- The same columns in the same order; sales read from its table.
CREATE OR REPLACE VIEW product_facts AS
SELECT p.id, p.vendor_id, p.category_id, p.kind, p.title, p.description,
       p.unit, p.price_fen, p.stock, p.status, p.images,
       coalesce(s.sales, 0) AS sales,
       p.created_at, p.updated_at,
       v.name AS vendor_name,
       v.kind AS vendor_kind,
       v.poor_households_linked,
       -- vendor_qualified() spelled out, with the threshold read once per
       -- query rather than once per row.
       (v.status = 'approved' AND v.qualified_until IS NOT NULL
        AND v.qualified_until >= (now() AT TIME ZONE 'Asia/Shanghai')::date
        AND v.credit_score >= th.threshold) AS qualified,
       credit_level(v.credit_score) AS credit_level,
       c.id AS county_pk, c.code AS county_code, c.name AS county_name,
       c.is_poverty_county,
       r.id AS region_pk, r.code AS region_code, r.name AS region_name,
       cat.code AS category_code, cat.name AS category_name,
       EXISTS (SELECT 1 FROM bxbp_designations b
               WHERE b.product_id = p.id AND b.revoked_at IS NULL) AS bxbp
FROM products p
LEFT JOIN product_sales s ON s.product_id = p.id
JOIN vendors v ON v.id = p.vendor_id
JOIN counties c ON c.id = v.county_id
JOIN regions r ON r.id = c.region_id
JOIN categories cat ON cat.id = p.category_id
CROSS JOIN (SELECT value::integer AS threshold FROM settings
            WHERE key = 'credit_threshold') th;

ALTER TABLE products DROP COLUMN sales;

-- The paid quantities of the orders, one upsert per product, in id order.
CREATE OR REPLACE FUNCTION payment_sales(p_paid bigint[])
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(p_paid) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO product_sales AS s (product_id, sales)
    SELECT l.product_id, sum(l.qty) FROM order_lines l
     WHERE l.order_id = ANY (p_paid)
     GROUP BY l.product_id ORDER BY l.product_id
    ON CONFLICT (product_id) DO UPDATE SET sales = s.sales + EXCLUDED.sales;
END $$;

CREATE OR REPLACE FUNCTION order_restock_all(oids bigint[], was_paid boolean)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];   -- the products restocked, in id order
    qtys bigint[];  -- the quantity of each, beside it
BEGIN
    SELECT array_agg(l.product_id ORDER BY l.product_id),
           array_agg(l.qty ORDER BY l.product_id)
      INTO ids, qtys
      FROM (SELECT product_id, sum(qty) AS qty FROM order_lines l
            WHERE l.order_id = ANY (oids) AND NOT line_booked(l.order_id, l.product_id)
            GROUP BY product_id) l;
    IF ids IS NULL THEN
        RETURN;
    END IF;
    PERFORM 1 FROM products WHERE id = ANY (ids) ORDER BY id FOR UPDATE;
    UPDATE products p SET stock = p.stock + x.qty, updated_at = now()
      FROM unnest(ids, qtys) x(id, qty) WHERE p.id = x.id;
    IF was_paid THEN
        PERFORM 1 FROM product_sales WHERE product_id = ANY (ids)
          ORDER BY product_id FOR UPDATE;
        UPDATE product_sales s SET sales = greatest(s.sales - x.qty, 0)
          FROM unnest(ids, qtys) x(id, qty) WHERE s.product_id = x.id;
    END IF;
END $$;

-- booking_cancel_order() of 016_services_shop.sql, the sales taken back from
-- their table.
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
        UPDATE product_sales SET sales = greatest(sales - b.places, 0)
         WHERE product_id = s.product_id;
        IF refund > 0 THEN
            INSERT INTO refunds (payment_id, order_id, amount_fen, status, reason)
            VALUES (pay.id, oid, refund, 'succeeded', 'booking cancelled by buyer');
        END IF;
    END IF;
    RETURN was;
END $$;

-- vendor_product_json() of 006_vendors.sql, the sales read from their table.
CREATE OR REPLACE FUNCTION vendor_product_json(pid bigint) RETURNS json
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
        'sales', coalesce((SELECT s.sales FROM product_sales s
                           WHERE s.product_id = p.id), 0),
        'created_at', p.created_at, 'updated_at', p.updated_at)
    FROM products p WHERE p.id = pid);
END $$;
