#!/usr/bin/env bash
# `make bench`: install what the benchmarks need, then run them all (about 25 minutes).
# Not for CI: it takes the machine's whole CPU for minutes and installs tools.
#   BENCH_DURATION=3 BENCH_ROUNDS=1 bash benchmarks/run.sh    # a quick look
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${CI:-}" ]; then
    echo "benchmarks/run.sh: not run in CI (it saturates the machine); run it by hand" >&2
    exit 0
fi

PY=.venv/bin/python
if [ ! -x "$PY" ]; then
    echo "benchmarks/run.sh: no .venv; run 'make venv' (or 'make bench') first" >&2
    exit 2
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Stoplight Prism 5, into benchmarks/node_modules (git-ignored)
PRISM=benchmarks/node_modules/.bin/prism
if [ ! -x "$PRISM" ] || ! "$PRISM" --version 2>/dev/null | grep -q '^5\.'; then
    if ! command -v npm >/dev/null; then
        as_root apt-get update
        as_root apt-get install -y nodejs npm
    fi
    npm install --prefix benchmarks --no-audit --no-fund @stoplight/prism-cli@5
fi

# wrk, the load generator, from Debian's packages
if ! command -v wrk >/dev/null; then
    as_root apt-get update
    as_root apt-get install -y wrk
fi

# benchmark-only Python tools (not dependencies of dub-mock): the chart and the sampler
"$PY" -c 'import matplotlib' 2>/dev/null || "$PY" -m pip install -q matplotlib
[ -x .venv/bin/py-spy ] || "$PY" -m pip install -q py-spy

# the README quotes how long the whole of `make bench` took
BENCH_STARTED=$(date +%s)
export BENCH_STARTED

# dub-mock against Prism: /track/sale, /track/lead and /track/click; RESULTS.md and the README
"$PY" benchmarks/bench.py "$@"
# with 5 dashboards open vs none (the dashboard's target: >= 90%); into RESULTS.md
"$PY" benchmarks/dashboard_bench.py --write
# with one webhook endpoint vs none (target: >= 70%, every event delivered); into RESULTS.md,
# then RESULTS.md's performance block and the README's section are rendered again to quote it
exec "$PY" benchmarks/webhook_bench.py --write
