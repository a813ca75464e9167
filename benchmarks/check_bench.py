"""How long `dub-mock check` takes at its default settings, and how many faults it catches.

    .venv/bin/python benchmarks/check_bench.py           # print the figures
    .venv/bin/python benchmarks/check_bench.py --write   # and put them in RESULTS.md

Target (from the contract suite's issue): `dub-mock check` against a local mock, default
settings, finishes in <= 60 s on a 2-core machine. Each timed run checks a fresh `dub-mock
serve` (its own process, a free port), so every run starts with a full rate-limit window. The kill
rate is measured on the broken variants of tests/broken at the default settings too (CI runs them
with 5 examples per property test instead).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from sections import splice

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
BEGIN, END = "<!-- contract-check:begin -->", "<!-- contract-check:end -->"
TARGET_S = 60.0
PYTHON = sys.executable


def check_command() -> tuple[list[str], str]:
    """`dub-mock check` when the CLI dispatches it, else the same `main` via `-m contract_tests`."""
    cli = [PYTHON, "-m", "mockserver", "check"]
    probe = subprocess.run(
        [*cli, "--base-url", "http://127.0.0.1:9", "--token", "x", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode == 0 and "--junit-xml" in probe.stdout:
        return cli, "dub-mock check"
    # The CLI could not dispatch `check`: time the very same `main` through its module.
    return [PYTHON, "-m", "contract_tests"], "python -m contract_tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve() -> tuple[subprocess.Popen[bytes], str]:
    """A fresh `dub-mock serve` on a free port; returns once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "mockserver", "serve", "--port", str(port), "--quiet"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/__mock/health", timeout=1)
            return process, url
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("dub-mock serve did not start")


def timed_check(command: list[str], seed: int) -> dict[str, object]:
    process, url = serve()
    try:
        started = time.monotonic()
        done = subprocess.run(
            [*command, "--base-url", url, "--token", "dub_mock_key", "--seed", str(seed)],
            capture_output=True,
            text=True,
            check=False,
        )
        elapsed = time.monotonic() - started
    finally:
        process.terminate()
        process.wait(timeout=10)
    summary = next((line for line in done.stdout.splitlines() if " passed, " in line), "")
    return {"seconds": elapsed, "code": done.returncode, "summary": summary.strip()}


def kill_rate(command: list[str], parallel: int) -> tuple[int, int, list[str], float]:
    """Every broken variant at the default settings: (killed, total, survivors, seconds)."""
    sys.path.insert(0, str(ROOT / "tests"))
    from broken.serve import serving
    from broken.variants import VARIANTS

    from mockserver import create_app

    def judge(build: object) -> int:
        with serving(build(create_app(quiet=True))) as url:  # type: ignore[operator]
            done = subprocess.run(
                [*command, "--base-url", url, "--token", "dub_mock_key", "--seed", "1"],
                capture_output=True,
                check=False,
            )
        return done.returncode

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        codes = list(pool.map(judge, [v.build for v in VARIANTS]))
    survivors = [v.name for v, code in zip(VARIANTS, codes, strict=True) if code != 1]
    return len(VARIANTS) - len(survivors), len(VARIANTS), survivors, time.monotonic() - started


def section(
    runs: list[dict[str, object]], how: str, kills: tuple[int, int, list[str], float]
) -> str:
    seconds = [float(str(r["seconds"])) for r in runs]
    worst = max(seconds)
    verdict = "met" if worst <= TARGET_S and all(r["code"] == 0 for r in runs) else "**not met**"
    killed, total, survivors, kill_s = kills
    lines = [
        "## Contract check: `dub-mock check` at its default settings",
        "",
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end "
        f"(the machine is shared). Command: `{how} --base-url URL --token dub_mock_key --seed N` "
        + ("" if how == "dub-mock check" else "(the same `main` that `dub-mock check` calls) ")
        + "against a fresh `dub-mock serve` per run (100 examples per property test, no rate "
        "cap).",
        "",
        "| run | seconds | exit | suite summary |",
        "| ---: | ---: | ---: | --- |",
    ]
    for number, run in enumerate(runs, 1):
        lines.append(
            f"| {number} | {float(str(run['seconds'])):.1f} | {run['code']} | {run['summary']} |"
        )
    lines += [
        "",
        f"Median {statistics.median(seconds):.1f} s, worst {worst:.1f} s; target <= "
        f"{TARGET_S:.0f} s: {verdict}.",
        "",
        f"Kill rate at the default settings: **{killed}/{total}** broken variants of "
        f"`tests/broken` exit 1 ({100 * killed / total:.0f}%), {kill_s:.0f} s for all of them "
        "two at a time" + (f"; survivors: {', '.join(survivors)}." if survivors else "."),
        "",
        "Reproduce: `.venv/bin/python benchmarks/check_bench.py --write`.",
    ]
    return "\n".join(lines)


def write(text: str) -> None:
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    RESULTS.write_text(splice(current, text, BEGIN, END), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs (default 3)")
    parser.add_argument("--parallel", type=int, default=2, help="variants checked at once")
    parser.add_argument("--write", action="store_true", help="update benchmarks/RESULTS.md")
    args = parser.parse_args()
    command, how = check_command()
    runs = []
    for seed in range(1, args.runs + 1):
        run = timed_check(command, seed)
        print(f"run {seed}: {run['seconds']:.1f} s, exit {run['code']}: {run['summary']}")
        runs.append(run)
    kills = kill_rate(command, args.parallel)
    print(f"kill rate: {kills[0]}/{kills[1]} in {kills[3]:.0f} s; survivors: {kills[2]}")
    text = section(runs, how, kills)
    print(text)
    if args.write:
        write(text)
    return 0 if all(r["code"] == 0 and float(str(r["seconds"])) <= TARGET_S for r in runs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
