#!/usr/bin/python3
"""Fault drills against scripts/cluster.sh's cluster, each under checkout
load through nginx (scripts/cluster.sh drill [kore pg redis pitr]):

  kore   SIGKILL one Kore node (its whole process group)
  pg     SIGKILL the PostgreSQL primary (its pg_auto_failover keeper and
         postgres): the monitor promotes a standby
  redis  SIGKILL the Redis master: the Sentinels promote the replica;
         signed-in shoppers must stay signed in with their carts
  pitr   pgBackRest: restore to a point in time taken under load into a
         new cluster; the order count there is the count at that time

Each prints the time to recover (kill to the first 201 of a checkout sent
after the kill), the requests that failed during the switch by status,
the orders answered 201 and missing afterwards (must be 0), and stock
conservation (stock + units sold = start, for the products bought).
Exits 1 when an order is missing, stock is not conserved, or the cluster
does not recover; the goals (PostgreSQL < 15 s, Redis < 10 s) are printed
as met or not.  Environment: from scripts/cluster.sh (exported by its
drill command).  DRILL_THREADS (8), DRILL_AFTER (seconds of load after
recovery, 6), DRILL_WARMUP (4).
"""
import base64, collections, hashlib, hmac, json, os, signal, subprocess
import sys, threading, time, uuid

import requests

E = os.environ
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CVAR = E["CVAR"]
LB = "http://127.0.0.1:%s" % E["LB_PORT"]
NODES = E["NODES"].split()
PG_PORTS = E["PG_PORTS"].split()
THREADS = int(E.get("DRILL_THREADS", "8"))
AFTER = float(E.get("DRILL_AFTER", "6"))
WARMUP = float(E.get("DRILL_WARMUP", "4"))
GOALS = {"pg": 15.0, "redis": 10.0}
ADDRESS = {"name": "演练", "phone": "13800138000", "province": "上海市",
           "city": "上海市", "district": "浦东新区", "line": "世纪大道 1 号"}


def log(*a):
    print(*a, flush=True)


def run(args, env=None, check=True, input=None):
    r = subprocess.run(args, capture_output=True, text=True, input=input,
                       env=dict(os.environ, **(env or {})))
    if check and r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout.strip()


def psql(sql, port=None):
    """As the application's user: the primary (multi-host URL) or a port."""
    conn = E["DATABASE_URL"] if port is None else (
        "host=127.0.0.1 port=%s dbname=bangfu user=bangfu" % port)
    return run(["psql", "-X", "-tAq", "-v", "ON_ERROR_STOP=1", conn, "-c", sql])


def as_postgres(port, db, sql, check=False):
    """As the superuser, on the socket (peer): what the application's
    user may not do."""
    args = ["psql", "-X", "-tAq", "-h", "/var/run/postgresql", "-p",
            str(port), "-d", db, "-c", sql]
    if os.getuid() == 0:
        args = ["runuser", "-u", "postgres", "--"] + args
    return run(args, check=check)


def mon(sql):
    return as_postgres(E["PG_MON_PORT"], "pg_auto_failover", sql)


def pg_primary(seconds=60):
    """(node name, port) of the primary, as the monitor says.  Just after a
    failover the new primary may take writes before its keeper has
    reported wait_primary: waits until it has."""
    end = time.time() + seconds
    while True:
        r = mon("SELECT nodename, nodeport FROM pgautofailover.node WHERE "
                "reportedstate IN ('primary','single','wait_primary') AND "
                "goalstate IN ('primary','single','wait_primary') LIMIT 1")
        if "|" in r:
            name, port = r.split("|")
            return name, port
        if time.time() > end:
            raise RuntimeError("timed out: the monitor names no primary")
        time.sleep(0.2)


def redis_master_port():
    for p in E["SENTINEL_PORTS"].split():
        r = run(["redis-cli", "-p", p, "sentinel", "get-master-addr-by-name",
                 E["MASTER_NAME"]], check=False,
                env={"REDISCLI_AUTH": E["SENTINEL_PASSWORD"]})
        if r:
            return r.split()[1]
    raise RuntimeError("no sentinel answers")


def rcli(port, *args, input=None):
    return run(["redis-cli", "-p", str(port)] + list(args),
               env={"REDISCLI_AUTH": E["REDIS_PASSWORD"]}, input=input)


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint(uid, sid):
    now = int(time.time())
    hdr = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"aud": "bangfu-api", "exp": now + 880, "iat": now,
                           "iss": "bangfu", "role": "citizen", "sid": sid,
                           "sub": str(uid)}).encode())
    sig = b64(hmac.new(E["JWT_SECRET"].encode(), (hdr + "." + body).encode(),
                       hashlib.sha256).digest())
    return hdr + "." + body + "." + sig


def users(prefix, n):
    """n signed-in citizens: rows in PostgreSQL, sessions in Redis."""
    psql("INSERT INTO users (email, password_hash, name, role) SELECT "
         "'%s-' || i || '@drill.bangfu.cn', '!', '演练' || i, 'citizen' "
         "FROM generate_series(1, %d) i ON CONFLICT ((lower(email))) DO NOTHING"
         % (prefix, n))
    ids = [int(x) for x in psql(
        "SELECT id FROM users WHERE email LIKE '%s-%%@drill.bangfu.cn' "
        "ORDER BY id" % prefix).split()]
    cmds, toks = [], []
    for uid in ids:
        sid = b64(os.urandom(16))
        cmds.append("HSET sess:{%s} uid %d role citizen rt drill" % (sid, uid))
        cmds.append("EXPIRE sess:{%s} 3600" % sid)
        cmds.append("DEL cart:u:%d" % uid)
        toks.append(mint(uid, sid))
    rcli(redis_master_port(), "--pipe", input="\n".join(cmds) + "\n")
    return toks


def products(k=4):
    ids = psql("SELECT id FROM products WHERE status = 'listed' AND kind = "
               "'goods' ORDER BY id LIMIT %d" % k).split()
    psql("UPDATE products SET stock = 1000000 WHERE id IN (%s)" % ",".join(ids))
    return [int(i) for i in ids]


def conservation(pids, port=None):
    """stock + units sold (orders not cancelled or refunded) of pids."""
    r = psql("SELECT (SELECT sum(stock) FROM products WHERE id IN (%s)), "
             "(SELECT coalesce(sum(l.qty), 0) FROM order_lines l JOIN orders o "
             "ON o.id = l.order_id WHERE l.product_id IN (%s) AND o.status NOT "
             "IN ('cancelled', 'refunded'))" % ((",".join(map(str, pids)),) * 2),
             port)
    stock, sold = map(int, r.split("|"))
    return stock, sold


class Load:
    """Checkouts through nginx: a cart line, then POST /orders with an
    Idempotency-Key, retried with the same key until 201 (so a failure in
    the switch costs time, never a double order).  Each user places at
    most 4 orders (MAX_UNPAID_ORDERS is 5)."""

    def __init__(self, tokens, pids):
        self.todo = [t for _ in range(4) for t in tokens]
        self.pids = pids
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ok = []        # (t_start, t_end, order id)
        self.fail = []      # (t_start, t_end, what)
        self.threads = [threading.Thread(target=self.work, args=(i,))
                        for i in range(THREADS)]

    def next_user(self):
        with self.lock:
            return self.todo.pop() if self.todo else None

    def work(self, i):
        s = requests.Session()
        pid = self.pids[i % len(self.pids)]
        while not self.stop.is_set():
            tok = self.next_user()
            if tok is None:
                return
            h = {"Authorization": "Bearer " + tok}
            key = str(uuid.uuid4())
            give_up = time.time() + 90
            pause = 0.05
            while time.time() < give_up:
                t0 = time.time()
                what = None
                try:
                    r = s.put(LB + "/api/v1/cart/items/%d" % pid, json={"qty": 1},
                              headers=h, timeout=30)
                    if r.status_code != 200:
                        what = "PUT /cart/items %d" % r.status_code
                    else:
                        r = s.post(LB + "/api/v1/orders", headers=dict(
                            h, **{"Idempotency-Key": key}), timeout=30,
                            json={"address": ADDRESS, "note": "drill"})
                        if r.status_code == 201:
                            with self.lock:
                                self.ok.append((t0, time.time(), r.json()["id"]))
                            break
                        code = ""
                        try:
                            code = " " + r.json().get("code", "")
                        except ValueError:
                            pass
                        what = "POST /orders %d%s" % (r.status_code, code)
                except requests.RequestException as e:
                    what = "connection error (%s)" % type(e).__name__
                    s = requests.Session()
                with self.lock:
                    self.fail.append((t0, time.time(), what))
                if self.stop.is_set():
                    break
                # Back off (to 1 s): retries count in the per-user rate limit.
                time.sleep(pause)
                pause = min(1.0, pause * 2)

    def start(self):
        for t in self.threads:
            t.start()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()


def wait(cond, seconds, what):
    end = time.time() + seconds
    while time.time() < end:
        try:
            if cond():
                return True
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError("timed out: " + what)


def missing(ids, port=None):
    if not ids:
        return 0
    found = int(psql("SELECT count(*) FROM orders WHERE id = ANY('{%s}'::bigint[])"
                     % ",".join(map(str, ids)), port))
    return len(set(ids)) - found


def report(name, load, t_kill, pids, base, healthy=None, extra=None):
    """The figures of one drill; True when it passed."""
    after = [o for o in load.ok if o[0] >= t_kill]
    first = min((o[1] for o in after), default=None)
    fails = [f for f in load.fail if f[1] >= t_kill - 1]
    last_fail = max((f[1] for f in fails), default=None)
    ids = [o[2] for o in load.ok]
    lost = missing(ids)
    stock, sold = conservation(pids)
    rec = None if first is None else first - t_kill
    log("drill %s:" % name)
    log("  time to recover: %s (kill to the first 201 of a checkout sent after it)"
        % ("never" if rec is None else "%.2f s" % rec))
    if last_fail is not None:
        log("  last failed request ended %.2f s after the kill" % (last_fail - t_kill))
    by = collections.Counter(f[2] for f in fails)
    log("  failed requests during the switch: %d %s" % (len(fails), dict(by)))
    log("  orders answered 201: %d, missing afterwards: %d" % (len(ids), lost))
    ok_stock = stock + sold == base
    log("  stock conservation: stock %d + sold %d = %d, start %d: %s"
        % (stock, sold, stock + sold, base, "ok" if ok_stock else "BROKEN"))
    for line in extra or []:
        log("  " + line)
    goal = GOALS.get(name)
    if goal is not None:
        log("  goal < %.0f s: %s" % (goal, "met" if rec is not None and rec < goal
                                     else "NOT met"))
    return rec is not None and lost == 0 and ok_stock and (healthy is None or healthy)


def under_load(name, kill, heal, tokens, pids, check_after=None):
    base = sum(conservation(pids))
    load = Load(tokens, pids)
    load.start()
    time.sleep(WARMUP)
    before = len(load.ok)
    t_kill = time.time()
    what = kill()
    log("drill %s: %s at %s, %d orders so far, load average %.1f" % (
        name, what, time.strftime("%H:%M:%S", time.gmtime(t_kill)), before,
        os.getloadavg()[0]))
    wait(lambda: any(o[0] >= t_kill for o in load.ok), 120, "a checkout after the kill")
    time.sleep(AFTER)
    load.finish()
    extra = check_after() if check_after else None
    healthy = True
    if extra and extra[0] is False:
        healthy = False
        extra = extra[1:]
    ok = report(name, load, t_kill, pids, base, healthy, extra)
    heal()
    return ok


def cluster(*args):
    subprocess.run([os.path.join(ROOT, "scripts/cluster.sh")] + list(args),
                   check=True, stdout=subprocess.DEVNULL)


def drill_kore(tokens, pids):
    port = NODES[0]
    pidfile = os.path.join(ROOT, "var/node%s/kore.pid" % port)

    def kill():
        pid = int(open(pidfile).read())
        os.killpg(pid, signal.SIGKILL)   # the parent and its workers
        return "SIGKILL Kore node %s (process group %d)" % (port, pid)

    return under_load("kore", kill, lambda: cluster("heal"), tokens, pids)


def drill_pg(tokens, pids):
    name, port = pg_primary()

    t_kill = [0.0]

    def kill():
        t_kill[0] = time.time()
        pid = int(open(os.path.join(CVAR, "pg/%s.pid" % name)).read())
        pm = int(open(os.path.join(CVAR, "pg/%s/postmaster.pid" % name)).readline())
        os.killpg(pid, signal.SIGKILL)   # the keeper and what it runs
        try:
            os.kill(pm, signal.SIGKILL)  # postgres, wherever it runs
        except ProcessLookupError:
            pass
        return "SIGKILL PostgreSQL primary %s on %s (keeper %d, postmaster %d)" % (
            name, port, pid, pm)

    def after():
        n, p = pg_primary()
        out = ["new primary: %s on %s; the monitor's steps:" % (n, p)]
        ev = mon("SELECT extract(epoch FROM eventtime), nodename, reportedstate, "
                 "goalstate FROM pgautofailover.event WHERE eventtime > "
                 "to_timestamp(%f) AND reportedstate <> goalstate AND description "
                 "NOT LIKE '%%marked as%%' ORDER BY eventid"
                 % t_kill[0])
        first = {}
        for line in ev.splitlines()[:12]:
            t, node, rep, goal = line.split("|")
            out.append("  +%5.1f s  %s: %s -> %s" % (float(t) - t_kill[0], node,
                                                      rep, goal))
            first.setdefault(goal, float(t) - t_kill[0])
        # Where the time went: the monitor's decisions, from the kill.
        phases = [("failure declared (draining)", "draining"),
                  ("every standby reported its LSN (prepare_promotion)",
                   "prepare_promotion"),
                  ("promotion confirmed, writes allowed (wait_primary)",
                   "wait_primary")]
        out.append("phases: " + "; ".join(
            "%s +%.1f s" % (what, first[g]) for what, g in phases if g in first))
        return out

    def heal():
        cluster("heal")
        wait(lambda: mon("SELECT count(*) FROM pgautofailover.node WHERE "
                         "reportedstate = 'secondary'") == "2", 180,
             "both standbys back")
        log("  healed: %s is a standby again" % name)

    return under_load("pg", kill, heal, tokens, pids, after)


def drill_redis(tokens, pids):
    port = redis_master_port()
    which = "r1" if port == E["REDIS_PORTS"].split()[0] else "r2"
    # Shoppers signed in with a cart, who do not check out.
    shoppers = users("shopper", 20)
    s = requests.Session()
    for i, t in enumerate(shoppers):
        r = s.put(LB + "/api/v1/cart/items/%d" % pids[i % len(pids)],
                  json={"qty": 2}, headers={"Authorization": "Bearer " + t})
        assert r.status_code == 200, r.text

    def kill():
        pid = int(open(os.path.join(CVAR, "redis/%s.pid" % which)).read())
        os.kill(pid, signal.SIGKILL)
        return "SIGKILL Redis master on %s (pid %d)" % (port, pid)

    def after():
        out, signed, carts = [], 0, 0
        for i, t in enumerate(shoppers):
            h = {"Authorization": "Bearer " + t}
            if s.get(LB + "/api/v1/me", headers=h).status_code == 200:
                signed += 1
            r = s.get(LB + "/api/v1/cart", headers=h)
            if r.status_code == 200 and any(
                    it.get("product_id") == pids[i % len(pids)] and it.get("qty") == 2
                    for it in r.json().get("items", [])):
                carts += 1
        out.append("new master: %s" % redis_master_port())
        out.append("shoppers still signed in: %d of %d; carts kept: %d of %d"
                   % (signed, len(shoppers), carts, len(shoppers)))
        return ([False] if signed < len(shoppers) or carts < len(shoppers)
                else []) + out

    def heal():
        cluster("heal")
        wait(lambda: "role:slave" in rcli(port, "info", "replication"), 60,
             "old master back as a replica")
        log("  healed: %s is a replica again" % port)

    return under_load("redis", kill, heal, tokens, pids, after)


def drill_pitr(tokens, pids):
    base = sum(conservation(pids))
    cluster("backup")
    load = Load(tokens, pids)
    load.start()
    time.sleep(WARMUP)
    # The cut: no order commits while orders is locked, so the count and
    # the time agree exactly; checkouts wait a moment.
    t_cut = time.time()
    r = psql("BEGIN; LOCK TABLE orders IN SHARE MODE; "
             "SELECT count(*) || '|' || clock_timestamp() FROM orders; COMMIT;")
    count, target = r.split("\n")[-1].split("|") if "\n" in r else r.split("|")
    count = int(count)
    before = [o[2] for o in load.ok if o[1] < t_cut]
    log("drill pitr: target %s, %d orders then (%d answered 201 before it)"
        % (target, count, len(before)))
    time.sleep(WARMUP)
    load.finish()
    _, port = pg_primary()
    # pg_switch_wal is the superuser's (the application's user is not one).
    seg = as_postgres(port, "postgres",
                      "SELECT pg_walfile_name(pg_switch_wal())", check=True)
    wait(lambda: as_postgres(port, "postgres",
                             "SELECT last_archived_wal >= '%s' FROM "
                             "pg_stat_archiver" % seg) == "t", 120, "WAL archived")
    t0 = time.time()
    rport = run([os.path.join(ROOT, "scripts/cluster.sh"), "restore-to", target])
    took = time.time() - t0
    got = int(psql("SELECT count(*) FROM orders", rport))
    lost = missing(before, rport)
    stock, sold = conservation(pids, rport)
    lc = subprocess.run([os.path.join(ROOT, "scripts/ledger_check.sh")],
                        capture_output=True, text=True,
                        env=dict(os.environ, PG_PORT=rport))
    log("drill pitr:")
    log("  time to recover: %.2f s (pgBackRest restore and recovery into a new "
        "cluster on %s)" % (took, rport))
    log("  orders at the target: %d, in the restored cluster: %d: %s"
        % (count, got, "equal" if got == count else "DIFFERENT"))
    log("  orders answered 201 before the target: %d, missing afterwards: %d"
        % (len(before), lost))
    log("  stock conservation (restored): stock %d + sold %d = %d, start %d: %s"
        % (stock, sold, stock + sold, base, "ok" if stock + sold == base else "BROKEN"))
    log("  ledger-check on the restored cluster: %s%s" % (
        "passed" if lc.returncode == 0 else "FAILED",
        "" if lc.returncode == 0 else "\n" + lc.stdout + lc.stderr))
    fails = collections.Counter(f[2] for f in load.fail)
    log("  failed requests meanwhile: %d %s" % (len(load.fail), dict(fails)))
    cluster("restore-stop")
    return got == count and lost == 0 and stock + sold == base and lc.returncode == 0


DRILLS = {"kore": drill_kore, "pg": drill_pg, "redis": drill_redis,
          "pitr": drill_pitr}


def main():
    names = sys.argv[1:] or ["kore", "pg", "redis", "pitr"]
    for n in names:
        if n not in DRILLS:
            sys.exit("unknown drill %s (%s)" % (n, " ".join(DRILLS)))
    wait(lambda: requests.get(LB + "/readyz", timeout=2).status_code == 200, 60,
         "the cluster ready")
    run_id = "%x" % int(time.time())
    tokens = users("d" + run_id, int(E.get("DRILL_USERS", "1500")))
    pids = products()
    results = {}
    for n in names:
        results[n] = DRILLS[n](tokens, pids)
        # Each drill's users are its own: orders pile up per user.
        tokens = users("d%s%s" % (run_id, n), int(E.get("DRILL_USERS", "1500")))
    log("drills: " + ", ".join("%s %s" % (n, "passed" if ok else "FAILED")
                               for n, ok in results.items()))
    sys.exit(0 if all(results.values()) else 1)


if __name__ == "__main__":
    main()
