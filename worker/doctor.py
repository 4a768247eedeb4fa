"""``herald doctor``: is this installation ready to run? One result per check — the config, the
database (reachable, migrated, writable, its clock), the broker, the feeds folder, the templates,
every subscriber's URL against the SSRF guard and, when asked, every source's page.

It changes nothing: migrations are not applied, a missing SQLite file is not created, writes are
tried in transactions that are rolled back, the feeds folder gets one temporary file that is
removed at once. Results carry redacted text only. This module must not print.
"""

from __future__ import annotations

import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from sqlalchemy.exc import SQLAlchemyError

from worker.broker import broker_answers
from worker.config import Config, ConfigError, load_config
from worker.config.checks import placeholder_host
from worker.fetch import FetchError
from worker.netguard import BlockedAddress
from worker.netguard.addresses import resolve_and_check
from worker.redact import redact_text, redact_url
from worker.render.locate import browser_executable, describe_rendering
from worker.runtime import build_fetcher, network_policy
from worker.store.db import make_engine
from worker.store.migrate import current_revision, head_revision
from worker.store.probe import database_clock, sqlite_file, why_not_writable
from worker.template_check import check_templates

CLOCK_SKEW_WARN = 5.0  # seconds between this host and the database before leases misjudge time
DEFAULT_PORTS = {"http": 80, "https": 443}

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """One check's verdict: ``name`` (``config``, ``source notices``), ``status``, ``detail``."""

    name: str
    status: Status
    detail: str


def run_checks(config_path: str | None, *, sources: bool = False) -> Iterator[Check]:
    """Every check in order; after a config or database failure the checks that need them are
    skipped (they would only repeat it)."""
    try:
        config = load_config(config_path)
    except ConfigError as err:
        yield Check("config", "fail", str(err))
        return
    yield Check(
        "config",
        "ok",
        f"{config.path} ({len(config.sources)} source(s), {len(config.subscribers)} subscriber(s))",
    )
    yield from database_checks(config)
    yield broker_check(config)
    yield feeds_dir_check(config.herald.feeds_dir)
    yield templates_check(config)
    yield browser_check(config)
    yield from subscriber_checks(config)
    if sources:
        yield from source_checks(config)


def database_checks(config: Config) -> Iterator[Check]:
    url = config.herald.database_url
    shown = redact_url(url)
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        yield Check("database", "fail", f"{path} does not exist: run `herald db upgrade`")
        return
    engine = make_engine(url)
    try:
        try:
            revision = current_revision(engine)
        except SQLAlchemyError as exc:
            yield Check("database", "fail", f"cannot connect to {shown}: {short_error(exc)}")
            return
        yield Check("database", "ok", f"{shown} answers")
        head = head_revision()
        if revision != head:
            state = f"at revision {revision}" if revision else "not initialised"
            needs = f"database {state}, herald needs {head}: run `herald db upgrade`"
            yield Check("migrations", "fail", needs)
            return
        yield Check("migrations", "ok", f"at {head}")
        try:
            problem = why_not_writable(engine)
            database_now = database_clock(engine)
        except SQLAlchemyError as exc:  # the connection went away between the checks
            yield Check("writable", "fail", f"{shown} stopped answering: {short_error(exc)}")
            return
        if problem:
            yield Check("writable", "fail", f"herald cannot write to {shown}: {problem}")
        else:
            yield Check("writable", "ok", "a write transaction can start (rolled back)")
        yield clock_check(database_now)
    finally:
        engine.dispose()


def clock_check(database_now: datetime | None) -> Check:
    if database_now is None:
        return Check("clock", "ok", "SQLite reads this host's clock")
    skew = time.time() - database_now.timestamp()
    if abs(skew) > CLOCK_SKEW_WARN:
        direction = "ahead of" if skew > 0 else "behind"
        words = (
            f"this host is {abs(skew):.1f} s {direction} the database (leases and schedules "
            "use the database's clock): sync it with NTP"
        )
        return Check("clock", "warn", words)
    return Check("clock", "ok", f"within {abs(skew):.1f} s of the database")


def broker_check(config: Config) -> Check:
    url = config.herald.broker_url
    if not url:
        return Check("broker", "ok", "embedded (no broker: `herald run` runs every task itself)")
    try:
        broker_answers(url)
    except Exception as exc:  # any client error means the same thing here
        return Check("broker", "fail", f"{redact_url(url)} does not answer: {short_error(exc)}")
    return Check("broker", "ok", f"{redact_url(url)} answers")


def browser_check(config: Config) -> Check:
    """Can pages be rendered? The executable is asked for its version (no page is loaded)."""
    available, words = describe_rendering(config.browser)
    if not available:
        enabled = config.browser.enabled
        status: Status = "ok" if enabled is False else "fail" if enabled else "warn"
        return Check("browser", status, f"rendering {words}")
    executable = browser_executable(config.browser)
    try:
        answer = subprocess.run(
            [executable, "--version"], capture_output=True, text=True, timeout=20, check=True
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return Check("browser", "fail", f"{executable} --version failed: {short_error(exc)}")
    version = answer.stdout.strip().splitlines()[-1] if answer.stdout.strip() else executable
    return Check("browser", "ok", f"rendering {words}; {version}")


def feeds_dir_check(folder: Path) -> Check:
    if not folder.is_dir():
        parent = next((p for p in folder.parents if p.exists()), Path("."))
        if parent.is_dir() and can_create_in(parent):
            return Check("feeds", "ok", f"{folder} will be created on the first build")
        return Check("feeds", "fail", f"{folder} does not exist and cannot be created")
    if not can_create_in(folder):
        return Check("feeds", "fail", f"{folder} is not writable")
    return Check("feeds", "ok", f"{folder} is writable")


def can_create_in(folder: Path) -> bool:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".herald-doctor-"):
            return True
    except OSError:
        return False


def templates_check(config: Config) -> Check:
    results = check_templates(config)
    failed = [f"{r.what} ({', '.join(r.templates)}): {r.error}" for r in results if r.error]
    if failed:
        return Check("templates", "fail", "; ".join(failed))
    names = {name for r in results for name in r.templates}
    return Check("templates", "ok", f"{len(names)} templates render with sample data")


def subscriber_checks(config: Config) -> Iterator[Check]:
    """Each enabled subscriber's URL: a well-formed http(s) URL whose host resolves to
    addresses the SSRF guard lets herald reach (an e-mail subscriber's ``[smtp]`` relay: a
    name that resolves)."""
    policy = network_policy(config)
    for subscriber in config.subscribers:
        name = f"subscriber {subscriber.name}"
        if not subscriber.enabled:
            yield Check(name, "ok", "disabled (enabled = false): not checked")
            continue
        placeholder = placeholder_host(subscriber.url)
        if placeholder:
            yield Check(
                name, "fail", placeholder_words(placeholder, "subscribers", subscriber.name)
            )
            continue
        if subscriber.channel == "email":  # through the operator's own relay: no guard
            yield relay_check(name, config)
            continue
        parts = urlsplit(subscriber.url)
        try:
            port = parts.port or DEFAULT_PORTS.get(parts.scheme, 0)
        except ValueError as exc:  # a port beyond 65535
            yield Check(name, "fail", f"{redact_url(subscriber.url)}: {exc}")
            continue
        if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
            yield Check(name, "fail", f"{redact_url(subscriber.url)} is not an http(s) URL")
            continue
        try:
            resolve_and_check(parts.hostname, port, policy)
        except BlockedAddress as exc:
            yield Check(name, "fail", str(exc))
        except (socket.gaierror, UnicodeError):
            yield Check(name, "fail", f"cannot resolve {parts.hostname}")
        else:
            yield Check(name, "ok", f"{redact_url(subscriber.url)} is allowed")


def relay_check(name: str, config: Config) -> Check:
    """An e-mail subscriber's ``[smtp]`` relay: its name must resolve."""
    relay = config.smtp.relay_url
    try:
        socket.getaddrinfo(config.smtp.host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return Check(name, "fail", f"cannot resolve the [smtp] relay {config.smtp.host}")
    return Check(name, "ok", f"mail through {relay}")


def source_checks(config: Config) -> Iterator[Check]:
    """Fetch each enabled source's page once, as a poll would (through the SSRF guard)."""
    for source in config.sources:
        if not source.enabled:
            continue
        name = f"source {source.name}"
        placeholder = placeholder_host(source.url)
        if placeholder:
            yield Check(name, "fail", placeholder_words(placeholder, "sources", source.name))
            continue
        proxy = config.source_proxy(source)
        try:
            with build_fetcher(config, proxy=proxy) as fetcher:
                page = fetcher.get(source.url)
        except FetchError as exc:
            yield Check(name, "fail", redact_text(str(exc)))
            continue
        via = f" through the proxy {redact_url(proxy)}" if proxy else ""
        size = len(page.content) / 1024
        yield Check(name, "ok", f"HTTP {page.status}, {size:.0f} KiB in "
                    f"{page.elapsed_ms / 1000:.1f} s{via}")  # fmt: skip


def placeholder_words(host: str, section: str, name: str) -> str:
    return f'{host} is the example\'s placeholder: edit {section}["{name}"].url'


def short_error(exc: BaseException) -> str:
    """The first line of an exception, redacted (driver errors carry the whole DSN)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return redact_text(text[0] if text else type(exc).__name__)
