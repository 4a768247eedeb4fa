"""The process-wide resources every stage needs: settings, database engine, the fetcher.

Built lazily once per process (and rebuilt after a fork). The config file is watched: a change
(by hand, ``herald sources add``, the JSON API …) is read again within ``RELOAD_CHECK`` seconds
by every process, applied to the database, and used from then on; a file that no longer loads is
logged and the previous settings are kept. It must not contain stage logic.
The fetcher goes through the SSRF guard with the policy of ``[network] allow``
(``network_policy``) and through ``[network] proxy`` when one is set; a source with a proxy of
its own gets a fetcher of its own (``fetcher_for``); deliveries use the same policy in
``worker.notify.transport``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from worker.config import Config, ConfigError, SourceConfig, load_config
from worker.fetch import Fetcher
from worker.netguard import Policy
from worker.store.counters import FEEDS_GENERATION, bump_counter
from worker.store.db import SessionFactory, make_engine, make_session_factory
from worker.store.migrate import upgrade
from worker.store.sources import sync_config

if TYPE_CHECKING:
    from worker.render.browser import Renderer
    from worker.render.fallback import RenderFallback

RELOAD_CHECK = 1.0  # seconds between looks at the config file

log = logging.getLogger(__name__)
_lock = threading.Lock()
_config: Config | None = None
_runtime: Runtime | None = None
_stamp: tuple[int, int] | None = None  # the config file's (mtime_ns, size) when it was read
_checked = 0.0  # monotonic time of the last look
_unsynced = False  # a reloaded config not yet applied to the database
_spare: list[Renderer] = []  # a dropped runtime's browser, for the next runtime


@dataclass
class Runtime:
    config: Config
    engine: Engine
    sessions: SessionFactory
    fetcher: Fetcher  # through [network] proxy, if any
    proxied: dict[str, Fetcher] = field(default_factory=dict)  # sources' own proxies
    _proxied_lock: threading.Lock = field(default_factory=threading.Lock)
    renderer: Renderer | None = None  # headless Chromium, when [browser] makes it available

    def fetcher_for(self, source: SourceConfig) -> Fetcher:
        """The fetcher for ``source``: through its own proxy (or none, for ``direct``), with a
        fresh render fallback (its ``render`` records what this use of it rendered)."""
        proxy = self.config.source_proxy(source)
        if proxy == self.fetcher.proxy:
            base = self.fetcher
        else:
            with self._proxied_lock:
                if proxy not in self.proxied:
                    self.proxied[proxy] = build_fetcher(self.config, proxy=proxy)
                base = self.proxied[proxy]
        return base.with_render(render_fallback(source, self.renderer))

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits when the block ends without an error."""
        with self.sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        if self.renderer is not None:
            self.renderer.close()
        self.fetcher.close()
        for fetcher in self.proxied.values():
            fetcher.close()
        self.engine.dispose()


def configure(config: Config) -> None:
    """Use this config in this process (the CLI calls it before any task runs)."""
    global _config, _runtime, _stamp, _checked
    with _lock:
        if _runtime is not None:
            _runtime.close()
            _runtime = None
        _config = config
        _stamp, _checked = _file_stamp(config.path), time.monotonic()


def current_config() -> Config:
    """The configured settings, else those of ``$HERALD_CONFIG`` / ``./herald.toml`` / defaults;
    read again when the file changed."""
    global _config, _stamp, _checked
    with _lock:
        if _config is None:
            _config = load_config(required=False)
            _stamp, _checked = _file_stamp(_config.path), time.monotonic()
        elif _config.path is not None and time.monotonic() - _checked >= RELOAD_CHECK:
            _checked = time.monotonic()
            stamp = _file_stamp(_config.path)
            if stamp != _stamp:
                _stamp = stamp
                _reload(_config.path)
        return _config


def _file_stamp(path: Path | None) -> tuple[int, int] | None:
    if path is None:
        return None
    try:
        found = path.stat()
    except OSError:
        return None
    return found.st_mtime_ns, found.st_size


def _reload(path: Path) -> None:
    """Read the changed file; apply it to this process and the database (the lock is held)."""
    try:
        config = load_config(path)
    except ConfigError as err:
        log.error("config: %s changed but does not load, keeping the previous settings: %s",
                  path, err)  # fmt: skip
        return
    log.info("config: %s changed: %d source(s), %d subscriber(s)", path,
             len(config.sources), len(config.subscribers))  # fmt: skip
    _apply(config)


def apply_config(config: Config) -> None:
    """Use ``config``, just written to its file, in this process and the database at once
    (the JSON API), without closing what requests in flight use."""
    global _stamp, _checked
    with _lock:
        _stamp, _checked = _file_stamp(config.path), time.monotonic()
        _apply(config)


def _apply(config: Config) -> None:
    """Use ``config`` from now on (the lock is held). A new database or network setting gets a
    new runtime on next use; the old one is left to whoever still holds it, not closed under
    them. Either way the database is synced with the config and the feeds are rebuilt."""
    global _config, _runtime, _unsynced
    previous = _config
    _config = config
    if (
        _runtime is not None
        and previous is not None
        and (
            previous.herald.database_url != config.herald.database_url
            or previous.network != config.network
            or previous.browser != config.browser
        )
    ):
        _keep_renderer(_runtime.renderer, same=previous.browser == config.browser)
        _runtime = None
    if _runtime is None:
        _unsynced = True
        return
    _runtime.config = config
    _sync(_runtime)


def _sync(rt: Runtime) -> None:
    global _unsynced
    try:
        with rt.session() as session:
            sync_config(session, rt.config, datetime.now(UTC))
            bump_counter(session, FEEDS_GENERATION)  # new feeds, titles, hub or base URL
        _unsynced = False
    except (IntegrityError, OperationalError) as err:  # another process synced it
        log.debug("config: sync after reload left to another process: %s", err)


def get_runtime() -> Runtime:
    global _runtime
    current_config()  # read the file again if it changed
    with _lock:
        if _runtime is None:
            assert _config is not None
            spare = _spare.pop() if _spare else None
            _runtime = build_runtime(_config, renderer=spare)
            if _unsynced:
                _sync(_runtime)
        return _runtime


def _keep_renderer(renderer: Renderer | None, *, same: bool) -> None:
    """A dropped runtime's browser: handed to the next runtime when ``[browser]`` is the same,
    else closed (in the background: a render may still be finishing on it)."""
    if renderer is None:
        return
    if same:
        _spare[:] = [renderer]
    else:
        threading.Thread(target=renderer.close, name="herald-browser-close", daemon=True).start()


def build_runtime(
    config: Config, *, migrate: bool = True, renderer: Renderer | None = None
) -> Runtime:
    fetcher = build_fetcher(config)
    engine = make_engine(config.herald.database_url)
    if migrate:
        upgrade(engine)
    return Runtime(
        config, engine, make_session_factory(engine), fetcher,
        renderer=renderer if renderer is not None else build_renderer(config),
    )  # fmt: skip


def reset_after_fork() -> None:
    """A forked pool child must not share the parent's connections."""
    global _runtime
    with _lock:
        if _runtime is not None:
            _runtime.engine.dispose(close=False)
        _runtime = None
        _spare.clear()  # the parent's browser thread does not exist here


def build_fetcher(config: Config, *, proxy: str | None = None) -> Fetcher:
    """A fetcher with the ``[network]`` settings (also for dry runs that use no database),
    through ``proxy`` when given, else through ``[network] proxy``."""
    net = config.network
    return Fetcher(
        user_agent=net.user_agent,
        connect_timeout=net.connect_timeout,
        read_timeout=net.read_timeout,
        deadline=net.deadline,
        per_host=net.per_host,
        policy=network_policy(config),
        proxy=net.proxy if proxy is None else proxy,
    )


def build_renderer(config: Config) -> Renderer | None:
    """The process's headless Chromium (not started yet), or None when ``[browser]`` is off or
    no executable is found."""
    from worker.render.locate import browser_executable

    executable = browser_executable(config.browser)
    if not executable:
        return None
    from worker.render.browser import Renderer

    return Renderer(config.browser, executable)


def render_fallback(source: SourceConfig, renderer: Renderer | None) -> RenderFallback:
    """``source``'s render policy bound to ``renderer``."""
    from worker.render.fallback import RenderFallback

    return RenderFallback(source.render, renderer)


def network_policy(config: Config) -> Policy:
    """The SSRF guard's policy from ``[network] allow`` (ValueError names a bad entry)."""
    return Policy.from_allow(config.network.allow)
