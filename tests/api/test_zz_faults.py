"""Fault drills, run last: Redis and PostgreSQL restart under the server.
The server answers 503 (never 500, never a hang) while one is away, and
recovers on its own: Redis links reconnect on a timer, and each dead
PostgreSQL connection of the pool is replaced on its next use."""

import os
import subprocess
import time

import requests

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


def test_postgres_restart():
    pg = os.path.join(VAR, "pg")
    ctl = subprocess.run(["sh", "-c", "ls -d /usr/lib/postgresql/*/bin | "
                          "sort -V | tail -n 1"], capture_output=True,
                         text=True).stdout.strip() + "/pg_ctl"
    cmd = [ctl, "-D", pg, "-m", "fast", "-w", "restart",
           "-l", os.path.join(pg, "server.log")]
    if os.getuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    subprocess.run(cmd, check=True, capture_output=True)
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
