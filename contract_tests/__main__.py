"""`python -m contract_tests ...` is `dub-mock check ...`."""

from __future__ import annotations

import sys

from contract_tests.runner import main

raise SystemExit(main(sys.argv[1:]))
