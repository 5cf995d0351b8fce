-- A vendor sees the buyer's name, phone and address (the order's address,
-- a bulk part's recipients) only once the order is paid: never for a part
-- that is unpaid, nor for one cancelled before payment.  The rest of the
-- part (lines, status, amounts) is unchanged.
CREATE OR REPLACE FUNCTION vendor_part_json(pid bigint) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (
    SELECT json_build_object('id', p.id, 'order_id', o.id, 'order_no', o.order_no,
        'status', p.status, 'order_status', o.status,
        'subtotal_fen', p.subtotal_fen, 'fee_fen', p.fee_fen,
        'fee_waived_fen', p.fee_waived_fen,
        'address', CASE WHEN o.paid_at IS NOT NULL THEN o.address END,
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

CREATE OR REPLACE FUNCTION api_vendor_part_recipients(p_user bigint, p_part bigint,
    OUT status integer, OUT body json)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    paid boolean;
BEGIN
    SELECT o.paid_at IS NOT NULL INTO paid
      FROM order_parts op JOIN vendors v ON v.id = op.vendor_id
      JOIN orders o ON o.id = op.order_id
     WHERE op.id = p_part AND v.user_id = p_user;
    IF NOT FOUND THEN
        status := 404;
        body := org_err('not_found', 'no such order part');
        RETURN;
    END IF;
    status := 200;
    body := json_build_object('part_id', p_part, 'items', coalesce((
        SELECT json_agg(json_build_object('recipient_id', r.id,
            'name', CASE WHEN paid THEN r.name END,
            'phone', CASE WHEN paid THEN r.phone END,
            'address', CASE WHEN paid THEN r.address END,
            'carrier', s.carrier, 'tracking_no', s.tracking_no, 'shipped_at', s.shipped_at,
            'lines', (SELECT json_agg(json_build_object('product_id', l.product_id,
                'qty', l.qty) ORDER BY l.product_id) FROM order_lines l
                WHERE l.part_id = p_part AND l.recipient_id = r.id)) ORDER BY r.seq)
        FROM shipments s JOIN bulk_recipients r ON r.id = s.recipient_id
        WHERE s.part_id = p_part), '[]'));
END $$;
