"""The vendor's side of orders: its parts, shipping a paid part (and the
order shipping with its last part), cancel and confirm around shipping,
and the fee statement."""

import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

from shop import (  # noqa: E402,F401
    buy, demo_token, demo_vendor_id, error_fields, get, get_order,
    make_user, module_products, ok, order_row, other_vendor_id,
    other_vendor_token, part_of, pay, post, problem, psql, rows, ship,
    shop_products, statement_vendor, stocks_of, utc_now, val, vendor_token,
    where_vendor)


@pytest.fixture(scope="module")
def demo_vendor():
    return demo_vendor_id()


@pytest.fixture(scope="module")
def other_vendor():
    return other_vendor_id()


@pytest.fixture(scope="module")
def shared_pair(module_products, demo_vendor, other_vendor):
    """A product of the demo vendor and one of v01 with stock to spare, for
    the tests that do not count stock (the demo vendor has few products)."""
    mine = module_products.one(where_vendor(demo_vendor), stock=100000)
    theirs = module_products.one(where_vendor(other_vendor), stock=100000)
    return mine, theirs


@pytest.fixture
def two_part_order(shared_pair):
    """A paid order with a part of the demo vendor and one of another."""
    u = make_user()
    mine, theirs = shared_pair
    o = pay(u, buy(u, [(mine, 1), (theirs, 2)]))
    return u, o, mine, theirs


def part_status(part_id):
    return val("SELECT status FROM order_parts WHERE id = %d" % part_id)




def test_vendor_ships_its_paid_part(two_part_order, demo_vendor,
                                    other_vendor):
    u, o, _, _ = two_part_order
    pd, po = part_of(o, demo_vendor), part_of(o, other_vendor)
    assert pd["status"] == po["status"] == "paid"

    r = ok(ship(demo_token("vendor"), pd["id"], carrier="顺丰速运",
                tracking_no="SF1234567"))
    assert r["id"] == pd["id"] and r["order_id"] == o["id"]
    assert r["status"] == "shipped"
    assert r["order_status"] == "paid"
    assert [s["tracking_no"] for s in r["shipments"]] == ["SF1234567"]
    assert r["shipments"][0]["carrier"] == "顺丰速运"

    # One part shipped: the order is still paid.
    got = get_order(u, o["id"])
    assert got["status"] == "paid"
    assert part_of(got, demo_vendor)["status"] == "shipped"
    assert part_of(got, other_vendor)["status"] == "paid"
    assert val("SELECT count(*) FROM shipments WHERE part_id = %d"
               % pd["id"]) == 1

    # Shipping it again is refused.
    pb = problem(ship(demo_token("vendor"), pd["id"]), 409,
                 "invalid_transition")
    assert pb["detail"] == "the order's status does not allow this"


def test_cancel_and_confirm_with_a_part_shipped_are_409(two_part_order,
                                                        demo_vendor):
    u, o, mine, theirs = two_part_order
    ok(ship(demo_token("vendor"), part_of(o, demo_vendor)["id"]))
    before = stocks_of([mine, theirs])
    problem(post("/orders/%d/cancel" % o["id"], token=u.token), 409,
            "invalid_transition")
    problem(post("/orders/%d/confirm" % o["id"], token=u.token), 409,
            "invalid_transition")
    assert stocks_of([mine, theirs]) == before
    assert order_row(o["id"])["status"] == "paid"
    assert val("SELECT count(*) FROM refunds WHERE order_id = %d"
               % o["id"]) == 0


def test_order_ships_with_its_last_part_then_completes(
        two_part_order, demo_vendor, other_vendor):
    u, o, mine, theirs = two_part_order
    pd, po = part_of(o, demo_vendor), part_of(o, other_vendor)
    ok(ship(demo_token("vendor"), pd["id"]))
    r = ok(ship(other_vendor_token(), po["id"], carrier="EMS",
                tracking_no="EMS0001"))
    assert r["status"] == "shipped" and r["order_status"] == "shipped"
    got = get_order(u, o["id"])
    assert got["status"] == "shipped"
    assert {p["status"] for p in got["parts"]} == {"shipped"}
    assert all(p["shipments"] for p in got["parts"])

    # Cancel after shipping: refused, nothing returned or refunded.
    before = stocks_of([mine, theirs])
    problem(post("/orders/%d/cancel" % o["id"], token=u.token), 409,
            "invalid_transition")
    assert stocks_of([mine, theirs]) == before
    assert val("SELECT count(*) FROM refunds WHERE order_id = %d"
               % o["id"]) == 0

    done = ok(post("/orders/%d/confirm" % o["id"], token=u.token))
    assert done["status"] == "completed"
    assert order_row(o["id"])["status"] == "completed"
    problem(post("/orders/%d/confirm" % o["id"], token=u.token), 409,
            "invalid_transition")
    problem(post("/orders/%d/cancel" % o["id"], token=u.token), 409,
            "invalid_transition")


def test_a_failed_ship_leaves_no_trace(two_part_order, demo_vendor):
    """Whatever a ship answers, a part is shipped exactly when a shipment
    row exists, and the order agrees with its parts."""
    u, o, _, _ = two_part_order
    pd = part_of(o, demo_vendor)
    r = ship(demo_token("vendor"), pd["id"])
    n = val("SELECT count(*) FROM shipments WHERE part_id = %d" % pd["id"])
    if r.status_code == 200:
        assert part_status(pd["id"]) == "shipped" and n == 1
    else:
        assert part_status(pd["id"]) == "paid" and n == 0
        assert val("SELECT count(*) FROM order_events WHERE part_id = %d "
                   "AND event = 'ship'" % pd["id"]) == 0
    assert order_row(o["id"])["status"] == "paid"


def test_unpaid_part_does_not_ship(shared_pair, demo_vendor):
    u = make_user()
    o = buy(u, [(shared_pair[0], 1)])
    part = part_of(o, demo_vendor)
    problem(ship(demo_token("vendor"), part["id"]), 409,
            "invalid_transition")
    assert part_status(part["id"]) == "pending"
    # Nor once the order is cancelled.
    ok(post("/orders/%d/cancel" % o["id"], token=u.token))
    problem(ship(demo_token("vendor"), part["id"]), 409,
            "invalid_transition")
    assert part_status(part["id"]) == "cancelled"
    assert val("SELECT count(*) FROM shipments WHERE part_id = %d"
               % part["id"]) == 0


def test_another_vendors_part_is_404(two_part_order, demo_vendor,
                                     other_vendor):
    u, o, _, _ = two_part_order
    pd, po = part_of(o, demo_vendor), part_of(o, other_vendor)
    problem(ship(other_vendor_token(), pd["id"]), 404, "not_found")
    problem(ship(demo_token("vendor"), po["id"]), 404, "not_found")
    missing = val("SELECT coalesce(max(id), 0) + 1000000 FROM order_parts")
    problem(ship(demo_token("vendor"), missing), 404, "not_found")
    assert part_status(pd["id"]) == part_status(po["id"]) == "paid"


@pytest.mark.parametrize("who", ["citizen", "admin"])
def test_only_vendors_use_the_vendor_routes(two_part_order, demo_vendor,
                                            who):
    u, o, _, _ = two_part_order
    tok = u.token if who == "citizen" else demo_token("admin")
    pd = part_of(o, demo_vendor)
    problem(get("/vendor/orders", token=tok), 403, "forbidden")
    problem(get("/vendor/statement", token=tok), 403, "forbidden")
    problem(ship(tok, pd["id"]), 403, "forbidden")
    assert part_status(pd["id"]) == "paid"


def test_vendor_routes_need_a_token():
    problem(get("/vendor/orders"), 401, "unauthenticated")
    problem(get("/vendor/statement"), 401, "unauthenticated")
    problem(post("/vendor/orders/1/ship",
                 json={"carrier": "EMS", "tracking_no": "1"}), 401,
            "unauthenticated")


@pytest.mark.parametrize("body, field", [
    ({"tracking_no": "SF1"}, "carrier"),
    ({"carrier": "", "tracking_no": "SF1"}, "carrier"),
    ({"carrier": "EMS"}, "tracking_no"),
    ({"carrier": "EMS", "tracking_no": 12345}, "tracking_no"),
    ({"carrier": "EMS", "tracking_no": "1" * 65}, "tracking_no"),
    ({"carrier": "顺" * 51, "tracking_no": "1"}, "carrier"),
])
def test_ship_with_bad_fields_is_422(two_part_order, demo_vendor, body,
                                     field):
    _, o, _, _ = two_part_order
    pd = part_of(o, demo_vendor)
    r = post("/vendor/orders/%d/ship" % pd["id"], json=body,
             token=demo_token("vendor"))
    assert field in error_fields(problem(r, 422, "validation_failed"))
    assert part_status(pd["id"]) == "paid"


def test_vendor_orders_list_only_its_parts(shared_pair, demo_vendor,
                                           other_vendor):
    u = make_user()
    mine, theirs = shared_pair
    o = buy(u, [(mine, 1), (theirs, 1)])
    pd, po = part_of(o, demo_vendor), part_of(o, other_vendor)
    vtok = demo_token("vendor")

    body = ok(get("/vendor/orders", token=vtok, params={"per_page": 100}))
    assert body["page"] == 1 and body["per_page"] == 100
    own = {r["id"] for r in rows(
        "SELECT id FROM order_parts WHERE vendor_id = %d" % demo_vendor)}
    assert body["total"] == len(own)
    ids = [it["id"] for it in body["items"]]
    assert ids == sorted(ids, reverse=True)
    assert set(ids) <= own
    assert pd["id"] in ids and po["id"] not in ids
    it = next(i for i in body["items"] if i["id"] == pd["id"])
    assert it["order_id"] == o["id"] and it["order_no"] == o["order_no"]
    assert it["status"] == "pending"
    assert [line["product_id"] for line in it["items"]] == [mine]
    # Not paid: the buyer's address is not the vendor's to see.
    assert it["address"] is None

    # The other vendor sees its part, not this one.
    other = ok(get("/vendor/orders", token=other_vendor_token(),
                   params={"per_page": 100}))
    oids = {i["id"] for i in other["items"]}
    assert po["id"] in oids and pd["id"] not in oids
    assert oids <= {r["id"] for r in rows(
        "SELECT id FROM order_parts WHERE vendor_id = %d" % other_vendor)}

    # Filtered by status.
    pending = ok(get("/vendor/orders", token=vtok,
                     params={"status": "pending", "per_page": 100}))
    assert pd["id"] in {i["id"] for i in pending["items"]}
    assert {i["status"] for i in pending["items"]} <= {"pending"}
    shipped = ok(get("/vendor/orders", token=vtok,
                     params={"status": "shipped", "per_page": 100}))
    assert pd["id"] not in {i["id"] for i in shipped["items"]}
    assert {i["status"] for i in shipped["items"]} <= {"shipped"}

    # Pages.
    p1 = ok(get("/vendor/orders", token=vtok, params={"per_page": 1}))
    assert len(p1["items"]) == 1 and p1["total"] == len(own)
    assert p1["items"][0]["id"] == max(own)


@pytest.mark.parametrize("params", [{"status": "lost"}, {"per_page": 101},
                                    {"page": 0}])
def test_vendor_orders_bad_query_is_422(params):
    problem(get("/vendor/orders", token=demo_token("vendor"),
                params=params), 422, "validation_failed")


def statement(tok, frm, to):
    return ok(get("/vendor/statement", token=tok,
                  params={"from": frm, "to": to}))


def check_statement(s):
    """The totals are the sums of the lines; net = gross - fee + waived."""
    lines = s["lines"]
    assert s["gross_fen"] == sum(x["line_total_fen"] for x in lines)
    assert s["fee_fen"] == sum(x["fee_fen"] for x in lines)
    assert s["fee_waived_fen"] == sum(x["fee_waived_fen"] for x in lines)
    assert s["net_fen"] == s["gross_fen"] - s["fee_fen"] + \
        s["fee_waived_fen"]


def test_statement_totals_are_the_paid_lines(shop_products):
    # A cooperative outside the poverty counties: half its fee is waived,
    # so gross, fee, waived and net all differ.
    vendor = statement_vendor()
    a, b = shop_products.pick(2, where=where_vendor(vendor), stock=50)
    other = shop_products.one(where_vendor(demo_vendor_id()), stock=10)
    vtok = vendor_token(vendor)
    today = utc_now().date()
    frm = (today - datetime.timedelta(days=1)).isoformat()
    to = (today + datetime.timedelta(days=1)).isoformat()

    before = statement(vtok, frm, to)
    check_statement(before)
    assert before["from"] == frm and before["to"] == to

    u = make_user()
    paid = pay(u, buy(u, [(a, 3), (b, 1), (other, 1)]))
    unpaid = buy(u, [(a, 1)])
    refunded = pay(u, buy(u, [(b, 2)]))
    ok(post("/orders/%d/cancel" % refunded["id"], token=u.token))

    after = statement(vtok, frm, to)
    check_statement(after)
    counted = part_of(paid, vendor)["items"]
    gross = sum(it["line_total_fen"] for it in counted)
    fee = sum(it["fee_fen"] for it in counted)
    waived = sum(it["fee_waived_fen"] for it in counted)
    assert 0 < waived < fee
    assert after["gross_fen"] - before["gross_fen"] == gross
    assert after["fee_fen"] - before["fee_fen"] == fee
    assert after["fee_waived_fen"] - before["fee_waived_fen"] == waived
    assert after["net_fen"] - before["net_fen"] == gross - fee + waived

    nos = {x["order_no"] for x in after["lines"]}
    assert paid["order_no"] in nos
    assert unpaid["order_no"] not in nos
    assert refunded["order_no"] not in nos
    new = [x for x in after["lines"] if x["order_no"] == paid["order_no"]]
    assert {x["product_id"] for x in new} == {a, b}    # not the other's
    for x in new:
        assert x["fee_rule_id"] and x["fee_rule_name"]

    # Independently of the route: the vendor's paid and shipped lines.
    want = rows(
        "SELECT coalesce(sum(l.line_total_fen), 0) AS gross, "
        "coalesce(sum(l.fee_fen), 0) AS fee, "
        "coalesce(sum(l.fee_waived_fen), 0) AS waived "
        "FROM order_lines l JOIN order_parts p ON p.id = l.part_id "
        "JOIN orders o ON o.id = l.order_id WHERE p.vendor_id = %d "
        "AND p.status IN ('paid', 'shipped') AND "
        "(o.paid_at AT TIME ZONE 'Asia/Shanghai')::date BETWEEN '%s' AND '%s'"
        % (vendor, frm, to))[0]
    assert (after["gross_fen"], after["fee_fen"], after["fee_waived_fen"]) \
        == (want["gross"], want["fee"], want["waived"])

    # The demo vendor's statement does not carry this vendor's lines.
    demo = statement(demo_token("vendor"), frm, to)
    check_statement(demo)
    assert not [x for x in demo["lines"]
                if x["product_id"] in (a, b)]

    # A period without sales.
    empty = statement(vtok, "2000-01-01", "2000-01-31")
    assert empty["lines"] == []
    assert (empty["gross_fen"], empty["fee_fen"], empty["fee_waived_fen"],
            empty["net_fen"]) == (0, 0, 0, 0)


def test_statement_counts_shipped_parts(shop_products):
    vendor = statement_vendor()
    pid = shop_products.one(where=where_vendor(vendor), stock=50)
    vtok = vendor_token(vendor)
    today = utc_now().date()
    frm = (today - datetime.timedelta(days=1)).isoformat()
    to = (today + datetime.timedelta(days=1)).isoformat()
    u = make_user()
    o = pay(u, buy(u, [(pid, 2)]))
    before = statement(vtok, frm, to)
    ok(ship(vtok, part_of(o, vendor)["id"]))
    after = statement(vtok, frm, to)
    check_statement(after)
    assert after["gross_fen"] == before["gross_fen"]
    assert o["order_no"] in {x["order_no"] for x in after["lines"]}


@pytest.mark.parametrize("params, field", [
    ({"from": "2024-13-01", "to": "2024-12-31"}, "from"),
    ({"from": "2024-02-30", "to": "2024-03-31"}, "from"),
    ({"from": "yesterday", "to": "2024-12-31"}, "from"),
    ({"from": "2024-01-01", "to": "31/12/2024"}, "to"),
    ({"from": "2024-01-01", "to": "2024-01-01T00:00:00Z"}, "to"),
    ({"from": "2024-06-01", "to": "2024-05-31"}, "to"),
])
def test_statement_bad_dates_are_422(params, field):
    r = get("/vendor/statement", token=demo_token("vendor"), params=params)
    assert field in error_fields(problem(r, 422, "validation_failed"))


def test_a_line_no_fee_rule_priced_answers_a_null_rule(shared_pair,
                                                         demo_vendor):
    """A line that no fee rule matched is kept without a rule: fees_apply
    leaves the rule 0 when none matches, and checkout stores nullif(rule, 0)
    in order_lines.fee_rule_id (NULL here by hand: the demo's base rule
    matches every line).  The buyer's order, the vendor's part and the
    statement answer fee_rule_id, and fee_rule_name, null, as the document
    allows (conftest validates every answer against it)."""
    u = make_user()
    o = pay(u, buy(u, [(shared_pair[0], 1)]))
    psql("UPDATE order_lines SET fee_rule_id = NULL WHERE order_id = %d"
         % o["id"])
    it = get_order(u, o["id"])["parts"][0]["items"][0]
    assert it["fee_rule_id"] is None, it
    part = vendor_part(part_of(o, demo_vendor)["id"])
    assert part["items"][0]["fee_rule_id"] is None, part
    today = utc_now().date()
    st = statement(demo_token("vendor"),
                   (today - datetime.timedelta(days=1)).isoformat(),
                   (today + datetime.timedelta(days=1)).isoformat())
    line = next(x for x in st["lines"] if x["order_no"] == o["order_no"])
    assert line["fee_rule_id"] is None and line["fee_rule_name"] is None, \
        line


def vendor_part(part_id, token=None):
    body = ok(get("/vendor/orders", token=token or demo_token("vendor"),
                  params={"per_page": 100}))
    return next(i for i in body["items"] if i["id"] == part_id)


def test_the_vendor_sees_the_address_of_paid_parts_only(shared_pair,
                                                          demo_vendor):
    """The buyer's name, phone and address reach the vendor once the part
    is paid, never for a part that is unpaid or was cancelled unpaid."""
    u = make_user()
    o = buy(u, [(shared_pair[0], 1)])
    pid = part_of(o, demo_vendor)["id"]
    it = vendor_part(pid)
    assert it["status"] == "pending" and it["address"] is None, it
    assert "13800138000" not in str(it)
    pay(u, o)
    it = vendor_part(pid)
    assert it["status"] == "paid", it
    assert it["address"]["phone"] == "13800138000"
    assert it["address"]["name"] == "张三"

    other = buy(u, [(shared_pair[0], 1)])
    ok(post("/orders/%d/cancel" % other["id"], token=u.token))
    it = vendor_part(part_of(other, demo_vendor)["id"])
    assert it["status"] == "cancelled" and it["address"] is None, it
    assert "13800138000" not in str(it)
