"""pytester helpers: run small downstream test files against the installed plugin.

The plugin is loaded the way users get it, through the ``pytest11`` entry point of the
installed distribution; nothing here registers it by hand.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

# Import the mock (and with it PyYAML's C loader) here, once: pytester's in-process runs drop
# the modules a run imported when it ends, and a re-imported PyYAML C extension fails to parse.
import mockserver  # noqa: F401

#: A tiny HTTP client the downstream test files import, standing in for the code under test.
SALE_CLIENT = '''
import json
import time
import urllib.error
import urllib.request


def track_sale(url, token, body, headers=None):
    """POST /track/sale; (status, JSON body, headers, seconds)."""
    request = urllib.request.Request(
        url + "/track/sale",
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json",
                 **(headers or {})},
        method="POST",
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read()), response.headers, \\
                time.perf_counter() - started
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read()), error.headers, \\
                time.perf_counter() - started


def wsgi_sale(handle, body, token=None):
    """The same call through dub_mock_app's werkzeug client: (status, JSON body, headers)."""
    response = handle.post_sale(body, token=token)
    return response.status_code, response.get_json(), response.headers
'''

Run = Callable[..., pytest.RunResult]


@pytest.fixture
def downstream(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester project with ``sale_client.py`` importable by its test files."""
    pytester.makepyfile(sale_client=SALE_CLIENT)
    return pytester


@pytest.fixture
def run(downstream: pytest.Pytester) -> Run:
    """Run pytest in-process on the downstream project, warnings as errors, like this suite."""

    def _run(*args: str) -> pytest.RunResult:
        return downstream.runpytest_inprocess("-p", "no:cacheprovider", "-W", "error", *args)

    return _run
