"""What the workspaces read beyond the contract: a fee rule's versions
(GET /admin/fee-rules/{id}/history), a vendor's credit events for
operators (GET /admin/vendors/{id}/credit-events) and a vendor's own
record (GET /vendor/profile: review, qualification, credit and its
events), which shows that vendor's data and never another's."""

import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import shop  # noqa: E402
from shop import (  # noqa: E402
    demo_token, get, make_user, ok, patch, post, problem, val)
from test_vendors import (  # noqa: E402
    admin, admin_id, credit, date_in, new_vendor, review)

FUTURE = "2099-01-01T00:00:00Z"


def profile(token, expect=200):
    r = get("/vendor/profile", token=token)
    return ok(r, expect)


# ------------------------------------------------------------ /vendor/profile


def test_profile_before_applying_is_404():
    user = make_user(role="vendor", tag="prof")
    problem(get("/vendor/profile", token=user.token), 404, "not_found")


def test_profile_is_for_vendors_only():
    problem(get("/vendor/profile"), 401, "unauthenticated")
    for who in ("citizen", "admin"):
        problem(get("/vendor/profile", token=demo_token(who)), 403,
                "forbidden")


def test_profile_shows_the_pending_application():
    v = new_vendor(approve=False)
    p = profile(v.token)
    assert p["id"] == v.id
    assert p["status"] == "pending_review"
    assert p["name"] == v.body["name"]
    assert p["credit_code"] == v.body["credit_code"]
    assert p["county"]["code"] == v.county
    assert p["qualified"] is False and p["qualified_until"] is None
    assert p["reviews"] == [] and p["credit_events"] == []
    assert p["review_reason"] is None


def test_profile_shows_the_rejection_and_its_reason():
    v = new_vendor(approve=False)
    review(v.id, "reject", reason="营业执照照片不清晰")
    p = profile(v.token)
    assert p["status"] == "rejected"
    assert p["review_reason"] == "营业执照照片不清晰"
    assert [(r["decision"], r["reason"]) for r in p["reviews"]] == [
        ("reject", "营业执照照片不清晰")]
    assert p["qualified"] is False


def test_profile_shows_approval_and_credit_history():
    until = date_in(200)
    v = new_vendor(until=until)
    start = profile(v.token)["credit_score"]
    credit(v.id, -5, kind="late_shipment", note="延迟发货")
    credit(v.id, 3, kind="commendation", note="好评")
    p = profile(v.token)
    assert p["status"] == "approved"
    assert p["qualified"] is True and p["qualified_until"] == until
    assert p["reviews"][0]["decision"] == "approve"
    assert p["reviews"][0]["qualified_until"] == until
    assert p["credit_score"] == start - 2
    ev = p["credit_events"]
    assert [(e["kind"], e["points"], e["note"], e["score_after"])
            for e in ev] == [("commendation", 3, "好评", start - 2),
                             ("late_shipment", -5, "延迟发货", start - 5)]
    assert ev[0]["level_after"] == p["credit_level"]
    # No operator is named to the vendor.
    assert "reviewed_by" not in p
    assert all("created_by" not in e for e in ev)
    assert all(set(r) == {"decision", "qualified_until", "reason",
                          "reviewed_at"} for r in p["reviews"])


def test_profile_never_shows_another_vendors_data():
    a = new_vendor()
    b = new_vendor(approve=False)
    review(b.id, "reject", reason="B 的驳回原因 " + uuid.uuid4().hex[:6])
    credit(a.id, -7, kind="a_only", note="A 的事件")
    pa = profile(a.token)
    pb = profile(b.token)
    assert pa["id"] == a.id and pb["id"] == b.id
    assert [e["kind"] for e in pa["credit_events"]] == ["a_only"]
    assert pb["credit_events"] == []
    assert [r["decision"] for r in pa["reviews"]] == ["approve"]
    assert [r["decision"] for r in pb["reviews"]] == ["reject"]
    assert pa["review_reason"] is None
    # Nothing of B's in A's answer, nor of A's in B's.
    assert pb["review_reason"] not in str(pa)
    assert "A 的事件" not in str(pb)
    assert b.body["credit_code"] not in str(pa)
    assert a.body["credit_code"] not in str(pb)


# ------------------------------------------------------- operators' history


def test_credit_events_newest_first_with_paging():
    v = new_vendor()
    for i, pts in enumerate((-1, -2, 4)):
        credit(v.id, pts, kind="k%d" % i, note="n%d" % i)
    b = ok(get("/admin/vendors/%d/credit-events" % v.id, token=admin()))
    assert b["total"] == 3 and b["page"] == 1
    assert [e["kind"] for e in b["items"]] == ["k2", "k1", "k0"]
    assert [e["points"] for e in b["items"]] == [4, -2, -1]
    assert b["items"][0]["score_after"] == val(
        "SELECT credit_score FROM vendors WHERE id = %d" % v.id)
    b = ok(get("/admin/vendors/%d/credit-events" % v.id, token=admin(),
               params={"page": 2, "per_page": 2}))
    assert [e["kind"] for e in b["items"]] == ["k0"]
    assert b["total"] == 3 and b["per_page"] == 2


def test_credit_events_of_a_vendor_without_any():
    v = new_vendor(approve=False)
    b = ok(get("/admin/vendors/%d/credit-events" % v.id, token=admin()))
    assert b["items"] == [] and b["total"] == 0


def test_credit_events_unknown_vendor_is_404():
    problem(get("/admin/vendors/999999999/credit-events", token=admin()),
            404, "not_found")


def test_credit_events_bad_paging_is_422():
    v = new_vendor(approve=False)
    problem(get("/admin/vendors/%d/credit-events" % v.id, token=admin(),
                params={"per_page": 1000}), 422, "validation_failed")


def test_history_routes_are_for_operators_only():
    v = new_vendor(approve=False)
    rid = ok(post("/admin/fee-rules", token=admin(), json={
        "name": "历史 " + uuid.uuid4().hex[:6], "commission_bps": 100,
        "valid_from": FUTURE}), 201)["id"]
    for path in ("/admin/vendors/%d/credit-events" % v.id,
                 "/admin/fee-rules/%d/history" % rid):
        problem(shop.call("GET", path), 401, "unauthenticated")
        for tok in (demo_token("citizen"), v.token):
            problem(shop.call("GET", path, token=tok), 403, "forbidden")


def test_fee_rule_history_every_version_newest_first():
    name = "历史规则 " + uuid.uuid4().hex[:6]
    r = ok(post("/admin/fee-rules", token=admin(), json={
        "name": name, "commission_bps": 300, "waiver_bps": 1000,
        "match": {"qualified": True}, "valid_from": FUTURE}), 201)
    ok(patch("/admin/fee-rules/%d" % r["id"], token=admin(),
             json={"commission_bps": 250}))
    ok(patch("/admin/fee-rules/%d" % r["id"], token=admin(),
             json={"name": name + " 改", "cap_fen_per_month": 5000}))
    h = ok(get("/admin/fee-rules/%d/history" % r["id"], token=admin()))
    items = h["items"]
    assert [(i["rule"]["name"], i["rule"]["commission_bps"],
             i["rule"]["cap_fen_per_month"]) for i in items] == [
        (name + " 改", 250, 5000), (name, 250, None), (name, 300, None)]
    assert all(i["rule"]["id"] == r["id"] for i in items)
    assert all(i["rule"]["match"] == {"qualified": True} for i in items)
    assert all(i["changed_by"] == {"id": admin_id(), "name": val(
        "SELECT name FROM users WHERE id = %d" % admin_id())} for i in items)
    assert items[0]["id"] > items[1]["id"] > items[2]["id"]
    # The latest version is the rule as the list shows it.
    listed = [x for x in ok(get("/admin/fee-rules", token=admin()))["items"]
              if x["id"] == r["id"]][0]
    assert items[0]["rule"] == listed


def test_fee_rule_history_unknown_rule_is_404():
    problem(get("/admin/fee-rules/999999999/history", token=admin()), 404,
            "not_found")
