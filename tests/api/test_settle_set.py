"""A batch of payment notifications settled with set-based statements
(018_settle_set.sql): judged in memory in the batch's order, then each
table written once for the whole batch.  What a set-based settlement could
get wrong, and must not: two payments of one order in one batch (one pays,
the other is refunded whole), a wrong amount before the right one, a
failure before a success, multi-vendor orders and a bulk order beside
single ones (each line one sale row, each order counted once per region,
county, vendor and category), and the ledger's summaries equal to its rows
summed again, each summary key written once per batch."""

import json
import os
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

import shop  # noqa: E402

from shop import (  # noqa: E402,F401
    buy, create_payment, make_users, module_products, ok, order_row, psql,
    row, rows, run_parallel, val, vendor_of)
from test_bulk_orders import (  # noqa: E402
    GOODS, approved, person, place)
from test_bulk_orders import pay as bulk_pay  # noqa: E402
from test_orgs import org_team  # noqa: E402
from test_payment_batches import settle, sales_of  # noqa: E402


def reused_pair():
    """Two listed goods of two vendors among those earlier modules took and
    put back (shop._taken: never handed out again in this run), so this
    module takes nothing from the run's pool, which the last modules
    need whole; None when there are not two (the module run alone)."""
    with shop._taken_lock:
        taken = ",".join(str(i) for i in shop._taken) or "0"
    got = rows("SELECT a.id AS a, b.id AS b FROM product_facts a, "
               "product_facts b WHERE a.id IN (%s) AND b.id IN (%s) AND "
               "a.vendor_id <> b.vendor_id AND a.status = 'listed' AND "
               "b.status = 'listed' AND a.kind = 'goods' AND "
               "b.kind = 'goods' ORDER BY a.id, b.id LIMIT 1"
               % (taken, taken))
    return (got[0]["a"], got[0]["b"]) if got else None


@pytest.fixture(scope="module")
def pair(module_products):
    """Two goods of two vendors, shared by the module's tests (the suite's
    products are few): every test counts sales and rows from its own
    start.  Their stock is put back at the end."""
    ab = reused_pair()
    if ab is None:
        a = module_products.one(where=GOODS)
        b = module_products.one(where=GOODS + " AND p.vendor_id <> %d"
                                % vendor_of(a))
        ab = (a, b)
    saved = rows("SELECT id, stock FROM products WHERE id IN (%d, %d)" % ab)
    psql("UPDATE products SET stock = 100000 WHERE id IN "
         "(SELECT id FROM products WHERE id IN (%d, %d) ORDER BY id "
         "FOR UPDATE)" % ab)
    yield ab
    for r in saved:
        psql("UPDATE products SET stock = %d WHERE id = %d"
             % (r["stock"], r["id"]))


def payment_row(pid):
    return row("SELECT status, notifications, settled_at IS NOT NULL AS "
               "settled FROM payments WHERE id = %d" % pid)


def ledger_check():
    out = subprocess.run(
        [os.path.join(os.environ["BANGFU_ROOT"], "scripts", "ledger_check.sh")],
        env=dict(os.environ), capture_output=True, text=True, timeout=120)
    return out.returncode, out.stdout + out.stderr


def assert_each_sale_once(oids):
    """Every line of the orders has one sale row of its whole amount; each
    order counts once in total and once per region, county, vendor and
    category it touches."""
    ids = ",".join(str(o) for o in oids)
    bad = rows(
        "SELECT l.id, count(e.*) AS n, sum(e.amount_fen) AS amt, "
        "l.line_total_fen FROM order_lines l LEFT JOIN ledger_entries e "
        "ON e.order_line_id = l.id AND e.kind = 'sale' "
        "WHERE l.order_id IN (%s) GROUP BY l.id "
        "HAVING count(e.*) <> 1 OR sum(e.amount_fen) <> l.line_total_fen"
        % ids)
    assert bad == []
    for dim in ("", "region_", "county_", "vendor_", "category_"):
        key = "order_id" + ("" if not dim else ", " + dim + "id")
        got = rows("SELECT %s, sum(%sorders_delta) AS n FROM ledger_entries "
                   "WHERE order_id IN (%s) AND kind = 'sale' GROUP BY %s "
                   "HAVING sum(%sorders_delta) <> 1" % (key, dim, ids, key, dim))
        assert got == [], (dim, got)


def test_two_payments_of_one_order_in_one_batch(pair):
    """The first success pays the order; the second, in the same batch,
    finds it paid and its money goes back whole; replays of both after
    them change nothing.  Sales and ledger count the order once."""
    a, b = pair
    u = make_users(1, tag="setset")[0]
    o = buy(u, [(a, 2), (b, 1)])
    p1 = ok(create_payment(u, o["id"], key="k1-" + uuid.uuid4().hex), 201)
    p2 = ok(create_payment(u, o["id"], key="k2-" + uuid.uuid4().hex), 201)
    assert p1["payment_id"] != p2["payment_id"]
    sa, sb = sales_of(a), sales_of(b)
    got = settle([
        (p1["payment_id"], "succeeded", p1["amount_fen"]),
        (p2["payment_id"], "succeeded", p2["amount_fen"]),
        (p1["payment_id"], "succeeded", p1["amount_fen"]),
        (p2["payment_id"], "succeeded", p2["amount_fen"]),
    ])
    assert got == [
        (1, 200, {"payment_id": p1["payment_id"], "status": "succeeded",
                  "changed": True}),
        (2, 200, {"payment_id": p2["payment_id"], "status": "refunded",
                  "changed": True}),
        (3, 200, {"payment_id": p1["payment_id"], "status": "succeeded",
                  "changed": False}),
        (4, 200, {"payment_id": p2["payment_id"], "status": "refunded",
                  "changed": False}),
    ]
    assert order_row(o["id"])["status"] == "paid"
    assert payment_row(p1["payment_id"]) == \
        {"status": "succeeded", "notifications": 2, "settled": True}
    assert payment_row(p2["payment_id"]) == \
        {"status": "refunded", "notifications": 2, "settled": True}
    assert rows("SELECT payment_id, order_id, amount_fen FROM refunds "
                "WHERE order_id = %d" % o["id"]) == \
        [{"payment_id": p2["payment_id"], "order_id": o["id"],
          "amount_fen": p2["amount_fen"]}]
    assert (sales_of(a), sales_of(b)) == (sa + 2, sb + 1)
    assert_each_sale_once([o["id"]])
    assert val("SELECT count(*) FROM order_events WHERE order_id = %d AND "
               "event = 'pay'" % o["id"]) == 1 + len(o["parts"])


def test_wrong_amounts_and_failures_beside_good_ones(pair):
    """In one batch: a wrong amount then the right one for payment A (422,
    then paid), a failure then a success for B (failed, then unchanged), a
    wrong amount alone for C (still pending).  Every notification of a
    known payment is counted."""
    pid = pair[0]
    users = make_users(3, tag="setset")

    def one(u):
        o = buy(u, [(pid, 1)])
        return o, ok(create_payment(u, o["id"]), 201)
    (oa, pa), (ob, pb), (oc, pc) = run_parallel(one, users)
    s0 = sales_of(pid)
    got = settle([
        (pa["payment_id"], "succeeded", pa["amount_fen"] - 1),
        (pb["payment_id"], "failed", pb["amount_fen"]),
        (pa["payment_id"], "succeeded", pa["amount_fen"]),
        (pc["payment_id"], "succeeded", pc["amount_fen"] + 7),
        (pb["payment_id"], "succeeded", pb["amount_fen"]),
    ])
    assert [(i, st) for i, st, _ in got] == \
        [(1, 422), (2, 200), (3, 200), (4, 422), (5, 200)]
    assert got[0][2] == {"code": "amount_mismatch",
                         "expected_fen": pa["amount_fen"]}
    assert got[1][2] == {"payment_id": pb["payment_id"], "status": "failed",
                         "changed": True}
    assert got[2][2] == {"payment_id": pa["payment_id"],
                         "status": "succeeded", "changed": True}
    assert got[3][2] == {"code": "amount_mismatch",
                         "expected_fen": pc["amount_fen"]}
    assert got[4][2] == {"payment_id": pb["payment_id"], "status": "failed",
                         "changed": False}
    assert payment_row(pa["payment_id"]) == \
        {"status": "succeeded", "notifications": 2, "settled": True}
    assert payment_row(pb["payment_id"]) == \
        {"status": "failed", "notifications": 2, "settled": True}
    assert payment_row(pc["payment_id"]) == \
        {"status": "pending", "notifications": 1, "settled": False}
    assert [order_row(o["id"])["status"] for o in (oa, ob, oc)] == \
        ["paid", "pending_payment", "pending_payment"]
    assert sales_of(pid) == s0 + 1
    assert_each_sale_once([oa["id"]])
    assert val("SELECT count(*) FROM ledger_entries WHERE order_id IN "
               "(%d, %d)" % (ob["id"], oc["id"])) == 0


def test_multi_vendor_and_bulk_orders_in_one_batch(pair):
    """Orders of two vendors each, and a bulk order of three recipients,
    settled in one batch: every line one sale, every order counted once
    per key, the sales of each product summed over the batch, and the
    ledger check (summaries equal to the rows summed again) holds."""
    a, b = pair
    users = make_users(4, tag="setset")

    def one(u):
        o = buy(u, [(a, 1), (b, 2)])
        assert len(o["parts"]) == 2
        return o, ok(create_payment(u, o["id"]), 201)
    singles = run_parallel(one, users)
    t = org_team()
    s = approved(t, [person(1, [(a, 1)]), person(2, [(a, 2), (b, 1)]),
                     person(3, [(b, 3)])])
    ok(place(t, s["id"], key="k-" + uuid.uuid4().hex), 201)
    bp = ok(bulk_pay(t, s["id"], key="p-" + uuid.uuid4().hex), 201)
    bulk_oids = [r["id"] for r in rows(
        "SELECT id FROM orders WHERE bulk_order_id = %d" % s["id"])]
    assert len(bulk_oids) >= 2
    sa, sb = sales_of(a), sales_of(b)

    batch = [(p["payment_id"], "succeeded", p["amount_fen"])
             for _, p in singles[:2]]
    batch.append((bp["payment_id"], "succeeded", bp["amount_fen"]))
    batch += [(p["payment_id"], "succeeded", p["amount_fen"])
              for _, p in singles[2:]]
    got = settle(batch)
    assert all(st == 200 and bd["changed"] and bd["status"] == "succeeded"
               for _, st, bd in got), got
    oids = [o["id"] for o, _ in singles] + bulk_oids
    assert {order_row(x)["status"] for x in oids} == {"paid"}
    assert_each_sale_once(oids)
    assert sales_of(a) == sa + 4 + 3
    assert sales_of(b) == sb + 8 + 4
    rc, text = ledger_check()
    assert rc == 0, text


def test_a_batch_writes_each_summary_key_once(pair):
    """Eight payments of one product in one batch: the ledger's rows all
    fall on one summary key (day, region, county, vendor, category, no
    org), and the batch upserts that key once in ledger_daily and once in
    ledger_monthly, not once per payment."""
    pid = pair[0]
    users = make_users(8, tag="setset")

    def one(u):
        o = buy(u, [(pid, 1)])
        return o, ok(create_payment(u, o["id"]), 201)
    paid = run_parallel(one, users)
    arg = json.dumps([{"payment_id": p["payment_id"], "status": "succeeded",
                       "amount_fen": p["amount_fen"]} for _, p in paid])
    # PostgreSQL 15's pg_stat_xact_* count, besides this transaction's
    # writes, those of the session's earlier transactions not yet flushed
    # (a second or so): the writes are read before and after, inside the
    # one transaction, and subtracted.
    counts = ("SELECT relname || '=' || (n_tup_ins + n_tup_upd) FROM "
              "pg_stat_xact_user_tables WHERE relname IN ('ledger_entries', "
              "'ledger_daily', 'ledger_monthly') ORDER BY relname")
    out = psql(
        "BEGIN; %s; SELECT count(*) FROM settle_payments('%s'::jsonb, "
        "'{\"pending_payment\":\"paid\"}'::jsonb, '{\"pending\":\"paid\"}'"
        "::jsonb); %s; COMMIT" % (counts, arg.replace("'", "''"), counts))
    lines = out.split("\n")
    assert len(lines) == 7 and lines[3] == "8", out
    before = dict(x.split("=") for x in lines[:3])
    after = dict(x.split("=") for x in lines[4:])
    writes = {k: int(after[k]) - int(before[k]) for k in after}
    assert writes == {"ledger_entries": 8, "ledger_daily": 1,
                      "ledger_monthly": 1}, out
    assert_each_sale_once([o["id"] for o, _ in paid])
    assert {order_row(o["id"])["status"] for o, _ in paid} == {"paid"}
