"""The README's webhook verification example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_signature_example_runs() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Webhooks") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None, "the Webhooks section has no Python example"
    code = match.group(1)
    assert "verify(" in code and "sign(" in code
    exec(compile(code, "README.md#webhooks", "exec"), {})
