"""SQL functions and their C twins give the same answers on the same
inputs: tier_price() (migrations/003_orders.sql) and cart_tier_price()
(modules/cart.c) price a quantity from a product's tiers; share_bps()
(migrations/005_orgs.sql) and quota_share_bps() (modules/quota.c) round a
share half up.  A checkout priced in C and a report summed in SQL must
never disagree by a fen or a basis point.  build/twins (tests/twins/)
answers for C; PostgreSQL answers for SQL, inside a transaction that is
rolled back."""

import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from shop import PG, psql_once  # noqa: E402

ROOT = os.environ.get("BANGFU_ROOT", os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MONEY_MAX = 10 ** 14            # MONEY_MAX_FEN, modules/money.h


def twins(questions):
    out = subprocess.run([os.path.join(ROOT, "build", "twins")],
                         input="\n".join(questions) + "\n", text=True,
                         capture_output=True, timeout=60, check=True)
    return out.stdout.split()


def sql(statements):
    """The rows of statements, run in one transaction that is rolled back."""
    script = "BEGIN;\n" + "\n".join(statements) + "\nROLLBACK;\n"
    out = subprocess.run(["psql", "-X", "-q", "-tA", "-v", "ON_ERROR_STOP=1",
                          PG], input=script, text=True, capture_output=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    return ["null" if v == "" else v for v in out.stdout.split("\n")[:-1]]


def tier_cases(rng):
    cases = []
    for _ in range(600):
        n = rng.choice([0, 1, 1, 2, 3, 4])
        mins = rng.sample(range(2, 400), n)
        tiers = [(m, rng.randint(1, 10 ** 6)) for m in mins]
        list_price = rng.randint(1, 10 ** 6)
        # Each side of each boundary, and anywhere.
        qtys = {1, rng.randint(1, 500)}
        for m, _ in tiers:
            qtys |= {m - 1, m, m + 1}
        for qty in sorted(qtys):
            cases.append((list_price, qty, tiers))
    cases.append((MONEY_MAX, 10 ** 6, [(2, MONEY_MAX - 1)]))
    return cases


def test_tier_price_in_sql_is_cart_tier_price_in_c():
    rng = random.Random(20261202)
    cases = tier_cases(rng)
    pid = int(psql_once("SELECT min(id) FROM products"))
    c = twins(["tier %d %d %d %s" % (lp, q, len(t), " ".join(
        "%d %d" % x for x in t)) for lp, q, t in cases])
    stmts = []
    for lp, q, t in cases:
        stmts.append("DELETE FROM price_tiers WHERE product_id = %d;" % pid)
        if t:
            stmts.append("INSERT INTO price_tiers (product_id, min_qty, "
                         "unit_price_fen) VALUES %s;" % ", ".join(
                             "(%d, %d, %d)" % (pid, m, p) for m, p in t))
        stmts.append("SELECT tier_price(%d, %d, %d);" % (pid, lp, q))
    s = sql(stmts)
    assert len(c) == len(s) == len(cases)
    wrong = [(case, a, b) for case, a, b in zip(cases, c, s) if a != b]
    assert not wrong, wrong[:5]
    # The cases reach every branch: the list price and a tier's price.
    assert any(int(a) != lp for (lp, _, _), a in zip(cases, c))
    assert any(int(a) == lp for (lp, _, t), a in zip(cases, c) if t)


def share_cases(rng):
    cases = [(0, 1), (1, 1), (1, 2), (1, 3), (2, 3), (1, 20000), (1, 20001),
             (1, 19999), (3, 20000), (MONEY_MAX, MONEY_MAX), (MONEY_MAX, 1),
             (1, MONEY_MAX), (5, 0), (0, 0), (5, -1)]
    for _ in range(2000):
        whole = rng.choice([rng.randint(1, 1000), rng.randint(1, 10 ** 9),
                            rng.randint(1, MONEY_MAX)])
        part = rng.choice([rng.randint(0, whole), rng.randint(0, 3 * whole),
                           rng.randint(0, MONEY_MAX)])
        cases.append((min(part, MONEY_MAX), whole))
        # Exactly half a basis point over: where rounding decides.
        if whole % 2 == 0 and whole <= MONEY_MAX // 10000:
            k = rng.randint(0, 10000)
            if (k * whole + whole // 2) % 10000 == 0:
                cases.append(((k * whole + whole // 2) // 10000, whole))
    return cases


def test_share_bps_in_sql_is_quota_share_bps_in_c():
    cases = share_cases(random.Random(1202))
    c = twins(["share %d %d" % x for x in cases])
    s = sql(["SELECT share_bps(%d, %d);" % x for x in cases])
    assert len(c) == len(s) == len(cases)
    wrong = [(case, a, b) for case, a, b in zip(cases, c, s) if a != b]
    assert not wrong, wrong[:5]
    assert c.count("null") == 3          # no whole: no share, both sides
