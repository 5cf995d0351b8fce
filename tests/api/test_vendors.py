"""Vendors: applying (POST /vendors), the operators' list and review, and
the vendor console's listings: drafts, edits, publishing, stock, price
tiers, certifications, batches and trace codes; one vendor trying every
route on another's objects; and who may call the vendor and admin routes.

Every vendor here is made by the test: a user with role vendor (through
SQL, see shop.make_users), an application through the API and, when
needed, an operator's approval through the API.  Its products are handed
to shop's list of taken products (so no shop test picks them), and are
taken off sale again when the module ends (see vendor_cleanup).

The helpers of this module are shared with test_admin_catalog.py and
test_ranking_channel.py.
"""

import datetime
import os
import random
import re
import sys
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

import shop  # noqa: E402
from shop import (  # noqa: E402,F401
    cart_put, checkout, demo_token, error_fields, get, lit,
    make_user, make_users, ok, patch, post, problem, psql, put, row, rows,
    utc_now, val)

REDIS_PORT = os.environ.get("BANGFU_REDIS_PORT", "26389")
TRACE_RE = re.compile(r"^[ABCDEFGHJKLMNPQRSTUVWXYZ23456789]{16}$")

# ------------------------------------------------------------ helpers

CC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30,
              28)
_rng = random.SystemRandom()


def cc_check(first17):
    """The GB 32100 check character of 17 characters."""
    s = sum(CC_ALPHABET.index(c) * w for c, w in zip(first17, CC_WEIGHTS))
    return CC_ALPHABET[(31 - s % 31) % 31]


def credit_code():
    """A fresh valid unified social credit code (91: an enterprise)."""
    body = ("91" + "".join(_rng.choice("123456789") for _ in range(6)) +
            "".join(_rng.choice(CC_ALPHABET) for _ in range(9)))
    return body + cc_check(body)


def admin():
    return demo_token("admin")


def admin_id():
    return val("SELECT id FROM users WHERE email = 'admin@demo.bangfu.cn'")


def shanghai_today():
    return (utc_now() + datetime.timedelta(hours=8)).date()


def date_in(days):
    return (shanghai_today() + datetime.timedelta(days=days)).isoformat()


def tag():
    return uuid.uuid4().hex[:8]


def invalidate():
    """Empties the catalog caches after a change made in SQL; returns once
    every worker has."""
    shop.publish("catalog")
    shop.all_heard()


def eventually(fn, timeout=5.0, step=0.1):
    """fn() until it stops raising AssertionError (the other workers'
    caches empty on a Redis message, a moment after the write)."""
    end = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except AssertionError:
            if time.monotonic() >= end:
                raise
            time.sleep(step)


def poverty_county(free_bxbp=False, region=None):
    """A poverty county's code, at random (optionally one with no live
    百县百品 designation, or of a region)."""
    where = ["c.is_poverty_county"]
    if free_bxbp:
        where.append("NOT EXISTS (SELECT 1 FROM bxbp_designations b WHERE "
                     "b.county_id = c.id AND b.revoked_at IS NULL)")
    if region:
        where.append("r.code = %s" % lit(region))
    codes = [r["code"] for r in rows(
        "SELECT c.code FROM counties c JOIN regions r ON r.id = c.region_id "
        "WHERE %s" % " AND ".join(where))]
    assert codes, where
    return _rng.choice(codes)


def plain_county():
    return val("SELECT code FROM counties WHERE NOT is_poverty_county "
               "ORDER BY id LIMIT 1")


class Vendor:
    def __init__(self, user, vid, county, body):
        self.user = user
        self.id = vid
        self.county = county
        self.body = body

    @property
    def token(self):
        return self.user.token

    def __repr__(self):
        return "Vendor(%s, %s)" % (self.id, self.county)


def application(county=None, kind="enterprise", **over):
    body = {"name": "测试商家 " + tag(), "kind": kind,
            "county_code": county or poverty_county(),
            "credit_code": credit_code(), "poor_households_linked": 7,
            "description": "接口测试用的商家"}
    body.update(over)
    return body


def review(vid, decision="approve", until=None, reason=None, expect=200):
    body = {"decision": decision}
    if decision == "approve":
        body["qualified_until"] = until or date_in(365)
    if reason is not None:
        body["reason"] = reason
    r = post("/admin/vendors/%d/review" % vid, token=admin(), json=body)
    return ok(r, expect) if expect else r


def new_vendor(county=None, kind="enterprise", approve=True, until=None):
    """A new vendor user and its application; approved unless told."""
    user = make_user(role="vendor", tag="vend")
    body = application(county, kind)
    b = ok(post("/vendors", token=user.token, json=body), 201)
    v = Vendor(user, b["id"], body["county_code"], body)
    if approve:
        review(v.id, "approve", until=until)
    return v


_created = []
_created_lock = threading.Lock()


def track(pid):
    """Remembers a product of these tests and keeps shop's tests off it."""
    with _created_lock:
        _created.append(pid)
    with shop._taken_lock:
        shop._taken.add(pid)


def listing(**over):
    body = {"title": "测试商品 " + tag(), "description": "接口测试的商品",
            "category": "tea", "kind": "goods", "unit": "盒",
            "price_fen": 10000, "stock": 100}
    body.update(over)
    return body


def new_product(v, publish=True, **over):
    """A listing of vendor v (a draft unless published); its id."""
    b = ok(post("/vendor/products", token=v.token, json=listing(**over)),
           201)
    track(b["id"])
    if publish:
        ok(post("/vendor/products/%d/publish" % b["id"], token=v.token))
    return b["id"]


def set_sales(pids_sales):
    psql("INSERT INTO product_sales AS s (product_id, sales) VALUES %s "
         "ON CONFLICT (product_id) DO UPDATE SET sales = EXCLUDED.sales"
         % ",".join("(%d, %d)" % (p, s) for p, s in pids_sales.items()))
    invalidate()


def catalog_product(pid):
    return get("/products/%d" % pid)


def listed_in_catalog(pid):
    def check():
        r = catalog_product(pid)
        assert r.status_code == 200, (pid, r.status_code)
        return r.json()
    return eventually(check)


def gone_from_catalog(pid):
    def check():
        problem(catalog_product(pid), 404, "not_found")
    eventually(check)


def credit(vid, points, kind="test", note=None, expect=201):
    body = {"kind": kind, "points": points}
    if note is not None:
        body["note"] = note
    r = post("/admin/vendors/%d/credit-events" % vid, token=admin(),
             json=body)
    return ok(r, expect) if expect else r


def vendor_cleanup():
    """Takes these tests' products off sale and out of 百县百品, and ends
    the boost rules that name them (should a test have failed before its
    finally)."""
    with _created_lock:
        ids = list(_created)
        del _created[:]
    if not ids:
        return
    lst = ",".join(str(i) for i in ids)
    psql("UPDATE products SET status = 'unlisted' WHERE id IN (%s) "
         "AND status = 'listed'" % lst)
    psql("UPDATE bxbp_designations SET revoked_at = now() "
         "WHERE product_id IN (%s) AND revoked_at IS NULL" % lst)
    psql("UPDATE boost_rules SET valid_from = least(valid_from, "
         "now() - interval '2 minutes'), valid_to = now() - interval "
         "'1 minute' WHERE (valid_to IS NULL OR valid_to > now()) AND "
         "match ? 'product_ids' AND EXISTS (SELECT 1 FROM "
         "jsonb_array_elements(match->'product_ids') x WHERE "
         "x::text::bigint IN (%s))" % lst)
    invalidate()


def drop_campaigns(slugs):
    """Deletes these campaigns and empties the caches."""
    if slugs:
        psql("DELETE FROM campaigns WHERE slug IN (%s)"
             % ",".join(lit(s) for s in slugs))
        invalidate()


@pytest.fixture
def campaigns():
    """Slugs to delete when the test ends."""
    made = []
    yield made
    drop_campaigns(made)


@pytest.fixture(scope="module", autouse=True)
def _cleanup():
    yield
    vendor_cleanup()


@pytest.fixture(scope="module")
def vendor_a():
    """An approved vendor of a poverty county with one listed product."""
    v = new_vendor()
    v.product = new_product(v)
    return v


@pytest.fixture(scope="module")
def vendor_b():
    return new_vendor()


# ------------------------------------------------------------ applying


def test_apply_answers_201_pending_review():
    user = make_user(role="vendor", tag="vend")
    assert ok(get("/me", token=user.token))["vendor_id"] is None
    body = application(kind="cooperative")
    b = ok(post("/vendors", token=user.token, json=body), 201)
    assert set(b) >= {"id", "status"}, b
    assert isinstance(b["id"], int) and b["status"] == "pending_review"
    assert ok(get("/me", token=user.token))["vendor_id"] == b["id"]
    got = row("SELECT v.user_id, v.name, v.kind, c.code AS county, "
              "v.credit_code, v.poor_households_linked, v.status, "
              "v.qualified_until FROM vendors v JOIN counties c "
              "ON c.id = v.county_id WHERE v.id = %d" % b["id"])
    assert got == {"user_id": user.id, "name": body["name"],
                   "kind": "cooperative", "county": body["county_code"],
                   "credit_code": body["credit_code"],
                   "poor_households_linked": 7, "status": "pending_review",
                   "qualified_until": None}
    # Not public before approval.
    problem(get("/vendors/%d" % b["id"]), 404, "not_found")


@pytest.mark.parametrize("who", ["citizen", "admin"])
def test_apply_is_for_vendor_users_only(who):
    problem(post("/vendors", token=demo_token(who), json=application()),
            403, "forbidden")


def test_apply_without_token_is_401():
    problem(post("/vendors", json=application()), 401, "unauthenticated")


@pytest.mark.parametrize("code", [
    "91350100M000100Y44",       # wrong check character
    "91350100M000100Y4",        # 17 characters
    "91350100M000100Y430",      # 19
    "91350100M0001OOY43",       # O is not in the alphabet
    "",
])
def test_apply_bad_credit_code_is_422(code):
    user = make_user(role="vendor", tag="vend")
    b = problem(post("/vendors", token=user.token,
                     json=application(credit_code=code)),
                422, "validation_failed")
    assert error_fields(b) == {"credit_code"}
    assert ok(get("/me", token=user.token))["vendor_id"] is None


def test_apply_bad_fields_are_422():
    user = make_user(role="vendor", tag="vend")
    b = problem(post("/vendors", token=user.token, json={}), 422,
                "validation_failed")
    assert error_fields(b) >= {"name", "kind", "county_code", "credit_code",
                               "poor_households_linked"}
    b = problem(post("/vendors", token=user.token, json=application(
        kind="charity", poor_households_linked=-1)), 422,
        "validation_failed")
    assert error_fields(b) == {"kind", "poor_households_linked"}
    assert ok(get("/me", token=user.token))["vendor_id"] is None


def test_apply_unknown_county_is_422():
    user = make_user(role="vendor", tag="vend")
    problem(post("/vendors", token=user.token,
                 json=application(county="atlantis")), 422,
            "validation_failed")
    assert ok(get("/me", token=user.token))["vendor_id"] is None


def test_apply_unknown_county_names_the_field():
    user = make_user(role="vendor", tag="vend")
    b = problem(post("/vendors", token=user.token,
                     json=application(county="atlantis")), 422,
                "validation_failed")
    assert error_fields(b) == {"county_code"}


def test_second_application_is_409():
    v = new_vendor(approve=False)
    pb = problem(post("/vendors", token=v.token, json=application()), 409,
                 "vendor_exists")
    assert pb["detail"] == "this account has applied as a vendor already"
    assert val("SELECT count(*) FROM vendors WHERE user_id = %d"
               % v.user.id) == 1


def test_simultaneous_applications_one_wins():
    """Eight applications of one user at once, for 30 users: one 201, the
    others 409, never a 500 (before vendor_apply() caught the unique
    index on user_id, about half of the rounds showed one)."""
    for user in make_users(30, role="vendor", tag="vend-race"):
        bodies = [application() for _ in range(8)]
        got = shop.run_parallel(
            lambda b: post("/vendors", token=user.token, json=b), bodies,
            workers=8)
        codes = sorted(r.status_code for r in got)
        assert codes == [201] + [409] * 7, codes
        for r in got:
            if r.status_code == 409:
                problem(r, 409, "vendor_exists")
        assert val("SELECT count(*) FROM vendors WHERE user_id = %d"
                   % user.id) == 1


def test_credit_code_of_another_vendor_is_409():
    v = new_vendor(approve=False)
    user = make_user(role="vendor", tag="vend")
    pb = problem(post("/vendors", token=user.token, json=application(
        credit_code=v.body["credit_code"])), 409, "credit_code_taken")
    assert pb["detail"] == "a vendor with this credit code exists"
    assert ok(get("/me", token=user.token))["vendor_id"] is None


# ------------------------------------------------------------ review


def admin_vendors(status=None):
    items, page = [], 1
    while True:
        params = {"page": page, "per_page": 100}
        if status:
            params["status"] = status
        b = ok(get("/admin/vendors", token=admin(), params=params))
        items.extend(b["items"])
        if len(b["items"]) < 100:
            break
        page += 1
    assert len(items) == b["total"]
    return items


def test_admin_lists_vendors_by_status():
    pending = new_vendor(approve=False)
    approved = new_vendor()
    rejected = new_vendor(approve=False)
    review(rejected.id, "reject", reason="材料不全")
    seen = {}
    for st in ("pending_review", "approved", "rejected"):
        items = admin_vendors(st)
        assert all(i["status"] == st for i in items), st
        seen[st] = {i["id"] for i in items}
        want = {r["id"] for r in rows(
            "SELECT id FROM vendors WHERE status = %s" % lit(st))}
        assert seen[st] == want
    assert pending.id in seen["pending_review"]
    assert approved.id in seen["approved"]
    assert rejected.id in seen["rejected"]
    everyone = {i["id"] for i in admin_vendors()}
    assert {pending.id, approved.id, rejected.id} <= everyone
    one = [i for i in admin_vendors("pending_review")
           if i["id"] == pending.id][0]
    assert one["credit_code"] == pending.body["credit_code"]
    assert one["county"]["code"] == pending.county
    assert one["qualified"] is False


@pytest.mark.parametrize("params", [{"status": "lapsed"},
                                    {"per_page": "101"}, {"page": "0"}])
def test_admin_vendor_list_bad_query_is_422(params):
    problem(get("/admin/vendors", token=admin(), params=params), 422,
            "validation_failed")


def test_approve_records_who_and_when():
    v = new_vendor(approve=False)
    until = date_in(200)
    before = utc_now() - datetime.timedelta(seconds=5)
    b = review(v.id, "approve", until=until)
    assert b["status"] == "approved" and b["qualified"] is True
    assert b["qualified_until"] == until
    recs = rows("SELECT decision, qualified_until::text AS until, reason, "
                "reviewed_by, reviewed_at FROM vendor_reviews "
                "WHERE vendor_id = %d ORDER BY id" % v.id)
    assert len(recs) == 1, recs
    assert recs[0]["decision"] == "approve"
    assert recs[0]["until"] == until
    assert recs[0]["reviewed_by"] == admin_id()
    at = datetime.datetime.fromisoformat(recs[0]["reviewed_at"])
    assert before <= at <= utc_now() + datetime.timedelta(seconds=5)
    pub = ok(get("/vendors/%d" % v.id))
    assert pub["qualified"] is True and pub["qualified_until"] == until
    assert pub["county"]["code"] == v.county


def review_refused(v, body):
    """A review refused as invalid: the problem's body."""
    return problem(post("/admin/vendors/%d/review" % v.id, token=admin(),
                        json=body), 422, "validation_failed")


def assert_unreviewed(v):
    """Still waiting for review, with no review recorded."""
    assert val("SELECT status FROM vendors WHERE id = %d"
               % v.id) == "pending_review"
    assert val("SELECT count(*) FROM vendor_reviews WHERE vendor_id = %d"
               % v.id) == 0


def test_approve_needs_qualified_until():
    v = new_vendor(approve=False)
    for body in ({"decision": "approve"},
                 {"decision": "approve", "qualified_until": "someday"},
                 {"decision": "approve", "qualified_until": "2027-02-30"},
                 {"decision": "maybe", "qualified_until": date_in(30)},
                 {}):
        b = review_refused(v, body)
        assert error_fields(b) & {"decision", "qualified_until"}, body
    assert_unreviewed(v)


def test_approve_until_a_past_date_is_422():
    v = new_vendor(approve=False)
    b = review_refused(v, {"decision": "approve",
                           "qualified_until": date_in(-1)})
    assert error_fields(b) == {"qualified_until"}


def test_reject_needs_a_reason():
    v = new_vendor(approve=False)
    for body in ({"decision": "reject"},
                 {"decision": "reject", "reason": ""}):
        b = review_refused(v, body)
        assert error_fields(b) == {"reason"}
    assert_unreviewed(v)


def test_reject_is_recorded():
    v = new_vendor(approve=False)
    b = review(v.id, "reject", reason="信用代码与营业执照不符")
    assert b["status"] == "rejected" and b["qualified"] is False
    assert b["review_reason"] == "信用代码与营业执照不符"
    rec = row("SELECT decision, reason, reviewed_by, qualified_until, "
              "extract(epoch FROM now() - reviewed_at) AS age "
              "FROM vendor_reviews WHERE vendor_id = %d" % v.id)
    assert 0 <= rec.pop("age") < 60, rec
    assert rec == {"decision": "reject", "reason": "信用代码与营业执照不符",
                   "reviewed_by": admin_id(), "qualified_until": None}
    problem(get("/vendors/%d" % v.id), 404, "not_found")


def test_review_unknown_vendor_is_404():
    missing = val("SELECT coalesce(max(id), 0) + 100000 FROM vendors")
    problem(post("/admin/vendors/%d/review" % missing, token=admin(),
                 json={"decision": "approve",
                       "qualified_until": date_in(30)}), 404, "not_found")


def test_unapproved_vendor_drafts_but_cannot_publish():
    v = new_vendor(approve=False)
    pid = new_product(v, publish=False)
    b = ok(get("/vendor/products/%d" % pid, token=v.token))
    assert b["status"] == "draft"
    pb = problem(post("/vendor/products/%d/publish" % pid, token=v.token),
                 403, "vendor_not_approved")
    assert pb["detail"] == "the vendor is not approved: it cannot publish"
    assert val("SELECT status FROM products WHERE id = %d" % pid) == "draft"
    problem(catalog_product(pid), 404, "not_found")
    # Rejected: the same.
    review(v.id, "reject", reason="资质不符")
    problem(post("/vendor/products/%d/publish" % pid, token=v.token), 403,
            "vendor_not_approved")
    # Approved: it may.
    review(v.id, "approve")
    assert ok(post("/vendor/products/%d/publish" % pid,
                   token=v.token))["status"] == "listed"
    listed_in_catalog(pid)


def test_rejecting_takes_the_listings_off_sale():
    v = new_vendor()
    pid = new_product(v)
    listed_in_catalog(pid)
    review(v.id, "reject", reason="抽检不合格")
    assert val("SELECT status FROM products WHERE id = %d"
               % pid) == "unlisted"
    gone_from_catalog(pid)


def test_vendor_user_without_a_vendor():
    user = make_user(role="vendor", tag="vend")
    pb = problem(post("/vendor/products", token=user.token, json=listing()),
                 403, "no_vendor")
    assert pb["detail"] == "no vendor profile: apply first (POST /vendors)"
    b = ok(get("/vendor/products", token=user.token))
    assert b["items"] == [] and b["total"] == 0


# ------------------------------------------------------------ listings


def test_listing_lifecycle(vendor_a):
    v = vendor_a
    body = listing(images=["/img/a.jpg"])
    b = ok(post("/vendor/products", token=v.token, json=body), 201)
    pid = b["id"]
    track(pid)
    assert b["status"] == "draft"
    for k in ("title", "description", "kind", "unit", "price_fen", "stock",
              "images"):
        assert b[k] == body[k], k
    assert b["category"] == "tea"
    problem(catalog_product(pid), 404, "not_found")
    drafts = ok(get("/vendor/products", token=v.token,
                    params={"status": "draft", "per_page": 100}))
    assert pid in {i["id"] for i in drafts["items"]}

    # Edits.
    b = ok(patch("/vendor/products/%d" % pid, token=v.token,
                 json={"title": "改过的标题 " + tag(), "price_fen": 12345,
                       "category": "nuts", "unit": "袋"}))
    assert b["price_fen"] == 12345 and b["category"] == "nuts"
    assert b["unit"] == "袋" and b["status"] == "draft"
    assert b["description"] == body["description"]
    title = b["title"]
    assert ok(get("/vendor/products/%d" % pid, token=v.token)) == b

    # Publish: in the catalog, by id and in the list.
    b = ok(post("/vendor/products/%d/publish" % pid, token=v.token))
    assert b["status"] == "listed"
    got = listed_in_catalog(pid)
    assert got["title"] == title and got["price_fen"] == 12345
    assert got["vendor"]["id"] == v.id and got["vendor"]["qualified"]
    assert got["county"]["code"] == v.county
    lst = ok(get("/products", params={"vendor": v.id, "per_page": 100}))
    assert pid in {i["id"] for i in lst["items"]}

    # An edit of a listed product shows at once.
    ok(patch("/vendor/products/%d" % pid, token=v.token,
             json={"title": title + " 新"}))

    def renamed():
        assert ok(catalog_product(pid))["title"] == title + " 新"
    eventually(renamed)

    # Unpublish: gone from both.
    b = ok(post("/vendor/products/%d/unpublish" % pid, token=v.token))
    assert b["status"] == "unlisted"
    gone_from_catalog(pid)
    lst = ok(get("/products", params={"vendor": v.id, "per_page": 100}))
    assert pid not in {i["id"] for i in lst["items"]}
    # And back.
    ok(post("/vendor/products/%d/publish" % pid, token=v.token))
    listed_in_catalog(pid)


@pytest.mark.parametrize("change,field", [
    ({"title": ""}, "title"),
    ({"price_fen": 0}, "price_fen"),
    ({"price_fen": "100"}, "price_fen"),
    ({"stock": -1}, "stock"),
    ({"kind": "gift"}, "kind"),
    ({"images": "a.jpg"}, "images"),
    ({"colour": "red"}, "colour"),
    ({"price_tiers": [{"min_qty": 1, "unit_price_fen": 900}]},
     "price_tiers"),
    # Bounded like price_fen (a tier of 2^62 made carts and checkout 500).
    ({"price_tiers": [{"min_qty": 2, "unit_price_fen": 2 ** 62}]},
     "price_tiers"),
    ({"price_tiers": [{"min_qty": 2, "unit_price_fen": 10000000001}]},
     "price_tiers"),
    ({"price_tiers": [{"min_qty": 2 ** 40, "unit_price_fen": 900}]},
     "price_tiers"),
    ({"certifications": [{"kind": "halal", "number": "X",
                          "valid_until": "2099-01-01"}]}, "certifications"),
    ({"certifications": [{"kind": "green", "number": "X",
                          "valid_until": "soon"}]}, "certifications"),
])
def test_bad_listing_is_422(vendor_a, change, field):
    v = vendor_a
    before = ok(get("/vendor/products/%d" % v.product, token=v.token))
    b = problem(patch("/vendor/products/%d" % v.product, token=v.token,
                      json=change), 422, "validation_failed")
    assert field in error_fields(b)
    b = problem(post("/vendor/products", token=v.token,
                     json=listing(**change)), 422, "validation_failed")
    assert field in error_fields(b)
    assert ok(get("/vendor/products/%d" % v.product,
                  token=v.token)) == before


def test_listing_needs_its_fields(vendor_a):
    b = problem(post("/vendor/products", token=vendor_a.token, json={}),
                422, "validation_failed")
    assert error_fields(b) >= {"title", "category", "unit", "price_fen"}
    b = problem(patch("/vendor/products/%d" % vendor_a.product,
                      token=vendor_a.token, json={}), 422,
                "validation_failed")
    assert error_fields(b) == {"body"}
    problem(post("/vendor/products", token=vendor_a.token,
                 json=listing(category="nosuch")), 422, "validation_failed")


def test_listing_unknown_category_names_the_field(vendor_a):
    b = problem(post("/vendor/products", token=vendor_a.token,
                     json=listing(category="nosuch")), 422,
                "validation_failed")
    assert error_fields(b) == {"category"}


def test_stock_absolute_and_delta(vendor_a):
    v = vendor_a
    pid = new_product(v, publish=False, stock=0)
    url = "/vendor/products/%d/stock" % pid

    def stock():
        return ok(get("/vendor/products/%d" % pid, token=v.token))["stock"]
    assert ok(put(url, token=v.token, json={"stock": 5}))["stock"] == 5
    assert ok(put(url, token=v.token, json={"delta": 3}))["stock"] == 8
    assert ok(put(url, token=v.token, json={"delta": -8}))["stock"] == 0
    problem(put(url, token=v.token, json={"delta": -1}), 409,
            "insufficient_stock")
    assert stock() == 0
    assert ok(put(url, token=v.token, json={"stock": 10}))["stock"] == 10
    problem(put(url, token=v.token, json={"delta": -11}), 409,
            "insufficient_stock")
    assert stock() == 10
    for body in ({}, {"stock": 1, "delta": 1}, {"stock": -1},
                 {"stock": "7"}, {"delta": 1.5}, {"stock": 10000001}):
        problem(put(url, token=v.token, json=body), 422,
                "validation_failed")
    assert stock() == 10


def test_stock_delta_stays_within_the_limit(vendor_a):
    """A delta cannot take the stock past the 10,000,000 that {stock}
    allows (once, past the integer range, it was a 500)."""
    v = vendor_a
    pid = new_product(v, publish=False, stock=0)
    url = "/vendor/products/%d/stock" % pid
    assert ok(put(url, token=v.token,
                  json={"stock": 10000000}))["stock"] == 10000000
    r = put(url, token=v.token, json={"delta": 10000000})
    assert r.status_code in (409, 422), (r.status_code, r.text[:200])
    problem(r, r.status_code)
    assert val("SELECT stock FROM products WHERE id = %d" % pid) == 10000000


def test_price_tiers_and_certifications(vendor_a):
    v = vendor_a
    body = listing(price_fen=1000,
                   price_tiers=[{"min_qty": 50, "unit_price_fen": 800},
                                {"min_qty": 10, "unit_price_fen": 900}],
                   certifications=[
                       {"kind": "green", "number": "LB-" + tag(),
                        "valid_until": date_in(400)},
                       {"kind": "organic", "number": "OR-" + tag(),
                        "valid_until": date_in(-1)},
                       {"kind": "gi", "number": "GI-" + tag(),
                        "valid_until": date_in(0)}])
    b = ok(post("/vendor/products", token=v.token, json=body), 201)
    pid = b["id"]
    track(pid)
    assert b["price_tiers"] == [{"min_qty": 10, "unit_price_fen": 900},
                                {"min_qty": 50, "unit_price_fen": 800}]
    assert {c["kind"] for c in b["certifications"]} == {"green", "organic",
                                                        "gi"}
    ok(post("/vendor/products/%d/publish" % pid, token=v.token))
    got = listed_in_catalog(pid)
    assert got["price_tiers"] == [{"min_qty": 1, "unit_price_fen": 1000},
                                  {"min_qty": 10, "unit_price_fen": 900},
                                  {"min_qty": 50, "unit_price_fen": 800}]
    certs = {c["kind"]: c for c in got["certifications"]}
    assert certs["green"]["valid_until"] == date_in(400)
    # Valid through its last day; expired the day after.
    assert "green" in got["labels"] and "gi" in got["labels"]
    assert "organic" not in got["labels"]
    assert set(got["labels"]) >= {"poverty_county", "qualified_vendor"}
    for kind, found in (("green", True), ("gi", True), ("organic", False)):
        lst = ok(get("/products", params={"vendor": v.id,
                                          "certification": kind,
                                          "per_page": 100}))
        assert (pid in {i["id"] for i in lst["items"]}) is found, kind
        for i in lst["items"]:
            assert kind in i["labels"], i
    lst = ok(get("/products", params={"vendor": v.id, "per_page": 100}))
    item = [i for i in lst["items"] if i["id"] == pid][0]
    assert "organic" not in item["labels"] and "green" in item["labels"]

    # Replaced as a whole by a PATCH; an empty list clears them.
    ok(patch("/vendor/products/%d" % pid, token=v.token,
             json={"price_tiers": [], "certifications": []}))

    def cleared():
        g = ok(catalog_product(pid))
        assert g["price_tiers"] == [{"min_qty": 1, "unit_price_fen": 1000}]
        assert g["certifications"] == []
        assert not {"green", "gi", "organic"} & set(g["labels"])
    eventually(cleared)
    # Two tiers of one quantity are refused, and change nothing.
    problem(patch("/vendor/products/%d" % pid, token=v.token, json={
        "price_tiers": [{"min_qty": 5, "unit_price_fen": 900},
                        {"min_qty": 5, "unit_price_fen": 800}]}), 422,
        "validation_failed")
    assert ok(get("/vendor/products/%d" % pid,
                  token=v.token))["price_tiers"] == []


def test_batches_and_trace_codes(vendor_a):
    v = vendor_a
    pid = new_product(v)
    url = "/vendor/products/%d/batches" % pid
    codes = []
    for i in range(3):
        b = ok(post(url, token=v.token, json={
            "code": "B%d-%s" % (i, tag()), "produced_on": "2026-09-0%d"
            % (i + 1), "base": "武定县狮山镇茶园",
            "inspection": {"result": "pass", "report_no": "R-%d" % i,
                           "inspected_on": "2026-09-10"}}), 201)
        assert TRACE_RE.match(b["trace_code"]), b
        assert b["base"] == "武定县狮山镇茶园"
        assert b["inspection"]["result"] == "pass"
        codes.append((b["code"], b["trace_code"]))
    traces = [t for _, t in codes]
    assert len(set(traces)) == 3
    assert val("SELECT count(*) FROM batches WHERE trace_code IN (%s)"
               % ",".join(lit(t) for t in traces)) == 3
    # Without an inspection: pending.
    b = ok(post(url, token=v.token, json={
        "code": "B9-" + tag(), "produced_on": "2026-10-01",
        "base": "基地"}), 201)
    assert b["inspection"]["result"] == "pending"
    assert TRACE_RE.match(b["trace_code"])
    for code, trace in codes:
        t = ok(get("/trace/" + trace))
        assert t["code"] == trace
        assert t["product"]["id"] == pid
        assert t["vendor"]["id"] == v.id
        assert t["county"]["code"] == v.county
        assert t["batch"]["code"] == code
        assert t["batch"]["base"] == "武定县狮山镇茶园"
        assert t["batch"]["inspection"]["report_no"].startswith("R-")
        assert ok(get("/trace/" + trace.lower()))["code"] == trace

    def in_detail():
        got = ok(catalog_product(pid))
        assert {b["trace_code"] for b in got["batches"]} >= set(traces)
    eventually(in_detail)
    # The same batch code twice is 409; nothing is added.
    n = val("SELECT count(*) FROM batches WHERE product_id = %d" % pid)
    pb = problem(post(url, token=v.token, json={
        "code": codes[0][0], "produced_on": "2026-09-01", "base": "x"}),
        409, "batch_exists")
    assert pb["detail"] == "this product has a batch with this code"
    for bad, field in (({"produced_on": "2026-13-01"}, "produced_on"),
                       ({"base": ""}, "base"),
                       ({"code": ""}, "code"),
                       ({"inspection": {"result": "great"}},
                        "inspection.result")):
        body = {"code": "BX-" + tag(), "produced_on": "2026-09-01",
                "base": "基地"}
        body.update(bad)
        b = problem(post(url, token=v.token, json=body), 422,
                    "validation_failed")
        assert field in error_fields(b)
    assert val("SELECT count(*) FROM batches WHERE product_id = %d"
               % pid) == n
    problem(get("/trace/" + "A" * 16), 404, "not_found")


# ------------------------------------------------------------ another's


def test_another_vendors_objects_are_404(vendor_a, vendor_b):
    a, b = vendor_a, vendor_b
    pid = new_product(a, stock=50)
    ok(post("/vendor/products/%d/batches" % pid, token=a.token, json={
        "code": "A-" + tag(), "produced_on": "2026-09-01", "base": "A"}),
        201)
    before = ok(get("/vendor/products/%d" % pid, token=a.token))
    # A citizen's order with a part of vendor a.
    buyer = make_user(tag="vend-buyer")
    cart_put(buyer.token, pid, 1)
    order = ok(checkout(buyer.token), 201)
    part = [p for p in order["parts"] if p["vendor_id"] == a.id][0]
    try:
        pending = new_vendor(approve=False)
        for tok in (b.token, pending.token):
            p = "/vendor/products/%d" % pid
            problem(get(p, token=tok), 404, "not_found")
            problem(patch(p, token=tok, json={"title": "抢来的"}), 404,
                    "not_found")
            problem(patch(p, token=tok, json={"price_tiers": [],
                                              "certifications": []}),
                    404, "not_found")
            problem(post(p + "/publish", token=tok), 404, "not_found")
            problem(post(p + "/unpublish", token=tok), 404, "not_found")
            problem(put(p + "/stock", token=tok, json={"stock": 0}), 404,
                    "not_found")
            problem(put(p + "/stock", token=tok, json={"delta": -1}), 404,
                    "not_found")
            problem(post(p + "/batches", token=tok, json={
                "code": "X-" + tag(), "produced_on": "2026-09-01",
                "base": "X"}), 404, "not_found")
            problem(post("/vendor/orders/%d/ship" % part["id"], token=tok,
                         json={"carrier": "顺丰", "tracking_no": "SF1"}),
                    404, "not_found")
            mine = ok(get("/vendor/products", token=tok,
                          params={"per_page": 100}))
            assert pid not in {i["id"] for i in mine["items"]}
            orders = ok(get("/vendor/orders", token=tok,
                            params={"per_page": 100}))
            assert part["id"] not in {i["id"] for i in orders["items"]}
        after = ok(get("/vendor/products/%d" % pid, token=a.token))
        # Only the order took stock (given back if the pay deadline
        # cancelled it already).
        assert after["stock"] in (before["stock"] - 1, before["stock"])
        for k in ("title", "status", "price_fen", "price_tiers",
                  "certifications", "batches", "images", "category"):
            assert after[k] == before[k], k
        # Not shipped (unpaid: pending, or cancelled by the pay deadline).
        assert val("SELECT status FROM order_parts WHERE id = %d"
                   % part["id"]) in ("pending", "cancelled")
        assert val("SELECT count(*) FROM shipments WHERE part_id = %d"
                   % part["id"]) == 0
    finally:
        post("/orders/%d/cancel" % order["id"], token=buyer.token)


def test_unknown_product_is_404(vendor_a):
    missing = val("SELECT coalesce(max(id), 0) + 100000 FROM products")
    p = "/vendor/products/%d" % missing
    tok = vendor_a.token
    problem(get(p, token=tok), 404, "not_found")
    problem(patch(p, token=tok, json={"title": "x"}), 404, "not_found")
    problem(post(p + "/publish", token=tok), 404, "not_found")
    problem(put(p + "/stock", token=tok, json={"stock": 1}), 404,
            "not_found")
    problem(post(p + "/batches", token=tok, json={
        "code": "X", "produced_on": "2026-09-01", "base": "X"}), 404,
        "not_found")


# ------------------------------------------------------------ who


def vendor_routes(pid, part_id=1):
    p = "/vendor/products/%d" % pid
    return [("POST", "/vendors", application()),
            ("GET", "/vendor/products", None),
            ("POST", "/vendor/products", listing()),
            ("GET", p, None),
            ("PATCH", p, {"title": "x"}),
            ("POST", p + "/publish", None),
            ("POST", p + "/unpublish", None),
            ("PUT", p + "/stock", {"stock": 1}),
            ("POST", p + "/batches", {"code": "X", "produced_on":
                                      "2026-09-01", "base": "X"}),
            ("GET", "/vendor/orders", None),
            ("POST", "/vendor/orders/%d/ship" % part_id,
             {"carrier": "顺丰", "tracking_no": "SF1"}),
            ("GET", "/vendor/statement", None)]


def admin_routes(vid, pid):
    return [("GET", "/admin/vendors", None),
            ("POST", "/admin/vendors/%d/review" % vid,
             {"decision": "approve", "qualified_until": "2099-01-01"}),
            ("POST", "/admin/vendors/%d/credit-events" % vid,
             {"kind": "x", "points": -100}),
            ("GET", "/admin/boost-rules", None),
            ("POST", "/admin/boost-rules", {"name": "x", "weight": 1,
                                            "placements": ["search"]}),
            ("PATCH", "/admin/boost-rules/1", {"weight": 1}),
            ("GET", "/admin/campaigns", None),
            ("POST", "/admin/campaigns", {
                "slug": "x-" + tag(), "title": "x",
                "starts_at": "2099-01-01T00:00:00Z",
                "ends_at": "2099-01-02T00:00:00Z"}),
            ("PATCH", "/admin/campaigns/yunpin-community", {"title": "x"}),
            ("POST", "/admin/products/%d/bxbp" % pid, None),
            ("DELETE", "/admin/products/%d/bxbp" % pid, None)]


def test_vendor_routes_need_a_vendor(vendor_a):
    v = vendor_a
    state = row("SELECT status, title, stock FROM products WHERE id = %d"
                % v.product)
    n_vendors = val("SELECT count(*) FROM vendors")
    for method, path, body in vendor_routes(v.product):
        r = shop.call(method, path, json=body)
        problem(r, 401, "unauthenticated")
        for who in ("citizen", "admin"):
            r = shop.call(method, path, token=demo_token(who), json=body)
            problem(r, 403, "forbidden")
        r = shop.call(method, path, token="not.a.token", json=body)
        problem(r, 401, "unauthenticated")
    assert row("SELECT status, title, stock FROM products WHERE id = %d"
               % v.product) == state
    assert val("SELECT count(*) FROM vendors") == n_vendors


def test_admin_routes_need_an_operator(vendor_a):
    v = vendor_a
    state = row("SELECT status, credit_score, qualified_until::text "
                "FROM vendors WHERE id = %d" % v.id)
    counts = row("SELECT (SELECT count(*) FROM boost_rules) AS rules, "
                 "(SELECT count(*) FROM campaigns) AS campaigns, "
                 "(SELECT count(*) FROM bxbp_designations) AS bxbp, "
                 "(SELECT count(*) FROM credit_events) AS credit")
    for method, path, body in admin_routes(v.id, v.product):
        problem(shop.call(method, path, json=body), 401, "unauthenticated")
        for tok in (demo_token("citizen"), v.token):
            problem(shop.call(method, path, token=tok, json=body), 403,
                    "forbidden")
    assert row("SELECT status, credit_score, qualified_until::text "
               "FROM vendors WHERE id = %d" % v.id) == state
    assert row("SELECT (SELECT count(*) FROM boost_rules) AS rules, "
               "(SELECT count(*) FROM campaigns) AS campaigns, "
               "(SELECT count(*) FROM bxbp_designations) AS bxbp, "
               "(SELECT count(*) FROM credit_events) AS credit") == counts


def test_auth_comes_before_the_body(vendor_a):
    for path in ("/vendors", "/admin/boost-rules"):
        problem(shop.call("POST", path, data="{not json",
                          headers={"Content-Type": "application/json"}),
                401, "unauthenticated")
        problem(shop.call("POST", path, token=demo_token("citizen")), 403,
                "forbidden")
