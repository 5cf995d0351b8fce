"""Checkout from the workers' caches.

The server prices a cart from per-worker caches (product facts for up to
10 s, the fee rules) and place_orders() checks under the row locks what the
price rests on: a unit price (price tiers included), the product's vendor,
the vendor's qualification or what the fee rules match on that moved since
the cache was filled sends the server back to the database's quote.
Fee-rule writes through the API empty every worker's rules.  Orders reach
the database in batches, each judged alone against the stock the ones
before it left, and the 201 is built in C from the priced order: it must
be the order as GET /orders/{id} answers it.

These tests change prices, tiers, vendors, qualification and what the fee
rules match on directly in SQL (so no cache hears of it) after the caches
were filled, and hold row locks from a psql session of their own to make
batches, and a waiver cap that no longer holds, happen on purpose.  What
they change they put back (and then empty the caches through an API
write); the fee rules they make match only while the test runs and are
ended after; their users are new.
"""

import datetime
import os
import re
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402
import requests  # noqa: E402

import shop  # noqa: E402
from shop import (  # noqa: E402,F401
    BASE_URL, RULE_BASE, RULE_POVERTY, WHERE_ENTERPRISE_NOT_POVERTY, bps,
    cart_get, cart_lines, cart_put, checkout, demo_token, get, get_order,
    lit, make_users, ok, patch, post, problem, psql, rfc3339, row, rows,
    rule, run_parallel, shop_products, stocks_of, tier_price, utc_now, val,
    worker_of)


# Vendors outside the cooperatives' capped rule: their fees never depend
# on this month's cap usage.
NOT_CAPPED = "p.vendor_kind <> 'cooperative'"
NO_TIERS = ("NOT EXISTS (SELECT 1 FROM price_tiers t "
            "WHERE t.product_id = p.id)")
TIERED = "EXISTS (SELECT 1 FROM price_tiers t WHERE t.product_id = p.id)"
QUALIFIED_POVERTY_ENTERPRISE = ("p.vendor_kind = 'enterprise' AND "
                                "p.qualified AND p.is_poverty_county")
UNQUALIFIED_POVERTY_ENTERPRISE = ("p.vendor_kind = 'enterprise' AND "
                                  "NOT p.qualified AND p.is_poverty_county")


def admin():
    return demo_token("admin")


def facts(pid):
    return row("SELECT id, vendor_id, vendor_kind, qualified, "
               "is_poverty_county, region_code, category_code, price_fen "
               "FROM product_facts WHERE id = %d" % pid)


def uncapped_rule(pid):
    """The demo rule that prices a product of a vendor that is not a
    cooperative, as the database sees it now."""
    f = facts(pid)
    assert f["vendor_kind"] != "cooperative", f
    if f["qualified"] and f["is_poverty_county"]:
        return rule(RULE_POVERTY)
    return rule(RULE_BASE)


def lines_of(order):
    return {it["product_id"]: it for p in order["parts"]
            for it in p["items"]}


def assert_line(it, qty, unit, r):
    """A line of qty at unit under rule r (a rule without a cap)."""
    assert it["qty"] == qty, it
    assert it["unit_price_fen"] == unit, (it, unit)
    assert it["line_total_fen"] == unit * qty, it
    assert it["fee_rule_id"] == r["id"], (it, r)
    assert it["fee_fen"] == bps(it["line_total_fen"], r["commission_bps"]), \
        (it, r)
    assert it["fee_waived_fen"] == bps(it["fee_fen"], r["waiver_bps"]), \
        (it, r)


def assert_sums(o):
    """Parts add their lines up, and the order its parts."""
    total = 0
    for p in o["parts"]:
        assert p["subtotal_fen"] == sum(i["line_total_fen"]
                                        for i in p["items"]), p
        assert p["fee_fen"] == sum(i["fee_fen"] for i in p["items"]), p
        assert p["fee_waived_fen"] == sum(i["fee_waived_fen"]
                                          for i in p["items"]), p
        total += p["subtotal_fen"]
    assert o["total_fen"] == total, o


def assert_kept(o):
    """The database holds what the 201 said, and GET answers the same."""
    got = rows("SELECT product_id, qty, unit_price_fen, line_total_fen, "
               "fee_fen, fee_waived_fen, fee_rule_id FROM order_lines "
               "WHERE order_id = %d" % o["id"])
    want = lines_of(o)
    assert {g["product_id"] for g in got} == set(want), (got, o)
    for g in got:
        it = want[g["product_id"]]
        for k in ("qty", "unit_price_fen", "line_total_fen", "fee_fen",
                  "fee_waived_fen", "fee_rule_id"):
            assert g[k] == it[k], (k, g, it)
    assert val("SELECT total_fen FROM orders WHERE id = %d" % o["id"]) == \
        o["total_fen"]


def user_orders(user):
    return [r["id"] for r in rows("SELECT id FROM orders WHERE user_id = %d "
                                  "ORDER BY id" % user.id)]


def cart_warm(users, rounds=3):
    """Reads the users' carts a few times, so that the workers hold the
    facts of what is in them; returns the carts' lines as read."""
    seen = []
    for _ in range(rounds):
        for u in users:
            seen.extend(cart_get(u.token)["items"])
    return seen


def one_line_carts(pid, n, tag):
    """n new users, each with one of pid in the cart; and its unit price."""
    users = make_users(n, tag=tag)
    run_parallel(lambda u: cart_put(u.token, pid, 1), users)
    return users, tier_price(pid, 1)


def first_order(user, pid, price, r):
    """user's one-line order, priced under rule r: the 201."""
    o = ok(checkout(user.token), 201)
    assert_line(lines_of(o)[pid], 1, price, r)
    return o


def checkout_line(user, pid, qty, price, r):
    """user's checkout of a one-line cart (qty at price, rule r): the 201,
    its sums, what the database kept and what GET answers."""
    o = ok(checkout(user.token), 201)
    assert_line(lines_of(o)[pid], qty, price, r)
    assert_sums(o)
    assert_kept(o)
    assert get_order(user, o["id"]) == o
    return o


def cart_reads(users, rounds):
    """[(worker, lines)] of reading every user's cart rounds times."""
    out = []
    for _ in range(rounds):
        for u in users:
            r = get("/cart", token=u.token)
            out.append((worker_of(r), ok(r)["items"]))
    return out


def warm_fresh(users, field):
    """Empties the caches, then reads the users' carts until both workers
    have answered (the facts they read now outlive the test: their TTL is
    60 s).  Returns {worker: {field's values}}, what each worker showed
    (which worker answers a connection is up to the kernel), and how many
    times caches were emptied so far."""
    before = counter("cache_flushes")
    flush_caches()
    # The writer's own flush, then every worker's on hearing of it through
    # Redis (the writer's too): three with two workers.
    n = shop.subscribers()
    assert wait_for(lambda: counter("cache_flushes") - before >= 1 + n, 5)
    # Every worker has handled every message so far, the write's included.
    shop.all_heard()
    shown = {}
    for _ in range(30):
        for w, items in cart_reads(users, 1):
            shown.setdefault(w, set()).update(it[field] for it in items)
        if len(shown) >= 2:
            break
    return shown, counter("cache_flushes")


def assert_still_cached(users, warm, field, old, new):
    """After a change made in SQL only: a worker that held the facts
    before it still shows old (no write told it), one that did not shows
    new.  Reads until a worker of the first kind has answered, so the
    checkouts after start from a stale cache at least there."""
    warmed, flushes = warm
    stale_seen = False
    for _ in range(30):
        for w, items in cart_reads(users, 1):
            got = {it[field] for it in items}
            if w in warmed:
                assert got == {old}, (w, got, old, "caches emptied since",
                                      counter("cache_flushes") - flushes)
                stale_seen = True
            else:
                assert got == {new}, (w, got, new)
        if stale_seen:
            return
    raise AssertionError("no worker that held the facts answered")


def flush_caches():
    """Empties every worker's caches through an API write (a fee-rule
    write invalidates everything), after SQL changes were put back."""
    r = ok(post("/admin/fee-rules", token=admin(), json={
        "name": "测试缓存刷新 " + uuid.uuid4().hex[:8], "commission_bps": 0,
        "valid_from": PAST[0], "valid_to": PAST[1]}), 201)
    assert r["id"]


# A period long over: a rule moved there is in force nowhere, and is not
# among the rules the workers keep (those in force or to come).
PAST = ("2000-01-01T00:00:00Z", "2000-01-02T00:00:00Z")


def new_rule(match, commission_bps, waiver_bps, cap=None, priority=1000):
    body = {"name": "测试缓存费率 " + uuid.uuid4().hex[:8],
            "commission_bps": commission_bps, "waiver_bps": waiver_bps,
            "match": match, "cap_fen_per_month": cap,
            "valid_from": rfc3339(utc_now() - datetime.timedelta(hours=1)),
            "priority": priority}
    return ok(post("/admin/fee-rules", token=admin(), json=body), 201)


def end_rule(rid):
    ok(patch("/admin/fee-rules/%d" % rid, token=admin(), json={
        "valid_to": rfc3339(utc_now() - datetime.timedelta(seconds=1))}))


def counter(name):
    text = requests.get(BASE_URL + "/metrics", timeout=10).text
    m = re.search(r"^bangfu_%s_total (\d+)$" % name, text, re.M)
    assert m, name
    return int(m.group(1))


class Session:
    """A psql session of its own, to hold a transaction (and its row
    locks) open while requests run."""

    def __init__(self):
        self.s = shop._Psql()

    def run(self, sql):
        return self.s.run(sql)

    def close(self):
        self.s.close()


def placers_waiting():
    """Backends in place_orders() waiting for a lock."""
    return val("SELECT count(*) FROM pg_stat_activity WHERE datname = "
               "current_database() AND wait_event_type = 'Lock' AND "
               "query LIKE '%place_orders(%'")


def wait_for(pred, timeout=20, step=0.05):
    return shop.wait_until(pred, timeout, step=step)


def batch_counters():
    return {k: counter(k) for k in ("checkout_batches",
                                    "checkout_batched_orders", "db_errors")}


def batch_growth(before):
    """(batches, orders batched) since before."""
    return (counter("checkout_batches") - before["checkout_batches"],
            counter("checkout_batched_orders") -
            before["checkout_batched_orders"])


def held_checkouts(users, lock_sql, key_of=None):
    """Checks the users out at once while a session holds lock_sql's
    locks: the first orders wait in place_orders() and the rest queue
    behind them in their workers, so they reach the database together once
    the lock goes.  The lock goes once the server has read every user's
    cart (a checkout's first step after its key).  Returns [(user,
    response)] in the users' order."""
    s = Session()
    ex = ThreadPoolExecutor(max_workers=len(users))
    watch = shop.RedisWatch()
    try:
        s.run("BEGIN")
        s.run(lock_sql)
        gate = threading.Barrier(len(users))

        def go(u):
            gate.wait()
            key = key_of(u) if key_of else None
            return u, checkout(u.token, key=key)

        futs = [ex.submit(go, u) for u in users]
        waited = wait_for(lambda: placers_waiting() >= 1)
        arrived = wait_for(lambda: shop.cart_reads(watch, users) ==
                           len(users))
        s.run("COMMIT")
        assert waited, "no checkout waited for the lock"
        assert arrived, ("checkouts that never read their cart",
                         shop.cart_reads(watch, users), len(users))
        return [f.result() for f in futs]
    finally:
        s.close()   # a transaction still open ends with the session
        watch.close()
        ex.shutdown(wait=True)


# ------------------------------------------------ the cached terms are checked


def publish(msg):
    """What a worker publishes when a write or a stock move happens."""
    shop.publish(msg)


def lock_waiters():
    return val("SELECT count(*) FROM pg_stat_activity WHERE datname = "
               "current_database() AND wait_event_type = 'Lock'")


def test_hearing_tells_a_worker_that_heard_from_one_that_did_not():
    """The wait these tests use instead of sleeps (shop.Hearing): with no
    message sent, every worker still answers the beacon from its cache,
    however often asked, so a miss is the message heard, never chance;
    once it is sent, every worker misses."""
    for _ in range(3):
        with shop.Hearing() as h:
            assert len(h.sessions) == shop.subscribers() >= 1
            for w, (s, _) in h.sessions.items():
                assert h._probe(s)[0] == "hit", w
            try:
                h.heard()
            except shop.Inconclusive:
                continue        # too slow for the beacon's TTL: again
            assert sorted(w for w, _ in h.pending) == sorted(h.sessions)
            return
    raise shop.Inconclusive("three beacons aged out")


def test_a_stock_move_heard_while_a_cart_reads_its_facts_is_kept(
        shop_products):
    """A cart's facts read from a snapshot taken before a stock move whose
    message arrives while they are read are stale the moment they come in:
    the worker keeps their terms but reads their stock again next time.
    (Before, it kept that stock until the facts' TTL, a minute.)"""
    pid = shop_products.one(where=NOT_CAPPED, stock=5)
    u = make_users(1, tag="move-in-flight")[0]
    cart_put(u.token, pid, 3)
    # Every worker drops what it holds of the product, as on an order.
    publish("product:%d" % pid)
    shop.all_heard()
    s = Session()
    ex = ThreadPoolExecutor(max_workers=2)
    # Made now: the beacon's page reads would wait for the vendors' lock.
    hearing = shop.Hearing()
    try:
        # cart_facts() takes its snapshot, then waits for the vendors.
        s.run("BEGIN")
        s.run("LOCK TABLE vendors IN ACCESS EXCLUSIVE MODE")
        reads = [ex.submit(get, "/cart", token=u.token) for _ in range(2)]
        assert wait_for(lambda: lock_waiters() >= 2, 10)
        psql("UPDATE products SET stock = 2 WHERE id = %d" % pid)
        publish("product:%d" % pid)
        hearing.heard()     # by every worker while they read
        # Both reads still wait: the move came in while they read.
        assert not any(f.done() for f in reads)
        s.run("COMMIT")
        for f in reads:
            # Read before the move: the answer may show either stock.
            assert pid in cart_lines(ok(f.result()))
    finally:
        s.close()
        hearing.close()
        ex.shutdown(wait=True)
    for _ in range(8):
        got = [it for it in cart_get(u.token)["items"]
               if it["product_id"] == pid]
        assert [it["available"] for it in got] == [False], got


@pytest.mark.parametrize("change", ["list_price", "tier_price", "new_tier"])
def test_price_changed_in_sql_is_charged_as_it_now_is(shop_products,
                                                       change):
    """The caches of both workers hold the old price; the price moves in
    SQL only; every checkout after charges the new one (unit price, line,
    fees, total), with or without an idempotency key."""
    if change == "tier_price":
        pid = shop_products.one(where=NOT_CAPPED + " AND " + TIERED,
                                stock=500)
        qty = val("SELECT min(min_qty) FROM price_tiers WHERE "
                  "product_id = %d" % pid)
    else:
        pid = shop_products.one(where=NOT_CAPPED + " AND " + NO_TIERS,
                                stock=500)
        qty = 2
    tiers = rows("SELECT min_qty, unit_price_fen FROM price_tiers "
                 "WHERE product_id = %d" % pid)
    r = uncapped_rule(pid)
    users = make_users(4, tag="stale-price")
    for u in users:
        cart_put(u.token, pid, qty)
    old = tier_price(pid, qty)
    warm = warm_fresh(users, "unit_price_fen")
    assert all(v == {old} for v in warm[0].values()), (warm, old)

    try:
        if change == "list_price":
            psql("UPDATE products SET price_fen = price_fen + 37 "
                 "WHERE id = %d" % pid)
        elif change == "tier_price":
            psql("UPDATE price_tiers SET unit_price_fen = unit_price_fen - 11"
                 " WHERE product_id = %d AND min_qty = %d" % (pid, qty))
        else:
            psql("INSERT INTO price_tiers (product_id, min_qty, "
                 "unit_price_fen) SELECT id, %d, price_fen - 50 FROM "
                 "products WHERE id = %d" % (qty, pid))
        new = tier_price(pid, qty)
        assert new != old
        assert_still_cached(users, warm, "unit_price_fen", old, new)

        for i, u in enumerate(users):
            key = "stale-%s" % uuid.uuid4().hex if i % 2 else None
            o = ok(checkout(u.token, key=key), 201)
            assert_line(lines_of(o)[pid], qty, new, r)
            assert_sums(o)
            assert o["total_fen"] == new * qty
            assert_kept(o)
            assert get_order(u, o["id"]) == o
            if key:
                assert ok(checkout(u.token, key=key), 201) == o
            assert user_orders(u) == [o["id"]]
        assert stocks_of([pid]) == {pid: 500 - 4 * qty}
    finally:
        psql("DELETE FROM price_tiers WHERE product_id = %d" % pid)
        if tiers:
            psql("INSERT INTO price_tiers (product_id, min_qty, "
                 "unit_price_fen) VALUES %s" % ",".join(
                     "(%d, %d, %d)" % (pid, t["min_qty"], t["unit_price_fen"])
                     for t in tiers))


def test_vendor_changed_in_sql_gets_the_order(shop_products):
    """A product moved to another vendor in SQL: the order's part is the
    new vendor's, with its name, and the fee is the new vendor's rule."""
    pid = shop_products.one(where=QUALIFIED_POVERTY_ENTERPRISE, stock=50)
    was = facts(pid)["vendor_id"]
    to = val("SELECT f.vendor_id FROM product_facts f WHERE %s AND "
             "f.vendor_id NOT IN (%s) ORDER BY f.vendor_id DESC LIMIT 1" % (
                 WHERE_ENTERPRISE_NOT_POVERTY.replace("p.", "f."),
                 ",".join(str(v) for v in
                          shop.signed_in_vendors() + [was])))
    to_name = val("SELECT name FROM vendors WHERE id = %d" % to)
    poverty, base = rule(RULE_POVERTY), rule(RULE_BASE)
    users, price = one_line_carts(pid, 3, "stale-vendor")
    # Before: the poverty county's waiver.
    first = first_order(users[0], pid, price, poverty)
    assert first["parts"][0]["vendor_id"] == was
    # Paid, it never expires: an expiry would publish the product's stock
    # as moved, and the workers would read its facts (vendor included)
    # again in the middle of the test.
    shop.pay(users[0], first)
    for u in users[1:]:
        cart_put(u.token, pid, 2)
    warm = warm_fresh(users[1:], "vendor_id")
    assert all(v == {was} for v in warm[0].values()), (warm, was)

    psql("UPDATE products SET vendor_id = %d WHERE id = %d" % (to, pid))
    try:
        assert_still_cached(users[1:], warm, "vendor_id", was, to)
        for u in users[1:]:
            o = ok(checkout(u.token), 201)
            assert [p["vendor_id"] for p in o["parts"]] == [to], o
            assert o["parts"][0]["vendor_name"] == to_name
            assert_line(lines_of(o)[pid], 2, price, base)
            assert_sums(o)
            assert_kept(o)
            assert get_order(u, o["id"]) == o
            assert val("SELECT vendor_id FROM order_parts WHERE "
                       "order_id = %d" % o["id"]) == to
    finally:
        psql("UPDATE products SET vendor_id = %d WHERE id = %d" % (was, pid))
        flush_caches()
    assert stocks_of([pid]) == {pid: 50 - 1 - 2 * 2}


@pytest.mark.parametrize("turn", ["lost", "gained"])
def test_qualification_changed_in_sql_prices_the_fee(shop_products, turn):
    """A vendor in a poverty county loses (or gains) its qualification in
    SQL while the workers cache it as it was: the fee waiver follows the
    qualification as it now is."""
    where = QUALIFIED_POVERTY_ENTERPRISE if turn == "lost" else \
        UNQUALIFIED_POVERTY_ENTERPRISE
    pid = shop_products.one(where=where, stock=50)
    vid = facts(pid)["vendor_id"]
    saved = row("SELECT status, qualified_until, credit_score FROM vendors "
                "WHERE id = %d" % vid)
    before, after = (rule(RULE_POVERTY), rule(RULE_BASE)) if \
        turn == "lost" else (rule(RULE_BASE), rule(RULE_POVERTY))
    users, price = one_line_carts(pid, 4, "stale-qual")
    first_order(users[0], pid, price, before)
    cart_warm(users[1:])

    try:
        if turn == "lost":
            psql("UPDATE vendors SET qualified_until = (now() AT TIME ZONE "
                 "'Asia/Shanghai')::date - 1 WHERE id = %d" % vid)
        else:
            psql("UPDATE vendors SET status = 'approved', credit_score = "
                 "100, qualified_until = (now() AT TIME ZONE "
                 "'Asia/Shanghai')::date + 365 WHERE id = %d" % vid)
        assert facts(pid)["qualified"] == (turn == "gained")
        for u in users[1:]:
            checkout_line(u, pid, 1, price, after)
    finally:
        psql("UPDATE vendors SET status = %s, qualified_until = %s, "
             "credit_score = %d WHERE id = %d" % (
                 lit(saved["status"]), lit(saved["qualified_until"]),
                 saved["credit_score"], vid))
        flush_caches()
    assert facts(pid)["qualified"] == (turn == "lost")


def db_rule(pid):
    """The rule the database's terms give pid now: valid, matching, the
    highest priority, the lower id on a tie (an oracle independent of the
    server's modules/fees)."""
    return row(
        "SELECT r.id, r.commission_bps, r.waiver_bps, r.cap_fen_per_month "
        "FROM fee_rules r, product_facts f WHERE f.id = %d AND "
        "r.valid_from <= now() AND (r.valid_to IS NULL OR r.valid_to > now()) "
        "AND (NOT r.match ? 'qualified' OR "
        "(r.match->>'qualified')::boolean = f.qualified) "
        "AND (NOT r.match ? 'poverty_county' OR "
        "(r.match->>'poverty_county')::boolean = f.is_poverty_county) "
        "AND (NOT r.match ? 'vendor_kind' OR "
        "r.match->>'vendor_kind' = f.vendor_kind) "
        "AND (NOT r.match ? 'region' OR r.match->>'region' = f.region_code) "
        "AND (NOT r.match ? 'category' OR "
        "r.match->>'category' = f.category_code) "
        "ORDER BY r.priority DESC, r.id LIMIT 1" % pid)


@pytest.mark.parametrize("what", ["poverty_county", "vendor_kind",
                                  "category", "region"])
def test_fee_match_changed_in_sql_prices_the_fee(shop_products, what):
    """A rule matches a product by poverty county, vendor kind, category
    and region; one of these moves in SQL while the workers cache it (a
    county leaving the poverty counties, 摘帽, has no route: it is SQL):
    the fee is the one the database's terms give now, not the rule's."""
    pid = shop_products.one(where=QUALIFIED_POVERTY_ENTERPRISE, stock=50)
    f = facts(pid)
    vid = f["vendor_id"]
    saved = row("SELECT p.category_id, v.county_id, v.kind FROM products p "
                "JOIN vendors v ON v.id = p.vendor_id WHERE p.id = %d" % pid)
    users, price = one_line_carts(pid, 4, "stale-match")
    r = None
    try:
        r = new_rule({"poverty_county": True, "vendor_kind": "enterprise",
                      "region": f["region_code"],
                      "category": f["category_code"]}, 1200, 2500)
        assert db_rule(pid)["id"] == r["id"]
        first_order(users[0], pid, price, r)
        cart_warm(users[1:])

        if what == "poverty_county":
            psql("UPDATE counties SET is_poverty_county = false WHERE id = %d"
                 % saved["county_id"])
        elif what == "vendor_kind":
            psql("UPDATE vendors SET kind = 'individual' WHERE id = %d" % vid)
        elif what == "category":
            psql("UPDATE products SET category_id = (SELECT min(id) FROM "
                 "categories WHERE id <> %d) WHERE id = %d" % (
                     saved["category_id"], pid))
        else:
            psql("UPDATE vendors SET county_id = (SELECT min(c.id) FROM "
                 "counties c JOIN regions g ON g.id = c.region_id WHERE "
                 "g.code <> %s AND c.is_poverty_county) WHERE id = %d" % (
                     lit(f["region_code"]), vid))
        now = db_rule(pid)
        assert now["id"] != r["id"] and now["cap_fen_per_month"] is None, now
        for u in users[1:]:
            checkout_line(u, pid, 1, price, now)
    finally:
        if r is not None:
            end_rule(r["id"])
        psql("UPDATE counties SET is_poverty_county = true WHERE id = %d"
             % saved["county_id"])
        psql("UPDATE vendors SET kind = %s, county_id = %d WHERE id = %d" % (
            lit(saved["kind"]), saved["county_id"], vid))
        psql("UPDATE products SET category_id = %d WHERE id = %d" % (
            saved["category_id"], pid))
        flush_caches()
    assert facts(pid) == f


# ------------------------------------------------ fee rules through the API


def test_fee_rule_writes_apply_to_the_next_checkouts_everywhere(
        shop_products):
    """Around each rule write (create, change, end) the workers' cached
    rules are fresh (checkouts just before), so only the invalidation can
    make the checkouts right after see the write."""
    pid = shop_products.one(where=WHERE_ENTERPRISE_NOT_POVERTY, stock=200)
    f = facts(pid)
    base = rule(RULE_BASE)
    users, price = one_line_carts(pid, 32, "rule-write")
    queue = list(users)

    def checkouts(n):
        out = []
        for _ in range(n):
            u = queue.pop(0)
            out.append(lines_of(ok(checkout(u.token), 201))[pid])
        return out

    for it in checkouts(4):
        assert_line(it, 1, price, base)

    rid = None
    try:
        created = new_rule({"region": f["region_code"],
                            "category": f["category_code"],
                            "vendor_kind": f["vendor_kind"]}, 1000, 2500)
        rid = created["id"]
        for it in checkouts(6):
            assert_line(it, 1, price, created)

        checkouts(2)    # the rules are fresh again in the workers
        changed = ok(patch("/admin/fee-rules/%d" % rid, token=admin(),
                           json={"commission_bps": 700,
                                 "waiver_bps": 4000}))
        assert (changed["commission_bps"], changed["waiver_bps"]) == \
            (700, 4000)
        for it in checkouts(6):
            assert_line(it, 1, price, changed)

        checkouts(2)
        # A change of match: the rule no longer applies to the product.
        ok(patch("/admin/fee-rules/%d" % rid, token=admin(),
                 json={"match": {"region": f["region_code"],
                                 "category": f["category_code"],
                                 "vendor_kind": "individual"}}))
        for it in checkouts(4):
            assert_line(it, 1, price, base)

        ok(patch("/admin/fee-rules/%d" % rid, token=admin(),
                 json={"match": created["match"]}))
        for it in checkouts(2):
            assert_line(it, 1, price, changed)
    finally:
        if rid is not None:
            end_rule(rid)
    for it in checkouts(4):
        assert_line(it, 1, price, base)
    assert stocks_of([pid]) == {pid: 200 - (32 - len(queue))}


def test_a_new_rule_applies_with_many_rules_scheduled(shop_products):
    """Operators schedule rules ahead: with more than 64 rules in force or
    to come, a rule created now still prices the next checkouts."""
    pid = shop_products.one(where=WHERE_ENTERPRISE_NOT_POVERTY, stock=50)
    f = facts(pid)
    price = tier_price(pid, 1)
    users = make_users(4, tag="many-rules")
    for u in users:
        cart_put(u.token, pid, 1)
    kept = val("SELECT count(*) FROM fee_rules WHERE valid_to IS NULL OR "
               "valid_to > now()")
    made = []
    try:
        for i in range(max(0, 70 - kept)):
            made.append(ok(post("/admin/fee-rules", token=admin(), json={
                "name": "测试预排费率 %d %s" % (i, uuid.uuid4().hex[:6]),
                "commission_bps": 100, "match": {"region": "golog"},
                "valid_from": "2099-01-01T00:00:00Z"}), 201)["id"])
        assert val("SELECT count(*) FROM fee_rules WHERE valid_to IS NULL "
                   "OR valid_to > now()") >= 70
        r = new_rule({"region": f["region_code"],
                      "category": f["category_code"],
                      "vendor_kind": f["vendor_kind"]}, 1000, 2500)
        made.append(r["id"])
        assert db_rule(pid)["id"] == r["id"]
        for u in users:
            o = ok(checkout(u.token), 201)
            assert_line(lines_of(o)[pid], 1, price, r)
    finally:
        for rid in made:
            ok(patch("/admin/fee-rules/%d" % rid, token=admin(), json={
                "valid_from": PAST[0], "valid_to": PAST[1]}))


def test_cached_rules_keep_their_time_window(shop_products):
    """A rule made to start in a few seconds and end a few seconds later:
    the workers hold it from the write on and apply it only in its
    window."""
    pid = shop_products.one(where=WHERE_ENTERPRISE_NOT_POVERTY, stock=100)
    f = facts(pid)
    base = rule(RULE_BASE)
    users, price = one_line_carts(pid, 12, "rule-window")
    queue = list(users)

    def one():
        return lines_of(ok(checkout(queue.pop(0).token), 201))[pid]

    # Margins of a second and more around each edge: the server tells
    # time by the second, and a loaded machine answers slowly.
    now = utc_now().replace(microsecond=0)
    start = now + datetime.timedelta(seconds=5)
    stop = start + datetime.timedelta(seconds=4)
    margin = datetime.timedelta(milliseconds=1500)
    r = ok(post("/admin/fee-rules", token=admin(), json={
        "name": "测试缓存时段 " + uuid.uuid4().hex[:8],
        "commission_bps": 900, "waiver_bps": 1000,
        "match": {"region": f["region_code"],
                  "category": f["category_code"],
                  "vendor_kind": f["vendor_kind"]},
        "valid_from": rfc3339(start), "valid_to": rfc3339(stop),
        "priority": 1000}), 201)
    try:
        before = 0
        while utc_now() < start - margin and len(queue) > 8:
            assert_line(one(), 1, price, base)
            before += 1
        assert before >= 1
        while utc_now() < start + datetime.timedelta(milliseconds=500):
            time.sleep(0.05)
        inside = 0
        while utc_now() < stop - margin and len(queue) > 4:
            assert_line(one(), 1, price, r)
            inside += 1
        assert inside >= 1
        while utc_now() < stop + datetime.timedelta(milliseconds=500):
            time.sleep(0.05)
        for _ in range(4):
            assert_line(one(), 1, price, base)
    finally:
        if utc_now() < stop:
            t = utc_now() - datetime.timedelta(seconds=2)
            ok(patch("/admin/fee-rules/%d" % r["id"], token=admin(), json={
                "valid_from": rfc3339(t - datetime.timedelta(seconds=1)),
                "valid_to": rfc3339(t)}))


# ------------------------------------------------ batches


def test_thirty_buyers_at_once_all_placed_in_shared_batches(shop_products):
    """30 buyers of the same two products, enough stock for all, held at
    the lock so that they reach the database in batches: every order is
    placed, the stock falls by exactly what was bought, and each order
    adds up its own lines."""
    a, b = shop_products.pick(2, where=NOT_CAPPED, stock=200)
    users = make_users(30, tag="batch")
    want = {u.id: {a: 1 + i % 3, b: 1 + (i // 3) % 2}
            for i, u in enumerate(users)}
    run_parallel(lambda u: [cart_put(u.token, p, q)
                            for p, q in want[u.id].items()], users)
    rules = {a: uncapped_rule(a), b: uncapped_rule(b)}
    before = batch_counters()

    res = held_checkouts(users, "SELECT 1 FROM products WHERE id IN "
                         "(%d, %d) ORDER BY id FOR UPDATE" % (a, b))
    # No batch failed as a whole (its orders would then go one by one).
    assert counter("db_errors") == before["db_errors"]

    statuses = sorted(r.status_code for _, r in res)
    assert statuses == [201] * 30, [r.text[:200] for _, r in res
                                    if r.status_code != 201]
    batches, batched = batch_growth(before)
    assert batched >= 30
    # The orders did share statements: far fewer batches than orders.
    assert batches <= batched // 3, (batches, batched)

    ids = set()
    for u, r in res:
        o = r.json()
        ids.add(o["id"])
        got = lines_of(o)
        assert {p: it["qty"] for p, it in got.items()} == want[u.id]
        for p, q in want[u.id].items():
            assert_line(got[p], q, tier_price(p, q), rules[p])
        assert_sums(o)
        assert o["total_fen"] == sum(tier_price(p, q) * q
                                     for p, q in want[u.id].items())
        assert_kept(o)
        assert user_orders(u) == [o["id"]]
    assert len(ids) == 30
    assert stocks_of([a, b]) == {
        a: 200 - sum(w[a] for w in want.values()),
        b: 200 - sum(w[b] for w in want.values())}
    for u, r in res[:3]:
        assert get_order(u, r.json()["id"]) == r.json()
        assert cart_get(u.token)["items"] == []


def test_one_short_cart_in_a_batch_fails_alone(shop_products):
    """In the same batches, one buyer asks more of A than there is (and
    some of B): only that order is 409 insufficient_stock, naming A; it
    takes nothing, not even its B; every other order is placed."""
    a, b = shop_products.pick(2, where=NOT_CAPPED, stock=100)
    users = make_users(21, tag="batch-short")
    greedy, others = users[10], users[:10] + users[11:]
    run_parallel(lambda u: [cart_put(u.token, a, 1), cart_put(u.token, b, 2)],
                 others)
    cart_put(greedy.token, a, 70)
    cart_put(greedy.token, b, 3)
    shop.set_stock(a, 60)
    before = batch_counters()

    res = held_checkouts(users, "SELECT 1 FROM products WHERE id IN "
                         "(%d, %d) ORDER BY id FOR UPDATE" % (a, b))
    # The short order shared its batch with others, and that batch was
    # judged order by order, not failed as a whole (then each order goes
    # alone, which would prove nothing here).
    assert counter("db_errors") == before["db_errors"]
    batches, batched = batch_growth(before)
    assert batched >= 21 and batches <= batched // 3, (batches, batched)

    by_user = {u.id: r for u, r in res}
    body = problem(by_user[greedy.id], 409, "insufficient_stock")
    assert [e.get("product_id") for e in body["errors"]] == [a], body
    assert body["detail"] == \
        "some lines are short of stock; nothing was taken"
    err = body["errors"][0]
    assert err["requested"] == 70
    assert 40 <= err["available"] <= 60, err
    assert user_orders(greedy) == []
    assert cart_lines(cart_get(greedy.token)) == {a: 70, b: 3}

    for u in others:
        o = ok(by_user[u.id], 201)
        got = lines_of(o)
        assert {p: it["qty"] for p, it in got.items()} == {a: 1, b: 2}
        assert o["total_fen"] == tier_price(a, 1) + 2 * tier_price(b, 2)
        assert_sums(o)
        assert user_orders(u) == [o["id"]]
    assert stocks_of([a, b]) == {a: 60 - 20, b: 100 - 2 * 20}


# ------------------------------------------------ waiver caps


@pytest.mark.parametrize("failing", ["second", "first"])
def test_a_cap_that_no_longer_holds_leaves_no_usage_taken(shop_products,
                                                          failing):
    """An order under two capped waivers, (R1, V1) and (R2, V2), priced
    while both had room.  Before it is placed, the use of one cap grows
    (a session holds that row while the checkout waits for it): the
    refused attempt gives back what it took of the other cap, and the
    order is placed with the waiver the database quote now computes."""
    p1 = shop_products.one(where=NOT_CAPPED + " AND " + NO_TIERS, stock=50)
    f1 = facts(p1)
    p2 = shop_products.one(
        where=NOT_CAPPED + " AND " + NO_TIERS + " AND p.vendor_id <> %d AND "
        "(p.region_code, p.category_code, p.vendor_kind) <> (%s, %s, %s)" % (
            f1["vendor_id"], lit(f1["region_code"]),
            lit(f1["category_code"]), lit(f1["vendor_kind"])), stock=50)
    f2 = facts(p2)
    v1, v2 = f1["vendor_id"], f2["vendor_id"]
    cap = 1000000
    u = make_users(1, tag="caps")[0]
    cart_put(u.token, p1, 3)
    cart_put(u.token, p2, 2)
    l1, l2 = 3 * f1["price_fen"], 2 * f2["price_fen"]
    fee1, fee2 = bps(l1, 1000), bps(l2, 1000)
    w1, w2 = bps(fee1, 5000), bps(fee2, 5000)
    assert w1 >= 2 and w2 >= 2, (w1, w2)

    r1 = r2 = None
    try:
        r1 = new_rule({"region": f1["region_code"],
                       "category": f1["category_code"],
                       "vendor_kind": f1["vendor_kind"]}, 1000, 5000, cap)
        r2 = new_rule({"region": f2["region_code"],
                       "category": f2["category_code"],
                       "vendor_kind": f2["vendor_kind"]}, 1000, 5000, cap)
        assert r1["id"] < r2["id"]
        month = "shanghai_month(now())"
        u1, u2 = 1000, 2000
        psql("INSERT INTO fee_cap_usage (rule_id, vendor_id, month, "
             "waived_fen) VALUES (%d, %d, %s, %d), (%d, %d, %s, %d)" % (
                 r1["id"], v1, month, u1, r2["id"], v2, month, u2))

        def usage():
            return {(x["rule_id"], x["vendor_id"]): x["waived_fen"]
                    for x in rows("SELECT rule_id, vendor_id, waived_fen "
                                  "FROM fee_cap_usage WHERE rule_id IN "
                                  "(%d, %d) AND month = %s" % (
                                      r1["id"], r2["id"], month))}

        # The cap that stops holding: the second pair in place_orders()'
        # order (rule, vendor), after the first was taken, or the first.
        stuck, room = ((r2["id"], v2), w2 // 2) if failing == "second" \
            else ((r1["id"], v1), w1 // 2)
        res = held_checkouts(
            [u], "UPDATE fee_cap_usage SET waived_fen = %d WHERE "
            "rule_id = %d AND vendor_id = %d AND month = %s" % (
                cap - room, stuck[0], stuck[1], month))
        o = ok(res[0][1], 201)

        it1, it2 = lines_of(o)[p1], lines_of(o)[p2]
        assert (it1["fee_rule_id"], it2["fee_rule_id"]) == \
            (r1["id"], r2["id"])
        assert (it1["fee_fen"], it2["fee_fen"]) == (fee1, fee2)
        if failing == "second":
            assert (it1["fee_waived_fen"], it2["fee_waived_fen"]) == \
                (w1, room), (o, w1, w2)
            # The first cap was taken once: the refused attempt gave back.
            assert usage() == {(r1["id"], v1): u1 + w1,
                               (r2["id"], v2): cap}
        else:
            assert (it1["fee_waived_fen"], it2["fee_waived_fen"]) == \
                (room, w2), (o, w1, w2)
            assert usage() == {(r1["id"], v1): cap,
                               (r2["id"], v2): u2 + w2}
        assert_sums(o)
        assert_kept(o)
        assert get_order(u, o["id"]) == o
        assert user_orders(u) == [o["id"]]
        assert stocks_of([p1, p2]) == {p1: 47, p2: 48}
    finally:
        for r in (r1, r2):
            if r is not None:
                end_rule(r["id"])


# ------------------------------------------------ the 201 body


def three_vendor_tiered_cart(shop_products, stock=1000):
    """Three tiered products of three vendors and one more product of the
    first vendor; quantities that reach a tier.  [(pid, qty)]"""
    picked, vendors = [], []
    # The first vendor has more products: one more line of its own.
    excl = ("AND (SELECT count(*) FROM product_facts q WHERE q.vendor_id = "
            "p.vendor_id AND q.status = 'listed') >= 5")
    for _ in range(3):
        if vendors:
            excl = "AND p.vendor_id NOT IN (%s)" % ",".join(map(str, vendors))
        pid = shop_products.one(where="%s AND %s %s" % (NOT_CAPPED, TIERED,
                                                        excl), stock=stock)
        vendors.append(facts(pid)["vendor_id"])
        picked.append(pid)
    extra = shop_products.one(where="p.vendor_id = %d" % vendors[0],
                              stock=stock)
    lines = []
    for pid in picked:
        lines.append((pid, val("SELECT max(min_qty) FROM price_tiers WHERE "
                               "product_id = %d AND min_qty <= 120" % pid)
                      or val("SELECT min(min_qty) FROM price_tiers WHERE "
                             "product_id = %d" % pid)))
    lines.append((extra, 1))
    return lines, vendors


def fill_cart(user, lines):
    """Puts lines in the cart from the highest product id down: the cart
    keeps that order, so a part's items are not in product id order."""
    for pid, qty in sorted(lines, reverse=True):
        cart_put(user.token, pid, qty)


def check_tiered_order(o, lines, vendors):
    got = lines_of(o)
    assert {p: it["qty"] for p, it in got.items()} == dict(lines)
    for pid, qty in lines[:3]:
        list_price = val("SELECT price_fen FROM products WHERE id = %d" % pid)
        assert got[pid]["unit_price_fen"] == tier_price(pid, qty) \
            < list_price, (pid, qty, got[pid])
    for pid, qty in lines:
        it = got[pid]
        assert it["line_total_fen"] == it["unit_price_fen"] * qty
        assert it["title"] == val("SELECT title FROM products WHERE id = %d"
                                  % pid)
    assert sorted(p["vendor_id"] for p in o["parts"]) == sorted(vendors)
    for p in o["parts"]:
        assert p["vendor_name"] == val("SELECT name FROM vendors WHERE "
                                       "id = %d" % p["vendor_id"])
        assert p["status"] == "pending"
    assert o["status"] == "pending_payment"
    assert_sums(o)
    assert_kept(o)


def test_201_equals_the_order_as_get_answers_it(shop_products):
    lines, vendors = three_vendor_tiered_cart(shop_products)
    users = make_users(3, tag="answer")
    for u in users:
        fill_cart(u, lines)
    cart_warm(users)
    for i, u in enumerate(users):
        o = ok(checkout(u.token, note="第%d单" % i), 201)
        check_tiered_order(o, lines, vendors)
        assert o["note"] == "第%d单" % i
        got = get_order(u, o["id"])
        # Field by field: the same keys and values at every level.
        assert set(got) == set(o)
        for k in got:
            assert got[k] == o[k], (k, got[k], o[k])
        assert len(got["parts"]) == 3
        for gp, op in zip(got["parts"], o["parts"]):
            assert gp == op


def test_201_with_an_idempotency_key_equals_get_and_replays(shop_products):
    lines, vendors = three_vendor_tiered_cart(shop_products)
    users = make_users(2, tag="answer-key")
    for u in users:
        fill_cart(u, lines)
    cart_warm(users)
    before = stocks_of([p for p, _ in lines])
    for u in users:
        key = "answer-" + uuid.uuid4().hex
        first = ok(checkout(u.token, key=key, note="幂等"), 201)
        check_tiered_order(first, lines, vendors)
        assert get_order(u, first["id"]) == first
        again = ok(checkout(u.token, key=key, note="幂等"), 201)
        assert again == first
        # The same key answers the first order even with a new cart.
        cart_put(u.token, lines[-1][0], 2)
        assert ok(checkout(u.token, key=key, note="幂等"), 201) == first
        assert user_orders(u) == [first["id"]]
    assert stocks_of([p for p, _ in lines]) == {
        p: before[p] - 2 * q for p, q in lines}


# ------------------------------------------------ titles and twins
#
# Faults found while writing this file, at 62eb1ae: the 201 took titles
# from the cached facts; a title of 4-byte characters did not fit the facts
# and its product could not be checked out; twins of one idempotency key in
# one batch answered 409 idempotency_in_progress.


def test_201_equals_get_after_a_title_changed_in_sql(shop_products):
    """A title changed in SQL while the workers cache the old one: the 201
    shows the title GET shows."""
    pid = shop_products.one(where=NOT_CAPPED, stock=50)
    old = val("SELECT title FROM products WHERE id = %d" % pid)
    users = make_users(3, tag="stale-title")
    for u in users:
        cart_put(u.token, pid, 1)
    cart_warm(users)
    try:
        psql("UPDATE products SET title = title || ' 新包装' WHERE id = %d"
             % pid)
        for u in users:
            o = ok(checkout(u.token), 201)
            assert get_order(u, o["id"]) == o
    finally:
        psql("UPDATE products SET title = %s WHERE id = %d" % (lit(old),
                                                               pid))
        flush_caches()


def test_a_title_of_120_four_byte_characters_can_be_bought(shop_products):
    """120 characters is the limit of a title, in characters: with emoji
    that is 400 bytes of UTF-8 and more, which the cached facts must hold
    whole."""
    pid = shop_products.one(where=NOT_CAPPED + " AND EXISTS (SELECT 1 FROM "
                            "vendors v WHERE v.id = p.vendor_id AND "
                            "v.user_id IS NOT NULL)", stock=50)
    old = val("SELECT title FROM products WHERE id = %d" % pid)
    title = "🍵" * 40 + "景迈山古树普洱生茶" * 8 + "茶" * 8
    assert len(title) == 120 and len(title.encode()) == 400
    vtok = shop.vendor_token(facts(pid)["vendor_id"])
    try:
        ok(patch("/vendor/products/%d" % pid, token=vtok,
                 json={"title": title}))
        assert val("SELECT title FROM products WHERE id = %d" % pid) == title
        u = make_users(1, tag="long-title")[0]
        cart_put(u.token, pid, 2)
        o = ok(checkout(u.token), 201)
        assert lines_of(o)[pid]["title"] == title
        assert stocks_of([pid]) == {pid: 48}
    finally:
        psql("UPDATE products SET title = %s WHERE id = %d" % (lit(old),
                                                               pid))
        flush_caches()


def test_same_key_twins_in_one_batch_replay_the_order(shop_products):
    """Every worker's placer is held on a lock by another buyer's order
    (one sent on a connection to each worker), so a buyer's repeated
    submits (same key, same body) queue and reach the database in the
    same batch: each answer is the one order.  The twins on one worker,
    then spread over two."""
    pid = shop_products.one(where=NOT_CAPPED, stock=200)
    pools = shop.worker_pools(per=6)
    workers = sorted(pools)
    try:
        for spread in range(1, min(2, len(workers)) + 1):
            blockers = make_users(len(workers), tag="twin-blocker")
            u = make_users(1, tag="twin")[0]
            for b in blockers + [u]:
                cart_put(b.token, pid, 1)
            key = "twin-" + uuid.uuid4().hex
            s = Session()
            ex = ThreadPoolExecutor(max_workers=12)
            try:
                s.run("BEGIN")
                s.run("SELECT 1 FROM products WHERE id = %d FOR UPDATE" % pid)
                held = [ex.submit(checkout, b.token, session=pools[w][0])
                        for b, w in zip(blockers, workers)]
                assert wait_for(lambda: placers_waiting() >= len(workers),
                                10), "not every worker's placer is held"
                with shop.RedisWatch() as watch:
                    twins = [ex.submit(checkout, u.token, None, None, key,
                                       session=pools[workers[i % spread]]
                                       [1 + i // spread])
                             for i in range(5)]
                    # Each has read its cart, past its key's check; what
                    # is left of its pricing waits on no lock of ours.
                    arrived = wait_for(lambda: watch.count(
                        "HGETALL", "cart:u:%d" % u.id) >= 5, 10)
                s.run("COMMIT")
                assert arrived, "the twins did not all reach the server"
                answers = [f.result() for f in twins]
                assert all(f.result().status_code == 201 for f in held)
            finally:
                s.close()
                ex.shutdown(wait=True)
            ids = user_orders(u)
            assert len(ids) == 1, ids
            for r in answers:
                assert ok(r, 201)["id"] == ids[0], r.text[:300]
    finally:
        shop.close_pools(pools)
