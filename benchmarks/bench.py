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
ONLY_OPS = set(filter(None, os.environ.get("BENCH_OPS", "").split(",")))  # e.g. "lead,click"
FUNNEL_OPS = ("lead", "click")


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
    """A customer with a lead, a token whose rate limit cannot interfere, and the short link
    dub.sh/bench with one click (made through the admin API) that every benchmark lead names."""
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
    status, body = harness.http("POST", server.url + "/__mock/links", harness.BENCH_LINK)
    if status != 201:
        raise RuntimeError(f"{server.name}: seeding the link answered {status} {body!r}")
    click = {"id": harness.BENCH_CLICK_ID, "linkId": harness.BENCH_LINK["id"]}
    status, body = harness.http("POST", server.url + "/__mock/clicks", click)
    if status != 201:
        raise RuntimeError(f"{server.name}: seeding the click answered {status} {body!r}")


def reseed(server: Server) -> None:
    """The mock's state back to its start (`/__mock/reset`), then the bench's seed again."""
    status, body = harness.http("POST", server.url + "/__mock/reset", timeout=300)
    if status != 200:
        raise RuntimeError(f"{server.name}: reset answered {status} {body!r}")
    seed_mock(server)


def check_answers(server: Server, stamp: str) -> dict[str, Any]:
    """The requests wrk will send answer 2xx and, for the mock, record what they should."""
    return {
        "sale": check_sale(server, stamp),
        "lead": check_lead(server, stamp),
        "click": check_click(server, stamp),
    }


def check_sale(server: Server, stamp: str) -> dict[str, Any]:
    """A new invoice records a sale; the same invoice again answers the same bytes."""
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


def _counts(server: Server) -> dict[str, Any]:
    """The mock's records the funnel checks look at (the state is small before the load)."""
    status, body = harness.http("GET", server.url + "/__mock/state")
    if status != 200:
        raise RuntimeError(f"{server.name}: /__mock/state answered {status}")
    state = json.loads(body)
    link = next(r for r in state["links"] if r["id"] == harness.BENCH_LINK["id"])
    return {
        "leads": {(r["customerId"], r["clickId"]) for r in state["leads"]},
        "customers": {r["externalId"]: r["id"] for r in state["customers"]},
        "clicks": {r["id"]: r for r in state["clicks"]},
        "link": link,
    }


def _lead(server: Server, external_id: str) -> tuple[int, bytes]:
    body = {
        "clickId": harness.BENCH_CLICK_ID,
        "eventName": "Sign up",
        "customerExternalId": external_id,
    }
    auth = {"Authorization": f"Bearer {harness.BENCH_TOKEN}"}
    return harness.http("POST", server.url + "/track/lead", body, auth)


def check_lead(server: Server, stamp: str) -> dict[str, Any]:
    """lead.lua's requests: a new customerExternalId records a customer and a lead on the bench
    click's link; the same customer and event again records nothing more (Dub's dedup)."""
    before = _counts(server) if server.kind == "mock" else None
    new_id, fixed_id = f"check_new_{stamp}", f"check_fixed_{stamp}"
    answers = [_lead(server, new_id), _lead(server, fixed_id), _lead(server, fixed_id)]
    for status, body in answers:
        if not 200 <= status < 300:
            raise RuntimeError(f"{server.name} answered {status} to lead.lua's request: {body!r}")
    if before is not None:
        after = _counts(server)
        for external_id in (new_id, fixed_id):
            customer = after["customers"].get(external_id)
            if customer is None or (customer, harness.BENCH_CLICK_ID) not in after["leads"]:
                raise RuntimeError(f"{server.name}: no customer and lead for {external_id}")
        if len(after["leads"]) - len(before["leads"]) != 2:
            raise RuntimeError(f"{server.name}: the duplicate lead was recorded")
        if after["link"]["leads"] - before["link"]["leads"] != 2:
            raise RuntimeError(f"{server.name}: the link's lead count is off")
        first = json.loads(answers[0][1])
        if first["click"]["id"] != harness.BENCH_CLICK_ID or not first["link"]:
            raise RuntimeError(f"{server.name}: the lead's answer names another click or link")
    return {"status": answers[0][0], "body": answers[0][1].decode()[:400]}


def _click(server: Server, agent: str) -> tuple[int, bytes]:
    body = {"domain": harness.BENCH_LINK["domain"], "key": harness.BENCH_LINK["key"]}
    return harness.http("POST", server.url + "/track/click", body, {"User-Agent": agent})


def check_click(server: Server, stamp: str) -> dict[str, Any]:
    """click.lua's requests: each new User-Agent records a click on dub.sh/bench; the same
    visitor again answers the same clickId and records nothing."""
    before = _counts(server) if server.kind == "mock" else None
    answers = [
        _click(server, f"check/{stamp}/1"),
        _click(server, f"check/{stamp}/2"),
        _click(server, f"check/{stamp}/2"),
    ]
    for status, body in answers:
        if not 200 <= status < 300:
            raise RuntimeError(f"{server.name} answered {status} to click.lua's request: {body!r}")
    if before is not None:
        after = _counts(server)
        ids = [json.loads(body)["clickId"] for _, body in answers]
        if ids[0] == ids[1] or ids[1] != ids[2]:
            raise RuntimeError(f"{server.name}: click ids {ids}: new visitors or the repeat wrong")
        for click_id in ids[:2]:
            record = after["clicks"].get(click_id)
            if record is None or record["linkId"] != harness.BENCH_LINK["id"]:
                raise RuntimeError(f"{server.name}: click {click_id} was not recorded")
        if len(after["clicks"]) - len(before["clicks"]) != 2:
            raise RuntimeError(f"{server.name}: the repeat visitor's click was recorded")
        if after["link"]["clicks"] - before["link"]["clicks"] != 2:
            raise RuntimeError(f"{server.name}: the link's click count is off")
    return {"status": answers[0][0], "body": answers[0][1].decode()[:400]}


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
    servers: list[Server],
    op: str,
    mode: str,
    stamp: str,
    results: list[WrkResult],
    label: str,
) -> None:
    """Each mock back to its seeded start, each server warmed up, then ROUNDS rounds, the
    order rotated each round.

    The reset matters: a mock's state grows by every request of every group, and a bigger
    state answers slower (620,000 sales in one server took it from 17,200 to 14,400 sales a
    second). Without it each group ran on the state the groups before it left, so leads and
    clicks, measured after the sales, were compared with sales measured on a smaller state.
    """
    for s in servers:
        if s.kind == "mock":
            reseed(s)
    for s in servers:
        harness.run_wrk(
            s,
            mode,
            f"warm-{s.name}-{stamp}" if mode == "new" else f"fixed-{stamp}",
            duration=WARMUP,
            threads=THREADS,
            connections=CONNECTIONS,
            op=op,
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
                op=op,
            )
            results.append(res)
            flag = "" if res.valid else "  INVALID (>1% non-2xx)"
            print(
                f"  [{label}/{op}/{mode}] round {r + 1} {s.name:<14} {res.rps:>9.0f} req/s  "
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
    harness.write_spec()
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
            ("as users run them", "sale", "new", [mock, mock_sqlite, prism]),
            ("as users run them", "sale", "fixed", [mock, mock_sqlite, prism]),
            ("quiet", "sale", "new", [mock_q, prism_s, hello, waitress, threads]),
            ("quiet", "sale", "fixed", [mock_q, prism_s]),
        ]
        for op in FUNNEL_OPS:
            for mode in ("new", "fixed"):
                groups.append(("as users run them", op, mode, [mock, prism]))
                groups.append(("quiet", op, mode, [mock_q, prism_s]))
        for label, op, mode, servers in groups:
            chosen = [s for s in servers if s in wanted]
            if chosen and not (ONLY_OPS and op not in ONLY_OPS):
                run_group(chosen, op, mode, stamp, results, label)
        spy = spy_sqlite = None
        spy_funnel: dict[str, Any] = {}
        if mock_q in wanted:
            print("profiling the mock under load (py-spy)", flush=True)
            spy = profiling.pyspy_under_load(mock_q, stamp, PROFILE_SECONDS, THREADS, CONNECTIONS)
            for op in FUNNEL_OPS:
                if ONLY_OPS and op not in ONLY_OPS:
                    continue
                print(f"profiling the mock under load, new {op}s (py-spy)", flush=True)
                spy_funnel[op] = profiling.pyspy_under_load(
                    mock_q, stamp, PROFILE_SECONDS, THREADS, CONNECTIONS, op=op
                )
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
    cprofile_funnel: dict[str, Any] = {}
    if not ONLY or "mock" in ONLY:
        print("in-process cost", flush=True)
        inprocess = _run_json([str(harness.HERE / "inprocess.py")], "inprocess.json")
        print("in-process profile (cProfile)", flush=True)
        cprofile = _run_json([str(harness.HERE / "profiling.py")], "cprofile.json")
        for op in FUNNEL_OPS:
            print(f"in-process profile of new {op}s (cProfile)", flush=True)
            cprofile_funnel[op] = _run_json(
                [str(harness.HERE / "profiling.py"), "--op", op], f"cprofile-{op}.json"
            )
        print(f"RSS after {MEMORY_SALES} sales", flush=True)
        memory = measure_memory(stamp)

    facts["loadavg_at_end"] = os.getloadavg()
    data = {
        "partial": bool(ONLY or SKIP or ONLY_OPS),
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
        "pyspy_funnel": spy_funnel,
        "cprofile": cprofile,
        "cprofile_funnel": cprofile_funnel,
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
