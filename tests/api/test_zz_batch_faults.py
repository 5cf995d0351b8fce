"""Checkouts share batches (app/placer.c): one order that makes its batch
fail must not take the others down.  Here a trigger refuses one buyer's
orders, as any unexpected database error would."""

import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from shop import (  # noqa: E402,F401
    cart_get, cart_lines, cart_put, checkout, create_payment, get,
    make_users, notify, ok, order_row, problem, psql, run_parallel,
    shop_products, stock_of, val)


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


def payment_counters():
    text = get("", url=os.environ["BANGFU_URL"] + "/metrics").text
    got = {}
    for line in text.splitlines():
        for name in ("payment_batches_total", "payment_batched_total"):
            if line.startswith("bangfu_" + name + " "):
                got[name] = int(line.split()[1])
    return got


def test_a_failed_settlement_batch_settles_its_other_payments_alone(
        shop_products):
    """Payments settle in batches (app/settler.c): a notification whose
    settlement fails on an error of SQL rolls its batch back, and every
    other one of the batch is then settled alone; each pays once."""
    pid = shop_products.one(stock=100)
    users = make_users(16, tag="settlefault")
    sales0 = val("SELECT sales FROM product_facts WHERE id = %d" % pid)

    def one(u):
        cart_put(u.token, pid, 1)
        o = ok(checkout(u.token), 201)
        return u, o, ok(create_payment(u, o["id"]), 201)
    paid = run_parallel(one, users)
    bad = paid[len(paid) // 2][2]["payment_id"]
    before = payment_counters()

    psql("CREATE FUNCTION test_refuse_payment() RETURNS trigger "
         "LANGUAGE plpgsql AS $$ BEGIN IF NEW.id = %d AND "
         "NEW.status = 'succeeded' THEN RAISE EXCEPTION "
         "'refused by the test'; END IF; RETURN NEW; END $$" % bad)
    psql("CREATE TRIGGER test_refuse BEFORE UPDATE ON payments FOR EACH ROW "
         "EXECUTE FUNCTION test_refuse_payment()")
    barrier = threading.Barrier(len(paid))

    def go(t):
        u, o, p = t
        barrier.wait()
        return o, p, notify(p["payment_id"], "succeeded", p["amount_fen"])

    try:
        res = run_parallel(go, paid, workers=len(paid))
    finally:
        psql("DROP TRIGGER test_refuse ON payments")
        psql("DROP FUNCTION test_refuse_payment()")

    for o, p, r in res:
        if p["payment_id"] == bad:
            problem(r, 500, "internal")
            assert order_row(o["id"])["status"] == "pending_payment"
        else:
            assert ok(r)["changed"] is True
            assert order_row(o["id"])["status"] == "paid"
    assert val("SELECT sales FROM product_facts WHERE id = %d" % pid) == \
        sales0 + len(paid) - 1
    assert val("SELECT count(*) FROM ledger_entries WHERE kind = 'sale' AND "
               "order_id IN (%s)" % ",".join(str(o["id"]) for _, o, _ in paid)
               ) == len(paid) - 1
    # The refused one settles once the fault is gone.
    o, p = [(o, p) for _, o, p in paid if p["payment_id"] == bad][0]
    assert ok(notify(p["payment_id"], "succeeded", p["amount_fen"]))["changed"]
    assert order_row(o["id"])["status"] == "paid"
    after = payment_counters()
    assert after["payment_batched_total"] - \
        before["payment_batched_total"] >= len(paid) + 1
