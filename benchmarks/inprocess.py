"""In-process cost of one validated, recorded sale: the WSGI app called directly, no socket.

Each call gets a prepared environ (built before the clock starts) and the clock covers
`app(environ, start_response)` plus draining the answer. The same loop around a WSGI app that
does nothing measures the harness's own overhead, which is subtracted. The figures are taken
on a fresh app and again after 100,000 recorded sales (the growth ratio). For comparison, the
same sales through `werkzeug.test.Client`, whose own overhead is measured the same way.

    .venv/bin/python benchmarks/inprocess.py [--json out.json] [--fill 100000]
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.test import Client

from mockserver import create_app

TOKEN = "dub_bench"
CUSTOMER = "bench_cus"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

BASE_ENVIRON: dict[str, Any] = {
    "REQUEST_METHOD": "POST",
    "SCRIPT_NAME": "",
    "PATH_INFO": "/track/sale",
    "QUERY_STRING": "",
    "SERVER_NAME": "127.0.0.1",
    "SERVER_PORT": "8787",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "127.0.0.1",
    "HTTP_HOST": "127.0.0.1:8787",
    "HTTP_AUTHORIZATION": f"Bearer {TOKEN}",
    "CONTENT_TYPE": "application/json",
    "wsgi.version": (1, 0),
    "wsgi.url_scheme": "http",
    "wsgi.errors": sys.stderr,
    "wsgi.multithread": True,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
}


class _Status:
    """start_response that keeps the last status line."""

    status = ""

    def __call__(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        self.status = status
        return None


def environ_for(body: bytes, path: str = "/track/sale") -> dict[str, Any]:
    env = dict(BASE_ENVIRON)
    env["PATH_INFO"] = path
    env["CONTENT_LENGTH"] = str(len(body))
    env["wsgi.input"] = io.BytesIO(body)
    return env


def sale(invoice: str) -> bytes:
    return json.dumps(
        {"customerExternalId": CUSTOMER, "amount": 1000, "invoiceId": invoice},
        separators=(",", ":"),
    ).encode()


def call(app: WSGIApp, env: dict[str, Any]) -> tuple[str, bytes]:
    sr = _Status()
    it = app(env, sr)
    try:
        body = b"".join(it)
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()
    return sr.status, body


def null_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Does nothing a real app would: measures the loop, the clock and the environ alone."""
    start_response("200 OK", [])
    return [b""]


def timed(app: WSGIApp, bodies: list[bytes], check: bool) -> list[int]:
    """Nanoseconds per call; the environ of each call is built before its clock starts."""
    envs = [environ_for(b) for b in bodies]
    out = []
    clock = time.perf_counter_ns
    for env in envs:
        sr = _Status()
        t0 = clock()
        it = app(env, sr)
        body = b"".join(it)
        close = getattr(it, "close", None)
        if close is not None:
            close()
        t1 = clock()
        out.append(t1 - t0)
        if check and not sr.status.startswith("200"):
            raise RuntimeError(f"sale answered {sr.status}: {body[:300]!r}")
    return out


def timed_client(app: WSGIApp, bodies: list[bytes]) -> list[int]:
    client = Client(app)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    out = []
    clock = time.perf_counter_ns
    for b in bodies:
        t0 = clock()
        resp = client.post("/track/sale", data=b, headers=headers, content_type="application/json")
        resp.get_data()
        resp.close()
        out.append(clock() - t0)
        if resp.status_code != 200:
            raise RuntimeError(f"client sale answered {resp.status_code}")
    return out


def pct(ns: list[int], q: float) -> float:
    ordered = sorted(ns)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] / 1000.0


def summary(ns: list[int], overhead: list[int] | None = None) -> dict[str, float]:
    s = {"p50_us": pct(ns, 50), "p99_us": pct(ns, 99), "mean_us": sum(ns) / len(ns) / 1000}
    if overhead is not None:
        s["net_p50_us"] = s["p50_us"] - pct(overhead, 50)
        s["net_p99_us"] = s["p99_us"] - pct(overhead, 99)
    return s


def make_app() -> WSGIApp:
    """The app as `dub-mock serve` builds it, seeded as the load benchmark seeds the server."""
    app: WSGIApp = create_app(quiet=True)
    for path, payload in (
        ("/__mock/customers", {"externalId": CUSTOMER}),
        (
            "/__mock/tokens",
            {"token": TOKEN, "workspaceId": "ws_mock", "rateLimitPerMinute": 100_000_000},
        ),
    ):
        status, body = call(app, environ_for(json.dumps(payload).encode(), path))
        if not status.startswith("201"):
            raise RuntimeError(f"seeding {path} answered {status}: {body!r}")
    status, body = call(app, environ_for(sale("probe")))
    answer = json.loads(body)
    if not status.startswith("200") or not answer.get("sale"):
        raise RuntimeError(f"the probe sale was not recorded: {status} {body!r}")
    return app


def run(measure: int, fill: int) -> dict[str, Any]:
    app = make_app()
    counter = iter(range(10**9))

    def new_bodies(n: int, tag: str) -> list[bytes]:
        return [sale(f"inv_{tag}_{next(counter)}") for _ in range(n)]

    timed(app, new_bodies(2000, "warm"), check=True)
    timed(null_app, new_bodies(2000, "warm-null"), check=False)

    overhead = timed(null_app, new_bodies(measure, "null"), check=False)
    fresh = timed(app, new_bodies(measure, "fresh"), check=True)
    replay = timed(app, [sale("inv_fresh_2000")] * measure, check=True)
    client_null = timed_client(null_app, new_bodies(measure // 4, "cnull"))
    client = timed_client(app, new_bodies(measure // 4, "client"))
    recorded = 1 + 2000 + measure + measure // 4

    started = time.perf_counter()
    while recorded < fill:
        batch = min(10_000, fill - recorded)
        timed(app, new_bodies(batch, "fill"), check=True)
        recorded += batch
    fill_s = time.perf_counter() - started

    overhead_after = timed(null_app, new_bodies(measure, "null2"), check=False)
    after = timed(app, new_bodies(measure, "after"), check=True)
    recorded += measure

    fresh_s = summary(fresh, overhead)
    after_s = summary(after, overhead_after)
    return {
        "measured_calls": measure,
        "harness_overhead": summary(overhead),
        "fresh": fresh_s,
        "idempotent_replay": summary(replay, overhead),
        "werkzeug_client": {
            **summary(client),
            "client_overhead_p50_us": pct(client_null, 50),
            "net_p50_us": pct(client, 50) - pct(client_null, 50),
        },
        "after_fill": after_s,
        "sales_before_after_measure": recorded - measure,
        "fill_seconds": round(fill_s, 2),
        "growth_p50": after_s["net_p50_us"] / fresh_s["net_p50_us"],
        "growth_p99": after_s["net_p99_us"] / fresh_s["net_p99_us"],
    }


def memory_per_sale(n: int) -> dict[str, Any]:
    """Python heap growth per recorded sale, by the source line that allocated it."""
    app = make_app()
    timed(app, [sale(f"inv_mwarm_{i}") for i in range(2000)], check=True)  # fills the journal
    bodies = [sale(f"inv_mem_{i}") for i in range(n)]
    envs = [environ_for(b) for b in bodies]
    del bodies
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for env in envs:
        call(app, env)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    envs.clear()
    diff = [d for d in after.compare_to(before, "lineno") if d.size_diff > 0]
    total = sum(d.size_diff for d in diff)
    root = str(__import__("pathlib").Path(__file__).resolve().parent.parent) + "/"
    return {
        "sales": n,
        "bytes_per_sale": total / n,
        "top": [
            {
                "where": f"{d.traceback[0].filename.replace(root, '')}:{d.traceback[0].lineno}",
                "bytes_per_sale": d.size_diff / n,
            }
            for d in diff[:8]
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the figures here")
    parser.add_argument("--measure", type=int, default=20_000)
    parser.add_argument("--fill", type=int, default=100_000)
    parser.add_argument("--memory-sales", type=int, default=20_000)
    args = parser.parse_args(argv)
    result = run(args.measure, args.fill)
    result["memory"] = memory_per_sale(args.memory_sales)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
