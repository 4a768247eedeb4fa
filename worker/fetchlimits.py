"""The per-host limit of HTTP requests: ``HOST_GATE`` counts requests in flight per host
across every Fetcher of the process (a request's deadline is ``worker.watchdog``'s). It must not
send requests or read bodies itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


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
