"""Makes ``shop`` importable when the tests run from a checkout without installing it.

No fixtures here: ``dub_mock``, ``dub_mock_app`` and ``dub_client`` come from the dub-mock
pytest plugin, which pytest loads by itself once dub-mock is installed.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
