"""The README's plugin examples, pasted into a fresh downstream project, pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def plugin_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index("## pytest plugin")
    end = text.find("\n## ", start + 1)
    section = text[start : end if end != -1 else None]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_readme_fixture_example_passes(downstream: pytest.Pytester, run) -> None:
    examples = [code for code in plugin_examples() if "def test_checkout_records_sale" in code]
    assert len(examples) == 1
    downstream.makepyfile(test_readme_example=examples[0])
    run().assert_outcomes(passed=1)


def test_the_readme_sdk_example_passes(downstream: pytest.Pytester, run) -> None:
    pytest.importorskip("dub", reason="the official Dub SDK (the sdk extra) is not installed")
    examples = [code for code in plugin_examples() if "dub_client" in code]
    assert len(examples) == 1
    downstream.makepyfile(test_readme_sdk=examples[0])
    run().assert_outcomes(passed=1)


def test_the_readme_marker_example_is_valid(downstream: pytest.Pytester, run) -> None:
    (example,) = [code for code in plugin_examples() if "@pytest.mark.dub_mock(" in code]
    body = example.replace(
        "def test_something(dub_mock): ...",
        "def test_something(dub_mock):\n"
        "    assert dub_mock.workspaces.one(id='ws_mock').plan == 'pro'\n"
        "    assert dub_mock.customers.one().externalId == 'ada'\n",
    )
    downstream.makepyfile(test_readme_marker="import pytest\n\n" + body)
    run().assert_outcomes(passed=1)


def test_the_readme_webhook_example_passes(downstream: pytest.Pytester, run) -> None:
    (example,) = [code for code in plugin_examples() if "dub_webhooks" in code]
    downstream.makepyfile(test_plugin_readme_webhook_example=example)
    run().assert_outcomes(passed=1)
