"""Payment notifications settled in batches (app/settler.c,
017_settle_batches.sql): every notification a worker has in hand leaves as
one settle_payments() statement, each judged alone inside it, as
payment_notify() judges one.  What must hold whatever shares a batch: a
payment settles once however many notifications race for it, a bad
notification fails alone, a replay changes nothing, the ledger and the
sales count each sale once."""

import json
import os
import sys
import threading

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from shop import (  # noqa: E402,F401
    KORE_URL, buy, create_payment, get, make_users, notify_body, ok,
    order_row, post, problem, psql, rows, run_parallel, shop_products, sign,
    val, worker_pools)

# What fsm_map(0 and 1, EV_PAY) hands the function (app/http_orders.c).
OMAP = '{"pending_payment":"paid"}'
PMAP = '{"pending":"paid"}'


def counters():
    text = get("", url=os.environ["BANGFU_URL"] + "/metrics").text
    got = {"payment_batches_total": 0, "payment_batched_total": 0}
    for line in text.splitlines():
        for name in got:
            if line.startswith("bangfu_" + name + " "):
                got[name] = int(line.split()[1])
    return got


def settle(batch):
    """settle_payments() of a batch of (payment_id, status, amount_fen):
    its rows [(i, status, body)], in one transaction as the settler runs
    it."""
    arg = json.dumps([{"payment_id": p, "status": s, "amount_fen": a}
                      for p, s, a in batch])
    return [(r["i"], r["status"], r["body"]) for r in rows(
        "SELECT i, status, body FROM settle_payments(%s::jsonb, %s::jsonb, "
        "%s::jsonb) ORDER BY i" % ("'" + arg.replace("'", "''") + "'",
                                   "'" + OMAP + "'", "'" + PMAP + "'"))]


def sales_of(pid):
    return val("SELECT sales FROM product_facts WHERE id = %d" % pid)


def sale_entries(oids):
    return val("SELECT count(*) FROM ledger_entries WHERE kind = 'sale' "
               "AND order_id IN (%s)" % ",".join(str(o) for o in oids))


def pending_orders(pid, n, qty=1):
    """n users, each with a pending order of qty of pid and a payment."""
    users = make_users(n, tag="settle")

    def one(u):
        o = buy(u, [(pid, qty)])
        return u, o, ok(create_payment(u, o["id"]), 201)
    return run_parallel(one, users)


def signed_post(session, payment_id, status, amount):
    raw = notify_body(payment_id, status, amount).encode()
    return post("/payments/sandbox/notify", data=raw, session=session,
                headers={"Content-Type": "application/json",
                         "X-Sandbox-Signature": sign(raw)})


def sessions_round(n):
    """At least n kept-alive sessions, as many on every worker, flattened:
    one per concurrent request (a requests.Session is not for threads)."""
    pools = worker_pools(per=n)
    return [s for p in pools.values() for s in p]


def close_all(ss):
    for s in ss:
        s.close()


def test_one_batch_judges_each_notification_alone(shop_products):
    """In one statement: two good notifications, one for an unknown payment,
    one with a wrong amount, a failure, and a replay of the first: each has
    its own answer, and the good ones pay (sales and ledger once each)."""
    pid = shop_products.one(stock=100)
    (u1, o1, p1), (u2, o2, p2), (u3, o3, p3), (u4, o4, p4) = \
        pending_orders(pid, 4, qty=2)
    missing = val("SELECT coalesce(max(id), 0) + 1000000 FROM payments")
    before = sales_of(pid)
    got = settle([
        (p1["payment_id"], "succeeded", p1["amount_fen"]),
        (missing, "succeeded", 1),
        (p2["payment_id"], "succeeded", p2["amount_fen"] + 1),
        (p3["payment_id"], "succeeded", p3["amount_fen"]),
        (p4["payment_id"], "failed", p4["amount_fen"]),
        (p1["payment_id"], "succeeded", p1["amount_fen"]),
    ])
    assert [(i, st) for i, st, _ in got] == \
        [(1, 200), (2, 404), (3, 422), (4, 200), (5, 200), (6, 200)]
    assert got[0][2]["changed"] is True and \
        got[0][2]["status"] == "succeeded"
    assert got[1][2] is None
    assert got[2][2] == {"code": "amount_mismatch",
                         "expected_fen": p2["amount_fen"]}
    assert got[3][2]["changed"] is True
    assert got[4][2] == {"payment_id": p4["payment_id"], "status": "failed",
                         "changed": True}
    assert got[5][2] == {"payment_id": p1["payment_id"],
                         "status": "succeeded", "changed": False}
    assert [order_row(o["id"])["status"] for o in (o1, o2, o3, o4)] == \
        ["paid", "pending_payment", "paid", "pending_payment"]
    assert sales_of(pid) == before + 4
    assert sale_entries([o1["id"], o3["id"]]) == 2
    assert sale_entries([o2["id"], o4["id"]]) == 0
    # The wrong amount's payment still takes the right one, alone.
    assert settle([(p2["payment_id"], "succeeded", p2["amount_fen"])])[0][1] \
        == 200
    assert order_row(o2["id"])["status"] == "paid"
    assert sales_of(pid) == before + 6


def test_concurrent_notifications_for_one_order_settle_once(shop_products):
    """The same success 24 times at once, from several connections on every
    worker, so that batches carry several copies and race each other: one
    answer says changed, the sale counts once everywhere."""
    pid = shop_products.one(stock=100)
    [(u, o, p)] = pending_orders(pid, 1, qty=3)
    before = sales_of(pid)
    c0 = counters()
    n = 24
    ss = sessions_round(n // 2)
    try:
        gate = threading.Barrier(n)

        def go(k):
            gate.wait()
            return signed_post(ss[k], p["payment_id"], "succeeded",
                               p["amount_fen"])
        res = run_parallel(go, list(range(n)), workers=n)
    finally:
        close_all(ss)
    assert [r.status_code for r in res] == [200] * n, [r.text for r in res]
    assert sum(1 for r in res if r.json()["changed"]) == 1
    assert all(r.json()["status"] == "succeeded" for r in res)
    assert order_row(o["id"])["status"] == "paid"
    assert sales_of(pid) == before + 3
    assert sale_entries([o["id"]]) == 1
    assert val("SELECT count(*) FROM order_events WHERE order_id = %d AND "
               "event = 'pay' AND part_id IS NULL" % o["id"]) == 1
    assert val("SELECT notifications FROM payments WHERE id = %d"
               % p["payment_id"]) == n
    # Every one went through the settler's batches.
    c1 = counters()
    assert c1["payment_batched_total"] - c0["payment_batched_total"] >= n
    assert 1 <= c1["payment_batches_total"] - c0["payment_batches_total"] <= n


def test_a_burst_with_bad_notifications_pays_the_good_ones(shop_products):
    """Good, wrong-amount, unknown and failed notifications for one hot
    product at once, and each good one twice: every good order paid once,
    every bad one answered as alone and changing nothing."""
    pid = shop_products.one(stock=200)
    orders = pending_orders(pid, 16)
    good, wrong, failed = orders[:10], orders[10:13], orders[13:]
    missing = val("SELECT coalesce(max(id), 0) + 1000000 FROM payments")
    before = sales_of(pid)
    jobs = []
    for _, o, p in good:
        jobs += [("good", o, p, "succeeded", p["amount_fen"])] * 2
    for _, o, p in wrong:
        jobs.append(("wrong", o, p, "succeeded", p["amount_fen"] - 1))
    for _, o, p in failed:
        jobs.append(("failed", o, p, "failed", p["amount_fen"]))
    jobs.append(("missing", None, {"payment_id": missing}, "succeeded", 1))
    c0 = counters()
    ss = sessions_round((len(jobs) + 1) // 2)
    try:
        gate = threading.Barrier(len(jobs))

        def go(k):
            kind, o, p, st, amt = jobs[k]
            gate.wait()
            return kind, o, p, signed_post(ss[k], p["payment_id"],
                                           st, amt)
        res = run_parallel(go, list(range(len(jobs))), workers=len(jobs))
    finally:
        close_all(ss)
    changed = {}
    for kind, o, p, r in res:
        if kind == "good":
            body = ok(r)
            assert body["status"] == "succeeded"
            changed[o["id"]] = changed.get(o["id"], 0) + body["changed"]
        elif kind == "wrong":
            problem(r, 422, "amount_mismatch")
        elif kind == "failed":
            assert ok(r)["status"] == "failed"
        else:
            problem(r, 404, "not_found")
    assert changed == {o["id"]: 1 for _, o, _ in good}
    assert {order_row(o["id"])["status"] for _, o, _ in good} == {"paid"}
    assert {order_row(o["id"])["status"] for _, o, _ in wrong + failed} == \
        {"pending_payment"}
    assert sales_of(pid) == before + len(good)
    assert sale_entries([o["id"] for _, o, _ in good]) == len(good)
    assert sale_entries([o["id"] for _, o, _ in wrong + failed]) == 0
    c1 = counters()
    # The bad signatures' and shapes' refusals never reach a batch; these
    # all did.
    assert c1["payment_batched_total"] - c0["payment_batched_total"] >= \
        len(jobs)


def test_replays_after_settling_change_nothing(shop_products):
    """Paid orders' notifications again, all at once with a new one, and the
    cashier page's POST again: the new one pays, the replays answer as
    settled (the cashier 303 to the order), counts and ledger stay."""
    pid = shop_products.one(stock=100)
    orders = pending_orders(pid, 7)
    old, new = orders[:6], orders[6]
    for _, o, p in old:
        ok(post("/payments/sandbox/notify",
                data=notify_body(p["payment_id"], "succeeded",
                                 p["amount_fen"]).encode(),
                headers={"Content-Type": "application/json",
                         "X-Sandbox-Signature": sign(notify_body(
                             p["payment_id"], "succeeded",
                             p["amount_fen"]))}))
    before = sales_of(pid)
    entries = sale_entries([o["id"] for _, o, _ in old])
    assert entries == len(old)
    jobs = [(o, p) for _, o, p in old] * 2 + [(new[1], new[2])]
    ss = sessions_round((len(jobs) + 1) // 2)
    try:
        gate = threading.Barrier(len(jobs))

        def go(k):
            o, p = jobs[k]
            gate.wait()
            return o, signed_post(ss[k], p["payment_id"],
                                  "succeeded", p["amount_fen"])
        res = run_parallel(go, list(range(len(jobs))), workers=len(jobs))
    finally:
        close_all(ss)
    for o, r in res:
        body = ok(r)
        assert body["status"] == "succeeded"
        assert body["changed"] is (o["id"] == new[1]["id"])
    assert sales_of(pid) == before + 1
    assert sale_entries([o["id"] for _, o, _ in old]) == entries
    assert sale_entries([new[1]["id"]]) == 1
    # The cashier page pressed again for a paid payment: back to the order.
    r = requests.post(os.environ["BANGFU_URL"] + "/sandbox/pay/%d"
                      % old[0][2]["payment_id"], data={"status": "succeeded"},
                      allow_redirects=False, timeout=60)
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == "/orders/%d" % old[0][1]["id"]
    assert sales_of(pid) == before + 1
    assert sale_entries([o["id"] for _, o, _ in old]) == entries
