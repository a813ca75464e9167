"""`python -m mockserver` is the `dub-mock` command."""

from .cli import main

raise SystemExit(main())
