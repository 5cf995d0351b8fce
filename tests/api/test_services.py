"""旅游与康养 (issue 14): sessions of services, bookings that are orders,
vouchers redeemed once, cancellation rules in Shanghai days.  Black box over
HTTP; SQL only to read what the API does not show and to move a session's
date to today for the door."""

import datetime
import uuid

import pytest

import shop
from shop import (ADMIN, get, ok, patch, post, problem, put, psql, row, rows,
                  shop_products, val, wait_until)  # noqa: F401

SH = datetime.timezone(datetime.timedelta(hours=8))
GUEST = {"name": "游客", "phone": "13800138000"}


def sh_today():
    return datetime.datetime.now(SH).date()


def day(n):
    return str(sh_today() + datetime.timedelta(days=n))


def soon(minutes=60):
    return shop.rfc3339(shop.utc_now() + datetime.timedelta(minutes=minutes))


def guests(n, tag="游客"):
    return [{"name": "%s%d" % (tag, i), "phone": "1380013%04d" % i}
            for i in range(n)]


class Vendor:
    def __init__(self, token, vendor_id):
        self.token = token
        self.id = vendor_id


# Sessions of their own, signed in when the module starts: the run's shared
# tokens may be older than the access token's lifetime by then.
@pytest.fixture(scope="module")
def vendor():
    return Vendor(shop.login_token(*shop.VENDOR), shop.demo_vendor_id())


@pytest.fixture(scope="module")
def other_vendor():
    shop.other_vendor_token()  # gives v01 the test password
    return Vendor(shop.login_token(shop.OTHER_VENDOR_EMAIL, shop.CITIZEN[1]),
                  shop.other_vendor_id())


def new_service(v, price=50000, category="tourism"):
    """A listed service of vendor v, of its own: its id."""
    b = ok(post("/vendor/products", token=v.token, json={
        "title": "测试服务 " + uuid.uuid4().hex[:8], "category": category,
        "kind": "service", "unit": "人次", "price_fen": price,
        "description": "接口测试的服务"}), 201)
    with shop._taken_lock:
        shop._taken.add(b["id"])
    ok(post("/vendor/products/%d/publish" % b["id"], token=v.token))
    return b["id"]


def open_session(v, pid, days=3, capacity=10, **over):
    body = {"date": day(days), "capacity": capacity, "book_until": soon()}
    body.update(over)
    return ok(post("/vendor/products/%d/sessions" % pid, token=v.token,
                   json=body), 201)


def book(user, sid, n=1, key=None, expect=201):
    h = {"Idempotency-Key": key} if key else None
    r = post("/bookings", token=user.token, headers=h,
             json={"session_id": sid, "guests": guests(n)})
    if expect == 201:
        return ok(r, 201)
    return r


def session_row(sid):
    return row("SELECT capacity, booked FROM service_sessions WHERE id = %d"
               % sid)


def available(pid, sid):
    items = ok(get("/products/%d/sessions" % pid))["items"]
    return {s["id"]: s["available"] for s in items}.get(sid)


def booking(user, bid):
    return ok(get("/bookings/%d" % bid, token=user.token))


def paid_booking(user, sid, n=1):
    b = book(user, sid, n)
    shop.pay(user, b["order"])
    b = booking(user, b["id"])
    assert b["status"] == "paid" and len(b["vouchers"]) == n, b
    return b


def redeem(token, code):
    return post("/vendor/vouchers/%s/redeem" % code, token=token)


# ------------------------------------------------------------ sessions


def test_vendor_opens_a_session_and_the_public_sees_its_places(vendor):
    pid = new_service(vendor, price=60000)
    s = open_session(vendor, pid, days=5, capacity=12, price_fen=45000)
    assert s["status"] == "open" and s["booked"] == 0
    assert s["available"] == 12 and s["price_fen"] == 45000
    assert s["date"] == day(5) and s["product_id"] == pid
    d = open_session(vendor, pid, days=6, capacity=3,
                     book_until=None)
    # The default cutoff: 18:00 Shanghai the day before.
    want = datetime.datetime.combine(
        sh_today() + datetime.timedelta(days=5), datetime.time(18, 0),
        SH)
    got = datetime.datetime.fromisoformat(d["book_until"])
    assert got == want, d
    assert d["price_fen"] == 60000
    pub = ok(get("/products/%d/sessions" % pid))
    assert [i["id"] for i in pub["items"]] == [s["id"], d["id"]]
    assert pub["items"][0]["available"] == 12
    assert set(pub["items"][0]) == {"id", "date", "starts_at", "available",
                                    "price_fen", "book_until"}
    only = ok(get("/products/%d/sessions" % pid,
                  params={"from": day(6), "to": day(6)}))
    assert [i["id"] for i in only["items"]] == [d["id"]]
    # Closed: gone from the public's list, still in the vendor's.
    ok(patch("/vendor/sessions/%d" % d["id"], token=vendor.token,
             json={"status": "closed"}))
    pub = ok(get("/products/%d/sessions" % pid))
    assert [i["id"] for i in pub["items"]] == [s["id"]]
    mine = ok(get("/vendor/products/%d/sessions" % pid, token=vendor.token))
    assert {i["id"]: i["status"] for i in mine["items"]} == {
        s["id"]: "open", d["id"]: "closed"}


def test_capacity_never_below_booked(vendor):
    pid = new_service(vendor)
    s = open_session(vendor, pid, capacity=5)
    u = shop.make_user()
    book(u, s["id"], 3)
    problem(patch("/vendor/sessions/%d" % s["id"], token=vendor.token,
                  json={"capacity": 2}), 409, "capacity_below_booked")
    assert session_row(s["id"]) == {"capacity": 5, "booked": 3}
    s2 = ok(patch("/vendor/sessions/%d" % s["id"], token=vendor.token,
                  json={"capacity": 3}))
    assert s2["capacity"] == 3 and s2["available"] == 0
    problem(book(u, s["id"], 1, expect=None), 409, "insufficient_capacity")


def test_session_validation(vendor):
    pid = new_service(vendor)
    path = "/vendor/products/%d/sessions" % pid
    bad = [
        {"capacity": 5},
        {"date": "2026-02-30", "capacity": 5},
        {"date": day(3), "capacity": 0},
        {"date": day(3), "capacity": 10001},
        {"date": day(3), "capacity": "5"},
        {"date": day(3), "capacity": 5, "price_fen": 0},
        {"date": day(3), "capacity": 5, "price_fen": 1.5},
        {"date": day(3), "capacity": 5, "starts_at": "tomorrow"},
        {"date": day(3), "capacity": 5, "colour": "red"},
        {"date": day(-1), "capacity": 5},
        {"date": day(800), "capacity": 5},
        {"date": day(3), "capacity": 5,
         "book_until": shop.rfc3339(shop.utc_now() -
                                    datetime.timedelta(minutes=1))},
        {"date": day(3), "capacity": 5, "book_until":
         day(4) + "T12:00:00+08:00"},
        {"date": day(3), "capacity": 5, "starts_at":
         day(4) + "T09:00:00+08:00"},
    ]
    for body in bad:
        problem(post(path, token=vendor.token, json=body), 422,
                "validation_failed")
    problem(post(path, token=vendor.token, data=b"{nope",
                 headers={"Content-Type": "application/json"}), 400,
            "invalid_json")
    goods = val("SELECT id FROM products WHERE vendor_id = %d AND "
                "kind = 'goods' LIMIT 1" % vendor.id)
    problem(post("/vendor/products/%d/sessions" % goods, token=vendor.token,
                 json={"date": day(3), "capacity": 5}), 422, "not_a_service")
    # A start time on the date: bookings close no later than it.
    s = ok(post(path, token=vendor.token, json={
        "date": day(3), "capacity": 5,
        "starts_at": day(3) + "T09:30:00+08:00"}), 201)
    assert datetime.datetime.fromisoformat(s["starts_at"]) == \
        datetime.datetime.fromisoformat(day(3) + "T09:30:00+08:00")
    s = ok(get("/vendor/products/%d/sessions" % pid, token=vendor.token))
    problem(patch("/vendor/sessions/%d" % s["items"][0]["id"],
                  token=vendor.token, json={}), 422, "validation_failed")
    problem(patch("/vendor/sessions/%d" % s["items"][0]["id"],
                  token=vendor.token, json={"status": "gone"}), 422,
            "validation_failed")
    problem(get("/products/%d/sessions" % pid, params={"from": "x"}), 422,
            "validation_failed")


# ------------------------------------------------------------ booking


def test_booking_is_an_order_with_fees(vendor):
    pid = new_service(vendor, price=30000)
    s = open_session(vendor, pid, capacity=4, price_fen=25000)
    u = shop.make_user()
    b = book(u, s["id"], 2)
    assert b["status"] == "pending_payment" and b["places"] == 2
    assert b["vouchers"] == [] and b["session"]["available"] == 2
    o = b["order"]
    assert o["status"] == "pending_payment" and o["total_fen"] == 50000
    line = o["parts"][0]["items"][0]
    assert line["product_id"] == pid and line["qty"] == 2
    assert line["unit_price_fen"] == 25000
    assert line["fee_rule_id"] is not None
    assert ok(get("/orders/%d" % o["id"], token=u.token))["id"] == o["id"]
    mine = ok(get("/me/bookings", token=u.token))
    assert mine["total"] == 1 and mine["items"][0]["id"] == b["id"]
    # Product stock is not places: a booking leaves it alone.
    assert val("SELECT stock FROM products WHERE id = %d" % pid) == 0


def test_race_of_40_buyers_for_the_last_10_places(vendor):
    pid = new_service(vendor)
    s = open_session(vendor, pid, capacity=12)
    book(shop.make_user(), s["id"], 2)
    users = shop.make_users(40, tag="race")

    def one(u):
        return post("/bookings", token=u.token,
                    json={"session_id": s["id"], "guests": guests(1)})
    rs = shop.run_parallel(one, users, workers=40)
    codes = sorted(r.status_code for r in rs)
    assert codes.count(201) == 10, codes
    assert codes.count(409) == 30, codes
    for r in rs:
        if r.status_code == 409:
            problem(r, 409, "insufficient_capacity")
    assert session_row(s["id"]) == {"capacity": 12, "booked": 12}
    assert val("SELECT sum(places) FROM bookings WHERE session_id = %d"
               % s["id"]) == 12
    assert available(pid, s["id"]) == 0


def test_expiry_and_cancellation_return_the_places(vendor):
    pid = new_service(vendor)
    s = open_session(vendor, pid, capacity=6)
    u = shop.make_user()
    b = book(u, s["id"], 3)
    assert available(pid, s["id"]) == 3
    # Unpaid past ORDER_PAY_TIMEOUT: the expiry timer cancels the order.
    assert wait_until(lambda: booking(u, b["id"])["status"] == "cancelled",
                      shop.PAY_TIMEOUT + 30)
    assert available(pid, s["id"]) == 6
    # Cancelled by the buyer, unpaid.
    c = book(u, s["id"], 4)
    assert available(pid, s["id"]) == 2
    c = ok(post("/bookings/%d/cancel" % c["id"], token=u.token))
    assert c["status"] == "cancelled" and c["refund_fen"] == 0
    assert available(pid, s["id"]) == 6
    problem(post("/bookings/%d/cancel" % c["id"], token=u.token), 409,
            "invalid_transition")
    # Paid, then cancelled through the order's own route: places return,
    # vouchers go void, the listing's rules decide (none: no refund).
    d = paid_booking(u, s["id"], 2)
    assert available(pid, s["id"]) == 4
    o = ok(post("/orders/%d/cancel" % d["order"]["id"], token=u.token))
    assert o["status"] == "refunded"
    d = booking(u, d["id"])
    assert d["refund_fen"] == 0
    assert {v["status"] for v in d["vouchers"]} == {"void"}
    assert available(pid, s["id"]) == 6
    assert session_row(s["id"])["booked"] == 0


def test_closed_session_and_cutoff(vendor):
    pid = new_service(vendor)
    s = open_session(vendor, pid, capacity=6)
    u = shop.make_user()
    ok(patch("/vendor/sessions/%d" % s["id"], token=vendor.token,
             json={"status": "closed"}))
    problem(book(u, s["id"], expect=None), 422, "booking_closed")
    ok(patch("/vendor/sessions/%d" % s["id"], token=vendor.token,
             json={"status": "open"}))
    book(u, s["id"])
    psql("UPDATE service_sessions SET book_until = now() - interval '1 s' "
         "WHERE id = %d" % s["id"])
    problem(book(u, s["id"], expect=None), 422, "booking_closed")
    problem(book(u, 987654321, expect=None), 404, "not_found")


def test_booking_validation_and_idempotency(vendor):
    pid = new_service(vendor)
    s = open_session(vendor, pid, capacity=30)
    u = shop.make_user()
    bad = [
        {"guests": guests(1)},
        {"session_id": str(s["id"]), "guests": guests(1)},
        {"session_id": s["id"]},
        {"session_id": s["id"], "guests": []},
        {"session_id": s["id"], "guests": guests(21)},
        {"session_id": s["id"], "guests": [{"name": "甲"}]},
        {"session_id": s["id"], "guests": [{"name": "", "phone":
                                            "13800138000"}]},
        {"session_id": s["id"], "guests": [{"name": "甲", "phone": "12"}]},
        {"session_id": s["id"], "guests": [dict(GUEST, id_card="x")]},
        {"session_id": s["id"], "guests": ["甲"]},
        {"session_id": s["id"], "guests": guests(1), "extra": 1},
        {"session_id": 0, "guests": guests(1)},
    ]
    for body in bad:
        problem(post("/bookings", token=u.token, json=body), 422,
                "validation_failed")
    problem(post("/bookings", token=u.token, data=b'{"session_id": ',
                 headers={"Content-Type": "application/json"}), 400,
            "invalid_json")
    problem(post("/bookings", token=u.token, json=[1]), 400, "invalid_json")
    assert session_row(s["id"])["booked"] == 0
    key = uuid.uuid4().hex
    a = book(u, s["id"], 2, key=key)
    again = book(u, s["id"], 2, key=key)
    assert again["id"] == a["id"]
    assert session_row(s["id"])["booked"] == 2
    problem(book(u, s["id"], 3, key=key, expect=None), 422,
            "idempotency_key_reused")
    problem(post("/bookings", token=u.token, json={
        "session_id": s["id"], "guests": guests(1)},
        headers={"Idempotency-Key": "x" * 129}), 422, "validation_failed")
    # Twenty places at most, all of them when free.
    b = book(u, s["id"], 20)
    assert b["places"] == 20 and b["session"]["available"] == 8
    problem(book(u, s["id"], 9, expect=None), 409, "insufficient_capacity")


def test_unpaid_bookings_count_against_the_limit(vendor):
    pid = new_service(vendor)
    s = open_session(vendor, pid, capacity=100)
    u = shop.make_user()
    for _ in range(5):
        book(u, s["id"])
    problem(book(u, s["id"], expect=None), 409, "too_many_unpaid_orders")
    assert session_row(s["id"])["booked"] == 5


# ------------------------------------------------------------ vouchers


def test_redeem_once_twice_other_vendor_and_cancelled(vendor, other_vendor):
    pid = new_service(vendor)
    s = open_session(vendor, pid, days=1, capacity=10)
    u = shop.make_user()
    b = paid_booking(u, s["id"], 2)
    codes = [v["code"] for v in b["vouchers"]]
    assert len(set(codes)) == 2
    for c in codes:
        assert len(c) == 12 and c.isalnum() and c.upper() == c
    assert [v["guest_name"] for v in b["vouchers"]] == ["游客0", "游客1"]
    # Before the session's date (Shanghai): too early.
    problem(redeem(vendor.token, codes[0]), 422, "too_early")
    psql("UPDATE service_sessions SET date = (now() AT TIME ZONE "
         "'Asia/Shanghai')::date WHERE id = %d" % s["id"])
    # Another vendor, a citizen, a stranger: not theirs.
    problem(redeem(other_vendor.token, codes[0]), 404, "not_found")
    problem(redeem(u.token, codes[0]), 403, "forbidden")
    problem(redeem(None, codes[0]), 401, "unauthenticated")
    problem(redeem(vendor.token, "0" * 12), 404, "not_found")
    problem(redeem(vendor.token, "ABC"), 404, "not_found")
    r = ok(redeem(vendor.token, codes[0].lower()))
    assert r["code"] == codes[0] and r["booking_id"] == b["id"]
    assert r["guest_name"] == "游客0" and r["session"]["id"] == s["id"]
    shop.UTC_TIME_RE.match(r["redeemed_at"]) or \
        datetime.datetime.fromisoformat(r["redeemed_at"])
    problem(redeem(vendor.token, codes[0]), 409, "voucher_used")
    # The guest sees it redeemed; the other still valid.
    seen = {v["code"]: v for v in booking(u, b["id"])["vouchers"]}
    assert seen[codes[0]]["status"] == "redeemed"
    assert seen[codes[0]]["redeemed_at"] is not None
    assert seen[codes[1]]["status"] == "valid"
    # A booking with a voucher used cannot be cancelled.
    problem(post("/bookings/%d/cancel" % b["id"], token=u.token), 409,
            "invalid_transition")
    # A cancelled booking's vouchers stop working.
    c = paid_booking(u, s["id"], 1)
    ok(post("/bookings/%d/cancel" % c["id"], token=u.token))
    problem(redeem(vendor.token, c["vouchers"][0]["code"]), 409,
            "voucher_void")
    assert booking(u, c["id"])["vouchers"][0]["status"] == "void"


def test_redeem_twice_at_once_only_one_wins(vendor):
    pid = new_service(vendor)
    s = open_session(vendor, pid, days=1, capacity=2)
    u = shop.make_user()
    code = paid_booking(u, s["id"], 1)["vouchers"][0]["code"]
    psql("UPDATE service_sessions SET date = (now() AT TIME ZONE "
         "'Asia/Shanghai')::date WHERE id = %d" % s["id"])
    rs = shop.run_parallel(lambda _: redeem(vendor.token, code), range(8),
                           workers=8)
    assert sorted(r.status_code for r in rs) == [200] + [409] * 7


# ------------------------------------------------------------ refunds


RULES = [{"days_before": 7, "refund_bps": 10000},
         {"days_before": 2, "refund_bps": 5000}]


@pytest.mark.parametrize("days,bps", [(8, 10000), (7, 10000), (6, 5000),
                                      (2, 5000), (1, 0)])
def test_refund_follows_the_rules_on_each_side_of_each_boundary(
        vendor, days, bps):
    pid = new_service(vendor, price=33333)
    r = ok(put("/vendor/products/%d/cancellation" % pid, token=vendor.token,
               json={"rules": RULES}))
    assert r["rules"] == RULES
    assert ok(get("/products/%d/sessions" % pid))["cancellation"] == RULES
    s = open_session(vendor, pid, days=days, capacity=3)
    u = shop.make_user()
    b = paid_booking(u, s["id"], 3)
    total = b["order"]["total_fen"]
    assert total == 99999
    c = ok(post("/bookings/%d/cancel" % b["id"], token=u.token))
    want = total * bps // 10000
    assert c["refund_fen"] == want, (days, c)
    assert c["status"] == "refunded"
    assert {v["status"] for v in c["vouchers"]} == {"void"}
    assert c["session"]["available"] == 3
    got = val("SELECT coalesce(sum(amount_fen), 0) FROM refunds "
              "WHERE order_id = %d" % b["order"]["id"])
    assert got == want


def test_refund_days_are_counted_in_shanghai(vendor):
    """The boundary falls at midnight in Shanghai (16:00 UTC), not UTC's:
    the rule is the server's, read at chosen instants."""
    pid = new_service(vendor)
    ok(put("/vendor/products/%d/cancellation" % pid, token=vendor.token,
           json={"rules": RULES}))
    q = ("SELECT cancellation_refund_bps(%d, date '2027-01-10', "
         "timestamptz %%s)" % pid)
    # 7 Shanghai days ahead until 2027-01-03 23:59:59 Shanghai; by UTC's
    # date it would stay 7 until 2027-01-04 00:00 UTC.
    assert val(q % "'2027-01-03 15:59:59+00'") == 10000
    assert val(q % "'2027-01-03 16:00:00+00'") == 5000
    assert val(q % "'2027-01-08 15:59:59+00'") == 5000
    assert val(q % "'2027-01-08 16:00:00+00'") == 0


def test_cancellation_rules_validation(vendor, other_vendor):
    pid = new_service(vendor)
    path = "/vendor/products/%d/cancellation" % pid
    for body in ({}, {"rules": {}}, {"rules": [{"days_before": 2}]},
                 {"rules": [{"days_before": 2, "refund_bps": 10001}]},
                 {"rules": [{"days_before": -1, "refund_bps": 100}]},
                 {"rules": [{"days_before": 2, "refund_bps": 100},
                            {"days_before": 2, "refund_bps": 50}]},
                 {"rules": [{"days_before": 2, "refund_bps": 100},
                            {"days_before": 5, "refund_bps": 50}]},
                 {"rules": [{"days_before": 2, "refund_bps": 100,
                             "x": 1}]},
                 {"rules": [{"days_before": 30 - i, "refund_bps": 10}
                            for i in range(11)]}):
        problem(put(path, token=vendor.token, json=body), 422,
                "validation_failed")
    ok(put(path, token=vendor.token, json={"rules": []}))
    problem(put(path, token=other_vendor.token, json={"rules": []}), 404,
            "not_found")
    goods = val("SELECT id FROM products WHERE vendor_id = %d AND "
                "kind = 'goods' LIMIT 1" % vendor.id)
    problem(put("/vendor/products/%d/cancellation" % goods,
                token=vendor.token, json={"rules": []}), 422,
            "not_a_service")


# ------------------------------------------------------------ ledger


def test_ledger_and_statement_count_service_sales_like_goods(vendor):
    # A session of its own: a long run outlives the shared admin token.
    admin = shop.login_token(*ADMIN)
    pid = new_service(vendor, price=70000, category="wellness")
    s = open_session(vendor, pid, capacity=4)
    today = str(sh_today())

    def wellness():
        rows = ok(get("/admin/ledger", token=admin, params={
            "from": today, "to": today, "group_by": "category"}))["rows"]
        r = [x for x in rows if x["key"] == "wellness"]
        return r[0] if r else {"gmv_fen": 0, "orders": 0, "lines": 0}
    before = wellness()
    u = shop.make_user()
    b = paid_booking(u, s["id"], 2)
    after = wellness()
    assert after["gmv_fen"] - before["gmv_fen"] == 140000
    assert after["orders"] - before["orders"] == 1
    assert val("SELECT count(*) FROM ledger_entries WHERE order_id = %d "
               "AND kind = 'sale'" % b["order"]["id"]) == 1
    # A cancellation that refunds it all reverses it, as a goods refund
    # does (test_a_partial_refund_reverses_only_what_was_refunded: less).
    ok(put("/vendor/products/%d/cancellation" % pid, token=vendor.token,
           json={"rules": [{"days_before": 0, "refund_bps": 10000}]}))
    c = ok(post("/bookings/%d/cancel" % b["id"], token=u.token))
    assert c["refund_fen"] == 140000
    gone = wellness()
    assert gone["gmv_fen"] == before["gmv_fen"]
    assert gone["orders"] == before["orders"]
    assert gone["lines"] == before["lines"]
    # The vendor's statement shows the sale as any order line.
    st = ok(get("/vendor/statement", token=vendor.token,
                params={"from": today, "to": today}))
    assert st["gross_fen"] >= 0


def ledger_check():
    import os
    import subprocess
    env = dict(os.environ)
    out = subprocess.run(
        [os.path.join(os.environ["BANGFU_ROOT"], "scripts", "ledger_check.sh")],
        env=env, capture_output=True, text=True, timeout=120)
    text = out.stdout + out.stderr
    return out.returncode, text


@pytest.mark.parametrize("bps,refund,kept", [
    (5000, 40000, 40000),   # half back: the other half stays a sale
    (0, 0, 80000),          # nothing back: the whole sale stands
    (10000, 80000, 0),      # all back: reversed in full
])
def test_a_partial_refund_reverses_only_what_was_refunded(
        vendor, bps, refund, kept):
    """A paid booking cancelled under rules that refund a share: the ledger
    reverses the refunded amount only; the line and the order still count
    while something was kept; make ledger-check holds."""
    admin = shop.login_token(*ADMIN)
    pid = new_service(vendor, price=40000, category="wellness")
    ok(put("/vendor/products/%d/cancellation" % pid, token=vendor.token,
           json={"rules": [{"days_before": 0, "refund_bps": bps}]}))
    s = open_session(vendor, pid, days=3, capacity=4)
    today = str(sh_today())

    def mine():
        rows = ok(get("/admin/ledger", token=admin, params={
            "from": today, "to": today, "group_by": "vendor"}))["rows"]
        r = [x for x in rows if str(x["key"]) == str(vendor.id)]
        return r[0] if r else {"gmv_fen": 0, "orders": 0, "lines": 0}
    u = shop.make_user()
    before = mine()
    b = paid_booking(u, s["id"], 2)
    oid = b["order"]["id"]
    c = ok(post("/bookings/%d/cancel" % b["id"], token=u.token))
    assert c["status"] == "refunded" and c["refund_fen"] == refund, c
    after = mine()
    assert after["gmv_fen"] - before["gmv_fen"] == kept, (before, after)
    assert after["orders"] - before["orders"] == (1 if kept else 0)
    assert after["lines"] - before["lines"] == (1 if kept else 0)
    entries = rows("SELECT kind, qty, amount_fen FROM ledger_entries "
                   "WHERE order_id = %d ORDER BY id" % oid)
    want = [{"kind": "sale", "qty": 2, "amount_fen": 80000}]
    if refund:
        want.append({"kind": "refund", "qty": -2 if kept == 0 else 0,
                     "amount_fen": -refund})
    assert entries == want
    assert val("SELECT coalesce(sum(amount_fen), 0) FROM refunds "
               "WHERE order_id = %d" % oid) == refund
    rc, text = ledger_check()
    assert rc == 0 and "ledger-check: OK" in text, text


# ------------------------------------------------------------ the shop


def test_the_cart_refuses_a_service(vendor):
    """A service is booked by the date: PUT /cart/items/{id} answers 422
    not_a_good, for a buyer and a guest, and the cart keeps nothing."""
    pid = new_service(vendor)
    u = shop.make_user()
    problem(put("/cart/items/%d" % pid, token=u.token, json={"qty": 1}),
            422, "not_a_good")
    assert ok(get("/cart", token=u.token))["items"] == []
    problem(put("/cart/items/%d" % pid, json={"qty": 2}), 422, "not_a_good")
    # Taking one out is never refused.
    ok(put("/cart/items/%d" % pid, token=u.token, json={"qty": 0}))


def test_checkout_never_places_a_service_line(vendor):
    """A cart line that is (or became) a service: checkout answers 422
    not_a_good with the line in errors[], and places nothing."""
    pid = new_service(vendor)
    psql("UPDATE products SET kind = 'goods', stock = 10 WHERE id = %d" % pid)
    u = shop.make_user()
    shop.cart_put(u.token, pid, 1)
    psql("UPDATE products SET kind = 'service' WHERE id = %d" % pid)
    for key in (None, str(uuid.uuid4())):
        r = problem(shop.checkout(u.token, key=key), 422, "not_a_good")
        assert [e["field"] for e in r["errors"]] == ["items.%d" % pid], r
    assert val("SELECT count(*) FROM orders WHERE user_id = %d" % u.id) == 0
    assert val("SELECT stock FROM products WHERE id = %d" % pid) == 10


def test_a_service_order_carries_its_booking(vendor, shop_products):
    pid = new_service(vendor)
    s = open_session(vendor, pid)
    u = shop.make_user()
    b = book(u, s["id"], 2)
    oid = b["order"]["id"]
    assert b["order"]["booking_id"] == b["id"]
    assert ok(get("/orders/%d" % oid, token=u.token))["booking_id"] == b["id"]
    listed = ok(get("/orders", token=u.token))["items"]
    assert [o["booking_id"] for o in listed if o["id"] == oid] == [b["id"]]
    # An order of goods has none, as placed and as read.
    g = shop_products.one(stock=20)
    o = shop.buy(u, [(g, 1)])
    assert o["booking_id"] is None
    assert ok(get("/orders/%d" % o["id"], token=u.token))["booking_id"] is None


# ------------------------------------------------------------ BOLA


def test_bola_sweep(vendor, other_vendor):
    pid = new_service(vendor)
    s = open_session(vendor, pid, days=1, capacity=5)
    a = shop.make_user()
    x = shop.make_user()
    b = paid_booking(a, s["id"], 1)
    code = b["vouchers"][0]["code"]
    oid = b["order"]["id"]
    # Another user: every route of the booking is 404.
    for r in (get("/bookings/%d" % b["id"], token=x.token),
              post("/bookings/%d/cancel" % b["id"], token=x.token),
              get("/orders/%d" % oid, token=x.token),
              post("/orders/%d/cancel" % oid, token=x.token),
              post("/orders/%d/payments" % oid, token=x.token,
                   json={"provider": "sandbox"})):
        problem(r, 404, "not_found")
    assert ok(get("/me/bookings", token=x.token))["total"] == 0
    # Another vendor: every route of the session and listing is 404.
    ov = other_vendor.token
    for r in (patch("/vendor/sessions/%d" % s["id"], token=ov,
                    json={"capacity": 9}),
              patch("/vendor/sessions/%d" % s["id"], token=ov,
                    json={"status": "closed"}),
              post("/vendor/products/%d/sessions" % pid, token=ov,
                   json={"date": day(3), "capacity": 5}),
              get("/vendor/products/%d/sessions" % pid, token=ov),
              put("/vendor/products/%d/cancellation" % pid, token=ov,
                  json={"rules": []}),
              redeem(ov, code)):
        problem(r, 404, "not_found")
    assert session_row(s["id"]) == {"capacity": 5, "booked": 1}
    # Citizens on vendor routes: 403; no token or a forged one: 401.
    for r in (patch("/vendor/sessions/%d" % s["id"], token=a.token,
                    json={"capacity": 9}),
              get("/vendor/products/%d/sessions" % pid, token=a.token)):
        problem(r, 403, "forbidden")
    forged = shop.jwt_forged(a.token) if hasattr(shop, "jwt_forged") \
        else a.token[:-4] + ("AAAA" if not a.token.endswith("AAAA")
                             else "BBBB")
    for tok in (None, "garbage", forged):
        for r in (get("/bookings/%d" % b["id"], token=tok),
                  get("/me/bookings", token=tok),
                  post("/bookings", token=tok,
                       json={"session_id": s["id"], "guests": guests(1)}),
                  post("/bookings/%d/cancel" % b["id"], token=tok),
                  patch("/vendor/sessions/%d" % s["id"], token=tok,
                        json={"capacity": 9}),
                  redeem(tok, code)):
            problem(r, 401, "unauthenticated")
    assert booking(a, b["id"])["status"] == "paid"


# ------------------------------------------------------------ demo data


def test_demo_services_have_sessions_over_the_next_60_days():
    pids = [r["id"] for r in shop.rows(
        "SELECT p.id FROM products p JOIN categories c ON c.id = "
        "p.category_id WHERE p.kind = 'service' AND p.status = 'listed' "
        "AND c.code IN ('tourism', 'wellness') AND p.title NOT LIKE "
        "'测试服务%'")]
    assert len(pids) >= 19
    last = str(sh_today() + datetime.timedelta(days=60))
    for pid in pids:
        body = ok(get("/products/%d/sessions" % pid))
        items = body["items"]
        assert len(items) >= 8, (pid, len(items))
        assert all(day(0) < i["date"] <= last for i in items), pid
        assert body["cancellation"], pid
        caps = {r["capacity"] for r in shop.rows(
            "SELECT capacity FROM service_sessions WHERE product_id = %d"
            % pid)}
        assert caps <= {8, 16, 20, 25}, (pid, caps)


# ------------------------------------------------------------ bulk orders


def test_bulk_order_books_sessions_and_the_org_report_counts_them(vendor):
    from test_bulk_orders import approved, bulk_path, person, place
    from test_orgs import org_team
    t = org_team()
    y = sh_today().year
    pid = new_service(vendor, price=40000)
    s = open_session(vendor, pid, days=1, capacity=3)

    def trip(i):
        p = person(i, [], tag="工会会员")
        p["lines"] = [{"product_id": pid, "qty": 1, "session_id": s["id"]}]
        return p
    before = ok(get(t.path("/report/%d" % y), token=t.buyer.token))
    b = approved(t, [trip(1), trip(2)])
    r = ok(place(t, b["id"]), 201)
    assert session_row(s["id"]) == {"capacity": 3, "booked": 2}
    mine = ok(get("/me/bookings", token=t.buyer.token))["items"]
    assert sorted(x["guests"][0]["name"] for x in mine) == [
        "工会会员0001", "工会会员0002"]
    assert {x["order"]["id"] for x in mine} == {o["id"] for o in r["orders"]}
    # A bulk order's booking goes with its order, not alone.
    problem(post("/bookings/%d/cancel" % mine[0]["id"],
                 token=t.buyer.token), 409, "invalid_transition")
    # Two more places than are left: nothing taken.
    c = approved(t, [trip(3), trip(4)])
    problem(place(t, c["id"]), 409, "insufficient_capacity")
    assert session_row(s["id"])["booked"] == 2
    # Paid: a voucher per place, and the report counts the trip.
    p = ok(post(bulk_path(t, b["id"], "/payments"), token=t.buyer.token,
                json={"provider": "sandbox"}), 201)
    ok(shop.notify(p["payment_id"], "succeeded", p["amount_fen"]))
    mine = ok(get("/me/bookings", token=t.buyer.token))["items"]
    assert all(len(x["vouchers"]) == 1 and x["status"] == "paid"
               for x in mine), mine
    after = ok(get(t.path("/report/%d" % y), token=t.buyer.token))
    assert after["spend_fen"] - before["spend_fen"] == 80000
    psql("UPDATE service_sessions SET date = (now() AT TIME ZONE "
         "'Asia/Shanghai')::date WHERE id = %d" % s["id"])
    ok(redeem(vendor.token, mine[0]["vouchers"][0]["code"]))
