"""Leases that follow the worker: a thread renews a claim's leases while the worker lives.

A claim's rows are leased for ``lease`` seconds and renewed every quarter of it, so a lease is
a liveness timeout — a dead worker's rows come back within one lease — and not a guess at how
long the work takes. Before each row is started, ``may_start`` checks that the row is still
held and that its lease, as last confirmed by the database, outlasts the longest the row may
take; a worker whose renewals stall (a stuck database) stops starting rows instead of racing
the worker that will take them over. Between renewals the same thread runs the caller's
``flush``, if any (records a sender has left waiting).

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


def effective_lease(lease: float, longest_step: float) -> float:
    """The lease a claim takes: never so short that a step started on a freshly renewed lease
    could outlive it before the next renewal (``longest_step`` is, e.g., the send timeout)."""
    floor = (longest_step + MARGIN) * RENEWALS_PER_LEASE / (RENEWALS_PER_LEASE - 1) + 1.0
    return max(lease, floor)


class LeaseKeeper:
    """Renews one claim's leases (``renew`` returns the ids still held) and runs ``flush``.

    ``held``: the ids claimed; ``forget`` an id once it is recorded or given back.
    """

    def __init__(
        self,
        *,
        held: Iterable[Any],
        lease: float,
        longest_step: float,
        renew: Callable[[], set[Any]],
        flush: Callable[[], None] | None = None,
        flush_every: float = 0.2,
        name: str = "lease",
    ) -> None:
        self.lease, self.longest_step = lease, longest_step
        self._renew, self._flush, self._flush_every = renew, flush, flush_every
        self._held = set(held)
        self._lost: set[Any] = set()
        self._lock = threading.Lock()
        self._confirmed_until = time.monotonic() + lease  # the claim itself set the lease
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    # -- the worker's side ----------------------------------------------------------------

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def may_start(self, key: Any) -> bool:
        """Whether ``key`` is still held with enough lease left to run its longest step."""
        with self._lock:
            if key not in self._held or key in self._lost:
                return False
            left = self._confirmed_until - time.monotonic()
        return left > self.longest_step + MARGIN

    def forget(self, keys: Iterable[Any]) -> None:
        with self._lock:
            self._held.difference_update(keys)

    def lost(self) -> set[Any]:
        """Ids another worker took over (their lease ran out before a renewal)."""
        with self._lock:
            return set(self._lost)

    def stop(self) -> None:
        """Stop the thread after a last ``flush`` (the caller flushes again itself if needed)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join()

    # -- the thread -----------------------------------------------------------------------

    def _run(self) -> None:
        every = self.lease / RENEWALS_PER_LEASE
        next_renewal = time.monotonic() + every
        while not self._stop.is_set():
            self._wake.wait(self._flush_every if self._flush else every)
            self._wake.clear()
            self._safely(self._flush)
            if time.monotonic() >= next_renewal and not self._stop.is_set():
                next_renewal = time.monotonic() + every
                self._safely(self.renew_now)
        self._safely(self._flush)

    def renew_now(self) -> None:
        started = time.monotonic()  # the database's lease ends no earlier than this + lease
        still = self._renew()
        with self._lock:
            self._lost |= self._held - still
            self._confirmed_until = started + self.lease

    def _safely(self, step: Callable[[], None] | None) -> None:
        if step is None:
            return
        try:
            step()
        except Exception:  # a database hiccup: the next tick tries again
            log.exception("lease: %s failed; retrying at the next tick", step.__name__)
