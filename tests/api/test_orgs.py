"""Organisations (以购代捐): creation, invitations, members and roles and
their removal, who sees what,
yearly plans, GET /me's org_ids, and certificates that anyone can verify
and nobody can forge.  The report's numbers, which need paid bulk orders,
are in test_bulk_orders.py.

Helpers here (make_org, org_team, credit_code, ...) are shared with
test_bulk_orders.py."""

import base64
import datetime
import glob
import hashlib
import hmac
import json
import os
import random
import sys
import threading
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

from shop import (  # noqa: E402,F401
    API_URL, ROOT, call, delete, error_fields, get, make_user, make_users,
    ok, post, problem, psql, put, row, rows, run_parallel, val)

# ------------------------------------------------------------ helpers

UCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
UCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
_rng = random.SystemRandom()


def credit_code(valid=True):
    """A random 统一社会信用代码 (GB 32100-2015) of a Shanghai enterprise;
    valid=False gives it a wrong check character."""
    body = "91310000" + "".join(_rng.choice("0123456789") for _ in range(9))
    c = 31 - sum(UCC_CHARS.index(ch) * w for ch, w in zip(body, UCC_W)) % 31
    check = UCC_CHARS[0 if c == 31 else c]
    if not valid:
        check = UCC_CHARS[(UCC_CHARS.index(check) + 1) % len(UCC_CHARS)]
    return body + check


def shanghai_today():
    return (datetime.datetime.now(datetime.timezone.utc) +
            datetime.timedelta(hours=8)).date()


def this_year():
    return shanghai_today().year


def make_org(owner, name=None, kind="enterprise"):
    body = {"name": name or "测试企业 " + uuid.uuid4().hex[:8],
            "kind": kind, "credit_code": credit_code()}
    return ok(post("/orgs", token=owner.token, json=body), 201)


def invite(admin, org_id, email, role):
    return post("/orgs/%d/members" % org_id, token=admin.token,
                json={"email": email, "role": role})


def invitation_of(user, org_id, role):
    """The user's open invitation to org_id in role."""
    items = ok(get("/me/invitations", token=user.token))["items"]
    found = [i for i in items if i["org"]["id"] == org_id and
             i["role"] == role]
    assert len(found) == 1, items
    return found[0]


def add_member(admin, org_id, user, role):
    """admin invites user to the role, and user accepts: the accept's
    answer."""
    assert ok(invite(admin, org_id, user.email, role), 202) == {
        "status": "invited"}
    inv = invitation_of(user, org_id, role)
    return ok(post("/me/invitations/%d/accept" % inv["id"],
                   token=user.token))


def put_plan(admin, org_id, year=None, budget=200000000, share=3000,
             reserved=None, threshold=5000000):
    body = {"budget_fen": budget, "approval_threshold_fen": threshold}
    if reserved is not None:
        body["reserved_fen"] = reserved
    else:
        body["reserved_share_bps"] = share
    return put("/orgs/%d/plan/%d" % (org_id, year or this_year()),
               token=admin.token, json=body)


class Team:
    """An organisation with an admin, buyers and approvers of its own."""

    def __init__(self, org, admin, buyers, approvers, outsider):
        self.org = org
        self.id = org["id"]
        self.admin = admin
        self.buyers = buyers
        self.buyer = buyers[0]
        self.approvers = approvers
        self.approver = approvers[0] if approvers else None
        self.outsider = outsider

    def path(self, rest=""):
        return "/orgs/%d%s" % (self.id, rest)


def org_team(buyers=1, approvers=1, plan=True, threshold=5000000,
             budget=200000000, share=3000):
    """A fresh organisation: admin (its creator), buyers, approvers, an
    outsider, and this year's plan unless plan is False."""
    users = make_users(1 + buyers + approvers + 1, tag="orgs")
    admin, outsider = users[0], users[-1]
    org = make_org(admin)
    bs = users[1:1 + buyers]
    aps = users[1 + buyers:1 + buyers + approvers]
    for u in bs:
        add_member(admin, org["id"], u, "buyer")
    for u in aps:
        add_member(admin, org["id"], u, "approver")
    if plan:
        ok(put_plan(admin, org["id"], budget=budget, share=share,
                    threshold=threshold))
    return Team(org, admin, bs, aps, outsider)


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_sign(header, payload, key):
    signing = (b64url(json.dumps(header, separators=(",", ":"))) + "." +
               b64url(json.dumps(payload, separators=(",", ":"),
                                 ensure_ascii=False)))
    sig = hmac.new(key, signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64url(sig)


def jwt_payload(token):
    return json.loads(b64url_decode(token.split(".")[1]))


def verify(token):
    return get("/certificates/verify", params={"token": token})


def access_key_of(token):
    """The server's JWT_SECRET, if one of the instances' secrets under
    var/ signs this access token (so the test can forge with it)."""
    h, p, s = token.split(".")
    for f in glob.glob(os.path.join(ROOT, "var", "*", "secrets.env")):
        try:
            with open(f) as fh:
                env = dict(line.strip().split("=", 1) for line in fh
                           if "=" in line)
        except OSError:
            continue
        key = env.get("JWT_SECRET", "").encode()
        if key and b64url(hmac.new(key, (h + "." + p).encode(),
                                   hashlib.sha256).digest()) == s:
            return key
    return None


# ------------------------------------------------------------ create


def test_create_org_answers_201_and_the_caller_is_its_admin():
    u = make_user(tag="orgs")
    code = credit_code()
    o = ok(post("/orgs", token=u.token, json={
        "name": "上海市对口支援测试机关", "kind": "agency",
        "credit_code": code}), 201)
    assert isinstance(o["id"], int)
    assert o["name"] == "上海市对口支援测试机关"
    assert o["kind"] == "agency"
    assert o["credit_code"] == code
    assert o["my_roles"] == ["admin"]
    assert o["members"] == [{"user_id": u.id, "email": u.email,
                             "name": o["members"][0]["name"],
                             "roles": ["admin"]}]
    assert o["plans"] == []
    me = ok(get("/me", token=u.token))
    assert me["org_ids"] == [o["id"]]
    listed = ok(get("/orgs", token=u.token))
    assert [x["id"] for x in listed["items"]] == [o["id"]]
    assert listed["items"][0]["my_roles"] == ["admin"]


@pytest.mark.parametrize("kind", ["enterprise", "agency", "soe", "ngo"])
def test_every_kind_of_organisation(kind):
    u = make_user(tag="orgs")
    assert make_org(u, kind=kind)["kind"] == kind


def test_create_org_validation():
    u = make_user(tag="orgs")
    b = problem(post("/orgs", token=u.token, json={
        "name": "", "kind": "company", "credit_code": credit_code(False)}),
        422, "validation_failed")
    assert error_fields(b) == {"name", "kind", "credit_code"}
    lettered = credit_code()
    while not lettered[-1].isalpha():
        lettered = credit_code()
    for bad in ("91310000ABC", "9131000013226085IU", lettered.lower(),
                lettered + "0", None, 91310000):
        b = problem(post("/orgs", token=u.token, json={
            "name": "x", "kind": "ngo", "credit_code": bad}), 422)
        assert error_fields(b) == {"credit_code"}
    problem(post("/orgs", token=u.token, data="{not json",
                 headers={"Content-Type": "application/json"}),
            400, "invalid_json")
    problem(post("/orgs", json={"name": "x", "kind": "ngo",
                                "credit_code": credit_code()}),
            401, "unauthenticated")
    assert ok(get("/me", token=u.token))["org_ids"] == []


def test_a_credit_code_registers_one_organisation():
    a, b = make_users(2, tag="orgs")
    code = credit_code()
    ok(post("/orgs", token=a.token, json={
        "name": "甲", "kind": "soe", "credit_code": code}), 201)
    problem(post("/orgs", token=b.token, json={
        "name": "乙", "kind": "soe", "credit_code": code}),
        409, "credit_code_taken")
    assert ok(get("/me", token=b.token))["org_ids"] == []


# ------------------------------------------------------------ members


def test_members_join_by_accepting_an_invitation():
    admin, u, v = make_users(3, tag="orgs")
    org = make_org(admin)
    ok(invite(admin, org["id"], u.email.upper(), "buyer"), 202)
    # Not a member before accepting.
    assert ok(get("/me", token=u.token))["org_ids"] == []
    problem(get("/orgs/%d" % org["id"], token=u.token), 404, "not_found")
    inv = invitation_of(u, org["id"], "buyer")
    assert inv["org"] == {"id": org["id"], "name": org["name"],
                          "kind": org["kind"]}
    assert inv["invited_by"]["id"] == admin.id
    assert inv["created_at"] and inv["expires_at"]
    r = ok(post("/me/invitations/%d/accept" % inv["id"], token=u.token))
    assert r["status"] == "accepted" and r["my_roles"] == ["buyer"]
    assert ok(get("/me/invitations", token=u.token))["items"] == []
    # Answered once only.
    problem(post("/me/invitations/%d/accept" % inv["id"], token=u.token),
            404, "not_found")
    r = add_member(admin, org["id"], u, "approver")
    assert r["my_roles"] == ["approver", "buyer"]
    # Inviting to a role held changes nothing when accepted.
    assert add_member(admin, org["id"], u, "buyer")["my_roles"] == [
        "approver", "buyer"]
    b = problem(invite(admin, org["id"], v.email, "owner"), 422)
    assert error_fields(b) == {"role"}
    b = problem(invite(admin, org["id"], "not-an-email", "buyer"), 422)
    assert error_fields(b) == {"email"}
    # A second admin may manage members too.
    add_member(admin, org["id"], v, "admin")
    add_member(v, org["id"], admin, "buyer")
    o = ok(get("/orgs/%d" % org["id"], token=u.token))
    assert o["my_roles"] == ["approver", "buyer"]
    assert {m["user_id"]: m["roles"] for m in o["members"]} == {
        admin.id: ["admin", "buyer"], u.id: ["approver", "buyer"],
        v.id: ["admin"]}
    assert ok(get("/me", token=u.token))["org_ids"] == [org["id"]]


def test_invitation_says_nothing_of_the_address():
    """Known and unknown addresses get the same answer, naming no one."""
    admin, known = make_users(2, tag="orgs")
    org = make_org(admin)
    unknown = "nobody-%s@x.bangfu.cn" % uuid.uuid4().hex[:8]
    a = invite(admin, org["id"], known.email, "buyer")
    b = invite(admin, org["id"], unknown, "buyer")
    assert a.status_code == b.status_code == 202
    assert a.content == b.content
    assert a.json() == {"status": "invited"}
    drop = {"x-request-id", "date"}
    assert ({k.lower(): v for k, v in a.headers.items()
             if k.lower() not in drop} ==
            {k.lower(): v for k, v in b.headers.items()
             if k.lower() not in drop})
    # Nobody was added; the known address sees its invitation.
    o = ok(get("/orgs/%d" % org["id"], token=admin.token))
    assert [m["user_id"] for m in o["members"]] == [admin.id]
    invitation_of(known, org["id"], "buyer")


def test_declined_lapsed_and_others_invitations():
    admin, u, w = make_users(3, tag="orgs")
    org = make_org(admin)
    ok(invite(admin, org["id"], u.email, "buyer"), 202)
    ok(invite(admin, org["id"], u.email, "approver"), 202)
    buyer = invitation_of(u, org["id"], "buyer")
    appr = invitation_of(u, org["id"], "approver")
    # Another user's invitation is 404, whatever they try.
    for action in ("accept", "decline"):
        problem(post("/me/invitations/%d/%s" % (buyer["id"], action),
                     token=w.token), 404, "not_found")
    problem(post("/me/invitations/999999999/accept", token=u.token), 404,
            "not_found")
    assert ok(get("/me/invitations", token=w.token))["items"] == []
    # Declined: not a member, and gone from the list.
    r = ok(post("/me/invitations/%d/decline" % buyer["id"], token=u.token))
    assert r["status"] == "declined" and r["my_roles"] == []
    problem(post("/me/invitations/%d/accept" % buyer["id"], token=u.token),
            404, "not_found")
    # Lapsed after 14 days.
    psql("UPDATE org_invitations SET created_at = now() - interval "
         "'14 days 1 minute' WHERE id = %d" % appr["id"])
    assert ok(get("/me/invitations", token=u.token))["items"] == []
    problem(post("/me/invitations/%d/accept" % appr["id"], token=u.token),
            404, "not_found")
    assert ok(get("/me", token=u.token))["org_ids"] == []
    # Inviting again renews it.
    ok(invite(admin, org["id"], u.email, "approver"), 202)
    assert invitation_of(u, org["id"], "approver")["id"] == appr["id"]
    problem(get("/me/invitations"), 401, "unauthenticated")


def test_invitation_of_an_admin_since_removed_is_void():
    admin, other, u = make_users(3, tag="orgs")
    org = make_org(admin)
    add_member(admin, org["id"], other, "admin")
    ok(invite(other, org["id"], u.email, "admin"), 202)
    inv = invitation_of(u, org["id"], "admin")
    assert delete("/orgs/%d/members/%d" % (org["id"], other.id),
                  token=admin.token).status_code == 204
    problem(post("/me/invitations/%d/accept" % inv["id"], token=u.token),
            404, "not_found")
    assert ok(get("/me", token=u.token))["org_ids"] == []


def test_invitations_are_rate_limited_per_admin():
    admin, other = make_users(2, tag="orgs")
    org = make_org(admin)
    org2 = make_org(other)
    limit = 20  # RATE_LIMIT_INVITES' default
    for i in range(limit):
        ok(invite(admin, org["id"], "n%d-%s@x.bangfu.cn" %
                  (i, uuid.uuid4().hex[:6]), "buyer"), 202)
    r = invite(admin, org["id"], "late@x.bangfu.cn", "buyer")
    problem(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # Another admin is not held.
    ok(invite(other, org2["id"], "late@x.bangfu.cn", "buyer"), 202)
    assert val("SELECT count(*) FROM org_invitations WHERE org_id = %d"
               % org["id"]) == limit


# ------------------------------------------------------------ removal


def test_admin_removes_members_and_roles():
    t = org_team(buyers=2, approvers=1, plan=False)
    b1, b2 = t.buyers
    add_member(t.admin, t.id, b1, "approver")
    r = delete(t.path("/members/%d/roles/approver" % b1.id),
               token=t.admin.token)
    assert r.status_code == 204 and r.content == b""
    assert ok(get(t.path(), token=b1.token))["my_roles"] == ["buyer"]
    problem(delete(t.path("/members/%d/roles/approver" % b1.id),
                   token=t.admin.token), 404, "not_found")
    problem(delete(t.path("/members/%d/roles/owner" % b1.id),
                   token=t.admin.token), 422, "validation_failed")
    assert delete(t.path("/members/%d" % b1.id),
                  token=t.admin.token).status_code == 204
    problem(get(t.path(), token=b1.token), 404, "not_found")
    assert ok(get("/me", token=b1.token))["org_ids"] == []
    problem(delete(t.path("/members/%d" % b1.id), token=t.admin.token),
            404, "not_found")
    # A member who is not an admin removes no one else: 403; an outsider
    # sees nothing: 404.
    problem(delete(t.path("/members/%d" % t.approver.id), token=b2.token),
            403, "forbidden")
    problem(delete(t.path("/members/%d/roles/buyer" % b2.id),
                   token=b2.token), 403, "forbidden")
    problem(delete(t.path("/members/%d" % b2.id), token=t.outsider.token),
            404, "not_found")
    # Anyone may leave.
    assert delete(t.path("/members/%d" % b2.id),
                  token=b2.token).status_code == 204
    problem(get(t.path(), token=b2.token), 404, "not_found")
    problem(delete(t.path("/members/%d" % t.admin.id)), 401,
            "unauthenticated")


def test_the_last_admin_stays():
    admin, second = make_users(2, tag="orgs")
    org = make_org(admin)
    path = "/orgs/%d/members/%d" % (org["id"], admin.id)
    problem(delete(path, token=admin.token), 409, "last_admin")
    problem(delete(path + "/roles/admin", token=admin.token), 409,
            "last_admin")
    add_member(admin, org["id"], admin, "buyer")
    # Other roles go; the admin role stays.
    assert delete(path + "/roles/buyer",
                  token=admin.token).status_code == 204
    add_member(admin, org["id"], second, "admin")
    assert delete(path, token=admin.token).status_code == 204
    o = ok(get("/orgs/%d" % org["id"], token=second.token))
    assert [(m["user_id"], m["roles"]) for m in o["members"]] == [
        (second.id, ["admin"])]


def test_two_admins_removing_each_other_leave_one():
    for _ in range(3):
        a, b = make_users(2, tag="orgs")
        org = make_org(a)
        add_member(a, org["id"], b, "admin")
        barrier = threading.Barrier(2)

        def go(pair):
            me, them = pair
            barrier.wait()
            return delete("/orgs/%d/members/%d" % (org["id"], them.id),
                          token=me.token)

        res = run_parallel(go, [(a, b), (b, a)], workers=2)
        # One wins; the other, removed meanwhile or now the last admin,
        # removes no one.
        codes = sorted(r.status_code for r in res)
        assert codes in ([204, 404], [204, 409]), [r.text for r in res]
        assert val("SELECT count(*) FROM org_members WHERE org_id = %d "
                   "AND role = 'admin'" % org["id"]) == 1


def test_only_admins_manage_members_and_plans():
    t = org_team(buyers=1, approvers=1)
    for member in (t.buyer, t.approver):
        problem(post(t.path("/members"), token=member.token,
                     json={"email": t.outsider.email, "role": "buyer"}),
                403, "forbidden")
        problem(put_plan(member, t.id), 403, "forbidden")
    assert t.outsider.id not in {
        m["user_id"] for m in ok(get(t.path(), token=t.buyer.token))[
            "members"]}


def test_non_members_see_nothing_404():
    t = org_team(buyers=1, approvers=0)
    other = org_team(buyers=1, approvers=0)
    y = this_year()
    for who in (t.outsider, other.admin, other.buyer):
        for method, path, body in (
                ("GET", t.path(), None),
                ("POST", t.path("/members"),
                 {"email": who.email, "role": "admin"}),
                ("PUT", t.path("/plan/%d" % y),
                 {"budget_fen": 1, "reserved_fen": 0,
                  "approval_threshold_fen": 0}),
                ("GET", t.path("/plan/%d" % y), None),
                ("GET", t.path("/bulk-orders"), None),
                ("POST", t.path("/bulk-orders"), {"purpose": "welfare"}),
                ("GET", t.path("/report/%d" % y), None),
                ("GET", t.path("/certificates/%d" % y), None)):
            problem(call(method, path, token=who.token, json=body),
                    404, "not_found")
    # An organisation that does not exist is the same 404.
    problem(get("/orgs/999999999", token=t.admin.token), 404, "not_found")
    problem(get("/orgs/999999999/report/%d" % y, token=t.admin.token),
            404, "not_found")
    problem(get(t.path(), token=None), 401, "unauthenticated")


# ------------------------------------------------------------ plans


def test_plan_from_a_share():
    admin = make_user(tag="orgs")
    org = make_org(admin)
    y = this_year()
    p = ok(put_plan(admin, org["id"], budget=200000000, share=3000,
                    threshold=5000000))
    assert p == {**p, "org_id": org["id"], "year": y,
                 "budget_fen": 200000000, "reserved_fen": 60000000,
                 "reserved_share_bps": 3000, "reserved_basis": "share",
                 "approval_threshold_fen": 5000000,
                 "updated_by": admin.id}
    assert ok(get("/orgs/%d/plan/%d" % (org["id"], y),
                  token=admin.token)) == p
    # Half up to the fen: 1 bps of 5000 fen is 0.5 fen.
    p = ok(put_plan(admin, org["id"], y + 1, budget=5000, share=1,
                    threshold=0))
    assert p["reserved_fen"] == 1


def test_plan_from_an_amount_replaces_the_year():
    admin, buyer = make_users(2, tag="orgs")
    org = make_org(admin)
    add_member(admin, org["id"], buyer, "buyer")
    y = this_year()
    ok(put_plan(admin, org["id"], budget=1000000, share=5000, threshold=1))
    p = ok(put_plan(admin, org["id"], budget=300000, reserved=100000,
                    threshold=20000))
    assert (p["reserved_fen"], p["reserved_share_bps"],
            p["reserved_basis"]) == (100000, 3333, "amount")
    # Members read it; one plan per year; every version is kept.
    assert ok(get("/orgs/%d/plan/%d" % (org["id"], y),
                  token=buyer.token)) == p
    o = ok(get("/orgs/%d" % org["id"], token=buyer.token))
    assert [x["year"] for x in o["plans"]] == [y]
    assert val("SELECT count(*) FROM procurement_plan_history "
               "WHERE org_id = %d" % org["id"]) == 2
    problem(get("/orgs/%d/plan/%d" % (org["id"], y - 1), token=buyer.token),
            404, "not_found")


def test_plan_validation():
    admin = make_user(tag="orgs")
    org = make_org(admin)
    path = "/orgs/%d/plan/%d" % (org["id"], this_year())
    cases = [
        ({"budget_fen": 100, "approval_threshold_fen": 0},
         {"reserved_fen"}),
        ({"budget_fen": 100, "reserved_fen": 10, "reserved_share_bps": 100,
          "approval_threshold_fen": 0}, {"reserved_fen"}),
        ({"budget_fen": 100, "reserved_fen": 101,
          "approval_threshold_fen": 0}, {"reserved_fen"}),
        ({"budget_fen": 100, "reserved_fen": -1,
          "approval_threshold_fen": 0}, {"reserved_fen"}),
        ({"budget_fen": 100, "reserved_share_bps": 10001,
          "approval_threshold_fen": 0}, {"reserved_share_bps"}),
        ({"budget_fen": -5, "reserved_share_bps": 100,
          "approval_threshold_fen": 0}, {"budget_fen"}),
        ({"budget_fen": "100", "reserved_share_bps": 100,
          "approval_threshold_fen": 0}, {"budget_fen"}),
        ({"budget_fen": 100, "reserved_share_bps": 1.5,
          "approval_threshold_fen": 0}, {"reserved_share_bps"}),
        ({"budget_fen": 100, "reserved_share_bps": 100},
         {"approval_threshold_fen"}),
        ({"budget_fen": 100, "reserved_share_bps": 100,
          "approval_threshold_fen": -1}, {"approval_threshold_fen"}),
    ]
    for body, fields in cases:
        b = problem(put(path, token=admin.token, json=body), 422,
                    "validation_failed")
        assert error_fields(b) == fields, (body, b)
    b = problem(put("/orgs/%d/plan/1999" % org["id"], token=admin.token,
                    json={"budget_fen": 1, "reserved_fen": 0,
                          "approval_threshold_fen": 0}), 422)
    assert error_fields(b) == {"year"}
    problem(get("/orgs/%d/plan/2101" % org["id"], token=admin.token), 422)
    assert ok(get("/orgs/%d" % org["id"], token=admin.token))["plans"] == []


# ------------------------------------------------------------ report


def test_report_of_a_year_without_orders_or_plan():
    t = org_team(buyers=1, approvers=0, plan=False)
    y = this_year() - 1
    r = ok(get(t.path("/report/%d" % y), token=t.buyer.token))
    assert r["spend_fen"] == 0 and r["paired_region_spend_fen"] == 0
    assert r["by_region"] == [] and r["orders"] == 0
    for k in ("share_bps", "reserved_fen", "reserved_share_bps",
              "on_track", "expected_fen", "budget_fen"):
        assert r[k] is None, (k, r)
    # A year gone by with a plan and nothing bought is not on track.
    ok(put_plan(t.admin, t.id, year=y, budget=1000000, share=1000,
                threshold=0))
    r = ok(get(t.path("/report/%d" % y), token=t.buyer.token))
    assert (r["share_bps"], r["reserved_fen"], r["expected_fen"],
            r["on_track"]) == (0, 100000, 100000, False)
    assert r["elapsed_days"] == r["year_days"]
    # A year to come asks for nothing yet.
    ok(put_plan(t.admin, t.id, year=y + 2, budget=1000000, share=1000,
                threshold=0))
    r = ok(get(t.path("/report/%d" % (y + 2)), token=t.buyer.token))
    assert (r["expected_fen"], r["on_track"], r["elapsed_days"]) == (
        0, True, 0)
    problem(get(t.path("/report/1999"), token=t.buyer.token), 422)


# ------------------------------------------------------------ certificates


def test_certificate_of_an_empty_year_verifies():
    t = org_team(buyers=1, approvers=0, plan=False)
    y = this_year()
    c = ok(get(t.path("/certificates/%d" % y), token=t.buyer.token))
    assert c["org"]["id"] == t.id and c["org"]["name"] == t.org["name"]
    assert c["year"] == y and c["amount_fen"] == 0
    assert c["by_region"] == [] and c["households_linked"] == 0
    v = ok(verify(c["token"]))
    assert v["valid"] is True
    for k in ("org", "year", "amount_fen", "by_region", "households_linked"):
        assert v[k] == c[k], k
    p = jwt_payload(c["token"])
    assert p["iss"] == "bangfu" and p["aud"] == "bangfu-certificate"
    assert p["typ"] == "bangfu-certificate"


def test_forged_and_altered_certificates_are_refused():
    t = org_team(buyers=1, approvers=0, plan=False)
    c = ok(get(t.path("/certificates/%d" % this_year()),
               token=t.buyer.token))
    tok = c["token"]
    h, p, s = tok.split(".")
    payload = jwt_payload(tok)
    bad = []
    # The payload altered, its signature kept.
    more = json.loads(json.dumps(payload))
    more["certificate"]["amount_fen"] = 99999999
    bad.append(h + "." + b64url(json.dumps(more, separators=(",", ":"))) +
               "." + s)
    # The signature altered.
    bad.append(h + "." + p + "." + ("A" if s[0] != "A" else "B") + s[1:])
    # Signed with some other key.
    bad.append(jwt_sign({"alg": "HS256", "typ": "JWT"}, more,
                        b"not-the-certificate-key-0123456789abcdef"))
    # alg none, with and without a signature.
    none = b64url(json.dumps({"alg": "none", "typ": "JWT"}))
    bad.append(none + "." + p + ".")
    bad.append(none + "." + p + "." + s)
    # Another algorithm named in the header.
    bad.append(b64url(json.dumps({"alg": "HS512", "typ": "JWT"})) + "." +
               p + "." + s)
    # An access token is no certificate.
    bad.append(t.buyer.token)
    # Garbage.
    bad += ["garbage", "a.b.c", "..", tok + ".x", tok[:-1], "é" * 10,
            "x" * 1500]
    for b in bad:
        problem(verify(b), 422, "invalid_certificate")
    b = problem(get("/certificates/verify"), 422, "validation_failed")
    assert error_fields(b) == {"token"}
    # And a certificate is no access token.
    problem(get("/me", token=tok), 401, "unauthenticated")
    ok(verify(tok))


def test_certificate_signed_with_the_access_key_is_refused():
    t = org_team(buyers=1, approvers=0, plan=False)
    tok = ok(get(t.path("/certificates/%d" % this_year()),
                 token=t.buyer.token))["token"]
    key = access_key_of(t.buyer.token)
    if key is None:
        pytest.skip("the server's JWT_SECRET is not readable here")
    forged = jwt_sign({"alg": "HS256", "typ": "JWT"}, jwt_payload(tok), key)
    problem(verify(forged), 422, "invalid_certificate")
