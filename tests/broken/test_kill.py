"""Proof of power: `dub-mock check` passes the faithful mock and fails every broken variant.

Each variant is served for real on a free 127.0.0.1 port (its own fresh mock behind the fault)
and checked by the real command in a subprocess, a few at a time: each variant on the area its
fault is in (`--only`) by the checks that must catch it (`--select`), the faithful mock in full;
each test then reads its variant's verdict. CI runs few examples per property test: the
stateful checks carry most kills.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from mockserver import create_app

from .middleware import Rewriter, passthrough
from .serve import serving
from .variants import VARIANTS, Variant

MAX_EXAMPLES = 5
SEED = 20261123
PARALLEL = 3
TIMEOUT_S = 180
FAITHFUL = "faithful-mock"
# The check's own token gets a roomy limit: a variant that hides the rate-limit headers must
# not make the check wait out one-minute windows (the rate-limit checks seed their own tokens).
CHECK_TOKEN = "dub_check_token"
ROOMY_TOKEN_SEED = {"tokens": [{"token": CHECK_TOKEN, "rateLimitPerMinute": 1_000_000}]}


@dataclass(frozen=True)
class Verdict:
    """What `dub-mock check` said about one implementation."""

    returncode: int
    output: str

    @property
    def failed_checks(self) -> set[str]:
        names = set()
        for line in self.output.splitlines():
            if line.startswith("FAIL  "):
                name = line.split()[1].split("::")[-1]
                names.add(name.split("[")[0])
        return names


def check_command(
    base_url: str, areas: tuple[str, ...] = (), checks: tuple[str, ...] = ()
) -> list[str]:
    """`dub-mock check` on `areas` (all of them when empty), only `checks` when given."""
    only = ["--only", ",".join(areas)] if areas else []
    if checks:
        only += ["--select", " or ".join(checks)]
    return [
        sys.executable, "-m", "contract_tests",
        "--base-url", base_url, "--token", CHECK_TOKEN,
        "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), *only,
    ]  # fmt: skip


def judge(
    build: Callable[..., Rewriter], areas: tuple[str, ...] = (), checks: tuple[str, ...] = ()
) -> Verdict:
    """Serve a fresh mock behind `build`'s fault and run the check (on `areas`, only `checks`
    when given) against it."""
    app = build(create_app(quiet=True, seed_data=ROOMY_TOKEN_SEED))
    with serving(app) as url:
        done = subprocess.run(
            check_command(url, areas, checks),
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    return Verdict(done.returncode, done.stdout + done.stderr)


# The faithful mock is checked in full; each variant by the checks that must catch it (a check
# that fails makes the whole command fail too), which keeps `make test` within its minutes.
Build = tuple[Callable[..., Rewriter], tuple[str, ...], tuple[str, ...]]
BUILDS: dict[str, Build] = {FAITHFUL: (passthrough, (), ())}
BUILDS.update({v.name: (v.build, v.areas, v.breaks) for v in VARIANTS})


@pytest.fixture(scope="module")
def verdicts(request: pytest.FixtureRequest) -> Iterator[dict[str, Future[Verdict]]]:
    """Start the checks of every selected variant at once, a few in parallel."""
    wanted = [
        item.callspec.params["name"]
        for item in request.session.items
        if item.module is request.module and hasattr(item, "callspec")
    ]
    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        yield {name: pool.submit(judge, *BUILDS[name]) for name in dict.fromkeys(wanted)}


@pytest.mark.parametrize("name", [FAITHFUL])
def test_faithful_mock_passes(verdicts: dict[str, Future[Verdict]], name: str) -> None:
    verdict = verdicts[name].result()
    assert verdict.returncode == 0, verdict.output
    assert not verdict.failed_checks, verdict.output
    assert "OK: the target keeps the contract" in verdict.output


@pytest.mark.parametrize("name", [v.name for v in VARIANTS])
def test_broken_variant_is_caught(verdicts: dict[str, Future[Verdict]], name: str) -> None:
    variant: Variant = next(v for v in VARIANTS if v.name == name)
    verdict = verdicts[name].result()
    assert verdict.returncode == 1, f"{variant.fault}\n{verdict.output}"
    caught_by = verdict.failed_checks & set(variant.breaks)
    assert caught_by, f"{variant.fault}: expected one of {variant.breaks} to fail\n{verdict.output}"
    assert "broken rule:" in verdict.output, verdict.output


def test_there_are_at_least_twenty_distinct_variants() -> None:
    assert len(VARIANTS) >= 20
    assert len({v.name for v in VARIANTS}) == len(VARIANTS)
    assert len({v.build for v in VARIANTS}) == len(VARIANTS)


def test_the_funnel_has_its_own_variants() -> None:
    """At least 15 variants break §4-§6 (leads, clicks, publishable keys), each area some."""
    funnel = [v for v in VARIANTS if set(v.areas) & {"lead", "click", "client"}]
    assert len(funnel) >= 15
    assert {area for v in funnel for area in v.areas} == {"lead", "click", "client"}


def test_variant_areas_are_the_suites() -> None:
    """Each variant names areas `dub-mock check --only` knows (its kill proves they hold it)."""
    from contract_tests.areas import AREAS

    assert all(v.areas and set(v.areas) <= set(AREAS) for v in VARIANTS)
