"""Token buckets for per-endpoint send rates: in Redis when workers share a broker, else in-process.

``take(key, rate, burst)`` spends one token of the bucket ``key`` (refilled at ``rate`` tokens a
second, holding at most ``burst``) and returns 0, or returns how many seconds until a token is
free and spends nothing. The Redis bucket is one Lua script, so every worker on the same Redis
draws from the same bucket atomically; the in-process one serves the embedded default (one
process). A subscriber's ``rate_limit`` (e.g. ``"10/s"``, ``"600/min"``) is parsed here too.
This module must not send, sleep or touch the database.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

from worker.broker import is_redis, shared_redis

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$")
_PER = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600}
KEY_PREFIX = "herald:bucket:"

# KEYS[1] bucket; ARGV: rate (tokens/s), burst. Returns the wait in ms (0: a token was taken).
# Redis's own clock: workers on several machines agree on it.
TAKE_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return wait
"""


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int


def parse_rate(text: str) -> Rate:
    """``"10/s"``, ``"600/min"``, ``"1000/h"`` → Rate; the burst is one second's worth (≥ 1)."""
    match = _RATE.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f'expected a rate like "10/s" or "600/min", got {text!r}')
    per_second = float(match.group(1)) / _PER[match.group(2)]
    return Rate(per_second, max(1, int(per_second)))


class Bucket(Protocol):
    def take(self, key: str, rate: Rate) -> float:
        """Spend a token of ``key`` (0.0), or return the seconds until one is free."""
        ...


class LocalBucket:
    """Buckets in this process (the embedded default: one process does all the sending)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str, rate: Rate) -> float:
        now = time.monotonic()
        with self._lock:
            tokens, at = self._state.get(key, (float(rate.burst), now))
            tokens = min(rate.burst, tokens + (now - at) * rate.per_second)
            if tokens >= 1:
                self._state[key] = (tokens - 1, now)
                return 0.0
            self._state[key] = (tokens, now)
            return (1 - tokens) / rate.per_second


class RedisBucket:
    """Buckets in Redis, shared by every worker process on the same Redis."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._script = client.register_script(TAKE_SCRIPT)

    def take(self, key: str, rate: Rate) -> float:
        wait_ms = self._script(keys=[KEY_PREFIX + key], args=[rate.per_second, rate.burst])
        return float(wait_ms) / 1000.0


_local = LocalBucket()


def bucket_for(broker_url: str) -> Bucket:
    """The Redis bucket of the broker when it is Redis, else this process's own."""
    if not is_redis(broker_url):
        return _local
    return _redis_bucket_for(broker_url)


@functools.cache
def _redis_bucket_for(broker_url: str) -> RedisBucket:
    return RedisBucket(shared_redis(broker_url))
