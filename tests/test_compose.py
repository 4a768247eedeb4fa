"""docker-compose.yml, proven without Docker: every herald service's ``command`` runs here as a
local process with the service's environment (its ``${…}`` variables filled in, the hostnames
``redis`` and ``postgres`` mapped to 127.0.0.1, ``/srv/herald`` to a temporary folder, the
published ports to free ones), beside a Redis started with the compose file's own command line
(its password included) and the local PostgreSQL. An article published on a fixture site must
reach a webhook, the feed files and ``web``; Flower must show herald's tasks; every herald
service's healthcheck must pass.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
import yaml

from tests.conftest import POSTGRES_URL, REQUIRE, site_source, webhook_subscriber, write_config
from worker.demo.receiver import WebhookReceiver
from worker.demo.site import DemoSite

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:[?-])(?P<arg>[^}]*))?\}")
CONTAINER_HOME = "/srv/herald"
SECRETS = {"REDIS_PASSWORD": "r3dis-pw", "POSTGRES_PASSWORD": "pg-pw", "FLOWER_PASSWORD": "fl-pw"}

pytestmark = pytest.mark.slow


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's variable syntax: ``${X}``, ``${X:-default}``, ``${X:?error}``, ``$$``."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match["name"], match["op"], match["arg"] or ""
        found = env.get(name, "")
        if op == ":?" and not found:
            raise KeyError(f"{name}: {arg}")
        return found or (arg if op == ":-" else "")

    return VARIABLE.sub(one, value)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


class LocalCompose:
    """The compose file's services as local processes."""

    def __init__(self, home: Path, variables: Mapping[str, str], hosts: Mapping[str, str]) -> None:
        self.spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
        self.home, self.variables, self.hosts = home, variables, hosts
        self.ports = {"8080": str(free_port()), "5555": str(free_port())}
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def herald_services(self) -> list[str]:
        return [name for name, service in self.spec["services"].items() if "build" in service]

    def local(self, text: str) -> str:
        """A value as it is inside the container, made to work on this machine."""
        text = interpolate(text, self.variables)
        for name, address in self.hosts.items():
            text = text.replace(f"@{name}:", f"@{address}:")
        for inside, outside in self.ports.items():
            text = re.sub(rf"(?<![\d.]){inside}(?!\d)", outside, text)
        return text.replace(CONTAINER_HOME, str(self.home))

    def environment(self, service: str) -> dict[str, str]:
        declared = self.spec["services"][service].get("environment") or {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        env.update({key: self.local(str(value)) for key, value in declared.items()})
        env["HOSTNAME"] = socket.gethostname()
        env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
        return env

    def argv(self, service: str) -> list[str]:
        command = [self.local(str(part)) for part in self.spec["services"][service]["command"]]
        return [str(BIN / command[0]) if (BIN / command[0]).exists() else command[0], *command[1:]]

    def run(self, service: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        argv, env = self.argv(service), self.environment(service)
        return subprocess.run(argv, env=env, cwd=self.home, capture_output=True, text=True,
                              timeout=timeout, check=False)  # fmt: skip

    def start(self, service: str) -> None:
        log = (self.home / f"{service}.log").open("wb")
        self.processes[service] = subprocess.Popen(
            self.argv(service), env=self.environment(service), cwd=self.home,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def healthcheck(self, service: str) -> subprocess.CompletedProcess[str]:
        test = self.spec["services"][service]["healthcheck"]["test"]
        kind, rest = test[0], [self.local(str(part)) for part in test[1:]]
        argv = ["sh", "-c", rest[0]] if kind == "CMD-SHELL" else rest
        if kind == "CMD" and (BIN / argv[0]).exists():
            argv[0] = str(BIN / argv[0])
        if kind == "CMD" and argv[0] == "python":
            argv[0] = sys.executable
        return subprocess.run(argv, env=self.environment(service), cwd=self.home,
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip

    def log(self, service: str) -> str:
        return (self.home / f"{service}.log").read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture()
def redis_with_password(tmp_path: Path) -> Iterator[int]:
    """A Redis started with the compose file's redis command (AOF, noeviction, its password)."""
    server = shutil.which("redis-server")
    if server is None:
        if REQUIRE:
            pytest.fail("redis-server is not installed")
        pytest.skip("redis-server is not installed")
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    command = [interpolate(str(part), SECRETS) for part in spec["services"]["redis"]["command"]]
    assert command[0] == "redis-server"
    port = free_port()
    folder = tmp_path / "redis"
    folder.mkdir()
    process = subprocess.Popen([server, *command[1:], "--port", str(port), "--dir", str(folder),
                                "--save", ""], stdout=subprocess.DEVNULL)  # fmt: skip
    wait_for("redis", lambda: _answers(port), timeout=20)
    yield port
    process.terminate()
    process.wait(timeout=20)


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture()
def herald_database() -> Iterator[str]:
    """A fresh database owned by the role ``herald`` the compose file connects as."""
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True)
    except psycopg.OperationalError:
        if REQUIRE:
            pytest.fail("PostgreSQL is not running")
        pytest.skip("PostgreSQL is not running")
    name = f"herald_compose_{uuid.uuid4().hex[:10]}"
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = 'herald'").fetchone()
        if not exists:
            admin.execute("CREATE ROLE herald LOGIN")
        admin.execute(f'CREATE DATABASE "{name}" OWNER herald')
        yield name
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_compose_services_carry_an_article_to_a_webhook_and_a_feed(
    tmp_path: Path, redis_with_password: int, herald_database: str
) -> None:
    home = tmp_path / "srv"
    (home / "feeds").mkdir(parents=True)
    variables = {**SECRETS, "POSTGRES_DB": herald_database, "FLOWER_USER": "ops"}
    stack = LocalCompose(home, variables, {"redis": "127.0.0.1", "postgres": "127.0.0.1"})
    stack.ports["6379"] = str(redis_with_password)  # this test's Redis, with the password

    spec = stack.spec
    for service in stack.herald_services:  # the mounts the services rely on
        volumes = spec["services"][service]["volumes"]
        assert "./herald.toml:/srv/herald/herald.toml:ro" in volumes
        assert "./feeds:/srv/herald/feeds" in volumes  # writable
    assert "${POSTGRES_PASSWORD" in spec["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"]
    assert "--requirepass" in spec["services"]["redis"]["command"]

    with DemoSite(articles=3, page_size=10) as site, WebhookReceiver() as hook:
        write_config(
            home, sources=site_source(site, interval="2s", backfill=1),
            subscribers=webhook_subscriber(hook.url()),
            extra_herald='sweep_interval = "1s"',
        )  # fmt: skip
        migrated = stack.run("migrate")
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        try:
            for service in ("worker-ingest", "worker-deliver", "beat", "flower", "web"):
                stack.start(service)
            all_xml = home / "feeds" / "all.xml"
            wait_for("the first poll", lambda: all_xml.exists() and all_xml.read_text(
                encoding="utf-8").count("<item>") == 3, timeout=90)  # fmt: skip
            article = site.add_article()
            wait_for("the webhook", lambda: any(
                m.payload.get("data", {}).get("title") == article.title for m in hook.messages()
            ))  # fmt: skip
            wait_for("the feed file", lambda: article.title in all_xml.read_text("utf-8"))
            web = f"http://127.0.0.1:{stack.ports['8080']}"
            served = requests.get(f"{web}/feeds/all.xml", timeout=10)
            assert served.status_code == 200 and article.title in served.text

            flower = f"http://127.0.0.1:{stack.ports['5555']}"
            assert requests.get(f"{flower}/api/tasks", timeout=10).status_code == 401
            auth = ("ops", SECRETS["FLOWER_PASSWORD"])
            tasks = wait_for("flower's tasks", lambda: _flower_tasks(flower, auth), timeout=30)
            names = {task["name"] for task in tasks.values()}
            assert {"herald.sweep", "herald.poll_source", "herald.ingest_article",
                    "herald.deliver"} <= names, names  # fmt: skip
            delivered = [t for t in tasks.values() if t["name"] == "herald.deliver"]
            assert any(t["state"] == "SUCCESS" for t in delivered)
            assert all(t["routing_key"] == "deliver" for t in delivered if t.get("routing_key"))

            for service in stack.herald_services:
                if "healthcheck" not in spec["services"][service]:
                    continue
                checked = wait_for(f"{service}'s healthcheck", lambda s=service: (
                    stack.healthcheck(s).returncode == 0), timeout=30)  # fmt: skip
                assert checked
        finally:
            stack.stop()
    for service in ("worker-ingest", "worker-deliver", "beat", "flower", "web"):
        log = stack.log(service)
        assert SECRETS["REDIS_PASSWORD"] not in log and SECRETS["POSTGRES_PASSWORD"] not in log


def _flower_tasks(base: str, auth: tuple[str, str]) -> dict[str, Any] | None:
    reply = requests.get(f"{base}/api/tasks", auth=auth, timeout=10)
    if reply.status_code != 200:
        return None
    tasks: dict[str, Any] = reply.json()
    return tasks if any(t["name"] == "herald.deliver" for t in tasks.values()) else None


def test_the_compose_file_needs_its_passwords() -> None:
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    with pytest.raises(KeyError, match="FLOWER_PASSWORD"):
        interpolate(" ".join(spec["services"]["flower"]["command"]), {})
    env = spec["services"]["worker-deliver"]["environment"]
    with pytest.raises(KeyError, match="REDIS_PASSWORD"):
        interpolate(env["HERALD_BROKER_URL"], {})
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert not re.search(r"PASSWORD:\s*[\"']?(?!\$\{)\w", text), "a password written in clear"
