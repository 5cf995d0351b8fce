"""What the operators' rules do to the ranked answers: /products with
sort=relevance (placement search), the region shops' featured products
(region_shop) and the 扶贫频道 (channel); what losing qualified status
takes away (channel, featured, boosts, the poverty-county fee waiver);
live campaigns; and that the ranking is deterministic and puts title
matches before description matches.

The products are this run's own (see test_vendors.py); queries use words
no other product has.  Boost rules match only those products and are ended
in a finally block; credit drops are undone by a compensating event;
campaigns are deleted again when their test ends.
"""

import datetime
import json
import os
import random
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

import shop  # noqa: E402
from shop import (  # noqa: E402
    buy, delete, get, make_user, ok, patch, post, psql, rfc3339, utc_now,
    val, worker_of)
from test_vendors import (  # noqa: E402,F401
    _cleanup, admin, campaigns, credit, eventually, invalidate, new_product,
    new_vendor, poverty_county, set_sales)

_rng = random.SystemRandom()


def word():
    """A query word no other product has: rare characters, at random."""
    return "".join(_rng.choice("甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥")
                   for _ in range(6))


def ago(**kw):
    return rfc3339(utc_now() - datetime.timedelta(**kw))


def ahead(**kw):
    return rfc3339(utc_now() + datetime.timedelta(**kw))


def new_rule(pids, placements, pin_slots=0, weight=0, **kw):
    body = {"name": "测试排序 " + uuid.uuid4().hex[:8], "weight": weight,
            "pin_slots": pin_slots, "placements": placements,
            "match": {"product_ids": list(pids)},
            "valid_from": ago(minutes=1)}
    body.update(kw)
    return ok(post("/admin/boost-rules", token=admin(), json=body), 201)["id"]


def patch_rule(rid, **change):
    return ok(patch("/admin/boost-rules/%d" % rid, token=admin(),
                    json=change))


def end_rule(rid):
    r = patch("/admin/boost-rules/%d" % rid, token=admin(),
              json={"valid_from": ago(minutes=3), "valid_to": ago(minutes=2)})
    assert r.status_code == 200, r.text


def search_answer(q=None, session=None, **params):
    """The search's answer, asked for as search() asks (one cache key)."""
    params.setdefault("per_page", 100)
    params.setdefault("sort", "relevance")
    if q is not None:
        params["q"] = q
    return get("/products", params=params, session=session)


def search(q=None, **params):
    return [i["id"] for i in ok(search_answer(q, **params))["items"]]


def expect_search(want, q=None, **params):
    def check():
        assert search(q, **params) == want
    eventually(check)


def moved_in_sql(pid):
    """The control of a check that nothing changed: pid's price moved by a
    fen in SQL only, before the write the check is about.  No cache hears
    of it: a worker shows it once that write has emptied its cache."""
    psql("UPDATE products SET price_fen = price_fen + 1 WHERE id = %d" % pid)
    return {pid: val("SELECT price_fen FROM products WHERE id = %d" % pid)}


def unchanged(want, q, control):
    """For a check that nothing changed after a write: once every worker
    has handled it, each worker's answer (told by x-request-id) is want,
    and shows the control (see moved_in_sql), which proves that answer was
    made after the write, so that a change would show."""
    shop.all_heard()
    sessions = shop.worker_sessions()
    try:
        for w, s in sessions.items():
            r = search_answer(q, session=s)
            assert worker_of(r) == w
            items = ok(r)["items"]
            prices = {i["id"]: i["price_fen"] for i in items}
            for pid, price in control.items():
                assert prices.get(pid) == price, ("the control", pid, price,
                                                  prices, w)
            assert [i["id"] for i in items] == want, w
    finally:
        for s in sessions.values():
            s.close()


def channel_ids(body):
    """Products of the channel by where they appear."""
    out = {}
    for s in body["sections"]:
        out["section:" + s["key"]] = [i["id"] for i in s["items"]]
    for c in body["campaigns"]:
        out["campaign:" + c["slug"]] = [p["id"] for p in c["products"]]
    return out


def featured(region):
    return [p["id"] for p in
            ok(get("/regions/%s/shop" % region))["featured"]]


def fee_line(user, pid):
    o = buy(user, [(pid, 1)])
    lines = [(o["id"], i) for p in o["parts"] for i in p["items"]
             if i["product_id"] == pid]
    assert len(lines) == 1, o
    return lines[0]


# ------------------------------------------------------------ search


def test_title_matches_come_before_description_matches():
    v = new_vendor()
    w = word()
    in_desc = new_product(v, title="描述匹配 " + uuid.uuid4().hex[:6],
                          description="详情里有 " + w)
    in_title = new_product(v, title="标题 " + w, description="无")
    both = new_product(v, title="两处 " + w, description="也有 " + w)
    # Sales cannot lift a description match above a title match.
    set_sales({in_desc: 10 ** 9, in_title: 0, both: 3})
    expect_search([both, in_title, in_desc], w)
    # Part of the word matches the same way.
    expect_search([both, in_title, in_desc], w[1:4])
    # A boost inside the clamp does not either (text: 10^7 a level).
    control = moved_in_sql(in_title)
    rid = new_rule([in_desc], ["search"], weight=1000)
    try:
        unchanged([both, in_title, in_desc], w, control)
    finally:
        end_rule(rid)


def test_ascii_query_is_case_insensitive_title_first():
    v = new_vendor()
    w = "qz" + uuid.uuid4().hex[:8]
    in_desc = new_product(v, title="描述 " + uuid.uuid4().hex[:6],
                          description="has " + w.upper())
    in_title = new_product(v, title="Title " + w.upper())
    set_sales({in_desc: 5000, in_title: 0})
    expect_search([in_title, in_desc], w)
    expect_search([in_title, in_desc], w.upper())


def test_pins_apply_only_to_their_placements():
    v = new_vendor(county=poverty_county())
    w = word()
    top = new_product(v, title="标题 " + w)
    low = new_product(v, title="描述 " + uuid.uuid4().hex[:6],
                      description="详情 " + w)
    set_sales({top: 100, low: 0})
    expect_search([top, low], w)
    region = ok(get("/products/%d" % low))["region"]["code"]
    rid = new_rule([low], ["channel", "region_shop"], pin_slots=1)
    future = None
    try:
        # Pinned in the channel and the region shop...
        def elsewhere():
            ch = channel_ids(ok(get("/channel")))
            assert ch["section:seasonal"][0] == low, ch["section:seasonal"]
            assert ch["section:region:" + region][0] == low
            assert featured(region)[0] == low
        eventually(elsewhere)
        # ... but not in search.
        assert search(w) == [top, low]
        # With search among its placements: slot 0 of search.
        patch_rule(rid, placements=["search"])
        expect_search([low, top], w)
        # Also without a query, over the whole catalog, and on page 1 only.
        assert search(None, per_page=1) == [low]
        assert low not in search(None, page=2, per_page=50)
        # The other sorts ignore pins (equal prices: by id).
        assert search(w, sort="price_asc") == [top, low]
        # Pinning takes no text match: a pin of 0 slots is only a weight.
        patch_rule(rid, pin_slots=0, weight=1000)
        expect_search([top, low], w)
        patch_rule(rid, pin_slots=1, weight=0)
        expect_search([low, top], w)
        # A rule that has not started yet does nothing.
        control = moved_in_sql(top)
        future = new_rule([top], ["search"], pin_slots=1,
                          valid_from="2099-01-01T00:00:00Z")
        unchanged([low, top], w, control)
        # An ended rule has no effect.
        end_rule(rid)
        expect_search([top, low], w)
    finally:
        end_rule(rid)
        if future is not None:
            end_rule(future)


def test_pin_slots_hold_the_best_pinned_products():
    """A 2-slot rule over three products: its best two take slots 0 and 1
    in their order, the third stays where its score puts it."""
    v = new_vendor()
    w = word()
    best = new_product(v, title="最好 " + w)
    p1 = new_product(v, title="一 " + w)
    p2 = new_product(v, title="二 " + w)
    p3 = new_product(v, title="三 " + w)
    set_sales({best: 1000, p1: 100, p2: 10, p3: 0})
    expect_search([best, p1, p2, p3], w)
    rid = new_rule([p3, p2, best], ["search"], pin_slots=2)
    try:
        # best and p2 are the best pinned; p3 has no slot left.
        expect_search([best, p2, p1, p3], w)
        patch_rule(rid, match={"product_ids": [p3, p2]})
        expect_search([p2, p3, best, p1], w)
        # A 1-slot rule beside it: p1, better than both 2-slot products,
        # takes slot 0; slot 1 is the best 2-slot one's; p3 has none.
        r1 = new_rule([p1], ["search"], pin_slots=1)
        try:
            expect_search([p1, p2, best, p3], w)
        finally:
            end_rule(r1)
    finally:
        end_rule(rid)
    expect_search([best, p1, p2, p3], w)


def two_by_sales():
    """A new vendor, a new word, and two products (a, then b) that only
    sales order in a search for it."""
    v = new_vendor()
    w = word()
    a = new_product(v, title="甲 " + w)
    b = new_product(v, title="乙 " + w)
    set_sales({a: 1000, b: 0})
    expect_search([a, b], w)
    return v, w, a, b


def test_weights_order_products_of_one_text_level():
    _, w, a, b = two_by_sales()
    rid = new_rule([b], ["search"], weight=10)
    try:
        expect_search([b, a], w)
        patch_rule(rid, weight=-10, match={"product_ids": [a]})
        expect_search([b, a], w)
        # Only in its placements.
        patch_rule(rid, placements=["channel"], weight=1000,
                   match={"product_ids": [b]})
        expect_search([a, b], w)
    finally:
        end_rule(rid)


def test_boosts_never_apply_to_an_unqualified_vendors_product():
    # One county: the live campaigns of the demo boost by region.
    county = poverty_county()
    good = new_vendor(county=county)
    bad = new_vendor(county=county)
    w = word()
    g = new_product(good, title="合格 " + w)
    b = new_product(bad, title="待查 " + w)
    set_sales({g: 1000, b: 0})
    expect_search([g, b], w)
    rid = new_rule([b], ["search", "channel", "region_shop"], weight=1000,
                   pin_slots=1)
    r2 = new_rule([b], ["search"], weight=1000,
                  match={"vendor_id": bad.id})
    dropped = False
    try:
        expect_search([b, g], w)
        credit(bad.id, -50, kind="抽检不合格")
        dropped = True
        # Unqualified: still listed in search, without pin or weight.
        expect_search([g, b], w)
        ch = channel_ids(ok(get("/channel")))
        assert all(b not in ids for ids in ch.values())
    finally:
        if dropped:
            credit(bad.id, 50, kind="restore")
        end_rule(rid)
        end_rule(r2)


def test_campaign_boost_applies_to_qualified_products_only(campaigns):
    v, w, a, b = two_by_sales()
    s = "t-boost-" + uuid.uuid4().hex[:8]
    campaigns.append(s)
    ok(post("/admin/campaigns", token=admin(), json={
        "slug": s, "title": "测试加权活动", "theme": "测试",
        "starts_at": ago(hours=1), "ends_at": ahead(hours=1),
        "product_ids": [b], "boost_weight": 10}), 201)
    expect_search([b, a], w)
    credit(v.id, -50)
    try:
        expect_search([a, b], w)
    finally:
        credit(v.id, 50, kind="restore")
    expect_search([b, a], w)
    # Ended: no boost.
    ok(patch("/admin/campaigns/" + s, token=admin(),
             json={"starts_at": ago(hours=2), "ends_at": ago(hours=1)}))
    expect_search([a, b], w)


# ------------------------------------------------------------ qualified


def test_credit_drop_takes_away_everything_qualified_gives():
    v = new_vendor(county=poverty_county(free_bxbp=True), kind="enterprise")
    pid = new_product(v, price_fen=10000, stock=1000)
    region = ok(get("/products/%d" % pid))["region"]["code"]
    rid = new_rule([pid], ["channel", "region_shop", "search"], pin_slots=1)
    buyer = make_user(tag="rank-buyer")
    orders = []
    dropped = False
    try:
        # 百县百品 too, so that every section of the channel shows it.
        ok(post("/admin/products/%d/bxbp" % pid, token=admin()), 201)

        def visible():
            ch = channel_ids(ok(get("/channel")))
            assert ch["section:seasonal"][0] == pid
            assert ch["section:bxbp"][0] == pid
            assert ch["section:region:" + region][0] == pid
            assert featured(region)[0] == pid
            assert search(None, per_page=1) == [pid]
            assert ok(get("/vendors/%d" % v.id))["qualified"] is True
        eventually(visible)
        oid, line = fee_line(buyer, pid)
        orders.append(oid)
        assert line["fee_fen"] > 0
        assert line["fee_waived_fen"] == line["fee_fen"], line

        b = credit(v.id, -41, kind="虚假宣传", note="抽检")
        dropped = True
        assert (b["credit_score"], b["credit_level"], b["qualified"]) == \
            (59, "D", False)

        def hidden():
            ch = channel_ids(ok(get("/channel")))
            for where, ids in ch.items():
                assert pid not in ids, where
            assert pid not in featured(region)
            pub = ok(get("/vendors/%d" % v.id))
            assert pub["qualified"] is False and pub["credit_score"] == 59
            got = ok(get("/products/%d" % pid))
            assert got["vendor"]["qualified"] is False
            assert "qualified_vendor" not in got["labels"]
            assert "poverty_county" in got["labels"]
            lst = ok(get("/products", params={"label": "qualified_vendor",
                                              "vendor": v.id}))
            assert pid not in [i["id"] for i in lst["items"]]
            # Still on sale in search, but no longer pinned there.
            assert search(None, per_page=1) != [pid]
            assert pid in search(None, vendor=v.id)
        eventually(hidden)

        # The next checkout: no poverty-county waiver.
        oid, line = fee_line(buyer, pid)
        orders.append(oid)
        assert line["fee_fen"] > 0
        assert line["fee_waived_fen"] == 0, line
    finally:
        if dropped:
            credit(v.id, 41, kind="restore")
        end_rule(rid)
        delete("/admin/products/%d/bxbp" % pid, token=admin())
        for oid in orders:
            post("/orders/%d/cancel" % oid, token=buyer.token)
    # Restored: qualified again, and waived again.

    def requalified():
        assert ok(get("/vendors/%d" % v.id))["qualified"] is True
    eventually(requalified)
    oid, line = fee_line(buyer, pid)
    post("/orders/%d/cancel" % oid, token=buyer.token)
    assert line["fee_waived_fen"] == line["fee_fen"] > 0, line


def test_lapsed_qualification_takes_it_away_too():
    v = new_vendor()
    pid = new_product(v)
    rid = new_rule([pid], ["channel"], pin_slots=1)
    try:
        def first():
            ch = channel_ids(ok(get("/channel")))
            assert ch["section:seasonal"][0] == pid
        eventually(first)
        # Qualified until two days ago (in SQL, as the calendar would).
        psql("UPDATE vendors SET qualified_until = current_date - 2 "
             "WHERE id = %d" % v.id)
        invalidate()

        def gone():
            ch = channel_ids(ok(get("/channel")))
            assert all(pid not in ids for ids in ch.values())
            assert ok(get("/vendors/%d" % v.id))["qualified"] is False
        eventually(gone)
    finally:
        end_rule(rid)


# ------------------------------------------------------------ campaigns


def test_live_campaign_in_channel_and_its_page(campaigns):
    v = new_vendor()
    named = [new_product(v), new_product(v)]
    s = "t-live-" + uuid.uuid4().hex[:8]
    campaigns.append(s)
    b = ok(post("/admin/campaigns", token=admin(), json={
        "slug": s, "title": "云品进社区 测试", "theme": "万家帮万户",
        "starts_at": ago(hours=1), "ends_at": ahead(hours=1),
        "product_ids": named, "boost_weight": 0}), 201)
    assert b["active"] is True

    def shown():
        ch = ok(get("/channel"))
        mine = [c for c in ch["campaigns"] if c["slug"] == s]
        assert len(mine) == 1, [c["slug"] for c in ch["campaigns"]]
        assert mine[0]["title"] == "云品进社区 测试"
        assert sorted(p["id"] for p in mine[0]["products"]) == \
            sorted(named)
        lst = ok(get("/campaigns"))["items"]
        assert [c["active"] for c in lst if c["slug"] == s] == [True]
        page = ok(get("/campaigns/" + s))
        assert page["theme"] == "万家帮万户"
        assert sorted(p["id"] for p in page["products"]) == sorted(named)
        for p in page["products"]:
            assert p["vendor"]["id"] == v.id and p["vendor"]["qualified"]
    eventually(shown)
    # Not live yet: out of the channel, still on its page.
    ok(patch("/admin/campaigns/" + s, token=admin(),
             json={"starts_at": ahead(hours=1), "ends_at": ahead(hours=2)}))

    def not_live():
        ch = ok(get("/channel"))
        assert s not in [c["slug"] for c in ch["campaigns"]]
        assert ok(get("/campaigns/" + s))["active"] is False
    eventually(not_live)


def test_campaign_match_by_vendor_selects_that_vendor(campaigns):
    v = new_vendor()
    pid = new_product(v)
    s = "t-vend-" + uuid.uuid4().hex[:8]
    campaigns.append(s)
    ok(post("/admin/campaigns", token=admin(), json={
        "slug": s, "title": "商家专场", "theme": "测试",
        "starts_at": ago(hours=1), "ends_at": ahead(hours=1),
        "match": {"vendor_id": v.id}, "boost_weight": 0}), 201)
    page = ok(get("/campaigns/" + s))
    assert [p["id"] for p in page["products"]] == [pid]


# ------------------------------------------------------------ determinism


def search_all(q, per_page):
    """Every result of a search, page after page."""
    out, page = [], 1
    while True:
        got = search(q, page=page, per_page=per_page)
        out.extend(got)
        if len(got) < per_page:
            return out
        page += 1


def test_relevance_is_deterministic():
    first = search(None, per_page=100)
    for q in (None, "茶", "云南"):
        a = search_all(q, 100)
        invalidate()
        b = search_all(q, 37)
        assert a == b, q
        assert len(set(a)) == len(a), q
    invalidate()
    assert search(None, per_page=100) == first


def test_equal_scores_go_to_the_lower_id():
    v = new_vendor()
    w = word()
    ids = [new_product(v, title="同分 %d %s" % (i, w)) for i in range(4)]
    expect_search(sorted(ids), w)
    # Whatever their order of creation or sales ties.
    set_sales({ids[0]: 7, ids[1]: 7, ids[2]: 7, ids[3]: 7})
    expect_search(sorted(ids), w)
    set_sales({ids[3]: 8})
    expect_search([ids[3]] + sorted(ids[:3]), w)


# Issue 17: SQL hands modules/ranking.c only the candidates that can reach
# the places an answer shows (012_rank_top.sql).  The answers must be those
# of ranking every candidate, which rank_candidates() still lists whole:
# ranked here as ranking.c does.

def sales_points(s):
    """ranking_sales_points() of modules/ranking.c."""
    if s <= 0:
        return 0
    v = s + 1
    lg = v.bit_length() - 1
    base = 1 << lg
    return lg * 100 + (v - base) * 100 // base


def rank_like_c(cands):
    """ranking_sort() of modules/ranking.c, on rank_candidates() rows."""
    def score(c):
        boost = max(-5000, min(5000, c["boost"]))
        return (max(0, min(2, c["text"])) * 10000000 + boost * 1000
                + sales_points(c["sales"]))
    items = sorted(cands, key=lambda c: (-score(c), c["id"]))
    for slot in range(len(items)):
        j = next((j for j in range(slot, len(items))
                  if items[j]["pin"] > slot), None)
        if j is None:
            break
        items.insert(slot, items.pop(j))
    return [c["id"] for c in items]


def test_sales_points_in_sql_are_ranking_c_s():
    for s in (0, 1, 2, 3, 6, 7, 8, 100, 1022, 1023, 1024, 99999,
              2 ** 40 - 1, 2 ** 40, 2 ** 58 + 5, 2 ** 62):
        assert val("SELECT rank_sales_points(%d)" % s) == sales_points(s), s
    assert val("SELECT rank_score(2, 9000, 1023)") == (
        20000000 + 5000 * 1000 + sales_points(1023))
    assert val("SELECT rank_score(0, -9000, 0)") == -5000 * 1000


def full_ranking(placement, region=None, q=None, qualified=False, bxbp=False):
    cands = json.loads(psql(
        "SELECT rank_candidates(%s, %s, NULL, NULL, NULL, %s, NULL, NULL, "
        "NULL, NULL, %s, %s, 5000)" % (
            shop.lit(placement), shop.lit(region), shop.lit(q),
            shop.lit(qualified), shop.lit(bxbp))))
    return rank_like_c(cands)


def test_pinned_channel_and_search_rank_as_every_candidate_would():
    # Pins of two sizes on this run's products, so the places are decided
    # by pins, weights and sales together.
    v = new_vendor()
    w = word()
    ids = [new_product(v, title="全排 %d %s" % (i, w)) for i in range(6)]
    set_sales({ids[0]: 5, ids[1]: 900, ids[2]: 40, ids[3]: 3, ids[4]: 70})
    rules = [new_rule(ids[:2], ["search", "channel"], pin_slots=1),
             new_rule(ids[3:5], ["search", "channel"], pin_slots=3),
             new_rule([ids[2]], ["search", "channel"], weight=30)]
    try:
        invalidate()
        ch = ok(get("/channel"))
        for sec in ch["sections"]:
            if sec["key"] == "seasonal":
                want = full_ranking("channel", qualified=True)[:12]
            elif sec["key"] == "bxbp":
                want = full_ranking("channel", qualified=True, bxbp=True)[:12]
            else:
                want = full_ranking("channel", region=sec["key"][7:],
                                    qualified=True)[:8]
            assert [i["id"] for i in sec["items"]] == want, sec["key"]
        for q in (w, None, "茶"):
            full = full_ranking("search", q=q)
            for per, page in ((2, 1), (2, 2), (5, 1), (3, 3), (100, 1)):
                b = ok(search_answer(q, page=page, per_page=per))
                assert [i["id"] for i in b["items"]] == \
                    full[(page - 1) * per:page * per], (q, per, page)
                assert b["total"] == len(full), q
    finally:
        for r in rules:
            patch_rule(r, valid_to=ago(seconds=1))
        invalidate()


def test_channel_hands_c_only_what_its_places_need():
    # At most, per section: its limit by score, and its limit for each pin
    # size of the live rules (before issue 17: every candidate, each with
    # its whole item).
    pins = val("SELECT count(DISTINCT pin_slots) FROM boost_rules "
               "WHERE pin_slots > 0 AND 'channel' = ANY (placements) "
               "AND valid_from <= now() AND (valid_to IS NULL OR valid_to > now())")
    secs = json.loads(psql("SELECT api_channel()->'sections'"))
    assert secs
    for s in secs:
        assert len(s["candidates"]) <= s["limit"] * (1 + pins), s["key"]
    assert val("SELECT count(*) FROM product_facts WHERE status = 'listed' "
               "AND qualified") > 12 * (1 + pins)
