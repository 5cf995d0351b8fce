"""Fault drills, run last: Redis and PostgreSQL restart under the server.
The server answers 503 (never 500, never a hang) while one is away, and
recovers on its own: Redis links reconnect on a timer, and each dead
PostgreSQL connection of the pool is replaced on its next use."""

import os
import subprocess
import sys
import time

import requests

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from shop import (  # noqa: E402,F401
    cart_put, checkout, make_user, make_users, ok, rows, run_parallel,
    shop_products, stock_of)

URL = os.environ.get("BANGFU_URL", "http://127.0.0.1:18080")
ROOT = os.environ.get("BANGFU_ROOT", os.getcwd())
INSTANCE = os.environ.get("INSTANCE", "test")
VAR = os.path.join(ROOT, "var", INSTANCE)


def status(path, **kw):
    return requests.get(URL + path, timeout=10, **kw).status_code


def wait_for(path, code, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if status(path) == code:
            return True
        time.sleep(0.1)
    return False


def services_start():
    env = dict(os.environ, INSTANCE=INSTANCE)
    subprocess.run([os.path.join(ROOT, "scripts", "services.sh"), "start"],
                   check=True, env=env, capture_output=True)


def test_redis_restart():
    pid = int(open(os.path.join(VAR, "redis", "redis.pid")).read())
    os.kill(pid, 15)
    assert wait_for("/readyz", 503, 10)
    r = requests.put(URL + "/api/v1/cart/items/1", json={"qty": 1},
                     timeout=10)
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    services_start()
    assert wait_for("/readyz", 200, 15)
    r = requests.put(URL + "/api/v1/cart/items/1", json={"qty": 1},
                     timeout=10)
    assert r.status_code in (200, 404, 409), r.text


def restart_postgres():
    pg = os.path.join(VAR, "pg")
    ctl = subprocess.run(["sh", "-c", "ls -d /usr/lib/postgresql/*/bin | "
                          "sort -V | tail -n 1"], capture_output=True,
                         text=True).stdout.strip() + "/pg_ctl"
    cmd = [ctl, "-D", pg, "-m", "fast", "-w", "restart",
           "-l", os.path.join(pg, "server.log")]
    if os.getuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    subprocess.run(cmd, check=True, capture_output=True)


def test_checkouts_after_a_postgres_restart(shop_products):
    """The pooled connections die with the restart while the caches stay
    warm, so a checkout's first statement is its batch: every checkout
    answers (201, or 503 while the pool heals; never a hang), and a batch
    that never reached the database placed nothing: retried, each buyer
    ends with exactly one order."""
    pid = shop_products.one(stock=100)
    users = make_users(12, tag="pgfault")
    run_parallel(lambda u: cart_put(u.token, pid, 1), users)
    warm = make_user(tag="pgfault")
    cart_put(warm.token, pid, 1)
    ok(checkout(warm.token), 201)

    restart_postgres()

    def go(u):
        for _ in range(40):
            r = checkout(u.token)
            assert r.status_code in (201, 503), (r.status_code, r.text)
            if r.status_code == 201:
                return r
            assert r.json()["code"] == "unavailable", r.text
            time.sleep(0.25)
        return r

    res = run_parallel(go, users, workers=len(users))
    assert [r.status_code for r in res] == [201] * len(users), \
        [r.text[:120] for r in res]
    for u, r in zip(users, res):
        assert user_orders(u) == [r.json()["id"]]
    assert stock_of(pid) == 100 - 1 - len(users)


def test_postgres_restart():
    restart_postgres()
    seen = []
    for i in range(60):
        r = requests.get(URL + "/api/v1/products?q=fault%d" % i, timeout=10)
        seen.append(r.status_code)
        assert r.status_code in (200, 503), (r.status_code, r.text)
        if r.status_code == 503:
            assert r.json()["code"] == "unavailable"
            assert r.headers.get("Retry-After") == "1"
    # Every pooled connection is replaced after at most one failure each.
    assert seen[-20:] == [200] * 20, seen


def user_orders(u):
    return [r["id"] for r in rows("SELECT id FROM orders WHERE user_id = %d "
                                  "ORDER BY id" % u.id)]
