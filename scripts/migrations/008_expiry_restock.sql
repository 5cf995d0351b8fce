-- Unpaid orders past their deadline give their stock back, and now say
-- which products: the server publishes those as stock moves, as a cancel
-- does, so carts and product pages do not keep the stock from before the
-- expiry until their caches age out.
CREATE FUNCTION expire_orders_restocked(p_omap jsonb, p_pmap jsonb, p_limit integer)
RETURNS json LANGUAGE plpgsql AS $$
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
    IF cardinality(moved) = 0 THEN
        RETURN '[]'::json;
    END IF;
    -- One restock for the batch, locking its products in id order.
    PERFORM order_restock_all(moved, false);
    RETURN (SELECT json_agg(json_build_object('product_id', product_id)
                            ORDER BY product_id)
              FROM (SELECT DISTINCT product_id FROM order_lines
                     WHERE order_id = ANY (moved)) l);
END $$;

-- The previous release's sweep, for its nodes during a rolling deploy: the
-- same work, through the function above.
CREATE OR REPLACE FUNCTION expire_orders(p_omap jsonb, p_pmap jsonb, p_limit integer)
RETURNS integer LANGUAGE sql AS $$
    SELECT json_array_length(expire_orders_restocked(p_omap, p_pmap, p_limit))
$$;
