"""The process-wide resources every stage needs: settings, database engine, the fetcher.

Built lazily once per process (and rebuilt after a fork). It must not contain stage logic.
The fetcher goes through the SSRF guard with the policy of ``[network] allow``
(``network_policy``); deliveries use the same policy in ``worker.notify.transport``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from worker.config import Config, load_config
from worker.fetch import Fetcher
from worker.netguard import Policy
from worker.store.db import SessionFactory, make_engine, make_session_factory
from worker.store.migrate import upgrade

_lock = threading.Lock()
_config: Config | None = None
_runtime: Runtime | None = None


@dataclass
class Runtime:
    config: Config
    engine: Engine
    sessions: SessionFactory
    fetcher: Fetcher

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits when the block ends without an error."""
        with self.sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.fetcher.close()
        self.engine.dispose()


def configure(config: Config) -> None:
    """Use this config in this process (the CLI calls it before any task runs)."""
    global _config, _runtime
    with _lock:
        if _runtime is not None:
            _runtime.close()
            _runtime = None
        _config = config


def current_config() -> Config:
    """The configured settings, else those of ``$HERALD_CONFIG`` / ``./herald.toml`` / defaults."""
    global _config
    with _lock:
        if _config is None:
            _config = load_config(required=False)
        return _config


def get_runtime() -> Runtime:
    global _runtime
    config = current_config()
    with _lock:
        if _runtime is None:
            _runtime = build_runtime(config)
        return _runtime


def build_runtime(config: Config, *, migrate: bool = True) -> Runtime:
    fetcher = build_fetcher(config)
    engine = make_engine(config.herald.database_url)
    if migrate:
        upgrade(engine)
    return Runtime(config, engine, make_session_factory(engine), fetcher)


def reset_after_fork() -> None:
    """A forked pool child must not share the parent's connections."""
    global _runtime
    with _lock:
        if _runtime is not None:
            _runtime.engine.dispose(close=False)
        _runtime = None


def build_fetcher(config: Config) -> Fetcher:
    """A fetcher with the ``[network]`` settings (also for dry runs that use no database)."""
    net = config.network
    return Fetcher(
        user_agent=net.user_agent,
        connect_timeout=net.connect_timeout,
        read_timeout=net.read_timeout,
        deadline=net.deadline,
        per_host=net.per_host,
        policy=network_policy(config),
    )


def network_policy(config: Config) -> Policy:
    """The SSRF guard's policy from ``[network] allow`` (ValueError names a bad entry)."""
    return Policy.from_allow(config.network.allow)
