"""Each benchmark owns one marked block of RESULTS.md (and report.py one of the README)."""

from __future__ import annotations


def splice(existing: str, block: str, begin: str, end: str) -> str:
    """Put `block` between the `begin`/`end` markers, keeping everything else in the file."""
    wrapped = f"{begin}\n{block.rstrip(chr(10))}\n{end}"
    if begin in existing and end in existing:
        head, rest = existing.split(begin, 1)
        _, tail = rest.split(end, 1)
        return head + wrapped + tail
    if not existing.strip():
        return f"# Benchmark results\n\n{wrapped}\n"
    return existing.rstrip("\n") + f"\n\n{wrapped}\n"
