"""The app built from DUB_MOCK_* variables, for any WSGI server.

`dub-mock serve` runs it on granian's RSGI interface (`mockserver.rsgi`); this module is for
serving it yourself, e.g. `waitress-serve mockserver.wsgi:app`.
"""

from __future__ import annotations

from .app import create_app
from .settings import Settings

app = create_app(Settings.from_env())
