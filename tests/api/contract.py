"""The contract (assets/api/openapi.yaml) checked against the traffic.

conftest.py installs check() around requests' Session.send, so every
request the API suite makes to the server under test, and its answer, is
held against the OpenAPI document:

  - the answer's status must be documented for the operation, its media
    type too, and a JSON body must match the schema (a problem's `code` is
    an enum per status, so an undocumented code fails);
  - a request the document calls invalid (body, query, path or header) must
    not be answered 2xx;
  - headers the document marks required on an answer must be there;
  - a path the document does not know must be 404 `not_found`, and a method
    it does not list on a known path 405 `method_not_allowed` with Allow.

A mismatch names the route, the status and the JSON pointer.  Run as
`python3 tests/api/contract.py RECORDING.jsonl` to check a recording made
with OPENAPI_RECORD=file (one JSON object a line) offline.
"""

import json
import os
import re
import sys
import threading
import urllib.parse

import yaml
from jsonschema import Draft202012Validator, FormatChecker, RefResolver

ROOT = os.environ.get("BANGFU_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
DOC_PATH = os.path.join(ROOT, "assets", "api", "openapi.yaml")
API_PREFIX = "/api/v1"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
# Static files served beside the API (not part of the contract), and the
# redirects to them.
# The web app's files and the reference pages: not the API's contract.
STATIC = ("/docs/", "/assets/", "/img/")
REDIRECTS = ("/docs",)
# Answers nginx makes itself when Kore's worker is gone (no x-request-id).
PROXY_STATUSES = (502, 504)

DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TIME_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

formats = FormatChecker(())


@formats.checks("date")
def _is_date(v):
    return not isinstance(v, str) or bool(DATE_RE.match(v))


@formats.checks("date-time")
def _is_time(v):
    return not isinstance(v, str) or bool(TIME_RE.match(v))


def _pointer(path):
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1")
                          for p in path) if path else "/"


class Contract:
    def __init__(self, path=DOC_PATH):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        self.resolver = RefResolver(base_uri="", referrer=self.doc)
        self.validators = {}
        self.routes = []  # (regex, template, path item, under /api/v1)
        for tpl, item in self.doc["paths"].items():
            servers = item.get("servers")
            api = not (servers and servers[0]["url"] == "/")
            rx = "^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)",
                              re.escape(tpl)) + "$"
            names = re.findall(r"\{([^}]+)\}", tpl)
            self.routes.append((re.compile(rx), tpl, item, api, names))
        # Literal segments before parameters: /me/invitations before /me/{x}.
        self.routes.sort(key=lambda r: (r[1].count("{"), -len(r[1])))
        self.lock = threading.Lock()
        self.answers = 0
        self.seen = set()  # (method, template, status) answered

    # ---------------------------------------------------------- schemas

    def deref(self, node):
        while isinstance(node, dict) and "$ref" in node:
            _, node = self.resolver.resolve(node["$ref"])
        return node

    def errors(self, schema, value):
        key = id(schema)
        v = self.validators.get(key)
        if v is None:
            v = Draft202012Validator(schema, resolver=self.resolver,
                                     format_checker=formats)
            self.validators[key] = (v, schema)
        else:
            v = v[0]
        return sorted(v.iter_errors(value),
                      key=lambda e: list(e.absolute_path))

    # ---------------------------------------------------------- matching

    def match(self, path):
        api = path.startswith(API_PREFIX + "/") or path == API_PREFIX
        sub = path[len(API_PREFIX):] if api else path
        for rx, tpl, item, under, names in self.routes:
            if under != api:
                continue
            m = rx.match(sub)
            if m:
                return tpl, item, dict(zip(names, m.groups()))
        return None, None, None

    def operations(self):
        """{(template, METHOD)} of the document."""
        out = set()
        for tpl, item in self.doc["paths"].items():
            servers = item.get("servers")
            full = tpl if servers and servers[0]["url"] == "/" else \
                API_PREFIX + tpl
            for m in METHODS:
                if m in item:
                    out.add((full, m.upper()))
        return out

    # ---------------------------------------------------------- checking

    def param_ok(self, p, raw):
        """Whether a raw string value meets a parameter's schema."""
        schema = self.deref(p.get("schema", {}))
        t = schema.get("type")
        value = raw
        if t == "integer":
            if not re.match(r"^-?\d{1,18}$", raw):
                return False
            value = int(raw)
        elif t == "boolean":
            if raw not in ("true", "false"):
                return False
            value = raw == "true"
        return not self.errors(schema, value)

    def request_problems(self, op, item, method, params, query, headers,
                         body, ctype):
        """What makes the request invalid under the document (a list)."""
        out = []
        plist = [self.deref(p) for p in item.get("parameters", [])] + \
            [self.deref(p) for p in op.get("parameters", [])]
        for p in plist:
            name, where = p["name"], p["in"]
            if where == "path":
                raw = params.get(name)
            elif where == "query":
                vals = query.get(name)
                raw = vals[-1] if vals else None
            elif where == "header":
                raw = headers.get(name.lower())
            else:
                continue
            if raw is None:
                if p.get("required"):
                    out.append("%s parameter %s missing" % (where, name))
                continue
            if not self.param_ok(p, raw):
                out.append("%s parameter %s=%r invalid" % (where, name, raw))
        rb = self.deref(op.get("requestBody"))
        if rb:
            content = rb.get("content", {})
            base = (ctype or "").split(";")[0].strip().lower()
            if body in (None, b"", ""):
                if rb.get("required"):
                    out.append("body missing")
            elif base not in content:
                out.append("body media type %r not documented" % base)
            elif base.endswith("json"):
                try:
                    value = json.loads(body)
                except ValueError:
                    out.append("body is not JSON")
                else:
                    schema = content[base].get("schema", {})
                    for e in self.errors(schema, value)[:3]:
                        out.append("body %s: %s" % (
                            _pointer(e.absolute_path), e.message))
        return out

    def check(self, method, url, req_headers, req_body, status, resp_headers,
              resp_body):
        """The mismatches of one exchange (a list of strings)."""
        u = urllib.parse.urlsplit(url)
        path = u.path
        if path in REDIRECTS or any(path.startswith(s) for s in STATIC):
            return []
        method = method.upper()
        rh = {k.lower(): v for k, v in resp_headers.items()}
        qh = {k.lower(): v for k, v in req_headers.items()}
        ctype = rh.get("content-type", "").split(";")[0].strip().lower()
        if status in PROXY_STATUSES and "x-request-id" not in rh:
            return []
        # A page of the web app (a client route, or its 404 page).
        if ctype == "text/html" and not path.startswith(API_PREFIX + "/") \
                and not path.startswith("/sandbox/"):
            return []
        tpl, item, params = self.match(path)
        if tpl is not None and path.startswith(API_PREFIX + "/"):
            tpl = API_PREFIX + tpl
        where = "%s %s" % (method, tpl or path)
        out = []

        def problem_code(want_status, want_code):
            if status != want_status:
                out.append("%s → %d: undocumented route, expected %d" % (
                    where, status, want_status))
                return
            try:
                code = json.loads(resp_body).get("code")
            except (ValueError, AttributeError):
                code = None
            if ctype != "application/problem+json" or code != want_code:
                out.append("%s → %d: expected problem %s, got %s %r" % (
                    where, status, want_code, ctype, code))

        if item is None:
            problem_code(404, "not_found")
            return out
        op = item.get("head" if method == "HEAD" and "head" in item
                      else "get" if method == "HEAD" else method.lower())
        if op is None:
            problem_code(405, "method_not_allowed")
            if "allow" not in rh:
                out.append("%s → 405 without Allow" % where)
            return out

        with self.lock:
            self.answers += 1
            self.seen.add(("GET" if method == "HEAD" else method, tpl,
                           status))
        query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        bad_req = self.request_problems(op, item, method, params, query, qh,
                                        req_body, qh.get("content-type"))
        if bad_req and 200 <= status < 300:
            out.append("%s → %d: the request is invalid under the document "
                       "yet was answered %d: %s" % (
                           where, status, status, "; ".join(bad_req)))

        resp = op.get("responses", {}).get(str(status))
        if resp is None:
            out.append("%s → %d: status not documented" % (where, status))
            return out
        resp = self.deref(resp)
        for name, h in (resp.get("headers") or {}).items():
            h = self.deref(h)
            if h.get("required") and name.lower() not in rh:
                out.append("%s → %d: header %s missing" % (where, status,
                                                          name))
        content = resp.get("content")
        if method == "HEAD" or status == 204 or not content:
            if content is None and resp_body and status != 204 and \
                    method != "HEAD":
                out.append("%s → %d: a body the document does not describe"
                           % (where, status))
            return out
        media = content.get(ctype)
        if media is None:
            out.append("%s → %d: media type %r not documented (%s)" % (
                where, status, ctype, ", ".join(content)))
            return out
        schema = media.get("schema")
        if schema is None or not ctype.endswith("json"):
            return out
        try:
            value = json.loads(resp_body)
        except ValueError:
            out.append("%s → %d: the body is not JSON" % (where, status))
            return out
        for e in self.errors(schema, value)[:5]:
            out.append("%s → %d at %s: %s" % (
                where, status, _pointer(e.absolute_path),
                e.message[:300]))
        return out


def main(argv):
    c = Contract()
    bad = {}
    n = 0
    with open(argv[1], encoding="utf-8") as f:
        for line in f:
            x = json.loads(line)
            n += 1
            body = x["req_body"]
            errs = c.check(x["method"], x["url"], x["req_headers"],
                           body.encode() if body is not None else None,
                           x["status"], x["resp_headers"], x["resp_body"])
            for e in errs:
                bad[e] = bad.get(e, 0) + 1
    for e, k in sorted(bad.items()):
        print("%4d  %s" % (k, e))
    print("%d exchanges, %d answers validated, %d distinct mismatches, "
          "%d operations of %d answered" % (
              n, c.answers, len(bad),
              len({(m, t) for m, t, _ in c.seen}), len(c.operations())))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
