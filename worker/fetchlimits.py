"""The limits one HTTP request runs under: a per-host slot and a deadline watchdog.

``HOST_GATE`` counts requests in flight per host across every Fetcher of the process; a
``Watchdog`` shuts a response's socket when the request's deadline passes, so a read blocked
on a dripping server returns. It must not send requests or read bodies itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import urllib3

# --- per-host limit -------------------------------------------------------------------------


class HostGate:
    """Counts requests in flight per host; each caller waits until below its own limit."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._in_flight: dict[str, int] = {}

    @contextmanager
    def slot(self, host: str, limit: int) -> Iterator[None]:
        with self._cond:
            while self._in_flight.get(host, 0) >= limit:
                self._cond.wait()
            self._in_flight[host] = self._in_flight.get(host, 0) + 1
        try:
            yield
        finally:
            with self._cond:
                left = self._in_flight[host] - 1
                if left:
                    self._in_flight[host] = left
                else:
                    del self._in_flight[host]
                self._cond.notify_all()


HOST_GATE = HostGate()


# --- deadline watchdog ----------------------------------------------------------------------


class Watchdog:
    """Shuts down a response's socket when the deadline passes, so a blocked read returns."""

    def __init__(self, raw: urllib3.BaseHTTPResponse, seconds: float) -> None:
        self._raw = raw
        self._lock = threading.Lock()
        self._done = False
        self.fired = False
        self._timer = threading.Timer(max(seconds, 0.0), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.fired = True
            with suppress(OSError, ValueError, RuntimeError, NotImplementedError):
                self._raw.shutdown()

    def disarm(self) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()
