"""Questions to the Celery broker that are not tasks: is it up, how deep are its queues; and
the one shared Redis client per broker URL that herald's own scripts run on (rate buckets,
endpoint lanes).

Redis brokers are asked with redis-py (one short-lived connection, 2 s timeouts); others through
kombu. It must not publish, consume or delete anything.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

BROKER_TIMEOUT = 2.0


def is_redis(url: str) -> bool:
    return url.startswith(("redis://", "rediss://"))


def _redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(
        url, socket_timeout=BROKER_TIMEOUT, socket_connect_timeout=BROKER_TIMEOUT
    )


@functools.cache
def shared_redis(url: str) -> Any:
    """This process's client for the broker's Redis at ``url`` (a connection pool, 2 s socket
    timeouts), made on first use."""
    return _redis_client(url)


def broker_answers(url: str) -> None:
    """Raise if the broker at ``url`` does not answer within the timeout."""
    if is_redis(url):
        client = _redis_client(url)
        try:
            client.ping()
        finally:
            client.close()
        return
    from kombu import Connection

    with Connection(url, connect_timeout=BROKER_TIMEOUT) as connection:
        connection.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)


def queue_depths(url: str, queues: Iterable[str]) -> dict[str, int]:
    """Messages waiting in each queue of a Redis broker ({} for other brokers)."""
    if not is_redis(url):
        return {}
    client = _redis_client(url)
    try:
        pipe = client.pipeline(transaction=False)
        names = list(queues)
        for name in names:
            pipe.llen(name)
        return {name: int(depth) for name, depth in zip(names, pipe.execute(), strict=True)}
    finally:
        client.close()
