"""Black-box API tests of bangfu: shared set-up.

The server under test is named by the environment (scripts/test.sh sets it):

  BANGFU_URL         e.g. http://127.0.0.1:18080
  BANGFU_PG          libpq conninfo of the server's database (read only here)
  BANGFU_REDIS_PORT  the server's Redis (not used by these tests)
  RATE_LIMIT_LOGIN, RATE_LIMIT_REGISTER, RATE_LIMIT_WINDOW
                     the limits the server was started with (30, 20, 60)

Login and register are rate-limited per client address, and the address is
the last entry of X-Forwarded-For (loopback is a trusted proxy).  Every
client made here therefore sends an X-Forwarded-For address of its own, so
no test can eat another's allowance; the rate-limit tests pick dedicated
addresses and exhaust them on purpose.

Ids are never hard-coded: they are looked up in the database (through psql)
or through the API.
"""

import base64
import hashlib
import hmac
import json
import os
import random
import re
import subprocess
import threading
import urllib.parse
import uuid

import pytest
import requests

BASE_URL = os.environ.get("BANGFU_URL", "http://127.0.0.1:18080").rstrip("/")
API_URL = BASE_URL + "/api/v1"
PG = os.environ.get("BANGFU_PG",
                    "host=127.0.0.1 port=25442 user=bangfu dbname=bangfu")
LOGIN_LIMIT = int(os.environ.get("RATE_LIMIT_LOGIN", "30"))
REGISTER_LIMIT = int(os.environ.get("RATE_LIMIT_REGISTER", "20"))
RATE_WINDOW = int(os.environ.get("RATE_LIMIT_WINDOW", "60"))
TIMEOUT = 15

DEMO = {
    "admin": ("admin@demo.bangfu.cn", "bangfu-demo-admin"),
    "citizen": ("citizen@demo.bangfu.cn", "bangfu-demo-citizen"),
    "vendor": ("vendor@demo.bangfu.cn", "bangfu-demo-vendor"),
}
DEMO_VENDOR_NAME = "澜沧景迈山古茶专业合作社"
LAPSED_VENDOR_NAME = "西盟佤山农特产品有限公司"
LOW_CREDIT_VENDOR_NAME = "泽普县骏枣加工有限公司"
STOCK20_TITLE = "景迈山古树普洱生茶 357g 饼"
LIVE_CAMPAIGN = "yunpin-community"
REGION_KINDS = {"yunnan": "协作", "zunyi": "协作", "kashgar": "支援",
                "shigatse": "支援", "golog": "支援"}

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# RFC 3339 in UTC: Z or a zero offset.
UTC_TIME_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]00:00)$")
TRACE_RE = re.compile(r"^[A-Z2-9]{16}$")

# ------------------------------------------------------------ addresses

_rng = random.SystemRandom()
_used_addrs = set()
_addr_lock = threading.Lock()


def fresh_addr(first=10):
    """A client address no other client of this run has used."""
    with _addr_lock:
        while True:
            a = "%d.%d.%d.%d" % (first, _rng.randint(0, 255),
                                 _rng.randint(0, 255), _rng.randint(1, 254))
            if a not in _used_addrs:
                _used_addrs.add(a)
                return a


def unique_email(tag="user"):
    return "%s-%s@test.bangfu.cn" % (tag, uuid.uuid4().hex[:16])


# ------------------------------------------------------------ HTTP


class Api:
    """A client of the API that sends X-Forwarded-For: <its address>.

    Paths starting with "/" are under /api/v1; use url= for the others.
    Each call is independent (no connection reuse) so that threads may
    share nothing.
    """

    def __init__(self, addr=None):
        self.addr = addr or fresh_addr()

    def request(self, method, path=None, url=None, token=None,
                headers=None, **kw):
        h = {"X-Forwarded-For": self.addr}
        if token is not None:
            h["Authorization"] = "Bearer " + token
        if headers:
            h.update(headers)
        kw.setdefault("timeout", TIMEOUT)
        return requests.request(method, url or API_URL + path, headers=h,
                                **kw)

    def get(self, path=None, **kw):
        return self.request("GET", path, **kw)

    def post(self, path=None, **kw):
        return self.request("POST", path, **kw)

    def put(self, path=None, **kw):
        return self.request("PUT", path, **kw)

    def delete(self, path=None, **kw):
        return self.request("DELETE", path, **kw)

    # ---- accounts

    def register(self, email=None, password="correct-horse-9", name="测试用户",
                 role="citizen", expect=201):
        if email is None:
            email = unique_email()
        body = {"email": email, "password": password,
                "name": name, "role": role}
        r = self.post("/auth/register", json=body)
        if expect is not None:
            assert r.status_code == expect, r.text
        return r, body

    def login(self, email, password, expect=200):
        r = self.post("/auth/login", json={"email": email,
                                           "password": password})
        if expect is not None:
            assert r.status_code == expect, r.text
        return r


def ok_json(r, status=200):
    """Asserts a JSON answer with that status and returns its body."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers.get("Content-Type", "").startswith("application/json"), \
        r.headers.get("Content-Type")
    return r.json()


def assert_problem(r, status, code=None):
    """Asserts an RFC 9457 problem of the contract; returns its body."""
    assert r.status_code == status, (r.status_code, r.text[:500])
    ctype = r.headers.get("Content-Type", "")
    assert ctype.startswith("application/problem+json"), ctype
    body = r.json()
    for k in ("type", "title", "status", "detail", "code"):
        assert k in body, (k, body)
    assert body["status"] == status, body
    assert isinstance(body["code"], str) and body["code"], body
    if code is not None:
        assert body["code"] == code, body
    return body


def error_fields(body):
    errs = body.get("errors")
    assert isinstance(errs, list) and errs, body
    for e in errs:
        assert isinstance(e.get("field"), str), e
        assert isinstance(e.get("message"), str), e
    return {e["field"] for e in errs}


def all_pages(api, params=None, per_page=100):
    """Every item of /products for params, walking the pages."""
    params = dict(params or {})
    params["per_page"] = per_page
    items, page, total = [], 1, None
    while True:
        params["page"] = page
        body = ok_json(api.get("/products", params=params))
        assert body["page"] == page and body["per_page"] == per_page, body
        if total is None:
            total = body["total"]
        assert body["total"] == total
        items.extend(body["items"])
        if len(body["items"]) < per_page:
            break
        page += 1
    assert len(items) == total, (len(items), total)
    return items, total


# ------------------------------------------------------------ JWT


def b64url(data):
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_parts(token):
    h, p, s = token.split(".")
    return (json.loads(b64url_decode(h)), json.loads(b64url_decode(p)), s)


def jwt_sign_hs256(header, payload, key):
    signing = (b64url(json.dumps(header, separators=(",", ":"))) + "." +
               b64url(json.dumps(payload, separators=(",", ":"))))
    sig = hmac.new(key, signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64url(sig)


def jwt_with_payload(token, payload):
    """token with its payload replaced and its signature kept."""
    h, _, s = token.split(".")
    return h + "." + b64url(json.dumps(payload, separators=(",", ":"))) + \
        "." + s


# ------------------------------------------------------------ database


def db(sql, **params):
    """Rows of sql (no trailing ';') as a list of dicts, through psql.

    Parameters are psql variables, referenced in sql as :'name', so values
    are quoted by psql and never pasted into the statement.
    """
    cmd = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"]
    for k, v in params.items():
        cmd += ["-v", "%s=%s" % (k, v)]
    cmd += [PG, "-f", "-"]
    wrapped = "SELECT coalesce(json_agg(t), '[]'::json) FROM (%s) t;\n" % sql
    out = subprocess.run(cmd, input=wrapped.encode(), capture_output=True,
                         timeout=30, check=False)
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(out.stdout.decode())


def db_one(sql, **params):
    rows = db(sql, **params)
    assert len(rows) == 1, rows
    return rows[0]


def db_ids(sql, **params):
    return {r["id"] for r in db(sql, **params)}


# ------------------------------------------------------------ fixtures


@pytest.fixture
def api():
    """A client with an X-Forwarded-For address of its own."""
    return Api()


def demo_login(role):
    email, pw = DEMO[role]
    return Api().login(email, pw).json()


@pytest.fixture(scope="session")
def citizen_tokens():
    """One login of the demo citizen for the tests that only read with it.

    Tests that revoke a session (logout, refresh) log in on their own.
    """
    return demo_login("citizen")


@pytest.fixture(scope="session")
def vendor_tokens():
    return demo_login("vendor")


@pytest.fixture(scope="session")
def demo():
    """Ids of the demo data the tests name, from the database."""
    d = {}
    d["stock20"] = db_one(
        "SELECT id FROM products WHERE title = :'t'", t=STOCK20_TITLE)["id"]

    def vendor(name):
        return db_one("SELECT id FROM vendors WHERE name = :'n'", n=name)["id"]

    d["demo_vendor"] = vendor(DEMO_VENDOR_NAME)
    d["lapsed_vendor"] = vendor(LAPSED_VENDOR_NAME)
    d["low_credit_vendor"] = vendor(LOW_CREDIT_VENDOR_NAME)
    d["demo_vendor_user"] = db_one(
        "SELECT v.id FROM vendors v JOIN users u ON u.id = v.user_id "
        "WHERE lower(u.email) = lower(:'e')", e=DEMO["vendor"][0])["id"]
    d["pending_vendors"] = sorted(db_ids(
        "SELECT id FROM vendors WHERE status = 'pending_review'"))
    d["listed"] = db_ids("SELECT id FROM products WHERE status = 'listed'")
    d["draft"] = sorted(db_ids(
        "SELECT id FROM products WHERE status = 'draft'"))
    d["unlisted"] = sorted(db_ids(
        "SELECT id FROM products WHERE status = 'unlisted'"))
    return d


# ------------------------------------------------------------ the contract
# Every exchange with the server under test is checked against
# assets/api/openapi.yaml (tests/api/contract.py): a mismatch fails the test
# that made it, at the call when it runs on the test's thread, and at its
# teardown in any case (calls made on other threads).

import contract  # noqa: E402

CONTRACT = contract.Contract()
_RECORD = os.environ.get("OPENAPI_RECORD")  # file: append every exchange
_CHECK = os.environ.get("OPENAPI_CHECK", "1") != "0"  # 0: record only
_record_lock = threading.Lock()
_violations = []
_send = requests.Session.send


def _our_origins():
    """The servers of this run: nginx (BASE_URL), Kore behind it (the tests
    that pin a connection to one worker) and the spare servers of
    shop.SpareServer (BASE_URL's port plus 7 to 15): all their traffic is
    checked against the contract."""
    u = urllib.parse.urlsplit(BASE_URL)
    base = u.port or 80
    out = {BASE_URL, os.environ.get("BANGFU_KORE_URL", BASE_URL).rstrip("/")}
    out.update("%s://%s:%d" % (u.scheme, u.hostname, base + off)
               for off in range(7, 16))
    return tuple(o + "/" for o in out)


_ORIGINS = _our_origins()


def _checked_send(self, prepared, **kw):
    r = _send(self, prepared, **kw)
    if not prepared.url.startswith(_ORIGINS):
        return r
    body = prepared.body
    if isinstance(body, str):
        body = body.encode()
    if _RECORD:
        with _record_lock, open(_RECORD, "a", encoding="utf-8") as f:
            f.write(json.dumps({
                "method": prepared.method, "url": prepared.url,
                "req_headers": dict(prepared.headers),
                "req_body": body.decode("utf-8", "replace")
                if body is not None else None,
                "status": r.status_code, "resp_headers": dict(r.headers),
                "resp_body": r.content.decode("utf-8", "replace")},
                ensure_ascii=False) + "\n")
    if not _CHECK:
        return r
    errs = CONTRACT.check(prepared.method, prepared.url, prepared.headers,
                          body, r.status_code, r.headers, r.content)
    if errs:
        if threading.current_thread() is threading.main_thread():
            raise AssertionError("contract: " + "\n".join(errs))
        with _record_lock:
            _violations.extend(errs)
    return r


requests.Session.send = _checked_send


@pytest.fixture(autouse=True)
def _contract_check():
    with _record_lock:
        del _violations[:]
    yield
    with _record_lock:
        errs = list(_violations)
        del _violations[:]
    if errs:
        pytest.fail("contract: " + "\n".join(sorted(set(errs))),
                    pytrace=False)


def pytest_terminal_summary(terminalreporter):
    ops = {(m, t) for m, t, _ in CONTRACT.seen}
    terminalreporter.write_line(
        "contract: %d answers validated against assets/api/openapi.yaml, "
        "%d operations of %d answered (%d operation-status pairs)" % (
            CONTRACT.answers, len(ops), len(CONTRACT.operations()),
            len(CONTRACT.seen)))
