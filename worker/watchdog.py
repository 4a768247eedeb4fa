"""A deadline for a blocking read: at the deadline a callable (a socket's shutdown) runs once,
so the read blocked on a dripping server returns. No I/O of its own beyond that callable.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import suppress


class Watchdog:
    """Runs ``shutdown`` after ``seconds`` unless disarmed first; ``fired`` says whether it did."""

    def __init__(self, shutdown: Callable[[], object], seconds: float) -> None:
        self._shutdown = shutdown
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
                self._shutdown()

    def disarm(self) -> None:
        with self._lock:
            self._done = True
        self._timer.cancel()
