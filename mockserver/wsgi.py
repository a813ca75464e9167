"""The app built from DUB_MOCK_* variables: the target `dub-mock serve` hands to its workers.

Any WSGI server can serve it too: `granian --interface wsgi mockserver.wsgi:app`.
"""

from __future__ import annotations

from .app import create_app
from .settings import Settings

app = create_app(Settings.from_env())
