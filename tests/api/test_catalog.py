"""The public catalog: regions and their shops, products (filters, sorts,
paging), product detail, trace codes, the 扶贫频道, campaigns, vendors."""

import datetime
import http.client
import json
import math
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from conftest import (API_URL, DATE_RE, LAPSED_VENDOR_NAME, LIVE_CAMPAIGN,
                      LOW_CREDIT_VENDOR_NAME, REGION_KINDS, STOCK20_TITLE,
                      TRACE_RE, UTC_TIME_RE, Api, all_pages, assert_problem,
                      db, db_ids, db_one, error_fields, fresh_addr, ok_json)

# The facts of every listed product, straight from the tables: the oracle
# the answers are checked against.
FACTS_SQL = """
SELECT p.id, p.title, p.description, p.price_fen,
       coalesce(s.sales, 0) AS sales, p.created_at,
       p.status, r.code AS region, c.code AS county, c.is_poverty_county,
       cat.code AS category, v.id AS vendor_id, v.name AS vendor_name,
       vendor_qualified(v.status, v.qualified_until, v.credit_score)
           AS qualified,
       EXISTS (SELECT 1 FROM bxbp_designations b WHERE b.product_id = p.id
               AND b.revoked_at IS NULL) AS bxbp
FROM products p
LEFT JOIN product_sales s ON s.product_id = p.id
JOIN vendors v ON v.id = p.vendor_id
JOIN counties c ON c.id = v.county_id
JOIN regions r ON r.id = c.region_id
JOIN categories cat ON cat.id = p.category_id
WHERE p.status = 'listed'
"""


@pytest.fixture(scope="module")
def facts():
    return {r["id"]: r for r in db(FACTS_SQL)}


PRODUCT_ITEM_KEYS = {"id", "title", "description", "kind", "unit",
                     "price_fen", "region", "county", "vendor", "labels",
                     "bxbp", "image"}


def check_item(it):
    assert set(it) >= PRODUCT_ITEM_KEYS, set(PRODUCT_ITEM_KEYS) - set(it)
    assert isinstance(it["id"], int)
    assert isinstance(it["title"], str) and it["title"]
    assert it["kind"] in ("goods", "service")
    assert isinstance(it["price_fen"], int) and it["price_fen"] > 0
    assert set(it["region"]) >= {"code", "name"}
    assert set(it["county"]) >= {"code", "name"}
    assert set(it["vendor"]) >= {"id", "name", "qualified"}
    assert isinstance(it["vendor"]["qualified"], bool)
    assert isinstance(it["labels"], list)
    assert isinstance(it["bxbp"], bool)


def ids_of(items):
    ids = [it["id"] for it in items]
    assert len(ids) == len(set(ids)), "an id appears twice"
    return set(ids)


# ------------------------------------------------------------ regions


def test_regions_list(api, facts):
    body = ok_json(api.get("/regions"))
    items = body["items"]
    assert {r["code"] for r in items} == set(REGION_KINDS)
    assert len(items) == 5
    for r in items:
        assert r["kind"] == REGION_KINDS[r["code"]], r
        assert isinstance(r["name"], str) and r["name"]
        for k in ("county_count", "product_count"):
            assert type(r[k]) is int and r[k] > 0, r
        want = sum(1 for f in facts.values() if f["region"] == r["code"])
        assert r["product_count"] == want, r
    assert sum(r["product_count"] for r in items) == len(facts)


@pytest.mark.parametrize("code", sorted(REGION_KINDS))
def test_region_detail_has_its_counties(api, code):
    body = ok_json(api.get("/regions/" + code))
    assert body["code"] == code
    assert body["kind"] == REGION_KINDS[code]
    want = db("SELECT c.code, c.is_poverty_county FROM counties c "
              "JOIN regions r ON r.id = c.region_id WHERE r.code = :'r'",
              r=code)
    got = body["counties"]
    for c in got:
        assert set(c) >= {"code", "name", "is_poverty_county"}
        assert isinstance(c["is_poverty_county"], bool)
    assert {(c["code"], c["is_poverty_county"]) for c in got} == \
        {(c["code"], c["is_poverty_county"]) for c in want}
    listed = {r["code"]: r for r in ok_json(api.get("/regions"))["items"]}
    assert listed[code]["county_count"] == len(got)


@pytest.mark.parametrize("path", ["/regions/atlantis",
                                  "/regions/atlantis/shop",
                                  "/regions/YUNNAN"])
def test_unknown_region_is_404(api, path):
    assert_problem(api.get(path), 404, "not_found")


def test_region_shop(api, facts):
    body = ok_json(api.get("/regions/yunnan/shop"))
    assert set(body) >= {"region", "featured", "vendors", "categories"}
    assert body["region"]["code"] == "yunnan"
    assert body["featured"], "no featured products"
    for it in body["featured"]:
        check_item(it)
        assert it["region"]["code"] == "yunnan", it
        assert it["vendor"]["qualified"] is True, it
        assert it["id"] in facts  # listed
    yunnan_vendors = db_ids(
        "SELECT v.id FROM vendors v JOIN counties c ON c.id = v.county_id "
        "JOIN regions r ON r.id = c.region_id WHERE r.code = 'yunnan'")
    assert body["vendors"]
    for v in body["vendors"]:
        assert v["id"] in yunnan_vendors, v
    cats = body["categories"]
    assert cats
    for c in cats:
        assert set(c) >= {"code", "name", "product_count"}
        assert type(c["product_count"]) is int and c["product_count"] > 0
        want = sum(1 for f in facts.values()
                   if f["region"] == "yunnan" and f["category"] == c["code"])
        assert c["product_count"] == want, c
    assert sum(c["product_count"] for c in cats) == \
        sum(1 for f in facts.values() if f["region"] == "yunnan")


# ------------------------------------------------------------ product list


def test_products_default_page(api, facts):
    body = ok_json(api.get("/products"))
    assert body["page"] == 1 and body["per_page"] == 20
    assert body["total"] == len(facts)
    assert len(body["items"]) == 20
    for it in body["items"]:
        check_item(it)


def test_products_pages_cover_the_listed_products_once(api, demo, facts):
    items, total = all_pages(api)
    assert total == len(facts)
    got = ids_of(items)
    assert got == set(facts) == demo["listed"]
    assert not got & (set(demo["draft"]) | set(demo["unlisted"]))
    # Beyond the last page: no items, the same total.
    last = math.ceil(total / 100) + 1
    body = ok_json(api.get("/products", params={"page": last,
                                                "per_page": 100}))
    assert body["items"] == [] and body["total"] == total


def test_products_page_size(api):
    b1 = ok_json(api.get("/products", params={"per_page": 7, "page": 1}))
    b2 = ok_json(api.get("/products", params={"per_page": 7, "page": 2}))
    assert len(b1["items"]) == len(b2["items"]) == 7
    assert b2["page"] == 2 and b2["per_page"] == 7
    assert not ids_of(b1["items"]) & ids_of(b2["items"])
    b = ok_json(api.get("/products", params={"per_page": 100}))
    assert len(b["items"]) == 100


@pytest.mark.parametrize("params,field", [
    ({"per_page": 101}, "per_page"),
    ({"per_page": 0}, "per_page"),
    ({"per_page": -5}, "per_page"),
    ({"per_page": "abc"}, "per_page"),
    ({"page": 0}, "page"),
    ({"page": -1}, "page"),
    ({"page": "1.5"}, "page"),
    ({"page": "x"}, "page"),
    ({"min_price_fen": 5000, "max_price_fen": 100}, "max_price_fen"),
    ({"min_price_fen": -1}, "min_price_fen"),
    ({"max_price_fen": "cheap"}, "max_price_fen"),
    ({"sort": "price"}, "sort"),
    ({"sort": "PRICE_ASC"}, "sort"),
    ({"label": "organic"}, "label"),
    ({"certification": "bxbp"}, "certification"),
    ({"vendor": "abc"}, "vendor"),
])
def test_products_bad_parameters_are_422(api, params, field):
    body = assert_problem(api.get("/products", params=params), 422,
                          "validation_failed")
    assert field in error_fields(body)


@pytest.mark.parametrize("name", ["region", "county", "category", "vendor"])
def test_products_filter(api, facts, demo, name):
    value = {"region": "zunyi", "county": "lancang", "category": "tea",
             "vendor": demo["demo_vendor"]}[name]
    key = "vendor_id" if name == "vendor" else name
    want = {i for i, f in facts.items() if f[key] == value}
    assert want and len(want) < len(facts)
    items, total = all_pages(api, {name: value})
    assert ids_of(items) == want
    for it in items:
        if name in ("region", "county"):
            assert it[name]["code"] == value
        elif name == "vendor":
            assert it["vendor"]["id"] == value


def test_products_filters_combine(api, facts):
    want = {i for i, f in facts.items()
            if f["region"] == "yunnan" and f["category"] == "tea"
            and 10000 <= f["price_fen"] <= 30000}
    assert want
    items, _ = all_pages(api, {"region": "yunnan", "category": "tea",
                               "min_price_fen": 10000,
                               "max_price_fen": 30000})
    assert ids_of(items) == want


@pytest.mark.parametrize("q", ["普洱", "核桃", "可溯源", "牦牛"])
def test_products_q_matches_title_and_description(api, facts, q):
    want = {i for i, f in facts.items()
            if q.lower() in f["title"].lower()
            or q.lower() in f["description"].lower()}
    assert want
    items, _ = all_pages(api, {"q": q})
    assert ids_of(items) == want
    for it in items:
        assert q in it["title"] or q in it["description"], it["title"]
    if q == "可溯源":
        # Found through the description alone.
        assert any(q not in it["title"] for it in items)


def test_products_label_bxbp(api, facts):
    want = {i for i, f in facts.items() if f["bxbp"]}
    assert len(want) == 12
    items, _ = all_pages(api, {"label": "bxbp"})
    assert ids_of(items) == want
    for it in items:
        assert it["bxbp"] is True and "bxbp" in it["labels"]


def test_products_label_poverty_county(api, facts):
    want = {i for i, f in facts.items() if f["is_poverty_county"]}
    assert want and len(want) < len(facts)
    items, _ = all_pages(api, {"label": "poverty_county"})
    assert ids_of(items) == want
    for it in items:
        assert "poverty_county" in it["labels"]


def test_products_label_qualified_vendor(api, facts, demo):
    want = {i for i, f in facts.items() if f["qualified"]}
    assert want and len(want) < len(facts)
    items, _ = all_pages(api, {"label": "qualified_vendor"})
    assert ids_of(items) == want
    for it in items:
        assert it["vendor"]["qualified"] is True
        assert it["vendor"]["id"] not in (demo["lapsed_vendor"],
                                          demo["low_credit_vendor"])


@pytest.mark.parametrize("kind", ["green", "organic", "gi"])
def test_products_certification_excludes_expired(api, kind):
    valid = db_ids(
        "SELECT p.id FROM products p JOIN certifications c "
        "ON c.product_id = p.id WHERE p.status = 'listed' AND c.kind = :'k' "
        "AND c.valid_until >= (now() AT TIME ZONE 'Asia/Shanghai')::date",
        k=kind)
    expired = db_ids(
        "SELECT p.id FROM products p JOIN certifications c "
        "ON c.product_id = p.id WHERE p.status = 'listed' AND c.kind = :'k' "
        "AND c.valid_until < (now() AT TIME ZONE 'Asia/Shanghai')::date",
        k=kind)
    assert valid and expired, "the demo data should hold both"
    items, _ = all_pages(api, {"certification": kind})
    got = ids_of(items)
    assert got == valid
    assert not got & expired


def test_products_price_range_is_inclusive(api, facts, demo):
    price = facts[demo["stock20"]]["price_fen"]
    items, _ = all_pages(api, {"min_price_fen": price,
                               "max_price_fen": price})
    assert demo["stock20"] in ids_of(items)
    assert ids_of(items) == {i for i, f in facts.items()
                             if f["price_fen"] == price}
    lo, hi = 2000, 5000
    items, _ = all_pages(api, {"min_price_fen": lo, "max_price_fen": hi})
    assert items
    for it in items:
        assert lo <= it["price_fen"] <= hi
    assert ids_of(items) == {i for i, f in facts.items()
                             if lo <= f["price_fen"] <= hi}
    items, _ = all_pages(api, {"min_price_fen": 100000})
    assert ids_of(items) == {i for i, f in facts.items()
                             if f["price_fen"] >= 100000}
    items, _ = all_pages(api, {"max_price_fen": 1000})
    assert ids_of(items) == {i for i, f in facts.items()
                             if f["price_fen"] <= 1000}


def ts(s):
    return datetime.datetime.fromisoformat(s)


@pytest.mark.parametrize("sort,key,descending", [
    ("price_asc", "price_fen", False),
    ("price_desc", "price_fen", True),
    ("newest", "created_at", True),
    ("sales", "sales", True),
])
def test_products_sort(api, facts, sort, key, descending):
    items, total = all_pages(api, {"sort": sort})
    assert total == len(facts)
    vals = [facts[it["id"]][key] for it in items]
    if key == "created_at":
        vals = [ts(v) for v in vals]
    want = sorted(vals, reverse=descending)
    assert vals == want, "not sorted by %s" % sort
    # The items' own prices agree with the order too.
    if key == "price_fen":
        prices = [it["price_fen"] for it in items]
        assert prices == sorted(prices, reverse=descending)
    # A filtered list is sorted the same way.
    part, _ = all_pages(api, {"sort": sort, "region": "golog"})
    pv = [facts[it["id"]][key] for it in part]
    if key == "created_at":
        pv = [ts(v) for v in pv]
    assert pv == sorted(pv, reverse=descending)


def test_products_relevance_is_the_default_and_accepted(api, facts):
    items, total = all_pages(api, {"sort": "relevance"})
    assert ids_of(items) == set(facts)
    a = ok_json(api.get("/products", params={"q": "普洱"}))
    b = ok_json(api.get("/products", params={"q": "普洱",
                                             "sort": "relevance"}))
    assert [i["id"] for i in a["items"]] == [i["id"] for i in b["items"]]


def oracle_q(q):
    return db_ids(
        "SELECT id FROM products WHERE status = 'listed' AND "
        "(strpos(lower(title), lower(:'q')) > 0 OR "
        "strpos(lower(description), lower(:'q')) > 0)", q=q)


@pytest.mark.parametrize("name,value", [
    ("q", "' OR 1=1 --"),
    ("q", "%"),
    ("q", "_"),
    ("q", "\\"),
    ("q", "%%"),
    ("q", "普洱%"),
    ("q", "'; DROP TABLE products; --"),
    ("q", "\") OR (\"1\"=\"1"),
    ("region", "yunnan'--"),
    ("region", "' OR '1'='1"),
    ("region", "%"),
    ("county", "lancang' OR 'a'='a"),
    ("county", "_"),
    ("category", "tea'; --"),
    ("category", "%"),
])
def test_products_sql_metacharacters_are_plain_text(api, name, value):
    count = "SELECT count(*) AS n FROM products"
    before = db_one(count)["n"]
    r = api.get("/products", params={name: value, "per_page": 100})
    body = ok_json(r)
    if name == "q":
        want = oracle_q(value)
    else:
        want = set()  # codes are matched exactly: no such code
    assert body["total"] == len(want)
    assert ids_of(body["items"]) == want
    # Nothing was harmed.
    assert db_one(count)["n"] == before


@pytest.mark.parametrize("name,value", [
    ("vendor", "1 OR 1=1"), ("vendor", "1;--"), ("sort", "price_asc;--"),
    ("label", "bxbp' OR '1'='1"), ("certification", "gi'--"),
    ("min_price_fen", "0 OR 1=1"), ("page", "1'"),
])
def test_products_sql_metacharacters_in_typed_parameters_are_422(
        api, name, value):
    body = assert_problem(api.get("/products", params={name: value}), 422,
                          "validation_failed")
    assert name in error_fields(body)


@pytest.mark.parametrize("path", [
    "/regions/yunnan'--", "/regions/' OR '1'='1/shop", "/trace/' OR '1'='1",
    "/campaigns/x' OR 'a'='a", "/trace/%25", "/campaigns/%25",
])
def test_path_sql_metacharacters_are_404(api, path):
    assert_problem(api.get(path), 404, "not_found")


def raw_get(path_qs):
    """GET of path_qs exactly as written (requests would re-quote it)."""
    u = urllib.parse.urlsplit(API_URL)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
    conn.putrequest("GET", u.path + path_qs, skip_accept_encoding=True)
    conn.putheader("X-Forwarded-For", fresh_addr())
    conn.endheaders()
    r = conn.getresponse()
    body = r.read()
    ctype = r.getheader("Content-Type", "")
    conn.close()
    return r.status, ctype, body


@pytest.mark.parametrize("qs", ["q=%zz", "q=%", "q=%4", "q=%00",
                                "region=yun%00nan"])
def test_malformed_query_string_is_400(qs):
    # README: a malformed query string is 400 invalid_query, never a 500.
    status, ctype, body = raw_get("/products?" + qs)
    assert status == 400, body
    assert ctype.startswith("application/problem+json")
    assert json.loads(body)["code"] == "invalid_query"


# ------------------------------------------------------------ product detail

DETAIL_KEYS = {"id", "title", "description", "category", "kind", "unit",
               "price_fen", "price_tiers", "stock", "vendor", "region",
               "county", "labels", "certifications", "bxbp", "batches",
               "images"}


def test_product_detail_of_the_contract(api, demo):
    pid = demo["stock20"]
    p = ok_json(api.get("/products/%d" % pid))
    assert set(p) >= DETAIL_KEYS, DETAIL_KEYS - set(p)
    assert p["id"] == pid
    assert p["title"] == STOCK20_TITLE
    assert p["price_fen"] == 39800
    assert p["stock"] == 20
    assert p["kind"] == "goods"
    assert isinstance(p["unit"], str) and p["unit"]
    assert isinstance(p["description"], str) and p["description"]
    assert p["category"]
    assert p["vendor"]["id"] == demo["demo_vendor"]
    assert p["vendor"]["qualified"] is True
    assert p["vendor"]["credit_level"] in ("A", "B", "C", "D")
    assert isinstance(p["vendor"]["name"], str)
    assert p["region"]["code"] == "yunnan"
    assert p["county"]["code"] == "lancang"
    assert isinstance(p["bxbp"], bool)
    assert isinstance(p["labels"], list)
    assert isinstance(p["images"], list) and p["images"]
    assert all(isinstance(i, str) and i for i in p["images"])
    tiers = p["price_tiers"]
    assert isinstance(tiers, list) and tiers
    for t in tiers:
        assert type(t["min_qty"]) is int and type(t["unit_price_fen"]) is int
    for c in p["certifications"]:
        assert set(c) >= {"kind", "number", "valid_until"}
        assert c["kind"] in ("green", "organic", "gi")
        assert isinstance(c["number"], str) and c["number"]
        assert DATE_RE.match(c["valid_until"]), c
    assert p["batches"], "the product has batches in the demo data"
    want = db("SELECT b.code, b.trace_code, b.produced_on FROM batches b "
              "WHERE b.product_id = :'p'", p=pid)
    assert {(b["code"], b["trace_code"], b["produced_on"])
            for b in p["batches"]} == \
        {(b["code"], b["trace_code"], b["produced_on"]) for b in want}
    for b in p["batches"]:
        assert TRACE_RE.match(b["trace_code"]), b
        assert DATE_RE.match(b["produced_on"]), b


def test_product_detail_price_tiers(api):
    row = db("SELECT product_id AS id FROM price_tiers t JOIN products p "
             "ON p.id = t.product_id WHERE p.status = 'listed' "
             "GROUP BY product_id ORDER BY count(*) DESC, product_id "
             "LIMIT 1")[0]
    pid = row["id"]
    p = ok_json(api.get("/products/%d" % pid))
    tiers = p["price_tiers"]
    want = db("SELECT min_qty, unit_price_fen FROM price_tiers "
              "WHERE product_id = :'p' ORDER BY min_qty", p=pid)
    assert {(t["min_qty"], t["unit_price_fen"]) for t in want} <= \
        {(t["min_qty"], t["unit_price_fen"]) for t in tiers}
    qtys = [t["min_qty"] for t in tiers]
    assert qtys == sorted(qtys) and len(qtys) == len(set(qtys))
    prices = [t["unit_price_fen"] for t in tiers]
    assert prices == sorted(prices, reverse=True)
    assert all(pr <= p["price_fen"] for pr in prices)
    # README: the list starts with the list price at min_qty 1.
    assert tiers[0] == {"min_qty": 1, "unit_price_fen": p["price_fen"]}


def test_product_detail_labels_and_certifications(api):
    """A label never advertises an expired certification."""
    rows = db("SELECT p.id, c.kind FROM products p JOIN certifications c "
              "ON c.product_id = p.id WHERE p.status = 'listed' AND "
              "c.valid_until < (now() AT TIME ZONE 'Asia/Shanghai')::date")
    assert rows
    for row in rows:
        p = ok_json(api.get("/products/%d" % row["id"]))
        assert row["kind"] in {c["kind"] for c in p["certifications"]}
        assert row["kind"] not in p["labels"], (row, p["labels"])


def test_product_detail_bxbp(api, facts):
    pid = min(i for i, f in facts.items() if f["bxbp"])
    p = ok_json(api.get("/products/%d" % pid))
    assert p["bxbp"] is True and "bxbp" in p["labels"]
    pid = min(i for i, f in facts.items() if not f["bxbp"])
    assert ok_json(api.get("/products/%d" % pid))["bxbp"] is False


def test_product_of_a_lapsed_vendor_shows_it(api, facts, demo):
    pid = min(i for i, f in facts.items()
              if f["vendor_id"] == demo["lapsed_vendor"])
    p = ok_json(api.get("/products/%d" % pid))
    assert p["vendor"]["qualified"] is False


def test_draft_and_unlisted_products_are_404(api, demo):
    assert demo["draft"] and demo["unlisted"]
    for pid in demo["draft"] + demo["unlisted"]:
        assert_problem(api.get("/products/%d" % pid), 404, "not_found")


@pytest.mark.parametrize("ref", ["0", "abc", "-1", "1.0", "99999999",
                                 "999999999999999999", "%20"])
def test_no_such_product_is_404(api, ref):
    assert_problem(api.get("/products/" + ref), 404, "not_found")


# ------------------------------------------------------------ trace


def test_trace_of_a_batch(api, demo):
    pid = demo["stock20"]
    p = ok_json(api.get("/products/%d" % pid))
    batch = p["batches"][0]
    t = ok_json(api.get("/trace/" + batch["trace_code"]))
    assert set(t) >= {"code", "product", "vendor", "county", "batch"}
    assert t["code"] == batch["trace_code"]
    assert t["product"]["id"] == pid
    assert t["vendor"]["id"] == p["vendor"]["id"]
    assert t["county"]["code"] == p["county"]["code"]
    b = t["batch"]
    assert set(b) >= {"code", "produced_on", "base", "inspection"}
    assert b["code"] == batch["code"]
    assert b["produced_on"] == batch["produced_on"]
    assert isinstance(b["base"], str) and b["base"]
    insp = b["inspection"]
    assert set(insp) >= {"result", "report_no", "inspected_on"}
    want = db_one("SELECT inspection_result, inspection_report_no, "
                  "inspected_on FROM batches WHERE trace_code = :'c'",
                  c=batch["trace_code"])
    assert insp["result"] == want["inspection_result"]
    assert insp["report_no"] == want["inspection_report_no"]
    assert insp["inspected_on"] == want["inspected_on"]


def test_trace_code_is_case_insensitive(api, demo):
    code = ok_json(api.get("/products/%d" % demo["stock20"])) \
        ["batches"][0]["trace_code"]
    upper = ok_json(api.get("/trace/" + code))
    lower = ok_json(api.get("/trace/" + code.lower()))
    assert lower == upper


@pytest.mark.parametrize("code", ["AAAAAAAAAAAAAAAA", "nope", "B20261025-02"])
def test_unknown_trace_code_is_404(api, code):
    assert_problem(api.get("/trace/" + code), 404, "not_found")


# ------------------------------------------------------------ channel


def channel_products(body):
    for s in body["sections"]:
        for it in s["items"]:
            yield it
    for c in body["campaigns"]:
        for it in c.get("products") or []:
            yield it


def test_channel(api, demo):
    body = ok_json(api.get("/channel"))
    assert set(body) >= {"campaigns", "sections"}
    slugs = [c["slug"] for c in body["campaigns"]]
    assert LIVE_CAMPAIGN in slugs
    now = datetime.datetime.now(datetime.timezone.utc)
    for c in body["campaigns"]:
        assert ts(c["starts_at"]) <= now <= ts(c["ends_at"]), c["slug"]
    titles = [s["title"] for s in body["sections"]]
    assert all(isinstance(t, str) and t for t in titles)
    assert "百县百品" in titles
    for s in body["sections"]:
        assert isinstance(s["items"], list)
        if s["title"] == "百县百品":
            assert s["items"]
            assert all(it["bxbp"] for it in s["items"])
    items = list(channel_products(body))
    assert items
    banned = {demo["lapsed_vendor"], demo["low_credit_vendor"]}
    banned_names = {LAPSED_VENDOR_NAME, LOW_CREDIT_VENDOR_NAME}
    for it in items:
        check_item(it)
        assert it["vendor"]["id"] not in banned, it
        assert it["vendor"]["name"] not in banned_names, it
        assert it["vendor"]["qualified"] is True, it
        assert it["id"] in demo["listed"], it


def test_channel_excludes_every_unqualified_vendor(api):
    unqualified = db_ids(
        "SELECT id FROM vendors WHERE NOT vendor_qualified(status, "
        "qualified_until, credit_score)")
    body = ok_json(api.get("/channel"))
    assert not {it["vendor"]["id"] for it in channel_products(body)} & \
        unqualified


# ------------------------------------------------------------ campaigns


def test_campaigns_list(api):
    body = ok_json(api.get("/campaigns"))
    items = body["items"]
    want = {r["slug"] for r in db("SELECT slug FROM campaigns")}
    assert {c["slug"] for c in items} == want
    assert LIVE_CAMPAIGN in want
    for c in items:
        assert set(c) >= {"slug", "title", "theme", "starts_at", "ends_at"}
        assert UTC_TIME_RE.match(c["starts_at"]), c["starts_at"]
        assert UTC_TIME_RE.match(c["ends_at"]), c["ends_at"]
        assert ts(c["starts_at"]) < ts(c["ends_at"])


def test_campaign_detail_with_products(api, demo):
    c = ok_json(api.get("/campaigns/" + LIVE_CAMPAIGN))
    assert c["slug"] == LIVE_CAMPAIGN
    assert isinstance(c["title"], str) and c["title"]
    assert isinstance(c["theme"], str) and c["theme"]
    assert UTC_TIME_RE.match(c["starts_at"]) and UTC_TIME_RE.match(
        c["ends_at"])
    want = db_one("SELECT starts_at, ends_at FROM campaigns "
                  "WHERE slug = :'s'", s=LIVE_CAMPAIGN)
    assert ts(c["starts_at"]) == ts(want["starts_at"])
    assert ts(c["ends_at"]) == ts(want["ends_at"])
    prods = c["products"]
    assert isinstance(prods, list) and prods
    for it in prods:
        check_item(it)
        assert it["id"] in demo["listed"]
        # The campaign matches region yunnan.
        assert it["region"]["code"] == "yunnan"


def test_campaign_detail_includes_its_named_products(api, demo):
    named = db_ids(
        "SELECT cp.product_id AS id FROM campaign_products cp "
        "JOIN campaigns k ON k.id = cp.campaign_id "
        "JOIN products p ON p.id = cp.product_id "
        "JOIN vendors v ON v.id = p.vendor_id "
        "WHERE k.slug = :'s' AND p.status = 'listed' AND "
        "vendor_qualified(v.status, v.qualified_until, v.credit_score)",
        s=LIVE_CAMPAIGN)
    assert demo["stock20"] in named
    c = ok_json(api.get("/campaigns/" + LIVE_CAMPAIGN))
    got = ids_of(c["products"])
    assert named <= got, sorted(named - got)


@pytest.mark.parametrize("slug", ["no-such-campaign", "YUNPIN-COMMUNITY"])
def test_unknown_campaign_is_404(api, slug):
    assert_problem(api.get("/campaigns/" + slug), 404, "not_found")


# ------------------------------------------------------------ vendors

VENDOR_KEYS = {"id", "name", "kind", "county", "region", "qualified",
               "qualified_until", "credit_score", "credit_level"}


def test_vendor_public_profile(api, demo):
    v = ok_json(api.get("/vendors/%d" % demo["demo_vendor"]))
    assert set(v) >= VENDOR_KEYS
    assert v["id"] == demo["demo_vendor"]
    assert v["name"] == "澜沧景迈山古茶专业合作社"
    assert v["kind"] in ("enterprise", "cooperative", "individual")
    assert v["qualified"] is True
    assert DATE_RE.match(v["qualified_until"])
    assert type(v["credit_score"]) is int
    assert v["credit_level"] in ("A", "B", "C", "D")
    assert v["region"]["code"] == "yunnan"
    assert v["county"]["code"] == "lancang"
    for secret in ("credit_code", "user_id", "review_reason"):
        assert secret not in v


def test_lapsed_vendor_is_not_qualified(api, demo):
    v = ok_json(api.get("/vendors/%d" % demo["lapsed_vendor"]))
    assert v["name"] == LAPSED_VENDOR_NAME
    assert v["qualified"] is False
    assert v["qualified_until"] == "2026-06-30"


def test_low_credit_vendor_is_not_qualified(api, demo):
    v = ok_json(api.get("/vendors/%d" % demo["low_credit_vendor"]))
    assert v["name"] == LOW_CREDIT_VENDOR_NAME
    assert v["qualified"] is False
    assert v["credit_score"] == 55


def test_pending_vendor_is_404(api, demo):
    assert demo["pending_vendors"]
    for vid in demo["pending_vendors"]:
        assert_problem(api.get("/vendors/%d" % vid), 404, "not_found")


@pytest.mark.parametrize("ref", ["0", "abc", "99999999"])
def test_no_such_vendor_is_404(api, ref):
    assert_problem(api.get("/vendors/" + ref), 404, "not_found")


# ------------------------------------------------------------ concurrency


@pytest.mark.parametrize("path", ["/products/{pid}", "/channel",
                                  "/products?q=%E6%99%AE%E6%B4%B1"])
def test_parallel_reads_agree(demo, path):
    url = API_URL + path.format(pid=demo["stock20"])

    def one(_):
        r = requests.get(url, timeout=30)
        return r.status_code, r.content

    with ThreadPoolExecutor(50) as ex:
        got = list(ex.map(one, range(50)))
    assert {s for s, _ in got} == {200}
    assert len({b for _, b in got}) == 1
    assert Api().get(path.format(pid=demo["stock20"])).content == got[0][1]
