"""The operators' catalog tools: credit events, 百县百品 designations, boost
rules and campaigns: their answers, validation and records.  What boosts
and campaigns do to the ranked answers is test_ranking_channel.py's.

Vendors and products are this run's own (see test_vendors.py).  Boost
rules made here match only this run's products and are ended in a finally
block; campaigns made here are deleted again (in SQL) when their test ends.
"""

import datetime
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

import test_vendors as tv  # noqa: E402
from shop import (  # noqa: E402
    UTC_TIME_RE, delete, error_fields, get, lit, ok, patch, post, problem,
    psql, rfc3339, row, rows, utc_now, val)
from test_vendors import (  # noqa: E402,F401
    _cleanup, admin, admin_id, campaigns, credit, eventually, invalidate,
    new_product, new_vendor)

FUTURE = "2099-01-01T00:00:00Z"
FUTURE_END = "2099-02-01T00:00:00Z"


def ago(**kw):
    return rfc3339(utc_now() - datetime.timedelta(**kw))


def parse_time(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def vendor():
    """An approved vendor of a poverty county with a listed product."""
    v = new_vendor()
    v.product = new_product(v)
    return v


# ------------------------------------------------------------ credit


def public_vendor(vid):
    return ok(get("/vendors/%d" % vid))


def test_credit_events_change_score_and_level_at_once(vendor):
    vid = vendor.id
    assert val("SELECT credit_score FROM vendors WHERE id = %d" % vid) == 100
    steps = [(-10, 90, "A", True), (-1, 89, "B", True), (-14, 75, "B", True),
             (-1, 74, "C", True), (-14, 60, "C", True), (-1, 59, "D", False),
             (-59, 0, "D", False), (100, 100, "A", True)]
    try:
        for points, score, level, qualified in steps:
            n = val("SELECT count(*) FROM credit_events WHERE vendor_id = %d"
                    % vid)
            b = credit(vid, points, kind="测试", note="第 %d 分" % points)
            assert b["id"] == vid
            assert b["credit_score"] == score, (points, b)
            assert b["credit_level"] == level, (points, b)
            assert b["qualified"] is qualified, (points, b)
            ev = rows("SELECT kind, points, note, score_after, created_by "
                      "FROM credit_events WHERE vendor_id = %d ORDER BY id"
                      % vid)
            assert len(ev) == n + 1
            assert ev[-1] == {"kind": "测试", "points": points,
                              "note": "第 %d 分" % points,
                              "score_after": score,
                              "created_by": admin_id()}

            def public():
                p = public_vendor(vid)
                assert (p["credit_score"], p["credit_level"],
                        p["qualified"]) == (score, level, qualified)
            eventually(public)
    finally:
        now = val("SELECT credit_score FROM vendors WHERE id = %d" % vid)
        if now != 100:
            credit(vid, 100 - now, kind="restore")
    assert val("SELECT credit_score FROM vendors WHERE id = %d" % vid) == 100


@pytest.mark.parametrize("body,fields", [
    ({"kind": "x", "points": 0}, {"points"}),
    ({"kind": "x", "points": 101}, {"points"}),
    ({"kind": "x", "points": -101}, {"points"}),
    ({"kind": "x", "points": "5"}, {"points"}),
    ({"kind": "x", "points": 1.5}, {"points"}),
    ({"kind": "x", "points": None}, {"points"}),
    ({"kind": "x"}, {"points"}),
    ({"points": 5}, {"kind"}),
    ({"kind": "", "points": 5}, {"kind"}),
    ({"kind": "k" * 41, "points": 5}, {"kind"}),
    ({"kind": "x", "points": 5, "note": "n" * 501}, {"note"}),
])
def test_bad_credit_event_is_422(vendor, body, fields):
    before = row("SELECT credit_score, (SELECT count(*) FROM credit_events "
                 "WHERE vendor_id = %d) AS n FROM vendors WHERE id = %d"
                 % (vendor.id, vendor.id))
    b = problem(post("/admin/vendors/%d/credit-events" % vendor.id,
                     token=admin(), json=body), 422, "validation_failed")
    assert error_fields(b) == fields
    assert row("SELECT credit_score, (SELECT count(*) FROM credit_events "
               "WHERE vendor_id = %d) AS n FROM vendors WHERE id = %d"
               % (vendor.id, vendor.id)) == before


def test_credit_event_extremes_are_accepted(vendor):
    """-100 and 100 are the bounds, both allowed."""
    try:
        assert credit(vendor.id, -100)["credit_score"] == 0
    finally:
        assert credit(vendor.id, 100)["credit_score"] == 100


def test_credit_event_of_unknown_vendor_is_404():
    missing = val("SELECT coalesce(max(id), 0) + 100000 FROM vendors")
    problem(post("/admin/vendors/%d/credit-events" % missing, token=admin(),
                 json={"kind": "x", "points": 5}), 404, "not_found")


# ------------------------------------------------------------ 百县百品


def designate(pid, expect=201):
    r = post("/admin/products/%d/bxbp" % pid, token=admin())
    return ok(r, expect) if expect else r


def revoke(pid, expect=200):
    r = delete("/admin/products/%d/bxbp" % pid, token=admin())
    return ok(r, expect) if expect else r


def live_designations(pid):
    return rows("SELECT county_id, designated_by, revoked_at FROM "
                "bxbp_designations WHERE product_id = %d AND revoked_at "
                "IS NULL" % pid)


def test_bxbp_designate_revoke_and_one_per_county():
    v = tv.new_vendor(county=tv.poverty_county(free_bxbp=True))
    p1 = new_product(v)
    p2 = new_product(v)
    try:
        b = designate(p1)
        assert b["product_id"] == p1 and b["bxbp"] is True
        assert b["county"] == v.county
        rec = live_designations(p1)
        assert len(rec) == 1 and rec[0]["designated_by"] == admin_id()

        def labelled():
            got = ok(get("/products/%d" % p1))
            assert got["bxbp"] is True and "bxbp" in got["labels"]
            lst = ok(get("/products", params={"label": "bxbp",
                                              "per_page": 100}))
            ids = {i["id"] for i in lst["items"]}
            assert p1 in ids and p2 not in ids
            assert all(i["bxbp"] and "bxbp" in i["labels"]
                       for i in lst["items"])
        eventually(labelled)

        # A second product of the same county: 409, nothing changes.
        # The words are the merchandising routes' own (app/routes.c).
        b = problem(designate(p2, expect=None), 409, "bxbp_taken")
        assert b["detail"] == "this county has its 百县百品 product already"
        assert live_designations(p2) == []
        assert ok(get("/products/%d" % p2))["bxbp"] is False
        # Designating the same product again keeps one designation.
        r = designate(p1, expect=None)
        assert r.status_code in (200, 201), r.text
        assert len(live_designations(p1)) == 1

        # Revoked: the label goes, and the county is free for another.
        b = revoke(p1)
        assert b["bxbp"] is False
        assert live_designations(p1) == []
        assert val("SELECT revoked_by FROM bxbp_designations WHERE "
                   "product_id = %d ORDER BY id DESC LIMIT 1"
                   % p1) == admin_id()

        def unlabelled():
            got = ok(get("/products/%d" % p1))
            assert got["bxbp"] is False and "bxbp" not in got["labels"]
            lst = ok(get("/products", params={"label": "bxbp",
                                              "per_page": 100}))
            assert p1 not in {i["id"] for i in lst["items"]}
        eventually(unlabelled)
        designate(p2)

        def second():
            assert ok(get("/products/%d" % p2))["bxbp"] is True
        eventually(second)
        problem(designate(p1, expect=None), 409, "bxbp_taken")
    finally:
        revoke(p1, expect=None)
        revoke(p2, expect=None)
    assert live_designations(p1) == [] and live_designations(p2) == []


def test_bxbp_outside_a_poverty_county_is_422():
    v = tv.new_vendor(county=tv.plain_county())
    pid = new_product(v)
    r = designate(pid, expect=None)
    b = problem(r, 422, "not_poverty_county")
    assert b["detail"] == "百县百品 are designated in poverty counties only"
    assert live_designations(pid) == []
    assert ok(get("/products/%d" % pid))["bxbp"] is False


def test_bxbp_of_unknown_product_is_404():
    missing = val("SELECT coalesce(max(id), 0) + 100000 FROM products")
    problem(designate(missing, expect=None), 404, "not_found")
    problem(revoke(missing, expect=None), 404, "not_found")


# ------------------------------------------------------------ boost rules

RULE_KEYS = {"id", "name", "weight", "pin_slots", "placements", "match",
             "valid_from", "valid_to", "active"}


def new_rule(**kw):
    body = {"name": "测试加权 " + uuid.uuid4().hex[:8], "weight": 50,
            "pin_slots": 2, "placements": ["search", "channel"],
            "match": {"product_ids": [0]}, "valid_from": FUTURE}
    body.update(kw)
    return body


def end_rule(rid):
    """Ends a rule (brief: valid_to in the past; valid_from before it)."""
    r = patch("/admin/boost-rules/%d" % rid, token=admin(),
              json={"valid_from": ago(minutes=2), "valid_to": ago(minutes=1)})
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False


def rule_history(rid):
    return rows("SELECT changed_by, snapshot FROM boost_rule_history "
                "WHERE rule_id = %d ORDER BY id" % rid)


def test_boost_rule_create_list_patch(vendor):
    body = new_rule(match={"product_ids": [vendor.product],
                           "vendor_id": vendor.id, "bxbp": False,
                           "qualified": True, "poverty_county": True,
                           "vendor_kind": "enterprise", "region": "yunnan",
                           "category": "tea"},
                    valid_to=FUTURE_END)
    b = ok(post("/admin/boost-rules", token=admin(), json=body), 201)
    rid = b["id"]
    try:
        assert set(b) >= RULE_KEYS
        for k in ("name", "weight", "pin_slots", "placements", "match"):
            assert b[k] == body[k], k
        assert parse_time(b["valid_from"]) == parse_time(FUTURE)
        assert parse_time(b["valid_to"]) == parse_time(FUTURE_END)
        assert UTC_TIME_RE.match(b["valid_from"]), b["valid_from"]
        assert b["active"] is False
        listed = {r["id"]: r for r in ok(get("/admin/boost-rules",
                                             token=admin()))["items"]}
        assert listed[rid] == b
        h = rule_history(rid)
        assert len(h) == 1 and h[0]["changed_by"] == admin_id()
        assert h[0]["snapshot"]["weight"] == 50

        b = ok(patch("/admin/boost-rules/%d" % rid, token=admin(),
                     json={"weight": -1000, "pin_slots": 0,
                           "placements": ["region_shop"],
                           "match": {"product_ids": [vendor.product]},
                           "valid_to": None}))
        assert b["weight"] == -1000 and b["pin_slots"] == 0
        assert b["placements"] == ["region_shop"]
        assert b["match"] == {"product_ids": [vendor.product]}
        assert b["valid_to"] is None and b["name"] == body["name"]
        b = ok(patch("/admin/boost-rules/%d" % rid, token=admin(),
                     json={"name": "改名", "weight": 1000, "pin_slots": 20}))
        assert (b["name"], b["weight"], b["pin_slots"]) == ("改名", 1000, 20)
        assert b["placements"] == ["region_shop"]
        h = rule_history(rid)
        assert len(h) == 3
        assert [x["snapshot"]["weight"] for x in h] == [50, -1000, 1000]
        listed = {r["id"]: r for r in ok(get("/admin/boost-rules",
                                             token=admin()))["items"]}
        assert listed[rid] == b
    finally:
        end_rule(rid)


def test_boost_rule_defaults():
    b = ok(post("/admin/boost-rules", token=admin(), json={
        "name": "默认 " + uuid.uuid4().hex[:6], "weight": 0,
        "placements": ["channel"]}), 201)
    try:
        assert b["pin_slots"] == 0 and b["match"] == {}
        assert b["valid_to"] is None and b["active"] is True
        assert abs((parse_time(b["valid_from"]) - utc_now())
                   .total_seconds()) < 60
    finally:
        end_rule(b["id"])


@pytest.mark.parametrize("change,field", [
    ({"weight": 1001}, "weight"),
    ({"weight": -1001}, "weight"),
    ({"weight": "5"}, "weight"),
    ({"weight": 2.5}, "weight"),
    ({"pin_slots": 21}, "pin_slots"),
    ({"pin_slots": -1}, "pin_slots"),
    ({"placements": []}, "placements"),
    ({"placements": ["home"]}, "placements"),
    ({"placements": ["search", "homepage"]}, "placements"),
    ({"placements": "search"}, "placements"),
    ({"match": {"colour": "red"}}, "match"),
    ({"match": {"vendor_id": "7"}}, "match"),
    ({"match": {"vendor_id": 0}}, "match"),
    ({"match": {"product_ids": ["a"]}}, "match"),
    ({"match": {"qualified": "yes"}}, "match"),
    ({"match": {"vendor_kind": "charity"}}, "match"),
    ({"match": ["search"]}, "match"),
    ({"name": ""}, "name"),
    ({"name": "n" * 101}, "name"),
    ({"valid_from": 12}, "valid_from"),
    ({"valid_to": 12}, "valid_to"),
    ({"priority": 1}, "priority"),
])
def test_bad_boost_rule_is_422(change, field):
    n = val("SELECT count(*) FROM boost_rules")
    b = problem(post("/admin/boost-rules", token=admin(),
                     json=new_rule(**change)), 422, "validation_failed")
    assert field in error_fields(b), b
    assert val("SELECT count(*) FROM boost_rules") == n


@pytest.mark.parametrize("change", [
    {"valid_from": "someday"},
    {"valid_to": "2099-13-01T00:00:00Z"},
    {"valid_from": FUTURE, "valid_to": "2098-01-01T00:00:00Z"},
    {"valid_from": FUTURE, "valid_to": FUTURE},
])
def test_bad_boost_rule_period_is_422(change):
    n = val("SELECT count(*) FROM boost_rules")
    problem(post("/admin/boost-rules", token=admin(),
                 json=new_rule(**change)), 422, "validation_failed")
    assert val("SELECT count(*) FROM boost_rules") == n


def test_boost_rule_required_fields():
    b = problem(post("/admin/boost-rules", token=admin(), json={}), 422,
                "validation_failed")
    assert error_fields(b) >= {"name", "weight", "placements"}


def test_bad_boost_rule_patch_changes_nothing():
    b = ok(post("/admin/boost-rules", token=admin(), json=new_rule()), 201)
    rid = b["id"]
    try:
        for change in ({"weight": 5000}, {"placements": ["home"]},
                       {"match": {"colour": "red"}}, {},
                       {"valid_to": "2098-01-01T00:00:00Z"},
                       {"pin_slots": 99}):
            problem(patch("/admin/boost-rules/%d" % rid, token=admin(),
                          json=change), 422, "validation_failed")
        listed = {r["id"]: r for r in ok(get("/admin/boost-rules",
                                             token=admin()))["items"]}
        assert listed[rid] == b
        assert len(rule_history(rid)) == 1
    finally:
        end_rule(rid)


def test_patch_unknown_boost_rule_is_404():
    missing = val("SELECT coalesce(max(id), 0) + 100000 FROM boost_rules")
    problem(patch("/admin/boost-rules/%d" % missing, token=admin(),
                  json={"weight": 1}), 404, "not_found")


# ------------------------------------------------------------ campaigns

CAMPAIGN_KEYS = {"slug", "title", "theme", "starts_at", "ends_at",
                 "boost_weight", "match", "products"}


def slug():
    return "t-" + uuid.uuid4().hex[:12]


def new_campaign(**kw):
    body = {"slug": slug(), "title": "测试活动", "theme": "云品进社区",
            "starts_at": FUTURE, "ends_at": FUTURE_END, "boost_weight": 0}
    body.update(kw)
    return body


def test_campaign_create_patch_list(vendor, campaigns):
    body = new_campaign(product_ids=[vendor.product], boost_weight=15,
                        match={"region": "yunnan"})
    campaigns.append(body["slug"])
    b = ok(post("/admin/campaigns", token=admin(), json=body), 201)
    assert set(b) >= CAMPAIGN_KEYS
    for k in ("slug", "title", "theme", "boost_weight", "match"):
        assert b[k] == body[k], k
    assert parse_time(b["starts_at"]) == parse_time(FUTURE)
    assert parse_time(b["ends_at"]) == parse_time(FUTURE_END)
    assert b["active"] is False
    assert vendor.product in [p["id"] for p in b["products"]]

    def admin_item():
        items = ok(get("/admin/campaigns", token=admin()))["items"]
        mine = [i for i in items if i["slug"] == body["slug"]]
        assert len(mine) == 1
        return mine[0]
    item = admin_item()
    assert isinstance(item["id"], int)
    assert item["product_ids"] == [vendor.product]
    assert item["title"] == "测试活动" and item["boost_weight"] == 15

    other = new_product(vendor)
    b = ok(patch("/admin/campaigns/%s" % body["slug"], token=admin(),
                 json={"title": "改过的活动", "theme": "国家扶贫日",
                       "ends_at": "2099-03-01T00:00:00Z",
                       "product_ids": [other], "boost_weight": -5}))
    assert b["slug"] == body["slug"] and b["title"] == "改过的活动"
    assert b["theme"] == "国家扶贫日" and b["boost_weight"] == -5
    assert parse_time(b["ends_at"]) == parse_time("2099-03-01T00:00:00Z")
    assert parse_time(b["starts_at"]) == parse_time(FUTURE)
    item = admin_item()
    assert item["product_ids"] == [other] and item["title"] == "改过的活动"

    def public():
        lst = ok(get("/campaigns"))["items"]
        mine = [c for c in lst if c["slug"] == body["slug"]]
        assert len(mine) == 1 and mine[0]["title"] == "改过的活动"
        one = ok(get("/campaigns/" + body["slug"]))
        assert one["theme"] == "国家扶贫日"
        assert other in [p["id"] for p in one["products"]]
    eventually(public)


@pytest.mark.parametrize("bad", [
    "Mid-Autumn", "-lead", "a_b", "a b", "中秋", "", "a" * 65, "x/y",
    "a.b", None, 7])
def test_bad_campaign_slug_is_422(bad):
    n = val("SELECT count(*) FROM campaigns")
    b = problem(post("/admin/campaigns", token=admin(),
                     json=new_campaign(slug=bad)), 422, "validation_failed")
    assert "slug" in error_fields(b)
    assert val("SELECT count(*) FROM campaigns") == n


@pytest.mark.parametrize("good", ["a{}", "2027{}", "z" * 58 + "{}",
                                  "mid-autumn-{}-", "{}"])
def test_good_campaign_slugs(good, campaigns):
    s = good.format(uuid.uuid4().hex[:6])
    assert len(s) <= 64
    campaigns.append(s)
    b = ok(post("/admin/campaigns", token=admin(),
                json=new_campaign(slug=s)), 201)
    assert b["slug"] == s


@pytest.mark.parametrize("change", [
    {"starts_at": FUTURE_END, "ends_at": FUTURE},
    {"starts_at": FUTURE, "ends_at": FUTURE},
    {"starts_at": "next monday"},
    {"ends_at": "2099-02-30T00:00:00Z"},
    {"starts_at": 20990101},
    {"ends_at": None},
])
def test_bad_campaign_dates_are_422(change):
    n = val("SELECT count(*) FROM campaigns")
    problem(post("/admin/campaigns", token=admin(),
                 json=new_campaign(**change)), 422, "validation_failed")
    assert val("SELECT count(*) FROM campaigns") == n


@pytest.mark.parametrize("change,field", [
    ({"title": ""}, "title"),
    ({"title": None}, "title"),
    ({"boost_weight": 1001}, "boost_weight"),
    ({"product_ids": [0]}, "product_ids"),
    ({"product_ids": "1"}, "product_ids"),
    ({"match": {"colour": "red"}}, "match"),
    ({"colour": "red"}, "colour"),
])
def test_bad_campaign_fields_are_422(change, field):
    b = problem(post("/admin/campaigns", token=admin(),
                     json=new_campaign(**change)), 422, "validation_failed")
    assert field in error_fields(b)


def test_required_campaign_fields():
    b = problem(post("/admin/campaigns", token=admin(), json={}), 422,
                "validation_failed")
    assert error_fields(b) >= {"slug", "title", "starts_at", "ends_at"}


def test_campaign_of_unknown_product_is_422():
    missing = val("SELECT coalesce(max(id), 0) + 100000 FROM products")
    body = new_campaign(product_ids=[missing])
    problem(post("/admin/campaigns", token=admin(), json=body), 422,
            "validation_failed")
    assert val("SELECT count(*) FROM campaigns WHERE slug = %s"
               % lit(body["slug"])) == 0


def test_duplicate_campaign_slug_is_409(campaigns):
    body = new_campaign()
    campaigns.append(body["slug"])
    ok(post("/admin/campaigns", token=admin(), json=body), 201)
    b = problem(post("/admin/campaigns", token=admin(),
                     json=new_campaign(slug=body["slug"], title="另一个")),
                409, "slug_taken")
    assert b["detail"] == "a campaign with this slug exists"
    assert val("SELECT title FROM campaigns WHERE slug = %s"
               % lit(body["slug"])) == "测试活动"


def test_bad_campaign_patch(campaigns):
    body = new_campaign()
    campaigns.append(body["slug"])
    ok(post("/admin/campaigns", token=admin(), json=body), 201)
    url = "/admin/campaigns/" + body["slug"]
    b = problem(patch(url, token=admin(), json={"slug": "renamed"}), 422,
                "validation_failed")
    assert "slug" in error_fields(b)
    problem(patch(url, token=admin(), json={}), 422, "validation_failed")
    # Ending before it starts.
    problem(patch(url, token=admin(),
                  json={"ends_at": "2098-01-01T00:00:00Z"}), 422,
            "validation_failed")
    problem(patch(url, token=admin(), json={"starts_at": "2099-03-01"}),
            422, "validation_failed")
    got = row("SELECT title, starts_at, ends_at FROM campaigns "
              "WHERE slug = %s" % lit(body["slug"]))
    assert parse_time(got["starts_at"]) == parse_time(FUTURE)
    assert parse_time(got["ends_at"]) == parse_time(FUTURE_END)
    problem(patch("/admin/campaigns/no-such-" + uuid.uuid4().hex[:8],
                  token=admin(), json={"title": "x"}), 404, "not_found")
