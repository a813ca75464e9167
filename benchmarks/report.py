"""Turn benchmarks/out/results.json into benchmarks/RESULTS.md tables and results.png.

Only the block between the performance markers in RESULTS.md is rewritten; other sections
(the pytest plugin's and the contract check's figures) are left as they are.

    .venv/bin/python benchmarks/report.py            # re-render from the last results.json
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sections import splice

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "RESULTS.md"
CHART = HERE / "results.png"
ANALYSIS = HERE / "analysis.md"
README = HERE.parent / "README.md"
BEGIN = "<!-- performance:begin -->"
END = "<!-- performance:end -->"

MOCK, PRISM = "dub-mock", "prism"
PAIRINGS = [
    ("as users run them", "dub-mock", "prism", 5.0),
    ("quiet", "dub-mock-quiet", "prism-silent", 2.0),
]
MODES = [("new", "new sale per request"), ("fixed", "one replayed invoiceId")]
#: The funnel's operations beside /track/sale: (operation, [(mode key, label, the sale mode
#: whose ratio it is held to)]). "new" records something each request, "fixed" repeats one.
FUNNEL = [
    (
        "`POST /track/lead`",
        [
            ("lead-new", "new customer per request", "new"),
            ("lead-fixed", "one customer and event again (deduplicated)", "fixed"),
        ],
    ),
    (
        "`POST /track/click`",
        [
            ("click-new", "new visitor per request", "new"),
            ("click-fixed", "one visitor again (deduplicated)", "fixed"),
        ],
    ),
]
#: The sale ratios quoted before the funnel joined `make bench` (run 20261123231943).
EARLIER_SALE_RATIOS = {
    ("as users run them", "new"): 5.4,
    ("as users run them", "fixed"): 7.5,
    ("quiet", "new"): 3.1,
    ("quiet", "fixed"): 4.7,
}
EARLIER_RUN = "20261123231943"


def med(values: list[float]) -> float:
    v = sorted(values)
    if not v:
        return float("nan")
    m = len(v) // 2
    return v[m] if len(v) % 2 else (v[m - 1] + v[m]) / 2


def mode_key(run: dict[str, Any]) -> str:
    """A sale run's mode ("new", "fixed"); a funnel run's operation and mode ("lead-new")."""
    op = run.get("op", "sale")
    return run["mode"] if op == "sale" else f"{op}-{run['mode']}"


class Figures:
    """Medians over the measured rounds, per (server, mode); see `mode_key`."""

    def __init__(self, runs: list[dict[str, Any]]) -> None:
        self.by: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for r in runs:
            self.by[(r["server"], mode_key(r))].append(r)

    def has(self, server: str, mode: str) -> bool:
        return bool(self.by.get((server, mode)))

    def valid(self, server: str, mode: str) -> bool:
        runs = self.by.get((server, mode), [])
        return bool(runs) and all(r["valid"] for r in runs)

    def get(self, server: str, mode: str, key: str) -> float:
        return med([r[key] for r in self.by.get((server, mode), [])])

    def rps(self, server: str, mode: str) -> float:
        return self.get(server, mode, "rps")

    def ratio(self, a: str, b: str, mode: str) -> tuple[float, float, float]:
        """Median ratio of the medians, and the range of the round-by-round ratios."""
        ra = {r["round"]: r["rps"] for r in self.by.get((a, mode), [])}
        rb = {r["round"]: r["rps"] for r in self.by.get((b, mode), [])}
        per_round = [ra[k] / rb[k] for k in ra if rb.get(k)]
        main = self.rps(a, mode) / self.rps(b, mode) if self.rps(b, mode) else float("nan")
        if not per_round:
            return main, float("nan"), float("nan")
        return main, min(per_round), max(per_round)


def fmt_int(x: float) -> str:
    return "\u2013" if x != x else f"{x:,.0f}"


def fmt(x: float, digits: int = 2) -> str:
    return "\u2013" if x != x else f"{x:.{digits}f}"


def verdict(ok: bool) -> str:
    return "met" if ok else "**not met**"


def render(
    data: dict[str, Any], webhooks: dict[str, Any] | None = None
) -> tuple[str, list[tuple[str, str, str, bool]]]:
    """The RESULTS.md block, and the targets with their measured values (webhook_bench.py's
    too, when its figures are given)."""
    f = Figures(data["runs"])
    s = data["settings"]
    m = data["machine"]
    lines: list[str] = []
    add = lines.append
    targets: list[tuple[str, str, str, bool]] = []

    add("## Performance: dub-mock against Stoplight Prism 5")
    add("")
    add(
        f"One run of `make bench` ({data['stamp']} UTC, commit `{m['git_commit']}`, "
        f"{data['elapsed_s']:.0f} s in all). Every server was started once, on a free port, "
        f"and driven by wrk with {s['threads']} threads and {s['connections']} connections, "
        f"{s['duration_s']:g} s per run after a {s['warmup_s']:g} s warm-up, for "
        f"{s['rounds']} rounds; the servers of a comparison alternate within each round and "
        "the order rotates from round to round, so drift on this shared machine hits all of "
        "them alike. Figures are the medians over the rounds; a ratio's range is the spread "
        "of the round-by-round ratios. wrk runs on the same 2 cores as the server."
    )
    add("")
    add("![throughput and latency](results.png)")
    add("")
    add("### The ratios")
    add("")
    add("| pairing | mode | dub-mock req/s | Prism req/s | ratio (range) | target | |")
    add("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for label, mock, prism, goal in PAIRINGS:
        for mode, mode_label in MODES:
            if not (f.has(mock, mode) and f.has(prism, mode)):
                continue
            ratio, lo, hi = f.ratio(mock, prism, mode)
            ok = ratio >= goal and f.valid(mock, mode) and f.valid(prism, mode)
            add(
                f"| {label} | {mode_label} | {fmt_int(f.rps(mock, mode))} | "
                f"{fmt_int(f.rps(prism, mode))} | **{fmt(ratio, 1)}\u00d7** "
                f"({fmt(lo, 1)}\u2013{fmt(hi, 1)}) | ≥ {goal:g}\u00d7 | {verdict(ok)} |"
            )
            targets.append(
                (f"{label}, {mode_label}", f"≥ {goal:g}\u00d7 Prism", f"{ratio:.1f}\u00d7", ok)
            )
    if f.has("dub-mock-sqlite", "new") and f.has("prism", "new"):
        ratio, lo, hi = f.ratio("dub-mock-sqlite", "prism", "new")
        ok = ratio >= 2.0 and f.valid("dub-mock-sqlite", "new")
        add(
            f"| `sqlite://` state, default flags | new sale per request | "
            f"{fmt_int(f.rps('dub-mock-sqlite', 'new'))} | {fmt_int(f.rps('prism', 'new'))} | "
            f"**{fmt(ratio, 1)}\u00d7** ({fmt(lo, 1)}\u2013{fmt(hi, 1)}) | "
            f"≥ 2\u00d7 | {verdict(ok)} |"
        )
        targets.append(
            (
                "`sqlite://`, new sale per request",
                "≥ 2\u00d7 default Prism",
                f"{ratio:.1f}\u00d7",
                ok,
            )
        )
    add("")
    funnel(f, add, targets)
    if f.has("hello-world", "new"):
        hello = f.rps("hello-world", "new")
        add(
            f"**The limit.** A hello-world RSGI app (`benchmarks/hello_rsgi.py`: awaits the body, "
            f"answers a fixed 200) on granian with the mock's settings (RSGI on uvloop, one "
            f"worker) serves "
            f"{fmt_int(hello)} req/s under the same load."
        )
        add("")
        add("| server | mode | req/s | share of the hello-world limit | target | |")
        add("| --- | --- | ---: | ---: | ---: | --- |")
        for name in ("dub-mock-quiet", "dub-mock"):
            for mode, mode_label in MODES:
                if not f.has(name, mode):
                    continue
                share = f.rps(name, mode) / hello
                ok = share >= 0.4
                add(
                    f"| {name} | {mode_label} | {fmt_int(f.rps(name, mode))} | "
                    f"**{share:.0%}** | ≥ 40% | {verdict(ok)} |"
                )
                if name == "dub-mock-quiet":
                    targets.append(
                        (f"quiet mock, {mode_label}", "≥ 40% of hello-world", f"{share:.0%}", ok)
                    )
        add("")

    if f.has("dub-mock-waitress", "new") and f.has("dub-mock-quiet", "new"):
        ratio, lo, hi = f.ratio("dub-mock-quiet", "dub-mock-waitress", "new")
        add(
            "**Why granian.** The same app (quiet, memory state, new sales) on waitress with its "
            "defaults, the server the in-test `MockServer` uses, serves "
            f"{fmt_int(f.rps('dub-mock-waitress', 'new'))} req/s against "
            f"{fmt_int(f.rps('dub-mock-quiet', 'new'))} on granian: granian is "
            f"{fmt(ratio, 1)}\u00d7 ({fmt(lo, 1)}\u2013{fmt(hi, 1)}) faster, with p99 "
            f"{fmt(f.get('dub-mock-waitress', 'new', 'p99_ms'))} ms against "
            f"{fmt(f.get('dub-mock-quiet', 'new', 'p99_ms'))} ms."
        )
        add("")
    variant = next(
        (k[0] for k in f.by if k[0].startswith("dub-mock-wsgi-") and k[0].endswith("-thread")),
        None,
    )
    if variant and f.has("dub-mock-quiet", "new"):
        threads = variant.removeprefix("dub-mock-wsgi-").removesuffix("-thread")
        ratio, lo, hi = f.ratio(variant, "dub-mock-quiet", "new")
        add(
            f"**Interface.** The same quiet app on granian's WSGI interface with {threads} "
            f"Python threads per worker (how `dub-mock serve` ran before its RSGI front, which "
            f"left it open to stalled uploads and cut bodies) serves "
            f"{fmt_int(f.rps(variant, 'new'))} new sales a second, against "
            f"{fmt_int(f.rps('dub-mock-quiet', 'new'))} as `dub-mock serve` runs it (granian's "
            f"RSGI interface on uvloop, the app on the event loop): "
            f"{fmt(ratio, 2)}\u00d7 ({fmt(lo, 2)}\u2013{fmt(hi, 2)}), at "
            f"{fmt(f.get(variant, 'new', 'cpu_us_per_request'), 0)} against "
            f"{fmt(f.get('dub-mock-quiet', 'new', 'cpu_us_per_request'), 0)} µs of server CPU "
            "per request."
        )
        add("")
    add("### Throughput and latency, every server")
    add("")
    add(
        "| server | mode | req/s | p50 ms | p99 ms | server CPU µs/req | non-2xx "
        "| socket errors | valid runs |"
    )
    add("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for (name, mode), runs in f.by.items():
        add(
            f"| {name} | {mode} | {fmt_int(f.rps(name, mode))} | "
            f"{fmt(f.get(name, mode, 'p50_ms'))} | {fmt(f.get(name, mode, 'p99_ms'))} | "
            f"{fmt(f.get(name, mode, 'cpu_us_per_request'), 0)} | "
            f"{sum(r['non_2xx'] for r in runs)} | {sum(r['socket_errors'] for r in runs)} | "
            f"{sum(r['valid'] for r in runs)}/{len(runs)} |"
        )
    add("")
    add(
        "A run with more than 1% non-2xx answers would be invalid (wrk counts answers with a "
        "status ≥ 400; no 1xx or 3xx answer occurs here). Before the load, each server was "
        "checked to answer 2xx to the exact request wrk sends (for the mock: a recorded sale, "
        "then the identical stored answer for the replay). Server CPU µs/req is the CPU time "
        "(user + system, every process and thread of the server) used during the run, divided "
        "by the answers; what is left of the 2 cores goes to wrk."
    )
    add("")
    add("<details><summary>Every run, in the order it ran</summary>")
    add("")
    add(
        "| round | server | mode | requests | req/s | p50 ms | p90 ms | p99 ms | non-2xx "
        "| load avg |"
    )
    add("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in data["runs"]:
        add(
            f"| {r['round'] + 1} | {r['server']} | {r['mode']} | {r['requests']:,} | "
            f"{r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p90_ms']:.2f} | {r['p99_ms']:.2f} | "
            f"{r['non_2xx']} | {r.get('loadavg_before', 0):.2f} |"
        )
    add("")
    add("</details>")
    add("")

    ip = data.get("inprocess")
    if ip:
        fr, af, ov = ip["fresh"], ip["after_fill"], ip["harness_overhead"]
        add("### In-process cost per recorded sale")
        add("")
        add(
            f"`benchmarks/inprocess.py`: the WSGI app (`create_app(quiet=True)`, memory state, "
            f"rate limit on) called directly with a prepared environ, {ip['measured_calls']:,} "
            "timed new sales each time (every one validated, recorded and answered 200), after "
            "2,000 warm-up sales. The harness's own cost (the same loop around a WSGI app that "
            f"does nothing) is p50 {ov['p50_us']:.2f} µs / p99 {ov['p99_us']:.2f} µs and is "
            "subtracted."
        )
        add("")
        add("| state of the app | p50 µs | p99 µs | mean µs |")
        add("| --- | ---: | ---: | ---: |")
        add(
            f"| fresh (new sale) | **{fr['net_p50_us']:.1f}** | {fr['net_p99_us']:.1f} | "
            f"{fr['mean_us']:.1f} |"
        )
        rp = ip["idempotent_replay"]
        add(
            f"| fresh (idempotent replay) | {rp['net_p50_us']:.1f} | {rp['net_p99_us']:.1f} | "
            f"{rp['mean_us']:.1f} |"
        )
        add(
            f"| after {ip['sales_before_after_measure']:,} recorded sales (new sale) | "
            f"**{af['net_p50_us']:.1f}** | {af['net_p99_us']:.1f} | {af['mean_us']:.1f} |"
        )
        add("")
        wc = ip["werkzeug_client"]
        add(
            f"Growth after {ip['sales_before_after_measure']:,} sales: p50 "
            f"**{ip['growth_p50']:.2f}\u00d7**, p99 {ip['growth_p99']:.2f}\u00d7. Through "
            f"`werkzeug.test.Client` the same sale takes p50 {wc['p50_us']:.1f} µs, of which "
            f"{wc['client_overhead_p50_us']:.1f} µs is the client's own overhead (measured "
            "against the do-nothing app)."
        )
        add("")
        ok = fr["net_p50_us"] <= 100
        targets.append(
            ("in-process p50 per recorded sale", "≤ 100 µs", f"{fr['net_p50_us']:.1f} µs", ok)
        )
        ok = ip["growth_p50"] <= 1.3
        targets.append(
            ("p50 after 100,000 sales", "≤ 1.3\u00d7 fresh", f"{ip['growth_p50']:.2f}\u00d7", ok)
        )

    mem = data.get("memory")
    if mem:
        add("### Memory")
        add("")
        w = mem["wrk"]
        add(
            f"A fresh `{mem['command']}`, seeded as above, then {w['requests']:,} new sales by "
            f"wrk ({w['non_2xx']} non-2xx); `/__mock/state` then listed "
            f"{mem['sales_recorded']:,} sales. RSS summed over the server's processes "
            f"(granian's main process and its worker):"
        )
        add("")
        before, after = mem["rss_before_kib"], mem["rss_after_kib"]
        pids = list(before)
        add(
            "| | all processes, MiB | "
            + " | ".join("main process" if i == 0 else f"worker {i}" for i in range(len(pids)))
            + " |"
        )
        add("| --- | ---: |" + " ---: |" * len(pids))
        add(
            f"| after start-up and seeding | {mem['rss_before_mib']:.1f} | "
            + " | ".join(f"{before[p] / 1024:.1f}" for p in pids)
            + " |"
        )
        add(
            f"| after {mem['sales_recorded']:,} sales | **{mem['rss_after_mib']:.1f}** | "
            + " | ".join(f"{after.get(p, 0) / 1024:.1f}" for p in pids)
            + " |"
        )
        add("")
        mp = (ip or {}).get("memory")
        if mp:
            tops = ", ".join(f"`{t['where']}` {t['bytes_per_sale']:.0f} B" for t in mp["top"][:6])
            add(
                f"Python heap growth per recorded sale (tracemalloc over {mp['sales']:,} "
                f"in-process sales, after the journal is full): {mp['bytes_per_sale']:.0f} bytes; "
                f"the largest allocation sites: {tops}."
            )
            add("")
        targets.append(
            (
                "RSS after 100,000 sales (memory)",
                "≤ 200 MB",
                f"{mem['rss_after_mib']:.0f} MiB",
                mem["rss_after_mib"] <= 200,
            )
        )

    add("### Where the time goes")
    add("")
    if f.has("hello-world", "new") and f.has("dub-mock-quiet", "new"):
        hello_cpu = f.get("hello-world", "new", "cpu_us_per_request")
        parts = [f"hello-world {hello_cpu:.0f} µs"]
        for name, mode in (
            ("dub-mock-quiet", "new"),
            ("dub-mock-quiet", "fixed"),
            ("dub-mock-quiet", "lead-new"),
            ("dub-mock-quiet", "lead-fixed"),
            ("dub-mock-quiet", "click-new"),
            ("dub-mock-quiet", "click-fixed"),
            ("dub-mock", "new"),
            ("dub-mock-sqlite", "new"),
            ("prism-silent", "new"),
            ("prism-silent", "lead-new"),
            ("prism-silent", "click-new"),
        ):
            if f.has(name, mode):
                parts.append(f"{name} ({mode}) {f.get(name, mode, 'cpu_us_per_request'):.0f} µs")
        in_app = ""
        if ip:
            in_app = (
                f" The app's own work, measured in-process, is {ip['fresh']['net_p50_us']:.0f} µs "
                f"per new sale and {ip['idempotent_replay']['net_p50_us']:.0f} µs per replay "
                "(p50)."
            )
        add(
            "Server CPU per answered request under load (all processes and threads): "
            + ", ".join(parts)
            + ". The hello-world figure is granian's own cost per request (HTTP parsing, "
            "the hand-over to the event loop, awaiting the body); the mock adds its app on top."
            + in_app
        )
        add("")
    spy = data.get("pyspy")
    if spy and "error" not in spy:
        share = spy["request_samples"] / spy["samples"] if spy["samples"] else 0
        add(
            f"py-spy sampled the thread holding the GIL in `dub-mock serve --quiet` "
            f"(`--gil`, 500 Hz) while wrk sent new sales "
            f"({fmt_int(spy['wrk_rps_while_sampled'] or float('nan'))} req/s while sampled, "
            f"slowed by the sampling). {spy['request_samples']:,} of {spy['samples']:,} samples "
            f"({share:.0%}) were inside a request (below the mock's RSGI front). Shares below "
            "are of the in-request samples: where the Python time of a request goes. Command: "
            f"`{spy['command']}`."
        )
        add("")
        add("| by library or module (self) | share |  | function (inclusive) | share |")
        add("| --- | ---: | --- | --- | ---: |")
        areas, incl = spy["areas"][:15], spy["inclusive"][:15]
        for i in range(max(len(areas), len(incl))):
            a = areas[i] if i < len(areas) else None
            c = incl[i] if i < len(incl) else None
            a_name = a["function"] if a else ""
            a_share = f"{a['share']:.1%}" if a else ""
            c_name = f"`{c['function']}`" if c else ""
            c_share = f"{c['share']:.1%}" if c else ""
            add(f"| {a_name} | {a_share} | | {c_name} | {c_share} |")
        add("")
    elif spy:
        add(f"py-spy failed: `{spy['error'][-300:]}`")
        add("")
    sq = data.get("pyspy_sqlite")
    if sq and "error" not in sq:
        add(
            "With SQLite state, Python holds the GIL for a small part of a request (SQLite "
            "releases it while it works), so there py-spy samples every busy thread instead "
            "(`--rate 100`, no `--gil`): where requests spend wall time, waiting included. "
            f"`dub-mock serve --state sqlite:///...` (default flags, new sales, "
            f"{fmt_int(sq['wrk_rps_while_sampled'] or float('nan'))} req/s while sampled; "
            f"{sq['request_samples']:,} in-request samples):"
        )
        add("")
        add("| function (inclusive) | share |  | function (self) | share |")
        add("| --- | ---: | --- | --- | ---: |")
        incl, own = sq["inclusive"][:12], sq["self"][:12]
        for i in range(max(len(incl), len(own))):
            a = incl[i] if i < len(incl) else None
            c = own[i] if i < len(own) else None
            a_name = f"`{a['function']}`" if a else ""
            a_share = f"{a['share']:.1%}" if a else ""
            c_name = f"`{c['function']}`" if c else ""
            c_share = f"{c['share']:.1%}" if c else ""
            add(f"| {a_name} | {a_share} | | {c_name} | {c_share} |")
        add("")
    cp = data.get("cprofile")
    if cp:
        add(
            f"cProfile over {cp['sales']:,} in-process new sales "
            f"({cp['total_us_per_sale_under_profiler']:.0f} µs per sale under the profiler, "
            "which inflates small calls): the functions with the most own time."
        )
        add("")
        add("| function | calls per sale | own µs per sale | cumulative µs per sale |")
        add("| --- | ---: | ---: | ---: |")
        for row in cp["by_tottime"][:15]:
            add(
                f"| `{row['function']}` | {row['calls_per_sale']:.1f} | "
                f"{row['tottime_us_per_sale']:.2f} | {row['cumtime_us_per_sale']:.2f} |"
            )
        add("")
    funnel_profiles(data, add)
    if ANALYSIS.exists():
        add(ANALYSIS.read_text().strip())
        add("")

    add("### Targets")
    add("")
    add("| target | goal | measured | |")
    add("| --- | --- | ---: | --- |")
    for name, goal, got, ok in targets:
        add(f"| {name} | {goal} | {got} | {verdict(ok)} |")
    if webhooks:
        name, goal, got, ok = webhook_target(webhooks)
        add(
            f"| {name} (`webhook_bench.py`, {webhooks['stamp']}, below) | {goal} | {got} | "
            f"{verdict(ok)} |"
        )
    for name, failure in data.get("failed", {}).items():
        reason = failure["error"].split(";")[0]
        log = " ".join(failure["log"].split())[-200:]
        add(f"| `{name}` | runs | not measured: {reason} (`{log}`) | **not met** |")
    add("")

    add("### Machine and commands")
    add("")
    add(
        f"- Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Linux "
        f"{m['kernel']}, shared with other work (1/5/15-minute load average at start "
        f"{', '.join(f'{x:.2f}' for x in m['loadavg_at_start'])}, at the end "
        f"{', '.join(f'{x:.2f}' for x in m.get('loadavg_at_end', []))}; the load average "
        "before each run is in the table of every run)."
    )
    add(
        f"- Python {m['python']}, dub-mock {m['dub_mock']}, werkzeug {m['werkzeug']}, "
        f"{m['granian']}; Node {m['node']}, Prism {m['prism']}; {m['wrk']}."
    )
    add("- Everything above: `make bench` (= `bash benchmarks/run.sh`).")
    add("- Servers (`$PORT` a free port):")
    for name, cmd in data["servers"].items():
        add(f"  - {name}: `{cmd}`")
    if data["runs"]:
        add(f"- Load: `{data['runs'][0]['command']}`")
    add(
        "  (`$RUN` makes invoice ids unique per run; the Lua script sends "
        "`Authorization: Bearer dub_bench` and "
        '`{"customerExternalId":"bench_cus","amount":1000,"invoiceId":...}`.)'
    )
    add(
        '- Seeding of each mock: `POST /__mock/customers {"externalId": "bench_cus"}` and '
        '`POST /__mock/tokens {"token": "dub_bench", "workspaceId": "ws_mock", '
        '"rateLimitPerMinute": 100000000}`.'
    )
    add("- Raw figures of the run: `benchmarks/out/results.json` (not committed).")
    return "\n".join(lines) + "\n", targets


def funnel(
    f: Figures, add: Callable[[str], None], targets: list[tuple[str, str, str, bool]]
) -> None:
    """The lead and click ratios, each held to the sale ratio of its pairing in this run."""
    rows = [
        (label, mock, prism, op, key, request, sale_mode)
        for label, mock, prism, _ in PAIRINGS
        for op, modes in FUNNEL
        for key, request, sale_mode in modes
        if f.has(mock, key) and f.has(prism, key)
    ]
    if not rows:
        return
    add("### The funnel: `/track/lead` and `/track/click` against Prism")
    add("")
    add(
        "The same servers in the same run; Prism serves the mock's merged spec (`dub-mock spec`, "
        "written to `benchmarks/out/spec.yaml`), so both answer the same operations. Prism "
        "answers a canned example; dub-mock authenticates (leads), rate-limits, validates, and "
        "records: a new lead creates a customer from the bench's click (seeded through the admin "
        "API) and a lead event on its link, a new click records a click on `dub.sh/bench` and "
        "counts it on the link; a repeated lead (same customer and event name) or click (same "
        "visitor: address and User-Agent) is found by Dub's de-duplication and records nothing. "
        "Target (issue 9): each at least as far ahead of Prism as sales are, i.e. a ratio at "
        "least the sale ratio of the same pairing and kind of request (new or repeated) in this "
        f"run; for reference, the sale ratios quoted before (run {EARLIER_RUN}) are in the "
        "last column but one."
    )
    add("")
    add(
        "| pairing | operation | request | dub-mock req/s | Prism req/s | ratio (range) "
        "| sales, this run | sales, quoted before | |"
    )
    add("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for label, mock, prism, op, key, request, sale_mode in rows:
        ratio, lo, hi = f.ratio(mock, prism, key)
        sale = f.ratio(mock, prism, sale_mode)[0] if f.has(prism, sale_mode) else float("nan")
        ok = ratio >= sale and f.valid(mock, key) and f.valid(prism, key)
        add(
            f"| {label} | {op} | {request} | {fmt_int(f.rps(mock, key))} | "
            f"{fmt_int(f.rps(prism, key))} | **{fmt(ratio, 1)}\u00d7** "
            f"({fmt(lo, 1)}\u2013{fmt(hi, 1)}) | {fmt(sale, 1)}\u00d7 | "
            f"{EARLIER_SALE_RATIOS[(label, sale_mode)]:.1f}\u00d7 | {verdict(ok)} |"
        )
        targets.append(
            (
                f"{label}, {op}, {request}",
                f"≥ sales' ratio ({fmt(sale, 1)}\u00d7)",
                f"{ratio:.1f}\u00d7",
                ok,
            )
        )
    add("")


def funnel_profiles(data: dict[str, Any], add: Callable[[str], None]) -> None:
    """Per funnel operation: py-spy under load (own time, in-request samples) beside cProfile
    in-process (own time per request), its p50 against a new sale's."""
    spies, profiles = data.get("pyspy_funnel") or {}, data.get("cprofile_funnel") or {}
    sale_cp = data.get("cprofile")
    for op in sorted(set(spies) | set(profiles)):
        spy, cp = spies.get(op), profiles.get(op)
        facts = []
        if spy and "error" not in spy:
            facts.append(
                f"py-spy (`--gil`, 500 Hz) while wrk sent new {op}s to `dub-mock serve --quiet` "
                f"({fmt_int(spy['wrk_rps_while_sampled'] or float('nan'))} req/s while "
                f"sampled; {spy['request_samples']:,} in-request samples)"
            )
        if cp:
            ratio = (
                f", {cp['p50_us_unprofiled'] / sale_cp['p50_us_unprofiled']:.2f}\u00d7 a new sale's"
                if sale_cp and sale_cp.get("p50_us_unprofiled")
                else ""
            )
            facts.append(
                f"cProfile over {cp['sales']:,} new {op}s in-process (p50 "
                f"{cp['p50_us_unprofiled']:.1f} µs each without the profiler{ratio})"
            )
        if not facts:
            continue
        add(f"New {op}s (`POST /track/{op}`): " + "; ".join(facts) + ".")
        add("")
        add(
            "| function (self, py-spy) | share | | function (own time, cProfile) | µs per request |"
        )
        add("| --- | ---: | --- | --- | ---: |")
        own = spy["self"][:12] if spy and "error" not in spy else []
        rows = cp["by_tottime"][:12] if cp else []
        for i in range(max(len(own), len(rows))):
            a = own[i] if i < len(own) else None
            c = rows[i] if i < len(rows) else None
            a_name = f"`{a['function']}`" if a else ""
            a_share = f"{a['share']:.1%}" if a else ""
            c_name = f"`{c['function']}`" if c else ""
            c_own = f"{c['tottime_us_per_sale']:.2f}" if c else ""
            add(f"| {a_name} | {a_share} | | {c_name} | {c_own} |")
        add("")


def chart(data: dict[str, Any], target: Path = CHART) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    f = Figures(data["runs"])
    order = [
        ("dub-mock", "dub-mock\n(default)"),
        ("dub-mock-sqlite", "dub-mock\nsqlite"),
        ("prism", "Prism\n(default)"),
        ("dub-mock-quiet", "dub-mock\n--quiet"),
        ("prism-silent", "Prism\n-v silent"),
        ("hello-world", "hello-world\nlimit"),
        ("dub-mock-waitress", "dub-mock on\nwaitress"),
    ]
    order += [
        (k, k.replace("dub-mock-", "dub-mock\n"))
        for k, m in f.by
        if m == "new" and k.startswith("dub-mock-") and k.endswith("-thread")
    ]
    order = [(k, label) for k, label in order if f.has(k, "new")]
    colors = {"new": "#3b6fb6", "fixed": "#e08a2c"}
    fig, (ax1, ax2, ax3) = plt.subplots(
        1, 3, figsize=(19, 5), gridspec_kw={"width_ratios": [3, 3, 2]}
    )
    x = range(len(order))
    width = 0.38
    for i, (mode, mode_label) in enumerate(MODES):
        xs = [p + (i - 0.5) * width for p in x]
        ys = [f.rps(k, mode) if f.has(k, mode) else 0 for k, _ in order]
        bars = ax1.bar(xs, ys, width, label=mode_label, color=colors[mode])
        for b, y in zip(bars, ys, strict=True):
            if y:
                ax1.annotate(
                    f"{y:,.0f}",
                    (b.get_x() + b.get_width() / 2, y),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
        p50 = [f.get(k, mode, "p50_ms") if f.has(k, mode) else 0 for k, _ in order]
        p99 = [f.get(k, mode, "p99_ms") if f.has(k, mode) else 0 for k, _ in order]
        ax2.bar(xs, p99, width, color=colors[mode], alpha=0.35, label=f"p99, {mode_label}")
        ax2.bar(xs, p50, width, color=colors[mode], label=f"p50, {mode_label}")
    for ax in (ax1, ax2):
        ax.set_xticks(list(x))
        ax.set_xticklabels([label for _, label in order], fontsize=8)
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    ax1.set_title("POST /track/sale: throughput (req/s, higher is better)")
    ax2.set_title("POST /track/sale: latency (ms, log scale, lower is better)")
    ax2.set_yscale("log")
    _, top = ax2.get_ylim()
    ax2.set_ylim(top=top * 30)  # room for the legend above the bars
    ratio_chart(ax3, f, colors)
    s = data["settings"]
    fig.suptitle(
        f"wrk -t{s['threads']} -c{s['connections']}, "
        f"median of {s['rounds']} \u00d7 {s['duration_s']:g} s, "
        f"{data['machine']['cores']} cores shared with wrk",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    plt.close(fig)


def ratio_chart(ax: Any, f: Figures, colors: dict[str, str]) -> None:
    """dub-mock's throughput over Prism's per operation, both pairings, new and repeated."""
    groups = [
        (f"{op}\n{short}", mock, prism, keys)
        for label, mock, prism, _ in PAIRINGS
        for short in ["as run" if label == "as users run them" else "quiet"]
        for op, keys in (
            ("sale", ("new", "fixed")),
            ("lead", ("lead-new", "lead-fixed")),
            ("click", ("click-new", "click-fixed")),
        )
        if f.has(mock, keys[0]) and f.has(prism, keys[0])
    ]
    width = 0.38
    for i, (mode, label) in enumerate((("new", "new record"), ("fixed", "same request again"))):
        xs = [p + (i - 0.5) * width for p in range(len(groups))]
        ys = [
            f.ratio(mock, prism, keys[i])[0] if f.has(mock, keys[i]) else 0
            for _, mock, prism, keys in groups
        ]
        bars = ax.bar(xs, ys, width, label=label, color=colors[mode])
        for b, y in zip(bars, ys, strict=True):
            if y:
                ax.annotate(
                    f"{y:.1f}\u00d7",
                    (b.get_x() + b.get_width() / 2, y),
                    ha="center",
                    va="bottom",
                    fontsize=7,
                )
    ax.set_xticks(list(range(len(groups))))
    ax.set_xticklabels([g[0] for g in groups], fontsize=8)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    ax.set_title("dub-mock / Prism, per operation (higher is better)")


def load_webhooks() -> dict[str, Any] | None:
    """webhook_bench.py's last figures (benchmarks/out/webhooks.json), if any."""
    path = HERE / "out" / "webhooks.json"
    if not path.exists():
        return None
    figures: dict[str, Any] = json.loads(path.read_text())
    return figures


def webhook_target(webhooks: dict[str, Any]) -> tuple[str, str, str, bool]:
    ok = webhooks["ratio"] >= 0.7 and webhooks["all_arrived"]
    got = f"{webhooks['ratio']:.0%}, " + (
        "every event arrived" if webhooks["all_arrived"] else "events missing"
    )
    return ("sales with one webhook endpoint", "≥ 70% of none, every event", got, ok)


def readme_section(
    data: dict[str, Any],
    targets: list[tuple[str, str, str, bool]],
    webhooks: dict[str, Any] | None = None,
) -> str:
    """The README's performance section, quoting this run's ratios (and webhook_bench's)."""
    f = Figures(data["runs"])
    s = data["settings"]
    started = os.environ.get("BENCH_STARTED")
    took = (
        f"{(time.time() - float(started)) / 60:.0f} minutes in this run"
        if started
        else "about 20 minutes"
    )
    lines = [
        "## Performance",
        "",
        f"`make bench` (not part of CI; {took}) runs dub-mock and Stoplight Prism 5 "
        "(`prism mock`) on the same operations (the mock's merged spec, `dub-mock spec`), on "
        "the same machine, under the same load: wrk "
        f"with {s['threads']} threads and {s['connections']} connections, "
        f"{s['duration_s']:g} s runs, the servers alternating over {s['rounds']} rounds. Prism "
        "answers a canned example; dub-mock authenticates, rate-limits, validates, records the "
        "sale, lead or click, and keeps idempotency and de-duplication. Throughput of dub-mock "
        "divided by Prism's (median of the rounds; above 1 means dub-mock is faster):",
        "",
        "| dub-mock vs Prism | operation | a new record per request | the same request again |",
        "| --- | --- | ---: | ---: |",
    ]
    rows = [
        ("as users run them: `dub-mock serve` vs `prism mock`", "dub-mock", "prism"),
        (
            "quiet: `dub-mock serve --quiet` vs `prism mock -v silent`",
            "dub-mock-quiet",
            "prism-silent",
        ),
        ("`dub-mock serve --state sqlite:///...` vs `prism mock`", "dub-mock-sqlite", "prism"),
    ]
    operations = [
        ("`POST /track/sale`", "new", "fixed"),
        ("`POST /track/lead`", "lead-new", "lead-fixed"),
        ("`POST /track/click`", "click-new", "click-fixed"),
    ]
    for label, a, b in rows:
        shown = label
        for op, *keys in operations:
            if not any(f.has(a, k) and f.has(b, k) for k in keys):
                continue
            cells = [
                f"**{f.ratio(a, b, k)[0]:.1f}\u00d7**" if f.has(a, k) and f.has(b, k) else "\u2013"
                for k in keys
            ]
            lines.append(f"| {shown} | {op} | {' | '.join(cells)} |")
            shown = ""
    lines.append("")
    lines.append(
        "The same request again: one replayed `invoiceId`; one customer and lead event name "
        "(de-duplicated for 7 days); one visitor, by address and User-Agent (de-duplicated for "
        "an hour)."
    )
    lines.append("")
    facts = []
    if f.has("dub-mock-quiet", "new"):
        facts.append(
            f"`dub-mock serve --quiet` answers {fmt_int(f.rps('dub-mock-quiet', 'new'))} new "
            f"sales a second (p99 {fmt(f.get('dub-mock-quiet', 'new', 'p99_ms'), 1)} ms), "
            f"{fmt_int(f.rps('dub-mock-quiet', 'lead-new'))} new leads and "
            f"{fmt_int(f.rps('dub-mock-quiet', 'click-new'))} new clicks on "
            f"{data['machine']['cores']} cores shared with wrk"
        )
    if f.has("hello-world", "new") and f.has("dub-mock-quiet", "new"):
        hello = f.rps("hello-world", "new")
        facts.append(
            f"{f.rps('dub-mock-quiet', 'new') / hello:.0%} (new sales) and "
            f"{f.rps('dub-mock-quiet', 'fixed') / hello:.0%} (replays) of what a hello-world "
            "RSGI app reaches on the same server"
        )
    ip = data.get("inprocess")
    if ip:
        facts.append(
            f"in-process, a recorded sale costs {ip['fresh']['net_p50_us']:.0f} µs (p50), "
            f"{ip['growth_p50']:.2f}\u00d7 that after 100,000 sales"
        )
    mem = data.get("memory")
    if mem:
        facts.append(
            f"after {mem['sales_recorded']:,} sales in memory the server's RSS is "
            f"{mem['rss_after_mib']:.0f} MiB"
        )
    if facts:
        lines.append("In the same run: " + "; ".join(facts) + ".")
        lines.append("")
    targets = list(targets)
    if webhooks:
        targets.append(webhook_target(webhooks))
        drain = (
            f", the last one {webhooks['drain_s']:.1f} s (median) after the load stopped"
            if webhooks["drain_s"] == webhooks["drain_s"]
            else ""
        )
        lines.append(
            "**Webhooks.** With one endpoint registered (a fast receiver on the same machine), "
            f"`dub-mock serve --quiet` answered {webhooks['ratio']:.0%} of the sales a second it "
            f"answered with none ({webhooks['one']:,.0f} against {webhooks['none']:,.0f}, "
            f"medians of {webhooks['settings']['rounds']} alternating rounds; target ≥ 70%); "
            + (
                "every sale's event arrived"
                if webhooks["all_arrived"]
                else "**not every sale's event arrived**"
            )
            + f"{drain}; {webhooks['failed_attempts']} delivery attempts failed "
            f"(`benchmarks/webhook_bench.py`, {webhooks['stamp']} UTC)."
        )
        lines.append("")
    if f.has("dub-mock-waitress", "new") and f.has("dub-mock-quiet", "new"):
        lines.append(
            "`dub-mock serve` runs the werkzeug app on granian, a Rust HTTP server: the same app "
            f"on waitress serves {f.ratio('dub-mock-quiet', 'dub-mock-waitress', 'new')[0]:.1f}"
            "\u00d7 fewer requests a second. The in-test `MockServer` keeps waitress, which "
            "runs in a thread of the test process."
        )
        lines.append("")
    missed = [f"{name} ({got}, goal {goal})" for name, goal, got, ok in targets if not ok]
    if missed:
        lines.append("Targets of the project not met in this run: " + "; ".join(missed) + ".")
        lines.append("")
    lines.append(
        "Every figure, the per-run tables, the chart, the profile (where the time goes), the "
        "targets that are not met and why, and the exact commands: "
        "[benchmarks/RESULTS.md](benchmarks/RESULTS.md)."
    )
    wrapped = [
        line
        if line.startswith(("|", "#")) or not line
        else textwrap.fill(line, 99, break_on_hyphens=False)
        for line in lines
    ]
    return "\n".join(wrapped) + "\n"


def write(data: dict[str, Any]) -> None:
    """RESULTS.md, the chart and the README section; a partial run (BENCH_ONLY, BENCH_SKIP,
    BENCH_OPS) writes only benchmarks/out/RESULTS-partial.md and out/results.png."""
    webhooks = load_webhooks()
    block, targets = render(data, webhooks)
    partial = bool(data.get("partial"))
    results = HERE / "out" / "RESULTS-partial.md" if partial else RESULTS
    existing = results.read_text() if results.exists() else ""
    results.write_text(splice(existing, block, BEGIN, END))
    if data["runs"]:
        chart(data, HERE / "out" / "results.png" if partial else CHART)
    if partial:
        print(f"partial run: wrote {results}")
        return
    print(f"wrote {RESULTS} and {CHART}")
    # the README's performance section quotes this run too (and webhook_bench.py's last one)
    section = readme_section(data, targets, webhooks)
    snippet = HERE / "out" / "README-performance.md"
    snippet.write_text(section)
    readme = README.read_text() if README.exists() else ""
    if BEGIN in readme and END in readme and data["runs"]:
        README.write_text(splice(readme, section, BEGIN, END))
        print(f"updated the performance section of {README}")


def refresh() -> None:
    """Re-render from out/results.json, e.g. once webhook_bench.py has new figures; nothing
    when the last bench.py run was partial (its figures must not replace a full run's)."""
    path = HERE / "out" / "results.json"
    if not path.exists():
        return
    data = json.loads(path.read_text())
    if data.get("partial"):
        print("the last bench.py run was partial: RESULTS.md and the README are left as they are")
        return
    write(data)


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "out" / "results.json"
    write(json.loads(path.read_text()))
