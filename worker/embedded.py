"""Run herald in this process: a Celery worker (threads pool) and a threaded beat.

With no broker configured this uses kombu's in-memory transport, so nothing else needs to run
(see docs/design-notes.md); with a broker URL the same process works on Redis beside any
separate ``celery -A worker worker`` processes. ``run_once`` runs one full pass eagerly.
It must not contain stage logic.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, NoReturn

from celery.beat import EmbeddedService

from worker.celery_app import QUEUES, app, celery_settings
from worker.config import Config
from worker.notify.sending_loop import close_sending_loop
from worker.runtime import configure, get_runtime

log = logging.getLogger(__name__)

ONCE_WAIT = 15.0  # a delivery due this soon (a chat platform's rate window) goes in this pass
ONCE_EXTRA = 120.0  # at most this long is spent on such waits in one pass


def setup(config: Config) -> None:
    """Point this process (runtime and Celery settings) at ``config`` and prepare the database."""
    from worker.tasks import prepare_database

    configure(config)
    app.conf.update(celery_settings(config), herald_embedded=True)
    prepare_database(get_runtime())


def start_beat() -> Any:
    """A beat in a thread of this process, with an in-memory schedule (the sweep is idempotent)."""
    beat = EmbeddedService(app, thread=True, scheduler_cls="celery.beat:Scheduler")
    beat.start()
    return beat


def run_worker(config: Config, *, loglevel: str = "INFO", quiet: bool = False) -> None:
    """Worker + beat (and the web app, unless ``[web] enabled = false``) in this process until
    SIGINT/SIGTERM (warm shutdown). A web port already in use is warned about and skipped.

    Once the worker has stopped, beat, the sending loop and the database connections are shut
    down here, in order, rather than left to the interpreter's exit, where threads still
    running native code (an event loop, a timer firing a countdown task) can crash it; and a
    fatal signal prints every thread's stack (``faulthandler``)."""
    with contextlib.suppress(ValueError, OSError, RuntimeError):  # stderr is not a real file
        faulthandler.enable()
    setup(config)
    if config.web.enabled:
        start_web(config)
    beat = start_beat()
    worker = app.Worker(
        pool="threads",
        concurrency=config.herald.workers,
        queues=list(QUEUES),
        loglevel=loglevel,
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
        quiet=quiet,
        hostname=f"herald-embedded@{'memory' if config.herald.embedded else 'broker'}",
    )
    try:
        worker.start()
    finally:
        beat.stop()
        close_sending_loop()
        get_runtime().close()


def end_process(code: int = 0) -> NoReturn:
    """Leave a process whose worker has shut down in order (``run_worker``) without the
    interpreter's finalization: daemon threads of C extensions still parked there (kombu's
    timer, the event loop's) crashed it with SIGSEGV at exit now and then, after every task had
    finished, turning a clean stop into exit code -11. Logs and output are flushed first."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def start_web(config: Config) -> bool:
    """``herald serve`` beside the worker, in a thread; False (warned) when it cannot listen."""
    from worker.web.server import bind, serve_in_background

    host, port = config.web.host, config.web.port
    try:
        sock = bind(host, port)
    except OSError as err:
        log.warning("web: cannot listen on %s:%d (%s); running without the web app; set "
                    "[web] port to a free port, or [web] enabled = false", host, port,
                    err.strerror or err)  # fmt: skip
        return False
    serve_in_background(sock)
    log.info("web: serving on http://%s:%d/", host, port)
    return True


@dataclass(frozen=True)
class PassSummary:
    sources: int
    ingested: dict[str, int]
    deliveries: dict[str, int]
    feeds_written: int


def finish_short_waits(rt: Any, sweep: Any) -> None:
    """Send, in this pass, the deliveries never tried that become due within ``ONCE_WAIT``
    seconds (rows a platform's rate window or a subscriber's ``rate_limit`` held back), for
    ``ONCE_EXTRA`` seconds at most; a longer wait, and every retry, is left to the next pass."""
    from worker.store.due import seconds_to_next_first_send

    deadline = time.monotonic() + ONCE_EXTRA
    waited = True
    while True:
        with rt.session() as session:
            wait = seconds_to_next_first_send(session)
        if wait is None or wait > ONCE_WAIT or time.monotonic() + wait > deadline:
            return
        if not wait and not waited:
            return  # due now, yet the sweep just left it: not this pass's to send
        waited = wait > 0
        time.sleep(wait)
        sweep.apply().get()


def run_once(config: Config) -> PassSummary:
    """One full pass: poll every enabled source, ingest, build feeds, deliver what is due.

    Uses the same task code with Celery's eager mode, so no broker is involved.
    """
    from worker import tasks
    from worker.store.due import delivery_counts
    from worker.store.pending import pending_item_counts

    setup(config)
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    rt = get_runtime()
    swept = tasks.sweep.apply(kwargs={"force_sources": True}).get()
    tasks.sweep.apply().get()  # ingest retries and deliveries that the first pass made due
    written = tasks.build_feeds.apply().get()
    tasks.sweep.apply().get()  # what the build queued (WebSub pings)
    finish_short_waits(rt, tasks.sweep)
    with rt.session() as session:
        ingest_counts = pending_item_counts(session)
        deliveries = delivery_counts(session)
    if rt.renderer is not None:
        rt.renderer.close()  # the pass is over: no browser is left behind
    return PassSummary(swept["sources"], ingest_counts, deliveries, written)
