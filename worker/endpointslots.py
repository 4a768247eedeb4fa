"""Slots per endpoint: at most ``limit`` requests in flight to one endpoint, counted across every
batch and every worker process — a semaphore in Redis when workers share a Redis broker, else in
this process (the embedded default).

The Redis semaphore is a sorted set per endpoint whose members are the holders, scored by when
their slot expires (Redis's own clock), taken and given back by Lua scripts: a worker that dies
holding a slot loses it after ``ttl`` seconds. Endpoints are keyed by a hash of their URL, so
no token reaches Redis. This module must not send, sleep or touch the database.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import defaultdict
from typing import Any, Protocol

KEY_PREFIX = "herald:slots:"

# KEYS[1] the endpoint's set; ARGV: limit, holder, ttl in ms. Returns 1 when a slot was taken.
ACQUIRE_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
  return 1
end
return 0
"""


class Slots(Protocol):
    def acquire(self, endpoint: str, limit: int, holder: str) -> bool:
        """Take one of the endpoint's ``limit`` slots for ``holder``; False when all are taken."""
        ...

    def release(self, endpoint: str, holder: str) -> None:
        """Give ``holder``'s slot back (nothing happens if it has none)."""
        ...


def endpoint_key(endpoint: str) -> str:
    return hashlib.sha256(endpoint.encode("utf-8")).hexdigest()[:24]


class LocalSlots:
    """Slots in this process: the embedded default, where one process does all the sending."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._held: dict[str, dict[str, float]] = defaultdict(dict)  # endpoint → holder → expiry

    def acquire(self, endpoint: str, limit: int, holder: str) -> bool:
        now = time.monotonic()
        with self._lock:
            holders = self._held[endpoint]
            for gone in [h for h, until in holders.items() if until <= now]:
                del holders[gone]
            if len(holders) >= limit:
                return False
            holders[holder] = now + self.ttl
            return True

    def release(self, endpoint: str, holder: str) -> None:
        with self._lock:
            holders = self._held.get(endpoint)
            if holders is not None:
                holders.pop(holder, None)
                if not holders:
                    del self._held[endpoint]


class RedisSlots:
    """Slots in Redis, shared by every worker process on the same Redis."""

    def __init__(self, client: Any, ttl: float) -> None:
        self.ttl = ttl
        self._client = client
        self._acquire = client.register_script(ACQUIRE_SCRIPT)

    def acquire(self, endpoint: str, limit: int, holder: str) -> bool:
        key = KEY_PREFIX + endpoint_key(endpoint)
        taken = self._acquire(keys=[key], args=[limit, holder, int(self.ttl * 1000)])
        return bool(taken)

    def release(self, endpoint: str, holder: str) -> None:
        self._client.zrem(KEY_PREFIX + endpoint_key(endpoint), holder)


_local: dict[float, LocalSlots] = {}
_redis: dict[tuple[str, float], RedisSlots] = {}
_lock = threading.Lock()


def slots_for(broker_url: str, ttl: float) -> Slots:
    """The Redis slots of the broker when it is Redis, else this process's own; a slot held
    longer than ``ttl`` seconds (a request's timeout and then some) expires."""
    with _lock:
        if not broker_url.startswith(("redis://", "rediss://")):
            return _local.setdefault(ttl, LocalSlots(ttl))
        if (broker_url, ttl) not in _redis:
            import redis

            client = redis.Redis.from_url(broker_url, socket_timeout=5, socket_connect_timeout=5)
            _redis[(broker_url, ttl)] = RedisSlots(client, ttl)
        return _redis[(broker_url, ttl)]
