"""Operations: /healthz, /readyz, /metrics (outside /api/v1), unknown
routes and wrong methods."""

import re

import requests

import pytest

from conftest import BASE_URL, assert_problem, ok_json

SAMPLE_RE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*"'
    r'(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*)?\})? '
    r'(-?[0-9.eE+-]+|\+Inf|-Inf|NaN)$')


def parse_metrics(text):
    """{(name, frozenset(labels)): value}; asserts the exposition format."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            if line.startswith("# TYPE "):
                assert len(line.split()) == 4, line
            continue
        m = SAMPLE_RE.match(line)
        assert m, "not a Prometheus sample line: %r" % line
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"',
                                      m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(5))
    return out


def metrics(api):
    r = api.get(url=BASE_URL + "/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain"), r.headers
    return r.text, parse_metrics(r.text)


def sample(m, name, **labels):
    return m.get((name, frozenset(labels.items())), 0.0)


def test_healthz(api):
    r = api.get(url=BASE_URL + "/healthz")
    assert r.status_code == 200
    assert ok_json(r)["status"] == "ok"


def test_readyz(api):
    r = api.get(url=BASE_URL + "/readyz")
    assert r.status_code == 200, r.text


def test_metrics_is_prometheus_text_with_route_labels(api):
    api.get("/regions")
    text, m = metrics(api)
    assert "# TYPE bangfu_requests_total counter" in text
    assert "# TYPE bangfu_request_duration_seconds histogram" in text
    names = {k[0] for k in m}
    assert "bangfu_requests_total" in names
    assert "bangfu_request_duration_seconds_bucket" in names
    routes = {dict(k[1]).get("route") for k in m
              if k[0] == "bangfu_request_duration_seconds_bucket"}
    for route in ("regions", "products", "product", "auth_login", "me"):
        assert route in routes, routes
    # Every requests_total sample names its route and status.
    for (name, labels), _ in m.items():
        if name == "bangfu_requests_total":
            assert {"route", "status"} <= {k for k, _ in labels}, labels
    # Histogram: buckets are cumulative and +Inf equals the count.
    le = sorted(((float(dict(k[1])["le"]), v) for k, v in m.items()
                 if k[0] == "bangfu_request_duration_seconds_bucket"
                 and dict(k[1])["route"] == "regions"))
    assert le and le[-1][0] == float("inf")
    assert all(a[1] <= b[1] for a, b in zip(le, le[1:])), le
    assert le[-1][1] == sample(m, "bangfu_request_duration_seconds_count",
                               route="regions")


def test_metrics_counts_increase(api):
    _, before = metrics(api)
    for _ in range(3):
        assert api.get("/regions").status_code == 200
    assert api.get("/no-such-route").status_code == 404
    _, after = metrics(api)
    key = dict(route="regions", status="200")
    assert sample(after, "bangfu_requests_total", **key) >= \
        sample(before, "bangfu_requests_total", **key) + 3
    assert sample(after, "bangfu_request_duration_seconds_count",
                  route="regions") >= \
        sample(before, "bangfu_request_duration_seconds_count",
               route="regions") + 3
    assert sample(after, "bangfu_request_duration_seconds_bucket",
                  route="regions", le="+Inf") >= \
        sample(before, "bangfu_request_duration_seconds_bucket",
               route="regions", le="+Inf") + 3
    nf = dict(route="not_found", status="404")
    assert sample(after, "bangfu_requests_total", **nf) >= \
        sample(before, "bangfu_requests_total", **nf) + 1


@pytest.mark.parametrize("path", [
    "/api/v1/no-such-route",
    "/api/v1/regions/yunnan/shop/extra",
    "/api/v1/regions/",
    "/api/v1",
    "/no-such-page",
])
def test_unknown_route_is_404_problem(api, path):
    assert_problem(api.get(url=BASE_URL + path), 404, "not_found")


@pytest.mark.parametrize("method,path,allowed", [
    ("DELETE", "/regions", "GET"),
    ("POST", "/products/{pid}", "GET"),
    ("PUT", "/channel", "GET"),
    ("PATCH", "/regions/yunnan", "GET"),
    ("GET", "/auth/login", "POST"),
    ("DELETE", "/me", "GET"),
])
def test_wrong_method_is_405_with_allow(api, demo, method, path, allowed):
    r = api.request(method, path.format(pid=demo["stock20"]), data=b"")
    assert_problem(r, 405, "method_not_allowed")
    allow = {m.strip() for m in r.headers.get("Allow", "").split(",")}
    assert allowed in allow, r.headers
    assert method not in allow, r.headers


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_ops_routes_refuse_wrong_method(api, path):
    r = api.delete(url=BASE_URL + path)
    assert r.status_code == 405, (r.status_code, r.text[:200])
    assert "GET" in r.headers.get("Allow", "")


def test_head_is_a_get_without_body():
    """HEAD on a GET route answers like GET, with no body; 405s offer it."""
    r = requests.head(BASE_URL + "/api/v1/regions", timeout=10)
    assert r.status_code == 200
    assert r.content == b""
    r = requests.delete(BASE_URL + "/api/v1/regions", timeout=10)
    assert r.status_code == 405
    allow = {m.strip() for m in r.headers.get("Allow", "").split(",")}
    assert {"GET", "HEAD"} <= allow, r.headers
