"""`make bench`: dub-mock against Stoplight Prism 5 and the hello-world limit, in one run.

Starts every server on a free port, seeds the mock, checks that each answers 2xx to the exact
request wrk will send, then drives them with wrk, alternating servers round by round so that
drift on this shared machine hits all of them alike. Then the in-process cost, the RSS after
100,000 sales and a profile under load. Raw figures go to benchmarks/out/results.json; report.py
turns them into RESULTS.md and the chart.

    .venv/bin/python benchmarks/bench.py            # what benchmarks/run.sh runs
    BENCH_DURATION=3 BENCH_ROUNDS=1 .venv/bin/python benchmarks/bench.py   # a quick look
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
import profiling
import report
from harness import OUT, PRISM, ROOT, SPEC, VENV_BIN, Server, WrkResult

DURATION = float(os.environ.get("BENCH_DURATION", "8"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "50"))
MEMORY_SALES = int(os.environ.get("BENCH_MEMORY_SALES", "100000"))
PROFILE_SECONDS = float(os.environ.get("BENCH_PROFILE_SECONDS", "6"))
QUIET_WAIT = float(os.environ.get("BENCH_QUIET_WAIT", "180"))
QUIET_LOAD = float(os.environ.get("BENCH_QUIET_LOAD", "1.5"))
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))  # e.g. "prism,hello"
SKIP = set(filter(None, os.environ.get("BENCH_SKIP", "").split(",")))  # e.g. "dub-mock-sqlite"


def wsgi_variant() -> Server:
    """The quiet app on granian's WSGI interface with cores + 1 Python threads: how serve ran
    before its RSGI front (no protection against stalled uploads or cut bodies)."""
    threads = (os.cpu_count() or 1) + 1
    port = harness.free_port()
    argv = [str(VENV_BIN / "granian"), *WSGI_FLAGS, "--blocking-threads", str(threads)]
    argv += ["--host", "127.0.0.1", "--port", str(port), "mockserver.wsgi:app"]
    env = {"DUB_MOCK_QUIET": "True", "DUB_MOCK_STATE": "memory://"}
    return Server(f"dub-mock-wsgi-{threads}-thread", argv, "mock", port=port, env=env)


COMMON_FLAGS = ["--workers", "1", "--log-level", "error", "--no-access-log", "--no-ws"]
WSGI_FLAGS = ["--interface", "wsgi", *COMMON_FLAGS]
#: What `dub-mock serve` gives granian (mockserver/cli.py): RSGI on uvloop, one worker.
SERVE_FLAGS = ["--interface", "rsgi", "--loop", "uvloop", *COMMON_FLAGS]


def mock_server(name: str, *flags: str) -> Server:
    port = harness.free_port()
    argv = [str(VENV_BIN / "dub-mock"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return Server(name, [*argv, *flags], "mock", port=port)


def prism_server(name: str, *flags: str) -> Server:
    port = harness.free_port()
    argv = [str(PRISM), "mock", *flags, "-h", "127.0.0.1", "-p", str(port), str(SPEC)]
    return Server(name, argv, "prism", port=port)


def hello_server() -> Server:
    port = harness.free_port()
    argv = [
        str(VENV_BIN / "granian"),
        *SERVE_FLAGS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    argv.append("hello_rsgi:app")
    return Server("hello-world", argv, "hello", cwd=harness.HERE, port=port)


def waitress_mock() -> Server:
    """The same app on waitress (defaults), the server MockServer uses: why serve uses granian."""
    port = harness.free_port()
    argv = [str(VENV_BIN / "waitress-serve"), f"--listen=127.0.0.1:{port}", "mockserver.wsgi:app"]
    env = {"DUB_MOCK_QUIET": "True", "DUB_MOCK_STATE": "memory://"}
    return Server("dub-mock-waitress", argv, "mock", port=port, env=env)


def seed_mock(server: Server) -> None:
    """A customer with a lead, and a token whose rate limit cannot interfere."""
    status, body = harness.http(
        "POST", server.url + "/__mock/customers", {"externalId": harness.BENCH_CUSTOMER}
    )
    if status != 201:
        raise RuntimeError(f"{server.name}: seeding the customer answered {status} {body!r}")
    token = {
        "token": harness.BENCH_TOKEN,
        "workspaceId": "ws_mock",
        "rateLimitPerMinute": 100_000_000,
    }
    status, body = harness.http("POST", server.url + "/__mock/tokens", token)
    if status != 201:
        raise RuntimeError(f"{server.name}: seeding the token answered {status} {body!r}")


def check_answers(server: Server, stamp: str) -> dict[str, Any]:
    """The request wrk will send answers 2xx (for the mock: a recorded sale, replayed alike)."""
    auth = {"Authorization": f"Bearer {harness.BENCH_TOKEN}"}
    url = server.url + harness.SALE_PATH
    s1, b1 = harness.http("POST", url, harness.sale_body(f"check-{stamp}"), auth)
    s2, b2 = harness.http("POST", url, harness.sale_body(f"check-{stamp}"), auth)
    if not (200 <= s1 < 300 and 200 <= s2 < 300):
        raise RuntimeError(f"{server.name} answered {s1} / {s2} to the benchmark request: {b1!r}")
    if server.kind == "mock":
        first = json.loads(b1)
        if not first.get("sale") or not first.get("customer"):
            raise RuntimeError(f"{server.name} recorded no sale: {b1!r}")
        if b1 != b2:
            raise RuntimeError(f"{server.name}: the replayed invoice answered differently")
    return {"status": s1, "body": b1.decode()[:400]}


def machine_facts() -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": os.getloadavg(),
        "node": harness.tool_version(["node", "--version"]),
        "prism": harness.tool_version([str(PRISM), "--version"]),
        "wrk": harness.wrk_version(),
        "granian": harness.tool_version([str(VENV_BIN / "granian"), "--version"]),
        "werkzeug": _pkg_version("werkzeug"),
        "dub_mock": _pkg_version("dub-mock"),
        "git_commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip(),
    }


def _pkg_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "missing"


def run_group(
    servers: list[Server], mode: str, stamp: str, results: list[WrkResult], label: str
) -> None:
    """Warm each server up, then ROUNDS rounds, the order rotated each round."""
    for s in servers:
        harness.run_wrk(
            s,
            mode,
            f"warm-{s.name}-{stamp}" if mode == "new" else f"fixed-{stamp}",
            duration=WARMUP,
            threads=THREADS,
            connections=CONNECTIONS,
        )
    for r in range(ROUNDS):
        k = r % len(servers)
        for s in servers[k:] + servers[:k]:
            run_id = f"{s.name}-{r}-{stamp}" if mode == "new" else f"fixed-{stamp}"
            res = harness.run_wrk(
                s,
                mode,
                run_id,
                duration=DURATION,
                threads=THREADS,
                connections=CONNECTIONS,
                round_no=r,
            )
            results.append(res)
            flag = "" if res.valid else "  INVALID (>1% non-2xx)"
            print(
                f"  [{label}/{mode}] round {r + 1} {s.name:<14} {res.rps:>9.0f} req/s  "
                f"p50 {res.p50_ms:6.2f} ms  p99 {res.p99_ms:7.2f} ms  "
                f"non-2xx {res.non_2xx}{flag}",
                flush=True,
            )


def measure_memory(stamp: str) -> dict[str, Any]:
    """RSS of a fresh `dub-mock serve` (memory://) before and after MEMORY_SALES new sales."""
    server = mock_server("mock-memory", "--state", "memory://")
    server.start()
    try:
        seed_mock(server)
        check_answers(server, stamp)
        before = server.rss_kib()
        per_thread = -(-MEMORY_SALES // THREADS)
        res = harness.run_wrk(
            server,
            "new",
            f"mem-{stamp}",
            duration=300,
            threads=THREADS,
            connections=CONNECTIONS,
            limit_per_thread=per_thread,
        )
        time.sleep(1.0)
        after = server.rss_kib()
        status, body = harness.http("GET", server.url + "/__mock/state", timeout=120)
        sales = len(json.loads(body).get("sales", [])) if status == 200 else None
    finally:
        server.stop()
    return {
        "command": server.command,
        "wrk": res.to_dict(),
        "sales_recorded": sales,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "rss_before_mib": sum(before.values()) / 1024,
        "rss_after_mib": sum(after.values()) / 1024,
    }


def main() -> int:
    OUT.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d%H%M%S")
    db = OUT / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    print(f"waiting up to {QUIET_WAIT:.0f} s for a load average below {QUIET_LOAD}", flush=True)
    waited, load = harness.wait_for_quiet(QUIET_WAIT, QUIET_LOAD)
    print(f"  waited {waited:.0f} s; load average now {load:.2f}", flush=True)
    started = time.time()
    facts = machine_facts()
    print(f"machine: {facts}", flush=True)

    mock = mock_server("dub-mock", "--state", "memory://")
    mock_sqlite = mock_server("dub-mock-sqlite", "--state", f"sqlite:///{db}")
    prism = prism_server("prism")
    mock_q = mock_server("dub-mock-quiet", "--state", "memory://", "--quiet")
    prism_s = prism_server("prism-silent", "-v", "silent")
    hello = hello_server()
    waitress = waitress_mock()
    threads = wsgi_variant()
    everything = [mock, mock_sqlite, prism, mock_q, prism_s, hello, waitress, threads]
    wanted = [
        s
        for s in everything
        if (not ONLY or s.kind in ONLY or s.name in ONLY) and s.name not in SKIP
    ]

    results: list[WrkResult] = []
    checks: dict[str, Any] = {}
    failed: dict[str, Any] = {}
    try:
        for s in list(wanted):
            try:
                s.start()
                if s.kind == "mock":
                    seed_mock(s)
                checks[s.name] = check_answers(s, stamp)
            except RuntimeError as exc:
                # measured and reported as such, so the rest of the run still counts
                s.stop()
                wanted.remove(s)
                log = s.log_path.read_text()[-600:] if s.log_path and s.log_path.exists() else ""
                failed[s.name] = {"command": s.command, "error": str(exc), "log": log}
                print(f"FAILED {s.name}: {exc}\n{log}", flush=True)
                continue
            print(f"started {s.name}: {s.command}", flush=True)
        groups = [
            ("as users run them", "new", [mock, mock_sqlite, prism]),
            ("as users run them", "fixed", [mock, mock_sqlite, prism]),
            ("quiet", "new", [mock_q, prism_s, hello, waitress, threads]),
            ("quiet", "fixed", [mock_q, prism_s]),
        ]
        for label, mode, servers in groups:
            chosen = [s for s in servers if s in wanted]
            if chosen:
                run_group(chosen, mode, stamp, results, label)
        spy = spy_sqlite = None
        if mock_q in wanted:
            print("profiling the mock under load (py-spy)", flush=True)
            spy = profiling.pyspy_under_load(mock_q, stamp, PROFILE_SECONDS, THREADS, CONNECTIONS)
        if mock_sqlite in wanted:
            print("profiling the SQLite mock under load (py-spy)", flush=True)
            spy_sqlite = profiling.pyspy_under_load(
                mock_sqlite, stamp, PROFILE_SECONDS, THREADS, CONNECTIONS, gil=False
            )
    finally:
        for s in wanted:
            s.stop()

    memory = None
    inprocess = None
    cprofile = None
    if not ONLY or "mock" in ONLY:
        print("in-process cost", flush=True)
        inprocess = _run_json([str(harness.HERE / "inprocess.py")], "inprocess.json")
        print("in-process profile (cProfile)", flush=True)
        cprofile = _run_json([str(harness.HERE / "profiling.py")], "cprofile.json")
        print(f"RSS after {MEMORY_SALES} sales", flush=True)
        memory = measure_memory(stamp)

    facts["loadavg_at_end"] = os.getloadavg()
    data = {
        "partial": bool(ONLY or SKIP),
        "stamp": stamp,
        "elapsed_s": round(time.time() - started, 1),
        "settings": {
            "duration_s": DURATION,
            "warmup_s": WARMUP,
            "rounds": ROUNDS,
            "threads": THREADS,
            "connections": CONNECTIONS,
            "serve_interface": "rsgi",
            "serve_loop": "uvloop",
        },
        "machine": facts,
        "servers": {s.name: s.command for s in wanted},
        "checks": checks,
        "failed": failed,
        "runs": [r.to_dict() for r in results],
        "memory": memory,
        "inprocess": inprocess,
        "pyspy": spy,
        "pyspy_sqlite": spy_sqlite,
        "cprofile": cprofile,
    }
    (OUT / "results.json").write_text(json.dumps(data, indent=2))
    print(f"raw results: {OUT / 'results.json'}", flush=True)
    report.write(data)
    return 0


def _run_json(argv: list[str], name: str) -> Any:
    target = OUT / name
    target.unlink(missing_ok=True)
    subprocess.run([sys.executable, *argv, "--json", str(target)], check=True, cwd=ROOT)
    return json.loads(target.read_text())


if __name__ == "__main__":
    raise SystemExit(main())
