"""New leads against new sales on `dub-mock serve --quiet`, in short alternating runs.

    .venv/bin/python benchmarks/lead_vs_sale.py [--pairs 14] [--seconds 4]

Issue 9 holds each funnel operation to the sale ratio against Prism. Prism answers a lead as
fast as a sale, so that target is a race between the mock's own leads and sales, and on a shared
machine two 8 s runs minutes apart differ by more than the gap being looked for. Here two quiet
servers (memory state, seeded as bench.py seeds them), one taking new sales and one new leads,
are driven by wrk in turn, a few seconds each, the order swapped every pair; each pair's ratio
compares runs seconds apart. State grows through the run, as it does through a bench.py group.
Prints each pair and the medians of the lead/sale ratios (throughput, server CPU per request).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from bench import CONNECTIONS, THREADS, mock_server, seed_mock


def drive(server: harness.Server, op: str, run_id: str, seconds: float) -> harness.WrkResult:
    """New records of `op` for `seconds`, with bench.py's load (threads and connections)."""
    return harness.run_wrk(
        server, "new", run_id, duration=seconds, threads=THREADS, connections=CONNECTIONS, op=op
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=14)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args(argv)
    servers = {"sale": mock_server("sales", "--quiet"), "lead": mock_server("leads", "--quiet")}
    try:
        for op, server in servers.items():
            server.start()
            seed_mock(server)
            drive(server, op, f"warm-{op}", 2.0)
        rps: list[float] = []
        cpu: list[float] = []
        for pair in range(args.pairs):
            order = ("sale", "lead") if pair % 2 == 0 else ("lead", "sale")
            runs = {
                op: drive(servers[op], op, f"{op}-{pair}-{time.time_ns()}", args.seconds)
                for op in order
            }
            lead, sale = runs["lead"], runs["sale"]
            rps.append(lead.rps / sale.rps)
            cpu.append(lead.cpu_us_per_request / sale.cpu_us_per_request)
            print(
                f"pair {pair + 1:>2}: sales {sale.rps:>7,.0f}/s {sale.cpu_us_per_request:5.1f} µs"
                f"  leads {lead.rps:>7,.0f}/s {lead.cpu_us_per_request:5.1f} µs"
                f"  leads/sales {rps[-1]:.2f}",
                flush=True,
            )
        print(
            f"median of {args.pairs} pairs: leads/sales throughput {statistics.median(rps):.3f}, "
            f"server CPU per request {statistics.median(cpu):.3f}"
        )
    finally:
        for server in servers.values():
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
