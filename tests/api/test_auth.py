"""Accounts: register, login, refresh, logout, /me; bearer tokens; the
per-address rate limits of login and register."""

import http.client
import json
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import (API_URL, DEMO, LOGIN_LIMIT, RATE_WINDOW,
                      REGISTER_LIMIT, Api, assert_problem, b64url,
                      error_fields, fresh_addr, jwt_parts, jwt_sign_hs256,
                      jwt_with_payload, ok_json, unique_email)

# ------------------------------------------------------------ register


def test_register_answers_201_with_the_account(api):
    email = unique_email("reg")
    r, sent = api.register(email=email, name="市民 李雷", role="citizen")
    body = ok_json(r, 201)
    assert set(body) >= {"id", "email", "name", "role"}
    assert isinstance(body["id"], int) and body["id"] > 0
    assert body["email"] == email
    assert body["name"] == "市民 李雷"
    assert body["role"] == "citizen"
    # Nothing of the password comes back.
    assert not any("password" in k or "hash" in k for k in body), body
    assert sent["password"] not in r.text
    assert "$argon2" not in r.text


def test_register_vendor_role_and_login_then_me(api):
    email = unique_email("vend")
    r, sent = api.register(email=email, role="vendor", name="新商户")
    created = ok_json(r, 201)
    assert created["role"] == "vendor"
    tok = ok_json(api.login(email, sent["password"]))
    me = ok_json(api.get("/me", token=tok["access_token"]))
    assert me["id"] == created["id"]
    assert me["role"] == "vendor"
    assert me["vendor_id"] is None  # no vendor profile yet


def test_register_duplicate_email_case_insensitive_is_409(api):
    email = unique_email("dup")
    api.register(email=email)
    for variant in (email, email.upper(), email[0].upper() + email[1:]):
        r, _ = api.register(email=variant, expect=None)
        assert_problem(r, 409, "email_taken")


def test_register_same_email_in_parallel_creates_one_account():
    email = unique_email("race")

    def one(_):
        r, _ = Api().register(email=email, expect=None)
        return r.status_code

    with ThreadPoolExecutor(5) as ex:
        codes = sorted(ex.map(one, range(5)))
    assert codes == [201, 409, 409, 409, 409], codes


def test_register_password_length_counts_characters(api):
    r, _ = api.register(password="123456789", expect=None)  # 9 characters
    body = assert_problem(r, 422, "validation_failed")
    assert error_fields(body) == {"password"}
    # 10 characters is enough, multi-byte ones included.
    api.register(password="1234567890")
    api.register(password="帮扶帮扶帮扶帮扶帮扶")


@pytest.mark.parametrize("bad_email", [
    "no-at-sign.example.com", "two@@example.com", "@example.com",
    "user@", "user@nodot", "user name@example.com", "",
])
def test_register_bad_email_is_422(api, bad_email):
    r, _ = api.register(email=bad_email, expect=None)
    body = assert_problem(r, 422, "validation_failed")
    assert "email" in error_fields(body)


def test_register_missing_fields_are_each_named(api):
    r = api.post("/auth/register", json={})
    body = assert_problem(r, 422, "validation_failed")
    assert error_fields(body) >= {"email", "password", "name", "role"}


@pytest.mark.parametrize("field,value", [
    ("email", 12345),
    ("name", ["李", "雷"]),
    ("password", 1234567890123),
    ("role", {"role": "citizen"}),
    ("name", None),
    ("name", "   "),
    ("name", "长" * 101),
])
def test_register_wrong_types_and_values_are_422(api, field, value):
    body = {"email": unique_email(), "password": "correct-horse-9",
            "name": "测试", "role": "citizen"}
    body[field] = value
    r = api.post("/auth/register", json=body)
    p = assert_problem(r, 422, "validation_failed")
    assert field in error_fields(p)


@pytest.mark.parametrize("role", ["admin", "Admin", "operator", ""])
def test_register_cannot_choose_admin_or_unknown_role(api, role):
    email = unique_email("role")
    r, _ = api.register(email=email, role=role, expect=None)
    body = assert_problem(r, 422, "validation_failed")
    assert "role" in error_fields(body)
    # And nothing was created: the address is still free.
    api.register(email=email, role="citizen")


@pytest.mark.parametrize("path", ["/auth/register", "/auth/login",
                                  "/auth/refresh"])
@pytest.mark.parametrize("raw", [b"{\"email\": ", b"not json", b"{'a': 1}",
                                 b"{\"a\": 1,}", b""])
def test_malformed_json_is_400(api, path, raw):
    r = api.post(path, data=raw,
                 headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "invalid_json")


@pytest.mark.parametrize("body", [[], [{"email": "a@b.cn"}], "text", 42,
                                  None])
def test_json_that_is_not_an_object_is_400(api, body):
    r = api.post("/auth/register", data=json.dumps(body),
                 headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "invalid_json")


def test_body_above_64_kib_is_413(api):
    pad = "x" * (64 * 1024)
    body = json.dumps({"email": unique_email(), "password": "correct-horse-9",
                       "name": pad, "role": "citizen"})
    assert len(body) > 64 * 1024
    r = api.post("/auth/register", data=body,
                 headers={"Content-Type": "application/json"})
    assert_problem(r, 413)
    # Just under the limit is read (and then refused for the long name).
    body = json.dumps({"email": unique_email(), "password": "correct-horse-9",
                       "name": "x" * (60 * 1024), "role": "citizen"})
    r = api.post("/auth/register", data=body,
                 headers={"Content-Type": "application/json"})
    assert "name" in error_fields(assert_problem(r, 422,
                                                 "validation_failed"))


# ------------------------------------------------------------ login


def test_login_answers_the_token_pair(api):
    email, pw = DEMO["citizen"]
    body = ok_json(api.login(email, pw))
    assert isinstance(body["access_token"], str)
    assert body["access_token"].count(".") == 2
    assert isinstance(body["refresh_token"], str) and body["refresh_token"]
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int)
    assert 0 < body["expires_in"] <= 900
    header, payload, _ = jwt_parts(body["access_token"])
    assert header["alg"] == "HS256"
    assert payload["exp"] - time.time() <= 900 + 5


def test_login_wrong_password_is_401(api):
    email, _ = DEMO["citizen"]
    r = api.login(email, "not-the-password", expect=None)
    assert_problem(r, 401, "invalid_credentials")
    assert "access_token" not in r.text


def test_login_unknown_email_is_401_like_a_wrong_password(api):
    r = api.login(unique_email("ghost"), "whatever-password", expect=None)
    assert_problem(r, 401, "invalid_credentials")


@pytest.mark.parametrize("body", [
    {}, {"email": DEMO["citizen"][0]}, {"password": "x" * 12},
    {"email": 1, "password": "bangfu-demo-citizen"},
    {"email": DEMO["citizen"][0], "password": ["bangfu-demo-citizen"]},
])
def test_login_missing_or_wrong_typed_fields_are_422(api, body):
    r = api.post("/auth/login", json=body)
    assert_problem(r, 422, "validation_failed")


# ------------------------------------------------------------ /me and tokens


def test_me_of_the_citizen(api, citizen_tokens):
    me = ok_json(api.get("/me", token=citizen_tokens["access_token"]))
    assert set(me) >= {"id", "email", "name", "role", "org_ids",
                       "vendor_id"}
    assert isinstance(me["id"], int)
    assert me["email"].lower() == DEMO["citizen"][0]
    assert me["role"] == "citizen"
    assert isinstance(me["org_ids"], list)
    assert me["vendor_id"] is None
    assert "password" not in json.dumps(me)


def test_me_of_the_demo_vendor_names_its_vendor(api, vendor_tokens, demo):
    me = ok_json(api.get("/me", token=vendor_tokens["access_token"]))
    assert me["role"] == "vendor"
    assert me["vendor_id"] is not None
    assert me["vendor_id"] == demo["demo_vendor_user"] == demo["demo_vendor"]


def test_me_without_a_token_is_401(api):
    assert_problem(api.get("/me"), 401, "unauthenticated")


@pytest.mark.parametrize("value", [
    "Bearer garbage", "Bearer ", "Bearer a.b.c", "Basic dXNlcjpwYXNz",
    "garbage",
])
def test_me_with_a_malformed_authorization_is_401(api, value):
    r = api.get("/me", headers={"Authorization": value})
    assert_problem(r, 401, "unauthenticated")


def test_me_with_the_refresh_token_as_bearer_is_401(api, citizen_tokens):
    r = api.get("/me", token=citizen_tokens["refresh_token"])
    assert_problem(r, 401, "unauthenticated")


def test_alg_none_token_is_401(api, citizen_tokens):
    tok = citizen_tokens["access_token"]
    _, payload, sig = jwt_parts(tok)
    p = tok.split(".")[1]
    for alg in ("none", "None", "NONE"):
        h = b64url(json.dumps({"alg": alg, "typ": "JWT"}))
        for forged in (h + "." + p + ".", h + "." + p + "." + sig):
            assert_problem(api.get("/me", token=forged), 401,
                           "unauthenticated")
    # The genuine token still works: the refusals were about the forgery.
    assert api.get("/me", token=tok).status_code == 200


def test_token_signed_with_another_key_is_401(api, citizen_tokens):
    header, payload, _ = jwt_parts(citizen_tokens["access_token"])
    for key in (b"not-the-server-key-but-32-bytes-long!!", b"", b"secret"):
        forged = jwt_sign_hs256(header, payload, key)
        assert_problem(api.get("/me", token=forged), 401, "unauthenticated")
    # Another algorithm of the HMAC family with the same claims.
    forged = jwt_sign_hs256(dict(header, alg="HS512"), payload, b"k" * 32)
    assert_problem(api.get("/me", token=forged), 401, "unauthenticated")


@pytest.mark.parametrize("change", [
    "sub", "role", "exp_past", "exp_future", "sid", "aud", "iss",
])
def test_token_with_altered_claims_is_401(api, citizen_tokens, change):
    tok = citizen_tokens["access_token"]
    _, payload, _ = jwt_parts(tok)
    p = dict(payload)
    if change == "sub":
        # Another account's id.
        p["sub"] = str(int(p["sub"]) + 1)
    elif change == "role":
        p["role"] = "admin"
    elif change == "exp_past":
        p["exp"] = int(time.time()) - 3600
    elif change == "exp_future":
        p["exp"] = int(p["exp"]) + 60
    elif change == "sid":
        p["sid"] = p["sid"][::-1]
    elif change == "aud":
        p["aud"] = "someone-else"
    elif change == "iss":
        p["iss"] = "someone-else"
    assert p != payload
    r = api.get("/me", token=jwt_with_payload(tok, p))
    assert_problem(r, 401, "unauthenticated")


# ------------------------------------------------------------ refresh, logout


@pytest.fixture
def own_session(api):
    """A fresh login of the demo citizen that a test may revoke."""
    email, pw = DEMO["citizen"]
    return ok_json(api.login(email, pw))


def refresh(api, token):
    return api.post("/auth/refresh", json={"refresh_token": token})


def test_refresh_rotates_and_reuse_revokes_the_session(api, own_session):
    old = own_session
    new = ok_json(refresh(api, old["refresh_token"]))
    assert new["token_type"] == "Bearer"
    assert 0 < new["expires_in"] <= 900
    assert new["refresh_token"] != old["refresh_token"]
    assert api.get("/me", token=new["access_token"]).status_code == 200

    # The old refresh token no longer works ...
    assert_problem(refresh(api, old["refresh_token"]), 401, "unauthenticated")
    # ... and presenting it revoked the whole session: the new pair is dead.
    assert_problem(api.get("/me", token=new["access_token"]), 401,
                   "unauthenticated")
    assert_problem(refresh(api, new["refresh_token"]), 401, "unauthenticated")


def test_refresh_chain_keeps_working(api, own_session):
    cur = own_session
    seen = {cur["refresh_token"]}
    for _ in range(3):
        cur = ok_json(refresh(api, cur["refresh_token"]))
        assert cur["refresh_token"] not in seen
        seen.add(cur["refresh_token"])
        me = ok_json(api.get("/me", token=cur["access_token"]))
        assert me["email"].lower() == DEMO["citizen"][0]


@pytest.mark.parametrize("token", [
    "garbage", "a" * 22 + "." + "b" * 43, "", "x.y",
])
def test_refresh_with_an_unknown_token_is_401(api, token):
    r = refresh(api, token)
    if token == "":
        # An empty string is a missing field or an invalid token.
        assert r.status_code in (401, 422), r.text
    else:
        assert_problem(r, 401, "unauthenticated")


@pytest.mark.parametrize("body", [{}, {"refresh_token": 12},
                                  {"refresh_token": None}])
def test_refresh_without_a_token_is_422(api, body):
    assert_problem(api.post("/auth/refresh", json=body), 422,
                   "validation_failed")


def test_logout_revokes_access_and_refresh_at_once(api, own_session):
    tok = own_session
    r = api.post("/auth/logout", token=tok["access_token"])
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_problem(api.get("/me", token=tok["access_token"]), 401,
                   "unauthenticated")
    assert_problem(refresh(api, tok["refresh_token"]), 401, "unauthenticated")
    assert_problem(api.post("/auth/logout", token=tok["access_token"]), 401,
                   "unauthenticated")


def test_logout_ends_only_that_session(api, own_session, citizen_tokens):
    assert api.post("/auth/logout",
                    token=own_session["access_token"]).status_code == 204
    # The same account's other session goes on.
    assert api.get("/me", token=citizen_tokens["access_token"]) \
        .status_code == 200


def test_logout_without_a_token_is_401(api):
    assert_problem(api.post("/auth/logout"), 401, "unauthenticated")


# ------------------------------------------------------------ rate limits


def wrong_logins(xff, n, email=None):
    """n failed logins from X-Forwarded-For: xff, in parallel."""
    email = email or DEMO["citizen"][0]

    def one(_):
        return Api(addr=xff).login(email, "wrong-password-1", expect=None) \
            .status_code

    with ThreadPoolExecutor(4) as ex:
        return list(ex.map(one, range(n)))


def assert_rate_limited(r):
    assert_problem(r, 429, "rate_limited")
    ra = r.headers.get("Retry-After")
    assert ra is not None and ra.isdigit(), r.headers
    assert 1 <= int(ra) <= RATE_WINDOW, ra


def test_login_rate_limit_per_address():
    addr = fresh_addr()
    codes = wrong_logins(addr, LOGIN_LIMIT)
    assert codes == [401] * LOGIN_LIMIT, codes
    # Over the limit even the right password is refused ...
    email, pw = DEMO["citizen"]
    limited = Api(addr=addr)
    assert_rate_limited(limited.login(email, pw, expect=None))
    assert_rate_limited(limited.login(email, "wrong-password-1",
                                      expect=None))
    # ... while another address is not limited.
    ok_json(Api().login(email, pw))


def test_register_rate_limit_per_address():
    addr = fresh_addr()
    client = Api(addr=addr)

    def one(_):
        r, _ = client.register(expect=None)
        return r.status_code

    with ThreadPoolExecutor(4) as ex:
        codes = list(ex.map(one, range(REGISTER_LIMIT)))
    assert codes == [201] * REGISTER_LIMIT, codes
    email = unique_email("limited")
    r, _ = client.register(email=email, expect=None)
    assert_rate_limited(r)
    # Another address may register, and the refused address was not taken.
    Api().register(email=email)


def test_x_forwarded_for_uses_the_last_entry():
    a = fresh_addr()
    codes = wrong_logins("%s, %s" % (fresh_addr(9), a), LOGIN_LIMIT)
    assert codes == [401] * LOGIN_LIMIT, codes
    email, pw = DEMO["citizen"]
    # The entries before the last were not what was counted: "a" alone is
    # limited, in any spelling of the list that ends with it ...
    assert_rate_limited(Api(addr=a).login(email, pw, expect=None))
    assert_rate_limited(Api(addr="%s,%s" % (fresh_addr(9), a))
                        .login(email, pw, expect=None))
    # ... while a list that merely starts with "a" is another client.
    ok_json(Api(addr="%s, %s" % (a, fresh_addr(9))).login(email, pw))


def raw_login(xff_lines):
    """A login with one X-Forwarded-For header line per entry."""
    u = urllib.parse.urlsplit(API_URL)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=15)
    body = json.dumps({"email": DEMO["citizen"][0],
                       "password": DEMO["citizen"][1]}).encode()
    conn.putrequest("POST", u.path + "/auth/login")
    for v in xff_lines:
        conn.putheader("X-Forwarded-For", v)
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    r = conn.getresponse()
    r.read()
    conn.close()
    return r.status


def test_x_forwarded_for_last_entry_across_header_lines():
    a = fresh_addr()
    assert wrong_logins(a, LOGIN_LIMIT) == [401] * LOGIN_LIMIT
    # A forged first line must not hide that the proxy's line says "a".
    assert raw_login([fresh_addr(9), a]) == 429
