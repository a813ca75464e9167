"""The dub-mock pytest plugin, loaded through the ``pytest11`` entry point ``dub_mock``."""

from __future__ import annotations

import pytest

from pytest_plugin import options


def pytest_addoption(parser: pytest.Parser) -> None:
    options.addoptions(parser)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    options.apply_environment(config)
