"""An endpoint's lanes across worker processes: reserved in the broker's Redis once per batch.

``[delivery] per_endpoint`` (one lane for a rate-limited chat platform) bounds the requests in
flight to one endpoint. Within a process the sending loop's budget holds it
(``worker.notify.sending_loop``); across the worker processes of one Redis, a batch reserves
the lanes it needs, for all its endpoints in one script call, before it sends, and gives them
back in one call after. A fan-out to distinct endpoints so pays two Redis calls per batch, not
two per request (which cost a third of the throughput; docs/design-notes.md). An endpoint
whose lanes other processes hold gets none, and its rows wait in the ledger a moment. A
reservation lapses on its own after ``hold`` seconds, so a worker that dies holding one frees
it. Endpoints are keyed by a hash: their URLs (tokens in them) are never written to Redis. On
the embedded default (no Redis) every batch gets the lanes it asks for.
This module must not send, sleep or touch the database.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from typing import Any, Protocol

from worker.broker import is_redis, shared_redis

KEY_PREFIX = "herald:lanes:"

# KEYS: one sorted set per endpoint (members token:lane, scored by when they lapse, in ms).
# ARGV[1] token, ARGV[2] hold in ms, then per key: lanes wanted, lanes the endpoint allows.
# Redis's own clock: workers on several machines agree on it (a script that reads TIME and then
# writes needs Redis 5 or later, which replicates its effects). Returns the lanes granted.
RESERVE_SCRIPT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local token, hold = ARGV[1], tonumber(ARGV[2])
local granted = {}
for i, key in ipairs(KEYS) do
  local wanted = tonumber(ARGV[1 + 2 * i])
  local allowed = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local n = math.max(0, math.min(wanted, allowed - redis.call('ZCARD', key)))
  for lane = 1, n do
    redis.call('ZADD', key, now + hold, token .. ':' .. lane)
  end
  if n > 0 and redis.call('PTTL', key) < hold then
    redis.call('PEXPIRE', key, hold)
  end
  granted[i] = n
end
return granted
"""

# KEYS: the endpoints' sets; ARGV[1] token, then the lanes held per key.
RELEASE_SCRIPT = """
for i, key in ipairs(KEYS) do
  for lane = 1, tonumber(ARGV[1 + i]) do
    redis.call('ZREM', key, ARGV[1] .. ':' .. lane)
  end
end
return 1
"""


class Lanes(Protocol):
    def reserve(
        self, token: str, wanted: Mapping[str, tuple[int, int]], hold: float
    ) -> dict[str, int]:
        """Lanes for ``token``: endpoint → (wanted, allowed) in, endpoint → granted out."""
        ...

    def release(self, token: str, held: Mapping[str, int]) -> None:
        """Give back what ``reserve`` granted ``token``."""
        ...


class LocalLanes:
    """One process sends everything (the embedded default): its own budget is the bound."""

    def reserve(
        self, token: str, wanted: Mapping[str, tuple[int, int]], hold: float
    ) -> dict[str, int]:
        return {endpoint: want for endpoint, (want, _) in wanted.items()}

    def release(self, token: str, held: Mapping[str, int]) -> None:
        return None


class RedisLanes:
    """Lanes in Redis, shared by every worker process on the same Redis."""

    def __init__(self, client: Any) -> None:
        self._reserve = client.register_script(RESERVE_SCRIPT)
        self._release = client.register_script(RELEASE_SCRIPT)

    def reserve(
        self, token: str, wanted: Mapping[str, tuple[int, int]], hold: float
    ) -> dict[str, int]:
        if not wanted:
            return {}
        endpoints = list(wanted)
        args: list[Any] = [token, max(1, int(hold * 1000))]
        for endpoint in endpoints:
            args += list(wanted[endpoint])
        granted = self._reserve(keys=[_key(e) for e in endpoints], args=args)
        return {endpoint: int(n) for endpoint, n in zip(endpoints, granted, strict=True)}

    def release(self, token: str, held: Mapping[str, int]) -> None:
        kept = {endpoint: n for endpoint, n in held.items() if n > 0}
        if kept:
            self._release(keys=[_key(e) for e in kept], args=[token, *kept.values()])


def _key(endpoint: str) -> str:
    return KEY_PREFIX + hashlib.sha256(endpoint.encode()).hexdigest()[:32]


_local = LocalLanes()


def lanes_for(broker_url: str) -> Lanes:
    """The broker's Redis when it is Redis, else this process's budget alone."""
    if not is_redis(broker_url):
        return _local
    return _redis_lanes_for(broker_url)


@functools.cache
def _redis_lanes_for(broker_url: str) -> RedisLanes:
    return RedisLanes(shared_redis(broker_url))
