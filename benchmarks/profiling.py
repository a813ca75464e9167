"""Where the mock's time goes: py-spy on the live server under wrk, cProfile in-process.

py-spy samples every Python process of `dub-mock serve --quiet` while wrk sends new sales;
the samples inside a request (below the mock's RSGI front) are folded into self and inclusive
shares per function. cProfile runs the same sales through the WSGI app in this process.

    .venv/bin/python benchmarks/profiling.py [--json out.json] [--op lead]   # the cProfile half
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# The mock's RSGI front (mockserver/rsgi.py): everything below it is the request, on the event
# loop (memory) or on a pool thread (SQLite, Redis).
REQUEST_ROOTS = {"RsgiFront.__call__", "call_wsgi"}


def is_request_root(frame: str) -> bool:
    """py-spy frames read 'RsgiFront.__call__ (mockserver/rsgi.py:75)'."""
    name, _, where = frame.partition(" (")
    return name in REQUEST_ROOTS and "mockserver/rsgi.py" in where


def frame_key(frame: str) -> str:
    """'func (path/to/module.py:123)' → 'module.py:func', stable across line numbers."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = path.split("/")
    short = "/".join(parts[-2:]) if parts[-2:-1] in (["mockserver"], ["store"]) else parts[-1]
    if "site-packages" in path:
        pkg = path.split("site-packages/", 1)[1].split("/", 1)[0]
        short = f"{pkg}/{parts[-1]}"
    return f"{short}:{name}"


def fold(raw: str, top: int = 20) -> dict[str, Any]:
    """Self and inclusive sample shares per function, over the samples inside a request."""
    self_c: Counter[str] = Counter()
    incl_c: Counter[str] = Counter()
    area_c: Counter[str] = Counter()
    in_request = 0
    total = 0
    for line in raw.splitlines():
        stack, _, count_s = line.rpartition(" ")
        if not count_s.isdigit():
            continue
        count = int(count_s)
        total += count
        frames = [f for f in stack.split(";") if f]
        idx = next((i for i, f in enumerate(frames) if is_request_root(f)), None)
        if idx is None:
            continue
        inner = frames[idx + 1 :]
        in_request += count
        if not inner:
            self_c["(RSGI front)"] += count
            area_c["RSGI front"] += count
            continue
        self_c[frame_key(inner[-1])] += count
        for key in {frame_key(f) for f in inner}:
            incl_c[key] += count
        area_c[area_of(inner[-1])] += count

    def table(counter: Counter[str]) -> list[dict[str, Any]]:
        return (
            [{"function": k, "share": v / in_request} for k, v in counter.most_common(top)]
            if in_request
            else []
        )

    return {
        "samples": total,
        "request_samples": in_request,
        "self": table(self_c),
        "inclusive": table(incl_c),
        "areas": table(area_c),
    }


def area_of(frame: str) -> str:
    """The library (or mockserver module) a leaf frame belongs to."""
    _, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    if path.startswith("mockserver/") or "/mockserver/" in path:
        return "mockserver/" + path.split("mockserver/", 1)[1]
    if "/lib/python" in path:
        return "stdlib/" + path.rsplit("/", 1)[-1]
    return path.rsplit("/", 1)[-1]


def pyspy_under_load(
    server: Any,
    stamp: str,
    seconds: float,
    threads: int,
    connections: int,
    gil: bool = True,
    op: str = "sale",
) -> dict[str, Any]:
    """Sample the running server while wrk drives it with new records of `op` (new sales by
    default, or "lead", "click").

    gil=True samples only the thread holding the GIL (where Python CPU time goes); False
    samples every busy thread (where requests spend wall time, in SQLite calls included)."""
    import harness

    out = harness.OUT / f"pyspy-{server.name}{'' if op == 'sale' else '-' + op}.txt"
    out.unlink(missing_ok=True)
    box: dict[str, Any] = {}

    def load() -> None:
        box["wrk"] = harness.run_wrk(
            server,
            "new",
            f"spy-{stamp}",
            duration=seconds + 2,
            threads=threads,
            connections=connections,
            op=op,
        )

    t = threading.Thread(target=load)
    t.start()
    spy = [
        str(harness.VENV_BIN / "py-spy"),
        "record",
        "--subprocesses",
        *(["--gil"] if gil else []),
        "--rate",
        "500" if gil else "100",
        "--duration",
        str(int(seconds)),
        "--format",
        "raw",
        "--output",
        str(out),
        "--pid",
        str(server.proc.pid),
    ]
    proc = subprocess.run(spy, capture_output=True, text=True, check=False)
    t.join()
    if not out.exists():
        return {"error": (proc.stdout + proc.stderr)[-2000:]}
    folded = fold(out.read_text())
    folded["command"] = " ".join(
        ["py-spy", *spy[1:-4], "--output", f"benchmarks/out/{out.name}", "--pid", "$PID"]
    )
    folded["wrk_rps_while_sampled"] = box["wrk"].rps if "wrk" in box else None
    folded["op"] = op
    return folded


def funnel_environs(op: str, n: int, tag: str) -> list[dict[str, Any]]:
    """n environs of new records of `op`, as the wrk scripts send them (inprocess.py's way)."""
    import harness
    import inprocess

    if op == "sale":
        return [inprocess.environ_for(inprocess.sale(f"inv_{tag}_{i}")) for i in range(n)]
    if op == "lead":
        return [
            inprocess.environ_for(
                json.dumps(
                    {
                        "clickId": harness.BENCH_CLICK_ID,
                        "eventName": "Sign up",
                        "customerExternalId": f"lead_{tag}_{i}",
                    }
                ).encode(),
                "/track/lead",
            )
            for i in range(n)
        ]
    link = harness.BENCH_LINK
    body = json.dumps({"domain": link["domain"], "key": link["key"]}).encode()
    envs = []
    for i in range(n):
        env = inprocess.environ_for(body, "/track/click")
        env["HTTP_USER_AGENT"] = f"dub-mock-bench/{tag}/{i}"
        envs.append(env)
    return envs


def funnel_app() -> Any:
    """inprocess.make_app() plus the bench's link and click (bench.py's seed)."""
    import harness
    import inprocess

    app = inprocess.make_app()
    click = {"id": harness.BENCH_CLICK_ID, "linkId": harness.BENCH_LINK["id"]}
    for path, payload in (("/__mock/links", harness.BENCH_LINK), ("/__mock/clicks", click)):
        status, body = inprocess.call(
            app, inprocess.environ_for(json.dumps(payload).encode(), path)
        )
        if not status.startswith("201"):
            raise RuntimeError(f"seeding {path} answered {status}: {body!r}")
    return app


def cprofile_sales(n: int, op: str = "sale") -> dict[str, Any]:
    """cProfile over n new records of `op` through the WSGI app (prepared environs, as
    inprocess.py), after 2,000 unprofiled ones; also their unprofiled p50 time."""
    import inprocess

    app = funnel_app()
    for env in funnel_environs(op, 2000, "warm"):
        status, body = inprocess.call(app, env)
        if not status.startswith("200"):
            raise RuntimeError(f"{op} answered {status}: {body[:300]!r}")
    plain = []
    for env in funnel_environs(op, n, "plain"):
        started = time.perf_counter_ns()
        inprocess.call(app, env)
        plain.append(time.perf_counter_ns() - started)
    envs = funnel_environs(op, n, "prof")
    prof = cProfile.Profile()
    prof.enable()
    for env in envs:
        inprocess.call(app, env)
    prof.disable()
    stats = pstats.Stats(prof)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = sum(v[2] for v in raw.values())
    rows = []
    for (path, line, func), (_cc, ncalls, tottime, cumtime, _callers) in raw.items():
        rows.append(
            {
                "function": frame_key(f"{func} ({path}:{line})"),
                "calls_per_sale": ncalls / n,
                "tottime_us_per_sale": tottime / n * 1e6,
                "cumtime_us_per_sale": cumtime / n * 1e6,
            }
        )
    by_tot = sorted(rows, key=lambda r: -r["tottime_us_per_sale"])[:20]
    by_cum = sorted(rows, key=lambda r: -r["cumtime_us_per_sale"])[:25]
    return {
        "op": op,
        "sales": n,
        "p50_us_unprofiled": sorted(plain)[n // 2] / 1000,
        "total_us_per_sale_under_profiler": total / n * 1e6,
        "by_tottime": by_tot,
        "by_cumtime": by_cum,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="cProfile over in-process sales")
    parser.add_argument("--json")
    parser.add_argument("--sales", type=int, default=20_000)
    parser.add_argument("--op", choices=("sale", "lead", "click"), default="sale")
    args = parser.parse_args(argv)
    result = cprofile_sales(args.sales, args.op)
    text = json.dumps(result, indent=2)
    if args.json:
        Path(args.json).write_text(text)
    for row in result["by_tottime"][:12]:
        print(f"{row['tottime_us_per_sale']:8.2f} us  {row['function']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
