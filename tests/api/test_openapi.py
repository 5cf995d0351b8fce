"""The contract: assets/api/openapi.yaml against the code and the server.

Every other test's traffic is validated against the document by conftest.py
(contract.py); these tests check the document's coverage of the router,
that it is served, that the reference pages render, and that the checker
itself catches what it must.
"""

import json
import os
import re
import shutil
import subprocess

import pytest
import requests

from conftest import BASE_URL, CONTRACT, TIMEOUT, ok_json
import contract

ROOT = contract.ROOT


# Route tables outside /api/v1: their paths are as the browser sees them.
OUTSIDE_API = {"routes_sandbox"}


def code_routes():
    """{(path, METHOD)} of the route tables in app/http_*.c, of the
    sandbox's cashier page in app/payment.c (outside /api/v1) and of Kore's
    routes in conf/bangfu.conf (GET only: see app/http_ops.c)."""
    out = set()
    app = os.path.join(ROOT, "app")
    define = r'#define\s+(\w+)\s+("[^"]*")'
    shared = {}  # what app/*.h define, such as bulk.h's BULK
    for name in sorted(os.listdir(app)):
        if name.endswith(".h"):
            shared.update(re.findall(define, open(
                os.path.join(app, name), encoding="utf-8").read()))
    for name in sorted(os.listdir(app)):
        if not ((name.startswith("http_") and name.endswith(".c")) or
                name == "payment.c"):
            continue
        src = open(os.path.join(app, name), encoding="utf-8").read()
        macros = dict(shared)
        macros.update(re.findall(define, src))
        for tname, table in re.findall(
                r"struct api_route (routes_\w+)\[\]\s*=\s*\{(.*?)\n\};",
                src, re.S):
            prefix = "" if tname in OUTSIDE_API else contract.API_PREFIX
            for method, expr in re.findall(
                    r"\{\s*HTTP_METHOD_(\w+),\s*((?:\w+\s*)?(?:\"[^\"]*\"\s*)*),",
                    table):
                parts = re.findall(r'"([^"]*)"|(\w+)', expr)
                path = "".join(s if s else json.loads(macros[m])
                               for s, m in parts)
                path = re.sub(r"\{#?(\w+)\}", r"{\1}", path)
                out.add((prefix + path, method))
    conf = open(os.path.join(ROOT, "conf", "bangfu.conf"),
                encoding="utf-8").read()
    for path in re.findall(r"^\s*route\s+(/[\w/{}-]*)\s+\w+", conf, re.M):
        out.add((path, "GET"))
    return out


def added_ahead():
    """Operations documented ahead of their code (x-added-by)."""
    out = set()
    for tpl, item in CONTRACT.doc["paths"].items():
        full = tpl if (item.get("servers") or [{}])[0].get("url") == "/" \
            else contract.API_PREFIX + tpl
        for m in contract.METHODS:
            if m in item and ("x-added-by" in item[m] or
                              "x-added-by" in item):
                out.add((full, m.upper()))
    return out


def test_the_route_table_and_the_document_agree():
    code = code_routes()
    doc = CONTRACT.operations()
    assert len(code) > 70, sorted(code)
    undocumented = code - doc
    assert not undocumented, "routes without a contract: %s" % sorted(
        undocumented)
    phantom = doc - code - added_ahead()
    assert not phantom, "documented, not routed: %s" % sorted(phantom)


def test_every_operation_is_complete():
    ids = set()
    for tpl, item in CONTRACT.doc["paths"].items():
        names = set(re.findall(r"\{(\w+)\}", tpl))
        for m in contract.METHODS:
            op = item.get(m)
            if op is None:
                continue
            where = "%s %s" % (m.upper(), tpl)
            assert op.get("operationId") and op["operationId"] not in ids, \
                where
            ids.add(op["operationId"])
            assert op.get("tags"), where
            assert "security" in op, where
            params = [CONTRACT.deref(p) for p in op.get("parameters", [])]
            assert {p["name"] for p in params if p["in"] == "path"} == \
                names, where
            for status, r in op["responses"].items():
                r = CONTRACT.deref(r)
                media = (r.get("content") or {}).get(
                    "application/problem+json")
                if int(status) >= 400:
                    assert media, (where, status)
                    codes = media["schema"]["allOf"][1]["properties"][
                        "code"]["enum"]
                    assert codes, (where, status)


def test_the_document_is_served_as_json():
    r = requests.get(BASE_URL + "/api/v1/openapi.json", timeout=TIMEOUT)
    served = ok_json(r)
    assert served == CONTRACT.doc
    assert served["openapi"].startswith("3.1")


def test_the_reference_pages_are_static_and_ours():
    r = requests.get(BASE_URL + "/docs", timeout=TIMEOUT,
                     allow_redirects=False)
    assert r.status_code in (301, 302), r.status_code
    assert r.headers["Location"].endswith("/docs/")
    r = requests.get(BASE_URL + "/docs/", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    html = r.text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    for attrs, body in scripts:
        assert not body.strip(), "inline script"
        src = re.search(r'src="([^"]+)"', attrs).group(1)
        assert not re.match(r"^(https?:)?//", src), src
        js = requests.get(BASE_URL + "/docs/" + src, timeout=TIMEOUT)
        assert js.status_code == 200, src
        assert "javascript" in js.headers["Content-Type"]
    assert not re.search(r'(href|src)="(https?:)?//', html)


def test_the_reference_renders_every_tag_in_chromium(tmp_path):
    # scripts/deps.sh installs chromium: a machine without it fails here.
    assert shutil.which("chromium"), "chromium is missing (scripts/deps.sh)"
    out = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-dev-shm-usage", "--user-data-dir=%s" % tmp_path,
         # No name resolves: the page must render from this server alone.
         "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
         "--virtual-time-budget=30000", "--dump-dom",
         BASE_URL + "/docs/"],
        capture_output=True, timeout=120, check=False)
    dom = out.stdout.decode("utf-8", "replace")
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    for tag in CONTRACT.doc["tags"]:
        assert 'data-item-id="tag/%s"' % tag["name"].replace(" ", "-") \
            in dom, (tag["name"], dom[:2000])
    assert "bangfu 帮扶 API" in dom


# ---------------------------------------------------------- the checker

def _check(method, path, status, body, ctype="application/json",
           req_body=None, headers=None):
    return CONTRACT.check(method, BASE_URL + path, {}, req_body, status,
                          dict({"Content-Type": ctype}, **(headers or {})),
                          json.dumps(body).encode())


def test_the_checker_names_route_status_and_pointer():
    pid = ok_json(requests.get(BASE_URL + "/api/v1/products?per_page=1",
                               timeout=TIMEOUT))["items"][0]["id"]
    body = ok_json(requests.get(BASE_URL + "/api/v1/products/%d" % pid,
                                timeout=TIMEOUT))
    assert _check("GET", "/api/v1/products/%d" % pid, 200, body) == []
    body["price_tiers"][0]["unit_price_fen"] = "12.80"
    errs = _check("GET", "/api/v1/products/%d" % pid, 200, body)
    assert errs == ["GET /api/v1/products/{id} → 200 at "
                    "/price_tiers/0/unit_price_fen: '12.80' is not of type "
                    "'integer'"], errs


def test_the_checker_fails_undocumented_statuses_and_codes():
    errs = _check("GET", "/api/v1/products/7", 418, {})
    assert errs == ["GET /api/v1/products/{id} → 418: status not "
                    "documented"], errs
    problem = {"type": "about:blank", "title": "Conflict", "status": 409,
               "detail": "x", "code": "no_such_code"}
    errs = _check("PUT", "/api/v1/cart/items/7", 409, problem,
                  "application/problem+json",
                  req_body=b'{"qty": 1}')
    assert any("PUT /api/v1/cart/items/{id} → 409 at /code" in e
               for e in errs), errs
    problem["code"] = "insufficient_stock"
    assert _check("PUT", "/api/v1/cart/items/7", 409, problem,
                  "application/problem+json", req_body=b'{"qty": 1}') == []


def test_the_checker_fails_an_invalid_request_answered_2xx():
    errs = _check("PUT", "/api/v1/cart/items/7", 200, {},
                  req_body=b'{"qty": 10000}')
    assert any("the request is invalid under the document" in e
               for e in errs), errs


def test_the_checker_knows_unknown_routes_and_methods():
    nf = {"type": "about:blank", "title": "Not Found", "status": 404,
          "detail": "x", "code": "not_found"}
    assert _check("GET", "/api/v1/nowhere", 404, nf,
                  "application/problem+json") == []
    assert _check("GET", "/api/v1/nowhere", 200, {}) != []
    errs = _check("DELETE", "/api/v1/products", 405,
                  dict(nf, status=405, code="method_not_allowed"),
                  "application/problem+json")
    assert errs == ["DELETE /api/v1/products → 405 without Allow"], errs
