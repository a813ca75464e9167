"""The hello-world limit when `dub-mock serve` runs on granian's RSGI interface: the same
hello-world WSGI app behind the mock's own RSGI adapter, with the same app threads."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from hello_app import app as hello_wsgi
from mockserver.rsgi import RsgiAdapter, app_threads

from mockserver import Settings


class _Hello:
    """What the adapter needs of an app: its settings (the body limit) and the WSGI call."""

    settings = Settings()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        return hello_wsgi(environ, start_response)


app = RsgiAdapter(_Hello(), threads=app_threads(_Hello.settings))  # type: ignore[arg-type]
