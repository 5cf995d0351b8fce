#!/usr/bin/python3
"""scripts/cluster.sh status: the cluster's topology as JSON, read from the
servers themselves: the load balancer, the Kore nodes (/readyz), the
PostgreSQL nodes as pg_auto_failover's monitor and each node report them
(role, replication lag), the Redis master, replicas and Sentinels."""
import json, os, subprocess, urllib.request

E = os.environ


def sh(args, env=None):
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=5,
                           env=dict(os.environ, **(env or {})))
        return r.stdout.rstrip("\n") if r.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def psql(port, sql, db="postgres"):
    args = ["psql", "-X", "-tAq", "-F", "\t", "-h", E["PGSOCK"], "-p", str(port),
            "-U", "postgres", "-d", db, "-c", sql]
    if os.getuid() == 0:
        args = ["runuser", "-u", "postgres", "--"] + args
    return sh(args)


def http_ok(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%s%s" % (port, path),
                                    timeout=2) as r:
            return r.status == 200
    except Exception:
        return False


def redis(port, *cmd):
    return sh(["redis-cli", "-p", str(port)] + list(cmd),
              {"REDISCLI_AUTH": E["REDIS_PASSWORD"]})


def pg_nodes():
    mon = psql(E["PG_MON_PORT"], "SELECT nodename, nodeport, reportedstate, "
               "goalstate, reportedlsn FROM pgautofailover.node ORDER BY nodeid",
               "pg_auto_failover")
    out = []
    for line in (mon or "").splitlines():
        name, port, rep, goal, lsn = line.split("\t")
        n = {"name": name, "port": int(port), "state": rep, "goal": goal}
        info = psql(port, "SELECT pg_is_in_recovery(), current_setting("
                    "'synchronous_standby_names')")
        if info is None:
            n["role"] = "down"
        else:
            rec, sync = info.split("\t")
            n["role"] = "standby" if rec == "t" else "primary"
            if rec == "t":
                lag = psql(port, "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(),"
                           " pg_last_wal_replay_lsn()), COALESCE(EXTRACT(epoch FROM "
                           "now() - pg_last_xact_replay_timestamp()), 0)")
                if lag:
                    b, s = lag.split("\t")
                    n["replay_lag_bytes"] = int(float(b or 0))
                    n["last_replay_age_s"] = round(float(s or 0), 3)
            else:
                n["synchronous_standby_names"] = sync
                reps = psql(port, "SELECT application_name, client_port, state, "
                            "sync_state, pg_wal_lsn_diff(pg_current_wal_lsn(), "
                            "replay_lsn), COALESCE(EXTRACT(epoch FROM replay_lag), 0) "
                            "FROM pg_stat_replication")
                n["replication"] = []
                for r in (reps or "").splitlines():
                    app, cport, st, ss, lagb, lags = r.split("\t")
                    n["replication"].append({
                        "standby": app, "state": st, "sync_state": ss,
                        "lag_bytes": int(float(lagb or 0)),
                        "replay_lag_s": round(float(lags or 0), 3)})
        out.append(n)
    return out


def redis_nodes():
    out = []
    for port in E["REDIS_PORTS"].split():
        info = redis(port, "info", "replication")
        n = {"port": int(port)}
        if info is None:
            n["role"] = "down"
        else:
            kv = dict(l.split(":", 1) for l in info.splitlines() if ":" in l)
            n["role"] = "master" if kv.get("role") == "master" else "replica"
            n["offset"] = int(kv.get("master_repl_offset", 0))
            if n["role"] == "replica":
                n["master_port"] = int(kv.get("master_port", 0))
                n["link"] = kv.get("master_link_status")
        out.append(n)
    master = next((n for n in out if n["role"] == "master"), None)
    for n in out:
        if master and n["role"] == "replica":
            n["lag_bytes"] = max(0, master["offset"] - n["offset"])
    return out


def sentinels():
    out = []
    for port in E["SENTINEL_PORTS"].split():
        r = sh(["redis-cli", "-p", port, "sentinel", "get-master-addr-by-name",
                E["MASTER_NAME"]], {"REDISCLI_AUTH": E["SENTINEL_PASSWORD"]})
        s = {"port": int(port), "up": r is not None}
        if r:
            s["master"] = r.replace("\n", ":")
        out.append(s)
    return out


pg = pg_nodes()
rd = redis_nodes()
topology = {
    "load_balancer": {"port": int(E["LB_PORT"]), "up": http_ok(E["LB_PORT"], "/healthz")},
    "kore_nodes": [{"port": int(p), "ready": http_ok(p, "/readyz")}
                   for p in E["NODES"].split()],
    "postgresql": {
        "manager": "pg_auto_failover",
        "monitor": {"port": int(E["PG_MON_PORT"]),
                    "up": psql(E["PG_MON_PORT"], "SELECT 1") is not None},
        "primary": next((n for n in pg if n["role"] == "primary"), None),
        "standbys": [n for n in pg if n["role"] == "standby"],
        "down": [n for n in pg if n["role"] == "down"],
    },
    "redis": {
        "master": next((n for n in rd if n["role"] == "master"), None),
        "replicas": [n for n in rd if n["role"] == "replica"],
        "down": [n for n in rd if n["role"] == "down"],
        "sentinels": sentinels(),
    },
}
print(json.dumps(topology, indent=2))
