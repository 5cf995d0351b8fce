"""Checkout, the fee rules at checkout, the stock race, the buyer's orders,
cancel, confirm and the expiry of unpaid orders."""

import datetime
import os
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

from shop import (  # noqa: E402,F401
    ADDRESS, PAY_TIMEOUT, RULE_BASE, RULE_COOP, RULE_POVERTY, UTC_TIME_RE,
    WHERE_COOP_NOT_POVERTY, WHERE_ENTERPRISE_NOT_POVERTY,
    WHERE_QUALIFIED_POVERTY, bps, buy, cart_get, cart_lines, cart_put,
    checkout, create_payment, error_fields, free_products, get, get_order,
    make_user, make_users, notify, ok, order_row, pay, post, problem, psql,
    row, rows, rule, run_parallel, set_stock, shop_products, stock_of,
    stocks_of, tier_price, val, wait_until, worker_of, SpareServer)


def parse_time(s):
    assert UTC_TIME_RE.match(s), s
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def user_order_ids(user):
    return {r["id"] for r in rows("SELECT id FROM orders WHERE user_id = %d"
                                  % user.id)}


def lines_by_product(order):
    return {it["product_id"]: it for p in order["parts"]
            for it in p["items"]}


# ------------------------------------------------------------ checkout


def test_checkout_answers_201_with_the_order(shop_products):
    u = make_user()
    a = shop_products.one(stock=30)
    b = shop_products.one(
        where="p.vendor_id <> (SELECT vendor_id FROM products WHERE id = %d)"
        % a, stock=30)
    sales_before = {r["id"]: r["sales"] for r in rows(
        "SELECT id, sales FROM product_facts WHERE id IN (%d, %d)" % (a, b))}
    cart_put(u.token, a, 2)
    cart_put(u.token, b, 1)
    r = checkout(u.token, note="请在工作日送达")
    o = ok(r, 201)

    assert isinstance(o["id"], int)
    assert isinstance(o["order_no"], str) and o["order_no"]
    assert o["status"] == "pending_payment"
    assert o["address"] == ADDRESS
    assert o["note"] == "请在工作日送达"
    assert len(o["parts"]) == 2
    vendors = {r["id"]: r["vendor_id"] for r in rows(
        "SELECT id, vendor_id FROM products WHERE id IN (%d, %d)" % (a, b))}
    assert {p["vendor_id"] for p in o["parts"]} == set(vendors.values())
    total = 0
    for p in o["parts"]:
        assert isinstance(p["id"], int)
        assert p["status"] == "pending"
        assert len(p["items"]) == 1
        sub = 0
        for it in p["items"]:
            for k in ("product_id", "qty", "unit_price_fen",
                      "line_total_fen", "fee_fen", "fee_waived_fen",
                      "fee_rule_id"):
                assert k in it, (k, it)
            assert vendors[it["product_id"]] == p["vendor_id"]
            want_qty = 2 if it["product_id"] == a else 1
            assert it["qty"] == want_qty
            assert it["unit_price_fen"] == tier_price(it["product_id"],
                                                      want_qty)
            assert it["line_total_fen"] == it["unit_price_fen"] * it["qty"]
            assert 0 <= it["fee_waived_fen"] <= it["fee_fen"]
            assert isinstance(it["fee_rule_id"], int)
            sub += it["line_total_fen"]
        assert p["subtotal_fen"] == sub
        total += sub
    assert o["total_fen"] == total

    created = parse_time(o["created_at"])
    pay_before = parse_time(o["pay_before"])
    assert abs((pay_before - created).total_seconds() - PAY_TIMEOUT) < 2, \
        (o["created_at"], o["pay_before"])

    # The cart is emptied and the stock taken.
    assert cart_get(u.token)["items"] == []
    assert stocks_of([a, b]) == {a: 28, b: 29}
    # Sales count only once paid.
    assert {r["id"]: r["sales"] for r in rows(
        "SELECT id, sales FROM product_facts WHERE id IN (%d, %d)" % (a, b))} == \
        sales_before

    # The database holds the same order, and GET /orders/{id} answers it.
    db = order_row(o["id"])
    assert db["user_id"] == u.id and db["total_fen"] == total
    assert db["status"] == "pending_payment"
    assert val("SELECT count(*) FROM order_lines WHERE order_id = %d"
               % o["id"]) == 2
    got = get_order(u, o["id"])
    assert got["id"] == o["id"] and got["parts"] == o["parts"]
    assert got["total_fen"] == total


def test_fee_rules_at_checkout(shop_products):
    """Full waiver for a qualified vendor in a poverty county, half for a
    cooperative elsewhere (within its monthly cap), and only the platform's
    5% for an enterprise in a county that is not a poverty county."""
    u = make_user()
    poor = shop_products.one(where=WHERE_QUALIFIED_POVERTY, stock=30)
    coop = shop_products.one(where=WHERE_COOP_NOT_POVERTY, stock=30)
    ent = shop_products.one(where=WHERE_ENTERPRISE_NOT_POVERTY, stock=30)
    base, poverty, half = rule(RULE_BASE), rule(RULE_POVERTY), rule(RULE_COOP)
    coop_vendor = val("SELECT vendor_id FROM products WHERE id = %d" % coop)
    used_sql = ("SELECT coalesce(sum(waived_fen), 0) FROM fee_cap_usage "
                "WHERE rule_id = %d AND vendor_id = %d AND month = "
                "shanghai_month(now())" % (half["id"], coop_vendor))
    used = val(used_sql)

    o = buy(u, [(poor, 3), (coop, 2), (ent, 1)])
    lines = lines_by_product(o)

    lp = lines[poor]
    assert lp["fee_rule_id"] == poverty["id"], lp
    assert lp["fee_fen"] == bps(lp["line_total_fen"],
                                poverty["commission_bps"])
    assert lp["fee_fen"] > 0
    assert lp["fee_waived_fen"] == lp["fee_fen"]

    lc = lines[coop]
    assert lc["fee_rule_id"] == half["id"], lc
    assert lc["fee_fen"] == bps(lc["line_total_fen"], half["commission_bps"])
    want = min(bps(lc["fee_fen"], half["waiver_bps"]),
               max(half["cap_fen_per_month"] - used, 0))
    assert lc["fee_waived_fen"] == want, (lc, used)
    assert val(used_sql) == used + want

    le = lines[ent]
    assert le["fee_rule_id"] == base["id"], le
    assert le["fee_fen"] == bps(le["line_total_fen"], base["commission_bps"])
    assert le["fee_waived_fen"] == 0

    # The parts add their lines' fees up.
    for p in o["parts"]:
        assert p["fee_fen"] == sum(i["fee_fen"] for i in p["items"])
        assert p["fee_waived_fen"] == sum(i["fee_waived_fen"]
                                          for i in p["items"])
    # And the database keeps what was answered.
    for r in rows("SELECT product_id, fee_fen, fee_waived_fen, fee_rule_id "
                  "FROM order_lines WHERE order_id = %d" % o["id"]):
        it = lines[r["product_id"]]
        assert (r["fee_fen"], r["fee_waived_fen"], r["fee_rule_id"]) == \
            (it["fee_fen"], it["fee_waived_fen"], it["fee_rule_id"])


def test_checkout_of_an_empty_cart_is_422():
    u = make_user()
    problem(checkout(u.token), 422, "cart_empty")
    assert user_order_ids(u) == set()


def test_checkout_after_emptying_the_cart_is_422(shop_products):
    u = make_user()
    pid = shop_products.one(stock=10)
    cart_put(u.token, pid, 1)
    cart_put(u.token, pid, 0)
    problem(checkout(u.token), 422, "cart_empty")
    assert stock_of(pid) == 10


@pytest.mark.parametrize("change", ["stock", "unlisted"])
def test_short_line_is_409_and_nothing_is_taken(shop_products, change):
    u = make_user()
    a, b, c = shop_products.pick(3, stock=10)
    cart_put(u.token, a, 2)
    cart_put(u.token, b, 5)
    cart_put(u.token, c, 1)
    if change == "stock":
        set_stock(b, 4)
    else:
        psql("UPDATE products SET status = 'unlisted' WHERE id = %d" % b)
    before = stocks_of([a, b, c])
    cart_before = cart_lines(cart_get(u.token))

    body = problem(checkout(u.token), 409, "insufficient_stock")
    fields = error_fields(body)
    assert all(f.startswith("items") for f in fields), body
    named = {e.get("product_id") for e in body["errors"]}
    assert named == {b}, body
    err = body["errors"][0]
    assert err["requested"] == 5
    assert err["available"] == (4 if change == "stock" else 0)

    assert stocks_of([a, b, c]) == before
    assert cart_lines(cart_get(u.token)) == cart_before
    assert user_order_ids(u) == set()


def test_checkout_with_two_short_lines_names_both(shop_products):
    u = make_user()
    a, b, c = shop_products.pick(3, stock=10)
    for pid in (a, b, c):
        cart_put(u.token, pid, 3)
    set_stock(a, 1)
    set_stock(c, 2)
    body = problem(checkout(u.token), 409, "insufficient_stock")
    assert {e.get("product_id") for e in body["errors"]} == {a, c}
    assert stocks_of([a, b, c]) == {a: 1, b: 10, c: 2}
    assert user_order_ids(u) == set()


def test_idempotent_checkout_replays_the_order(shop_products):
    u = make_user()
    pid = shop_products.one(stock=10)
    cart_put(u.token, pid, 2)
    key = "order-" + uuid.uuid4().hex
    first = ok(checkout(u.token, key=key, note="一次"), 201)
    assert stock_of(pid) == 8

    again = checkout(u.token, key=key, note="一次")
    second = ok(again, 201)
    assert second == first
    assert user_order_ids(u) == {first["id"]}
    assert stock_of(pid) == 8

    # Even with a full cart again, the key replays the first order.
    cart_put(u.token, pid, 1)
    assert ok(checkout(u.token, key=key, note="一次"), 201)["id"] == \
        first["id"]
    assert user_order_ids(u) == {first["id"]}
    assert stock_of(pid) == 8

    # The same key with another body.
    pb = problem(checkout(u.token, key=key, note="两次"), 422,
                 "idempotency_key_reused")
    assert pb["detail"] == "this Idempotency-Key was used with another body"
    assert user_order_ids(u) == {first["id"]}
    assert cart_lines(cart_get(u.token)) == {pid: 1}


def test_key_of_a_checkout_in_flight_is_409_in_progress():
    """A key claimed by a twin that has not answered yet (its row without
    an answer, as idem_claim() leaves it until the commit): the checkout
    is 409 idempotency_in_progress with its words, and takes nothing (so
    its product is one of free_products(), not taken from the others)."""
    u = make_user()
    pid = free_products(1)[0]
    stock = stock_of(pid)
    cart_put(u.token, pid, 1)
    key = "order-" + uuid.uuid4().hex
    psql("INSERT INTO idempotency_keys (user_id, route, key, request_hash) "
         "VALUES (%d, 'POST /orders', '%s', 'twin')" % (u.id, key))
    pb = problem(checkout(u.token, key=key), 409, "idempotency_in_progress")
    assert pb["detail"] == \
        "a request with this Idempotency-Key is still in progress"
    assert user_order_ids(u) == set()
    assert stock_of(pid) == stock
    assert cart_lines(cart_get(u.token)) == {pid: 1}


def test_idempotency_keys_belong_to_their_user(shop_products):
    alice, bob = make_users(2)
    pid = shop_products.one(stock=10)
    key = "shared-" + uuid.uuid4().hex
    cart_put(alice.token, pid, 1)
    cart_put(bob.token, pid, 1)
    oa = ok(checkout(alice.token, key=key), 201)
    ob = ok(checkout(bob.token, key=key), 201)
    assert oa["id"] != ob["id"]
    assert user_order_ids(bob) == {ob["id"]}
    assert stock_of(pid) == 8


def test_idempotency_key_of_128_characters_is_fine(shop_products):
    u = make_user()
    pid = shop_products.one(stock=10)
    cart_put(u.token, pid, 1)
    ok(checkout(u.token, key="k" * 128), 201)


@pytest.mark.parametrize("key", ["k" * 129, "x" * 300])
def test_idempotency_key_too_long_is_422(shop_products, key):
    u = make_user()
    pid = shop_products.one(stock=10)
    cart_put(u.token, pid, 1)
    body = problem(checkout(u.token, key=key), 422, "validation_failed")
    assert error_fields(body)
    assert user_order_ids(u) == set()
    assert stock_of(pid) == 10


def addr(**change):
    a = dict(ADDRESS)
    for k, v in change.items():
        if v is ...:
            del a[k]
        else:
            a[k] = v
    return a


@pytest.mark.parametrize("body, field", [
    ({"address": addr(phone=...)}, "address.phone"),
    ({"address": addr(phone="abc")}, "address.phone"),
    ({"address": addr(phone="12345")}, "address.phone"),
    ({"address": addr(phone=13800138000)}, "address.phone"),
    ({"address": addr(name="")}, "address.name"),
    ({"address": addr(name=...)}, "address.name"),
    ({"address": addr(province=...)}, "address.province"),
    ({"address": addr(city=None)}, "address.city"),
    ({"address": addr(district=7)}, "address.district"),
    ({"address": addr(line="")}, "address.line"),
    ({"address": addr(line="长" * 201)}, "address.line"),
    ({"address": "云南省普洱市"}, "address"),
    ({}, "address"),
    ({"address": ADDRESS, "note": "x" * 201}, "note"),
    ({"address": ADDRESS, "note": 5}, "note"),
    ({"address": dict(ADDRESS, email="a@b.cn")}, "address.email"),
    ({"address": dict(ADDRESS, bulk_order_id=1)}, "address.bulk_order_id"),
    ({"address": dict(ADDRESS, Name="张三")}, "address.Name"),
    ({"address": dict(ADDRESS, extra={"x": 1})}, "address.extra"),
])
def test_bad_address_is_422_naming_the_field(shop_products, body, field):
    u = make_user()
    pid = shop_products.one(stock=10)
    cart_put(u.token, pid, 1)
    r = checkout(u.token, body=body)
    assert field in error_fields(problem(r, 422, "validation_failed"))
    assert user_order_ids(u) == set()
    assert stock_of(pid) == 10
    assert cart_lines(cart_get(u.token)) == {pid: 1}


def test_checkout_bad_json_is_400():
    u = make_user()
    r = post("/orders", token=u.token, data=b"{\"address\":",
             headers={"Content-Type": "application/json"})
    problem(r, 400, "invalid_json")


@pytest.mark.parametrize("auth", [None, "Bearer nonsense", "Basic eDp5"])
def test_checkout_without_a_valid_token_is_401(auth):
    h = {"Authorization": auth} if auth else None
    r = post("/orders", json={"address": ADDRESS}, headers=h)
    problem(r, 401, "unauthenticated")


# ------------------------------------------------------------ the race


def test_race_60_buyers_for_20_units(shop_products):
    pid = shop_products.one(stock=20)
    users = make_users(60, tag="race")
    run_parallel(lambda u: cart_put(u.token, pid, 1), users)
    assert stock_of(pid) == 20
    last = val("SELECT coalesce(max(id), 0) FROM orders")

    barrier = threading.Barrier(len(users))

    def go(u):
        barrier.wait()
        return u, checkout(u.token)

    res = run_parallel(go, users, workers=len(users))
    won = [(u, r) for u, r in res if r.status_code == 201]
    lost = [(u, r) for u, r in res if r.status_code != 201]
    assert len(won) == 20, sorted({r.status_code for _, r in res})
    assert len(lost) == 40
    for _, r in lost:
        body = problem(r, 409, "insufficient_stock")
        assert {e.get("product_id") for e in body["errors"]} == {pid}
    assert stock_of(pid) == 0

    got = rows("SELECT o.id, o.user_id, l.qty FROM orders o "
               "JOIN order_lines l ON l.order_id = o.id "
               "WHERE l.product_id = %d AND o.id > %d" % (pid, last))
    assert len(got) == 20
    assert all(g["qty"] == 1 for g in got)
    assert {g["user_id"] for g in got} == {u.id for u, _ in won}
    assert {g["id"] for g in got} == {r.json()["id"] for _, r in won}
    # The losers keep their carts.
    for u, _ in lost[:5]:
        assert cart_lines(cart_get(u.token)) == {pid: 1}


# ------------------------------------------------------------ my orders


def test_orders_list_only_mine_with_pages(shop_products):
    me, other = make_users(2)
    pid = shop_products.one(stock=20)
    mine = []
    for _ in range(3):
        mine.append(buy(me, [(pid, 1)])["id"])
    theirs = buy(other, [(pid, 1)])["id"]

    body = ok(get("/orders", token=me.token, params={"per_page": 2}))
    assert body["page"] == 1 and body["per_page"] == 2
    assert body["total"] == 3
    assert [o["id"] for o in body["items"]] == sorted(mine, reverse=True)[:2]
    body2 = ok(get("/orders", token=me.token,
                   params={"per_page": 2, "page": 2}))
    assert body2["page"] == 2 and body2["total"] == 3
    assert [o["id"] for o in body2["items"]] == [min(mine)]
    body3 = ok(get("/orders", token=me.token,
                   params={"per_page": 2, "page": 3}))
    assert body3["items"] == [] and body3["total"] == 3

    everything = ok(get("/orders", token=me.token))
    assert everything["page"] == 1 and everything["per_page"] == 20
    ids = {o["id"] for o in everything["items"]}
    assert ids == set(mine) == user_order_ids(me)
    assert theirs not in ids
    for o in everything["items"]:
        assert o["status"] == "pending_payment" and o["parts"]


@pytest.mark.parametrize("params", [{"per_page": 101}, {"per_page": 0},
                                    {"page": 0}, {"page": "x"}])
def test_orders_list_bad_paging_is_422(params):
    u = make_user()
    problem(get("/orders", token=u.token, params=params), 422,
            "validation_failed")


def test_orders_need_a_token():
    problem(get("/orders"), 401, "unauthenticated")
    problem(get("/orders/1"), 401, "unauthenticated")


def test_another_users_order_is_404_everywhere(shop_products):
    owner, stranger = make_users(2)
    pid = shop_products.one(stock=10)
    o = buy(owner, [(pid, 1)])
    oid = o["id"]

    problem(get("/orders/%d" % oid, token=stranger.token), 404, "not_found")
    problem(post("/orders/%d/payments" % oid, token=stranger.token,
                 json={"provider": "sandbox"}), 404, "not_found")
    problem(post("/orders/%d/cancel" % oid, token=stranger.token), 404,
            "not_found")
    problem(post("/orders/%d/confirm" % oid, token=stranger.token), 404,
            "not_found")
    # Also once the order is paid.
    pay(owner, o)
    problem(post("/orders/%d/cancel" % oid, token=stranger.token), 404,
            "not_found")
    problem(get("/orders/%d" % oid, token=stranger.token), 404, "not_found")

    assert order_row(oid)["status"] == "paid"
    assert val("SELECT count(*) FROM payments WHERE order_id = %d"
               % oid) == 1
    assert stock_of(pid) == 9
    # A stranger's list does not show it.
    assert ok(get("/orders", token=stranger.token))["total"] == 0


def test_unknown_order_is_404():
    u = make_user()
    missing = val("SELECT coalesce(max(id), 0) + 1000000 FROM orders")
    problem(get("/orders/%d" % missing, token=u.token), 404, "not_found")
    problem(post("/orders/%d/cancel" % missing, token=u.token), 404,
            "not_found")
    problem(post("/orders/%d/payments" % missing, token=u.token,
                 json={"provider": "sandbox"}), 404, "not_found")


# ------------------------------------------------------------ cancel, confirm


def test_cancel_unpaid_returns_the_stock(shop_products):
    u = make_user()
    a, b = shop_products.pick(2, stock=10)
    o = buy(u, [(a, 3), (b, 1)])
    assert stocks_of([a, b]) == {a: 7, b: 9}

    got = ok(post("/orders/%d/cancel" % o["id"], token=u.token))
    assert got["id"] == o["id"]
    assert got["status"] == "cancelled"
    assert all(p["status"] == "cancelled" for p in got["parts"])
    assert stocks_of([a, b]) == {a: 10, b: 10}
    assert order_row(o["id"])["status"] == "cancelled"

    # Once only: no second restock.
    pb = problem(post("/orders/%d/cancel" % o["id"], token=u.token), 409,
                 "invalid_transition")
    assert pb["detail"] == "the order's status does not allow this"
    assert stocks_of([a, b]) == {a: 10, b: 10}
    # A cancelled order takes no payment and cannot be confirmed.
    problem(create_payment(u, o["id"]), 409)
    problem(post("/orders/%d/confirm" % o["id"], token=u.token), 409,
            "invalid_transition")
    assert val("SELECT count(*) FROM refunds WHERE order_id = %d"
               % o["id"]) == 0


def test_cancel_paid_refunds_and_returns_the_stock(shop_products):
    u = make_user()
    pid = shop_products.one(stock=10)
    sales = val("SELECT sales FROM product_facts WHERE id = %d" % pid)
    o = pay(u, buy(u, [(pid, 4)]))
    assert stock_of(pid) == 6
    assert val("SELECT sales FROM product_facts WHERE id = %d" % pid) == sales + 4

    got = ok(post("/orders/%d/cancel" % o["id"], token=u.token))
    assert got["status"] == "refunded"
    assert all(p["status"] == "refunded" for p in got["parts"])
    assert stock_of(pid) == 10
    assert val("SELECT sales FROM product_facts WHERE id = %d" % pid) == sales

    refunds = rows("SELECT r.amount_fen, r.status, p.status AS pay_status "
                   "FROM refunds r JOIN payments p ON p.id = r.payment_id "
                   "WHERE r.order_id = %d" % o["id"])
    assert len(refunds) == 1, refunds
    assert refunds[0]["amount_fen"] == o["total_fen"]
    assert refunds[0]["status"] == "succeeded"
    assert refunds[0]["pay_status"] == "refunded"

    problem(post("/orders/%d/cancel" % o["id"], token=u.token), 409,
            "invalid_transition")
    assert stock_of(pid) == 10
    assert val("SELECT count(*) FROM refunds WHERE order_id = %d"
               % o["id"]) == 1


def test_cancels_at_once_refund_once(shop_products):
    u = make_user()
    pid = shop_products.one(stock=10)
    o = pay(u, buy(u, [(pid, 4)]))
    gate = threading.Barrier(8)

    def go(_):
        gate.wait()
        return post("/orders/%d/cancel" % o["id"], token=u.token)

    res = run_parallel(go, list(range(8)), workers=8)
    assert sorted(r.status_code for r in res) == [200] + [409] * 7
    assert stock_of(pid) == 10
    assert val("SELECT count(*) FROM refunds WHERE order_id = %d"
               % o["id"]) == 1
    assert order_row(o["id"])["status"] == "refunded"


def test_confirm_before_shipping_is_409(shop_products):
    u = make_user()
    pid = shop_products.one(stock=10)
    o = buy(u, [(pid, 1)])
    problem(post("/orders/%d/confirm" % o["id"], token=u.token), 409,
            "invalid_transition")
    pay(u, o)
    problem(post("/orders/%d/confirm" % o["id"], token=u.token), 409,
            "invalid_transition")
    assert order_row(o["id"])["status"] == "paid"


# ------------------------------------------------------------ expiry


def test_unpaid_order_expires_and_returns_the_stock(shop_products):
    u = make_user()
    a, b = shop_products.pick(2, stock=10)
    late = buy(u, [(a, 3)])
    payment = ok(create_payment(u, late["id"]), 201)
    paid = pay(u, buy(u, [(b, 2)]))
    assert stocks_of([a, b]) == {a: 7, b: 8}

    def expired():
        return order_row(late["id"])["status"] == "cancelled"

    assert wait_until(expired, PAY_TIMEOUT + 8), order_row(late["id"])
    assert stock_of(a) == 10
    got = get_order(u, late["id"])
    assert got["status"] == "cancelled"
    assert all(p["status"] == "cancelled" for p in got["parts"])

    # Paid orders do not expire.
    assert order_row(paid["id"])["status"] == "paid"
    assert stock_of(b) == 8

    # No new payment for it, and a late success is refunded at once.
    problem(create_payment(u, late["id"]), 409)
    body = ok(notify(payment["payment_id"], "succeeded",
                     payment["amount_fen"]))
    assert body["status"] == "refunded", body
    assert order_row(late["id"])["status"] == "cancelled"
    refunds = rows("SELECT amount_fen, status FROM refunds "
                   "WHERE order_id = %d" % late["id"])
    assert refunds == [{"amount_fen": late["total_fen"],
                        "status": "succeeded"}]
    assert stock_of(a) == 10
    # Cancel after expiry changes nothing.
    problem(post("/orders/%d/cancel" % late["id"], token=u.token), 409,
            "invalid_transition")
    assert stock_of(a) == 10


def test_stock_an_expired_order_gives_back_reaches_carts_and_pages(
        shop_products):
    """The sweep that cancels unpaid orders publishes the products it
    restocked, as a cancel does: a cart that showed the product sold out
    shows it available again, and its page the stock, as soon as the order
    is cancelled, not when the workers' caches age out (a minute for the
    cart's facts, 10 s for a page)."""
    buyer, waiting = make_users(2, tag="expiry-restock")
    pid = shop_products.one(stock=3)
    cart_put(waiting.token, pid, 1)
    late = buy(buyer, [(pid, 3)])
    assert stock_of(pid) == 0

    def views():
        """[(worker, what, value)]: the cart's availability, the page's
        stock, and which worker answered each."""
        c, p = (get("/cart", token=waiting.token),
                get("/products/%d" % pid))
        return [(worker_of(c), "cart", {it["available"] for it in
                                        ok(c)["items"]
                                        if it["product_id"] == pid}),
                (worker_of(p), "page", ok(p)["stock"])]

    def everywhere(want, timeout):
        """Reads until the last view of every worker seen (two at least,
        or 20 rounds) is want[what]; returns those last views."""
        last, end, n = {}, time.monotonic() + timeout, 0
        while True:
            for w, what, v in views():
                last[w, what] = v
            n += 1
            if (len({w for w, _ in last}) >= 2 or n >= 20) and \
                    all(v == want[what] for (_, what), v in last.items()):
                return True
            if time.monotonic() >= end:
                return last

    # Sold out everywhere: every worker reads (and keeps) stock 0.  The
    # order's own message reaches the other worker a few ms after its 201.
    sold_out = {"cart": {False}, "page": 0}
    assert everywhere(sold_out, 2) is True
    for _ in range(4):
        assert all(v == sold_out[what] for _, what, v in views())

    def cancelled():
        # Reading on keeps the caches holding stock 0 until the sweep.
        views()
        return order_row(late["id"])["status"] == "cancelled"

    assert wait_until(cancelled, PAY_TIMEOUT + 8, step=0.1), \
        order_row(late["id"])
    assert stock_of(pid) == 3
    # The sweeping worker publishes when its statement's result comes in,
    # and the workers hear of it a few ms later: two seconds is plenty, a
    # minute (the facts' TTL) is what it took before.
    back = {"cart": {True}, "page": 3}
    assert everywhere(back, 2) is True
    for _ in range(4):
        assert all(v == back[what] for _, what, v in views())


# ------------------------------------------------------------ hoarding


def keep_unpaid(user):
    """The test server's orders expire after ORDER_PAY_TIMEOUT (10 s): the
    user's stay unpaid for this test's length instead."""
    psql("UPDATE orders SET pay_before = now() + interval '1 hour' "
         "WHERE user_id = %d AND status = 'pending_payment'" % user.id)


def unpaid_count(user):
    return val("SELECT count(*) FROM orders WHERE user_id = %d AND "
               "status = 'pending_payment'" % user.id)


def test_unpaid_orders_are_limited_to_five(shop_products):
    u = make_user()
    pid = shop_products.one(stock=50)
    orders = []
    for _ in range(5):
        orders.append(buy(u, [(pid, 1)]))
        keep_unpaid(u)
    cart_put(u.token, pid, 2)
    b = problem(checkout(u.token), 409, "too_many_unpaid_orders")
    assert b["detail"]
    assert stock_of(pid) == 45 and unpaid_count(u) == 5
    assert cart_lines(cart_get(u.token)) == {pid: 2}
    # With a key, refused alike, and the key is free for a later try.
    problem(checkout(u.token, key="hoard-1"), 409, "too_many_unpaid_orders")
    # A cancel frees a place; so does a payment.
    ok(post("/orders/%d/cancel" % orders[0]["id"], token=u.token))
    ok(checkout(u.token, key="hoard-1"), 201)
    keep_unpaid(u)
    problem(checkout(u.token), 422, "cart_empty")
    cart_put(u.token, pid, 1)
    problem(checkout(u.token), 409, "too_many_unpaid_orders")
    pay(u, orders[1])
    ok(checkout(u.token), 201)
    assert unpaid_count(u) == 5
    # Another buyer is not held by this one's orders.
    assert buy(make_user(), [(pid, 1)])["status"] == "pending_payment"


def test_unpaid_limit_holds_under_parallel_checkouts(shop_products):
    """Checkouts of one buyer at once, on both workers and in shared
    batches, never pass the limit together."""
    u = make_user()
    pid = shop_products.one(stock=100)
    for _ in range(3):
        buy(u, [(pid, 1)])
        keep_unpaid(u)
    cart_put(u.token, pid, 1)
    n = 12
    barrier = threading.Barrier(n)

    def go(_):
        barrier.wait()
        return checkout(u.token)

    res = run_parallel(go, range(n), workers=n)
    codes = sorted(r.status_code for r in res)
    assert codes.count(201) <= 2, codes
    assert unpaid_count(u) <= 5, codes
    for r in res:
        if r.status_code == 409:
            problem(r, 409, "too_many_unpaid_orders")
        elif r.status_code != 201:
            problem(r, 422, "cart_empty")


@pytest.fixture(scope="module")
def slow_orders():
    """A second server of the test build allowing 3 checkouts a minute."""
    s = SpareServer({"RATE_LIMIT_ORDERS": "3", "RATE_LIMIT_WINDOW": "60"})
    s.start()
    yield s
    s.stop()


def test_checkouts_are_rate_limited_per_user(slow_orders, shop_products):
    u, other = make_users(2)
    for _ in range(3):
        problem(slow_orders.call("POST", "/orders", token=u.token,
                                 json={"address": ADDRESS}),
                422, "cart_empty")
    r = slow_orders.call("POST", "/orders", token=u.token,
                         json={"address": ADDRESS})
    problem(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # Per user, whatever the address: another user is not held.
    problem(slow_orders.call("POST", "/orders", token=other.token,
                             json={"address": ADDRESS}), 422, "cart_empty")
    # Even with a cart, nothing is placed.
    cart_put(u.token, shop_products.one(stock=10), 1)
    problem(slow_orders.call("POST", "/orders", token=u.token,
                             json={"address": ADDRESS}), 429, "rate_limited")
    assert user_order_ids(u) == set()
