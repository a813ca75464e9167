"""Running `dub-mock check` and the contract suite for real, as a CI job would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

TIMEOUT_S = 240
FAST = ("--max-examples", "5", "--seed", "7")


@dataclass(frozen=True)
class Run:
    """A finished command: its exit code and everything it printed."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def lines(self, mark: str) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.startswith(mark + "  ")]


def run(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> Run:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DUB_")}
    environment.update(env or {})
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
        cwd=cwd,
        env=environment,
    )
    return Run(done.returncode, done.stdout, done.stderr)


def check(base_url: str, *args: str, cwd: Path | None = None) -> Run:
    """`dub-mock check` (through `python -m contract_tests`, the same `main`)."""
    argv = [sys.executable, "-m", "contract_tests", "--base-url", base_url, *args]
    return run(argv, cwd=cwd)


def pytest_suite(*args: str, cwd: Path | None = None) -> Run:
    """`pytest --pyargs contract_tests ...` in a fresh process."""
    return run([sys.executable, "-m", "pytest", "--pyargs", "contract_tests", "-q", *args], cwd=cwd)
