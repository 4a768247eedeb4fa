"""Leases that follow the worker: a thread renews a claim's leases while the worker lives.

A claim's rows are leased for ``lease`` seconds and renewed every quarter of it, so a lease is
a liveness timeout — a dead worker's rows come back within one lease — and not a guess at how
long the work takes. Before each row is started, ``may_start`` checks that the row is still
held and that its lease, as last confirmed by the database, outlasts the longest the row may
take, and holds a row back ("not yet", a renewal asked for at once) while it does not; a worker
whose renewals stall (a stuck database) so holds its rows instead of racing the worker that
will take them over.

This module must not hold SQL (the callables given to it do) nor know what the rows are.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

RENEWALS_PER_LEASE = 4
MARGIN = 2.0  # seconds kept between a row's longest possible send and its lease's end
RETRY_RENEWAL = 1.0  # seconds between renewals asked for early (a failing database is not hammered)


def effective_lease(lease: float, longest_step: float) -> float:
    """The lease a claim takes: at least twice the longest step (``longest_step`` is, e.g., the
    send timeout) plus the margin, so a step started just before a renewal is due still ends
    with half a step to spare, and a renewal late by that much costs nothing."""
    return max(lease, 2 * (longest_step + MARGIN))


class LeaseKeeper:
    """Renews one claim's leases (``renew`` returns the ids still held).

    ``held``: the ids claimed; ``forget`` an id once it is recorded or given back.
    ``confirmed_at``: a ``time.monotonic()`` taken before the claim read the database's clock
    (the claim's lease ends no earlier than that plus ``lease``).
    """

    def __init__(
        self,
        *,
        held: Iterable[Any],
        lease: float,
        longest_step: float,
        renew: Callable[[], set[Any]],
        confirmed_at: float,
        name: str = "lease",
    ) -> None:
        self.lease, self.longest_step = lease, longest_step
        self._renew = renew
        self._held = set(held)
        self._lost: set[Any] = set()
        self._lock = threading.Lock()
        self._confirmed_until = confirmed_at + lease
        self._renew_soon = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    # -- the worker's side ----------------------------------------------------------------

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def may_start(self, key: Any) -> bool | None:
        """Whether ``key`` may start now: False once it is not held (recorded, given back or
        lost); None ("not yet") while its lease, as last confirmed, is too short for its longest
        step (a renewal is asked for at once); True otherwise."""
        with self._lock:
            if key not in self._held or key in self._lost:
                return False
            if self._confirmed_until - time.monotonic() > self.longest_step + MARGIN:
                return True
            self._renew_soon = True
        self._wake.set()
        return None

    def forget(self, keys: Iterable[Any]) -> None:
        with self._lock:
            self._held.difference_update(keys)

    def stop(self) -> None:
        """Stop the thread (and its renewals)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    # -- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        every = self.lease / RENEWALS_PER_LEASE
        next_renewal = time.monotonic() + every
        tried = 0.0
        while not self._stop.is_set():
            pause = max(0.0, next_renewal - time.monotonic())
            self._wake.wait(pause)
            self._wake.clear()
            if self._stop.is_set():
                break
            now = time.monotonic()
            early = self._renew_soon and now - tried >= RETRY_RENEWAL
            if early or now >= next_renewal:  # renewals come first
                tried, next_renewal = now, now + every
                self._safely(self.renew_now)

    def renew_now(self) -> None:
        started = time.monotonic()  # the database's lease ends no earlier than this + lease
        still = self._renew()
        with self._lock:
            self._lost |= self._held - still
            self._confirmed_until = started + self.lease
            self._renew_soon = False

    def _safely(self, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception:  # a database hiccup: the next tick tries again
            log.exception("lease: %s failed; retrying at the next tick", step.__name__)
