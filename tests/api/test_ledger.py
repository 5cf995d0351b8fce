"""The ledger (台账, clause 十五): the entries that payments and refunds
write, the operators' grouped reads as JSON and CSV, the public impact
totals, the entries' immutability and make ledger-check.

The ledger is shared by every test of the run (and may hold the bench's
synthetic entries), so these tests compare the ledger before and after what
they do, on periods and groups they can name, and never assume it empty.
"""

import csv
import io
import json
import os
import random
import re
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

from shop import (  # noqa: E402,F401
    PG, ROOT, buy, demo_token, error_fields, get, lit, make_user, ok, pay,
    post, problem, psql, row, rows, shop_products, val)

GROUPS = ("region", "county", "vendor", "org", "category", "month")
FIELDS = ("orders", "lines", "gmv_fen", "poverty_county_gmv_fen",
          "qualified_vendor_gmv_fen", "bxbp_gmv_fen", "households_linked")
AMOUNTS = ("gmv_fen", "poverty_county_gmv_fen", "qualified_vendor_gmv_fen",
           "bxbp_gmv_fen")
REGIONS = ("yunnan", "zunyi", "kashgar", "shigatse", "golog")
BOM = b"\xef\xbb\xbf"
ZERO = dict.fromkeys(FIELDS, 0)


# ------------------------------------------------------------ helpers


def today():
    """The Shanghai date, as the ledger dates its entries."""
    return val("SELECT to_char((now() AT TIME ZONE 'Asia/Shanghai')::date, "
               "'YYYY-MM-DD')")


def days_before(day, n):
    return val("SELECT to_char(%s::date - %d, 'YYYY-MM-DD')" % (lit(day), n))


def ledger(group_by=None, frm=None, to=None, token="admin", headers=None,
           params=None):
    p = dict(params or {})
    if group_by is not None:
        p["group_by"] = group_by
    if frm is not None:
        p["from"] = frm
    if to is not None:
        p["to"] = to
    if token == "admin":
        token = demo_token("admin")
    return get("/admin/ledger", token=token, headers=headers, params=p)


def ledger_ok(group_by, frm=None, to=None):
    body = ok(ledger(group_by, frm, to))
    assert set(body) >= {"rows", "totals"}, body
    return body


def snapshot(day):
    """Every grouping of the ledger on one Shanghai day."""
    return {g: ledger_ok(g, day, day) for g in GROUPS}


def by_key(body):
    return {r["key"]: r for r in body["rows"]}


def facts(pid):
    """What the ledger groups a product's line by, and its flags now."""
    return row("SELECT f.region_code AS region, f.county_code AS county, "
               "f.vendor_id AS vendor, f.category_code AS category, "
               "f.is_poverty_county AS poverty, f.qualified, f.bxbp, "
               "f.poor_households_linked AS households "
               "FROM product_facts f WHERE f.id = %d" % pid)


def expected_delta(order_lines, day, org=None):
    """{group: {key: {field: delta}}} and the totals' delta for a new paid
    order of order_lines [(facts, amount)], all on Shanghai day."""
    month = day[:7]
    out = {g: {} for g in GROUPS}
    for f, amount in order_lines:
        keys = {"region": f["region"], "county": f["county"],
                "vendor": f["vendor"], "org": org, "category": f["category"],
                "month": month}
        for g, k in keys.items():
            d = out[g].setdefault(k, dict(ZERO))
            d["lines"] += 1
            d["gmv_fen"] += amount
            d["poverty_county_gmv_fen"] += amount if f["poverty"] else 0
            d["qualified_vendor_gmv_fen"] += amount if f["qualified"] else 0
            d["bxbp_gmv_fen"] += amount if f["bxbp"] else 0
    for g in GROUPS:
        for d in out[g].values():
            d["orders"] = 1    # a new order counts once in each group
    total = dict(ZERO)
    for f, amount in order_lines:
        total["lines"] += 1
        total["gmv_fen"] += amount
        total["poverty_county_gmv_fen"] += amount if f["poverty"] else 0
        total["qualified_vendor_gmv_fen"] += amount if f["qualified"] else 0
        total["bxbp_gmv_fen"] += amount if f["bxbp"] else 0
    total["orders"] = 1
    return out, total


def minus(a, b, fields=FIELDS):
    return {k: a.get(k, 0) - b.get(k, 0) for k in fields}


def line_totals(order):
    return {it["product_id"]: it["line_total_fen"]
            for p in order["parts"] for it in p["items"]}


def entries_of(order_id):
    return rows("SELECT kind, order_line_id, product_id, qty, amount_fen, "
                "vendor_qualified, bxbp, poverty_county, households_linked, "
                "vendor_id, org_id, user_id, synthetic FROM ledger_entries "
                "WHERE order_id = %d ORDER BY id" % order_id)


def new_org(user):
    """An organisation to buy for: a row of orgs when that table exists,
    else an id no organisation has.  Returns (id, name or None)."""
    if val("SELECT to_regclass('orgs') IS NOT NULL") is not True:
        return 900000000 + random.randint(1, 99999999), None
    name = "台账测试单位 " + uuid.uuid4().hex[:8]
    code = "".join(random.choice("0123456789ABCDEFGHJKLMNPQRTUWXY")
                   for _ in range(18))
    oid = int(psql("INSERT INTO orgs (name, kind, credit_code, created_by) "
                   "VALUES (%s, 'enterprise', %s, %d) RETURNING id"
                   % (lit(name), lit(code), user.id)).split()[0])
    return oid, name


def psql_fails(sql):
    """Runs sql expecting PostgreSQL to refuse it; returns the error."""
    out = subprocess.run(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1",
                          PG, "-c", sql], capture_output=True, timeout=60,
                         check=False)
    assert out.returncode != 0, (sql, out.stdout.decode())
    return out.stderr.decode()


def parse_csv(r):
    assert r.status_code == 200, (r.status_code, r.text[:500])
    assert r.headers["Content-Type"] == "text/csv; charset=utf-8", \
        r.headers["Content-Type"]
    assert r.content.startswith(BOM), r.content[:10]
    text = r.content[len(BOM):].decode("utf-8")
    return list(csv.reader(io.StringIO(text, newline="")))


def csv_text(v):
    """A name as the CSV writes it: formulas defused with a leading '."""
    return "'" + v if v[:1] in ("=", "+", "-", "@", "\t", "\r") else v


# ------------------------------------------------------------ the write side


def test_a_paid_order_is_recorded_in_every_grouping(shop_products):
    """Two lines from two vendors: one sale entry per line with the facts
    of the moment, and every grouping and the totals move by exactly that."""
    u = make_user()
    a = shop_products.one(stock=30)
    b = shop_products.one(
        where="p.vendor_id <> (SELECT vendor_id FROM products WHERE id = %d)"
        % a, stock=30)
    fa, fb = facts(a), facts(b)
    o = buy(u, [(a, 2), (b, 1)])
    day = today()
    before = snapshot(day)
    o = pay(u, o)
    after = snapshot(day)
    assert today() == day, "the Shanghai day changed during the test"

    totals = line_totals(o)
    want, want_total = expected_delta([(fa, totals[a]), (fb, totals[b])],
                                      day)
    for g in GROUPS:
        b_rows, a_rows = by_key(before[g]), by_key(after[g])
        for k, d in want[g].items():
            assert k in a_rows, (g, k, after[g])
            got = minus(a_rows[k], b_rows.get(k, ZERO),
                        [f for f in FIELDS if f != "households_linked"])
            assert got == {f: d[f] for f in got}, (g, k, got, d)
        # Groups the order does not touch do not move.
        for k, r in a_rows.items():
            if k not in want[g]:
                assert r == b_rows[k], (g, k)
        got = minus(after[g]["totals"], before[g]["totals"],
                    [f for f in FIELDS if f != "households_linked"])
        assert got == {f: want_total[f] for f in got}, (g, got, want_total)

    # households_linked: each vendor counts once, with its recorded number.
    vendors = by_key(after["vendor"])
    assert vendors[fa["vendor"]]["households_linked"] == fa["households"]
    assert vendors[fb["vendor"]]["households_linked"] == fb["households"]

    # One sale entry per line, with the facts of the moment and the buyer.
    es = entries_of(o["id"])
    assert [e["kind"] for e in es] == ["sale", "sale"], es
    lines = {r["product_id"]: r["id"] for r in rows(
        "SELECT id, product_id FROM order_lines WHERE order_id = %d"
        % o["id"])}
    for e in es:
        f = fa if e["product_id"] == a else fb
        assert e["order_line_id"] == lines[e["product_id"]]
        assert e["amount_fen"] == totals[e["product_id"]]
        assert e["qty"] == (2 if e["product_id"] == a else 1)
        assert e["vendor_id"] == f["vendor"]
        assert e["vendor_qualified"] == f["qualified"]
        assert e["bxbp"] == f["bxbp"]
        assert e["poverty_county"] == f["poverty"]
        assert e["households_linked"] == f["households"]
        assert e["user_id"] == u.id and e["org_id"] is None
        assert e["synthetic"] is False
    # The entries are dated by the payment.
    assert val("SELECT bool_and(e.at = o.paid_at) FROM ledger_entries e "
               "JOIN orders o ON o.id = e.order_id WHERE o.id = %d"
               % o["id"]) is True


def test_a_refund_reverses_the_entries(shop_products):
    """Cancelling a paid order writes one reversing entry per line, with the
    sale's facts and a negative amount: every grouping goes back."""
    u = make_user()
    a = shop_products.one(stock=30)
    b = shop_products.one(
        where="p.vendor_id <> (SELECT vendor_id FROM products WHERE id = %d)"
        % a, stock=30)
    o = buy(u, [(a, 3), (b, 2)])
    day = today()
    before = snapshot(day)
    o = pay(u, o)
    paid = snapshot(day)
    assert paid["month"]["totals"]["gmv_fen"] == \
        before["month"]["totals"]["gmv_fen"] + o["total_fen"]

    o = ok(post("/orders/%d/cancel" % o["id"], token=u.token))
    assert o["status"] == "refunded", o
    after = snapshot(day)
    assert today() == day, "the Shanghai day changed during the test"
    for g in GROUPS:
        assert after[g] == before[g], g

    es = entries_of(o["id"])
    assert sorted(e["kind"] for e in es) == ["refund", "refund", "sale",
                                             "sale"], es
    sales = {e["order_line_id"]: e for e in es if e["kind"] == "sale"}
    for e in es:
        if e["kind"] != "refund":
            continue
        s = sales[e["order_line_id"]]
        assert e["amount_fen"] == -s["amount_fen"] and e["qty"] == -s["qty"]
        for k in ("vendor_id", "vendor_qualified", "bxbp", "poverty_county",
                  "households_linked", "user_id", "org_id"):
            assert e[k] == s[k], k
    assert val("SELECT sum(amount_fen) FROM ledger_entries "
               "WHERE order_id = %d" % o["id"]) == 0


def test_an_unpaid_order_writes_nothing(shop_products):
    u = make_user()
    a = shop_products.one(stock=30)
    o = buy(u, [(a, 1)])
    assert entries_of(o["id"]) == []
    ok(post("/orders/%d/cancel" % o["id"], token=u.token))
    assert entries_of(o["id"]) == []


def test_writing_a_part_twice_changes_nothing(shop_products):
    """The unique (line, kind) and the skip of written lines: the trigger's
    function run again for a paid part adds nothing."""
    u = make_user()
    a = shop_products.one(stock=30)
    o = pay(u, buy(u, [(a, 2)]))
    part = o["parts"][0]["id"]
    n = len(entries_of(o["id"]))
    assert val("SELECT ledger_write(%d, 'sale', now())" % part) == 0
    assert val("SELECT ledger_write(%d, 'refund', now())" % part) == 1
    assert val("SELECT ledger_write(%d, 'refund', now())" % part) == 0
    # What the direct call reversed is put back the way the ledger allows:
    # the order is cancelled, whose reversal is then already there.
    ok(post("/orders/%d/cancel" % o["id"], token=u.token))
    assert len(entries_of(o["id"])) == n + 1
    assert val("SELECT sum(amount_fen) FROM ledger_entries "
               "WHERE order_id = %d" % o["id"]) == 0


def test_shipping_writes_nothing(shop_products):
    """A shipped line stays sold: shipping moves the part, not the money.
    (The part is moved as vendor_ship() moves it, in SQL, so that this
    test is about the ledger's trigger alone.)"""
    u = make_user()
    a = shop_products.one(stock=30)
    o = pay(u, buy(u, [(a, 1)]))
    before = entries_of(o["id"])
    assert [e["kind"] for e in before] == ["sale"]
    psql("UPDATE order_parts SET status = 'shipped', shipped_at = now() "
         "WHERE id = %d" % o["parts"][0]["id"])
    assert entries_of(o["id"]) == before


def test_a_vendor_losing_its_qualification_does_not_rewrite_history(
        shop_products):
    """Entries keep the qualification of their moment: after the vendor's
    credit falls, its earlier sales still count as a qualified vendor's and
    a new sale does not."""
    u = make_user()
    a = shop_products.one(where="p.qualified", stock=30)
    f = facts(a)
    vendor = f["vendor"]
    day = today()
    o1 = pay(u, buy(u, [(a, 2)]))
    first = by_key(ledger_ok("vendor", day, day))[vendor]
    score = val("SELECT credit_score FROM vendors WHERE id = %d" % vendor)
    psql("UPDATE vendors SET credit_score = 10 WHERE id = %d" % vendor)
    try:
        assert facts(a)["qualified"] is False
        # History stands.
        assert by_key(ledger_ok("vendor", day, day))[vendor] == first
        assert [e["vendor_qualified"] for e in entries_of(o1["id"])] == \
            [True]
        # A sale now is a sale of a vendor that is not qualified.
        o2 = pay(u, buy(u, [(a, 1)]))
        assert [e["vendor_qualified"] for e in entries_of(o2["id"])] == \
            [False]
        now = by_key(ledger_ok("vendor", day, day))[vendor]
        t2 = o2["total_fen"]
        assert now["gmv_fen"] == first["gmv_fen"] + t2
        assert now["qualified_vendor_gmv_fen"] == \
            first["qualified_vendor_gmv_fen"]
        assert now["lines"] == first["lines"] + 1
        assert now["orders"] == first["orders"] + 1
    finally:
        psql("UPDATE vendors SET credit_score = %d WHERE id = %d"
             % (score, vendor))
    assert facts(a)["qualified"] is True


def test_an_organisations_purchase_is_grouped_under_it(shop_products):
    u = make_user()
    a = shop_products.one(stock=30)
    org, name = new_org(u)
    o = buy(u, [(a, 2)])
    psql("UPDATE orders SET org_id = %d WHERE id = %d" % (org, o["id"]))
    day = today()
    o = pay(u, o)
    g = by_key(ledger_ok("org", day, day))
    assert org in g, g
    assert g[org]["gmv_fen"] == o["total_fen"]
    assert g[org]["orders"] == 1 and g[org]["lines"] == 1
    if name is not None:
        assert g[org]["name"] == name
    assert [e["org_id"] for e in entries_of(o["id"])] == [org]
    # People buying for themselves are the group without an org.
    assert None in g and g[None]["name"]


# ------------------------------------------------------------ the read side


def test_every_grouping_adds_up_to_its_totals(shop_products):
    u = make_user()
    a = shop_products.one(stock=30)
    pay(u, buy(u, [(a, 1)]))
    to = today()
    frm = days_before(to, 400)
    keys = {"region": set(REGIONS)}
    for g in GROUPS:
        body = ledger_ok(g, frm, to)
        assert body["group_by"] == g and body["from"] == frm and \
            body["to"] == to
        assert body["rows"], g
        t = body["totals"]
        assert set(t) == set(FIELDS), t
        seen = set()
        for r in body["rows"]:
            assert set(r) == {"key", "name"} | set(FIELDS), r
            assert isinstance(r["name"], str) and r["name"], r
            for f in FIELDS:
                assert isinstance(r[f], int), (g, f, r)
            assert r["key"] not in seen, (g, r["key"])
            seen.add(r["key"])
            if g in ("vendor", "org"):
                assert r["key"] is None or isinstance(r["key"], int), r
            else:
                assert isinstance(r["key"], str), r
        if g in keys:
            assert seen <= keys[g], seen
        if g == "month":
            assert all(re.match(r"^\d{4}-\d{2}$", k) for k in seen), seen
            assert [r["key"] for r in body["rows"]] == sorted(seen)
        # Every entry is in exactly one group: amounts and lines add up;
        # orders too where an order is in one group (its org, its month).
        for f in AMOUNTS + ("lines",):
            assert sum(r[f] for r in body["rows"]) == t[f], (g, f)
        if g in ("org", "month"):
            assert sum(r["orders"] for r in body["rows"]) == t["orders"], g


@pytest.mark.parametrize("back,length", [(0, 0), (40, 40), (400, 300),
                                          (800, 800)])
def test_periods_equal_the_entries_summed(shop_products, back, length):
    """Whole months come from the monthly summary and ragged ends from the
    daily one: any period equals the entries of its Shanghai days."""
    u = make_user()
    pay(u, buy(u, [(shop_products.one(stock=30), 1)]))
    to = days_before(today(), back - length)
    frm = days_before(to, length)
    body = ledger_ok("region", frm, to)
    sums = ("gmv_fen", "lines", "orders", "poverty_county_gmv_fen",
            "qualified_vendor_gmv_fen", "bxbp_gmv_fen")
    want = {r["code"]: r for r in rows(
        "SELECT r.code, sum(e.amount_fen) AS gmv_fen, "
        "sum(sign(e.qty))::bigint AS lines, "
        "sum(e.region_orders_delta) AS orders, "
        "coalesce(sum(e.amount_fen) FILTER (WHERE e.poverty_county), 0) "
        "AS poverty_county_gmv_fen, "
        "coalesce(sum(e.amount_fen) FILTER (WHERE e.vendor_qualified), 0) "
        "AS qualified_vendor_gmv_fen, "
        "coalesce(sum(e.amount_fen) FILTER (WHERE e.bxbp), 0) AS bxbp_gmv_fen "
        "FROM ledger_entries e JOIN regions r ON r.id = e.region_id "
        "WHERE e.day BETWEEN %s AND %s GROUP BY r.code" % (lit(frm), lit(to)))}
    # A region whose sales were all refunded within the period is no row.
    want = {k: w for k, w in want.items() if any(w[f] for f in sums)}
    got = by_key(body)
    assert set(got) == set(want), (frm, to, got, want)
    for k, w in want.items():
        for f in sums:
            assert got[k][f] == w[f], (frm, to, k, f, got[k], w)


def test_month_grouping_of_a_long_period():
    to = today()
    body = ledger_ok("month", "2024-01-15", to)
    months = [r["key"] for r in body["rows"]]
    assert months == sorted(months)
    assert all("2024-01" <= m <= to[:7] for m in months), months
    for r in body["rows"]:
        y, m = r["key"].split("-")
        assert r["name"] == "%d年%d月" % (int(y), int(m)), r


def test_without_dates_the_whole_ledger():
    body = ledger_ok("region")
    total = val("SELECT coalesce(sum(amount_fen), 0) FROM ledger_entries")
    assert body["totals"]["gmv_fen"] == total


def test_csv_has_a_bom_a_header_the_rows_and_the_totals(shop_products):
    u = make_user()
    a = shop_products.one(stock=30)
    pay(u, buy(u, [(a, 1)]))
    to = today()
    frm = days_before(to, 400)
    for g in GROUPS:
        body = ledger_ok(g, frm, to)
        r = ledger(g, frm, to, headers={"Accept": "text/csv"})
        assert "attachment" in r.headers.get("Content-Disposition", "")
        lines = parse_csv(r)
        assert lines[0] == ["key", "name"] + list(FIELDS), lines[0]
        assert len(lines) == len(body["rows"]) + 2, g
        for want, got in zip(body["rows"], lines[1:-1]):
            key = want["key"]
            key = "" if key is None else str(key) if isinstance(key, int) \
                else csv_text(key)
            assert got[0] == key, (g, got, want)
            assert got[1] == csv_text(want["name"]), (g, got, want)
            assert [int(x) for x in got[2:]] == [want[f] for f in FIELDS]
        last = lines[-1]
        assert last[:2] == ["total", "合计"], last
        assert [int(x) for x in last[2:]] == \
            [body["totals"][f] for f in FIELDS], (g, last, body["totals"])


def test_csv_quotes_commas_quotes_newlines_and_formulas(shop_products):
    """A vendor name with everything a CSV field can hold, and one that a
    spreadsheet would run as a formula."""
    u = make_user()
    a = shop_products.one(stock=30)
    vendor = facts(a)["vendor"]
    pay(u, buy(u, [(a, 1)]))
    day = today()
    name = val("SELECT name FROM vendors WHERE id = %d" % vendor)
    odd = '=HYPERLINK("http://x"),澜沧 "古茶"\r\n合作社'
    psql("UPDATE vendors SET name = %s WHERE id = %d" % (lit(odd), vendor))
    try:
        body = ledger_ok("vendor", day, day)
        assert by_key(body)[vendor]["name"] == odd
        r = ledger("vendor", day, day,
                   headers={"Accept": "text/csv, application/json;q=0.5"})
        raw = r.content.decode("utf-8")
        assert ('%d,"\'=HYPERLINK(""http://x""),澜沧 ""古茶""\r\n合作社",'
                % vendor) in raw, raw[:400]
        lines = parse_csv(r)
        got = [ln for ln in lines if ln[0] == str(vendor)]
        assert len(got) == 1 and got[0][1] == "'" + odd, got
        assert lines[-1][0] == "total"
    finally:
        psql("UPDATE vendors SET name = %s WHERE id = %d"
             % (lit(name), vendor))


def test_json_unless_csv_is_asked_for():
    r = ledger("county", headers={"Accept": "application/json"})
    assert ok(r)["rows"] is not None
    r = ledger("county", headers={"Accept": "*/*"})
    assert ok(r)["rows"] is not None


# ------------------------------------------------------------ access, input


def test_the_ledger_needs_a_token():
    problem(ledger("region", token=None), 401, "unauthenticated")
    problem(ledger("region", token="not.a.token"), 401, "unauthenticated")


@pytest.mark.parametrize("who", ["citizen", "vendor"])
def test_the_ledger_is_for_operators_only(who):
    problem(ledger("region", token=demo_token(who)), 403, "forbidden")
    problem(ledger("region", token=demo_token(who),
                   headers={"Accept": "text/csv"}), 403, "forbidden")


@pytest.mark.parametrize("params,fields", [
    ({}, {"group_by"}),
    ({"group_by": ""}, {"group_by"}),
    ({"group_by": "week"}, {"group_by"}),
    ({"group_by": "REGION"}, {"group_by"}),
    ({"group_by": "region", "from": "2026-02-30"}, {"from"}),
    ({"group_by": "region", "from": "yesterday"}, {"from"}),
    ({"group_by": "region", "to": "2026-1-5"}, {"to"}),
    ({"group_by": "region", "to": "2025-12-32"}, {"to"}),
    ({"group_by": "region", "from": "2026-03-02", "to": "2026-03-01"},
     {"to"}),
    ({"group_by": "quarter", "from": "x", "to": "y"},
     {"group_by", "from", "to"}),
])
def test_bad_input_is_422(params, fields):
    body = problem(ledger(params=params), 422, "validation_failed")
    assert error_fields(body) == fields, body


def test_one_day_periods_are_fine():
    ledger_ok("month", "2026-03-01", "2026-03-01")
    ledger_ok("month", "2024-02-29", "2024-02-29")


# ------------------------------------------------------------ /impact


def impact():
    # A query of its own: /impact is cached up to 60 s by path and query.
    return ok(get("/impact", params={"_": uuid.uuid4().hex}))


def test_impact_gives_the_year_by_region_and_names_no_buyer(shop_products):
    u = make_user()
    org, _ = new_org(u)
    a = shop_products.one(stock=30)
    o = buy(u, [(a, 1)])
    psql("UPDATE orders SET org_id = %d WHERE id = %d" % (org, o["id"]))
    pay(u, o)

    body = impact()
    assert set(body) == {"year", "regions"}, body
    year = int(today()[:4])
    assert body["year"] == year
    assert [r["code"] for r in body["regions"]] == list(REGIONS)
    for r in body["regions"]:
        assert set(r) == {"code", "name", "gmv_fen", "orders",
                          "poverty_county_share_bps", "households_linked"}, r
        for f in ("gmv_fen", "orders", "poverty_county_share_bps",
                  "households_linked"):
            assert isinstance(r[f], int), (f, r)
        assert 0 <= r["poverty_county_share_bps"] <= 10000, r
        assert isinstance(r["name"], str) and r["name"]

    # Nothing in it names a buyer: no user, org, e-mail or person.
    text = json.dumps(body, ensure_ascii=False)
    for s in (u.email, "测试买家", "台账测试单位", "user", "org",
              "buyer", "email"):
        assert s not in text, s

    # The same figures as the entries of the year (synthetic ones left out).
    want = {r["code"]: r for r in rows(
        "WITH v AS (SELECT e.region_id, e.vendor_id, sum(e.amount_fen) AS g, "
        "sum(e.amount_fen) FILTER (WHERE e.poverty_county) AS p, "
        "sum(e.region_orders_delta) AS o, max(e.households_linked) AS h "
        "FROM ledger_entries e WHERE NOT e.synthetic "
        "AND date_part('year', e.day) = %d GROUP BY 1, 2) "
        "SELECT r.code, coalesce(sum(v.g), 0) AS gmv_fen, "
        "coalesce(sum(v.p), 0) AS poverty, coalesce(sum(v.o), 0) AS orders, "
        "coalesce(sum(v.h) FILTER (WHERE v.g > 0), 0) AS households_linked "
        "FROM regions r LEFT JOIN v ON v.region_id = r.id GROUP BY r.code"
        % year)}
    for r in body["regions"]:
        w = want[r["code"]]
        assert r["gmv_fen"] == w["gmv_fen"], (r, w)
        assert r["orders"] == w["orders"], (r, w)
        assert r["households_linked"] == w["households_linked"], (r, w)
        share = (w["poverty"] * 10000 * 2 + w["gmv_fen"]) // \
            (2 * w["gmv_fen"]) if w["gmv_fen"] > 0 else 0
        assert r["poverty_county_share_bps"] == share, (r, w)
    bought = facts(a)["region"]
    assert next(r for r in body["regions"]
                if r["code"] == bought)["gmv_fen"] > 0


def test_impact_needs_no_token_and_is_cached():
    r = get("/impact")
    assert r.status_code == 200
    first = r.json()
    again = ok(get("/impact"))
    assert again == first


# ------------------------------------------------------------ integrity


def test_entries_cannot_be_updated_or_deleted(shop_products):
    u = make_user()
    o = pay(u, buy(u, [(shop_products.one(stock=30), 1)]))
    eid = val("SELECT min(id) FROM ledger_entries WHERE order_id = %d"
              % o["id"])
    before = row("SELECT * FROM ledger_entries WHERE id = %d" % eid)
    err = psql_fails("UPDATE ledger_entries SET amount_fen = 0 "
                     "WHERE id = %d" % eid)
    assert "never changed" in err, err
    err = psql_fails("UPDATE ledger_entries SET vendor_qualified = NOT "
                     "vendor_qualified WHERE id = %d" % eid)
    assert "never changed" in err, err
    err = psql_fails("DELETE FROM ledger_entries WHERE id = %d" % eid)
    assert "never changed" in err, err
    err = psql_fails("TRUNCATE ledger_entries CASCADE")
    assert "never changed" in err, err
    # The bench's purge switch releases synthetic entries only.
    err = psql_fails("SET bangfu.ledger_purge = 'synthetic'; "
                     "DELETE FROM ledger_entries WHERE id = %d" % eid)
    assert "never changed" in err, err
    assert row("SELECT * FROM ledger_entries WHERE id = %d" % eid) == before


def test_ledger_check_agrees_with_the_orders(shop_products):
    """make ledger-check against this server's database: the ledger equals
    paid minus refunded order lines, and the summaries the entries."""
    u = make_user()
    a = shop_products.one(stock=30)
    pay(u, buy(u, [(a, 1)]))
    o = pay(u, buy(u, [(a, 2)]))
    ok(post("/orders/%d/cancel" % o["id"], token=u.token))
    buy(u, [(a, 1)])    # pending: no entry, and none expected

    env = dict(os.environ)
    env["INSTANCE"] = os.environ.get("BANGFU_INSTANCE", "test")
    # The instance's ports, as the tests know them (an instance other
    # than run and test takes them from the environment).
    m = re.search(r"port=(\d+)", PG)
    if m:
        env["PG_PORT"] = m.group(1)
    url = os.environ.get("BANGFU_URL", "")
    m = re.search(r":(\d+)/?$", url)
    if m:
        env["PORT"] = m.group(1)
    if os.environ.get("BANGFU_REDIS_PORT"):
        env["REDIS_PORT"] = os.environ["BANGFU_REDIS_PORT"]
    out = subprocess.run([os.path.join(ROOT, "scripts", "ledger_check.sh")],
                         env=env, capture_output=True, timeout=300,
                         check=False)
    text = out.stdout.decode() + out.stderr.decode()
    assert out.returncode == 0, text
    assert "ledger-check: OK" in text, text
