#!/usr/bin/python3
"""Signed-in bench users for make bench: N users in PostgreSQL, a session
for each in Redis and an access token signed with the instance's key, and
a one-line cart each.  Writes one token per line to the output file.

usage: bench_prepare.py N OUT  (environment: PG_PORT, REDIS_PORT, JWT_SECRET)
BENCH_USER_PREFIX (default bench-) names another set of users;
BENCH_EMPTY_CART=1 leaves their carts empty (the festival scenarios of
tests/load/bench_festival.sh fill them through the API).
"""
import base64, hashlib, hmac, json, os, random, subprocess, sys, time

n, out = int(sys.argv[1]), sys.argv[2]
prefix = os.environ.get("BENCH_USER_PREFIX", "bench-")
empty_cart = os.environ.get("BENCH_EMPTY_CART") == "1"
if not prefix.replace("-", "").isalnum():
    sys.exit("bench_prepare: BENCH_USER_PREFIX: letters, digits and - only")
pg = "host=127.0.0.1 port=%s user=bangfu dbname=bangfu" % os.environ["PG_PORT"]
secret = os.environ["JWT_SECRET"].encode()

def psql(sql):
    return subprocess.run(["psql", "-X", "-tA", "-q", pg, "-c", sql], check=True,
                          capture_output=True, text=True).stdout.split()

# Users bench-<i>@bench.bangfu.cn; the hash is never used (tokens are minted).
psql("INSERT INTO users (email, password_hash, name, role) "
     "SELECT '" + prefix + "' || i || '@bench.bangfu.cn', '!', '压测用户' || i, 'citizen' "
     "FROM generate_series(1, %d) i ON CONFLICT ((lower(email))) DO NOTHING" % n)
ids = [int(x) for x in psql("SELECT id FROM users WHERE email LIKE '" + prefix + "%%@bench.bangfu.cn' "
                            "ORDER BY id LIMIT %d" % n)]
# Products the checkout bench buys: plenty of stock, spread over vendors.
products = [int(x) for x in psql("SELECT id FROM products WHERE status = 'listed' "
                                 "AND kind = 'goods' ORDER BY id")]
# In id order, as checkout locks products: no deadlock with a server at work.
psql("UPDATE products SET stock = 100000000 WHERE id IN (SELECT id FROM products "
     "WHERE status = 'listed' AND kind = 'goods' ORDER BY id FOR UPDATE)")

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

now = int(time.time())
rng = random.Random(7)
cmds, tokens = [], []
for uid in ids:
    sid = b64(os.urandom(16))
    cmds.append("HSET sess:{%s} uid %d role citizen rt bench" % (sid, uid))
    cmds.append("EXPIRE sess:{%s} 3600" % sid)
    cmds.append("DEL cart:u:%d" % uid)
    if not empty_cart:
        cmds.append("HSET cart:u:%d %d 1" % (uid, rng.choice(products)))
    hdr = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"aud": "bangfu-api", "exp": now + 880, "iat": now,
                           "iss": "bangfu", "role": "citizen", "sid": sid,
                           "sub": str(uid)}).encode())
    sig = b64(hmac.new(secret, (hdr + "." + body).encode(), hashlib.sha256).digest())
    tokens.append(hdr + "." + body + "." + sig)
subprocess.run(["redis-cli", "-p", os.environ["REDIS_PORT"], "--pipe"],
               input="\n".join(cmds) + "\n", text=True, check=True,
               capture_output=True)
with open(out, "w") as f:
    f.write("\n".join(tokens) + "\n")
print("bench: %d users ready" % len(tokens))
