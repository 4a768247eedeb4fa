"""No secret is ever printed: every ``herald`` command (the click tree is walked, so a new
command cannot be forgotten) runs against subscribers of all seven channels with realistic
tokens, a PostgreSQL DSN and a Redis broker URL with passwords, and failed deliveries whose
errors and replies quote the URL; no token appears on stdout, stderr or in the log."""

from __future__ import annotations

import base64
import os
import re
import secrets
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import click
import psycopg
import pytest
from click.testing import CliRunner, Result

from tests.conftest import site_source, write_config
from tests.support.chat_fakes import (
    FakeDingTalk,
    FakeDiscord,
    FakeFeishu,
    FakeSlack,
    FakeTelegram,
    FakeWeCom,
)
from worker.cli import main
from worker.demo.site import DemoSite

pytestmark = pytest.mark.timeout(240)

WECOM_KEY = "5e1f0c2a-9b7d-4c3e-8f6a-2d1b0c9e8f7a"
DINGTALK_TOKEN = "8c1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e"
DINGTALK_SECRET = "SEC" + "4f0a9d1c7b2e8f3a" * 4
FEISHU_TOKEN = "2d4c1f0e-7a8b-4c5d-9e0f-1a2b3c4d5e6f"
FEISHU_SECRET = "qW3rTy7uIo9pAs2dFg"
SLACK_TOKEN = "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2"
DISCORD_TOKEN = "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56Qr78St90Uv12Wx34Yz56-_Ab12Cd34Ef56Gh78"
TELEGRAM_TOKEN = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw9"
HOOK_PASSWORD = "hunter2-basic-auth-pw"
HOOK_TOKEN = "hook-query-token-7f3e9a"
ECHO_PASSWORD = "echo-basic-auth-pw-81c"
ECHO_TOKEN = "echo-query-token-2b6d0c"
BADPORT_TOKEN = "badport-query-token-94e1"
DB_PASSWORD = "pg-Pa55word-0c7e"
BROKER_PASSWORD = "redis-Pa55word-5a1f"
WHSEC = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
SECRETS = (
    WECOM_KEY, DINGTALK_TOKEN, DINGTALK_SECRET, DINGTALK_SECRET[3:], FEISHU_TOKEN, FEISHU_SECRET,
    SLACK_TOKEN, DISCORD_TOKEN, TELEGRAM_TOKEN, HOOK_PASSWORD, HOOK_TOKEN, ECHO_PASSWORD,
    ECHO_TOKEN, BADPORT_TOKEN, DB_PASSWORD, BROKER_PASSWORD, WHSEC, WHSEC[6:],
)  # fmt: skip


class EchoServer(ThreadingHTTPServer):
    """Answers every request 500 with a body quoting the URL it was asked for, as many
    servers and proxies do in their error pages."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Echo)
        Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Echo(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = f"upstream failed for POST http://{self.headers['Host']}{self.path}".encode()
        self.send_response(500)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture()
def endpoints() -> Iterator[dict[str, Any]]:
    fakes: dict[str, Any] = {
        "wecom": FakeWeCom(WECOM_KEY),
        "dingtalk": FakeDingTalk(DINGTALK_TOKEN, secret=DINGTALK_SECRET),
        "feishu": FakeFeishu(FEISHU_TOKEN, secret=FEISHU_SECRET),
        "slack": FakeSlack("T024BE7LD", "B01HERALD2", SLACK_TOKEN, interval=0.0),
        "discord": FakeDiscord("112233445566778899", DISCORD_TOKEN),
        "telegram": FakeTelegram(f"123456789:{TELEGRAM_TOKEN}", chats=["-100200300"]),
    }
    for fake in fakes.values():
        fake.start()
    echo = EchoServer()
    yield {**fakes, "echo": echo}
    echo.shutdown()
    echo.server_close()
    for fake in fakes.values():
        fake.stop()


def _subscribers(endpoints: dict[str, Any]) -> str:
    port = endpoints["echo"].port
    return f"""
[[subscribers]]
name = "wecom"
channel = "wecom"
url = "{endpoints["wecom"].url()}"
mode = "both"
min_items = 0

[[subscribers]]
name = "dingtalk"
channel = "dingtalk"
url = "{endpoints["dingtalk"].url()}"
secret = "env:HERALD_TEST_DINGTALK_SECRET"

[[subscribers]]
name = "feishu"
channel = "feishu"
url = "{endpoints["feishu"].url()}"
secret = "{FEISHU_SECRET}"
mode = "both"

[[subscribers]]
name = "slack"
channel = "slack"
url = "{endpoints["slack"].url()}"
ops_alerts = true

[[subscribers]]
name = "discord"
channel = "discord"
url = "{endpoints["discord"].url()}"

[[subscribers]]
name = "telegram"
channel = "telegram"
url = "{endpoints["telegram"].url()}"
chat_id = "-100200300"

[[subscribers]]
name = "hook"
channel = "webhook"
url = "https://herald:{HOOK_PASSWORD}@127.0.0.1:{port}/in?token={HOOK_TOKEN}"
secret = "{WHSEC}"

[[subscribers]]
name = "hook-echo"
channel = "webhook"
url = "http://herald:{ECHO_PASSWORD}@127.0.0.1:{port}/in?token={ECHO_TOKEN}"
secret = "{WHSEC}"

[[subscribers]]
name = "hook-badport"
channel = "webhook"
url = "http://127.0.0.1:99999/in?token={BADPORT_TOKEN}"
secret = "{WHSEC}"
"""


def _with_password(url: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    userinfo, at, hostpart = rest.partition("@")
    if not at:
        return f"{scheme}://:{password}@{rest}"
    return f"{scheme}://{userinfo.split(':', 1)[0]}:{password}@{hostpart}"


def leaf_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= leaf_commands(command, (*prefix, name))
        else:
            found.add((*prefix, name))
    return found


class Transcript:
    """Runs commands, keeps everything they printed, and checks it for secrets."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.ran: set[tuple[str, ...]] = set()
        self.outputs: list[tuple[list[str], str]] = []

    def __call__(self, *args: str, code: int | None = 0, config: Path | None = None) -> Result:
        argv = ["--config", str(config or self.config), *args]
        result = CliRunner().invoke(main, argv, env={"COLUMNS": "200"})
        self.record(list(args), result.output + _exception(result))
        if code is not None:
            assert result.exit_code == code, (args, result.output, result.exception)
        return result

    def record(self, args: list[str], output: str) -> None:
        self.ran.add(_command_path(args))
        self.outputs.append((args, output))
        for secret in SECRETS:
            assert secret not in output, f"herald {' '.join(args)} printed {secret!r}:\n{output}"


def _command_path(args: list[str]) -> tuple[str, ...]:
    path: list[str] = []
    command: click.Command = main
    for arg in args:
        if arg.startswith("-"):
            continue
        if not isinstance(command, click.Group) or arg not in command.commands:
            break
        path.append(arg)
        command = command.commands[arg]
    return tuple(path)


def _exception(result: Result) -> str:
    if result.exception is None or isinstance(result.exception, SystemExit):
        return ""
    return f"{type(result.exception).__name__}: {result.exception}"


def test_no_command_prints_a_secret(
    tmp_path: Path,
    site: DemoSite,
    endpoints: dict[str, Any],
    postgres_url: str,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HERALD_TEST_DINGTALK_SECRET", DINGTALK_SECRET)
    database_url = _with_password(postgres_url, DB_PASSWORD)
    broker_url = _with_password(redis_url, BROKER_PASSWORD)
    path = write_config(
        tmp_path,
        sources=site_source(site, backfill=1),
        subscribers=_subscribers(endpoints),
        database_url=database_url,
        broker_url=broker_url,
        extra_herald='sweep_interval = "2s"\n[delivery]\nretry_schedule = ["1s", "1s"]\n'
        'breaker_after = "1s"\n',
    )
    run = Transcript(path)

    (tmp_path / "fresh").mkdir()
    run("init", "--path", str(tmp_path / "fresh" / "herald.toml"))
    run("db", "upgrade")
    run("sources", "list")
    run("sources", "test", "cases", "--articles", "1")
    run("sources", "detect", site.list_url, "--pages", "1")
    run("sources", "backfill", "cases", "--pages", "1")
    run("sources", "add", site.list_url, "--name", "cases-too")
    run("sources", "remove", "cases-too")
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<opml version="2.0"><body><outline text="f" xmlUrl="https://f.example/rss.xml"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    run("sources", "import", str(opml))
    run("sources", "export")
    run("sources", "remove", "f-example-rss-xml")
    run("extract", site.article_url(site.articles[0].id))
    run("feeds", "build")
    run("-v", "run", "--once")  # the first poll imports silently
    site.add_article()
    run("-v", "run", "--once")  # one message to each subscriber; the webhooks fail
    time.sleep(1.1)  # past breaker_after and the retry schedule
    run("deliveries", "replay", "--failed", code=None)
    run("-v", "run", "--once")  # the failing webhooks are suspended
    listed = run("subscribers", "list")
    assert "env:HERALD_TEST_DINGTALK_SECRET" in listed.output
    for name in ("wecom", "dingtalk", "feishu", "slack", "discord", "telegram", "hook"):
        run("subscribers", "test", name, code=None)
    run("subscribers", "test", "hook-echo", code=1)
    run("subscribers", "test", "hook-badport", code=1)
    slack_too = endpoints["slack"].url().replace(SLACK_TOKEN, SLACK_TOKEN[::-1])
    run("subscribers", "add", "slack-too", "--channel", "slack", "--url", slack_too)
    run("subscribers", "remove", "slack-too")
    run("status")
    run("prune", "--dry-run")
    run("prune")
    doctor = run("doctor", "--sources", code=1)  # hook-badport's port is out of range
    assert "database: postgresql://postgres:***@" in doctor.output, doctor.output
    assert "hook-badport: http://127.0.0.1:99999/in?token=***: Port out" in doctor.output
    assert "broker: redis://:***@" in doctor.output
    run("digest", "preview", "feishu")
    run("digest", "send", "wecom", "--empty")
    listed = run("deliveries", "list", "--limit", "200")
    run("deliveries", "list", "--failed")
    ids = re.findall(r"^│ *(\d+) *│", listed.output, flags=re.MULTILINE)
    assert len(ids) >= 9
    for delivery_id in ids:
        run("deliveries", "show", delivery_id)
    run("deliveries", "replay", ids[0], code=None)
    run("subscribers", "enable", "hook-badport", code=None)
    shown = "\n".join(output for _, output in run.outputs)
    assert "token=***" in shown and "herald:***@" in shown  # redacted, not dropped

    # a mistake in the config names the key without printing the value's secret
    bad = tmp_path / "bad"
    bad.mkdir()
    bad_dsn = database_url.replace("postgresql://", "postgresq://")
    run("status", code=2, config=write_config(bad, sources="", database_url=bad_dsn))
    typo = _subscribers(endpoints).replace(
        'url = "http://127.0.0.1:99999', 'url = "htp://127.0.0.1'
    )
    run("subscribers", "list", code=2, config=write_config(bad, sources="", subscribers=typo))

    # `herald run` until stopped: its banner, Celery's log and the worker's, which polls the
    # source at once and fails to deliver to hook-badport again
    site.add_article()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("update sources set next_poll_at = now() - interval '1 minute'")
    output = _run_for(path, seconds=8.0)
    run.record(["run"], output)
    assert "broker: redis://:***@" in output
    assert "failed (webhook: invalid request" in output, output  # hook-badport, logged

    # `herald demo`: its own site, receiver and config, with a secret made for the run
    demo_dir = tmp_path / "demo"
    output = _run_for(path, seconds=14.0, args=["demo", "--dir", str(demo_dir), "--every", "1"])
    run.record(["demo"], output)
    assert "webhook received" in output
    assert stat.S_IMODE((demo_dir / "herald.toml").stat().st_mode) == 0o600
    demo_secret = re.search(r'secret = "(whsec_[^"]+)"', (demo_dir / "herald.toml").read_text())
    assert demo_secret and demo_secret.group(1)[6:] not in output

    # `herald serve`: its banner and log, and everything it answers
    output, bodies = _serve_and_read(
        path, ["", "sources/cases", "healthz", "metrics", "feeds/all.xml", "digests/wecom/"]
    )
    run.record(["serve"], output + "\n".join(bodies))
    assert '"broker"' in bodies[2] and "herald_" in bodies[3]

    missing = leaf_commands(main) - run.ran
    assert not missing, f"commands not checked for printed secrets: {sorted(missing)}"


def _serve_and_read(config: Path, paths: list[str]) -> tuple[str, list[str]]:
    """``herald serve`` in its own process: the bodies of ``paths``, then its output."""
    import requests

    from tests.support.fault_cluster import free_port, wait_until

    port = free_port()
    root = f"http://127.0.0.1:{port}/"
    process = subprocess.Popen(
        [sys.executable, "-m", "worker.cli", "--config", str(config), "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip

    def up() -> bool:
        try:
            return requests.get(root + "healthz", timeout=5).status_code in (200, 503)
        except requests.RequestException:
            return False

    try:
        assert wait_until(up, 30)
        bodies = [requests.get(root + p, timeout=10).text for p in paths]
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return output.decode("utf-8", "replace"), bodies


def _run_for(config: Path, *, seconds: float, args: tuple[str, ...] | list[str] = ("run",)) -> str:
    """``herald run`` (or ``args``) in its own process for ``seconds``, then a warm shutdown."""
    process = subprocess.Popen(
        [sys.executable, "-m", "worker.cli", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        time.sleep(seconds)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return output.decode("utf-8", "replace")


def test_an_unexpected_error_is_one_redacted_line(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket is closed
    dsn = f"postgresql://herald:{DB_PASSWORD}@127.0.0.1:{port}/herald"
    path = write_config(tmp_path, sources="", database_url=dsn)
    for verbose in ([], ["-v"]):
        result = CliRunner().invoke(main, [*verbose, "--config", str(path), "db", "upgrade"])
        assert result.exit_code == 1, result.output
        assert "error: OperationalError:" in result.output and DB_PASSWORD not in result.output
        assert ("Traceback" in result.output) == bool(verbose)
