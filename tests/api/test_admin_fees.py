"""The operators' fee rules: list, create, update with history, validation,
roles, and a new rule taking effect at the next checkout.

Rules made here start in 2099 (so they never apply) unless a test needs one
to apply, and that test ends it again in a finally block."""

import datetime
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

from shop import (  # noqa: E402,F401
    UTC_TIME_RE, bps, buy, demo_token, error_fields, get, make_user,
    make_users, ok, patch, post, problem, rfc3339, row, rows, shop_products,
    utc_now, val)

FUTURE = "2099-01-01T00:00:00Z"
RULE_FIELDS = ("id", "name", "commission_bps", "waiver_bps", "match",
               "cap_fen_per_month", "valid_from", "valid_to", "priority")


def admin():
    return demo_token("admin")


def new_rule(**kw):
    body = {"name": "测试规则 " + uuid.uuid4().hex[:8], "commission_bps": 300,
            "waiver_bps": 1000, "match": {"vendor_kind": "individual"},
            "cap_fen_per_month": None, "valid_from": FUTURE, "priority": 5}
    body.update(kw)
    return body


def history(rule_id):
    return rows("SELECT changed_by, snapshot FROM fee_rule_history "
                "WHERE rule_id = %d ORDER BY id" % rule_id)


def same_time(a, b):
    pa = datetime.datetime.fromisoformat(a.replace("Z", "+00:00"))
    pb = datetime.datetime.fromisoformat(b.replace("Z", "+00:00"))
    return pa == pb


def admin_id():
    return val("SELECT id FROM users WHERE email = 'admin@demo.bangfu.cn'")


# ------------------------------------------------------------ who


def test_list_is_for_operators_only():
    citizen = make_user()
    problem(get("/admin/fee-rules", token=citizen.token), 403, "forbidden")
    problem(get("/admin/fee-rules", token=demo_token("vendor")), 403,
            "forbidden")
    problem(get("/admin/fee-rules"), 401, "unauthenticated")
    problem(get("/admin/fee-rules", headers={"Authorization": "Bearer x"}),
            401, "unauthenticated")


def test_writes_are_for_operators_only():
    citizen = make_user()
    rid = val("SELECT min(id) FROM fee_rules")
    n = val("SELECT count(*) FROM fee_rules")
    for tok in (citizen.token, demo_token("vendor")):
        problem(post("/admin/fee-rules", token=tok, json=new_rule()), 403,
                "forbidden")
        problem(patch("/admin/fee-rules/%d" % rid, token=tok,
                      json={"priority": 99}), 403, "forbidden")
    problem(post("/admin/fee-rules", json=new_rule()), 401,
            "unauthenticated")
    problem(patch("/admin/fee-rules/%d" % rid, json={"priority": 99}), 401,
            "unauthenticated")
    assert val("SELECT count(*) FROM fee_rules") == n
    assert val("SELECT priority FROM fee_rules WHERE id = %d" % rid) != 99


def test_list_shows_every_rule():
    body = ok(get("/admin/fee-rules", token=admin()))
    items = body["items"]
    assert {r["id"] for r in items} == {
        r["id"] for r in rows("SELECT id FROM fee_rules")}
    for r in items:
        for k in RULE_FIELDS:
            assert k in r, (k, r)
        assert UTC_TIME_RE.match(r["valid_from"]), r
    names = {r["name"]: r for r in items}
    base = names["平台佣金 5%"]
    assert base["commission_bps"] == 500 and base["waiver_bps"] == 0
    coop = names["合作社 佣金减半 每月封顶¥2,000"]
    assert coop["waiver_bps"] == 5000
    assert coop["cap_fen_per_month"] == 200000
    assert coop["match"] == {"vendor_kind": "cooperative"}
    poor = names["贫困县合格商家 佣金全免"]
    assert poor["waiver_bps"] == 10000
    assert poor["match"] == {"qualified": True, "poverty_county": True}
    # Highest priority first.
    prios = [r["priority"] for r in items]
    assert prios == sorted(prios, reverse=True)


# ------------------------------------------------------------ create, update


def test_create_answers_201_and_keeps_history():
    body = new_rule(match={"vendor_kind": "cooperative", "region": "zunyi",
                           "qualified": True, "poverty_county": False,
                           "category": "tea"},
                    cap_fen_per_month=50000,
                    valid_to="2099-12-31T00:00:00Z")
    r = ok(post("/admin/fee-rules", token=admin(), json=body), 201)
    assert isinstance(r["id"], int)
    for k in ("name", "commission_bps", "waiver_bps", "match",
              "cap_fen_per_month", "priority"):
        assert r[k] == body[k], (k, r)
    assert same_time(r["valid_from"], body["valid_from"])
    assert same_time(r["valid_to"], body["valid_to"])
    assert UTC_TIME_RE.match(r["valid_from"]), r

    listed = {x["id"]: x for x in ok(get("/admin/fee-rules",
                                         token=admin()))["items"]}
    assert listed[r["id"]]["name"] == body["name"]
    h = history(r["id"])
    assert len(h) == 1
    assert h[0]["changed_by"] == admin_id()
    assert h[0]["snapshot"]["name"] == body["name"]


def test_create_with_defaults():
    r = ok(post("/admin/fee-rules", token=admin(),
                json={"name": "测试默认 " + uuid.uuid4().hex[:8],
                      "commission_bps": 100, "valid_from": FUTURE}), 201)
    assert r["waiver_bps"] == 0 and r["match"] == {}
    assert r["cap_fen_per_month"] is None and r["valid_to"] is None
    assert r["priority"] == 0


def test_patch_updates_and_keeps_the_old_version():
    created = ok(post("/admin/fee-rules", token=admin(), json=new_rule()),
                 201)
    rid = created["id"]
    new_name = "测试改名 " + uuid.uuid4().hex[:8]
    r = ok(patch("/admin/fee-rules/%d" % rid, token=admin(),
                 json={"name": new_name, "priority": 7,
                       "waiver_bps": 2000}))
    assert r["id"] == rid
    assert r["name"] == new_name and r["priority"] == 7
    assert r["waiver_bps"] == 2000
    # What was not sent stays.
    assert r["commission_bps"] == created["commission_bps"]
    assert r["match"] == created["match"]
    assert same_time(r["valid_from"], created["valid_from"])

    db = row("SELECT name, priority, waiver_bps FROM fee_rules "
             "WHERE id = %d" % rid)
    assert db == {"name": new_name, "priority": 7, "waiver_bps": 2000}
    h = history(rid)
    assert len(h) == 2
    assert h[0]["snapshot"]["name"] == created["name"]
    assert h[0]["snapshot"]["priority"] == created["priority"]
    assert h[1]["snapshot"]["name"] == new_name
    assert h[1]["snapshot"]["priority"] == 7
    assert all(x["changed_by"] == admin_id() for x in h)

    # A second change, a third version.
    ok(patch("/admin/fee-rules/%d" % rid, token=admin(),
             json={"match": {"region": "golog"}}))
    h = history(rid)
    assert len(h) == 3 and h[2]["snapshot"]["match"] == {"region": "golog"}


def test_patch_unknown_rule_is_404():
    missing = val("SELECT coalesce(max(id), 0) + 100000 FROM fee_rules")
    problem(patch("/admin/fee-rules/%d" % missing, token=admin(),
                  json={"priority": 1}), 404, "not_found")
    assert val("SELECT count(*) FROM fee_rule_history WHERE rule_id = %d"
               % missing) == 0


def test_patch_with_nothing_is_422():
    rid = ok(post("/admin/fee-rules", token=admin(), json=new_rule()),
             201)["id"]
    problem(patch("/admin/fee-rules/%d" % rid, token=admin(), json={}), 422,
            "validation_failed")
    assert len(history(rid)) == 1


@pytest.mark.parametrize("change, field", [
    ({"commission_bps": 10001}, "commission_bps"),
    ({"commission_bps": -1}, "commission_bps"),
    ({"waiver_bps": 10001}, "waiver_bps"),
    ({"match": {"vendor_id": 3}}, "match"),
    ({"valid_to": "2098-01-01T00:00:00Z"}, None),
])
def test_bad_patch_is_422_and_changes_nothing(change, field):
    created = ok(post("/admin/fee-rules", token=admin(), json=new_rule()),
                 201)
    rid = created["id"]
    body = problem(patch("/admin/fee-rules/%d" % rid, token=admin(),
                         json=change), 422, "validation_failed")
    if field is not None:
        assert field in error_fields(body)
    after = ok(get("/admin/fee-rules", token=admin()))["items"]
    assert [x for x in after if x["id"] == rid][0] == created
    assert len(history(rid)) == 1


@pytest.mark.parametrize("change, field", [
    ({"commission_bps": 10001}, "commission_bps"),
    ({"commission_bps": -1}, "commission_bps"),
    ({"commission_bps": "5"}, "commission_bps"),
    ({"commission_bps": 5.5}, "commission_bps"),
    ({"commission_bps": None}, "commission_bps"),
    ({"waiver_bps": 10001}, "waiver_bps"),
    ({"waiver_bps": -1}, "waiver_bps"),
    ({"waiver_bps": "5000"}, "waiver_bps"),
    ({"match": {"vendor_id": 3}}, "match"),
    ({"match": {"colour": "red"}}, "match"),
    ({"match": {"vendor_kind": "farm"}}, "match"),
    ({"match": {"qualified": "yes"}}, "match"),
    ({"match": "cooperative"}, "match"),
    ({"name": ""}, "name"),
    ({"name": "名" * 101}, "name"),
    ({"priority": "high"}, "priority"),
    ({"cap_fen_per_month": -1}, "cap_fen_per_month"),
    ({"valid_from": 20990101}, "valid_from"),
    ({"colour": "red"}, "colour"),
])
def test_bad_rule_is_422(change, field):
    body = new_rule(**change)
    r = post("/admin/fee-rules", token=admin(), json=body)
    assert field in error_fields(problem(r, 422, "validation_failed"))
    if isinstance(body.get("name"), str):
        assert val("SELECT count(*) FROM fee_rules WHERE name = '%s'"
                   % body["name"].replace("'", "''")) == 0


@pytest.mark.parametrize("missing", ["name", "commission_bps"])
def test_create_without_a_required_field_is_422(missing):
    body = new_rule()
    del body[missing]
    r = post("/admin/fee-rules", token=admin(), json=body)
    assert missing in error_fields(problem(r, 422, "validation_failed"))


@pytest.mark.parametrize("times", [
    {"valid_from": "2099-06-01T00:00:00Z", "valid_to": "2099-01-01T00:00:00Z"},
    {"valid_from": "2099-06-01T00:00:00Z", "valid_to": "2099-06-01T00:00:00Z"},
    {"valid_from": "not a time"},
])
def test_bad_period_is_422(times):
    body = new_rule(**times)
    problem(post("/admin/fee-rules", token=admin(), json=body), 422,
            "validation_failed")
    assert val("SELECT count(*) FROM fee_rules WHERE name = '%s'"
               % body["name"]) == 0


@pytest.mark.parametrize("times, field", [
    ({"valid_from": "2099-06-01T00:00:00Z",
      "valid_to": "2099-01-01T00:00:00Z"}, "valid_to"),
    ({"valid_from": "not a time"}, "valid_from"),
])
def test_bad_period_names_the_field(times, field):
    body = new_rule(**times)
    r = problem(post("/admin/fee-rules", token=admin(), json=body), 422,
                "validation_failed")
    assert field in error_fields(r)


# ------------------------------------------------------------ effect


def test_a_new_rule_prices_the_next_checkout(shop_products):
    # A product whose region and vendor kind sell another category too.
    pid = shop_products.one(
        where="(SELECT count(DISTINCT q.category_code) FROM product_facts q "
        "WHERE q.region_code = p.region_code AND q.vendor_kind = "
        "p.vendor_kind AND q.status = 'listed') >= 2", stock=20)
    f = row("SELECT region_code, category_code, vendor_kind, vendor_id "
            "FROM product_facts WHERE id = %d" % pid)
    # Another product of the same vendor kind and region, another category.
    other = shop_products.one(
        where="p.region_code = '%s' AND p.vendor_kind = '%s' AND "
        "p.category_code <> '%s'" % (f["region_code"], f["vendor_kind"],
                                     f["category_code"]), stock=20)
    before_buyer, during_buyer, after_buyer = make_users(3)

    def line_of(order, product):
        return [it for p in order["parts"] for it in p["items"]
                if it["product_id"] == product][0]

    before = buy(before_buyer, [(pid, 1), (other, 1)])
    old_rule = line_of(before, pid)["fee_rule_id"]
    other_rule = line_of(before, other)["fee_rule_id"]

    start = utc_now() - datetime.timedelta(hours=1)
    body = {"name": "测试临时费率 " + uuid.uuid4().hex[:8],
            "commission_bps": 1000, "waiver_bps": 2500,
            "match": {"region": f["region_code"],
                      "category": f["category_code"],
                      "vendor_kind": f["vendor_kind"]},
            "valid_from": rfc3339(start), "priority": 1000}
    rule = ok(post("/admin/fee-rules", token=admin(), json=body), 201)
    try:
        during = buy(during_buyer, [(pid, 1), (other, 1)])
        it = line_of(during, pid)
        assert it["fee_rule_id"] == rule["id"], it
        assert it["fee_fen"] == bps(it["line_total_fen"], 1000)
        assert it["fee_waived_fen"] == bps(it["fee_fen"], 2500)
        # A line the rule does not match keeps its rule.
        assert line_of(during, other)["fee_rule_id"] == other_rule
        # The order already placed keeps the fee it was placed with.
        placed = ok(get("/orders/%d" % before["id"],
                        token=before_buyer.token))
        assert line_of(placed, pid) == line_of(before, pid)
    finally:
        end = ok(patch("/admin/fee-rules/%d" % rule["id"], token=admin(),
                       json={"valid_to": rfc3339(
                           utc_now() - datetime.timedelta(seconds=1))}))
        assert end["valid_to"] is not None
    after = buy(after_buyer, [(pid, 1)])
    assert line_of(after, pid)["fee_rule_id"] == old_rule
    assert len(history(rule["id"])) == 2
