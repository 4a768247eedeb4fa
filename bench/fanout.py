"""Benchmark: one article fanned out to N signed generic webhooks, herald beside plain clients.

A fast local receiver (``bench/receiver.py``: raw asyncio, HTTP/1.1 keep-alive, ``200 {}``) runs
in its own process. Against it, in the same run, each in its own process:

- ``herald-embedded``: ``herald run`` (in-memory broker, threads pool) with one source and N
  ``channel = "webhook"`` subscribers; ``herald-redis``: ``celery -A worker worker`` + ``celery
  -A worker beat`` on Redis. The site holds one article and the source has
  ``notify_existing = true``, so the first poll's ingest fans it out to all N subscribers.
  Wall time runs from the article's ingest (``articles.first_seen_at``) to the last
  ``deliveries.delivered_at`` in the ledger.
- ``requests``: ``requests`` + ``ThreadPoolExecutor`` (32 threads, one Session per thread).
- ``asyncio``: aiohttp and httpx.AsyncClient, a semaphore of 16, 32 and 64 requests in flight.
- ``apprise``: N ``json://`` URLs in one ``Apprise`` object and one ``notify()`` (its defaults).

The baselines build and sign each delivery with herald's own ``WebhookNotifier.build`` (the
Standard Webhooks headers, ``whsec_`` secret) inside their timed loop; Apprise sends its own JSON
body with the ``webhook-id`` header only. Results: a Markdown table on stdout, JSON with
``--json``. It must NOT change the project, reach beyond 127.0.0.1, or leave processes, Redis
keys or PostgreSQL databases behind.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import (
    hash_worker,
    machine_info,
    read_cpu_s,
    read_peak_rss_kb,
    run_git,
    tail,
    to_json,
)

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EVENT_TYPE = "article.created"
REDIS_URL = "redis://127.0.0.1:6379/13"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
GROUPS = ("herald-embedded", "herald-redis", "requests", "asyncio", "apprise")
SEND_TIMEOUT = 15.0
POLL_EVERY = 0.25
STOP_GRACE = 20.0


@dataclass
class Result:
    """One measured client (a row of the table)."""

    client: str
    label: str
    target: int
    delivered: int = 0
    wall_s: float = math.nan
    rate: float = math.nan
    peak_rss_mb: float = math.nan
    cpu_s: float = math.nan
    ok: bool = True
    note: str = ""
    receiver: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


# --- the receiver -----------------------------------------------------------------------------


class Receiver:
    """``bench/receiver.py`` in a child process; counts read over HTTP."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(BENCH / "receiver.py"), "--port", "0", "--secret", SECRET],
            env=env,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("PORT "):
            self.stop()
            raise RuntimeError(f"receiver did not start: {line!r}")
        self.port = int(line.split()[1])
        self.base = f"http://127.0.0.1:{self.port}"

    def call(self, method: str, path: str) -> dict[str, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=b"" if method == "POST" else None)
            return dict(json.loads(conn.getresponse().read()))
        finally:
            conn.close()

    def reset(self) -> None:
        self.call("POST", "/reset")

    def settled_stats(self) -> dict[str, Any]:
        """Counts once no request arrived for 0.3 s (the client has finished)."""
        stats = self.call("GET", "/stats")
        for _ in range(50):
            time.sleep(0.3)
            again = self.call("GET", "/stats")
            if again["requests"] == stats["requests"]:
                return again
            stats = again
        return stats

    def stop(self) -> None:
        stop_process(self.proc)


# --- the baseline clients (each runs in a child process: ``--client NAME``) --------------------


def import_signing() -> tuple[Any, Any, Any]:
    """herald's ``WebhookNotifier``, ``Target`` and ``encode_payload``, without importing the
    ``worker`` package's ``__init__`` (it loads the Celery app, which a plain client would not
    carry: it would add ~13 MB to the client's RSS)."""
    import importlib.util
    import types

    spec = importlib.util.find_spec("worker")
    assert spec is not None and spec.submodule_search_locations is not None
    package = types.ModuleType("worker")
    package.__path__ = list(spec.submodule_search_locations)
    sys.modules["worker"] = package
    from worker.notify import Target
    from worker.notify.webhook import WebhookNotifier, encode_payload

    return WebhookNotifier(), Target, encode_payload


def make_builder(spec: dict[str, Any]) -> Callable[[int], Any]:
    """``build(i)``: the signed POST for subscriber ``i``, built the way herald builds it."""
    import secrets

    notifier, target_type, _ = import_signing()
    data, base = spec["data"], spec["base"]

    def build(i: int) -> Any:
        target = target_type(f"s{i:05d}", "webhook", f"{base}/hook/{i}", SECRET)
        event_id = "msg_" + secrets.token_urlsafe(18)
        return notifier.build(target, EVENT_TYPE, event_id, data, now=datetime.now(UTC))

    return build


def client_requests(spec: dict[str, Any]) -> dict[str, Any]:
    import itertools
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import requests

    build, n, threads = make_builder(spec), spec["n"], spec["concurrency"]
    indices = itertools.count()  # next() on a C iterator is atomic under the GIL
    local = threading.local()

    def loop() -> tuple[int, int]:
        local.session = requests.Session()
        ok = errors = 0
        try:
            while (i := next(indices)) < n:
                request = build(i)
                try:
                    response = local.session.post(
                        request.url,
                        data=request.body,
                        headers=dict(request.headers),
                        timeout=SEND_TIMEOUT,
                        allow_redirects=False,
                    )
                    _ = response.content
                except requests.RequestException:
                    errors += 1
                    continue
                if 200 <= response.status_code < 300:
                    ok += 1
                else:
                    errors += 1
        finally:
            local.session.close()
        return ok, errors

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = [f.result() for f in [pool.submit(loop) for _ in range(threads)]]
    wall = time.perf_counter() - started
    return {
        "wall_s": wall,
        "ok": sum(o for o, _ in outcomes),
        "errors": sum(e for _, e in outcomes),
    }


def client_aiohttp(spec: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    import aiohttp

    build, n, limit = make_builder(spec), spec["n"], spec["concurrency"]

    async def run() -> dict[str, Any]:
        connector = aiohttp.TCPConnector(limit=limit)
        timeout = aiohttp.ClientTimeout(total=SEND_TIMEOUT)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            gate = asyncio.Semaphore(limit)

            async def one(i: int) -> int:
                async with gate:
                    request = build(i)
                    async with session.post(
                        request.url,
                        data=request.body,
                        headers=dict(request.headers),
                        allow_redirects=False,
                    ) as response:
                        await response.read()
                        return response.status

            started = time.perf_counter()
            statuses = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
            wall = time.perf_counter() - started
        ok = sum(1 for s in statuses if isinstance(s, int) and 200 <= s < 300)
        return {"wall_s": wall, "ok": ok, "errors": n - ok}

    return asyncio.run(run())


def client_httpx(spec: dict[str, Any]) -> dict[str, Any]:
    import asyncio

    import httpx

    build, n, limit = make_builder(spec), spec["n"], spec["concurrency"]

    async def run() -> dict[str, Any]:
        limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
        async with httpx.AsyncClient(limits=limits, timeout=SEND_TIMEOUT) as client:
            gate = asyncio.Semaphore(limit)

            async def one(i: int) -> int:
                async with gate:
                    request = build(i)
                    response = await client.post(
                        request.url, content=request.body, headers=dict(request.headers)
                    )
                    return response.status_code

            started = time.perf_counter()
            statuses = await asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True)
            wall = time.perf_counter() - started
        ok = sum(1 for s in statuses if isinstance(s, int) and 200 <= s < 300)
        return {"wall_s": wall, "ok": ok, "errors": n - ok}

    return asyncio.run(run())


def client_apprise(spec: dict[str, Any]) -> dict[str, Any]:
    """N ``json://`` URLs (each with its own ``webhook-id`` header) and one ``notify()``.

    Apprise posts its own body (``{"version","title","message","attachments","type"}``, here
    with herald's JSON payload as ``message``); it cannot send a per-URL body, so its requests
    carry no ``webhook-signature``.
    """
    import secrets

    import apprise

    _, _, encode_payload = import_signing()
    n, port = spec["n"], spec["port"]
    body = encode_payload(EVENT_TYPE, datetime.now(UTC), spec["data"]).decode("utf-8")
    started = time.perf_counter()
    notifier = apprise.Apprise()
    for i in range(n):
        event_id = "msg_" + secrets.token_urlsafe(18)
        if not notifier.add(f"json://127.0.0.1:{port}/hook/{i}?+webhook-id={event_id}"):
            raise RuntimeError(f"apprise refused URL {i}")
    add_s = time.perf_counter() - started
    asset = apprise.AppriseAsset()
    started = time.perf_counter()
    result = notifier.notify(body=body, title="herald")
    wall = time.perf_counter() - started
    from apprise import apprise as core

    pool = core._shared_executor
    return {
        "wall_s": wall,
        "ok": None,  # notify() answers one boolean for all; the receiver counts
        "all_ok": bool(result),
        "add_urls_s": add_s,
        "async_mode": asset.async_mode,
        "pool_threads": getattr(pool, "_max_workers", None),
        "apprise_version": apprise.__version__,
    }


CLIENTS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "requests": client_requests,
    "aiohttp": client_aiohttp,
    "httpx": client_httpx,
    "apprise": client_apprise,
}


def client_main(name: str, spec_path: Path, out_path: Path) -> int:
    spec = json.loads(spec_path.read_text())
    outcome = CLIENTS[name](spec)
    # VmHWM belongs to this process's own memory since exec; wait4()'s ru_maxrss does not (the
    # kernel carries the forking parent's high-water mark into it at exec)
    outcome["peak_rss_kb"] = read_peak_rss_kb(os.getpid())
    out_path.write_text(json.dumps(outcome))
    return 0


def run_client(
    name: str,
    concurrency: int,
    args: argparse.Namespace,
    receiver: Receiver,
    data: dict[str, Any],
    env: dict[str, str],
    workdir: Path,
) -> Result:
    """One baseline in a fresh process: its peak RSS (VmHWM) and CPU time (``wait4()``)."""
    spec = {
        "n": args.n,
        "concurrency": concurrency,
        "base": receiver.base,
        "port": receiver.port,
        "data": data,
    }
    tag = f"{name}-{concurrency}"
    spec_path, out_path = workdir / f"{tag}.spec.json", workdir / f"{tag}.out.json"
    spec_path.write_text(json.dumps(spec, ensure_ascii=False))
    log = workdir / f"{tag}.log"
    receiver.reset()
    load = OtherLoad()
    command = [sys.executable, __file__, "--client", name, str(spec_path), str(out_path)]
    with log.open("wb") as sink:
        proc = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + args.timeout
    usage = None
    while time.monotonic() < deadline:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            break
        time.sleep(0.05)
    label = describe_client(name, concurrency)
    stats = receiver.settled_stats()
    if proc.returncode is None:
        with suppress(ProcessLookupError):
            proc.kill()
        proc.wait()
        note = f"timed out after {args.timeout:g} s"
        return Result(
            name, label, args.n, stats["distinct_ids"], ok=False, note=note, receiver=stats
        )
    if proc.returncode != 0 or not out_path.exists():
        note = f"exited with {proc.returncode}: {tail(log, 600)}"
        return Result(
            name, label, args.n, stats["distinct_ids"], ok=False, note=note, receiver=stats
        )
    outcome = json.loads(out_path.read_text())
    assert usage is not None
    cpu = usage.ru_utime + usage.ru_stime
    outcome["others_cpu_s"] = load.others_s(cpu, stats["cpu_s"])
    delivered = stats["distinct_ids"]
    wall = float(outcome["wall_s"])
    result = Result(
        client=name,
        label=label,
        target=args.n,
        delivered=delivered,
        wall_s=wall,
        rate=delivered / wall if wall > 0 else math.nan,
        peak_rss_mb=outcome["peak_rss_kb"] / 1024,
        cpu_s=cpu,
        ok=stats["requests"] == args.n and delivered == args.n,
        receiver=stats,
        details={**outcome, "concurrency": concurrency},
    )
    if not result.ok:
        result.note = f"receiver counted {stats['requests']} requests, {delivered} distinct ids"
    return result


def describe_client(name: str, concurrency: int) -> str:
    if name == "requests":
        return f"(a) requests, {concurrency} threads"
    if name in ("aiohttp", "httpx"):
        return f"(b) asyncio {name}, {concurrency} in flight"
    return "(c) Apprise json://"


# --- herald -----------------------------------------------------------------------------------


CODE_PATH: list[str] = []  # a folder holding the worker/ package to run, when snapshotted


def herald_env(config: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
    if config is not None:
        env["HERALD_CONFIG"] = str(config)
    env["PYTHONUNBUFFERED"] = "1"
    if CODE_PATH:
        env["PYTHONPATH"] = os.pathsep.join([*CODE_PATH, env.get("PYTHONPATH", "")]).rstrip(":")
    return env


def write_config(
    directory: Path,
    *,
    site: Any,
    receiver_base: str,
    subscribers: int,
    database_url: str,
    broker_url: str,
    workers: int,
    digest_share: float = 0.0,
) -> Path:
    """herald.toml: one html source (one article, announced on the first poll) and
    ``subscribers`` generic webhooks on the receiver, ``digest_share`` of them in ``mode =
    "digest"`` on a daily schedule."""
    parts = [
        f"""
[herald]
database_url = "{database_url}"
broker_url = "{broker_url}"
feeds_dir = "feeds"
base_url = "http://feeds.test"
sweep_interval = "1s"
workers = {workers}

[network]
allow = ["127.0.0.0/8", "localhost"]
connect_timeout = "2s"
read_timeout = "5s"
deadline = "10s"

"""
    ]
    parts.append(site.source_toml("news", settings="backfill = 1\nnotify_existing = true"))
    parts += webhook_subscribers(receiver_base, subscribers, digest_share)
    path = directory / "herald.toml"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def webhook_subscribers(receiver_base: str, count: int, digest_share: float = 0.0) -> list[str]:
    """``count`` generic webhooks at ``receiver_base/hook/<i>``, ``digest_share`` of them in
    ``mode = "digest"`` on a daily schedule."""
    every = round(1 / digest_share) if digest_share else 0
    entries = []
    for i in range(count):
        digest = 'mode = "digest"\nschedule = "0 8 * * *"\n' if every and i % every == 0 else ""
        entries.append(
            f'[[subscribers]]\nname = "s{i:05d}"\nchannel = "webhook"\n'
            f'url = "{receiver_base}/hook/{i}"\nsecret = "{SECRET}"\n{digest}'
        )
    return entries


@dataclass
class Ledger:
    """What the harness reads from herald's database on each poll."""

    first_seen: datetime | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    first_delivered: datetime | None = None
    last_delivered: datetime | None = None

    @property
    def delivered(self) -> int:
        return self.statuses.get("delivered", 0)

    @property
    def settled(self) -> int:
        return self.delivered + self.statuses.get("failed", 0)


LEDGER_SQL = (
    "select min(first_seen_at) from articles",
    "select status, count(*) from deliveries group by status",
    "select min(delivered_at), max(delivered_at) from deliveries where status = 'delivered'",
)


def as_utc(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC)


def ledger_from_rows(rows: list[list[Any]]) -> Ledger:
    first_seen = as_utc(rows[0][0][0]) if rows[0] else None
    statuses = {str(status): int(count) for status, count in rows[1]}
    first, last = rows[2][0] if rows[2] else (None, None)
    return Ledger(first_seen, statuses, as_utc(first), as_utc(last))


def make_sqlite_reader(path: Path) -> Callable[[], Ledger | None]:
    def read() -> Ledger | None:
        if not path.exists():
            return None
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        except sqlite3.Error:
            return None
        try:
            return ledger_from_rows([conn.execute(sql).fetchall() for sql in LEDGER_SQL])
        except sqlite3.Error:
            return None
        finally:
            conn.close()

    return read


class PostgresReader:
    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)

    def __call__(self) -> Ledger | None:
        import psycopg

        try:
            return ledger_from_rows([self.conn.execute(sql).fetchall() for sql in LEDGER_SQL])
        except psycopg.errors.UndefinedTable:
            return None

    def close(self) -> None:
        self.conn.close()


@dataclass
class Herald:
    role: str
    proc: subprocess.Popen[bytes]
    log: Path
    peaks_kb: dict[int, int] = field(default_factory=dict)  # pid (itself + children) → VmHWM
    cpu_s: dict[int, float] = field(default_factory=dict)


def herald_commands(mode: str, config: Path, args: argparse.Namespace) -> list[tuple[str, list]]:
    if mode == "herald-embedded":
        return [("run", ["-m", "worker.cli", "--config", str(config), "run"])]
    celery = ["-m", "celery", "-A", "worker"]
    pool = ["-P", "threads"] if args.redis_pool == "threads" else ["-P", "prefork"]
    return [
        ("worker", [*celery, "worker", *pool, "-c", str(args.workers), "--loglevel", "INFO"]),
        ("beat", [*celery, "beat", "--loglevel", "INFO", "-s", str(config.parent / "beat-s")]),
    ]


def sample_usage(herald: Herald) -> None:
    """VmHWM and CPU time of the process and its children (prefork pool) while they live."""
    pids = [herald.proc.pid]
    with suppress(OSError):
        children = Path(f"/proc/{herald.proc.pid}/task/{herald.proc.pid}/children").read_text()
        pids += [int(p) for p in children.split()]
    for pid in pids:
        herald.peaks_kb[pid] = max(herald.peaks_kb.get(pid, 0), read_peak_rss_kb(pid))
        herald.cpu_s[pid] = max(herald.cpu_s.get(pid, 0.0), read_cpu_s(pid))


class OtherLoad:
    """CPU the rest of the machine used during a measurement: all busy CPU time (``/proc/stat``)
    minus what the measured processes, the receiver and this harness used."""

    def __init__(self) -> None:
        self.busy = machine_busy_s()
        self.own = own_cpu_s()

    def others_s(self, measured_s: float, receiver_s: float) -> float:
        busy = machine_busy_s() - self.busy
        return max(0.0, busy - measured_s - receiver_s - (own_cpu_s() - self.own))


def machine_busy_s() -> float:
    """Busy CPU seconds of the whole machine since boot (user, nice, system, irq, steal)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return math.nan
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def start_herald(role: str, command: list[str], config: Path) -> Herald:
    log = config.parent / f"{role}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, *command],
            env=herald_env(config),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=config.parent,
            start_new_session=True,
        )
    return Herald(role, proc, log)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL to its own process group after a grace period."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=STOP_GRACE)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextmanager
def herald_database(
    args: argparse.Namespace, workdir: Path
) -> Iterator[tuple[str, Callable[[], Ledger | None]]]:
    if args.database == "sqlite":
        yield "sqlite:///herald.db", make_sqlite_reader(workdir / "herald.db")
        return
    import psycopg

    name = f"herald_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    reader: PostgresReader | None = None
    try:
        url = f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
        reader = PostgresReader(url)
        yield url, reader
    finally:
        if reader is not None:
            reader.close()
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    finally:
        client.close()


def run_herald(
    mode: str, args: argparse.Namespace, receiver: Receiver, keep_logs: Path | None
) -> Result:
    """One herald run from an empty database; every resource is released on the way out."""
    from worker.demo.site import DemoSite

    n = args.herald_n or args.n
    label = herald_label(mode, args)
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="herald-fanout-")))
        site = DemoSite(articles=1, page_size=20)
        site.start()
        stack.callback(site.stop)
        site.render_list(1)
        for article in site.articles:
            site.render_article(article)
        broker = REDIS_URL if mode == "herald-redis" else ""
        if broker:
            flush_redis()
            stack.callback(flush_redis)
        database_url, read_ledger = stack.enter_context(herald_database(args, workdir))
        config = write_config(
            workdir,
            site=site,
            receiver_base=receiver.base,
            subscribers=n,
            database_url=database_url,
            broker_url=broker,
            workers=args.workers,
        )
        receiver.reset()
        heralds: list[Herald] = []
        try:
            result = watch_herald(mode, label, n, args, config, read_ledger, heralds, receiver)
        finally:
            for herald in reversed(heralds):
                stop_process(herald.proc)
            if keep_logs is not None:
                folder = keep_logs / mode
                folder.mkdir(parents=True, exist_ok=True)
                for herald in heralds:
                    (folder / herald.log.name).write_bytes(herald.log.read_bytes())
        result.receiver = receiver.settled_stats()
        result.details["log_counts"] = count_log_lines(heralds)
        return result
    raise AssertionError("unreachable")


def herald_label(mode: str, args: argparse.Namespace) -> str:
    db = "SQLite" if args.database == "sqlite" else "PostgreSQL"
    if mode == "herald-embedded":
        return f"herald run, embedded ({args.workers} threads, {db})"
    return f"herald on Redis (worker -P {args.redis_pool} -c {args.workers} + beat, {db})"


def watch_herald(
    mode: str,
    label: str,
    n: int,
    args: argparse.Namespace,
    config: Path,
    read_ledger: Callable[[], Ledger | None],
    heralds: list[Herald],
    receiver: Receiver,
) -> Result:
    """Start herald, poll the ledger until every row is settled or the time is up."""
    started_wall = time.time()
    started = time.monotonic()
    for role, command in herald_commands(mode, config, args):
        heralds.append(start_herald(role, command, config))
    ledger = Ledger()
    progress: list[tuple[float, int]] = []
    deadline: float | None = None  # args.timeout after the article's ingest
    why = ""
    load, herald_cpu, receiver_cpu = OtherLoad(), 0.0, 0.0

    def herald_cpu_now() -> float:
        return sum(sum(h.cpu_s.values()) for h in heralds)

    while True:
        for herald in heralds:
            sample_usage(herald)
        ledger = read_ledger() or ledger
        now = time.monotonic()
        if ledger.first_seen is not None and deadline is None:
            deadline = now + args.timeout
            load, herald_cpu = OtherLoad(), herald_cpu_now()
            receiver_cpu = receiver.call("GET", "/stats")["cpu_s"]
        progress.append((round(now - started, 2), ledger.delivered))
        if ledger.first_seen is not None and ledger.settled >= n:
            break
        dead = [h for h in heralds if h.proc.poll() is not None]
        if dead:
            why = f"{dead[0].role} exited with {dead[0].proc.returncode}"
            break
        if deadline is not None and now > deadline:
            why = f"timed out {args.timeout:g} s after the ingest"
            break
        if deadline is None and now - started > args.startup_timeout:
            why = f"no article ingested {args.startup_timeout:g} s after start"
            break
        time.sleep(POLL_EVERY)
    for herald in heralds:
        sample_usage(herald)  # VmHWM and CPU time just before the processes are stopped
    peak_kb = sum(sum(h.peaks_kb.values()) for h in heralds)
    cpu = herald_cpu_now()
    receiver_cpu = receiver.call("GET", "/stats")["cpu_s"] - receiver_cpu
    others = load.others_s(cpu - herald_cpu, receiver_cpu) if deadline is not None else None
    wall = rate = math.nan
    if ledger.first_seen and ledger.last_delivered:
        wall = (ledger.last_delivered - ledger.first_seen).total_seconds()
        rate = ledger.delivered / wall if wall > 0 else math.nan
    details: dict[str, Any] = {
        "statuses": ledger.statuses,
        "subscribers": n,
        "startup_s": (ledger.first_seen.timestamp() - started_wall) if ledger.first_seen else None,
        "first_delivery_after_s": (
            (ledger.first_delivered - ledger.first_seen).total_seconds()
            if ledger.first_seen and ledger.first_delivered
            else None
        ),
        "first_seen_at": ledger.first_seen.isoformat() if ledger.first_seen else None,
        "last_delivered_at": ledger.last_delivered.isoformat() if ledger.last_delivered else None,
        "others_cpu_s": others,
        "herald_cpu_after_ingest_s": cpu - herald_cpu,
        "processes": {
            h.role: {
                "peak_rss_mb": sum(h.peaks_kb.values()) / 1024,
                "cpu_s": sum(h.cpu_s.values()),
                "pids": len(h.peaks_kb),
            }
            for h in heralds
        },
        "progress": progress[:: max(1, len(progress) // 200)],
    }
    if why and ledger.first_seen is None:
        logs = "\n".join(f"--- {h.role}.log ---\n{tail(h.log)}" for h in heralds)
        details["log_tail"] = logs
    return Result(
        client=mode,
        label=label,
        target=n,
        delivered=ledger.delivered,
        wall_s=wall,
        rate=rate,
        peak_rss_mb=peak_kb / 1024,
        cpu_s=cpu,
        ok=not why and ledger.delivered == n,
        note=why,
        details=details,
    )


TICK_RE = {
    "deliver_tasks": re.compile(r"Task herald\.deliver\[[^\]]+\] succeeded"),
    "sweeps": re.compile(r"Task herald\.sweep\[[^\]]+\] succeeded"),
    "warnings": re.compile(r"\bWARNING\b|level=warning", re.I),
    "errors": re.compile(r"\bERROR\b|level=error", re.I),
}


def count_log_lines(heralds: list[Herald]) -> dict[str, int]:
    counts = dict.fromkeys(TICK_RE, 0)
    for herald in heralds:
        text = tail(herald.log, 200_000_000)
        for key, pattern in TICK_RE.items():
            counts[key] += len(pattern.findall(text))
    return counts


# --- the run ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--n", type=int, default=10_000, help="deliveries (subscribers)")
    parser.add_argument(
        "--only", default=",".join(GROUPS), help=f"comma-separated subset of {', '.join(GROUPS)}"
    )
    parser.add_argument("--json", type=Path, default=None, help="write every result here")
    parser.add_argument(
        "--herald-n", type=int, default=0, help="subscribers for the herald runs (default: --n)"
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds allowed per client (herald: after"
        " the article's ingest; the partial count and rate are reported)",
    )  # fmt: skip
    parser.add_argument("--startup-timeout", type=float, default=120.0)
    parser.add_argument("--runs", type=int, default=1, help="rounds; the table shows medians")
    parser.add_argument("--threads", type=int, default=32, help="(a) requests threads")
    parser.add_argument("--in-flight", default="16,32,64", help="(b) asyncio concurrency")
    parser.add_argument("--asyncio-libs", default="aiohttp,httpx", help="(b) aiohttp, httpx")
    parser.add_argument("--workers", type=int, default=4, help="herald worker threads (-c)")
    parser.add_argument("--redis-pool", choices=("threads", "prefork"), default="threads")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--code",
        choices=("head", "live"),
        default="head",
        help="run herald from a snapshot of the committed worker/ (head) or the working tree",
    )
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy herald's logs here")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(GROUPS)
    if unknown:
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}")
    return args


def article_data() -> dict[str, Any]:
    """The ``data`` of the baselines' events, made the way herald makes it: the demo site's
    article page read with the source's selectors and described by ``article_data``."""
    from zoneinfo import ZoneInfo

    import requests

    from worker.demo.site import DemoSite
    from worker.extract import extract_article
    from worker.models import Article, ArticleSelectors
    from worker.notify import article_data as describe

    with DemoSite(articles=1) as site:
        url = site.article_url(site.articles[0].id)
        page = requests.get(url, timeout=10)
    selectors = ArticleSelectors(**DemoSite.ARTICLE_SELECTORS)
    found = extract_article(page.text, url, tz=ZoneInfo("Asia/Shanghai"), selectors=selectors)
    now = datetime.now(UTC)
    published = found.published_at.astimezone(UTC) if found.published_at else None
    article = Article(
        id=1, source_name="news", url=found.url, guid="", title=found.title,
        author=found.author, published_at=published, summary=found.summary,
        content_html=found.content_html, text=found.text, images=tuple(found.images),
        version=1, first_seen_at=now, updated_at=now, attachments=tuple(found.attachments),
    )  # fmt: skip
    return describe(article)


def run_all(args: argparse.Namespace, code: dict[str, Any]) -> int:
    groups = set(args.only.split(","))
    env = herald_env()
    results: list[Result] = []
    load_before = os.getloadavg()
    data = article_data()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fanout-")))
        receiver = Receiver(env)
        stack.callback(receiver.stop)

        def client(name: str, concurrency: int) -> Callable[[], Result]:
            return lambda: run_client(name, concurrency, args, receiver, data, env, workdir)

        def herald(mode: str) -> Callable[[], Result]:
            return lambda: run_herald(mode, args, receiver, args.keep_logs)

        jobs: list[Callable[[], Result]] = []
        if "apprise" in groups:
            jobs.append(client("apprise", 0))
        if "requests" in groups:
            jobs.append(client("requests", args.threads))
        if "asyncio" in groups:
            for lib in args.asyncio_libs.split(","):
                jobs += [client(lib, int(c)) for c in args.in_flight.split(",")]
        jobs += [herald(mode) for mode in ("herald-embedded", "herald-redis") if mode in groups]
        for index in range(1, args.runs + 1):
            for job in jobs:  # rounds interleaved, so a busy spell of the machine hits them all
                result = job()
                result.details["round"] = index
                results.append(result)
                state = f"{result.rate:,.0f}/s" if result.delivered else "-"
                print(
                    f"round {index}/{args.runs} {result.label}: {result.delivered}/"
                    f"{result.target} in {result.wall_s:.2f} s ({state})"
                    f"{'' if result.ok else ' — ' + result.note}",
                    file=sys.stderr,
                    flush=True,
                )
    code["changed_during_run"] = (
        hash_worker(Path(CODE_PATH[0]) if CODE_PATH else ROOT) != code["worker_sha256"]
    )
    machine = {**machine_info(), "loadavg_before": load_before, "loadavg_after": os.getloadavg()}
    rows = table_rows(results, args.runs)
    report = {
        "benchmark": "fanout",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine,
        "code": code,
        "params": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "table": format_table(rows),
        "rows": [asdict(r) for r in rows],
        "results": [asdict(r) for r in results],
    }
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(to_json(report), indent=2, ensure_ascii=False) + "\n")
    print(format_table(rows), flush=True)
    return 0 if all(r.ok for r in results) else 1


def median_run(runs: list[Result]) -> Result:
    """The run with the median rate (the lower middle one for an even count); its note gives
    the spread."""
    ordered = sorted(runs, key=lambda r: (r.ok, -math.inf if math.isnan(r.rate) else r.rate))
    chosen = ordered[(len(ordered) - 1) // 2]
    if len(runs) > 1:
        rates = ", ".join(f"{r.rate:,.0f}" for r in ordered)
        chosen = Result(**{**asdict(chosen), "note": chosen.note})
        chosen.note = "; ".join(
            x for x in (chosen.note, f"median of {len(runs)} runs ({rates}/s)") if x
        )
    return chosen


def table_rows(results: list[Result], runs: int) -> list[Result]:
    """Herald's rows, (a), the best (b) setting per library, (c); each the median of its runs."""
    by_label: dict[str, list[Result]] = {}
    for result in results:
        by_label.setdefault(result.label, []).append(result)
    medians = [median_run(group) for group in by_label.values()]
    rows = [r for r in medians if r.client.startswith("herald")]
    rows += [r for r in medians if r.client == "requests"]
    for lib in ("aiohttp", "httpx"):
        settings = [r for r in medians if r.client == lib]
        if settings:
            best = max(settings, key=lambda r: (r.ok, -math.inf if math.isnan(r.rate) else r.rate))
            others = ", ".join(
                f"{r.details.get('concurrency')} in flight: {r.rate:,.0f}/s"
                for r in settings
                if r is not best
            )
            if others:
                best.note = "; ".join(x for x in (best.note, f"best setting; {others}") if x)
            rows.append(best)
    rows += [r for r in medians if r.client == "apprise"]
    return rows


def format_table(rows: list[Result]) -> str:
    apprise = next((r.rate for r in rows if r.client == "apprise" and r.ok), math.nan)
    plain = next((r.rate for r in rows if r.client == "requests" and r.ok), math.nan)
    lines = [
        "| client | deliveries | wall s | deliveries/s | peak RSS MB | vs Apprise | vs requests |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        delivered = f"{r.delivered:,}" if r.delivered == r.target else (
            f"{r.delivered:,} of {r.target:,}")  # fmt: skip
        lines.append(
            f"| {r.label} | {delivered} | {r.wall_s:.2f} | {r.rate:,.0f} | {r.peak_rss_mb:.0f} "
            f"| {ratio(r.rate, apprise)} | {ratio(r.rate, plain)} |"
        )
    notes = [f"- {r.label}: {r.note}" for r in rows if r.note]
    return "\n".join([*lines, "", *notes] if notes else lines)


def ratio(value: float, reference: float) -> str:
    if math.isnan(value) or math.isnan(reference) or reference <= 0:
        return "–"
    return f"{value / reference:.2f}×"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--client"]:
        return client_main(argv[1], Path(argv[2]), Path(argv[3]))
    args = parse_args(argv)
    commit = run_git("rev-parse", "HEAD")
    code: dict[str, Any] = {"commit": commit}
    with tempfile.TemporaryDirectory(prefix="fanout-code-") as snapshot:
        if args.code == "head":
            if not commit:
                sys.exit("snapshot: git rev-parse HEAD failed (use --code live)")
            archive = subprocess.run(
                ["git", "archive", commit, "worker"], cwd=ROOT, capture_output=True, check=True
            )
            subprocess.run(["tar", "-x", "-C", snapshot], input=archive.stdout, check=True)
            CODE_PATH[:] = [snapshot]
            sys.path.insert(0, snapshot)  # this process (demo site, article data) runs it too
            code["source"] = f"git archive {commit[:12]} worker"
        else:
            code["source"] = "working tree"
            code["worker_changes"] = run_git("status", "--porcelain", "--", "worker").splitlines()
        code["worker_sha256"] = hash_worker(Path(CODE_PATH[0]) if CODE_PATH else ROOT)
        return run_all(args, code)


if __name__ == "__main__":
    sys.exit(main())
