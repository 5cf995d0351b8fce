"""The words of validation failures that restate a limit ("an integer from
0 to 10000", "1 to 100 characters"): the server makes them from the limits
it checks (issue 16), and clients show them as they are, so each one is
pinned here byte for byte.  Every request is refused before it changes
anything.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from shop import (  # noqa: E402
    get, make_user, ok, other_vendor_token, patch, post, problem, put)
from test_bulk_orders import create, csv_text, upload  # noqa: E402
from test_orgs import org_team  # noqa: E402
from test_vendors import admin  # noqa: E402

LONG = "长" * 501


def messages(r):
    """{field: [messages]} of a 422 validation_failed."""
    b = problem(r, 422, "validation_failed")
    out = {}
    for e in b["errors"]:
        out.setdefault(e["field"], []).append(e["message"])
    return out


def has(r, want):
    got = messages(r)
    for field, message in want.items():
        assert message in got.get(field, []), (field, message, got)


def test_admin_fee_rule_messages():
    has(post("/admin/fee-rules", token=admin(),
             json={"name": "", "commission_bps": 10001, "waiver_bps": -1}),
        {"name": "1 to 100 characters",
         "commission_bps": "an integer from 0 to 10000",
         "waiver_bps": "an integer from 0 to 10000"})


def test_admin_boost_rule_and_campaign_messages():
    has(post("/admin/boost-rules", token=admin(),
             json={"name": "x" * 101, "weight": 1001, "pin_slots": 21,
                   "placements": ["search"]}),
        {"name": "1 to 100 characters",
         "weight": "an integer from -1000 to 1000",
         "pin_slots": "an integer from 0 to 20"})
    has(post("/admin/campaigns", token=admin(),
             json={"slug": "msg-test", "title": "", "theme": LONG,
                   "boost_weight": -1001,
                   "starts_at": "2099-01-01T00:00:00Z",
                   "ends_at": "2099-02-01T00:00:00Z"}),
        {"title": "1 to 100 characters",
         "theme": "at most 500 characters",
         "boost_weight": "an integer from -1000 to 1000"})


def test_admin_vendor_messages():
    has(post("/admin/vendors/1/credit-events", token=admin(),
             json={"kind": "", "points": 101, "note": LONG}),
        {"kind": "1 to 40 characters",
         "points": "a non-zero integer from -100 to 100",
         "note": "at most 500 characters"})
    has(post("/admin/vendors/1/review", token=admin(),
             json={"decision": "approve", "qualified_until": "2099-01-01",
                   "reason": LONG}),
        {"reason": "at most 500 characters"})


def test_org_messages():
    user = make_user(tag="msgs")
    has(post("/orgs", token=user.token,
             json={"name": "", "kind": "ngo", "credit_code": "x"}),
        {"name": "1 to 100 characters"})
    has(put("/orgs/1/plan/1999", token=user.token,
            json={"budget_fen": 1, "reserved_share_bps": "x",
                  "approval_threshold_fen": 0}),
        {"year": "a year from 2000 to 2100",
         "reserved_share_bps": "basis points, an integer from 0 to 10000"})
    has(get("/orgs/1/plan/2101", token=user.token),
        {"year": "a year from 2000 to 2100"})
    has(get("/orgs/1/report/1999", token=user.token),
        {"year": "a year from 2000 to 2100"})


def test_service_and_booking_messages():
    vt = other_vendor_token()
    has(post("/vendor/products/1/sessions", token=vt,
             json={"date": "2099-01-01", "capacity": 0}),
        {"capacity": "an integer from 1 to 10000"})
    has(patch("/vendor/sessions/1", token=vt, json={"capacity": 10001}),
        {"capacity": "an integer from 0 to 10000"})
    has(put("/vendor/products/1/cancellation", token=vt,
            json={"rules": [{"days_before": 0, "refund_bps": 10001}]}),
        {"rules": "{days_before: 0 to 365, refund_bps: 0 to 10000}"})
    user = make_user(tag="msgs")
    has(post("/bookings", token=user.token,
             json={"session_id": 1,
                   "guests": [{"name": "", "phone": "13800000000"}]}),
        {"guests": "{name: 1 to 50 characters, phone: a phone number}"})


def test_cart_auth_and_catalog_messages():
    has(put("/cart/items/1", json={"qty": 10000}),
        {"qty": "an integer from 0 to 9999"})
    has(post("/auth/register",
             json={"email": "not-an-address", "password": "short",
                   "name": "", "role": "citizen"}),
        {"password": "at least 10 characters, at most 256 bytes",
         "name": "1 to 100 characters"})
    has(get("/products", params={"per_page": 101}),
        {"per_page": "an integer from 1 to 100"})
    has(get("/products", params={"page": 0}),
        {"page": "an integer from 1"})


BAD_KEY = {"Idempotency-Key": "k" * 129}
KEY_WORDS = "1 to 128 printable characters"


def test_checkout_and_payment_messages():
    user = make_user(tag="msgs")
    has(post("/orders", token=user.token, headers=BAD_KEY,
             json={"address": {"name": "张三", "phone": "13800000000",
                               "province": "上海市", "city": "上海市",
                               "district": "黄浦区", "line": "人民大道1号"},
                   "note": "x" * 201}),
        {"note": "text of at most 200 characters",
         "Idempotency-Key": KEY_WORDS})
    has(post("/bookings", token=user.token, headers=BAD_KEY,
             json={"session_id": 1,
                   "guests": [{"name": "李四", "phone": "13800000000"}]}),
        {"Idempotency-Key": KEY_WORDS})
    has(post("/orders/1/payments", token=user.token, headers=BAD_KEY,
             json={"provider": "sandbox"}),
        {"Idempotency-Key": KEY_WORDS})


def test_bulk_messages():
    user = make_user(tag="msgs")
    has(post("/orgs/1/bulk-orders", token=user.token,
             json={"purpose": "welfare", "recipients": [
                 {"name": "", "phone": "13800000000", "address": "",
                  "lines": []},
                 {"name": "王五", "phone": "13800000000", "address": "上海",
                  "lines": [{"product_id": 1, "qty": 10000,
                             "session_id": 1}]}]}),
        {"recipients[0].name": "1 to 50 characters",
         "recipients[0].address": "1 to 200 characters",
         "recipients[0].lines": "1 to 50 lines",
         "recipients[1].lines[0].session_id":
             "a session id, with qty at most 20 places",
         "recipients[1].lines[0].qty": "an integer from 1 to 9999"})
    has(post("/orgs/1/bulk-orders/1/reject", token=user.token,
             json={"reason": ""}),
        {"reason": "1 to 500 characters"})
    has(post("/orgs/1/bulk-orders/1/place", token=user.token,
             headers=BAD_KEY),
        {"Idempotency-Key": KEY_WORDS})
    has(post("/orgs/1/bulk-orders/1/payments", token=user.token,
             headers=BAD_KEY, json={"provider": "sandbox"}),
        {"Idempotency-Key": KEY_WORDS})
    # The count stops the file before any row is looked up: no product
    # is taken from the run's pool (the stall drill needs the last ones).
    t = org_team()
    d = ok(create(t), 201)
    rows = ["张%d,13800000000,上海市,1,1" % i for i in range(10001)]
    b = problem(upload(t, d["id"], csv_text(rows)), 422)
    assert "too many rows: at most 10000 lines in one bulk order" in [
        e["message"] for e in b["errors"]], b["errors"][-3:]


def test_vendor_messages():
    vt = other_vendor_token()
    has(post("/vendor/orders/1/ship", token=vt,
             json={"carrier": "", "tracking_no": "x" * 65}),
        {"carrier": "1 to 50 characters",
         "tracking_no": "1 to 64 characters"})
    has(post("/vendors", token=vt,
             json={"name": "某某合作社", "kind": "cooperative",
                   "county_code": "653121", "credit_code": "x",
                   "poor_households_linked": 1}),
        {"credit_code": "an 18-character unified social credit code"})
    has(post("/vendor/products", token=vt,
             json={"title": "t", "unit": "斤", "price_fen": 100,
                   "category": "grain", "stock": -1,
                   "images": ["/img/a.png"] * 10 + [""],
                   "price_tiers": [{"min_qty": 1, "unit_price_fen": 1}] * 11}),
        {"stock": "an integer from 0 to 10000000",
         "images": "at most 10 image paths",
         "price_tiers": "at most 10 tiers"})
    has(post("/vendor/products", token=vt,
             json={"title": "t", "unit": "斤", "price_fen": 100,
                   "category": "grain", "images": [""],
                   "price_tiers": [{"min_qty": 1, "unit_price_fen": 1}]}),
        {"images": "image paths of 1 to 300 characters",
         "price_tiers": "{min_qty from 2 to 10000000, "
                        "unit_price_fen from 1 to 10000000000}"})
    has(post("/vendor/products/1/batches", token=vt,
             json={"code": "B1", "base": "基地", "produced_on": "2026-01-01",
                   "inspection": {"result": "pass", "report_no": ""}}),
        {"inspection.report_no": "1 to 64 characters"})
