"""Operator bootstrap (scripts/admin.sh, `make admin`): creates an operator
from a password read on standard input, resets an operator's password, and
refuses another account's address; the password never goes on a command
line."""

import os
import subprocess

from conftest import Api, ok_json, unique_email

ROOT = os.environ.get("BANGFU_ROOT",
                      os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "admin.sh")


def admin_sh(*args, stdin="", env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([SCRIPT, *args], input=stdin, text=True,
                          capture_output=True, env=e, timeout=60)


def test_creates_an_operator_then_resets_the_password():
    api = Api()
    email = unique_email("ops")
    r = admin_sh(email, "平台运营 王敏", stdin="first-password-1\n")
    assert r.returncode == 0, r.stderr
    assert "created" in r.stdout
    t = ok_json(api.login(email, "first-password-1"))["access_token"]
    me = ok_json(api.get("/me", token=t))
    assert me["role"] == "admin" and me["name"] == "平台运营 王敏"
    assert api.get("/admin/vendors", token=t).status_code == 200

    r = admin_sh(email, "平台运营 王敏", stdin="second-password-2\n")
    assert r.returncode == 0, r.stderr
    assert "reset" in r.stdout
    api.login(email, "first-password-1", expect=401)
    ok_json(api.login(email, "second-password-2"))


def test_refuses_a_citizen_address_and_a_short_password():
    api = Api()
    email = unique_email("cit")
    api.register(email=email, password="citizen-pass-1", role="citizen")
    r = admin_sh(email, stdin="takeover-password-1\n")
    assert r.returncode == 1
    assert "not an operator" in r.stderr
    # Nothing changed: the citizen keeps their password and role.
    t = ok_json(api.login(email, "citizen-pass-1"))["access_token"]
    assert ok_json(api.get("/me", token=t))["role"] == "citizen"
    api.login(email, "takeover-password-1", expect=401)

    r = admin_sh(unique_email("ops"), stdin="short\n")
    assert r.returncode == 1 and "at least 10" in r.stderr


def test_generates_a_password_shown_once():
    api = Api()
    email = unique_email("ops")
    r = admin_sh(email, env={"GENERATE": "1"})
    assert r.returncode == 0, r.stderr
    pw = r.stdout.rsplit("(shown once): ", 1)[1].strip()
    assert len(pw) >= 20
    ok_json(api.login(email, pw))
