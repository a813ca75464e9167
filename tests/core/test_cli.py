"""`dub-mock serve | spec` as a user runs them: a real process on a free port, real signals."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from mockserver.cli import main

DUB_MOCK = [sys.executable, "-m", "mockserver"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, proc: subprocess.Popen[str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited early: {proc.communicate()}")
        try:
            with urllib.request.urlopen(f"{url}/__mock/health", timeout=1) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not come up")


def post(url: str, body: object, token: str | None = "dub_mock_key") -> tuple[int, object]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"customers": [{"externalId": "seeded"}]}), encoding="utf-8")
    proc = subprocess.Popen(
        [*DUB_MOCK, "serve", "--port", str(port), "--seed", str(seed), "--token", "dub_second",
         "--state", f"sqlite:///{tmp_path}/cli.db"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url, proc)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_serve_prints_a_banner_serves_sales_and_stops_cleanly_on_sigterm(
    served: tuple[str, subprocess.Popen[str]],
) -> None:
    url, proc = served
    status, body = post(f"{url}/track/sale", {"customerExternalId": "seeded", "amount": 4900})
    assert status == 200
    assert body["sale"]["amount"] == 4900  # type: ignore[index]
    assert (
        post(f"{url}/track/sale", {"customerExternalId": "seeded", "amount": 1}, "dub_second")[0]
        == 200
    )
    with urllib.request.urlopen(f"{url}/__mock/state") as answer:
        assert [s["amount"] for s in json.loads(answer.read())["sales"]] == [4900, 1]
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert url in stderr and "sqlite:///" in stderr and "dub_mock_key, dub_second" in stderr
    assert f"{url}/__mock/state" in stderr
    assert '"POST /track/sale" 200' in stderr
    assert "dub_mock_key" not in stderr.split("Press Ctrl-C to stop.")[1]
    assert "Traceback" not in stderr


def test_serve_stops_cleanly_on_ctrl_c(served: tuple[str, subprocess.Popen[str]]) -> None:
    _, proc = served
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "--workers", "2"], "--workers > 1 needs shared state"),
        (["serve", "--state", "nosql://x"], "unknown state URL"),
        (["serve", "--latency", "fast"], "--latency takes MS or MIN-MAX"),
        (["serve", "--seed", "/nonexistent/seed.yaml"], "cannot read seed file"),
    ],
    ids=["memory-workers", "state-url", "latency", "seed"],
)
def test_bad_flags_exit_2_with_the_fix(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_spec_prints_the_bundled_yaml_and_its_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec"]) == 0
    document = yaml.safe_load(capsys.readouterr().out)
    operations = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    assert operations == {
        "trackSale", "trackLead", "trackClick", "trackLeadClient", "trackSaleClient"
    }  # fmt: skip
    assert {"token", "publishableKey"} <= set(document["components"]["securitySchemes"])
    assert main(["spec", "--path"]) == 0
    paths = capsys.readouterr().out.split()
    assert [os.path.basename(p) for p in paths] == ["openapi.yaml", "funnel.yaml"]
    assert all(os.path.isfile(p) for p in paths)


def test_python_dash_m_is_the_same_cli() -> None:
    done = subprocess.run([*DUB_MOCK, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("dub-mock ")


def test_the_demo_seed_that_make_serve_uses_is_valid_and_ready_to_buy() -> None:
    from werkzeug.test import Client

    from mockserver import create_app

    seed = Path(__file__).resolve().parents[2] / "examples" / "seed.yaml"
    client = Client(create_app(seed=str(seed), quiet=True))
    answer = client.post(
        "/track/sale",
        json={"customerExternalId": "user_42", "amount": 1580, "currency": "JPY"},
        headers={"Authorization": "Bearer dub_mock_key"},
    )
    assert answer.status_code == 200
    assert answer.get_json()["sale"] == {
        "amount": 1019,
        "currency": "usd",
        "paymentProcessor": "custom",
        "invoiceId": None,
        "metadata": None,
    }
    assert answer.get_json()["customer"]["name"] == "Ada Lovelace"


ROOT = Path(__file__).resolve().parents[2]
README_PORT = "http://127.0.0.1:8787"


def funnel_commands() -> list[list[str]]:
    """The curl commands of the README's funnel walk-through, in order, as argument lists."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index("\n## The conversion funnel")
    section = text[start : text.index("\n## ", start + 1)]
    (block,) = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    lines = block.replace("\\\n", " ").splitlines()
    return [shlex.split(line, comments=True) for line in lines if line.startswith("curl ")]


def as_curl_sends(argv: list[str], base_url: str) -> urllib.request.Request:
    """The request curl makes for these arguments (the few options the README uses), with the
    README's address moved to ``base_url``; curl's own default headers included."""
    assert argv[0] == "curl"
    method, url, data = None, None, None
    headers = {"User-Agent": "curl/8.5.0", "Accept": "*/*"}
    args = iter(argv[1:])
    for arg in args:
        if arg == "-s":
            continue
        if arg == "-X":
            method = next(args)
        elif arg == "-H":
            name, _, value = next(args).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "-d":
            data = next(args).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif arg.startswith(README_PORT):
            url = base_url + arg[len(README_PORT) :]
        else:
            raise AssertionError(f"the README's curl uses an option this test does not know: {arg}")
    assert url is not None, argv
    return urllib.request.Request(url, data=data, headers=headers, method=method)


def stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL to the whole process group: the server's worker processes hold
    its output pipes, so killing the parent alone would leave them running and the pipes open."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def test_the_readme_funnel_walk_through_works_on_the_demo_seed() -> None:
    """`make serve`'s seed has the link dub.sh/try: the README's click → lead → sale commands,
    sent as curl sends them, leave one customer, one lead and one sale on that link."""
    commands = funnel_commands()
    paths = [urlsplit(next(a for a in c if a.startswith("http"))).path for c in commands]
    assert paths == ["/track/click", "/track/lead", "/track/sale", "/__mock/state"]
    port = free_port()
    proc = subprocess.Popen(
        [*DUB_MOCK, "serve", "--port", str(port), "--seed", str(ROOT / "examples" / "seed.yaml"),
         "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    answers = []
    try:
        wait_until_up(url, proc)
        click_id = None
        for argv in commands:
            if click_id is not None:
                argv = [arg.replace("$CLICK_ID", click_id) for arg in argv]
            with urllib.request.urlopen(as_curl_sends(argv, url), timeout=10) as answer:
                assert answer.status == 200
                answers.append(json.loads(answer.read()))
            click_id = click_id or answers[0]["clickId"]
    finally:
        stop(proc)
    click, lead, sale, state = answers
    assert lead["link"]["shortLink"] == "https://dub.sh/try"
    (link,) = [
        link for link in state["links"] if (link["domain"], link["key"]) == ("dub.sh", "try")
    ]
    assert (link["clicks"], link["leads"], link["sales"]) == (1, 1, 1)
    (customer,) = [
        c for c in state["customers"] if c["externalId"] == lead["customer"]["externalId"]
    ]
    assert (customer["clickId"], customer["linkId"]) == (click["clickId"], link["id"])
    assert customer["id"] == sale["customer"]["id"]
    (new_lead,) = [e for e in state["leads"] if e["customerId"] == customer["id"]]
    assert (new_lead["clickId"], new_lead["linkId"]) == (click["clickId"], link["id"])
    (new_sale,) = [s for s in state["sales"] if s["customerId"] == customer["id"]]
    assert (new_sale["linkId"], new_sale["leadId"]) == (link["id"], new_lead["id"])
    assert link["saleAmount"] == new_sale["amount"] > 0
