"""Host names in DATABASE_URL and REDIS_URL are resolved off the event loop
(issue 10, item 3: name resolution inside redisAsyncConnect and libpq's
connect blocked a worker).

A spare server of the test build is given host names instead of addresses.
It runs in a private mount namespace whose /etc/resolv.conf names a DNS
server of this test's own, which holds every question for HOLD seconds
before it answers.  While the names are being resolved the workers must
keep answering /healthz at once; afterwards the server is ready and serves
from PostgreSQL and Redis, reached through the names.  A worker that
resolved on its event loop would not answer for HOLD seconds.
"""

import os
import socket
import struct
import threading
import time

import pytest
import requests

from shop import SpareServer

DNS_ADDR = "127.0.0.77"
HOLD = 5.0
PG_NAME = "pg.bangfu.test"
REDIS_NAME = "redis.bangfu.test"


class SlowDNS:
    """A DNS server on DNS_ADDR:53 (UDP) that answers A questions for
    names ending in .bangfu.test with 127.0.0.1, every other question with
    no answer, each HOLD seconds after it came."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((DNS_ADDR, 53))
        self.sock.settimeout(0.2)
        self.asked = []
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping = True
        self.thread.join(timeout=5)
        self.sock.close()

    def _serve(self):
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            threading.Timer(HOLD, self._answer, (data, peer)).start()

    def _answer(self, q, peer):
        qid, flags = struct.unpack("!HH", q[:4])
        i, labels = 12, []
        while q[i]:
            labels.append(q[i + 1:i + 1 + q[i]].decode("ascii", "replace"))
            i += q[i] + 1
        question = q[12:i + 5]
        qtype = struct.unpack("!H", q[i + 1:i + 3])[0]
        name = ".".join(labels).lower()
        self.asked.append((name, qtype, time.monotonic()))
        ours = name.endswith(".bangfu.test")
        answers = b""
        if ours and qtype == 1:
            answers = (b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) +
                       socket.inet_aton("127.0.0.1"))
        rcode = 0 if ours else 3
        head = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1,
                           1 if answers else 0, 0, 0)
        try:
            self.sock.sendto(head + question + answers, peer)
        except OSError:
            pass


def _names_server(tmp_path):
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver %s\noptions timeout:%d attempts:1\n"
                      % (DNS_ADDR, int(HOLD * 3)))
    db_url = os.environ["DATABASE_URL"].replace("host=127.0.0.1",
                                                "host=" + PG_NAME)
    redis_url = os.environ["REDIS_URL"].replace("127.0.0.1", REDIS_NAME)
    assert PG_NAME in db_url and REDIS_NAME in redis_url, (db_url, redis_url)
    s = SpareServer({"DATABASE_URL": db_url, "REDIS_URL": redis_url},
                    offset=9)
    s.wrap = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
              'mount --bind "$0" /etc/resolv.conf && exec "$@"', str(resolv)]
    return s


@pytest.mark.skipif(os.geteuid() != 0,
                    reason="needs root for a private mount namespace")
def test_names_are_resolved_off_the_event_loop(tmp_path):
    with SlowDNS() as dns:
        s = _names_server(tmp_path)
        s.start(wait=False)
        try:
            # The workers answer while both names are still unresolved.
            slowest, probes = 0.0, 0
            end = time.monotonic() + HOLD - 0.5
            while time.monotonic() < end:
                t = time.monotonic()
                try:
                    r = requests.get(s.url + "/healthz", timeout=HOLD + 5)
                except requests.ConnectionError:
                    assert s.proc.poll() is None, s.read_log()
                    time.sleep(0.05)	# not listening yet
                    continue
                assert r.status_code == 200, r.text
                slowest = max(slowest, time.monotonic() - t)
                probes += 1
                time.sleep(0.05)
            assert probes >= 5, (probes, s.read_log())
            # A worker resolving on its event loop would stall about HOLD.
            assert slowest < HOLD / 2, (slowest, s.read_log())
            # Then the names resolve, and both stores are reached by them.
            s.wait_ready(timeout=30)
            asked = {n for n, t, _ in dns.asked if t == 1}
            assert {PG_NAME, REDIS_NAME} <= asked, dns.asked
            r = requests.get(s.api + "/products?per_page=1", timeout=10)
            assert r.status_code == 200, r.text
            pid = r.json()["items"][0]["id"]
            r = requests.put(s.api + "/cart/items/%d" % pid,
                             json={"qty": 1}, timeout=10)
            assert r.status_code == 200, r.text
            assert [i["product_id"] for i in r.json()["items"]] == [pid]
        finally:
            s.stop()
