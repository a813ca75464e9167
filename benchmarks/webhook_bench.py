"""Sale throughput with one webhook endpoint registered against none, and every event delivered.

    .venv/bin/python benchmarks/webhook_bench.py           # print the figures
    .venv/bin/python benchmarks/webhook_bench.py --write   # and put them in RESULTS.md and README

Target (issue 10): with one endpoint registered (a fast local receiver), `dub-mock serve`'s sale
throughput stays at least 70% of what it is with none, and every sale's event arrives.

Two `dub-mock serve --quiet` (memory state), one started with `--webhook` pointing at
`webhook_receiver.py` (a minimal uvloop HTTP server that answers 200 at once and counts distinct
event ids), are driven by wrk as in bench.py (a new sale per request, 2 threads, 50
connections), the servers alternating round by round. Before each run the server is reset and
seeded and one sale checks the path end to end (its event arrives, its signature verifies).
After each run with the endpoint, the benchmark waits (bounded) until the receiver holds as many
distinct `sale.created` ids as the mock recorded sales (`/__mock/state`), and reports how long
that took after the load stopped (the drain), the delivery attempts that failed, and the
events that never arrived.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
import profiling
from harness import Server, WrkResult
from sections import splice

from mockserver.webhooks import verify

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
FIGURES = harness.OUT / "webhooks.json"
ANALYSIS = HERE / "analysis-webhooks.md"
"""Read by hand after a run: the target's measured cause and what would lift it."""
BEGIN, END = "<!-- webhooks:begin -->", "<!-- webhooks:end -->"
TARGET = 0.70
SECRET = "whsec_00000000000000000000000000bench0"
DURATION = float(os.environ.get("BENCH_DURATION", "8"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "2"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "50"))
QUIET_WAIT = float(os.environ.get("BENCH_QUIET_WAIT", "180"))
QUIET_LOAD = float(os.environ.get("BENCH_QUIET_LOAD", "1.5"))
DRAIN_MAX = float(os.environ.get("BENCH_WEBHOOK_DRAIN", "180"))
"""Longest wait, after a run, for every sale's event to reach the receiver."""
PROFILE_SECONDS = float(os.environ.get("BENCH_PROFILE_SECONDS", "6"))


class Receiver:
    """webhook_receiver.py in a process of its own; its counters over HTTP."""

    def __init__(self) -> None:
        port = harness.free_port()
        argv = [str(harness.VENV_BIN / "python"), str(HERE / "webhook_receiver.py")]
        argv += ["--port", str(port)]
        self.server = Server("webhook-receiver", argv, "receiver", port=port)
        self.url = f"{self.server.url}/webhooks/dub"

    def stats(self) -> dict[str, Any]:
        status, body = harness.http("GET", self.server.url + "/stats")
        if status != 200:
            raise RuntimeError(f"the receiver answered {status}")
        result: dict[str, Any] = json.loads(body)
        return result

    def reset(self) -> None:
        harness.http("POST", self.server.url + "/reset")

    def wait_for(self, count: int, deadline: float) -> dict[str, Any]:
        """Poll until `count` distinct events arrived or the deadline passed; the last stats."""
        while True:
            stats = self.stats()
            if stats["distinct"] >= count or time.time() >= deadline:
                return stats
            time.sleep(0.1)

    def wait_still(self, quiet_s: float, deadline: float) -> dict[str, Any]:
        """Poll until nothing new arrived for `quiet_s` (or the deadline): a finished drain."""
        last, since = -1, time.time()
        while True:
            stats = self.stats()
            if stats["requests"] != last:
                last, since = stats["requests"], time.time()
            elif time.time() - since >= quiet_s or time.time() >= deadline:
                return stats
            time.sleep(0.1)


def prepare(server: Server) -> None:
    """Back to the start state (the --webhook endpoint stays), then the bench's seed."""
    status, body = harness.http("POST", server.url + "/__mock/reset")
    if status != 200:
        raise RuntimeError(f"{server.name}: reset answered {status} {body!r}")
    status, body = harness.http(
        "POST", server.url + "/__mock/customers", {"externalId": harness.BENCH_CUSTOMER}
    )
    if status != 201:
        raise RuntimeError(f"{server.name}: seeding the customer answered {status} {body!r}")
    token = {"token": harness.BENCH_TOKEN, "rateLimitPerMinute": 100_000_000}
    status, body = harness.http("POST", server.url + "/__mock/tokens", token)
    if status != 201:
        raise RuntimeError(f"{server.name}: seeding the token answered {status} {body!r}")


def check_sale(server: Server, receiver: Receiver | None, stamp: str) -> None:
    """One sale as wrk sends it: recorded; with the endpoint, its event arrives, signed."""
    auth = {"Authorization": f"Bearer {harness.BENCH_TOKEN}"}
    status, body = harness.http(
        "POST", server.url + harness.SALE_PATH, harness.sale_body(f"check-{stamp}"), auth
    )
    if status != 200 or not json.loads(body).get("sale"):
        raise RuntimeError(f"{server.name}: the check sale answered {status} {body!r}")
    if receiver is None:
        return
    stats = receiver.wait_for(1, time.time() + 10)
    sample = stats["sample"]
    if stats["distinct"] != 1 or sample is None:
        raise RuntimeError(f"{server.name}: the check sale's event did not arrive: {stats}")
    if not verify(sample["body"].encode(), sample["signature"], SECRET):
        raise RuntimeError(f"{server.name}: the event's Dub-Signature does not verify")
    if json.loads(sample["body"])["event"] != "sale.created":
        raise RuntimeError(f"{server.name}: the check sale's event is {sample['body'][:200]}")


def recorded_sales(server: Server) -> int:
    status, body = harness.http("GET", server.url + "/__mock/state", timeout=300)
    if status != 200:
        raise RuntimeError(f"{server.name}: /__mock/state answered {status}")
    return len(json.loads(body)["sales"])


def delivery_log(server: Server) -> dict[str, Any]:
    """Failed attempts in the mock's delivery log (its newest 10,000) and the endpoint's state."""
    status, body = harness.http("GET", server.url + "/__mock/webhooks/deliveries", timeout=120)
    attempts = json.loads(body) if status == 200 else []
    failed = [a for a in attempts if not a["ok"]]
    status, body = harness.http("GET", server.url + "/__mock/webhooks")
    endpoint = json.loads(body)[0] if status == 200 and json.loads(body) else {}
    return {
        "logged_attempts": len(attempts),
        "failed_attempts": len(failed),
        "failures": sorted({a.get("error") or "?" for a in failed})[:5],
        "retried_attempts": sum(1 for a in attempts if a["attempt"] > 1),
        "consecutive_failures": endpoint.get("consecutiveFailures"),
        "disabled": endpoint.get("disabled"),
        "delivery_ms_p50": harness.median([a["durationMs"] for a in attempts]),
    }


def one_run(server: Server, receiver: Receiver | None, round_no: int, stamp: str) -> dict[str, Any]:
    prepare(server)
    if receiver is not None:
        receiver.reset()
    check_sale(server, receiver, f"{stamp}-{round_no}")
    receiver_pids = receiver.server.pids() if receiver else []
    receiver_cpu = harness.cpu_seconds(receiver_pids)
    run_id = f"{server.name}-{round_no}-{stamp}"
    result: WrkResult = harness.run_wrk(
        server, "new", run_id, duration=DURATION, threads=THREADS, connections=CONNECTIONS,
        round_no=round_no,
    )  # fmt: skip
    ended = time.time()
    if not result.valid or result.socket_errors:
        raise RuntimeError(f"{server.name}: errors under load: {result}")
    row: dict[str, Any] = {
        "round": round_no,
        "server": server.name,
        "webhook": receiver is not None,
        "rps": result.rps,
        "requests": result.requests,
        "p99_ms": result.p99_ms,
        "cpu_us": result.cpu_us_per_request,
        "load": result.loadavg_before,
    }
    if receiver is None:
        return row
    row["receiver_cpu_us"] = (
        1e6 * (harness.cpu_seconds(receiver_pids) - receiver_cpu) / max(1, result.requests)
    )
    during = receiver.stats()["distinct"]
    server_cpu = harness.cpu_seconds(server.pids())
    deadline = ended + DRAIN_MAX
    # wrk counts the answers it read; the mock may have recorded a few more in flight at the end
    drained = receiver.wait_for(result.requests + 1, deadline)["distinct"]
    drain_cpu = harness.cpu_seconds(server.pids()) - server_cpu
    recorded = recorded_sales(server)
    stats = receiver.wait_for(recorded, deadline)
    last = stats["lastNewAt"] or ended
    row.update(
        recorded=recorded,
        arrived=stats["distinct"],
        sale_events=stats["byEvent"].get("sale.created", 0),
        requests_received=stats["requests"],
        delivered_during_run=during,
        drain_s=max(0.0, last - ended) if stats["distinct"] >= recorded else None,
        drain_cpu_us=1e6 * drain_cpu / max(1, drained - during),
        **delivery_log(server),
    )
    # anything still in flight lands now, not in the next run's counts
    receiver.wait_still(1.0, time.time() + 30)
    return row


#: py-spy thread names of the worker, grouped: whose time the GIL went to.
THREAD_GROUPS = (
    ("dub-mock-webhook", "webhook sender threads"),
    ("dub-mock-deliverer", "deliverer thread"),
    ("MainThread", "event loop (the requests, and the webhook senders beside them)"),
)


def profile_under_load(server: Server, receiver: Receiver | None, stamp: str) -> dict[str, Any]:
    """py-spy on a server while wrk sends new sales: which threads hold the worker's GIL
    (`--gil --threads`), and the functions inside each group of threads."""
    prepare(server)
    if receiver is not None:
        receiver.reset()
    out = harness.OUT / f"pyspy-{server.name}.txt"
    out.unlink(missing_ok=True)
    box: dict[str, WrkResult] = {}

    def load() -> None:
        box["wrk"] = harness.run_wrk(
            server, "new", f"spy-{stamp}", duration=PROFILE_SECONDS + 3, threads=THREADS,
            connections=CONNECTIONS,
        )  # fmt: skip

    thread = threading.Thread(target=load)
    thread.start()
    time.sleep(1.5)
    rate = 250
    spy = [
        str(harness.VENV_BIN / "py-spy"), "record", "--subprocesses", "--gil", "--threads",
        "--rate", str(rate), "--duration", str(int(PROFILE_SECONDS)), "--format", "raw",
        "--output", str(out), "--pid", str(server.proc.pid if server.proc else 0),
    ]  # fmt: skip
    proc = subprocess.run(spy, capture_output=True, text=True, check=False)
    thread.join()
    if receiver is not None:
        receiver.wait_still(1.0, time.time() + DRAIN_MAX)
    if not out.exists():
        return {"error": (proc.stdout + proc.stderr)[-1000:]}
    groups: Counter[str] = Counter()
    own: dict[str, Counter[str]] = {}
    inclusive: Counter[str] = Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not count_s.isdigit():
            continue
        count = int(count_s)
        frames = [f for f in stack.split(";") if f]
        name = next((f for f in frames if f.startswith("thread (")), "")
        if "MPServer._spawn_rsgi_worker" not in stack and "dub-mock-" not in name:
            continue  # granian's supervisor process, idle
        total += count
        group = next((label for key, label in THREAD_GROUPS if key in name), "other threads")
        groups[group] += count
        leaf = profiling.frame_key(frames[-1]) if "(" in frames[-1] else frames[-1]
        own.setdefault(group, Counter())[leaf] += count
        for key in {profiling.frame_key(f) for f in frames if " (" in f}:
            inclusive[key] += count
    watched = (
        "outbox.py:Outbox.emit", "loop_delivery.py:LoopDeliverer._attempt",
        "loop_delivery.py:LoopDeliverer._post", "http1.py:Connection.post",
        "http1.py:_Reader._advance",
        "attempts.py:claim", "attempts.py:finish", "signing.py:sign",
    )  # fmt: skip
    wrk = box.get("wrk")
    return {
        "command": " ".join([*spy[:-1], "$PID"]).replace(str(harness.ROOT) + "/", ""),
        "samples": total,
        "possible": int(rate * PROFILE_SECONDS),
        "wrk_rps": wrk.rps if wrk else None,
        "groups": {g: n / total for g, n in groups.most_common()} if total else {},
        "top": {
            g: [(k, n / total) for k, n in c.most_common(6)] for g, c in own.items()
        } if total else {},
        "inclusive": {
            k: inclusive[k] / total
            for k in sorted(inclusive, key=lambda k: -inclusive[k])
            if k.endswith(watched)
        } if total else {},
    }  # fmt: skip


def request_path_cost(sales: int = 20_000) -> dict[str, float]:
    """In-process p50 of a new sale with no endpoint and with one whose deliveries are never
    sent (the deliverer is not started in this process): what the outbox adds to a request."""
    import inprocess

    from mockserver.webhooks import delivery

    original = delivery.Deliverer.start
    delivery.Deliverer.start = lambda self: None  # type: ignore[method-assign]
    try:
        apps = {}
        for hooked in (False, True):
            app = profiling.funnel_app()
            if hooked:
                body = json.dumps({"url": "http://127.0.0.1:9/never"}).encode()
                status, answer = inprocess.call(
                    app, inprocess.environ_for(body, "/__mock/webhooks")
                )
                if not status.startswith("201"):
                    raise RuntimeError(f"registering the endpoint answered {status} {answer!r}")
            apps[hooked] = app
        times: dict[bool, list[float]] = {False: [], True: []}
        for round_no in range(3):  # alternating, so drift hits both alike
            for hooked, app in apps.items():
                envs = profiling.funnel_environs("sale", sales, f"cost{round_no}")
                spent = []
                for env in envs:
                    started = time.perf_counter_ns()
                    status, answer = inprocess.call(app, env)
                    spent.append(time.perf_counter_ns() - started)
                    if not status.startswith("200"):
                        raise RuntimeError(f"sale answered {status} {answer[:200]!r}")
                times[hooked].append(sorted(spent)[sales // 2] / 1000)
    finally:
        delivery.Deliverer.start = original  # type: ignore[method-assign]
    none, one = harness.median(times[False]), harness.median(times[True])
    return {"none_us": none, "one_us": one, "added_us": one - none}


def run() -> dict[str, Any]:
    waited, load = harness.wait_for_quiet(QUIET_WAIT, QUIET_LOAD)
    print(f"waited {waited:.0f} s for a quiet machine; load average {load:.2f}", flush=True)
    stamp = time.strftime("%Y%m%d%H%M%S")
    receiver = Receiver()

    def serve(name: str, *flags: str) -> Server:
        port = harness.free_port()
        argv = [str(harness.VENV_BIN / "dub-mock"), "serve", "--quiet", "--host", "127.0.0.1"]
        return Server(name, [*argv, "--port", str(port), *flags], "mock", port=port)

    plain = serve("dub-mock-quiet")
    hooked = serve("dub-mock-quiet-webhook", "--webhook", receiver.url, "--webhook-secret", SECRET)
    servers = [receiver.server, plain, hooked]
    rows: list[dict[str, Any]] = []
    try:
        for server in servers:
            server.start()
        for server in (plain, hooked):
            prepare(server)
            harness.run_wrk(
                server, "new", f"warm-{server.name}-{stamp}", duration=WARMUP, threads=THREADS,
                connections=CONNECTIONS,
            )  # fmt: skip
        receiver.wait_still(1.0, time.time() + DRAIN_MAX)
        for round_no in range(1, ROUNDS + 1):
            order = (plain, hooked) if round_no % 2 else (hooked, plain)
            for server in order:
                row = one_run(server, receiver if server is hooked else None, round_no, stamp)
                rows.append(row)
                print(describe(row), flush=True)
        print("profiling both servers under load (py-spy)", flush=True)
        spy_plain = profile_under_load(plain, None, stamp)
        spy = profile_under_load(hooked, receiver, stamp)
    finally:
        for server in servers:
            server.stop()
    print("in-process: a sale's own cost with one endpoint", flush=True)
    cost = request_path_cost()
    none = harness.median([r["rps"] for r in rows if not r["webhook"]])
    one = harness.median([r["rps"] for r in rows if r["webhook"]])
    hooked_rows = [r for r in rows if r["webhook"]]
    return {
        "stamp": stamp,
        "rounds": rows,
        "none": none,
        "one": one,
        "ratio": one / none if none else float("nan"),
        "all_arrived": all(r["arrived"] >= r["recorded"] for r in hooked_rows),
        "drain_s": harness.median([r["drain_s"] for r in hooked_rows if r["drain_s"] is not None]),
        "failed_attempts": sum(r["failed_attempts"] for r in hooked_rows),
        "load": load,
        "load_at_end": os.getloadavg()[0],
        "pyspy": spy,
        "pyspy_plain": spy_plain,
        "request_path": cost,
        "commands": {s.name: s.command for s in servers},
        "settings": {"duration_s": DURATION, "rounds": ROUNDS, "threads": THREADS,
                     "connections": CONNECTIONS, "drain_max_s": DRAIN_MAX},
    }  # fmt: skip


def describe(row: dict[str, Any]) -> str:
    text = (
        f"round {row['round']}, {row['server']}: {row['rps']:,.0f} sales/s, "
        f"p99 {row['p99_ms']:.1f} ms, server CPU {row['cpu_us']:.0f} µs/sale"
    )
    if row["webhook"]:
        drain = "not drained" if row["drain_s"] is None else f"drained {row['drain_s']:.1f} s"
        text += (
            f"; {row['arrived']:,}/{row['recorded']:,} events arrived "
            f"({row['delivered_during_run']:,} during the run), {drain} after the load, "
            f"{row['failed_attempts']} failed attempts"
        )
    return text


def report(figures: dict[str, Any]) -> str:
    ratio = figures["ratio"]
    met = ratio >= TARGET and figures["all_arrived"]
    settings = figures["settings"]
    lines = [
        "## Webhooks: sale throughput with one endpoint",
        "",
        f"`benchmarks/webhook_bench.py` ({figures['stamp']} UTC): two `dub-mock serve --quiet` "
        "(memory state), one with `--webhook` pointing at `benchmarks/webhook_receiver.py` (a "
        "uvloop HTTP server on the same machine that answers 200 at once and counts distinct "
        f"event ids); wrk with {settings['threads']} threads and {settings['connections']} "
        f"connections, a new sale per request, {settings['duration_s']:g} s runs, "
        f"{settings['rounds']} rounds, the two servers alternating (load average "
        f"{figures['load']:.1f} at the start; {os.cpu_count()} cores shared by the server, wrk "
        "and the receiver). Before each run the server is reset and seeded, and one sale "
        "checks the path end to end: its event arrives and its `Dub-Signature` verifies. "
        "After each run with the endpoint, the bench waits (at most "
        f"{settings['drain_max_s']:g} s) until the receiver holds as many distinct "
        "`sale.created` ids as `/__mock/state` lists sales.",
        "",
        "| round | endpoint | sales/s | p99 ms | server CPU µs/sale | sales recorded "
        "| events arrived | of them during the run | drain after the load | failed attempts |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in figures["rounds"]:
        if r["webhook"]:
            drain = "**not drained**" if r["drain_s"] is None else f"{r['drain_s']:.1f} s"
            tail = (
                f"{r['recorded']:,} | {r['arrived']:,} | {r['delivered_during_run']:,} | "
                f"{drain} | {r['failed_attempts']} |"
            )
        else:
            tail = "\u2013 | \u2013 | \u2013 | \u2013 | \u2013 |"
        lines.append(
            f"| {r['round']} | {'one' if r['webhook'] else 'none'} | {r['rps']:,.0f} | "
            f"{r['p99_ms']:.1f} | {r['cpu_us']:.0f} | {tail}"
        )
    hooked = [r for r in figures["rounds"] if r["webhook"]]
    drain_rates = [
        (r["recorded"] - r["delivered_during_run"]) / r["drain_s"] for r in hooked if r["drain_s"]
    ]
    during_rates = [r["delivered_during_run"] / settings["duration_s"] for r in hooked]
    # sales whose events had all arrived, per second of the run and its drain together
    cycle_rates = [
        r["recorded"] / (settings["duration_s"] + r["drain_s"]) for r in hooked if r["drain_s"]
    ]
    cycle = harness.median(cycle_rates) if cycle_rates else float("nan")
    lines += [
        "",
        f"Median: {figures['none']:,.0f} sales/s with no endpoint, {figures['one']:,.0f} with "
        f"one: **{ratio:.0%}** (target ≥ {TARGET:.0%}); every sale's event arrived: "
        f"**{'yes' if figures['all_arrived'] else 'no'}** (target: yes). Overall: "
        f"{'met' if met else '**not met**'}.",
        "",
        f"- Drain: the last event arrived a median {figures['drain_s']:.1f} s after the load "
        "stopped. The API comes first: a worker with 8 or more requests in progress sends one "
        "delivery at a time, at most one every 10 ms, so during the runs the deliverer sent a "
        "median "
        f"{harness.median(during_rates):,.0f} events a second, and once the load stopped, "
        f"{harness.median(drain_rates):,.0f} a second. Counting the drain, a median "
        f"{cycle:,.0f} sales a second had their event delivered by the end "
        f"({cycle / figures['none']:.0%} of the sales a second with no endpoint).",
        "- Delivery attempts that failed: "
        f"{figures['failed_attempts']} (the `ok: false` attempts in the mock's delivery log, "
        "which keeps the newest 10,000 of each run; "
        f"{sum(r['requests_received'] - r['arrived'] for r in hooked)} deliveries reached the "
        "receiver more than once; the endpoint's `consecutiveFailures` at the end of each run: "
        f"{', '.join(str(r['consecutive_failures']) for r in hooked)}).",
        "- The receiver's own CPU: a median "
        f"{harness.median([r['receiver_cpu_us'] for r in hooked]):.0f} µs per sale during the "
        "runs; the mock's CPU per event delivered after the load (claiming, sending, logging): "
        f"{harness.median([r['drain_cpu_us'] for r in hooked]):.0f} µs.",
        "- Servers: "
        + "; ".join(f"{name}: `{cmd}`" for name, cmd in figures["commands"].items())
        + ". Raw figures: `benchmarks/out/webhooks.json` (not committed).",
    ]
    lines += where_the_time_goes(figures)
    if ANALYSIS.exists():
        lines += ["", ANALYSIS.read_text().strip()]
    return "\n".join(lines)


def where_the_time_goes(figures: dict[str, Any]) -> list[str]:
    """The request path's added cost (in-process) and the worker's threads under load."""
    lines = ["", "### Where the time goes", ""]
    cost = figures.get("request_path")
    if cost:
        lines += [
            f"- **On the request's path.** In-process (`request_path_cost`: the WSGI app called "
            "directly, the deliverer not started, so nothing is sent), a new sale costs "
            f"{cost['none_us']:.1f} µs (p50) with no endpoint and {cost['one_us']:.1f} µs with "
            f"one: the outbox adds **{cost['added_us']:.1f} µs "
            f"(+{cost['added_us'] / cost['none_us']:.0%})** to every sale before anything is "
            "sent (the event's Dub-shaped payload, its JSON, the event and pending rows).",
        ]
    spy = figures.get("pyspy")
    if spy and "error" not in spy and spy["samples"]:
        held = spy["samples"] / spy["possible"] if spy["possible"] else float("nan")
        plain = figures.get("pyspy_plain") or {}
        baseline = (
            f" (with no endpoint, the same sampling of the other server: "
            f"{plain['samples'] / plain['possible']:.0%}, at "
            f"{plain['wrk_rps'] or 0:,.0f} sales/s)"
            if plain.get("samples") and plain.get("possible")
            else ""
        )
        groups = ", ".join(f"{g} **{share:.0%}**" for g, share in spy["groups"].items())
        lines += [
            f"- **In the worker, under load** (py-spy `--gil --threads`, "
            f"{PROFILE_SECONDS:g} s while wrk sent new sales, {spy['wrk_rps'] or 0:,.0f} "
            f"sales/s while sampled): the GIL was held in {spy['samples']:,} of "
            f"{spy['possible']:,} possible samples ({held:.0%}){baseline}; by thread: {groups}. "
            "Command: "
            f"`{spy['command']}`.",
            "",
            "| function (inclusive, share of GIL samples) | share |",
            "| --- | ---: |",
        ]
        lines += [f"| `{k}` | {v:.1%} |" for k, v in spy["inclusive"].items()]
        lines += [
            "",
            "| threads | function (self) | share of GIL samples |",
            "| --- | --- | ---: |",
        ]
        for group, rows in spy["top"].items():
            lines += [f"| {group} | `{k}` | {v:.1%} |" for k, v in rows]
    elif spy:
        lines += [f"- py-spy failed: `{spy.get('error', '')[-300:]}`"]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update RESULTS.md and the README")
    args = parser.parse_args()
    figures = run()
    harness.OUT.mkdir(exist_ok=True)
    FIGURES.write_text(json.dumps(figures, indent=2))
    text = report(figures)
    print(text)
    if args.write:
        existing = RESULTS.read_text() if RESULTS.exists() else ""
        RESULTS.write_text(splice(existing, text, BEGIN, END))
        import report as performance

        performance.refresh()
    return 0


if __name__ == "__main__":
    sys.exit(main())
