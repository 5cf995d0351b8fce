-- The sandbox cashier sends the buyer of a bulk order back to that bulk
-- order's page in the workspace (/org/bulk/{id}, assets/src/workspace),
-- as it sends a citizen back to /orders/{id}; before, it sent them to the
-- shop's home page.  A payment's own return_url still comes first.
CREATE OR REPLACE FUNCTION sandbox_payment(p_id bigint) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('payment_id', p.id, 'amount_fen', p.amount_fen,
        'status', p.status,
        'order_no', (SELECT o.order_no FROM orders o WHERE o.id = p.order_id),
        'return_url', coalesce(p.return_url,
            CASE WHEN p.order_id IS NOT NULL THEN '/orders/' || p.order_id
                 WHEN p.bulk_order_id IS NOT NULL THEN '/org/bulk/' || p.bulk_order_id
                 ELSE '/' END))
      FROM payments p WHERE p.id = p_id AND p.provider = 'sandbox'
$$;
