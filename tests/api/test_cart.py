"""The cart (Redis): guest carts and their tokens, quantities, stock,
catalog prices, removal, the merge at login, and isolation between carts."""

import os
import secrets
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import pytest  # noqa: E402

from shop import (  # noqa: E402,F401
    call, cart_get, get, cart_lines, cart_put, checkout, delete, error_fields,
    free_products, login, login_token, make_user, make_users, ok,
    other_vendor_id,
    other_vendor_token, patch, post, problem, put, rows, set_stock,
    shop_products, val, wait_until, where_vendor)


def token_of(r):
    body = r.json()
    assert r.headers.get("X-Cart-Token") == body["cart_token"], \
        (r.headers.get("X-Cart-Token"), body)
    return body["cart_token"]


def check_sums(body):
    """item_count and subtotal_fen agree with the available lines."""
    avail = [it for it in body["items"] if it["available"]]
    assert body["item_count"] == sum(it["qty"] for it in avail), body
    assert body["subtotal_fen"] == sum(it["line_total_fen"]
                                       for it in avail), body
    for it in body["items"]:
        assert it["line_total_fen"] == it["unit_price_fen"] * it["qty"], it


def test_guest_put_creates_a_cart_with_a_token(shop_products):
    pid = shop_products.one(stock=50)
    r = cart_put(None, pid, 2)
    body = ok(r)
    token = token_of(r)
    assert isinstance(token, str) and len(token) >= 22, token
    assert cart_lines(body) == {pid: 2}
    it = body["items"][0]
    for k in ("product_id", "title", "vendor_id", "unit_price_fen", "qty",
              "line_total_fen", "available"):
        assert k in it, (k, it)
    assert it["available"] is True
    assert it["vendor_id"] == val("SELECT vendor_id FROM products "
                                  "WHERE id = %d" % pid)
    check_sums(body)

    # The token names the cart.
    again = cart_get(cart=token)
    assert again["cart_token"] == token
    assert cart_lines(again) == {pid: 2}
    check_sums(again)

    # Without the token there is no cart, and no token.
    none = cart_get()
    assert none["items"] == [] and none["item_count"] == 0
    assert none["subtotal_fen"] == 0 and none["cart_token"] is None

    # A second write with the token keeps the same cart.
    r = cart_put(None, pid, 3, cart=token)
    assert token_of(r) == token
    assert cart_lines(r.json()) == {pid: 3}


def test_each_guest_write_without_a_token_makes_a_new_cart(shop_products):
    pid = shop_products.one(stock=50)
    t1 = token_of(cart_put(None, pid, 1))
    t2 = token_of(cart_put(None, pid, 1))
    assert t1 != t2


def test_qty_zero_removes_the_line(shop_products):
    a, b = shop_products.pick(2, stock=50)
    token = token_of(cart_put(None, a, 2))
    cart_put(None, b, 1, cart=token)
    body = ok(cart_put(None, a, 0, cart=token))
    assert cart_lines(body) == {b: 1}
    assert cart_lines(cart_get(cart=token)) == {b: 1}
    check_sums(body)


def test_qty_bounds_1_and_9999_are_accepted(shop_products):
    pid = shop_products.one(stock=9999)
    token = token_of(cart_put(None, pid, 1))
    body = ok(cart_put(None, pid, 9999, cart=token))
    assert cart_lines(body) == {pid: 9999}
    check_sums(body)


@pytest.mark.parametrize("qty", [10000, -1, "2", 1.5, None, True, [1]])
def test_bad_qty_is_422(shop_products, qty):
    pid = shop_products.one(stock=20000)
    token = token_of(cart_put(None, pid, 1))
    r = put("/cart/items/%d" % pid, json={"qty": qty}, cart=token)
    body = problem(r, 422, "validation_failed")
    assert "qty" in error_fields(body)
    assert cart_lines(cart_get(cart=token)) == {pid: 1}


def test_missing_qty_is_422(shop_products):
    pid = shop_products.one(stock=50)
    r = put("/cart/items/%d" % pid, json={"quantity": 1})
    assert "qty" in error_fields(problem(r, 422, "validation_failed"))


@pytest.mark.parametrize("raw", [b"{", b"qty=1", b"{\"qty\": 1,}"])
def test_bad_json_is_400(shop_products, raw):
    pid = shop_products.one(stock=50)
    r = call("PUT", "/cart/items/%d" % pid, data=raw,
             headers={"Content-Type": "application/json"})
    problem(r, 400, "invalid_json")


@pytest.mark.parametrize("status", ["unlisted", "draft"])
def test_product_not_listed_is_404(status):
    pid = val("SELECT min(id) FROM products WHERE status = '%s'" % status)
    assert pid is not None
    r = cart_put(None, pid, 1, expect=None)
    problem(r, 404, "not_found")


def test_unknown_product_is_404(shop_products):
    keep = shop_products.one(stock=50)
    token = token_of(cart_put(None, keep, 1))
    pid = val("SELECT max(id) + 100000 FROM products")
    problem(cart_put(None, pid, 1, cart=token, expect=None), 404,
            "not_found")
    assert cart_lines(cart_get(cart=token)) == {keep: 1}


def test_product_unlisted_while_in_the_cart_cannot_be_raised(shop_products):
    vendor = other_vendor_id()
    pid = shop_products.one(where_vendor(vendor), stock=50)
    token = token_of(cart_put(None, pid, 2))
    ok(post("/vendor/products/%d/unpublish" % pid,
            token=other_vendor_token()))
    try:
        problem(cart_put(None, pid, 3, cart=token, expect=None), 404,
                "not_found")
        body = cart_get(cart=token)
        # The line stays as it was, shown as not available.
        assert cart_lines(body) == {pid: 2}
        assert body["items"][0]["available"] is False
        assert body["item_count"] == 0 and body["subtotal_fen"] == 0
        # It can still be removed.
        assert ok(cart_put(None, pid, 0, cart=token))["items"] == []
    finally:
        ok(post("/vendor/products/%d/publish" % pid,
                token=other_vendor_token()))


def test_more_than_stock_is_409_and_the_cart_is_unchanged(shop_products):
    a, b = shop_products.pick(2, stock=5)
    token = token_of(cart_put(None, a, 2))
    before = cart_get(cart=token)

    # Raising a line beyond the stock.
    problem(cart_put(None, a, 6, cart=token, expect=None), 409,
            "insufficient_stock")
    # A new line beyond the stock.
    problem(cart_put(None, b, 6, cart=token, expect=None), 409,
            "insufficient_stock")
    after = cart_get(cart=token)
    assert after == before
    assert cart_lines(after) == {a: 2}

    # Exactly the stock is fine.
    assert cart_lines(ok(cart_put(None, a, 5, cart=token))) == {a: 5}


def test_more_than_stock_for_a_signed_in_user(shop_products):
    u = make_user()
    pid = shop_products.one(stock=3)
    cart_put(u.token, pid, 1)
    problem(cart_put(u.token, pid, 4, expect=None), 409,
            "insufficient_stock")
    assert cart_lines(cart_get(u.token)) == {pid: 1}


def test_prices_come_from_the_catalog(shop_products):
    """The cart keeps quantities only: a price the vendor changes is the
    price of the cart at once, and of the checkout."""
    vendor = other_vendor_id()
    pid = shop_products.one(where_vendor(vendor), stock=50)
    u = make_user()
    ok(cart_put(u.token, pid, 1))
    price = val("SELECT price_fen FROM products WHERE id = %d" % pid)
    body = cart_get(u.token)
    assert body["items"][0]["unit_price_fen"] == price
    assert body["subtotal_fen"] == price

    new_price = price + 1234
    ok(patch("/vendor/products/%d" % pid, token=other_vendor_token(),
             json={"price_fen": new_price}))
    assert val("SELECT price_fen FROM products WHERE id = %d" % pid) == \
        new_price
    body = cart_get(u.token)
    assert body["items"][0]["unit_price_fen"] == new_price
    assert body["items"][0]["line_total_fen"] == new_price
    assert body["subtotal_fen"] == new_price
    order = ok(checkout(u.token), 201)
    assert order["total_fen"] == new_price
    assert order["parts"][0]["items"][0]["unit_price_fen"] == new_price
    ok(post("/orders/%d/cancel" % order["id"], token=u.token))


def test_cart_write_sees_the_stock_a_checkout_took(shop_products):
    pid = shop_products.one(stock=5)
    # Carts of others read the product (on every worker).
    for _ in range(12):
        cart_put(None, pid, 1)
    u = make_user()
    cart_put(u.token, pid, 5)
    ok(checkout(u.token), 201)
    assert val("SELECT stock FROM products WHERE id = %d" % pid) == 0
    codes = [cart_put(None, pid, 1, expect=None).status_code
             for _ in range(6)]
    assert codes == [409] * 6, codes


def test_price_tiers_apply_to_the_quantity(shop_products):
    pid = shop_products.one(
        where="EXISTS (SELECT 1 FROM price_tiers t WHERE t.product_id = p.id)",
        stock=1000)
    tier = rows("SELECT min_qty, unit_price_fen FROM price_tiers "
                "WHERE product_id = %d ORDER BY min_qty LIMIT 1" % pid)[0]
    token = token_of(cart_put(None, pid, tier["min_qty"]))
    it = cart_get(cart=token)["items"][0]
    assert it["unit_price_fen"] == tier["unit_price_fen"], (tier, it)
    assert it["line_total_fen"] == tier["unit_price_fen"] * tier["min_qty"]


def test_delete_item_and_delete_cart(shop_products):
    a, b, c = shop_products.pick(3, stock=50)
    token = token_of(cart_put(None, a, 1))
    cart_put(None, b, 2, cart=token)
    cart_put(None, c, 3, cart=token)

    body = ok(delete("/cart/items/%d" % b, cart=token))
    assert cart_lines(body) == {a: 1, c: 3}
    check_sums(body)
    assert cart_lines(cart_get(cart=token)) == {a: 1, c: 3}

    # Deleting a line that is not there is harmless.
    assert cart_lines(ok(delete("/cart/items/%d" % b, cart=token))) == \
        {a: 1, c: 3}

    body = ok(delete("/cart", cart=token))
    assert body["items"] == [] and body["item_count"] == 0
    assert body["subtotal_fen"] == 0
    assert cart_get(cart=token)["items"] == []


def test_delete_for_a_signed_in_user(shop_products):
    u = make_user()
    a, b = shop_products.pick(2, stock=50)
    cart_put(u.token, a, 1)
    cart_put(u.token, b, 1)
    assert cart_lines(ok(delete("/cart/items/%d" % a, token=u.token))) == \
        {b: 1}
    assert ok(delete("/cart", token=u.token))["items"] == []
    assert cart_get(u.token)["items"] == []


def test_merge_at_login(shop_products):
    u = make_user()
    both, guest_only, user_only, gone = shop_products.pick(4, stock=50)
    set_stock(both, 5)

    # The user's own cart.
    cart_put(u.token, both, 4)
    cart_put(u.token, user_only, 2)

    # A guest cart, then login with its token.
    token = token_of(cart_put(None, both, 3))
    cart_put(None, guest_only, 7, cart=token)
    cart_put(None, gone, 1, cart=token)
    set_stock(gone, 0)

    r = login(u.email, u.password, cart=token)
    fresh = r.json()["access_token"]
    body = cart_get(fresh)
    # Quantities add up, capped by the stock; a line without stock goes.
    assert cart_lines(body) == {both: 5, guest_only: 7, user_only: 2}
    check_sums(body)
    # The other session sees the same (the user's) cart.
    assert cart_lines(cart_get(u.token)) == cart_lines(body)
    # The guest cart is gone.
    assert cart_get(cart=token)["items"] == []


def test_merge_is_capped_at_9999(shop_products):
    u = make_user()
    pid = shop_products.one(stock=30000)
    cart_put(u.token, pid, 6000)
    token = token_of(cart_put(None, pid, 6000))
    fresh = login(u.email, u.password, cart=token).json()["access_token"]
    assert cart_lines(cart_get(fresh)) == {pid: 9999}


def test_login_with_an_unknown_cart_token_changes_nothing(shop_products):
    u = make_user()
    pid = shop_products.one(stock=50)
    cart_put(u.token, pid, 2)
    unknown = secrets.token_urlsafe(16)[:22]
    login(u.email, u.password, cart=unknown)
    assert cart_lines(cart_get(u.token)) == {pid: 2}


def test_forged_or_unknown_token_gives_an_empty_cart(shop_products):
    pid = shop_products.one(stock=50)
    token = token_of(cart_put(None, pid, 1))

    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    body = cart_get(cart=forged)
    assert body["items"] == [] and body["subtotal_fen"] == 0

    for bad in ("x", "*", token + "x", "../" + token, "g:" + token,
                "u:1", "cart:g:" + token):
        body = cart_get(cart=bad)
        assert body["items"] == [], (bad, body)

    # A write with a malformed token makes a new cart, not the other one.
    r = cart_put(None, pid, 1, cart="not-a-token")
    new = token_of(r)
    assert new not in (token, "not-a-token")
    assert cart_lines(r.json()) == {pid: 1}
    # The real cart is untouched.
    assert cart_lines(cart_get(cart=token)) == {pid: 1}


def test_a_users_cart_is_private(shop_products):
    alice, bob = make_users(2)
    a, b = shop_products.pick(2, stock=50)
    body = ok(cart_put(alice.token, a, 3))
    # A user's cart has no guest token.
    assert body["cart_token"] is None
    assert cart_lines(cart_get(alice.token)) == {a: 3}
    assert cart_get(bob.token)["items"] == []
    # Not through a guest token either.
    for t in ("u:%d" % alice.id, str(alice.id), "cart:u:%d" % alice.id):
        assert cart_get(cart=t)["items"] == [], t

    # A guest cart's token does not reach into a user's cart either way.
    token = token_of(cart_put(None, b, 1))
    assert cart_lines(cart_get(alice.token, cart=token)) == {a: 3}
    cart_put(alice.token, b, 2, cart=token)
    assert cart_lines(cart_get(cart=token)) == {b: 1}
    assert cart_lines(cart_get(alice.token)) == {a: 3, b: 2}
    # Bob's deletes are his own.
    ok(delete("/cart", token=bob.token))
    assert cart_lines(cart_get(alice.token)) == {a: 3, b: 2}


def test_the_101st_distinct_product_is_cart_full(shop_products):
    # Read only: any listed product with stock will do, none is changed.
    ids = free_products(101)
    token = token_of(cart_put(None, ids[0], 1))
    for pid in ids[1:100]:
        cart_put(None, pid, 1, cart=token)
    body = cart_get(cart=token)
    assert len(body["items"]) == 100
    b = problem(cart_put(None, ids[100], 1, cart=token, expect=None), 422,
                "cart_full")
    assert b["detail"] == "a cart holds at most 100 different products"
    body = cart_get(cart=token)
    assert len(body["items"]) == 100
    assert ids[100] not in cart_lines(body)
    # A line already in the cart can still change.
    assert cart_lines(ok(cart_put(None, ids[5], 1, cart=token)))[ids[5]] == 1
    ok(delete("/cart", cart=token))


def test_a_revoked_session_reaches_no_cart(shop_products):
    """The cart routes check the session inside their Redis script: after
    logout the same (still unexpired) token is refused on every cart route,
    and the cart is left as it was."""
    pid = shop_products.one(stock=50)
    u = make_user(tag="cartrevoke")
    cart_put(u.token, pid, 2)
    r = post("/auth/logout", token=u.token)
    assert r.status_code == 204, r.text
    problem(get("/cart", token=u.token), 401, "unauthenticated")
    problem(put("/cart/items/%d" % pid, json={"qty": 5}, token=u.token),
            401, "unauthenticated")
    problem(delete("/cart/items/%d" % pid, token=u.token), 401,
            "unauthenticated")
    problem(delete("/cart", token=u.token), 401, "unauthenticated")
    assert val("SELECT 1") == 1
    fresh = login_token(u.email, u.password)
    assert cart_lines(cart_get(fresh)) == {pid: 2}


# ------------------------------------------------------------ expiry


def redis(*args):
    port = os.environ.get("BANGFU_REDIS_PORT", "26389")
    return subprocess.run(["redis-cli", "-p", port] + list(args),
                          check=True, capture_output=True,
                          text=True).stdout.strip()


def test_carts_expire_7_days_for_guests_30_for_users(shop_products):
    pid = shop_products.one(stock=20)
    token = token_of(cart_put(None, pid, 1))
    guest_ttl = int(redis("TTL", "cart:g:" + token))
    assert 7 * 86400 - 60 <= guest_ttl <= 7 * 86400, guest_ttl

    u = make_user()
    cart_put(u.token, pid, 1)
    key = "cart:u:%d" % u.id
    assert 30 * 86400 - 60 <= int(redis("TTL", key)) <= 30 * 86400

    # Activity keeps a cart alive: a write puts its TTL back up.
    redis("EXPIRE", key, "86400")
    cart_put(u.token, pid, 2)
    assert 30 * 86400 - 60 <= int(redis("TTL", key)) <= 30 * 86400
    # A cart that runs out is gone.
    redis("EXPIRE", key, "1")
    assert wait_until(lambda: redis("EXISTS", key) == "0", 5, step=0.05)
    assert cart_get(u.token)["items"] == []
