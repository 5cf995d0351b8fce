"""Shared helpers of the shop tests: cart, checkout, payments, the order
lifecycle, the vendor's order routes, the fee rules and the crash drill.

The server under test is named by the environment (scripts/test.sh sets it):

  BANGFU_URL              e.g. http://127.0.0.1:18080
  BANGFU_PG               libpq conninfo of the server's database
  BANGFU_ROOT, INSTANCE   where var/$INSTANCE/kore.pid is (crash drill)
  PAYMENT_SANDBOX_SECRET  the sandbox provider's secret (else read from
                          var/$INSTANCE/secrets.env, where instance.sh
                          generates it)
  PORT                    the test server's port; spare_server() runs a
                          second server of the test build on PORT + 7
  ORDER_PAY_TIMEOUT       the server's payment deadline in seconds (10)

Every call sends an X-Forwarded-For address of its own, so the per-address
rate limits of login never interfere.  Tests share one database with each
other and with the other suites, so each one makes its own users (through
SQL, logging in with the demo citizen's password) and takes products no
other test of this run uses (the `shop_products` fixture), and puts back
what it changed in the catalog (price, stock, status, sales) when it ends.

The server prices carts from facts each worker caches for up to 10 s
(app/facts.c), refreshed at once only by catalog writes through the API.
A product's stock set here through SQL is therefore set before any cart
has read that product in this run (Products.pick), and prices or listings
that a cart must see change through the vendor's API.
"""

import atexit
import datetime
import hashlib
import hmac
import json
import os
import random
import re
import socket
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

BASE_URL = os.environ.get("BANGFU_URL", "http://127.0.0.1:18080").rstrip("/")
API_URL = BASE_URL + "/api/v1"
# Kore itself, when BASE_URL is a proxy in front of it (see Hearing).
KORE_URL = os.environ.get("BANGFU_KORE_URL", BASE_URL).rstrip("/")
PG = os.environ.get("BANGFU_PG",
                    "host=127.0.0.1 port=25442 user=bangfu dbname=bangfu")
PAY_TIMEOUT = int(os.environ.get("ORDER_PAY_TIMEOUT", "10"))
ROOT = os.environ.get("BANGFU_ROOT") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
INSTANCE = os.environ.get("INSTANCE", "test")
VAR = os.path.join(ROOT, "var", INSTANCE)


def instance_secret(name):
    """A secret of the instance: from the environment, as the server got
    it, or from var/$INSTANCE/secrets.env."""
    if os.environ.get(name):
        return os.environ[name]
    with open(os.path.join(VAR, "secrets.env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            if k == name:
                return v
    raise KeyError(name)


SANDBOX_SECRET = instance_secret("PAYMENT_SANDBOX_SECRET")
TIMEOUT = 60

CITIZEN = ("citizen@demo.bangfu.cn", "bangfu-demo-citizen")
VENDOR = ("vendor@demo.bangfu.cn", "bangfu-demo-vendor")
ADMIN = ("admin@demo.bangfu.cn", "bangfu-demo-admin")
OTHER_VENDOR_EMAIL = "v01@vendors.demo.bangfu.cn"
DEMO_VENDOR_NAME = "澜沧景迈山古茶专业合作社"
# Read by the catalog suite (its stock and price are asserted there).
RESERVED_TITLES = ("景迈山古树普洱生茶 357g 饼",)

ADDRESS = {"name": "张三", "phone": "13800138000", "province": "云南省",
           "city": "普洱市", "district": "澜沧拉祜族自治县",
           "line": "勐朗镇 1 号"}

UTC_TIME_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]00:00)$")

# ------------------------------------------------------------ HTTP

_rng = random.SystemRandom()


def client_addr():
    """A random client address: every call is its own client."""
    return "172.%d.%d.%d" % (_rng.randint(16, 31), _rng.randint(0, 255),
                             _rng.randint(1, 254))


def call(method, path, token=None, cart=None, headers=None, url=None, **kw):
    """One request to /api/v1 + path (or url), from a fresh client address.

    token: a bearer token; cart: an X-Cart-Token.  No connection is reused,
    so threads share nothing.
    """
    h = {"X-Forwarded-For": client_addr()}
    if token is not None:
        h["Authorization"] = "Bearer " + token
    if cart is not None:
        h["X-Cart-Token"] = cart
    if headers:
        h.update(headers)
    kw.setdefault("timeout", TIMEOUT)
    s = kw.pop("session", None)     # one of worker_pools(): that worker
    if s is not None:
        return s.request(method, url or KORE_URL + "/api/v1" + path,
                         headers=h, **kw)
    return requests.request(method, url or API_URL + path, headers=h, **kw)


def get(path, **kw):
    return call("GET", path, **kw)


def worker_of(r):
    """The Kore worker that answered: x-request-id is <worker>-<count>."""
    return r.headers["x-request-id"].split("-", 1)[0]


def post(path, **kw):
    return call("POST", path, **kw)


def put(path, **kw):
    return call("PUT", path, **kw)


def patch(path, **kw):
    return call("PATCH", path, **kw)


def delete(path, **kw):
    return call("DELETE", path, **kw)


def ok(r, status=200):
    """Asserts a JSON answer with that status; returns its body."""
    assert r.status_code == status, (r.request.method, r.request.url,
                                     r.status_code, r.text[:800])
    assert r.headers.get("Content-Type", "").startswith(
        "application/json"), r.headers.get("Content-Type")
    return r.json()


def problem(r, status, code=None):
    """Asserts a problem+json answer of the contract; returns its body."""
    assert r.status_code == status, (r.request.method, r.request.url,
                                     r.status_code, r.text[:800])
    ctype = r.headers.get("Content-Type", "")
    assert ctype.startswith("application/problem+json"), ctype
    body = r.json()
    for k in ("type", "title", "status", "detail", "code"):
        assert k in body, (k, body)
    assert body["status"] == status, body
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


def run_parallel(fn, args, workers=16):
    """fn(arg) for each arg in threads; the results in order."""
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(args)))) \
            as ex:
        return list(ex.map(fn, args))


# ------------------------------------------------------------ database


def psql_once(sql):
    """Runs sql through a psql of its own (psql -X -tA); its output."""
    out = subprocess.run(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1",
                          PG, "-c", sql], capture_output=True, timeout=60,
                         check=False)
    assert out.returncode == 0, (sql, out.stderr.decode())
    return out.stdout.decode().strip()


_ERROR_RE = re.compile(r"^(psql:[^:]*:\d+: )?(ERROR|FATAL|PANIC):")


class _Psql:
    """One psql -X -tA session kept open for the run: a statement costs a
    round trip instead of a process and a connection (which, on a loaded
    machine, is a tenth of a second).  Each statement is followed by an
    \\echo of a marker that ends its output."""

    def __init__(self):
        self.lock = threading.Lock()
        self.proc = None

    def _start(self):
        env = dict(os.environ, PGOPTIONS="-c client_min_messages=warning "
                   "-c statement_timeout=60000")
        self.proc = subprocess.Popen(
            ["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=0", PG],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, env=env, encoding="utf-8", bufsize=1)

    def run(self, sql):
        with self.lock:
            for attempt in (1, 2):
                if self.proc is None or self.proc.poll() is not None:
                    self._start()
                mark = "__shop_%s__" % uuid.uuid4().hex
                try:
                    self.proc.stdin.write("%s;\n\\echo %s\n" % (sql, mark))
                    self.proc.stdin.flush()
                    out = []
                    while True:
                        line = self.proc.stdout.readline()
                        if line == "":
                            raise EOFError("psql ended")
                        line = line.rstrip("\n")
                        if line == mark:
                            break
                        out.append(line)
                except (OSError, EOFError):
                    self.proc = None
                    if attempt == 2:
                        raise
                    continue
                errs = [x for x in out if _ERROR_RE.match(x)]
                assert not errs, (sql, out)
                return "\n".join(out).strip()


    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()


_psql = _Psql()
atexit.register(_psql.close)


def psql(sql):
    """Runs one SQL statement (no trailing ';') as psql -X -tA "$BANGFU_PG"
    would; returns its output (stripped).  Through the run's psql session
    when it can, else a psql of its own."""
    try:
        return _psql.run(sql)
    except (OSError, EOFError):
        return psql_once(sql)


def lit(v):
    """A SQL literal of v (None, bool, int or text)."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def rows(sql):
    """The rows of a SELECT as a list of dicts."""
    return json.loads(psql(
        "SELECT coalesce(json_agg(t), '[]'::json) FROM (%s) t" % sql))


def row(sql):
    r = rows(sql)
    assert len(r) == 1, (sql, r)
    return r[0]


def val(sql):
    """The single value of a one-row, one-column SELECT."""
    r = row(sql)
    assert len(r) == 1, r
    return next(iter(r.values()))


def stock_of(pid):
    return val("SELECT stock FROM products WHERE id = %d" % pid)


def stocks_of(pids):
    return {r["id"]: r["stock"] for r in rows(
        "SELECT id, stock FROM products WHERE id IN (%s)" %
        ",".join(str(int(p)) for p in pids))}


def set_stock(pid, n):
    psql("UPDATE products SET stock = %d WHERE id = %d" % (n, pid))


def vendor_of(pid):
    return val("SELECT vendor_id FROM products WHERE id = %d" % pid)


def vendor_user_id(vendor_id):
    return val("SELECT user_id FROM vendors WHERE id = %d" % vendor_id)


def demo_vendor_id():
    return val("SELECT id FROM vendors WHERE name = %s" %
               lit(DEMO_VENDOR_NAME))


def order_row(oid):
    return row("SELECT id, user_id, status, total_fen FROM orders "
               "WHERE id = %d" % oid)


# ------------------------------------------------------------ users


class User:
    def __init__(self, uid, email, password, token=None):
        self.id = uid
        self.email = email
        self.password = password
        self.token = token

    def __repr__(self):
        return "User(%s, %s)" % (self.id, self.email)


def login(email, password, cart=None, expect=200):
    r = post("/auth/login", json={"email": email, "password": password},
             cart=cart)
    if expect is not None:
        assert r.status_code == expect, (email, r.status_code, r.text)
    return r


def login_token(email, password, cart=None):
    return login(email, password, cart=cart).json()["access_token"]


_hash_lock = threading.Lock()
_hash = []


def password_hash():
    """A hash of the demo citizen's password for new users.  Argon2id at
    libsodium's smallest cost (the parameters travel in the hash, so the
    server verifies it as any other), which makes a login take a
    millisecond instead of ~80 ms; the demo citizen's own hash otherwise."""
    with _hash_lock:
        if not _hash:
            h = None
            try:
                import ctypes
                lib = ctypes.CDLL("libsodium.so.23")
                if lib.sodium_init() >= 0:
                    out = ctypes.create_string_buffer(128)
                    pw = CITIZEN[1].encode()
                    lib.crypto_pwhash_str_alg.argtypes = [
                        ctypes.c_char_p, ctypes.c_char_p,
                        ctypes.c_ulonglong, ctypes.c_ulonglong,
                        ctypes.c_size_t, ctypes.c_int]
                    if lib.crypto_pwhash_str_alg(out, pw, len(pw), 1, 8192,
                                                 2) == 0:
                        h = out.value.decode()
            except (OSError, AttributeError):
                h = None
            if h is None:
                h = val("SELECT password_hash FROM users WHERE email = %s"
                        % lit(CITIZEN[0]))
            _hash.append(h)
        return _hash[0]


def make_users(n, role="citizen", tag="shop", do_login=True):
    """n new users, made through SQL with the demo citizen's password (see
    password_hash) and logged in in parallel."""
    tag = "%s-%s" % (tag, uuid.uuid4().hex[:10])
    out = json.loads(psql(
        "WITH ins AS (INSERT INTO users (email, password_hash, name, role) "
        "SELECT %s || '-' || g || '@shoptest.bangfu.cn', "
        "%s, '测试买家 ' || g, %s FROM generate_series(1, %d) g "
        "RETURNING id, email) SELECT coalesce(json_agg(ins ORDER BY id), "
        "'[]') FROM ins" % (lit(tag), lit(password_hash()), lit(role), n)))
    assert len(out) == n
    users = [User(r["id"], r["email"], CITIZEN[1]) for r in out]
    if do_login:
        def one(u):
            u.token = login_token(u.email, u.password)
            return u
        run_parallel(one, users)
    return users


def make_user(role="citizen", tag="shop"):
    return make_users(1, role=role, tag=tag)[0]


_tok_lock = threading.Lock()
_tokens = {}


# An access token lives 15 minutes (ACCESS_TOKEN_TTL); a run on a loaded
# machine lasts longer: the cached ones are renewed well before.
_TOKEN_REUSE = 600
_token_at = {}


def _token_fresh(key):
    return key in _tokens and time.monotonic() - _token_at[key] < _TOKEN_REUSE


def demo_token(who):
    """A session of a demo account (admin, vendor), one per run (renewed
    every ten minutes, before the access token expires)."""
    creds = {"admin": ADMIN, "vendor": VENDOR, "citizen": CITIZEN}[who]
    with _tok_lock:
        if not _token_fresh(who):
            _tokens[who] = login_token(*creds)
            _token_at[who] = time.monotonic()
        return _tokens[who]


def vendor_token(vendor_id):
    """A session of the user of a demo vendor: that user's password is set
    to the demo citizen's (demo vendor users other than vendor@demo have
    none that works), once per run."""
    key = "vendor-%d" % vendor_id
    with _tok_lock:
        if not _token_fresh(key):
            _token_at[key] = time.monotonic()
            email = val("SELECT u.email FROM users u JOIN vendors v "
                        "ON v.user_id = u.id WHERE v.id = %d" % vendor_id)
            if email.lower() == VENDOR[0]:
                _tokens[key] = login_token(*VENDOR)
            else:
                psql("UPDATE users SET password_hash = %s WHERE email = %s"
                     % (lit(password_hash()), lit(email)))
                _tokens[key] = login_token(email, CITIZEN[1])
        return _tokens[key]


def other_vendor_token():
    """A session of v01, the user of another demo vendor than the demo
    vendor."""
    return vendor_token(other_vendor_id())


def other_vendor_id():
    return val("SELECT v.id FROM vendors v JOIN users u ON u.id = v.user_id "
               "WHERE u.email = %s" % lit(OTHER_VENDOR_EMAIL))


# ------------------------------------------------------------ products

_taken = set()
_taken_lock = threading.Lock()


_vendors = []


def statement_vendor():
    """The vendor whose statement is checked: a cooperative outside the
    poverty counties (half its fee waived), with a user, the one with the
    most listed products."""
    return val(
        "SELECT f.vendor_id FROM product_facts f JOIN vendors v ON "
        "v.id = f.vendor_id WHERE f.vendor_kind = 'cooperative' AND NOT "
        "f.is_poverty_county AND f.status = 'listed' AND "
        "v.user_id IS NOT NULL GROUP BY f.vendor_id "
        "ORDER BY count(*) DESC, f.vendor_id LIMIT 1")


def signed_in_vendors():
    """The demo vendor, v01's vendor and the statement vendor."""
    with _tok_lock:
        if not _vendors:
            _vendors.extend([demo_vendor_id(), other_vendor_id(),
                             statement_vendor()])
        return list(_vendors)


# The demo fee rules, by name (scripts/demo_data.py).
RULE_BASE = "平台佣金 5%"
RULE_POVERTY = "贫困县合格商家 佣金全免"
RULE_COOP = "合作社 佣金减半 每月封顶¥2,000"


def rule(name):
    return row("SELECT id, commission_bps, waiver_bps, cap_fen_per_month "
               "FROM fee_rules WHERE name = %s" % lit(name))


def bps(amount, b):
    """The share b/10000 of amount, rounded half up to the fen."""
    return (amount * b + 5000) // 10000


def tier_price(pid, qty):
    return val("SELECT tier_price(id, price_fen, %d) FROM products "
               "WHERE id = %d" % (qty, pid))


class Products:
    """Hands out listed products no other test of this run has taken, and
    puts back their price, stock, status and sales when the test ends.
    Products of the vendors the tests sign in as come only when asked for
    by where_vendor()."""

    def __init__(self):
        self.saved = {}

    def pick(self, n=1, where="true", stock=None, order="p.id"):
        """n products (ids) of product_facts p matching where; stock sets
        their stock.  One statement: chosen, remembered, stocked."""
        excl = " AND ".join("p.title <> %s" % lit(t) for t in RESERVED_TITLES)
        # Unpaid orders of earlier runs would put stock back when they
        # expire, in the middle of a test.
        excl += (" AND NOT EXISTS (SELECT 1 FROM order_lines l JOIN orders o "
                 "ON o.id = l.order_id WHERE l.product_id = p.id AND "
                 "o.status = 'pending_payment')")
        if "p.kind" not in where:
            # A service is booked by the date, never carted (not_a_good).
            excl += " AND p.kind = 'goods'"
        if "p.vendor_id =" not in where:
            # The vendors the tests sign in as have few products: they are
            # kept for the tests that name them.
            excl += " AND p.vendor_id NOT IN (%s)" % ",".join(
                str(v) for v in signed_in_vendors())
        with _taken_lock:
            taken = ",".join(str(i) for i in _taken) or "0"
            got = json.loads(psql(
                "WITH c AS (SELECT p.id, p.price_fen, p.stock, p.status, "
                "p.sales FROM product_facts p WHERE p.status = 'listed' "
                "AND %s AND p.id NOT IN (%s) AND (%s) ORDER BY %s LIMIT %d), "
                "u AS (UPDATE products x SET stock = coalesce(%s, x.stock) "
                "FROM c WHERE x.id = c.id RETURNING x.id) "
                "SELECT coalesce(json_agg(c ORDER BY c.id), '[]') FROM c "
                "WHERE (SELECT count(*) FROM u) >= 0" %
                (excl, taken, where, order, n, lit(stock))))
            assert len(got) == n, ("not enough products", where, n, got)
            for g in got:
                _taken.add(g["id"])
                self.saved[g["id"]] = g
        return [g["id"] for g in got]

    def one(self, where="true", stock=None):
        return self.pick(1, where=where, stock=stock)[0]

    def restore(self):
        if not self.saved:
            return
        # One statement: the product's row, and its sales in their table.
        psql("WITH v(id, price_fen, stock, status, sales) AS (VALUES %s), "
             "p AS (UPDATE products p SET price_fen = v.price_fen, "
             "stock = v.stock, status = v.status FROM v WHERE p.id = v.id) "
             "INSERT INTO product_sales AS s (product_id, sales) "
             "SELECT id, sales FROM v ORDER BY id "
             "ON CONFLICT (product_id) DO UPDATE SET sales = EXCLUDED.sales"
             % ",".join(
                 "(%d, %d, %d, %s, %d)" % (pid, g["price_fen"], g["stock"],
                                           lit(g["status"]), g["sales"])
                 for pid, g in self.saved.items()))


def free_products(n):
    """n listed goods with stock that no test of this run has taken, for
    reading only (they are not taken, so change nothing about them): the
    highest ids, as far as possible from those Products hands out."""
    with _taken_lock:
        taken = ",".join(str(i) for i in _taken) or "0"
    got = [r["id"] for r in rows(
        "SELECT id FROM products WHERE status = 'listed' AND stock >= 10 "
        "AND kind = 'goods' AND id NOT IN (%s) ORDER BY id DESC LIMIT %d"
        % (taken, n))]
    assert len(got) == n, ("not enough products", n)
    return got


@pytest.fixture
def shop_products():
    p = Products()
    yield p
    p.restore()


@pytest.fixture(scope="module")
def module_products():
    """As shop_products, for products a whole module shares."""
    p = Products()
    yield p
    p.restore()


# Vendor kinds for the fee rules, as product_facts names them.
WHERE_QUALIFIED_POVERTY = "p.qualified AND p.is_poverty_county"
WHERE_COOP_NOT_POVERTY = ("p.vendor_kind = 'cooperative' AND "
                          "NOT p.is_poverty_county")
WHERE_ENTERPRISE_NOT_POVERTY = ("p.vendor_kind = 'enterprise' AND "
                                "NOT p.is_poverty_county")


def where_vendor(vendor_id):
    return "p.vendor_id = %d" % vendor_id


# ------------------------------------------------------------ cart, orders


def cart_put(token, pid, qty, cart=None, expect=200):
    r = put("/cart/items/%d" % pid, json={"qty": qty}, token=token,
            cart=cart)
    if expect is not None:
        assert r.status_code == expect, (pid, qty, r.status_code, r.text)
    return r


def cart_get(token=None, cart=None):
    return ok(get("/cart", token=token, cart=cart))


def cart_lines(body):
    return {it["product_id"]: it["qty"] for it in body["items"]}


def checkout(token, address=None, note=None, key=None, body=None,
             session=None):
    b = body if body is not None else {
        "address": ADDRESS if address is None else address}
    if note is not None and body is None:
        b["note"] = note
    h = {"Idempotency-Key": key} if key is not None else None
    return post("/orders", json=b, token=token, headers=h, session=session)


def buy(user, lines, **kw):
    """Fills user's cart with lines [(pid, qty)] and checks out: the 201
    order."""
    for pid, qty in lines:
        cart_put(user.token, pid, qty)
    return ok(checkout(user.token, **kw), 201)


def get_order(user, oid):
    return ok(get("/orders/%d" % oid, token=user.token))


def create_payment(user, oid, key=None, body=None):
    h = {"Idempotency-Key": key} if key is not None else None
    return post("/orders/%d/payments" % oid, token=user.token, headers=h,
                json=body if body is not None else {"provider": "sandbox"})


def sign(raw, secret=None):
    """hex(HMAC-SHA256(secret, raw body)), the sandbox's signature."""
    if isinstance(raw, str):
        raw = raw.encode()
    key = (SANDBOX_SECRET if secret is None else secret).encode()
    return hmac.new(key, raw, hashlib.sha256).hexdigest()


def notify_raw(raw, signature="sign"):
    """Posts the raw notification body; signature "sign" signs it, None
    sends none, anything else is sent as is."""
    if isinstance(raw, str):
        raw = raw.encode()
    h = {"Content-Type": "application/json"}
    if signature == "sign":
        h["X-Sandbox-Signature"] = sign(raw)
    elif signature is not None:
        h["X-Sandbox-Signature"] = signature
    return post("/payments/sandbox/notify", data=raw, headers=h)


def notify_body(payment_id, status, amount_fen):
    return json.dumps({"payment_id": payment_id, "status": status,
                       "amount_fen": amount_fen}, separators=(",", ":"))


def notify(payment_id, status, amount_fen, signature="sign"):
    return notify_raw(notify_body(payment_id, status, amount_fen), signature)


def pay(user, order):
    """Pays order in full through the sandbox; returns the order after."""
    p = ok(create_payment(user, order["id"]), 201)
    ok(notify(p["payment_id"], "succeeded", p["amount_fen"]))
    o = get_order(user, order["id"])
    assert o["status"] == "paid", o
    return o


def ship(token, part_id, carrier="顺丰", tracking_no=None):
    return post("/vendor/orders/%d/ship" % part_id, token=token,
                json={"carrier": carrier,
                      "tracking_no": tracking_no or uuid.uuid4().hex[:12]})


def part_of(order, vendor_id):
    parts = [p for p in order["parts"] if p["vendor_id"] == vendor_id]
    assert len(parts) == 1, (vendor_id, order)
    return parts[0]


def order_lines_sum(pid, statuses_excluded=("cancelled", "refunded")):
    """Units of pid held by orders not in the excluded statuses."""
    return val("SELECT coalesce(sum(l.qty), 0) FROM order_lines l "
               "JOIN orders o ON o.id = l.order_id WHERE l.product_id = %d "
               "AND o.status NOT IN (%s)" %
               (pid, ",".join(lit(s) for s in statuses_excluded)))


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def rfc3339(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def wait_until(pred, timeout, step=0.25):
    """Polls pred() until true or timeout seconds; returns its last value."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


# ------------------------------------------------------------ a spare server


def _free_port(want):
    """want if nothing listens there on loopback (an instance's own Kore
    can sit at PORT + an offset), else a port the kernel says is free."""
    for port in (want, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise OSError("no free port on 127.0.0.1")


class SpareServer:
    """A second Kore of the test build beside the test server, on the same
    PostgreSQL and Redis, with other settings: env maps a name to its value,
    or to None to leave it unset.  Started by PID and stopped by PID."""

    def __init__(self, env, offset=7):
        base = int(os.environ.get("PORT") or
                   BASE_URL.rsplit(":", 1)[1].split("/")[0])
        self.port = _free_port(base + offset)
        self.url = "http://127.0.0.1:%d" % self.port
        self.api = self.url + "/api/v1"
        self.log = os.path.join(VAR, "kore-spare-%d.log" % self.port)
        self.env = env
        self.proc = None
        self.wrap = []		# a command that execs the rest (a namespace)
        self.tracing = True	# Kore's seccomp tracing (LeakSanitizer: off)

    def _conf(self):
        with open(os.path.join(ROOT, "conf", "bangfu.conf")) as f:
            text = f.read()
        text = re.sub(r"bind 127\.0\.0\.1 \d+",
                      "bind 127.0.0.1 %d" % self.port, text)
        text = text.replace("load ./bangfu.so", "load " + os.path.join(
            ROOT, "build", "test", "bangfu.so"))
        text = text.replace("pidfile kore.pid", "pidfile " + os.path.join(
            VAR, "kore-spare-%d.pid" % self.port))
        text = re.sub(r"(?m)^seccomp_tracing.*$", "seccomp_tracing " +
                      ("yes" if self.tracing else "no"), text)
        path = os.path.join(VAR, "bangfu-spare-%d.conf" % self.port)
        with open(path, "w") as f:
            f.write(text)
        return path

    def start(self, wait=True):
        env = dict(os.environ)
        asan = subprocess.run(["gcc", "-print-file-name=libasan.so"],
                              capture_output=True, text=True).stdout.strip()
        env.update({"LD_PRELOAD": asan,
                    "ASAN_OPTIONS": "detect_leaks=0:log_path=%s/asan" % VAR,
                    "UBSAN_OPTIONS": "print_stacktrace=1:log_path=%s/ubsan"
                    % VAR})
        for k, v in self.env.items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        conf = self._conf()
        self.logf = open(self.log, "w")
        self.proc = subprocess.Popen(
            self.wrap + ["stdbuf", "-oL", "kore", "-c", conf, "-f", "-n",
                         "-r"],
            cwd=ROOT, env=env, stdout=self.logf, stderr=subprocess.STDOUT,
            start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=30):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            assert self.proc.poll() is None, self.read_log()
            try:
                if requests.get(self.url + "/readyz",
                                timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise AssertionError("spare server not ready: " + self.read_log())

    def exited(self, timeout=30):
        """The exit status once the server has stopped by itself."""
        return self.proc.wait(timeout=timeout)

    def read_log(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            self.logf.close()
            return
        workers = subprocess.run(["pgrep", "-P", str(self.proc.pid)],
                                 capture_output=True, text=True).stdout.split()
        self.proc.terminate()
        self.proc.wait(timeout=30)
        end = time.monotonic() + 10
        for w in workers:
            while os.path.exists("/proc/%s" % w) and time.monotonic() < end:
                time.sleep(0.05)
        self.logf.close()
        assert "seccomp violation" not in self.read_log()

    def call(self, method, path, **kw):
        return call(method, path, url=self.api + path, **kw)


# ------------------------------------------------------------ observing

REDIS_PORT = os.environ.get("BANGFU_REDIS_PORT", "26389")


def redis_cli(*args):
    return subprocess.run(["redis-cli", "-p", REDIS_PORT] + list(args),
                          check=True, capture_output=True, text=True,
                          timeout=10).stdout.strip()


def publish(msg):
    """Publishes msg on the workers' invalidation channel, as a write or a
    stock move does; returns how many subscribers (workers) received it."""
    return int(redis_cli("publish", "bangfu:invalidate", msg))


def subscribers():
    """How many workers listen on the invalidation channel."""
    n = int(redis_cli("pubsub", "numsub", "bangfu:invalidate").split()[-1])
    assert n >= 1, "no worker listens for invalidations"
    return n


_metrics = threading.local()


def cache_counts():
    """(hits, misses) of the catalog caches, over every worker."""
    if not hasattr(_metrics, "s"):
        _metrics.s = requests.Session()
    text = _metrics.s.get(KORE_URL + "/metrics", timeout=10).text
    return tuple(int(re.search(r"^bangfu_cache_%s_total (\d+)$" % k, text,
                               re.M).group(1)) for k in ("hits", "misses"))


def worker_pools(per=1, n=None, ex=None):
    """{worker: [per keep-alive requests.Sessions to Kore that only that
    worker answers]} for every worker (n of them: the subscribers).  Each
    session has .worker and .addr (its X-Forwarded-For); close them."""
    n = n or subscribers()
    own = ex is None
    ex = ex or ThreadPoolExecutor(max_workers=2 * n)
    out = {}

    def one(_):
        s = requests.Session()
        s.addr = client_addr()
        r = s.get(KORE_URL + "/readyz", timeout=TIMEOUT,
                  headers={"X-Forwarded-For": s.addr})
        s.worker = worker_of(r)
        return s
    end = time.monotonic() + 30
    try:
        while time.monotonic() < end:
            # At once: one client's connections in a row may all go to
            # the worker that last accepted (a busy worker accepts late).
            for s in ex.map(one, range(2 * n)):
                pool = out.setdefault(s.worker, [])
                if len(pool) < per:
                    pool.append(s)
                else:
                    s.close()
            if len(out) == n and all(len(p) == per for p in out.values()):
                return out
        raise AssertionError("could not reach every worker", n,
                             {w: len(p) for w, p in out.items()})
    except BaseException:
        close_pools(out)
        raise
    finally:
        if own:
            ex.shutdown(wait=True)


def close_pools(pools):
    for pool in pools.values():
        for s in pool:
            s.close()


def worker_sessions(n=None, ex=None):
    """{worker: one session of worker_pools()}."""
    return {w: p[0] for w, p in worker_pools(1, n, ex).items()}


class Inconclusive(AssertionError):
    """A Hearing that could prove nothing (too slow for its beacon)."""


class Hearing:
    """Proves that every worker has handled the invalidation messages
    published so far (Redis hands a subscriber its messages in order):
    heard() publishes a stock move of a beacon product and waits until
    each worker has dropped the beacon's page, seen on a connection of
    its own to that worker (Kore keeps a connection on one worker) as a
    cache miss where that worker had a hit just before (in /metrics).

    Made before what it is to wait for: it reads the beacon's page on
    every worker first.  The beacon is a listed product no test has taken,
    read by nobody within the cache's 10 s (its first read is a miss), so
    its entries cannot age out before heard() ends (checked: Inconclusive
    otherwise).  Nothing else may use the catalog cache while a probe runs
    (a probe whose counts moved by more than its own request is made
    again).  A miss probe may wait on a lock the caller holds: close() (or
    the with block's end) collects it.

    The connections go to Kore itself: BANGFU_KORE_URL when a proxy in
    front of it (BANGFU_URL) would spread one connection's requests."""

    TTL = 10.0          # app/cache.c CACHE_TTL_MS
    MARGIN = 1.0

    def __init__(self, exclude=()):
        self.n = subscribers()
        self.ex = ThreadPoolExecutor(max_workers=2 * self.n + 2)
        self.pending = []
        self.sessions = {}
        try:
            self._connect()
            with _taken_lock:
                avoid = set(_taken) | set(exclude)
            ids = [r["id"] for r in rows(
                "SELECT id FROM products WHERE status = 'listed' "
                "ORDER BY id")]
            candidates = [i for i in ids if i not in avoid]
            _rng.shuffle(candidates)
            for beacon in candidates[:20]:
                if self._prime(beacon):
                    return
            raise AssertionError("no beacon that no worker had cached")
        except BaseException:
            self.close()
            raise

    def _connect(self):
        self.sessions = {w: [s, None] for w, s in
                         worker_sessions(self.n, self.ex).items()}

    def _url(self):
        return KORE_URL + "/api/v1/products/%d" % self.beacon

    def _probe(self, s, wait=True):
        """('hit' | 'miss', future of the response) of one read of the
        beacon's page on session s, told by the cache counts.  wait=False:
        a miss may wait on a lock the caller holds, so it is not waited
        for (close() checks it)."""
        for _ in range(50):
            before = cache_counts()
            fut = self.ex.submit(s.get, self._url(), timeout=TIMEOUT,
                                 headers={"X-Forwarded-For": s.addr})
            if wait:
                fut.result()

            def moved():
                d = tuple(a - b for a, b in zip(cache_counts(), before))
                return d if sum(d) >= 1 else None
            d = wait_until(moved, 10, step=0.005)
            assert d, "a read of the beacon did not reach the cache"
            if d in ((1, 0), (0, 1)):
                kind = "hit" if d == (1, 0) else "miss"
                if wait or kind == "hit":
                    r = fut.result()
                    assert r.status_code == 200, r.text[:200]
                    assert worker_of(r) == s.worker, \
                        ("the connection moved", s.worker, worker_of(r))
                return kind, fut
            fut.result()        # someone else used the cache: again
        raise AssertionError("the cache counts never moved by one read")

    def _prime(self, beacon):
        """The beacon's page cached on every worker, by a miss of ours
        (whose time bounds the entry's age); False if a worker had it."""
        self.beacon = beacon
        for w, entry in self.sessions.items():
            s = entry[0]
            at = time.monotonic()
            if self._probe(s)[0] == "hit":
                return False    # cached already, of unknown age
            # Stored by that miss (or, if a flush came across it, by the
            # next miss): it lives TTL from then on.
            while True:
                entry[1] = at
                at = time.monotonic()
                if self._probe(s)[0] == "hit":
                    break
        return True

    def heard(self, timeout=5):
        """Returns once every worker has handled every message published
        on the channel before this call."""
        assert publish("product:%d" % self.beacon) == self.n
        end = time.monotonic() + timeout
        for w, (s, stored) in self.sessions.items():
            while True:
                now = time.monotonic()
                if now >= stored + self.TTL - self.MARGIN:
                    raise Inconclusive("the beacon may have aged out")
                assert now < end, "worker %s did not hear in %ss" % (
                    w, timeout)
                kind, fut = self._probe(s, wait=False)
                if kind == "miss":
                    self.pending.append((w, fut))
                    break
                time.sleep(0.005)   # poll interval: not yet heard

    def close(self):
        try:
            for w, fut in self.pending:
                r = fut.result()
                assert r.status_code == 200 and worker_of(r) == w, \
                    (w, r.status_code, r.headers.get("x-request-id"))
        finally:
            self.pending = []
            for s, _ in self.sessions.values():
                s.close()
            self.sessions = {}
            self.ex.shutdown(wait=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def all_heard(exclude=()):
    """Returns once every worker has handled every invalidation message
    published before the call (a write's, or one sent with publish())."""
    for _ in range(3):
        try:
            with Hearing(exclude) as h:
                h.heard()
            return
        except Inconclusive:
            pass        # a later beacon comes after those messages too
    raise Inconclusive("three beacons aged out: the server is too slow")


class RedisWatch:
    """Redis's MONITOR, read by a thread: the commands the server sent,
    from the moment the object is made."""

    def __init__(self):
        self.p = subprocess.Popen(["redis-cli", "-p", REDIS_PORT, "monitor"],
                                  stdout=subprocess.PIPE, text=True)
        assert self.p.stdout.readline().strip() == "OK"
        self.lines = []
        self.lock = threading.Lock()
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            with self.lock:
                self.lines.append(line)

    def count(self, *words):
        """Commands whose line holds every one of words (quoted)."""
        want = ['"%s"' % w for w in words]
        with self.lock:
            return sum(all(w in line for w in want) for line in self.lines)

    def close(self):
        self.p.terminate()
        self.p.wait(timeout=10)
        self.t.join(timeout=10)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def cart_reads(watch, users):
    """How many carts of users the server has read (HGETALL) since watch
    began: a checkout reads its cart first, so this many have arrived."""
    return sum(min(1, watch.count("HGETALL", "cart:u:%d" % u.id))
               for u in users)
