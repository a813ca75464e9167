"""`kill -9` under load with SQLite state: every acknowledged sale survives, exactly once.

Clients send sales with fresh invoice ids as fast as the server answers; the server and its
workers are killed with SIGKILL mid-stream, then started again on the same file. Every sale a
client saw acknowledged must be there once, re-sending it must replay the stored answer and
record nothing, and no invoice may be recorded twice.
"""

from __future__ import annotations

import collections
import http.client
import json
import threading
import time
from pathlib import Path

import pytest

from .support import AUTH, Served, request, state

pytestmark = pytest.mark.slow

CLIENTS = 8
KILL_AFTER_ACKS = 300
MAX_LOAD_S = 20.0


def load(
    url: str, stop: threading.Event, acked: dict[str, bytes], sent: set[str], odd: list[bytes]
) -> None:
    """Run CLIENTS keep-alive connections sending distinct invoices until `stop` or a crash."""
    lock = threading.Lock()

    def client(number: int) -> None:
        host, port = url.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        for n in range(10_000):
            if stop.is_set():
                break
            invoice = f"K-{number}-{n}"
            body = {"customerExternalId": "buyer", "amount": 100 + n, "invoiceId": invoice}
            with lock:
                sent.add(invoice)
            try:
                conn.request("POST", "/track/sale", json.dumps(body).encode(), AUTH)
                answer = conn.getresponse()
                raw = answer.read()
            except (OSError, http.client.HTTPException):
                break  # the server is gone
            with lock:
                if answer.status == 200:
                    acked[invoice] = raw
                else:
                    odd.append(raw)
        conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(MAX_LOAD_S + 15)


def test_kill_9_under_load_loses_no_acknowledged_sale_and_doubles_none(workdir: Path) -> None:
    db = f"sqlite:///{workdir}/state.db"
    args = ["--workers", "2", "--state", db, "--quiet", "--no-rate-limit"]
    served = Served(args, workdir).start()
    acked: dict[str, bytes] = {}
    sent: set[str] = set()
    odd: list[bytes] = []
    try:
        status, _ = request(served.url, "POST", "/__mock/customers", {"externalId": "buyer"})
        assert status == 201
        stop = threading.Event()
        loader = threading.Thread(target=load, args=(served.url, stop, acked, sent, odd))
        loader.start()
        deadline = time.monotonic() + MAX_LOAD_S
        while len(acked) < KILL_AFTER_ACKS and time.monotonic() < deadline:
            time.sleep(0.01)
        served.kill()  # mid-stream: clients are still sending
        killed_with = len(acked)
        loader.join(30)
        stop.set()
    finally:
        served.kill()
    assert not odd, f"answers other than 200 under load: {odd[:3]}"
    assert killed_with >= 50, f"only {killed_with} sales acknowledged before the kill"
    assert len(sent) > len(acked)  # requests were in flight when the server died

    restarted = Served(args, workdir).start()
    try:
        snapshot = state(restarted.url)
        counts = collections.Counter(s["invoiceId"] for s in snapshot["sales"])
        assert not [inv for inv, n in counts.items() if n > 1], "an invoice was recorded twice"
        missing = sorted(set(acked) - set(counts))
        assert not missing, f"acknowledged sales lost by the crash: {missing[:10]}"
        assert set(counts) <= sent
        (buyer,) = snapshot["customers"]
        assert buyer["sales"] == len(snapshot["sales"])
        assert buyer["saleAmount"] == sum(s["amount"] for s in snapshot["sales"])

        # Re-sending any acknowledged sale replays the first answer and records nothing.
        for invoice, first_answer in acked.items():
            body = {"customerExternalId": "buyer", "amount": 1, "invoiceId": invoice}
            status, again = request(restarted.url, "POST", "/track/sale", body, headers=AUTH)
            assert status == 200 and again == json.loads(first_answer), invoice
        after = state(restarted.url)
        assert len(after["sales"]) == len(snapshot["sales"])
        assert after["customers"][0]["sales"] == buyer["sales"]
    finally:
        restarted.stop()
