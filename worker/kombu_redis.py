"""A workaround for kombu's Redis transport when the broker goes away mid-run (kombu 5.x).

When Redis drops the worker's connection, Celery closes the old connection, and closing its
channel tries to put the channel's unacknowledged messages back into Redis. By then the
transport has already let go of its connection settings, so that attempt raises AttributeError
(``'NoneType' object has no attribute 'hostname'``), which Celery does not count as a
connection error: the worker logs "Unrecoverable error" and stops consuming while its process
lives on. herald's ledger, not the broker, holds the work (the sweep enqueues whatever is due
again), so such messages are let go with a warning and the consumer reconnects as it should.

Applied once, on import, by ``worker.celery_app``. It must not change anything else.
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis as kombu_redis

log = logging.getLogger(__name__)

_original_restore_unacked = kombu_redis.QoS.restore_unacked


def restore_unacked_or_let_go(self: Any, client: Any = None) -> Any:
    """``QoS.restore_unacked``, letting the messages go when the connection is gone."""
    try:
        return _original_restore_unacked(self, client)
    except AttributeError as err:
        log.warning(
            "broker: %d unacknowledged message(s) not put back, the connection is gone (%s); "
            "the ledger's sweep enqueues their work again", len(self._delivered), err,
        )  # fmt: skip
        self._delivered.clear()
        return None


def apply() -> None:
    """Install the workaround (idempotent)."""
    kombu_redis.QoS.restore_unacked = restore_unacked_or_let_go
