"""The ``--dub-*`` options the contract suite reads: flags, environment variables, types."""

from __future__ import annotations

import pytest

OPTIONS = [
    ("--dub-base-url", "DUB_BASE_URL"),
    ("--dub-token", "DUB_TOKEN"),
    ("--dub-customer-external-id", "DUB_CUSTOMER_EXTERNAL_ID"),
    ("--dub-click-id", "DUB_CLICK_ID"),
    ("--dub-max-examples", "DUB_MAX_EXAMPLES"),
    ("--dub-seed", "DUB_SEED"),
    ("--dub-rate", "DUB_RATE"),
]

READER = """
    import json, pathlib

    DESTS = ["dub_base_url", "dub_token", "dub_customer_external_id", "dub_click_id",
             "dub_max_examples", "dub_seed", "dub_rate"]

    def test_read(request):
        values = {d: request.config.getoption(d) for d in DESTS}
        pathlib.Path("seen.json").write_text(json.dumps(values))
"""


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for _, env in OPTIONS:
        monkeypatch.delenv(env, raising=False)


def seen(pytester: pytest.Pytester) -> dict[str, object]:
    import json

    return dict(json.loads(pytester.path.joinpath("seen.json").read_text()))


def test_help_lists_the_options_in_the_dub_mock_group(run) -> None:
    result = run("--help")
    assert result.ret == 0
    lines = result.stdout.str().splitlines()
    group = lines.index("dub-mock: the Dub mock and contract suite:")
    end = next(
        (i for i in range(group + 1, len(lines)) if lines[i] and not lines[i].startswith(" ")),
        len(lines),
    )
    block = "\n".join(lines[group:end])
    for flag, env in OPTIONS:
        assert flag in block
        assert f"(environment: {env})" in " ".join(block.split())


def test_defaults_are_none(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(READER)
    run().assert_outcomes(passed=1)
    assert set(seen(downstream).values()) == {None}


def test_flags_are_parsed_with_their_types(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(READER)
    run(
        "--dub-base-url=https://api.example.test",
        "--dub-token=dub_live",
        "--dub-customer-external-id=cus_ext",
        "--dub-click-id=clk_1",
        "--dub-max-examples=25",
        "--dub-seed=7",
        "--dub-rate=2.5",
    ).assert_outcomes(passed=1)
    assert seen(downstream) == {
        "dub_base_url": "https://api.example.test",
        "dub_token": "dub_live",
        "dub_customer_external_id": "cus_ext",
        "dub_click_id": "clk_1",
        "dub_max_examples": 25,
        "dub_seed": 7,
        "dub_rate": 2.5,
    }


def test_environment_fills_what_the_command_line_leaves_out(
    downstream: pytest.Pytester, run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DUB_BASE_URL", "http://env.test")
    monkeypatch.setenv("DUB_TOKEN", "dub_env")
    monkeypatch.setenv("DUB_CUSTOMER_EXTERNAL_ID", "ext_env")
    monkeypatch.setenv("DUB_CLICK_ID", "clk_env")
    monkeypatch.setenv("DUB_MAX_EXAMPLES", "40")
    monkeypatch.setenv("DUB_SEED", "11")
    monkeypatch.setenv("DUB_RATE", "0.5")
    downstream.makepyfile(READER)
    run("--dub-token=dub_flag", "--dub-seed=3").assert_outcomes(passed=1)
    assert seen(downstream) == {
        "dub_base_url": "http://env.test",
        "dub_token": "dub_flag",  # the flag wins over the variable
        "dub_customer_external_id": "ext_env",
        "dub_click_id": "clk_env",
        "dub_max_examples": 40,
        "dub_seed": 3,
        "dub_rate": 0.5,
    }


@pytest.mark.parametrize(
    ("env", "value", "message"),
    [
        ("DUB_MAX_EXAMPLES", "many", "DUB_MAX_EXAMPLES='many' is not an integer"),
        ("DUB_RATE", "fast", "DUB_RATE='fast' is not a number"),
    ],
    ids=["int", "float"],
)
def test_a_malformed_variable_is_a_usage_error_naming_it(
    downstream: pytest.Pytester, run, monkeypatch: pytest.MonkeyPatch, env, value, message
) -> None:
    monkeypatch.setenv(env, value)
    downstream.makepyfile(READER)
    result = run()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{message}*"])


def test_a_malformed_flag_is_refused_by_the_parser(downstream: pytest.Pytester, run) -> None:
    downstream.makepyfile(READER)
    result = run("--dub-seed=x")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--dub-seed*invalid int value*"])
