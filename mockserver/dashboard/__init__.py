"""The dashboard: a page at `/__mock/ui` (static files, no build step) and its live feed,
`/__mock/events` (Server-Sent Events of what the app publishes on its `Feed`).

`web.py` serves the files and, under WSGI servers, a bounded stream; `rsgi_events.py` streams
under `dub-mock serve`; `stream.py` holds what both share (subscribers, framing, the token check).
"""

from .stream import EVENTS_PATH as EVENTS_PATH
from .web import UI_PATH as UI_PATH
from .web import Dashboard as Dashboard
