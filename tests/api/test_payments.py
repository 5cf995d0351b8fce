"""Payments through the sandbox provider: creating one, its signed
notifications (good, bad, repeated, wrong amount, failed, late),
idempotency keys, the sandbox's own cashier page and return_url, and the
sandbox switched off or given a short secret (a spare server)."""

import glob
import json
import os
import re
import subprocess
import sys
import threading
import uuid

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

from shop import (  # noqa: E402,F401
    BASE_URL, ROOT, SANDBOX_SECRET, VAR, SpareServer, buy, create_payment,
    error_fields, get_order, make_user, notify, notify_body, notify_raw, ok,
    order_row, post, problem, row, rows, run_parallel, shop_products, sign,
    stock_of, val)


def payment_row(pid):
    return row("SELECT id, order_id, user_id, provider, amount_fen, status, "
               "notifications FROM payments WHERE id = %d" % pid)


@pytest.fixture
def pending(shop_products):
    """A user with a pending order of two products and a payment for it."""
    u = make_user()
    a, b = shop_products.pick(2, stock=10)
    o = buy(u, [(a, 2), (b, 1)])
    p = ok(create_payment(u, o["id"]), 201)
    return u, o, p, (a, b)


def test_create_payment_answers_201(shop_products):
    u = make_user()
    pid = shop_products.one(stock=10)
    o = buy(u, [(pid, 3)])
    p = ok(create_payment(u, o["id"]), 201)
    assert isinstance(p["payment_id"], int)
    assert p["provider"] == "sandbox"
    assert p["amount_fen"] == o["total_fen"]
    assert p["status"] == "pending"
    db = payment_row(p["payment_id"])
    assert db["order_id"] == o["id"] and db["user_id"] == u.id
    assert db["amount_fen"] == o["total_fen"] and db["status"] == "pending"
    # Creating a payment does not pay.
    assert get_order(u, o["id"])["status"] == "pending_payment"


@pytest.mark.parametrize("body", [{"provider": "paypal"}, {"provider": ""},
                                  {"provider": 1}, {}, {"provider": None}])
def test_unknown_provider_is_422(pending, body):
    u, o, _, _ = pending
    r = create_payment(u, o["id"], body=body)
    assert "provider" in error_fields(problem(r, 422, "validation_failed"))
    assert val("SELECT count(*) FROM payments WHERE order_id = %d"
               % o["id"]) == 1


def test_payment_needs_a_token(pending):
    _, o, _, _ = pending
    problem(post("/orders/%d/payments" % o["id"],
                 json={"provider": "sandbox"}), 401, "unauthenticated")


def test_signed_notification_pays_the_order(pending):
    u, o, p, (a, b) = pending
    sales = {r["id"]: r["sales"] for r in rows(
        "SELECT id, sales FROM product_facts WHERE id IN (%d, %d)" % (a, b))}
    body = ok(notify(p["payment_id"], "succeeded", p["amount_fen"]))
    assert body["payment_id"] == p["payment_id"]
    assert body["status"] == "succeeded"

    got = get_order(u, o["id"])
    assert got["status"] == "paid"
    assert got["paid_at"] is not None
    assert all(part["status"] == "paid" for part in got["parts"])
    assert payment_row(p["payment_id"])["status"] == "succeeded"
    assert {r["id"]: r["sales"] for r in rows(
        "SELECT id, sales FROM product_facts WHERE id IN (%d, %d)" % (a, b))} == \
        {a: sales[a] + 2, b: sales[b] + 1}
    # Stock was taken at checkout, not again now.
    assert stock_of(a) == 8 and stock_of(b) == 9

    # The same notification again: 200, and nothing changes.
    again = ok(notify(p["payment_id"], "succeeded", p["amount_fen"]))
    assert again["status"] == "succeeded"
    assert get_order(u, o["id"]) == got
    assert {r["id"]: r["sales"] for r in rows(
        "SELECT id, sales FROM product_facts WHERE id IN (%d, %d)" % (a, b))} == \
        {a: sales[a] + 2, b: sales[b] + 1}
    # Nor does a failure reported after the success.
    ok(notify(p["payment_id"], "failed", p["amount_fen"]))
    assert payment_row(p["payment_id"])["status"] == "succeeded"
    assert get_order(u, o["id"]) == got
    # A paid order takes no second payment.
    problem(create_payment(u, o["id"]), 409)


def test_signature_over_other_bytes_of_the_same_json_is_refused(pending):
    """The signature covers the raw body, not its meaning."""
    u, o, p, _ = pending
    raw = notify_body(p["payment_id"], "succeeded", p["amount_fen"])
    spaced = json.dumps(json.loads(raw), indent=1)
    r = notify_raw(spaced, signature=sign(raw))
    problem(r, 401)
    assert order_row(o["id"])["status"] == "pending_payment"
    # Signed as sent, the spaced body is fine.
    ok(notify_raw(spaced))
    assert order_row(o["id"])["status"] == "paid"


@pytest.mark.parametrize("sig", [
    None, "00" * 32, "zz" * 32, "abc", "00" * 33,
    "secret-free", "bad"])
def test_bad_or_missing_signature_is_401(pending, sig):
    u, o, p, _ = pending
    raw = notify_body(p["payment_id"], "succeeded", p["amount_fen"])
    if sig == "secret-free":
        sig = sign(raw, secret="not-the-secret")
    elif sig == "bad":
        good = sign(raw)
        sig = good[:-1] + ("0" if good[-1] != "0" else "1")
    r = notify_raw(raw, signature=sig)
    problem(r, 401)
    assert order_row(o["id"])["status"] == "pending_payment"
    assert payment_row(p["payment_id"])["status"] == "pending"
    assert payment_row(p["payment_id"])["notifications"] == 0


def test_signature_of_a_different_body_is_401(pending):
    u, o, p, _ = pending
    signed = notify_body(p["payment_id"], "failed", p["amount_fen"])
    sent = notify_body(p["payment_id"], "succeeded", p["amount_fen"])
    problem(notify_raw(sent, signature=sign(signed)), 401)
    assert order_row(o["id"])["status"] == "pending_payment"
    assert payment_row(p["payment_id"])["status"] == "pending"


def test_uppercase_hex_signature_is_accepted(pending):
    u, o, p, _ = pending
    raw = notify_body(p["payment_id"], "succeeded", p["amount_fen"])
    ok(notify_raw(raw, signature=sign(raw).upper()))
    assert order_row(o["id"])["status"] == "paid"


@pytest.mark.parametrize("delta", [-1, 1, "zero"])
def test_wrong_amount_is_422_and_the_order_stays_unpaid(pending, delta):
    u, o, p, _ = pending
    amount = 0 if delta == "zero" else p["amount_fen"] + delta
    r = notify(p["payment_id"], "succeeded", amount)
    pb = problem(r, 422, "amount_mismatch")
    assert pb["detail"] == "the amount does not match the payment"
    assert order_row(o["id"])["status"] == "pending_payment"
    assert payment_row(p["payment_id"])["status"] == "pending"
    # The right amount afterwards still pays.
    ok(notify(p["payment_id"], "succeeded", p["amount_fen"]))
    assert order_row(o["id"])["status"] == "paid"


def test_unknown_payment_is_404(pending):
    _, _, p, _ = pending
    missing = val("SELECT coalesce(max(id), 0) + 1000000 FROM payments")
    problem(notify(missing, "succeeded", p["amount_fen"]), 404, "not_found")


@pytest.mark.parametrize("body", [
    {"payment_id": "1", "status": "succeeded", "amount_fen": 1},
    {"status": "succeeded", "amount_fen": 1},
    {"payment_id": 1, "status": "pending", "amount_fen": 1},
    {"payment_id": 1, "status": "succeeded", "amount_fen": "1"},
    {"payment_id": 1, "status": "succeeded"},
])
def test_signed_but_malformed_notification_is_422(body):
    r = notify_raw(json.dumps(body))
    problem(r, 422, "validation_failed")


def test_signed_but_not_json_is_400():
    problem(notify_raw(b"payment_id=1&status=succeeded"), 400, "invalid_json")


def test_failed_payment_leaves_the_order_unpaid(pending):
    u, o, p, (a, b) = pending
    body = ok(notify(p["payment_id"], "failed", p["amount_fen"]))
    assert body["status"] == "failed"
    assert payment_row(p["payment_id"])["status"] == "failed"
    got = get_order(u, o["id"])
    assert got["status"] == "pending_payment"
    assert all(part["status"] == "pending" for part in got["parts"])
    assert stock_of(a) == 8 and stock_of(b) == 9
    # A success after the failure changes nothing for that payment.
    ok(notify(p["payment_id"], "succeeded", p["amount_fen"]))
    assert payment_row(p["payment_id"])["status"] == "failed"
    assert order_row(o["id"])["status"] == "pending_payment"
    # The buyer may try again with a new payment.
    p2 = ok(create_payment(u, o["id"]), 201)
    assert p2["payment_id"] != p["payment_id"]
    ok(notify(p2["payment_id"], "succeeded", p2["amount_fen"]))
    assert order_row(o["id"])["status"] == "paid"


def test_paying_a_cancelled_order_refunds(pending):
    u, o, p, (a, b) = pending
    ok(post("/orders/%d/cancel" % o["id"], token=u.token))
    assert stock_of(a) == 10 and stock_of(b) == 10

    body = ok(notify(p["payment_id"], "succeeded", p["amount_fen"]))
    assert body["status"] == "refunded", body
    assert payment_row(p["payment_id"])["status"] == "refunded"
    assert order_row(o["id"])["status"] == "cancelled"
    refunds = rows("SELECT payment_id, amount_fen, status FROM refunds "
                   "WHERE order_id = %d" % o["id"])
    assert refunds == [{"payment_id": p["payment_id"],
                        "amount_fen": p["amount_fen"],
                        "status": "succeeded"}]
    # The stock is not taken again, and a repeat refunds nothing more.
    assert stock_of(a) == 10 and stock_of(b) == 10
    ok(notify(p["payment_id"], "succeeded", p["amount_fen"]))
    assert val("SELECT count(*) FROM refunds WHERE order_id = %d"
               % o["id"]) == 1


def test_two_payments_only_one_pays(pending):
    """A second payment of an order already paid is refunded, not kept."""
    u, o, p, _ = pending
    p2 = ok(create_payment(u, o["id"]), 201)
    ok(notify(p["payment_id"], "succeeded", p["amount_fen"]))
    assert order_row(o["id"])["status"] == "paid"
    body = ok(notify(p2["payment_id"], "succeeded", p2["amount_fen"]))
    assert body["status"] == "refunded", body
    assert order_row(o["id"])["status"] == "paid"
    assert payment_row(p["payment_id"])["status"] == "succeeded"
    assert rows("SELECT payment_id FROM refunds WHERE order_id = %d"
                % o["id"]) == [{"payment_id": p2["payment_id"]}]


def test_payment_idempotency_key(pending):
    u, o, first, _ = pending
    key = "pay-" + uuid.uuid4().hex
    p1 = ok(create_payment(u, o["id"], key=key), 201)
    p2 = ok(create_payment(u, o["id"], key=key), 201)
    assert p2 == p1
    assert val("SELECT count(*) FROM payments WHERE order_id = %d"
               % o["id"]) == 2    # the fixture's and this one
    r = create_payment(u, o["id"], key=key,
                       body={"provider": "sandbox", "note": "again"})
    pb = problem(r, 422, "idempotency_key_reused")
    assert pb["detail"] == "this Idempotency-Key was used with another body"
    problem(create_payment(u, o["id"], key="k" * 129), 422,
            "validation_failed")
    assert val("SELECT count(*) FROM payments WHERE order_id = %d"
               % o["id"]) == 2
    # Once paid, the key still replays the first answer.
    ok(notify(p1["payment_id"], "succeeded", p1["amount_fen"]))
    assert ok(create_payment(u, o["id"], key=key), 201) == p1


def test_payment_keys_are_per_order(shop_products):
    u = make_user()
    a, b = shop_products.pick(2, stock=10)
    o1 = buy(u, [(a, 1)])
    o2 = buy(u, [(b, 1)])
    key = "pay-" + uuid.uuid4().hex
    p1 = ok(create_payment(u, o1["id"], key=key), 201)
    p2 = ok(create_payment(u, o2["id"], key=key), 201)
    assert p1["payment_id"] != p2["payment_id"]
    assert p2["amount_fen"] == o2["total_fen"]


def test_notification_needs_no_user_but_a_signature(pending):
    """A buyer's bearer token is no substitute for the signature."""
    u, o, p, _ = pending
    raw = notify_body(p["payment_id"], "succeeded", p["amount_fen"])
    r = post("/payments/sandbox/notify", data=raw.encode(), token=u.token,
             headers={"Content-Type": "application/json"})
    problem(r, 401)
    assert order_row(o["id"])["status"] == "pending_payment"


# ------------------------------------------------------------ at once


def test_repeated_notifications_at_once_pay_once(pending):
    u, o, p, (a, b) = pending
    sales = {r["id"]: r["sales"] for r in rows(
        "SELECT id, sales FROM product_facts WHERE id IN (%d, %d)" % (a, b))}
    gate = threading.Barrier(8)

    def go(_):
        gate.wait()
        return notify(p["payment_id"], "succeeded", p["amount_fen"])

    res = run_parallel(go, list(range(8)), workers=8)
    assert [r.status_code for r in res] == [200] * 8
    assert sum(1 for r in res if r.json().get("changed")) == 1
    assert order_row(o["id"])["status"] == "paid"
    assert {r["id"]: r["sales"] for r in rows(
        "SELECT id, sales FROM product_facts WHERE id IN (%d, %d)" % (a, b))} == \
        {a: sales[a] + 2, b: sales[b] + 1}
    assert val("SELECT count(*) FROM order_events WHERE order_id = %d AND "
               "event = 'pay' AND part_id IS NULL" % o["id"]) == 1


def test_cancel_racing_the_payment_settles_once(pending):
    """Cancel and a success notification at the same moment: whichever
    wins, the buyer's money comes back once and the stock once."""
    u, o, p, (a, b) = pending
    sales = {r["id"]: r["sales"] for r in rows(
        "SELECT id, sales FROM product_facts WHERE id IN (%d, %d)" % (a, b))}
    gate = threading.Barrier(2)

    def go(which):
        gate.wait()
        if which == "cancel":
            return post("/orders/%d/cancel" % o["id"], token=u.token)
        return notify(p["payment_id"], "succeeded", p["amount_fen"])

    cancel, note = run_parallel(go, ["cancel", "notify"], workers=2)
    assert cancel.status_code == 200, cancel.text
    assert note.status_code == 200, note.text
    status = order_row(o["id"])["status"]
    assert status in ("cancelled", "refunded")
    assert cancel.json()["status"] == status
    assert payment_row(p["payment_id"])["status"] == "refunded"
    assert rows("SELECT payment_id, amount_fen FROM refunds WHERE "
                "order_id = %d" % o["id"]) == \
        [{"payment_id": p["payment_id"], "amount_fen": p["amount_fen"]}]
    assert stock_of(a) == 10 and stock_of(b) == 10
    assert {r["id"]: r["sales"] for r in rows(
        "SELECT id, sales FROM product_facts WHERE id IN (%d, %d)" % (a, b))} == \
        sales


# ------------------------------------------------------------ the cashier page


def page(payment_id, method="GET", data=None):
    return requests.request(method, BASE_URL + "/sandbox/pay/%s" % payment_id,
                            data=data, allow_redirects=False, timeout=60)


def test_payment_answers_its_cashier_page(pending):
    u, o, p, _ = pending
    assert p["pay_url"] == "/sandbox/pay/%d" % p["payment_id"]
    r = page(p["payment_id"])
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/html")
    html = r.text
    fen = o["total_fen"]
    assert "¥%d.%02d" % (fen // 100, fen % 100) in html
    assert "支付成功" in html and "支付失败" in html
    assert re.search(r'<form method="post" action="/sandbox/pay/%d">'
                     % p["payment_id"], html)
    assert 'name="viewport"' in html
    # No script, and nothing of the secret.
    assert "<script" not in html.lower() and "onclick" not in html.lower()
    assert SANDBOX_SECRET not in html and "signature" not in html.lower()
    assert o["order_no"] in html


def test_cashier_page_pays_and_returns_to_the_order(pending):
    u, o, p, _ = pending
    r = page(p["payment_id"], "POST", {"status": "succeeded"})
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == "/orders/%d" % o["id"]
    assert payment_row(p["payment_id"])["status"] == "succeeded"
    assert payment_row(p["payment_id"])["notifications"] == 1
    assert get_order(u, o["id"])["status"] == "paid"
    # Pressed again: the notification repeats, and changes nothing.
    r = page(p["payment_id"], "POST", {"status": "failed"})
    assert r.status_code == 303
    assert payment_row(p["payment_id"])["status"] == "succeeded"
    assert "支付成功" not in page(p["payment_id"]).text


def test_cashier_page_fails_and_returns_to_return_url(shop_products):
    u = make_user()
    o = buy(u, [(shop_products.one(stock=10), 1)])
    back = "/store/orders.html?id=%d&paid=0#top" % o["id"]
    p = ok(create_payment(u, o["id"], body={"provider": "sandbox",
                                            "return_url": back}), 201)
    assert p["return_url"] == back
    r = page(p["payment_id"], "POST", {"status": "failed"})
    assert r.status_code == 303 and r.headers["Location"] == back
    assert payment_row(p["payment_id"])["status"] == "failed"
    assert get_order(u, o["id"])["status"] == "pending_payment"


@pytest.mark.parametrize("form", [{}, {"status": "paid"},
                                  {"status": "succeeded" * 40}])
def test_cashier_page_needs_a_status(pending, form):
    _, o, p, _ = pending
    r = page(p["payment_id"], "POST", form)
    assert r.status_code == 422, r.text
    assert order_row(o["id"])["status"] == "pending_payment"


def test_cashier_page_of_no_payment_is_404():
    assert page(999999999).status_code == 404
    assert page(999999999, "POST", {"status": "succeeded"}).status_code == 404
    assert page("12x").status_code == 404


@pytest.mark.parametrize("url", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example",
    "\\/evil.example", "orders/1", "javascript:alert(1)", "/a b",
    "/" + "a" * 600, 5, "", "/x\ny"])
def test_return_url_must_be_a_path_of_this_site(pending, url):
    u, o, _, _ = pending
    r = create_payment(u, o["id"], body={"provider": "sandbox",
                                         "return_url": url})
    assert error_fields(problem(r, 422, "validation_failed")) == {
        "return_url"}
    assert val("SELECT count(*) FROM payments WHERE order_id = %d"
               % o["id"]) == 1


def test_no_fixed_sandbox_secret_anywhere():
    """The secret is generated per instance (scripts/instance.sh), long,
    and no file of the project documents one."""
    with open(os.path.join(VAR, "secrets.env")) as f:
        kv = dict(line.strip().split("=", 1) for line in f if "=" in line)
    assert re.fullmatch(r"[0-9a-f]{64}", kv["PAYMENT_SANDBOX_SECRET"])
    assert SANDBOX_SECRET == kv["PAYMENT_SANDBOX_SECRET"]
    r = subprocess.run(["git", "-C", ROOT, "grep", "-l",
                        "bangfu-sandbox-" + "secret"], capture_output=True,
                       text=True)
    assert r.stdout == "", r.stdout


# ------------------------------------------------------------ sandbox off


@pytest.fixture(scope="module")
def sandbox_off():
    """A second server of the test build without PAYMENT_SANDBOX."""
    s = SpareServer({"PAYMENT_SANDBOX": None}).start()
    yield s
    s.stop()


def test_sandbox_off_its_routes_are_404(sandbox_off, pending):
    u, o, p, _ = pending
    raw = notify_body(p["payment_id"], "succeeded", p["amount_fen"])
    r = sandbox_off.call("POST", "/payments/sandbox/notify", data=raw,
                         headers={"X-Sandbox-Signature": sign(raw),
                                  "Content-Type": "application/json"})
    problem(r, 404, "not_found")
    for method, data in (("GET", None), ("POST", {"status": "succeeded"})):
        r = requests.request(method, sandbox_off.url + "/sandbox/pay/%d"
                             % p["payment_id"], data=data,
                             allow_redirects=False, timeout=60)
        assert r.status_code == 404, (method, r.status_code, r.text)
    assert order_row(o["id"])["status"] == "pending_payment"
    assert payment_row(p["payment_id"])["notifications"] == 0


def test_sandbox_off_asking_for_it_is_provider_unavailable(sandbox_off,
                                                           pending):
    u, o, _, _ = pending
    r = sandbox_off.call("POST", "/orders/%d/payments" % o["id"],
                         token=u.token, json={"provider": "sandbox"})
    assert error_fields(problem(r, 422, "provider_unavailable")) == {
        "provider"}
    # An unknown provider stays a bad field.
    r = sandbox_off.call("POST", "/orders/%d/payments" % o["id"],
                         token=u.token, json={"provider": "paypal"})
    problem(r, 422, "validation_failed")
    # The bulk payment route too, whatever the bulk order.
    r = sandbox_off.call("POST", "/orgs/1/bulk-orders/1/payments",
                         token=u.token, json={"provider": "sandbox"})
    problem(r, 422, "provider_unavailable")
    assert val("SELECT count(*) FROM payments WHERE order_id = %d"
               % o["id"]) == 1
    # The test server, with the sandbox on, takes it.
    ok(create_payment(u, o["id"]), 201)


@pytest.mark.parametrize("secret", [None, "", "x" * 31])
def test_sandbox_with_a_short_secret_refuses_to_start(secret):
    s = SpareServer({"PAYMENT_SANDBOX": "1",
                     "PAYMENT_SANDBOX_SECRET": secret}, offset=8)
    s.start(wait=False)
    try:
        assert s.exited(timeout=30) != 0
    finally:
        s.stop()
    assert "PAYMENT_SANDBOX_SECRET" in s.read_log()
    assert "not starting" in s.read_log()
