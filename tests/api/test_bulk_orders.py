"""以购代捐 bulk orders: drafts from JSON and CSV (and the CSV's bad rows
with their line numbers), tier prices by total quantity, submission and
approval by someone else, placement split per vendor with all-or-none
stock and idempotency, one payment for the whole bulk order, the report
against the plan and the certificate of what was bought."""

import collections
import os
import socket
import sys
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402
import requests  # noqa: E402

from shop import (  # noqa: E402,F401
    API_URL, BASE_URL, buy, cart_put, checkout, demo_token, demo_vendor_id,
    error_fields, get, notify, ok,
    other_vendor_token, post, problem, psql, row, rows, run_parallel,
    shop_products, stocks_of, val, vendor_of, where_vendor)
from test_orgs import (  # noqa: E402
    add_member, org_team, shanghai_today, this_year, verify)

GOODS = "p.kind = 'goods'"
TIERED = ("p.kind = 'goods' AND EXISTS (SELECT 1 FROM price_tiers t "
          "WHERE t.product_id = p.id AND t.min_qty <= 6)")


def person(i, lines, tag="收件人"):
    return {"name": "%s%04d" % (tag, i), "phone": "138%08d" % i,
            "address": "上海市黄浦区人民大道%d号" % (i + 1),
            "lines": [{"product_id": p, "qty": q} for p, q in lines]}


def create(t, recipients=None, purpose="welfare", who=None):
    body = {"purpose": purpose}
    if recipients is not None:
        body["recipients"] = recipients
    return post(t.path("/bulk-orders"), token=(who or t.buyer).token,
                json=body)


def bulk_path(t, bid, rest=""):
    return t.path("/bulk-orders/%d%s" % (bid, rest))


def upload(t, bid, data, who=None, ctype="text/csv; charset=utf-8"):
    if isinstance(data, str):
        data = data.encode()
    return post(bulk_path(t, bid, "/recipients.csv"),
                token=(who or t.buyer).token, data=data,
                headers={"Content-Type": ctype})


def act(t, bid, action, who, **kw):
    return post(bulk_path(t, bid, "/" + action), token=who.token, **kw)


def place(t, bid, who=None, key=None, **kw):
    h = {"Idempotency-Key": key} if key is not None else None
    return post(bulk_path(t, bid, "/place"), token=(who or t.buyer).token,
                headers=h, **kw)


def pay(t, bid, who=None, key=None):
    h = {"Idempotency-Key": key} if key else None
    return post(bulk_path(t, bid, "/payments"),
                token=(who or t.buyer).token, headers=h,
                json={"provider": "sandbox"})


def raw_post_status(path, token, length):
    """The status of a POST announcing a body of length bytes, read before
    the body is sent: the server answers 413 on the headers alone (a
    client that sends the body first sees the connection reset)."""
    u = urllib.parse.urlsplit(API_URL + path)
    with socket.create_connection((u.hostname, u.port), timeout=10) as s:
        s.sendall(("POST %s HTTP/1.1\r\nHost: %s\r\n"
                   "Authorization: Bearer %s\r\n"
                   "Content-Type: text/csv\r\nContent-Length: %d\r\n\r\n"
                   % (u.path, u.netloc, token, length)).encode())
        head = s.recv(64).decode("latin-1")
    return int(head.split()[1])


def detail(t, bid, who=None):
    return ok(get(bulk_path(t, bid), token=(who or t.buyer).token))


def tier(pid, qty):
    return val("SELECT tier_price(id, price_fen, %d) FROM products "
               "WHERE id = %d" % (qty, pid))


def approved(t, recipients):
    """A bulk order submitted and approved (the team's threshold is high
    unless the test says otherwise)."""
    b = ok(create(t, recipients), 201)
    s = ok(act(t, b["id"], "submit", t.buyer))
    if s["status"] == "submitted":
        s = ok(act(t, b["id"], "approve", t.approver))
    assert s["status"] == "approved", s
    return s


def csv_text(lines, header="name,phone,address,product_id,qty", eol="\n"):
    return eol.join([header] + lines) + eol


def two_vendor_products(shop_products, stock, n_first=1):
    """n_first products of one vendor and one of another, stocked."""
    first = shop_products.pick(1, where=GOODS + " AND (SELECT count(*) FROM "
                               "products q WHERE q.vendor_id = p.vendor_id "
                               "AND q.status = 'listed' AND q.kind = 'goods')"
                               " >= 4", stock=stock)
    va = vendor_of(first[0])
    if n_first > 1:
        first += shop_products.pick(n_first - 1, where=GOODS + " AND " +
                                    where_vendor(va), stock=stock)
    other = shop_products.one(where=GOODS + " AND p.vendor_id <> %d" % va,
                              stock=stock)
    return first, other


# ------------------------------------------------------------ drafts


def test_quote_prices_each_product_at_the_tier_of_its_total(shop_products):
    t = org_team()
    a = shop_products.one(where=TIERED, stock=100)
    b = shop_products.one(where=GOODS + " AND p.vendor_id <> %d" %
                          vendor_of(a), stock=100)
    r = create(t, [person(1, [(a, 3), (b, 1)]), person(2, [(a, 3)])])
    d = ok(r, 201)
    assert d["status"] == "draft" and d["purpose"] == "welfare"
    assert d["recipients_count"] == 2
    q = d["quote"]
    lines = {x["product_id"]: x for x in q["lines"]}
    # 3 + 3 reaches the tier of 6, which neither recipient reaches alone.
    assert lines[a]["qty"] == 6
    assert lines[a]["unit_price_fen"] == tier(a, 6) < tier(a, 3)
    assert lines[a]["total_fen"] == 6 * tier(a, 6)
    assert lines[b] == {**lines[b], "qty": 1, "unit_price_fen": tier(b, 1),
                        "total_fen": tier(b, 1)}
    total = lines[a]["total_fen"] + lines[b]["total_fen"]
    assert q["total_fen"] == total == d["total_fen"]
    assert sorted((v["vendor_id"], v["total_fen"]) for v in q["by_vendor"]) \
        == sorted([(vendor_of(a), lines[a]["total_fen"]),
                   (vendor_of(b), lines[b]["total_fen"])])
    # The share of this year's budget (¥2,000,000), half up.
    assert q["plan_share_bps"] == (total * 10000 + 100000000) // 200000000
    assert d["trail"][0]["action"] == "create"
    assert d["trail"][0]["actor"]["id"] == t.buyer.id
    assert d["orders"] == []


def test_quote_without_a_plan_has_no_share(shop_products):
    t = org_team(plan=False)
    a = shop_products.one(where=GOODS, stock=10)
    d = ok(create(t, [person(1, [(a, 1)])]), 201)
    assert d["quote"]["plan_share_bps"] is None


def test_create_validation(shop_products):
    t = org_team()
    a = shop_products.one(where=GOODS, stock=10)
    unlisted = shop_products.one(where=GOODS, stock=10)
    psql("UPDATE products SET status = 'unlisted' WHERE id = %d" % unlisted)
    b = problem(post(t.path("/bulk-orders"), token=t.buyer.token, json={
        "purpose": "party", "recipients": [
            {"name": "", "phone": "12", "address": "x",
             "lines": [{"product_id": a, "qty": 0}]},
            {"name": "张三", "phone": "13800138000", "address": "",
             "lines": []},
            "nobody"]}), 422, "validation_failed")
    assert error_fields(b) == {
        "purpose", "recipients[0].name", "recipients[0].phone",
        "recipients[0].lines[0].qty", "recipients[1].address",
        "recipients[1].lines", "recipients[2]"}
    b = problem(create(t, [person(1, [(a, 1), (999999999, 1)]),
                           person(2, [(unlisted, 2)])]), 422)
    assert error_fields(b) == {"recipients[0].lines[1].product_id",
                               "recipients[1].lines[0].product_id"}
    messages = " ".join(e["message"] for e in b["errors"])
    assert "unknown product 999999999" in messages
    assert "not on sale" in messages
    problem(create(t, "everyone"), 422)
    assert ok(get(t.path("/bulk-orders"), token=t.buyer.token))["total"] == 0


def test_roles_and_other_organisations(shop_products):
    t = org_team(buyers=1, approvers=1)
    other = org_team(buyers=1, approvers=1)
    a = shop_products.one(where=GOODS, stock=10)
    d = ok(create(t, [person(1, [(a, 1)])]), 201)
    bid = d["id"]
    # A member without the buyer role: 403.
    problem(create(t, [person(1, [(a, 1)])], who=t.approver), 403,
            "forbidden")
    problem(create(t, [person(1, [(a, 1)])], who=t.admin), 403, "forbidden")
    problem(upload(t, bid, csv_text(["x,13800138000,y,%d,1" % a]),
                   who=t.approver), 403, "forbidden")
    problem(act(t, bid, "submit", t.approver), 403, "forbidden")
    problem(place(t, bid, who=t.approver), 403, "forbidden")
    problem(pay(t, bid, who=t.approver), 403, "forbidden")
    # But every member reads.
    for who in (t.approver, t.admin):
        assert detail(t, bid, who)["id"] == bid
    # A buyer of another organisation, or anyone else: 404.
    for who in (other.buyer, other.admin, t.outsider):
        for r in (get(bulk_path(t, bid), token=who.token),
                  get(t.path("/bulk-orders"), token=who.token),
                  get(bulk_path(t, bid, "/recipients"), token=who.token),
                  upload(t, bid, csv_text(["x,13800138000,y,%d,1" % a]),
                         who=who),
                  act(t, bid, "submit", who), act(t, bid, "approve", who),
                  act(t, bid, "reject", who, json={"reason": "x"}),
                  place(t, bid, who=who), pay(t, bid, who=who)):
            problem(r, 404, "not_found")
    # Another organisation's bulk order under one's own: 404 too.
    for path in (other.path("/bulk-orders/%d" % bid),
                 other.path("/bulk-orders/%d/recipients" % bid)):
        problem(get(path, token=other.buyer.token), 404, "not_found")
    problem(post(other.path("/bulk-orders/%d/submit" % bid),
                 token=other.buyer.token), 404, "not_found")
    problem(get(bulk_path(t, 999999999), token=t.buyer.token), 404)
    assert detail(t, bid)["status"] == "draft"


def test_list_and_recipients_pages(shop_products):
    t = org_team()
    a = shop_products.one(where=GOODS, stock=100)
    ids = [ok(create(t, [person(i, [(a, 1)]) for i in range(n)]), 201)["id"]
           for n in (1, 3, 0)]
    ok(act(t, ids[0], "submit", t.buyer))
    lst = ok(get(t.path("/bulk-orders"), token=t.approver.token))
    assert lst["total"] == 3 and [x["id"] for x in lst["items"]] == \
        ids[::-1]
    assert lst["items"][-1]["status"] == "approved"
    assert lst["items"][-1]["trail"][-1]["action"] == "approve"
    drafts = ok(get(t.path("/bulk-orders"), token=t.buyer.token,
                    params={"status": "draft", "per_page": 1}))
    assert drafts["total"] == 2 and len(drafts["items"]) == 1
    problem(get(t.path("/bulk-orders"), token=t.buyer.token,
                params={"status": "paid"}), 422)
    rc = ok(get(bulk_path(t, ids[1], "/recipients"), token=t.buyer.token,
                params={"per_page": 2, "page": 2}))
    assert rc["total"] == 3 and len(rc["items"]) == 1
    assert rc["items"][0]["name"] == "收件人0002"
    assert rc["items"][0]["lines"] == [{"product_id": a, "qty": 1}]


# ------------------------------------------------------------ approval


def test_at_or_below_the_threshold_submit_approves_at_once(shop_products):
    a = shop_products.one(where=GOODS, stock=100)
    price = tier(a, 2)
    t = org_team(threshold=2 * price)
    d = ok(create(t, [person(1, [(a, 2)])]), 201)
    s = ok(act(t, d["id"], "submit", t.buyer))
    assert s["status"] == "approved" and s["needs_approval"] is False
    assert [e["action"] for e in s["trail"]] == ["create", "submit",
                                                 "approve"]
    auto = s["trail"][-1]
    assert auto["actor"] is None and "threshold" in auto["note"]
    assert s["submitted_by"]["id"] == t.buyer.id
    # Nothing is left to approve.
    problem(act(t, d["id"], "approve", t.approver), 409,
            "invalid_transition")


def test_above_the_threshold_someone_else_must_approve(shop_products):
    a = shop_products.one(where=GOODS, stock=100)
    t = org_team(buyers=2, approvers=1, threshold=tier(a, 2) * 2 - 1)
    # The first buyer is an approver too: still not for its own order.
    add_member(t.admin, t.id, t.buyer, "approver")
    d = ok(create(t, [person(1, [(a, 2)])]), 201)
    problem(act(t, d["id"], "approve", t.approver), 409,
            "invalid_transition")
    s = ok(act(t, d["id"], "submit", t.buyer))
    assert s["status"] == "submitted" and s["needs_approval"] is True
    problem(place(t, d["id"]), 409, "invalid_transition")
    b = problem(act(t, d["id"], "approve", t.buyer), 403, "self_approval")
    assert "submitter" in b["detail"]
    # A buyer who is no approver.
    problem(act(t, d["id"], "approve", t.buyers[1]), 403, "forbidden")
    s = ok(act(t, d["id"], "approve", t.approver))
    assert s["status"] == "approved"
    assert s["decided_by"]["id"] == t.approver.id and s["decided_at"]
    trail = [(e["action"], e["from_status"], e["to_status"],
              e["actor"]["id"] if e["actor"] else None) for e in s["trail"]]
    assert trail == [("create", None, "draft", t.buyer.id),
                     ("submit", "draft", "submitted", t.buyer.id),
                     ("approve", "submitted", "approved", t.approver.id)]
    assert all(e["at"] for e in s["trail"])


def test_an_admin_approves_too_and_without_a_plan_everything_needs_it(
        shop_products):
    a = shop_products.one(where=GOODS, stock=100)
    t = org_team(approvers=0, plan=False)
    d = ok(create(t, [person(1, [(a, 1)])]), 201)
    assert ok(act(t, d["id"], "submit", t.buyer))["status"] == "submitted"
    assert ok(act(t, d["id"], "approve", t.admin))["status"] == "approved"


def test_reject_needs_a_reason(shop_products):
    a = shop_products.one(where=GOODS, stock=100)
    t = org_team(threshold=0)
    d = ok(create(t, [person(1, [(a, 1)])]), 201)
    ok(act(t, d["id"], "submit", t.buyer))
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": 5}):
        b = problem(act(t, d["id"], "reject", t.approver, json=body), 422)
        assert error_fields(b) == {"reason"}
    s = ok(act(t, d["id"], "reject", t.approver,
               json={"reason": "超出本季度福利预算"}))
    assert s["status"] == "rejected"
    assert s["reject_reason"] == "超出本季度福利预算"
    assert s["trail"][-1]["note"] == "超出本季度福利预算"
    assert s["trail"][-1]["actor"]["id"] == t.approver.id
    problem(act(t, d["id"], "submit", t.buyer), 409, "invalid_transition")
    problem(place(t, d["id"]), 409, "invalid_transition")


def test_an_empty_draft_cannot_be_submitted():
    t = org_team()
    d = ok(create(t), 201)
    assert d["recipients_count"] == 0 and d["quote"]["total_fen"] == 0
    b = problem(act(t, d["id"], "submit", t.buyer), 422, "validation_failed")
    assert error_fields(b) == {"recipients"}


# ------------------------------------------------------------ CSV


def test_csv_replaces_the_recipients(shop_products):
    t = org_team()
    a, b = shop_products.pick(2, where=GOODS, stock=100)
    d = ok(create(t, [person(1, [(a, 1)])]), 201)
    # BOM, CRLF, Chinese header names in another order, quotes, a quoted
    # newline, and one person on two rows (one recipient).
    text = ("\ufeff数量,姓名,电话,地址,商品编号\r\n"
            "2,\"王 \"\"小\"\" 芳\",13800000001,\"上海市黄浦区南京东路1号,"
            "2楼\",%d\r\n"
            "1,李强,+86-138-0000-0002,\"上海市徐汇区\r\n漕溪北路1号\",%d\r\n"
            "3,\"王 \"\"小\"\" 芳\",13800000001,\"上海市黄浦区南京东路1号,"
            "2楼\",%d\r\n"
            ",,,,\r\n"
            "1,李强,+86-138-0000-0002,\"上海市徐汇区\r\n漕溪北路1号\",%d\r\n"
            % (a, a, b, a))
    s = ok(upload(t, d["id"], text))
    assert s["status"] == "draft"
    assert s["recipients_count"] == 2 and s["lines_count"] == 3
    q = {x["product_id"]: x["qty"] for x in s["quote"]["lines"]}
    assert q == {a: 4, b: 3}
    assert s["trail"][-1]["action"] == "recipients_replaced"
    rc = ok(get(bulk_path(t, d["id"], "/recipients"), token=t.buyer.token))
    assert [(r["name"], r["phone"], r["address"]) for r in rc["items"]] == [
        ("王 \"小\" 芳", "13800000001", "上海市黄浦区南京东路1号,2楼"),
        ("李强", "+86-138-0000-0002", "上海市徐汇区\r\n漕溪北路1号")]
    assert rc["items"][0]["lines"] == sorted(
        [{"product_id": a, "qty": 2}, {"product_id": b, "qty": 3}],
        key=lambda x: x["product_id"])
    # application/vnd.ms-excel is what browsers send for a .csv.
    ok(upload(t, d["id"], csv_text(["张三,13800138000,上海市,%d,1" % a]),
              ctype="application/vnd.ms-excel"))
    assert detail(t, d["id"])["recipients_count"] == 1


def test_csv_bad_rows_are_listed_by_line_and_nothing_is_imported(
        shop_products):
    t = org_team()
    a = shop_products.one(where=GOODS, stock=100)
    unlisted = shop_products.one(where=GOODS, stock=100)
    psql("UPDATE products SET status = 'unlisted' WHERE id = %d" % unlisted)
    d = ok(create(t, [person(1, [(a, 1)])]), 201)
    lines = [
        "王一,13800000001,上海市A路1号,%d,1" % a,            # 2 ok
        "王二,1380000000x,上海市A路2号,%d,1" % a,            # 3 phone
        "王三,13800000003,上海市A路3号,999999999,1",         # 4 unknown
        "王四,13800000004,上海市A路4号,%d,-2" % a,           # 5 negative
        "王五,13800000005,\"上海市A路5号\n3单元\",%d,1" % a,  # 6-7 ok
        "王六,13800000006,上海市A路6号,%d,1,多余" % a,        # 8 columns
        "王七,13800000007,\"%s\",%d,1" % ("长" * 400, a),    # 9 too long
        "王八,13800000008,上海市A路8号,%d,1" % unlisted,     # 10 unlisted
        "王九,13800000009,上海市A路9号,%d,abc" % a,          # 11 qty
        "王十,13800000010,上海市A路10号,%d,0" % a,           # 12 qty 0
        "王十一,13800000011,上海市A路11号,%d,1.5" % a,       # 13 qty
        "王十二,13800000012,上海市A路12号",                  # 14 columns
        "王十三,13800000013,上海市A路13号,abc,1",            # 15 product
        "王十四,13800000014,上海\"市,%d,1" % a,              # 16 quote
    ]
    b = problem(upload(t, d["id"], csv_text(lines)), 422,
                "validation_failed")
    by_line = {}
    for e in b["errors"]:
        by_line.setdefault(e["field"], []).append(e["message"])
    assert set(by_line) == {"line %d" % n for n in
                            (3, 4, 5, 8, 9, 10, 11, 12, 13, 14, 15, 16)}
    assert "phone" in by_line["line 3"][0]
    assert "unknown product 999999999" in by_line["line 4"][0]
    assert "qty" in by_line["line 5"][0] and "positive" in by_line[
        "line 5"][0]
    assert "too many columns" in by_line["line 8"][0]
    assert "too long" in by_line["line 9"][0]
    assert "1024" in by_line["line 9"][0]
    assert "not on sale" in by_line["line 10"][0]
    for n in (11, 12, 13):
        assert "qty" in by_line["line %d" % n][0]
    assert "too few columns" in by_line["line 14"][0]
    assert "product_id" in by_line["line 15"][0]
    assert "quote" in by_line["line 16"][0]
    # Sorted by line; nothing was imported.
    got = [int(e["field"].split()[1]) for e in b["errors"]]
    assert got == sorted(got)
    s = detail(t, d["id"])
    assert s["recipients_count"] == 1 and s["trail"][-1]["action"] == \
        "create"


def test_csv_bad_headers_and_files(shop_products):
    t = org_team()
    a = shop_products.one(where=GOODS, stock=100)
    d = ok(create(t), 201)
    row_ = "张三,13800138000,上海市,%d,1" % a
    for header, word in (("name,phone,address,product,qty", "not one of"),
                         ("name,phone,address,product_id", "qty"),
                         ("name,phone,phone,address,product_id,qty",
                          "twice")):
        b = problem(upload(t, d["id"], csv_text([row_], header=header)),
                    422, "validation_failed")
        assert [e["field"] for e in b["errors"]] == ["line 1"], b
        assert "bad header" in b["errors"][0]["message"]
        assert word in b["errors"][0]["message"]
    # The header is the first line that is not blank.
    b = problem(upload(t, d["id"], "\n\n" + csv_text([row_], header="x")),
                422)
    assert b["errors"][0]["field"] == "line 3"
    b = problem(upload(t, d["id"], csv_text([])), 422)
    assert error_fields(b) == {"file"}
    b = problem(upload(t, d["id"], b""), 422)
    assert error_fields(b) == {"file"}
    b = problem(upload(t, d["id"], csv_text([row_]),
                       ctype="application/json"), 422)
    assert error_fields(b) == {"Content-Type"}
    b = problem(upload(t, d["id"], csv_text([row_]),
                       ctype="text/csv; charset=gbk"), 422)
    assert error_fields(b) == {"Content-Type"}
    # Saved by a spreadsheet in GBK: every Chinese field is refused.
    gbk = csv_text(["张三,13800138000,上海市黄浦区,%d,1" % a]).encode("gbk")
    b = problem(upload(t, d["id"], gbk, ctype="text/csv"), 422)
    assert {e["field"] for e in b["errors"]} == {"line 2"}
    assert all("UTF-8" in e["message"] for e in b["errors"])
    # More than 1 MiB: Kore refuses it as soon as it reads the length.
    assert raw_post_status(bulk_path(t, d["id"], "/recipients.csv"),
                           t.buyer.token, 1024 * 1024 + 1) == 413
    assert detail(t, d["id"])["recipients_count"] == 0
    # Only drafts take a file.
    ok(upload(t, d["id"], csv_text([row_])))
    ok(act(t, d["id"], "submit", t.buyer))
    problem(upload(t, d["id"], csv_text([row_])), 409, "invalid_transition")


def test_csv_errors_are_capped_but_counted(shop_products):
    t = org_team()
    a = shop_products.one(where=GOODS, stock=100)
    d = ok(create(t), 201)
    lines = ["张%d,1380000x,上海市,%d,1" % (i, a) for i in range(150)]
    b = problem(upload(t, d["id"], csv_text(lines)), 422)
    assert len(b["errors"]) == 101
    assert b["errors"][-1]["field"] == "file"
    assert "50 more" in b["errors"][-1]["message"]


# ------------------------------------------------------------ placement


def test_2000_recipients_from_csv_quoted_approved_placed_and_paid(
        shop_products):
    (a1, a2), b1 = two_vendor_products(shop_products, stock=0, n_first=2)
    va, vb = vendor_of(a1), vendor_of(b1)
    t = org_team(threshold=1)
    # Every recipient gets a1; every other one 2 of a2; every third b1.
    want = {}
    lines = []
    for i in range(2000):
        who = "职工%04d,139%08d,上海市浦东新区世纪大道%d号" % (i, i, i + 1)
        mine = [(a1, 1)]
        if i % 2 == 0:
            mine.append((a2, 2))
        if i % 3 == 0:
            mine.append((b1, 1))
        for p, q in mine:
            lines.append("%s,%d,%d" % (who, p, q))
            want[p] = want.get(p, 0) + q
    stock0 = {a1: want[a1] + 7, a2: want[a2], b1: want[b1] + 1}
    for p, s in stock0.items():
        psql("UPDATE products SET stock = %d WHERE id = %d" % (s, p))

    d = ok(create(t, purpose="welfare"), 201)
    s = ok(upload(t, d["id"], csv_text(lines, eol="\r\n")))
    assert s["recipients_count"] == 2000 and s["lines_count"] == len(lines)
    q = s["quote"]
    ql = {x["product_id"]: x for x in q["lines"]}
    assert {p: x["qty"] for p, x in ql.items()} == want
    for p, n in want.items():
        assert ql[p]["unit_price_fen"] == tier(p, n)
        assert ql[p]["total_fen"] == n * tier(p, n)
    total = sum(x["total_fen"] for x in ql.values())
    assert q["total_fen"] == total
    assert {v["vendor_id"]: v["total_fen"] for v in q["by_vendor"]} == {
        va: ql[a1]["total_fen"] + ql[a2]["total_fen"],
        vb: ql[b1]["total_fen"]}

    assert ok(act(t, d["id"], "submit", t.buyer))["status"] == "submitted"
    assert ok(act(t, d["id"], "approve", t.approver))["status"] == "approved"

    key = "bulk-" + uuid.uuid4().hex
    r = ok(place(t, d["id"], key=key), 201)
    assert r["id"] == d["id"] and r["status"] == "placed"
    assert r["total_fen"] == total
    orders = r["orders"]
    assert len(orders) == 2
    by_vendor = {}
    for o in orders:
        assert len(o["parts"]) == 1
        part = o["parts"][0]
        by_vendor[part["vendor_id"]] = o
        assert o["status"] == "pending_payment"
        assert o["bulk_order_id"] == d["id"]
        assert o["total_fen"] == part["subtotal_fen"] == sum(
            it["line_total_fen"] for it in part["items"])
        assert all(it["recipient_id"] for it in part["items"])
        # One shipment per recipient of this vendor.
        rcp = {it["recipient_id"] for it in part["items"]}
        assert len(part["shipments"]) == len(rcp)
        assert {sh["recipient_id"] for sh in part["shipments"]} == rcp
        assert all(sh["shipped_at"] is None for sh in part["shipments"])
    assert set(by_vendor) == {va, vb}
    assert len(by_vendor[va]["parts"][0]["items"]) == 2000 + 1000
    assert len(by_vendor[vb]["parts"][0]["items"]) == 667
    assert len(by_vendor[va]["parts"][0]["shipments"]) == 2000
    assert len(by_vendor[vb]["parts"][0]["shipments"]) == 667
    # Lines per recipient: 1000 recipients with a1 and a2 of vendor A,
    # 1000 with a1 only; the lines of a recipient are its rows.
    per = collections.Counter(
        it["recipient_id"] for it in by_vendor[va]["parts"][0]["items"])
    assert sorted(collections.Counter(per.values()).items()) == [
        (1, 1000), (2, 1000)]
    names = {r["id"]: r["name"] for r in rows(
        "SELECT id, name FROM bulk_recipients WHERE bulk_order_id = %d"
        % d["id"])}
    for it in by_vendor[va]["parts"][0]["items"]:
        i = int(names[it["recipient_id"]][2:])
        assert it["qty"] == (1 if it["product_id"] == a1 else 2)
        assert it["product_id"] == a1 or i % 2 == 0
    assert all(int(names[it["recipient_id"]][2:]) % 3 == 0
               for it in by_vendor[vb]["parts"][0]["items"])
    assert sum(o["total_fen"] for o in orders) == total
    for o in orders:
        for it in o["parts"][0]["items"]:
            assert it["unit_price_fen"] == ql[it["product_id"]][
                "unit_price_fen"]
    db = row("SELECT count(*) AS orders, count(DISTINCT org_id) AS orgs, "
             "min(org_id) AS org, min(user_id) AS u FROM orders "
             "WHERE bulk_order_id = %d" % d["id"])
    assert db == {"orders": 2, "orgs": 1, "org": t.id, "u": t.buyer.id}
    assert val("SELECT count(*) FROM shipments s JOIN order_parts p "
               "ON p.id = s.part_id JOIN orders o ON o.id = p.order_id "
               "WHERE o.bulk_order_id = %d" % d["id"]) == 2667
    # Stock taken exactly.
    assert stocks_of([a1, a2, b1]) == {a1: 7, a2: 0, b1: 1}

    # The same key and body: the same answer; another body: 422.
    again = ok(place(t, d["id"], key=key), 201)
    assert [o["id"] for o in again["orders"]] == [o["id"] for o in orders]
    pb = problem(place(t, d["id"], key=key, json={"other": 1}), 422,
                 "idempotency_key_reused")
    assert pb["detail"] == "this Idempotency-Key was used with another body"
    problem(place(t, d["id"], key="k-" + uuid.uuid4().hex), 409,
            "invalid_transition")
    problem(place(t, d["id"]), 409, "invalid_transition")
    assert stocks_of([a1, a2, b1]) == {a1: 7, a2: 0, b1: 1}

    # One payment for the whole bulk order.
    pkey = "pay-" + uuid.uuid4().hex
    p = ok(pay(t, d["id"], key=pkey), 201)
    assert p["provider"] == "sandbox" and p["status"] == "pending"
    assert p["amount_fen"] == total
    assert ok(pay(t, d["id"], key=pkey), 201) == p
    assert val("SELECT bulk_order_id FROM payments WHERE id = %d" %
               p["payment_id"]) == d["id"]
    ok(notify(p["payment_id"], "succeeded", p["amount_fen"]))
    s = detail(t, d["id"], who=t.approver)
    assert s["status"] == "placed"
    assert {o["status"] for o in s["orders"]} == {"paid"}
    assert [e["action"] for e in s["trail"]] == [
        "create", "recipients_replaced", "submit", "approve", "place"]
    problem(pay(t, d["id"]), 409, "invalid_transition")


def test_stock_is_taken_for_all_lines_or_none(shop_products):
    (a,), b = two_vendor_products(shop_products, stock=0)
    psql("UPDATE products SET stock = 10 WHERE id = %d" % a)
    psql("UPDATE products SET stock = 4 WHERE id = %d" % b)
    t = org_team()
    s = approved(t, [person(i, [(a, 2), (b, 1)]) for i in range(5)])
    b_ = problem(place(t, s["id"], key="k-" + uuid.uuid4().hex), 409,
                 "insufficient_stock")
    short = [e for e in b_["errors"] if e.get("product_id") == b]
    assert short and short[0]["requested"] == 5
    assert short[0]["available"] == 4
    assert all(e.get("product_id") != a for e in b_["errors"])
    assert stocks_of([a, b]) == {a: 10, b: 4}
    assert val("SELECT count(*) FROM orders WHERE bulk_order_id = %d"
               % s["id"]) == 0
    assert detail(t, s["id"])["status"] == "approved"
    # An unlisted product is short of everything.
    psql("UPDATE products SET stock = 5, status = 'unlisted' "
         "WHERE id = %d" % b)
    b_ = problem(place(t, s["id"]), 409, "insufficient_stock")
    assert [e["available"] for e in b_["errors"]
            if e.get("product_id") == b] == [0]
    psql("UPDATE products SET status = 'listed' WHERE id = %d" % b)
    r = ok(place(t, s["id"]), 201)
    assert len(r["orders"]) == 2
    assert stocks_of([a, b]) == {a: 0, b: 0}


def test_concurrent_placements_never_oversell(shop_products):
    a = shop_products.one(where=GOODS, stock=10)
    t = org_team()
    bulks = [approved(t, [person(i, [(a, 2)]) for i in range(3)])["id"]
             for _ in range(3)]
    # Three orders of 6 units race for 10: exactly one wins.
    got = run_parallel(lambda bid: place(t, bid), bulks)
    codes = sorted(r.status_code for r in got)
    assert codes == [201, 409, 409], [r.text[:200] for r in got]
    for r in got:
        if r.status_code == 409:
            problem(r, 409, "insufficient_stock")
    assert stocks_of([a]) == {a: 4}
    # And one bulk order placed twice at once is placed once.
    s = approved(t, [person(1, [(a, 1)])])
    got = run_parallel(lambda k: place(t, s["id"], key=k),
                       ["a-" + uuid.uuid4().hex, "b-" + uuid.uuid4().hex])
    assert sorted(r.status_code for r in got) == [201, 409]
    assert stocks_of([a]) == {a: 3}
    assert val("SELECT count(*) FROM orders WHERE bulk_order_id = %d"
               % s["id"]) == 1


def test_only_approved_bulk_orders_are_placed(shop_products):
    a = shop_products.one(where=GOODS, stock=100)
    t = org_team(threshold=0)
    d = ok(create(t, [person(1, [(a, 1)])]), 201)
    problem(place(t, d["id"]), 409, "invalid_transition")
    problem(pay(t, d["id"]), 409, "invalid_transition")
    ok(act(t, d["id"], "submit", t.buyer))
    problem(place(t, d["id"]), 409, "invalid_transition")
    b = problem(place(t, d["id"], key="x" * 129), 422)
    assert error_fields(b) == {"Idempotency-Key"}
    assert stocks_of([a]) == {a: 100}


def test_prices_moved_since_approval_send_it_back_to_draft(shop_products):
    a = shop_products.one(where=GOODS, stock=100)
    t = org_team()
    s = approved(t, [person(1, [(a, 3)])])
    old = s["quote"]["total_fen"]
    psql("UPDATE products SET price_fen = price_fen + 100 WHERE id = %d" % a)
    psql("DELETE FROM price_tiers WHERE product_id = %d" % a)
    problem(place(t, s["id"]), 409, "quote_changed")
    d = detail(t, s["id"])
    assert d["status"] == "draft"
    assert d["quote"]["total_fen"] == 3 * tier(a, 3) != old
    assert d["trail"][-1]["action"] == "requote"
    assert stocks_of([a]) == {a: 100}
    ok(act(t, s["id"], "submit", t.buyer))
    r = ok(place(t, s["id"]), 201)
    assert r["total_fen"] == 3 * tier(a, 3)


# ------------------------------------------------------------ after


def test_the_cashier_returns_to_the_bulk_order(shop_products):
    """The sandbox cashier's page sends the buyer back to the bulk order's
    page in the workspace (as a citizen to /orders/{id}), paid."""
    a = shop_products.one(where=GOODS, stock=100)
    t = org_team()
    s = approved(t, [person(1, [(a, 2)]), person(2, [(a, 1)])])
    ok(place(t, s["id"], key="k-" + uuid.uuid4().hex), 201)
    p = ok(pay(t, s["id"], key="p-" + uuid.uuid4().hex), 201)
    assert p["pay_url"] == "/sandbox/pay/%d" % p["payment_id"]
    r = requests.post(BASE_URL + p["pay_url"], data={"status": "succeeded"},
                      allow_redirects=False, timeout=60)
    assert r.status_code == 303, r.text
    assert r.headers["Location"] == "/org/bulk/%d" % s["id"]
    assert all(o["status"] == "paid" for o in detail(t, s["id"])["orders"])



def test_report_and_certificate_count_paid_orders_net_of_refunds(
        shop_products):
    (a,), b = two_vendor_products(shop_products, stock=100)
    t = org_team(budget=1000000, share=2000)
    s = approved(t, [person(1, [(a, 2), (b, 1)]), person(2, [(a, 1)])])
    r = ok(place(t, s["id"]), 201)
    y = this_year()
    before = ok(get(t.path("/report/%d" % y), token=t.approver.token))
    assert before["spend_fen"] == 0 and before["orders"] == 0
    p = ok(pay(t, s["id"]), 201)
    ok(notify(p["payment_id"], "succeeded", p["amount_fen"]))
    total = r["total_fen"]
    by_order = {o["parts"][0]["vendor_id"]: o for o in r["orders"]}

    def expect(rep, spend, n):
        assert rep["spend_fen"] == spend
        # Every region of the catalog is a paired region.
        assert rep["paired_region_spend_fen"] == spend
        assert rep["orders"] == n
        assert sum(x["spend_fen"] for x in rep["by_region"]) == spend
        assert rep["budget_fen"] == 1000000
        assert rep["reserved_fen"] == 200000
        assert rep["reserved_share_bps"] == 2000
        assert rep["share_bps"] == (spend * 10000 + 500000) // 1000000
        today = shanghai_today()
        elapsed = today.timetuple().tm_yday - 1
        days = 366 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 365
        assert (rep["elapsed_days"], rep["year_days"]) == (elapsed, days)
        assert rep["expected_fen"] == 200000 * elapsed // days
        assert rep["on_track"] == (spend >= rep["expected_fen"])

    rep = ok(get(t.path("/report/%d" % y), token=t.buyer.token))
    expect(rep, total, 2)
    regions = {x["code"]: x["spend_fen"] for x in rep["by_region"]}
    want = {}
    for v, o in by_order.items():
        code = val("SELECT r.code FROM vendors v JOIN counties c ON "
                   "c.id = v.county_id JOIN regions r ON r.id = c.region_id "
                   "WHERE v.id = %d" % v)
        want[code] = want.get(code, 0) + o["total_fen"]
    assert regions == want
    # Nothing in the year before.
    assert ok(get(t.path("/report/%d" % (y - 1)),
                  token=t.buyer.token))["spend_fen"] == 0

    c = ok(get(t.path("/certificates/%d" % y), token=t.approver.token))
    assert c["amount_fen"] == total and c["year"] == y
    assert {x["code"]: x["amount_fen"] for x in c["by_region"]} == want
    assert c["households_linked"] == val(
        "SELECT sum(poor_households_linked) FROM vendors WHERE id IN "
        "(%s)" % ",".join(str(v) for v in by_order))
    v = ok(verify(c["token"]))
    assert v["amount_fen"] == total and v["org"]["id"] == t.id

    # A refunded order no longer counts.
    gone = by_order[vendor_of(b)]
    o = ok(post("/orders/%d/cancel" % gone["id"], token=t.buyer.token))
    assert o["status"] == "refunded"
    assert val("SELECT amount_fen FROM refunds WHERE order_id = %d" %
               gone["id"]) == gone["total_fen"]
    rep = ok(get(t.path("/report/%d" % y), token=t.buyer.token))
    expect(rep, total - gone["total_fen"], 1)
    c2 = ok(get(t.path("/certificates/%d" % y), token=t.buyer.token))
    assert c2["amount_fen"] == total - gone["total_fen"]
    # The earlier certificate still verifies: it states its own moment.
    assert ok(verify(c["token"]))["amount_fen"] == total


def placed_for_the_demo_vendor(shop_products, n=3):
    vid = demo_vendor_id()
    a, b = shop_products.pick(2, where=GOODS + " AND " + where_vendor(vid),
                              stock=100)
    t = org_team()
    s = approved(t, [person(i, [(a, 1), (b, 1)]) for i in range(n)])
    r = ok(place(t, s["id"]), 201)
    assert len(r["orders"]) == 1
    p = ok(pay(t, s["id"]), 201)
    ok(notify(p["payment_id"], "succeeded", p["amount_fen"]))
    return t, r["orders"][0], a, b


def test_the_vendor_sees_every_recipient_of_its_part(shop_products):
    t, order, a, b = placed_for_the_demo_vendor(shop_products)
    part = order["parts"][0]
    vt = demo_token("vendor")
    problem(get("/vendor/orders/%d/recipients" % part["id"],
                token=other_vendor_token()), 404, "not_found")
    problem(get("/vendor/orders/%d/recipients" % part["id"],
                token=t.buyer.token), 403, "forbidden")
    lst = ok(get("/vendor/orders/%d/recipients" % part["id"], token=vt))
    assert [x["name"] for x in lst["items"]] == [
        "收件人%04d" % i for i in range(3)]
    assert lst["items"][0]["phone"] == "13800000000"
    assert lst["items"][0]["lines"] == sorted(
        [{"product_id": a, "qty": 1}, {"product_id": b, "qty": 1}],
        key=lambda x: x["product_id"])
    assert all(x["shipped_at"] is None for x in lst["items"])


def test_a_waybill_for_a_bulk_part_ships_every_recipient(shop_products):
    # What vendor_ship() does after its checks: one shipment row for the
    # part.  For a bulk part it fills the recipients' shipments instead.
    t, order, a, b = placed_for_the_demo_vendor(shop_products)
    part = order["parts"][0]["id"]
    psql("INSERT INTO shipments (part_id, carrier, tracking_no) "
         "VALUES (%d, '顺丰', 'SF000111')" % part)
    ships = rows("SELECT recipient_id, carrier, tracking_no, "
                 "shipped_at IS NOT NULL AS shipped FROM shipments "
                 "WHERE part_id = %d ORDER BY id" % part)
    assert len(ships) == 3
    assert all(s["recipient_id"] and s["tracking_no"] == "SF000111" and
               s["shipped"] for s in ships)


def test_the_vendor_ships_a_bulk_part(shop_products):
    t, order, a, b = placed_for_the_demo_vendor(shop_products)
    part = order["parts"][0]
    ok(post("/vendor/orders/%d/ship" % part["id"],
            token=demo_token("vendor"),
            json={"carrier": "顺丰", "tracking_no": "SF123456789"}))
    o = ok(get("/orders/%d" % order["id"], token=t.buyer.token))
    ships = o["parts"][0]["shipments"]
    assert len(ships) == 3
    assert all(x["tracking_no"] == "SF123456789" and x["shipped_at"]
               for x in ships)
    assert o["status"] == "shipped"


def test_demo_enterprise_is_set_up():
    o = row("SELECT o.id, o.kind FROM orgs o "
            "WHERE o.name = '上海联合发展集团有限公司'")
    assert o["kind"] == "soe"
    roles = {r["email"]: r["role"] for r in rows(
        "SELECT u.email, m.role FROM org_members m JOIN users u "
        "ON u.id = m.user_id WHERE m.org_id = %d" % o["id"])}
    assert roles["buyer@demo.bangfu.cn"] == "buyer"
    assert roles["approver@demo.bangfu.cn"] == "approver"
    p = row("SELECT budget_fen, reserved_share_bps, approval_threshold_fen "
            "FROM procurement_plans WHERE org_id = %d AND year = %d"
            % (o["id"], this_year()))
    assert p == {"budget_fen": 200000000, "reserved_share_bps": 3000,
                 "approval_threshold_fen": 5000000}


def test_bulk_orders_neither_count_nor_are_held_as_unpaid(shop_products):
    """A buyer's unpaid bulk orders are the organisation's, approved
    through its trail: they do not count toward the buyer's own
    MAX_UNPAID_ORDERS (5), and a buyer at that limit still places them."""
    t = org_team()
    a = shop_products.one(stock=50)

    def keep_unpaid():
        psql("UPDATE orders SET pay_before = now() + interval '1 hour' "
             "WHERE user_id = %d AND status = 'pending_payment'"
             % t.buyer.id)

    first = approved(t, [person(i, [(a, 1)]) for i in range(2)])
    ok(place(t, first["id"]), 201)
    keep_unpaid()
    for _ in range(5):
        buy(t.buyer, [(a, 1)])
        keep_unpaid()
    cart_put(t.buyer.token, a, 1)
    problem(checkout(t.buyer.token), 409, "too_many_unpaid_orders")
    second = approved(t, [person(i, [(a, 2)]) for i in range(2)])
    assert ok(place(t, second["id"]), 201)["status"] == "placed"
    assert val("SELECT count(*) FROM orders WHERE user_id = %d AND "
               "status = 'pending_payment'" % t.buyer.id) == 7


def test_the_vendor_sees_no_recipient_of_an_unpaid_part(shop_products):
    """Placed but not paid: the delivery list names no one (names, phones
    and addresses are the buyer's until the part is paid)."""
    vid = demo_vendor_id()
    a = shop_products.one(where=GOODS + " AND " + where_vendor(vid),
                          stock=100)
    t = org_team()
    s = approved(t, [person(i, [(a, 1)]) for i in range(2)])
    r = ok(place(t, s["id"]), 201)
    part = r["orders"][0]["parts"][0]
    vt = demo_token("vendor")
    lst = ok(get("/vendor/orders/%d/recipients" % part["id"], token=vt))
    assert len(lst["items"]) == 2
    for x in lst["items"]:
        assert x["name"] is None and x["phone"] is None, x
        assert x["address"] is None, x
        assert x["lines"] == [{"product_id": a, "qty": 1}]
    got = ok(get("/vendor/orders", token=vt, params={"per_page": 100}))
    it = next(i for i in got["items"] if i["id"] == part["id"])
    assert it["address"] is None, it
    p = ok(pay(t, s["id"]), 201)
    ok(notify(p["payment_id"], "succeeded", p["amount_fen"]))
    lst = ok(get("/vendor/orders/%d/recipients" % part["id"], token=vt))
    assert [x["phone"] for x in lst["items"]] == ["13800000000",
                                                  "13800000001"]
