#!/usr/bin/env python3
"""Seeds for the fuzz corpora, from the inputs of the unit and API tests.

    tests/fuzz/seed.py OUTDIR

writes OUTDIR/<harness>/<n> files; `scripts/fuzz.sh -merge` (libFuzzer
-merge=1) then keeps the ones that add coverage to tests/fuzz/corpus/.
"""

import ast
import hashlib
import json
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
LIT = re.compile(r'"((?:[^"\\\n]|\\.)*)"')


def c_unescape(s):
    """A C string literal's body as bytes (the escapes the tests use)."""
    out = bytearray()
    i = 0
    while i < len(s):
        ch = s[i]
        if ch != "\\":
            out += ch.encode()
            i += 1
            continue
        i += 1
        e = s[i]
        simple = {"n": 10, "r": 13, "t": 9, "0": 0, "\\": 92, '"': 34,
                  "'": 39, "a": 7, "b": 8, "f": 12, "v": 11}
        if e == "x":
            m = re.match(r"[0-9a-fA-F]{1,2}", s[i + 1:])
            out.append(int(m.group(0), 16))
            i += 1 + len(m.group(0))
        elif e in "01234567" and re.match(r"[0-7]{1,3}", s[i:]):
            m = re.match(r"[0-7]{1,3}", s[i:])
            out.append(int(m.group(0), 8) & 0xFF)
            i += len(m.group(0))
        else:
            out.append(simple.get(e, ord(e)))
            i += 1
    return bytes(out)


def literals(text):
    """Adjacent literals joined, as the compiler does."""
    text = re.sub(r'"\s*\n\s*"', "", text)
    text = re.sub(r'"\s+"', "", text)
    return [c_unescape(m.group(1)) for m in LIT.finditer(text)]


def calls(text, names):
    """The literal arguments of each call of one of names."""
    text = re.sub(r'"\s*\n\s*"', "", text)
    pat = re.compile(r"\b(?:%s)\s*\(" % "|".join(names))
    out = []
    for m in pat.finditer(text):
        depth, j = 1, m.end()
        while j < len(text) and depth:
            depth += {"(": 1, ")": -1}.get(text[j], 0)
            j += 1
        args = text[m.end():j - 1]
        args = args.replace("LOOPBACK", '"127.0.0.1, ::1"')
        out.append([c_unescape(a.group(1)) for a in LIT.finditer(args)])
    return out


def unit(name):
    with open(os.path.join(ROOT, "tests", "unit", "test_%s.c" % name)) as f:
        return f.read()


def api_bodies():
    """Every literal json= body of the API tests, and its nested objects."""
    bodies = []
    d = os.path.join(ROOT, "tests", "api")
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".py"):
            continue
        with open(os.path.join(d, fn)) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "json":
                node = node.value
            elif not isinstance(node, ast.Dict):
                continue
            try:
                v = ast.literal_eval(node)
                bodies.append(json.dumps(v, ensure_ascii=False).encode())
            except (ValueError, SyntaxError, TypeError):
                continue
    # Registration and checkout as shop.py sends them (built there).
    bodies.append(json.dumps({
        "email": "buyer@example.cn", "password": "correct horse battery",
        "name": "王小明", "role": "citizen"}, ensure_ascii=False).encode())
    bodies.append(json.dumps({
        "address": {"name": "王小明", "phone": "+86 138-0013-8000",
                    "province": "贵州省", "city": "黔东南",
                    "district": "雷山县", "line": "西江镇 1 号"},
        "note": "请放门口"}, ensure_ascii=False).encode())
    return bodies


def main():
    out = sys.argv[1]
    seeds = {}
    seeds["query"] = literals(unit("query"))
    seeds["creditcode"] = literals(unit("creditcode"))
    seeds["validate"] = literals(unit("validate"))
    seeds["timefmt"] = literals(unit("timefmt"))
    seeds["csv"] = [b"\x80" + s for s in literals(unit("csv"))]
    seeds["router"] = []
    for args in calls(unit("router"), ["router_match"]):
        if len(args) == 2:
            seeds["router"].append(b"\xc0" + args[0] + b"\0" + args[1])
            seeds["router"].append(b"\x80" + args[1])
    seeds["clientip"] = []
    for args in calls(unit("clientip"), ["resolve", "clientip_resolve",
                                         "clientip_trusted"]):
        if len(args) >= 2:
            seeds["clientip"].append(b"\x00" + b"\0".join(args))
    seeds["jsonbody"] = api_bodies()
    for h, items in seeds.items():
        os.makedirs(os.path.join(out, h), exist_ok=True)
        for s in items:
            name = hashlib.sha1(s).hexdigest()
            with open(os.path.join(out, h, name), "wb") as f:
                f.write(s)
        print("%s: %d seeds" % (h, len(set(items))))


if __name__ == "__main__":
    main()
