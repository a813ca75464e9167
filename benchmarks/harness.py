"""Servers on free ports, wrk runs and their parsed results: the plumbing under bench.py.

Every server is a child process in its own session, so stopping it ends its whole tree
(granian's main process and its workers, Prism's node process) and nothing else.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_BIN = ROOT / ".venv" / "bin"
OUT = HERE / "out"
WRK = HERE / "wrk"
SPEC = OUT / "spec.yaml"
"""What Prism serves: `dub-mock spec` (spec/openapi.yaml and spec/funnel.yaml merged)."""
PRISM = HERE / "node_modules" / ".bin" / "prism"

BENCH_TOKEN = "dub_bench"
BENCH_CUSTOMER = "bench_cus"
BENCH_LINK = {"id": "link_bench", "domain": "dub.sh", "key": "bench", "url": "https://example.com/"}
BENCH_CLICK_ID = "bench_click_0001"
SALE_PATH = "/track/sale"


@dataclass(frozen=True)
class Operation:
    """One tracked operation wrk drives: its path, its script and the script's own arguments."""

    name: str
    path: str
    script: Path
    extra_args: tuple[str, ...] = ()

    @property
    def shown_script(self) -> str:
        return str(self.script.relative_to(ROOT))


OPERATIONS = {
    "sale": Operation("sale", SALE_PATH, WRK / "sale.lua"),
    "lead": Operation("lead", "/track/lead", WRK / "lead.lua", (BENCH_CLICK_ID,)),
    "click": Operation(
        "click", "/track/click", WRK / "click.lua", (BENCH_LINK["domain"], BENCH_LINK["key"])
    ),
}


def write_spec() -> Path:
    """The merged spec the mock serves (`dub-mock spec`), for Prism to serve the same operations."""
    OUT.mkdir(exist_ok=True)
    out = subprocess.run(
        [str(VENV_BIN / "dub-mock"), "spec"], capture_output=True, text=True, check=True
    )
    SPEC.write_text(out.stdout)
    return SPEC


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1 (closed again for the server to bind)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def http(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, bytes]:
    """One plain HTTP call; returns (status, body) for 2xx and error statuses alike."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def sale_body(invoice_id: str) -> dict[str, Any]:
    return {"customerExternalId": BENCH_CUSTOMER, "amount": 1000, "invoiceId": invoice_id}


@dataclass
class Server:
    """A server under test: a name, the command that starts it and how to tell it is up."""

    name: str
    argv: list[str]
    kind: str  # "mock", "prism" or "hello"
    cwd: Path = ROOT
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def command(self) -> str:
        """The command line as a person would type it (the port shown as $PORT)."""
        shown = [
            "$PORT" if a == str(self.port) else a.replace(str(ROOT) + "/", "") for a in self.argv
        ]
        env = [f"{k}={v}" for k, v in self.env.items()]
        return " ".join(env + shown)

    def start(self, timeout: float = 60.0) -> None:
        OUT.mkdir(exist_ok=True)
        self.log_path = OUT / f"{self.name}.log"
        log = self.log_path.open("wb")
        env = {**os.environ, **self.env}
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; see {self.log_path}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    pass
            except OSError:
                time.sleep(0.2)
                continue
            if self._ready():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not come up in {timeout:.0f}s; see {self.log_path}")

    def _ready(self) -> bool:
        try:
            if self.kind == "mock":
                status, _ = http("GET", self.url + "/__mock/health", timeout=2)
            else:
                status, _ = http(
                    "POST",
                    self.url + SALE_PATH,
                    sale_body("probe"),
                    {"Authorization": "Bearer dub_probe"},
                    timeout=2,
                )
        except OSError:
            return False
        return status < 500

    def stop(self) -> None:
        """SIGTERM to the server's own process group, SIGKILL if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = self.proc.pid  # start_new_session: the group id is the child's pid
        try:
            os.killpg(pgid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass

    def pids(self) -> list[int]:
        """The server's process and all its descendants."""
        if self.proc is None:
            return []
        return process_tree(self.proc.pid)

    def rss_kib(self) -> dict[int, int]:
        """VmRSS in KiB of every process in the server's tree."""
        return {pid: rss for pid in self.pids() if (rss := rss_of(pid)) is not None}


def process_tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time used so far by these processes (all their threads)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / CLOCK_TICKS


def rss_of(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


@dataclass
class WrkResult:
    """One wrk run, parsed from the JSON line the Lua script's done() prints."""

    server: str
    mode: str
    round: int
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    command: str
    server_cpu_s: float = 0.0
    loadavg_before: float = 0.0
    op: str = "sale"

    @property
    def cpu_us_per_request(self) -> float:
        """The server's own CPU time per answered request (all its processes and threads)."""
        return self.server_cpu_s / self.requests * 1e6 if self.requests else float("nan")

    @property
    def non_2xx_share(self) -> float:
        return self.non_2xx / self.requests if self.requests else 1.0

    @property
    def valid(self) -> bool:
        """A run with over 1% non-2xx answers (or no answers at all) measures nothing."""
        return self.requests > 0 and self.non_2xx_share <= 0.01

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "valid": self.valid,
            "non_2xx_share": self.non_2xx_share,
            "cpu_us_per_request": self.cpu_us_per_request,
        }


def wrk_version() -> str:
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    text = (out.stdout + out.stderr).strip().splitlines()
    return text[0] if text else "wrk"


def run_wrk(
    server: Server,
    mode: str,
    run_id: str,
    *,
    duration: float,
    threads: int,
    connections: int,
    round_no: int = 0,
    limit_per_thread: int = 0,
    token: str = BENCH_TOKEN,
    op: str = "sale",
) -> WrkResult:
    """Drive `server` with wrk: operation `op` ("sale", "lead" or "click"), in `mode` ("new":
    a new record per request, or "fixed": the same request again), and parse the result."""
    operation = OPERATIONS[op]
    done_prefix = OUT / f"wrk-done-{run_id}-"
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration:g}s",
        "--timeout",
        "10s",
        "-s",
        str(operation.script),
        server.url + operation.path,
        "--",
        mode,
        run_id,
        token,
        str(limit_per_thread),
        str(done_prefix) if limit_per_thread else "-",
        *operation.extra_args,
    ]
    pids = server.pids()
    load = os.getloadavg()[0]
    cpu_before = cpu_seconds(pids)
    if limit_per_thread:
        proc = _run_until_done(argv, done_prefix, threads, duration)
    else:
        proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    cpu_used = cpu_seconds(pids) - cpu_before
    line = next(
        (ln for ln in proc.stdout.splitlines() if ln.startswith("WRK_JSON ")),
        None,
    )
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stdout}\n{proc.stderr}")
    data = json.loads(line[len("WRK_JSON ") :])
    secs = data["duration_us"] / 1e6
    shown = " ".join(
        [*argv[:7], operation.shown_script, f"$URL{operation.path}", "--", mode, "$RUN"]
    )
    return WrkResult(
        server=server.name,
        mode=mode,
        round=round_no,
        requests=data["requests"],
        duration_s=secs,
        rps=data["requests"] / secs if secs else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        non_2xx=data["status"],
        socket_errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
        command=shown,
        server_cpu_s=cpu_used,
        loadavg_before=load,
        op=op,
    )


def wait_for_quiet(max_wait: float, threshold: float) -> tuple[float, float]:
    """Wait (at most max_wait s) for the 1-minute load average to drop below threshold.

    The machine is shared: a benchmark started while a test suite runs measures the suite.
    Returns (seconds waited, load average at the end)."""
    start = time.monotonic()
    while time.monotonic() - start < max_wait and os.getloadavg()[0] >= threshold:
        time.sleep(5)
    return time.monotonic() - start, os.getloadavg()[0]


def _run_until_done(
    argv: list[str], done_prefix: Path, threads: int, timeout: float
) -> subprocess.CompletedProcess[str]:
    """wrk with a per-thread request limit: interrupt it once every thread has stopped.

    wrk's main thread sleeps for the whole -d even after its threads stop; SIGINT wakes it,
    and it then prints its summary as usual."""
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    markers = [Path(f"{done_prefix}{i}") for i in range(1, threads + 1)]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if all(m.exists() for m in markers):
            time.sleep(0.2)
            proc.send_signal(signal.SIGINT)
            break
        time.sleep(0.1)
    out, err = proc.communicate(timeout=timeout + 30)
    for m in markers:
        m.unlink(missing_ok=True)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) / 2


def tool_version(argv: list[str]) -> str:
    if shutil.which(argv[0]) is None and not Path(argv[0]).exists():
        return "missing"
    out = subprocess.run(argv, capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"
