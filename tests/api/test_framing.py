"""The request path users reach: nginx in front of Kore (issue 10, 5.2, 5.3,
5.6).  Raw sockets, so that nothing normalises the bytes on the way.

Kore 4.1 misreads some requests (../shared/KORE-NOTES.md): a body on GET,
HEAD, DELETE or OPTIONS is read as a second request; with Content-Length
and Transfer-Encoding, or two Content-Lengths, the first length wins;
header lines past the 23rd are dropped; and a POST whose first read holds
more than its Content-Length makes the worker buffer whatever follows.
Each of these must get 400 or a closed connection, never a second answer
from the application.  Run against Kore directly (BANGFU_URL on KORE_PORT)
these tests fail; through nginx (PORT, what scripts/test.sh uses) they pass.

Also here: the security headers, gzip, /metrics and /readyz for loopback
only, and workers that are not root (5.3).

  BANGFU_URL              the server under test (nginx on PORT)
  BANGFU_ROOT, INSTANCE   where var/$INSTANCE/kore.pid is (the workers)
"""

import gzip
import os
import re
import socket
import urllib.parse

import pytest

import shop

BASE_URL = os.environ.get("BANGFU_URL", "http://127.0.0.1:18080").rstrip("/")
_u = urllib.parse.urlsplit(BASE_URL)
HOST, PORT = _u.hostname, _u.port or 80
ROOT = os.environ.get("BANGFU_ROOT") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
INSTANCE = os.environ.get("INSTANCE", "test")
TIMEOUT = 10

STATUS_RE = re.compile(rb"(?:^|\r\n)HTTP/1\.[01] (\d{3}) ")

# A complete request of its own, smuggled as the body of another: if it is
# answered, the server read a body as the next request.  Connection: close
# ends the exchange as soon as it is answered.
INNER = (b"GET /healthz HTTP/1.1\r\nHost: bangfu\r\n"
         b"Connection: close\r\n\r\n")


def connect(source=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    if source:
        s.bind((source, 0))
    s.connect((HOST, PORT))
    return s


def read_all(s):
    """Everything the server sends until it closes, and whether it closed
    (False: TIMEOUT passed with the connection still open)."""
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk


def exchange(raw, source=None):
    """Sends raw bytes on one connection: the statuses answered, in order,
    the raw answer, and whether the server closed the connection."""
    s = connect(source)
    try:
        s.sendall(raw)
        data, closed = read_all(s)
    finally:
        s.close()
    return [int(m) for m in STATUS_RE.findall(data)], data, closed


def refused(raw):
    """Sends raw: it must get 400 or nothing, and the connection closed.
    No answer of the application's (x-request-id, problem+json) may come:
    whatever it answers, it answers a request it framed wrong.  Kore alone
    either answers (what it misread) or waits for bytes that never come."""
    statuses, data, closed = exchange(raw)
    low = data.lower()
    assert closed, ("connection left open", statuses, data[:600])
    assert statuses in ([], [400]), (statuses, data[:600])
    assert b"x-request-id" not in low, data[:600]
    assert b"problem+json" not in low, data[:600]


def head(lines):
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# ------------------------------------------------------------ framing

@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE", "OPTIONS"])
def test_body_on_bodyless_method_is_refused(method):
    raw = head(["%s /healthz HTTP/1.1" % method, "Host: bangfu",
                "Content-Length: %d" % len(INNER)]) + INNER
    refused(raw)


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE", "OPTIONS"])
def test_chunked_body_on_bodyless_method_is_refused(method):
    raw = head(["%s /healthz HTTP/1.1" % method, "Host: bangfu",
                "Transfer-Encoding: chunked"]) + \
        b"%x\r\n" % len(INNER) + INNER + b"\r\n0\r\n\r\n"
    refused(raw)


def test_bodyless_methods_still_work():
    """The rule refuses bodies, not the methods: an empty length is fine
    (one answer of the application's: /healthz is GET only)."""
    for method, status in (("GET", 200), ("HEAD", 405), ("DELETE", 405),
                           ("OPTIONS", 405)):
        raw = head(["%s /healthz HTTP/1.1" % method, "Host: bangfu",
                    "Content-Length: 0", "Connection: close"])
        statuses, _, _ = exchange(raw)
        assert statuses == [status], method


def test_length_with_transfer_encoding_is_refused():
    """Kore frames by Content-Length and ignores chunked: the chunked
    terminator is its whole body and the smuggled request comes next (here
    in the same packet, so Kore's count wraps and it waits for more)."""
    body = b"0\r\n\r\n" + INNER
    raw = head(["POST /api/v1/auth/login HTTP/1.1", "Host: bangfu",
                "Content-Type: application/json", "Content-Length: 5",
                "Transfer-Encoding: chunked"]) + body
    refused(raw)


def test_two_content_lengths_are_refused():
    """Kore takes the first length (0): the application answers a login
    with no body, and the rest is lost or read as a request."""
    raw = head(["POST /api/v1/auth/login HTTP/1.1", "Host: bangfu",
                "Content-Type: application/json", "Content-Length: 0",
                "Content-Length: %d" % len(INNER)]) + INNER
    refused(raw)


def filler(n):
    return ["X-Filler-%02d: %d" % (i, i) for i in range(n)]


def test_more_headers_than_kore_keeps_are_refused():
    """30 header lines: Kore would keep 23 and drop the rest unseen."""
    raw = head(["GET /healthz HTTP/1.1", "Host: bangfu",
                "Connection: close"] + filler(28))
    refused(raw)


def test_twenty_headers_still_work():
    raw = head(["GET /healthz HTTP/1.1", "Host: bangfu",
                "Connection: close"] + filler(18))
    statuses, data, _ = exchange(raw)
    assert statuses == [200], data[:600]


def _me_with(n_lines):
    """GET /api/v1/me with Host and n_lines more header lines, the last of
    them the Authorization: the answer tells whether that line reached
    Kore (200) or was dropped on the way (401), or the head was refused."""
    lines = ["GET /api/v1/me HTTP/1.1", "Host: bangfu",
             "Connection: close"] + filler(n_lines - 2)
    lines.append("Authorization: Bearer %s" % shop.demo_token("citizen"))
    return head(lines)


def test_the_most_headers_allowed_all_reach_kore():
    """nginx sends its own Host and X-Forwarded-For: 21 lines besides them
    make 23 at Kore, all kept, the last (Authorization) too."""
    statuses, data, _ = exchange(_me_with(21))
    assert statuses == [200], data[:600]


def test_one_header_more_is_refused():
    """22 lines besides Host would be 24 at Kore, which would drop the
    last (the Authorization) unseen."""
    refused(_me_with(22))


def test_a_client_forwarded_for_is_replaced_not_counted():
    """The client's own X-Forwarded-For is replaced by nginx's, so it does
    not count: Host, X-Forwarded-For and 21 more still reach Kore whole."""
    raw = _me_with(21).replace(
        b"Connection: close\r\n",
        b"Connection: close\r\nX-Forwarded-For: 203.0.113.9\r\n")
    statuses, data, _ = exchange(raw)
    assert statuses == [200], data[:600]


def test_http10_without_host_is_refused():
    """Kore needs a Host; nginx has none to send for an HTTP/1.0 request
    without one, so such a request never reaches a handler, whatever its
    header count."""
    for n in (2, 22):
        raw = _me_with(n).replace(b"HTTP/1.1", b"HTTP/1.0").replace(
            b"Host: bangfu\r\n", b"")
        statuses, data, _ = exchange(raw)
        assert statuses == [400], data[:600]
        assert b"x-request-id" not in data.lower()


# ------------------------------------------------------------ worker memory

def kore_workers():
    """The Kore workers: the children of var/$INSTANCE/kore.pid."""
    path = os.path.join(ROOT, "var", INSTANCE, "kore.pid")
    try:
        with open(path) as f:
            parent = int(f.read().strip())
        os.kill(parent, 0)
    except (OSError, ValueError):
        pytest.skip("no running Kore parent in %s" % path)
    kids = set()
    for task in os.listdir("/proc/%d/task" % parent):
        try:
            with open("/proc/%d/task/%s/children" % (parent, task)) as f:
                kids |= {int(x) for x in f.read().split()}
        except OSError:
            pass
    workers = []
    for k in sorted(kids):
        try:
            with open("/proc/%d/comm" % k) as f:
                if f.read().startswith("kore"):
                    workers.append(k)
        except OSError:
            pass
    assert workers, "no Kore workers under pid %d" % parent
    return workers


def status_of(pid):
    with open("/proc/%d/status" % pid) as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f
                    if ":\t" in line)


def rss_kib(pids):
    return sum(int(status_of(p)["VmRSS"].split()[0]) for p in pids)


def test_post_overrunning_its_length_grows_no_worker():
    """A POST of Content-Length 2 whose first packet holds 64 KiB, then
    32 MiB more on the same connection.  Kore's byte count wraps below zero
    and the worker keeps what it reads (megabytes, however many it reads
    before it stalls); through nginx the extra bytes never reach Kore.
    Measured while the connection is still open."""
    workers = kore_workers()
    before = rss_kib(workers)
    sent = 0
    s = connect()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    try:
        first = head(["POST /api/v1/auth/login HTTP/1.1", "Host: bangfu",
                      "Content-Type: application/json",
                      "Content-Length: 2"]) + b"{}" + b"a" * 65536
        chunk = b"a" * (1 << 20)
        try:
            s.sendall(first)
            sent += len(first)
            for _ in range(32):
                s.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed on us: refused
        except socket.timeout:
            pass  # no longer read: what the worker holds is measured
        grown = rss_kib(workers) - before
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        read_all(s)
    finally:
        s.close()
    # The workers' memory does not follow what the client sends.  Kore
    # alone kept 24.5 MB of it; the sanitized workers' own churn meanwhile
    # (ASan's quarantine holds what they free: the expiry timer, the
    # invalidation messages) measured up to 2.2 MB, so the bar is 8 MiB.
    assert grown < 8 * 1024, "workers grew %d KiB after %d bytes sent" % (
        grown, sent)


# ------------------------------------------------------------ privileges

def test_workers_are_not_root():
    for pid in kore_workers():
        st = status_of(pid)
        uids = [int(x) for x in st["Uid"].split()]
        gids = [int(x) for x in st["Gid"].split()]
        assert 0 not in uids, (pid, st["Uid"])
        assert 0 not in gids, (pid, st["Gid"])
        assert int(st["CapEff"], 16) == 0, (pid, st["CapEff"])
        assert int(st["CapPrm"], 16) == 0, (pid, st["CapPrm"])
        assert st["Seccomp"].strip() == "2", (pid, st["Seccomp"])


# ------------------------------------------------------------ headers

def get(path, source=None, extra=()):
    raw = head(["GET %s HTTP/1.1" % path, "Host: bangfu",
                "Accept-Encoding: gzip", "Connection: close"] + list(extra))
    s = connect(source)
    try:
        s.sendall(raw)
        data, _ = read_all(s)
    finally:
        s.close()
    headpart, _, body = data.partition(b"\r\n\r\n")
    lines = headpart.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs.setdefault(k.strip().lower(), []).append(v.strip())
    if "chunked" in hdrs.get("transfer-encoding", [""])[0]:
        out = b""
        while True:
            size, _, body = body.partition(b"\r\n")
            n = int(size.split(b";")[0], 16)
            if n == 0:
                break
            out += body[:n]
            body = body[n + 2:]
        body = out
    return status, hdrs, body


def shop_script():
    """The path of the shop's entry script, as index.html names it."""
    status, hdrs, body = get("/")
    assert status == 200
    if hdrs.get("content-encoding") == ["gzip"]:
        body = gzip.decompress(body)
    m = re.search(rb'<script[^>]* src="(/assets/[^"]+\.js)"', body)
    assert m, body[:500]
    return m.group(1).decode()


PAGE_HEADERS = {
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
}


def test_nosniff_on_every_answer():
    for path in ("/api/v1/regions", "/api/v1/no-such-route", "/",
                 shop_script(), "/healthz", "/no-such-page"):
        status, hdrs, _ = get(path)
        assert hdrs.get("x-content-type-options") == ["nosniff"], path
    # nginx's own refusals too.
    statuses, data, _ = exchange(head(["GET /healthz HTTP/1.1",
                                       "Host: bangfu", "Content-Length: 3"])
                                 + b"abc")
    assert statuses == [400]
    assert b"\r\nX-Content-Type-Options: nosniff\r\n" in data


def test_pages_get_the_storefront_policy():
    for path in ("/", shop_script(), "/p/1", "/no-such-page"):
        status, hdrs, _ = get(path)
        for k, v in PAGE_HEADERS.items():
            assert hdrs.get(k) == [v], (path, k)
        csp = hdrs["content-security-policy"][0]
        rules = dict((d.strip().split(" ", 1) + [""])[:2]
                     for d in csp.split(";") if d.strip())
        assert rules["default-src"] == "'self'"
        assert rules["script-src"] == "'self'"
        assert rules["object-src"] == "'none'"
        assert rules["base-uri"] == "'self'"
        assert rules["frame-ancestors"] == "'none'"
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    # The API answers carry no page policy.
    status, hdrs, _ = get("/api/v1/regions")
    assert status == 200
    assert "content-security-policy" not in hdrs
    assert "x-frame-options" not in hdrs


def test_json_and_assets_are_gzipped():
    for path in ("/api/v1/products?region=yunnan", shop_script(), "/"):
        status, hdrs, body = get(path)
        assert status == 200, path
        assert hdrs.get("content-encoding") == ["gzip"], path
        assert gzip.decompress(body), path


# ------------------------------------------------------------ operations

def test_metrics_and_readyz_for_loopback_only():
    """nginx listens on 127.0.0.1; a client from 127.0.0.2 stands for any
    address that is not the node itself."""
    for path in ("/metrics", "/readyz"):
        status, _, _ = get(path)
        assert status == 200, path
        status, _, _ = get(path, source="127.0.0.2")
        assert status == 403, path
        # X-Forwarded-For from a client that is not a trusted proxy changes
        # nothing.
        status, _, _ = get(path, source="127.0.0.2",
                           extra=["X-Forwarded-For: 127.0.0.1"])
        assert status == 403, path
    status, _, _ = get("/healthz", source="127.0.0.2")
    assert status == 200
