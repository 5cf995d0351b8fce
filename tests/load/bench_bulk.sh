# Sourced by scripts/bench.sh (ROOT, VAR, BASE, PG_PORT, REDIS_PORT and
# JWT_SECRET set): times the placement of a 500-recipient 以购代捐 bulk
# order with curl, a few repetitions, each a fresh approved bulk order of
# two lines per recipient, and a few single-line citizen checkouts, and
# compares their time per order line.  Prints two BENCH lines; the
# comparison goes to stderr.  Well under a minute.
BULK_REPS=${BULK_REPS:-5}
BULK_RECIPIENTS=${BULK_RECIPIENTS:-500}
BULK_CHECKOUTS=${BULK_CHECKOUTS:-20}
BULK_DIR=$(mktemp -d)

# A buying organisation with a bench buyer, this year's plan (a threshold
# no bench order reaches, so submit approves at once), products stocked,
# sessions and tokens minted like scripts/bench_prepare.py, carts of one
# line for the checkouts, and the recipients file.
/usr/bin/python3 - "$BULK_DIR" "$BULK_RECIPIENTS" "$BULK_CHECKOUTS" <<'PY' >&2
import base64, hashlib, hmac, json, os, subprocess, sys, time
out, n, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
pg = "host=127.0.0.1 port=%s user=bangfu dbname=bangfu" % os.environ["PG_PORT"]
secret = os.environ["JWT_SECRET"].encode()

def psql(sql):
    return subprocess.run(["psql", "-X", "-tA", "-q", pg, "-c", sql], check=True,
                          capture_output=True, text=True).stdout.split()

psql("INSERT INTO users (email, password_hash, name, role) "
     "SELECT 'bench-bulk-' || i || '@bench.bangfu.cn', '!', '压测采购' || i, 'citizen' "
     "FROM generate_series(0, %d) i ON CONFLICT ((lower(email))) DO NOTHING" % m)
ids = [int(x) for x in psql("SELECT id FROM users WHERE email LIKE "
                            "'bench-bulk-%%@bench.bangfu.cn' ORDER BY id LIMIT %d" % (m + 1))]
buyer, shoppers = ids[0], ids[1:]
org = psql("WITH o AS (INSERT INTO orgs (name, kind, credit_code, created_by) "
           "VALUES ('压测采购集团', 'soe', '91310000132260867N', %d) "
           "ON CONFLICT (credit_code) DO UPDATE SET name = EXCLUDED.name "
           "RETURNING id) SELECT id FROM o" % buyer)[0]
psql("INSERT INTO org_members (org_id, user_id, role) VALUES (%s, %d, 'buyer') "
     "ON CONFLICT DO NOTHING" % (org, buyer))
psql("INSERT INTO procurement_plans (org_id, year, budget_fen, reserved_fen, "
     "reserved_share_bps, reserved_basis, approval_threshold_fen) VALUES "
     "(%s, shanghai_year(now()), 100000000000, 30000000000, 3000, 'share', "
     "100000000000) ON CONFLICT (org_id, year) DO UPDATE SET "
     "approval_threshold_fen = EXCLUDED.approval_threshold_fen" % org)
# Two products of two vendors for the recipients; one-line carts.
pair = psql("SELECT min(id) FROM products WHERE status = 'listed' AND kind = 'goods' "
            "GROUP BY vendor_id ORDER BY vendor_id LIMIT 2")
goods = psql("SELECT id FROM products WHERE status = 'listed' AND kind = 'goods' "
             "ORDER BY id")
psql("UPDATE products SET stock = 100000000 WHERE id IN (%s)" %
     ",".join(pair + goods[:m]))

def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

now = int(time.time())
cmds, tokens = [], []
for i, uid in enumerate(ids):
    sid = b64(os.urandom(16))
    cmds.append("HSET sess:{%s} uid %d role citizen rt bench" % (sid, uid))
    cmds.append("EXPIRE sess:{%s} 900" % sid)
    if uid != buyer:
        cmds.append("DEL cart:u:%d" % uid)
        cmds.append("HSET cart:u:%d %s 1" % (uid, goods[i % len(goods)]))
    hdr = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"aud": "bangfu-api", "exp": now + 880, "iat": now,
                           "iss": "bangfu", "role": "citizen", "sid": sid,
                           "sub": str(uid)}).encode())
    sig = b64(hmac.new(secret, (hdr + "." + body).encode(), hashlib.sha256).digest())
    tokens.append(hdr + "." + body + "." + sig)
subprocess.run(["redis-cli", "-p", os.environ["REDIS_PORT"], "--pipe"],
               input="\n".join(cmds) + "\n", text=True, check=True, capture_output=True)
with open(os.path.join(out, "buyer"), "w") as f:
    f.write(tokens[0])
with open(os.path.join(out, "org"), "w") as f:
    f.write(org)
with open(os.path.join(out, "shoppers"), "w") as f:
    f.write("\n".join(tokens[1:]) + "\n")
with open(os.path.join(out, "recipients.csv"), "w") as f:
    f.write("name,phone,address,product_id,qty\n")
    for r in range(n):
        for p in pair:
            f.write("职工%04d,139%08d,上海市黄浦区人民大道%d号,%s,1\n" % (r, r, r + 1, p))
PY

BULK_TOKEN=$(cat "$BULK_DIR/buyer")
BULK_ORG=$(cat "$BULK_DIR/org")
BULK_LINES=$(($(wc -l < "$BULK_DIR/recipients.csv") - 1))
BULK_API="$BASE/api/v1/orgs/$BULK_ORG/bulk-orders"
: > "$BULK_DIR/place.txt"
: > "$BULK_DIR/checkout.txt"
bulk_errors=0
i=0
while [ $i -lt "$BULK_REPS" ]; do
	i=$((i + 1))
	bid=$(curl -s -X POST "$BULK_API" -H "Authorization: Bearer $BULK_TOKEN" \
	    -H 'Content-Type: application/json' -d '{"purpose":"welfare"}' |
	    /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("id", ""))')
	if [ -z "$bid" ]; then
		bulk_errors=$((bulk_errors + 1))
		continue
	fi
	curl -s -o /dev/null -X POST "$BULK_API/$bid/recipients.csv" \
	    -H "Authorization: Bearer $BULK_TOKEN" -H 'Content-Type: text/csv' \
	    --data-binary @"$BULK_DIR/recipients.csv"
	curl -s -o /dev/null -X POST "$BULK_API/$bid/submit" \
	    -H "Authorization: Bearer $BULK_TOKEN" -d ''
	r=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST \
	    "$BULK_API/$bid/place" -H "Authorization: Bearer $BULK_TOKEN" \
	    -H "Idempotency-Key: bench-$bid" -d '')
	[ "${r%% *}" = 201 ] || bulk_errors=$((bulk_errors + 1))
	echo "${r#* }" >> "$BULK_DIR/place.txt"
done

checkout_errors=0
while read -r tok; do
	r=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X POST \
	    "$BASE/api/v1/orders" -H "Authorization: Bearer $tok" \
	    -H 'Content-Type: application/json' \
	    -d '{"address":{"name":"压测","phone":"13800138000","province":"上海","city":"上海","district":"黄浦区","line":"人民大道200号"}}')
	[ "${r%% *}" = 201 ] || checkout_errors=$((checkout_errors + 1))
	echo "${r#* }" >> "$BULK_DIR/checkout.txt"
done < "$BULK_DIR/shoppers"

# rps: sequential requests per second of their own time; p99 of a few
# repetitions is their slowest.
bulk_stats() {
	/usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import sys
name, path, errors = sys.argv[1], sys.argv[2], sys.argv[3]
t = sorted(float(x) * 1000 for x in open(path).read().split())
if not t:
    print("%s BENCH rps=0 p50_ms=- p99_ms=- errors=%s" % (name, errors))
    sys.exit()
p = lambda q: t[min(len(t) - 1, int(q * len(t)))]
print("%s BENCH rps=%.2f p50_ms=%.2f p99_ms=%.2f errors=%s" % (
    name, 1000 * len(t) / sum(t), p(0.5), p(0.99), errors))
PY
}
bulk_stats "bulk_place_$BULK_RECIPIENTS" "$BULK_DIR/place.txt" "$bulk_errors"
bulk_stats checkout_single_curl "$BULK_DIR/checkout.txt" "$checkout_errors"
/usr/bin/python3 - "$BULK_DIR" "$BULK_LINES" <<'PY' >&2
import sys, statistics
d, lines = sys.argv[1], int(sys.argv[2])
place = [float(x) * 1000 for x in open(d + "/place.txt").read().split()]
one = [float(x) * 1000 for x in open(d + "/checkout.txt").read().split()]
if place and one:
    bp, co = statistics.median(place) / lines, statistics.median(one)
    print("bulk_place per line: %.3f ms (%d lines, median %.1f ms) vs a "
          "single-line checkout: %.3f ms per line: %.1fx cheaper per line" % (
              bp, lines, statistics.median(place), co, co / bp))
PY
[ -n "${BULK_KEEP:-}" ] && echo "kept $BULK_DIR" >&2 || rm -rf "$BULK_DIR"
