"""The leak check of the sanitized build runs when a worker leaves, and
finds a leak (issue 10, item 4).  scripts/test.sh fails the run on any
report it writes, and on a run in which no worker reported its check; this
is the control that a leak would be seen at all: a spare server of the test
build leaks LEAK_CANARY_BYTES on purpose in each worker (BANGFU_LEAK_CANARY),
and its reports, written apart from the test server's, must name them.
"""

import glob
import os

from shop import ROOT, SpareServer

LEAK_CANARY_BYTES = 4242	# app/main.c


def _server(tmp_path, canary):
    env = {"ASAN_OPTIONS": "detect_leaks=1:log_path=%s/asan" % tmp_path,
           "LSAN_OPTIONS": "suppressions=%s:print_suppressions=0" %
           os.path.join(ROOT, "tests", "lsan", "suppressions.txt"),
           "BANGFU_LEAK_CANARY": "1" if canary else None}
    s = SpareServer(env, offset=10)
    s.tracing = False	# Kore's tracer would hold the ptrace LSan needs
    return s


def _run(tmp_path, canary):
    s = _server(tmp_path, canary).start()
    s.stop()
    reports = "".join(open(p, errors="replace").read()
                      for p in glob.glob(str(tmp_path / "asan.*")))
    return s.read_log(), reports


def test_a_leak_in_a_worker_is_reported_at_its_exit(tmp_path):
    log, reports = _run(tmp_path, canary=True)
    assert log.count("leak check at exit: leaks found") >= 2, log[-3000:]
    assert "%d byte(s) in 1 object(s)" % LEAK_CANARY_BYTES in reports, \
        reports[-3000:]
    assert "kore_worker_configure" in reports, reports[-3000:]


def test_a_worker_without_a_leak_reports_clean(tmp_path):
    log, reports = _run(tmp_path, canary=False)
    assert log.count("leak check at exit: clean") >= 2, log[-3000:]
    assert "leaks found" not in log
    assert reports == "", reports[-3000:]
