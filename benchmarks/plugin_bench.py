"""What the pytest plugin costs: per-test overhead, session start, and 1,000 tests end to end.

    .venv/bin/python benchmarks/plugin_bench.py           # print the figures
    .venv/bin/python benchmarks/plugin_bench.py --write   # and put them in RESULTS.md

Targets (from the plugin's issue): median per-test overhead of ``dub_mock`` (reset + one helper
call) <= 2 ms; plugin session start <= 300 ms. Every figure is a median over repeated runs on
this machine; pytest runs go through subprocesses, as a user's would.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sections import splice

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- plugin:begin -->", "<!-- plugin:end -->"
PYTHON = sys.executable


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def p95_ms(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[int(len(ordered) * 0.95) - 1] * 1000


# -- 1. per-test overhead, measured on the fixture's own code path ---------------------------


def per_test_overhead(rounds: int) -> dict[str, Any]:
    """begin_test (the reset every test gets) + one helper call, live server and in-process app."""
    from pytest_plugin.pool import MockPool

    pool = MockPool({})
    out: dict[str, Any] = {}
    try:
        for name, handle in (("dub_mock", pool.live({})), ("dub_mock_app", pool.app({}))):
            for i in range(50):  # warm-up: connection, caches
                handle.begin_test({})
                handle.add_customer(f"warm_{i}")
            samples = []
            reset_only = []
            for i in range(rounds):
                started = time.perf_counter()
                handle.begin_test({})
                reset_done = time.perf_counter()
                handle.add_customer(f"user_{i}")
                samples.append(time.perf_counter() - started)
                reset_only.append(reset_done - started)
            out[name] = {
                "median_ms": median_ms(samples),
                "p95_ms": p95_ms(samples),
                "reset_median_ms": median_ms(reset_only),
                "rounds": rounds,
            }
    finally:
        pool.close()
    return out


# -- 2. session start -------------------------------------------------------------------------

START_SNIPPET = """
import json, sys, time
import pytest  # pytest itself is loaded before any plugin; not the plugin's cost
t0 = time.perf_counter()
import pytest_plugin.plugin
t1 = time.perf_counter()
from pytest_plugin.pool import MockPool
pool = MockPool({})
handle = pool.live({})
handle.begin_test({})
t2 = time.perf_counter()
pool.close()
print(json.dumps({"import": t1 - t0, "first_server": t2 - t1,
                  "validator_loaded": "openapi_spec_validator" in sys.modules}))
"""

VALIDATOR_SNIPPET = """
import json, time
import pytest, mockserver
t0 = time.perf_counter()
import openapi_spec_validator
print(json.dumps({"validator_import": time.perf_counter() - t0}))
"""


def session_start(rounds: int) -> dict[str, Any]:
    """In a fresh process: importing the plugin, then the first dub_mock (server up and reset)."""
    imports, firsts, validator = [], [], []
    loaded = False
    for _ in range(rounds):
        data = _run_json(START_SNIPPET)
        imports.append(data["import"])
        firsts.append(data["first_server"])
        loaded = loaded or data["validator_loaded"]
        validator.append(_run_json(VALIDATOR_SNIPPET)["validator_import"])
    return {
        "plugin_import_ms": median_ms(imports),
        "first_dub_mock_ms": median_ms(firsts),
        "total_ms": median_ms([a + b for a, b in zip(imports, firsts, strict=True)]),
        # the spec loader validates the document with openapi-spec-validator, whose import
        # is most of a cold start; reported only while it is on that path
        "validator_import_ms": median_ms(validator) if loaded else None,
        "rounds": rounds,
    }


def _run_json(code: str) -> dict[str, Any]:
    done = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# -- 3. whole pytest runs ------------------------------------------------------------------------

TEST_FILE = """
import json
import urllib.request

import pytest


def post(url, path, body, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), headers=headers)
    with urllib.request.urlopen(request) as response:
        return response.status


@pytest.mark.parametrize("n", range(COUNT))
def test_sale(dub, n):
    assert post(dub.url, "/__mock/customers", {"externalId": f"user_{n}"}) == 201
    assert post(dub.url, "/track/sale",
                {"customerExternalId": f"user_{n}", "amount": 100 + n},
                token="dub_mock_key") == 200
"""

TIMING_PLUGIN = """
import json, os

_setup = []


def pytest_runtest_logreport(report):
    if report.when == "setup" and report.passed:
        _setup.append(report.duration)


def pytest_sessionfinish(session):
    with open(os.environ["BENCH_TIMINGS"], "w") as handle:
        json.dump(_setup, handle)
"""

CONFTESTS = {
    # the plugin: a reset before every test, marker handling, journal bookkeeping
    "dub_mock": """
import pytest

@pytest.fixture
def dub(dub_mock):
    return dub_mock
""",
    # the same server started once, handed to every test as is: no reset, nothing else
    "no-op fixture": """
import pytest
from mockserver import MockServer

@pytest.fixture(scope="session")
def _server():
    with MockServer() as server:
        yield server

@pytest.fixture
def dub(_server):
    return _server
""",
}


def pytest_runs(count: int, rounds: int) -> dict[str, Any]:
    """``count`` tests that each seed a customer and record a sale, with and without the plugin."""
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="dub-plugin-bench-") as tmp:
        for name, conftest in CONFTESTS.items():
            project = Path(tmp) / name.replace(" ", "_")
            project.mkdir()
            (project / "conftest.py").write_text(textwrap.dedent(conftest))
            (project / "timing_plugin.py").write_text(TIMING_PLUGIN)
            (project / "test_sales.py").write_text(TEST_FILE.replace("COUNT", str(count)))
            results[name] = {"wall_s": [], "setup_ms": []}
        for _ in range(rounds):  # alternate the variants so drift hits both alike
            for name in CONFTESTS:
                project = Path(tmp) / name.replace(" ", "_")
                timings = project / "timings.json"
                env = {**os.environ, "BENCH_TIMINGS": str(timings), "PYTHONPATH": str(project)}
                started = time.perf_counter()
                done = subprocess.run(
                    [PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "timing_plugin"],
                    cwd=project,
                    env=env,
                    capture_output=True,
                    text=True,
                )
                wall = time.perf_counter() - started
                if done.returncode != 0:
                    raise SystemExit(f"{name} run failed:\n{done.stdout[-3000:]}{done.stderr}")
                results[name]["wall_s"].append(wall)
                results[name]["setup_ms"].append(median_ms(json.loads(timings.read_text())))
    summary = {}
    for name, data in results.items():
        summary[name] = {
            "wall_s": statistics.median(data["wall_s"]),
            "setup_median_ms": statistics.median(data["setup_ms"]),
            "runs": data["wall_s"],
        }
    plugin, noop = summary["dub_mock"], summary["no-op fixture"]
    return {
        "count": count,
        "rounds": rounds,
        "variants": summary,
        "ratio": plugin["wall_s"] / noop["wall_s"],
        "extra_per_test_ms": (plugin["wall_s"] - noop["wall_s"]) / count * 1000,
    }


# -- report ---------------------------------------------------------------------------------


def machine() -> str:
    import platform

    return f"Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}"


def render(data: dict[str, Any]) -> str:
    over, start, runs = data["overhead"], data["start"], data["runs"]
    live, app = over["dub_mock"], over["dub_mock_app"]
    ok = lambda good: "✅" if good else "❌"  # noqa: E731
    plugin, noop = runs["variants"]["dub_mock"], runs["variants"]["no-op fixture"]
    lines = [
        "## pytest plugin",
        "",
        f"`benchmarks/plugin_bench.py`, {data['when']} UTC, commit `{data['commit']}`, "
        f"{machine()}, load average {data['load'][0]:.1f} before and {data['load'][1]:.1f} after "
        "(the machine is shared with other work; medians over repeated runs).",
        "",
        "| measure | figure | target | |",
        "| --- | ---: | ---: | --- |",
        f"| `dub_mock` per-test overhead: reset + one helper call (median of {live['rounds']}) "
        f"| {live['median_ms']:.2f} ms (p95 {live['p95_ms']:.2f}) | ≤ 2 ms "
        f"| {ok(live['median_ms'] <= 2)} |",
        f"| of which the reset | {live['reset_median_ms']:.2f} ms | | |",
        f"| `dub_mock_app` (in-process) per-test overhead | {app['median_ms']:.2f} ms "
        f"(p95 {app['p95_ms']:.2f}) | ≤ 2 ms | {ok(app['median_ms'] <= 2)} |",
        f"| plugin session start: import + first `dub_mock` (server up, reset), fresh process "
        f"(median of {start['rounds']}) | {start['total_ms']:.0f} ms | ≤ 300 ms "
        f"| {ok(start['total_ms'] <= 300)} |",
        f"| of which importing the plugin | {start['plugin_import_ms']:.1f} ms | | |",
        f"| of which the first server (import mockserver, load the spec, start waitress) "
        f"| {start['first_dub_mock_ms']:.0f} ms | | |",
    ]
    if start["validator_import_ms"] is not None:
        lines.append(
            "| of which importing openapi-spec-validator, which the spec loader uses to validate "
            f"the bundled document at every start | {start['validator_import_ms']:.0f} ms | | |"
        )
    lines += [
        "",
        f"**{runs['count']:,} tests that each record one sale** (a customer through the admin API, "
        "then `POST /track/sale`, both with urllib), whole `pytest` runs in a subprocess, "
        f"median of {runs['rounds']}:",
        "",
        "| fixture | wall time | median setup per test |",
        "| --- | ---: | ---: |",
        f"| `dub_mock` (reset before every test) | {plugin['wall_s']:.2f} s "
        f"| {plugin['setup_median_ms']:.2f} ms |",
        f"| no-op fixture (the same server, never reset) | {noop['wall_s']:.2f} s "
        f"| {noop['setup_median_ms']:.2f} ms |",
        f"| **ratio** | **{runs['ratio']:.2f}x** ({runs['extra_per_test_ms']:+.2f} ms a test) | |",
        "",
    ]
    return "\n".join(lines)


def commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    )
    return done.stdout.strip() or "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    parser.add_argument("--tests", type=int, default=1000, help="tests per pytest run")
    parser.add_argument("--rounds", type=int, default=3, help="pytest runs per variant")
    parser.add_argument("--overhead-rounds", type=int, default=2000)
    parser.add_argument("--start-rounds", type=int, default=7)
    args = parser.parse_args(argv)
    step: Callable[[str], None] = lambda what: print(f"… {what}", file=sys.stderr)  # noqa: E731
    load_before = os.getloadavg()[0]
    step("per-test overhead")
    overhead = per_test_overhead(args.overhead_rounds)
    step("session start")
    start = session_start(args.start_rounds)
    step(f"{args.tests} tests x {args.rounds} rounds x 2 variants")
    runs = pytest_runs(args.tests, args.rounds)
    data = {
        "when": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "commit": commit(),
        "overhead": overhead,
        "start": start,
        "runs": runs,
        "load": (load_before, os.getloadavg()[0]),
    }
    block = render(data)
    print(block)
    if args.write:
        existing = RESULTS.read_text() if RESULTS.exists() else ""
        RESULTS.write_text(splice(existing, block, BEGIN, END))
        print(f"wrote {RESULTS}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
