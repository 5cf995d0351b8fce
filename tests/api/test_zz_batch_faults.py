"""Checkouts share batches (app/placer.c): one order that makes its batch
fail must not take the others down.  Here a trigger refuses one buyer's
orders, as any unexpected database error would."""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from shop import (  # noqa: E402,F401
    cart_get, cart_lines, cart_put, checkout, get, make_users, ok, problem,
    psql, run_parallel, shop_products, stock_of, val)


def batch_counters():
    text = get("", url=os.environ["BANGFU_URL"] + "/metrics").text
    got = {}
    for line in text.splitlines():
        for name in ("checkout_batches_total", "checkout_batched_orders_total"):
            if line.startswith("bangfu_" + name + " "):
                got[name] = int(line.split()[1])
    return got


def test_a_failed_batch_places_its_other_orders_alone(shop_products):
    pid = shop_products.one(stock=100)
    users = make_users(24, tag="batchfault")
    bad = users[len(users) // 2]
    run_parallel(lambda u: cart_put(u.token, pid, 1), users)
    before = batch_counters()

    psql("CREATE FUNCTION test_refuse_order() RETURNS trigger "
         "LANGUAGE plpgsql AS $$ BEGIN IF NEW.user_id = %d THEN "
         "RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$"
         % bad.id)
    psql("CREATE TRIGGER test_refuse BEFORE INSERT ON orders FOR EACH ROW "
         "EXECUTE FUNCTION test_refuse_order()")
    barrier = threading.Barrier(len(users))

    def go(u):
        barrier.wait()
        return u, checkout(u.token)

    try:
        res = run_parallel(go, users, workers=len(users))
    finally:
        psql("DROP TRIGGER test_refuse ON orders")
        psql("DROP FUNCTION test_refuse_order()")

    by = {u.id: r for u, r in res}
    problem(by[bad.id], 500, "internal")
    for u in users:
        if u is not bad:
            o = ok(by[u.id], 201)
            assert o["parts"][0]["items"][0]["product_id"] == pid
    # The refused order took nothing and left its cart; the others took one
    # unit each, once.
    assert stock_of(pid) == 100 - (len(users) - 1)
    assert val("SELECT count(*) FROM orders WHERE user_id = %d" % bad.id) == 0
    assert cart_lines(cart_get(bad.token)) == {pid: 1}
    n = val("SELECT count(*) FROM orders o JOIN order_lines l "
            "ON l.order_id = o.id WHERE l.product_id = %d AND o.user_id IN (%s)"
            % (pid, ",".join(str(u.id) for u in users)))
    assert n == len(users) - 1

    # Every order went through the placer (a batch), whatever came after.
    after = batch_counters()
    assert after["checkout_batched_orders_total"] - \
        before["checkout_batched_orders_total"] >= len(users)
