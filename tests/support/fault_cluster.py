"""Real processes for the fault-injection tests: a private Redis, celery workers and beat in their
own process groups, a fan-out of N webhook subscribers, and reads of the delivery ledger.

Everything listens on 127.0.0.1. The shared Redis on 6379 is never touched: each test runs its
own ``redis-server`` without persistence on a free port (so it can be killed and restarted, and
no other test's worker can take its tasks). Every process started here is ended by the test that
started it, by its process-group id. The figures of each run are printed and, when
``$HERALD_FAULTS_REPORT`` names a file, appended to it as one JSON line.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

import worker
from tests.conftest import SECRET, site_source, write_config
from worker.demo.receiver import Received, WebhookReceiver
from worker.demo.site import DemoSite
from worker.store.db import normalise_url

ROOT = Path(worker.__file__).resolve().parent.parent  # the checkout under test (for subprocesses)
LONG = os.environ.get("HERALD_LONG_FAULTS") == "1"
LONG_REASON = "the long fan-out variants: set HERALD_LONG_FAULTS=1 to run them"
FAULT_MARKS = [  # every fault test: a private Redis, PostgreSQL, /proc
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.skipif(sys.platform != "linux", reason="the fault cluster reads /proc"),
]


def long_fanout(count: int) -> Any:
    """A fan-out size run only with ``HERALD_LONG_FAULTS=1``."""
    return pytest.param(
        count, marks=[pytest.mark.slow, pytest.mark.skipif(not LONG, reason=LONG_REASON)],
        id=str(count),
    )  # fmt: skip


REDIS_SERVER = shutil.which("redis-server")
LEASE = 10.0  # [delivery] lease in these tests (herald's default: 30 s); taken as 14 s with the
# tests' 5 s timeout, since a lease is never shorter than twice (timeout + 2 s)
REQUEUE_AFTER = 5.0  # [delivery] requeue_after in these tests (herald's default: 60 s)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def tail(path: Path, chars: int = 4000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return f"({path} unreadable)"


def _end_group(proc: subprocess.Popen[bytes], *, grace: float) -> None:
    """SIGTERM the process group ``proc`` leads, then SIGKILL it after ``grace`` seconds."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=grace)
    with contextlib.suppress(ProcessLookupError):  # pool children left behind, if any
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


# --------------------------------------------------------------------------------------------
# A receiver that keeps up


class RoomyReceiver(WebhookReceiver):
    """The demo receiver with a listen backlog a real server would have.

    ``WebhookReceiver`` keeps ``socketserver``'s backlog of 5: 64 connections opened at once (a
    concurrent batch) overflow it, some stall for seconds and time out although the message
    was accepted, and those retries would be counted as duplicates caused by the fault.
    """

    BACKLOG = 1024

    def start(self) -> str:
        url = super().start()
        server = self._server
        assert server is not None
        server.socket.listen(self.BACKLOG)  # Linux: listen() again resizes the queue
        return url


# --------------------------------------------------------------------------------------------
# A private Redis


class PrivateRedis:
    """``redis-server`` on a free port of 127.0.0.1, without persistence: kill it and start it
    again on the same port and it comes back empty."""

    def __init__(self, directory: Path) -> None:
        if REDIS_SERVER is None:
            raise RuntimeError("redis-server is not installed")
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        assert REDIS_SERVER is not None and self.proc is None
        self.starts += 1
        log = (self.directory / f"redis-{self.starts}.log").open("wb")
        # no persistence: a restarted server comes back empty
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        self.proc = subprocess.Popen(
            [REDIS_SERVER, *args, "--save", "", "--appendonly", "no"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if not wait_until(self.ping, 10, 0.05):
            raise RuntimeError(f"redis-server did not start: {tail(Path(log.name))}")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.port, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def queued(self, queue: str) -> int:
        """Messages waiting in a Celery queue (kombu keeps one list per priority step)."""
        import redis

        client = redis.Redis(port=self.port, socket_timeout=1)
        return sum(int(client.llen(key)) for key in client.scan_iter(match=f"{queue}*"))

    def kill(self) -> None:
        """SIGKILL: everything it held (queues, unacked messages) is gone."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            _end_group(self.proc, grace=5)
            self.proc = None


# --------------------------------------------------------------------------------------------
# Celery processes


class CeleryProcess:
    """``celery -A worker …`` in its own process group."""

    def __init__(self, args: list[str], config: Path, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HERALD_")}
        env["HERALD_CONFIG"] = str(config)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "worker", *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=config.parent,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def children(self) -> list[int]:
        """The pids whose parent is this process (the prefork pool), oldest first."""
        found: list[tuple[int, int]] = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == self.pid:  # ppid
                found.append((int(fields[19]), int(entry.name)))  # (start time, pid)
        return [pid for _, pid in sorted(found)]

    def busiest_child(self, port: int) -> tuple[int, int]:
        """The pool child with the most TCP connections to ``port`` (the one sending), and
        how many it has."""
        children = self.children()
        assert children, "no pool children"
        counts = {pid: connections_to(pid, port) for pid in children}
        pid = max(counts, key=lambda child: counts[child])
        return pid, counts[pid]

    def group_gone(self) -> bool:
        """No process of this process group is left (the main process and its children)."""
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return True
        return False

    def kill_group(self) -> None:
        """kill -9 the main process and every child at once."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        _end_group(self.proc, grace=15)

    def tail(self, chars: int = 4000) -> str:
        return tail(self.log, chars)


def connections_to(pid: int, port: int) -> int:
    """How many of ``pid``'s sockets are TCP connections to ``port`` on this host."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[2].rsplit(":", 1)[1], 16) == port:  # the remote address
                    inodes.add(fields[9])
    count = 0
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    count += 1
    return count


# --------------------------------------------------------------------------------------------
# Configuration


def delivery_section(**values: str | int) -> str:
    """A ``[delivery]`` table (TOML) with these settings."""
    return "[delivery]\n" + "".join(f"{key} = {json.dumps(v)}\n" for key, v in values.items())


def fanout_subscribers(receiver: WebhookReceiver, count: int) -> str:
    """``count`` webhook subscribers, each at its own path of one receiver, one secret."""
    return "".join(
        f'[[subscribers]]\nname = "hook{i:04d}"\nchannel = "webhook"\n'
        f'url = "{receiver.url(f"/s/{i}")}"\nsecret = "{SECRET}"\n\n'
        for i in range(count)
    )


# --------------------------------------------------------------------------------------------
# The ledger


class Ledger:
    """Reads of the delivery ledger of one database (each read on a fresh connection)."""

    def __init__(self, database_url: str) -> None:
        self.engine = create_engine(normalise_url(database_url), poolclass=NullPool)

    def scalar(self, sql: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql)).scalar()

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(text("select status, count(*) from deliveries group by status"))
            return {str(status): int(count) for status, count in rows}

    def event_ids(self) -> set[str]:
        with self.engine.connect() as conn:
            return {str(r[0]) for r in conn.execute(text("select event_id from deliveries"))}

    def attempts(self) -> int:
        return int(self.scalar("select count(*) from delivery_attempts") or 0)

    def articles(self) -> int:
        try:
            return int(self.scalar("select count(*) from articles") or 0)
        except Exception:  # the tables do not exist until the worker migrated
            return 0

    def close(self) -> None:
        self.engine.dispose()


# --------------------------------------------------------------------------------------------
# A fan-out on a real cluster


class FanOut:
    """A new article fanned out to ``count`` webhook subscribers by real celery processes.

    The source's first poll imports silently; ``publish`` adds the article the next poll turns
    into ``count`` ledger rows. Marks (seconds since ``publish``) and figures go to ``figures``.
    """

    def __init__(
        self,
        directory: Path,
        *,
        site: DemoSite,
        receiver: WebhookReceiver,
        count: int,
        database_url: str,
        broker_url: str,
        delivery: dict[str, str | int] | None = None,
        defaults: bool = False,
    ) -> None:
        """``defaults``: herald's own delivery settings and sweep interval, not the short ones
        these tests otherwise use to see lost work come back in seconds."""
        self.directory = directory
        self.site = site
        self.receiver = receiver
        self.count = count
        short = {"lease": f"{LEASE:g}s", "requeue_after": f"{REQUEUE_AFTER:g}s", "timeout": "5s"}
        settings: dict[str, str | int] = {} if defaults else short
        settings.update(delivery or {})
        self.config = write_config(
            directory,
            sources=site_source(site, backfill=2, interval="2s"),
            subscribers=(delivery_section(**settings) if settings else "")
            + fanout_subscribers(receiver, count),
            database_url=database_url,
            broker_url=broker_url,
            extra_herald="" if defaults else 'sweep_interval = "1s"',
        )
        self.ledger = Ledger(database_url)
        self.processes: list[CeleryProcess] = []
        self.published_at = 0.0
        self.fault_wall = 0.0
        self.figures: dict[str, Any] = {"deliveries": count}

    # processes -----------------------------------------------------------------------------

    def start_worker(
        self, name: str, *, pool: str = "prefork", concurrency: int = 2
    ) -> CeleryProcess:
        args = [
            "worker", "--pool", pool, "-c", str(concurrency), "-n", f"{name}@%h",
            "--loglevel", "INFO", "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        proc = CeleryProcess(args, self.config, self.directory / f"{name}.log")
        self.processes.append(proc)
        ready = wait_until(lambda: " ready." in proc.tail(200_000) or not proc.alive(), 90, 0.2)
        assert ready and proc.alive(), f"worker {name} did not start:\n{proc.tail()}"
        return proc

    def start_beat(self) -> CeleryProcess:
        schedule = self.directory / "beat-schedule"
        args = ["beat", "--loglevel", "INFO", "-s", str(schedule)]
        proc = CeleryProcess(args, self.config, self.directory / "beat.log")
        self.processes.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.processes):
            proc.stop()
        self.ledger.close()

    def logs(self) -> str:
        return "\n".join(f"--- {p.log.name}\n{p.tail(2500)}" for p in self.processes)

    # the scenario --------------------------------------------------------------------------

    def wait_imported(self, timeout: float = 90) -> None:
        """The first poll's silent import (no deliveries) is done."""
        expected = len(self.site.articles)
        done = wait_until(lambda: self.ledger.articles() >= expected, timeout, 0.25)
        assert done, f"the first import did not finish\n{self.logs()}"
        assert self.ledger.counts() == {} and self.receiver.messages() == []

    def publish(self) -> None:
        self.site.add_article()
        self.published_at = time.monotonic()

    def since(self) -> float:
        return round(time.monotonic() - self.published_at, 2)

    def fault_at(self, count: int, name: str, action: Callable[[], None]) -> threading.Event:
        """Run ``action`` (the fault) in the receiver the moment it accepts its ``count``-th
        distinct message, then note the moment; the returned event is set once it has run."""
        done = threading.Event()
        lock = threading.Lock()

        def on_message(_: Received) -> None:
            if done.is_set() or len(self.receiver.unique_ids()) < count:
                return
            with lock:
                if done.is_set():
                    return
                try:
                    action()
                finally:
                    self.mark_fault(name)
                    done.set()

        self.receiver.echo = on_message
        return done

    def wait_fault(self, done: threading.Event, timeout: float = 90) -> None:
        assert done.wait(timeout), (
            f"the fault never came: {len(self.receiver.unique_ids())}/{self.count} received\n"
            f"{self.logs()}"
        )
        self.receiver.echo = None

    def mark_fault(self, name: str) -> None:
        """Note the moment of a fault: elapsed time, messages received, rows in flight."""
        self.fault_wall = time.time()
        self.figures[f"{name}_at_s"] = self.since()
        self.figures["received_at_fault"] = len(self.receiver.unique_ids())
        self.figures["in_flight_at_fault"] = self.ledger.counts().get("sending", 0)

    def wait_all_delivered(self, timeout: float) -> None:
        """Every row delivered (the ledger says so), within ``timeout`` seconds of now."""
        done = wait_until(
            lambda: self.ledger.counts() == {"delivered": self.count}, timeout, interval=0.25
        )
        self.figures["all_delivered_at_s"] = self.since()
        assert done, (
            f"not every delivery ended delivered within {timeout:g} s: {self.ledger.counts()}, "
            f"{len(self.receiver.unique_ids())}/{self.count} received\n{self.logs()}"
        )

    def check_exactly_once(self) -> None:
        """After dedup on webhook-id the receiver holds each ledger row's message, no other."""
        self.figures["raw_messages"] = len(self.receiver.messages())
        self.figures["distinct"] = len(self.receiver.unique_ids())
        self.figures["raw_duplicates"] = self.receiver.duplicates()
        self.figures["attempts"] = self.ledger.attempts()
        self.figures["rejected"] = self.receiver.rejected
        self.figures.update(self.copies())
        assert self.receiver.rejected == 0
        assert self.ledger.counts() == {"delivered": self.count}
        assert self.receiver.unique_ids() == self.ledger.event_ids()
        assert len(self.receiver.unique_ids()) == self.count

    def copies(self) -> dict[str, Any]:
        """How many times each id arrived, and when the repeated copies came (after the fault)."""
        seen: dict[str, int] = {}
        repeats: list[float] = []
        for message in self.receiver.messages():
            seen[message.webhook_id] = seen.get(message.webhook_id, 0) + 1
            if seen[message.webhook_id] > 1:
                repeats.append(message.received_at - self.fault_wall)
        histogram: dict[int, int] = {}
        for copies in seen.values():
            histogram[copies] = histogram.get(copies, 0) + 1
        spread = [round(min(repeats), 2), round(max(repeats), 2)] if repeats else []
        return {"copies_histogram": histogram, "repeats_after_fault_s": spread}

    def report(self, test: str) -> dict[str, Any]:
        figures = {"test": test, **self.figures}
        print(f"\nFAULTS {json.dumps(figures, sort_keys=False)}")
        target = os.environ.get("HERALD_FAULTS_REPORT")
        if target:
            with open(target, "a", encoding="utf-8") as out:
                out.write(json.dumps(figures) + "\n")
        return figures
