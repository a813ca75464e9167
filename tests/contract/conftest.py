"""Live targets for the tests of the contract suite: the mock, alone or behind a fault."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from broken.middleware import passthrough
from broken.serve import serving

from mockserver import create_app


@pytest.fixture(scope="module")
def faithful_url() -> Iterator[str]:
    """The faithful mock, served for real on a free port for the module's tests."""
    with serving(passthrough(create_app(quiet=True))) as url:
        yield url
