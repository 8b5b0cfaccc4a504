"""Token buckets: per API key, per end customer, and per client address for failed logins.

Without SPORTELLO_REDIS_URL the buckets live in the process: with several uvicorn workers each
enforces its own, so the effective limit is `workers × rate`. With it, every process shares one
bucket per key in Redis (`RedisRateLimiter`: the refill-and-take runs as one Lua script, on the
Redis server's clock, so it is atomic across processes). If Redis cannot be reached the request
is let through and a warning logged: an outage of the limiter must not become an outage of the
service.

Buckets are keyed by what is known before the database is asked (the SHA-256 of the bearer
secret, the client address), so a refused request costs no lookup.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Protocol

import redis

log = logging.getLogger(__name__)

_MAX_BUCKETS = 100_000


@dataclass
class Bucket:
    tokens: float
    updated: float


class Limiter(Protocol):
    def acquire(self, key: str, now: float) -> float | None: ...

    def exhausted(self, key: str, now: float) -> float | None: ...


class RateLimiter:
    """`per_minute` requests per key per minute, with bursts up to the same number."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(max(1, per_minute))
        self.rate = self.capacity / 60.0  # tokens per second
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def exhausted(self, key: str, now: float) -> float | None:
        """Like `acquire` without taking a token: the seconds until one is free, or None."""
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                return None
            tokens = min(self.capacity, bucket.tokens + max(0.0, now - bucket.updated) * self.rate)
            return None if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def acquire(self, key: str, now: float) -> float | None:
        """Take one token; return None when allowed, else the seconds until a token is free.

        `now` is a monotonic clock reading, passed in so the arithmetic is testable.
        """
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= _MAX_BUCKETS:
                    self._forget_full(now)
                bucket = self._buckets[key] = Bucket(tokens=self.capacity, updated=now)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return (1.0 - bucket.tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        # A bucket refilled to capacity is the same as no bucket: drop those (random keys and
        # addresses would otherwise grow the dict without bound).
        refill = self.capacity / self.rate
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < refill}


# One bucket's refill-and-take, in Lua: `take` 1 takes a token, 0 only looks. Returns the seconds
# until a token is free, or -1 when allowed.
_BUCKET_LUA = """
local function bucket(key, capacity, rate, take, now)
  local stored = redis.call('HMGET', key, 'tokens', 'updated')
  if take == 0 and not stored[1] then return -1 end
  local tokens = tonumber(stored[1]) or capacity
  local updated = tonumber(stored[2]) or now
  tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
  local wait = -1
  if tokens >= 1 then
    if take == 1 then tokens = tokens - 1 end
  else
    wait = (1 - tokens) / rate
  end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'updated', tostring(now))
  redis.call('EXPIRE', key, math.ceil(capacity / rate) + 1)
  return wait
end
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
"""
# KEYS[1] the bucket; ARGV capacity, tokens per second, take. The result as a string: Redis
# would truncate a Lua number to an integer.
_BUCKET_SCRIPT = _BUCKET_LUA + """
return tostring(bucket(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), now))
"""
# Look at KEYS[1] (ARGV 1-2), and only when it has a token take one from KEYS[2] (ARGV 3-4):
# 'first:<seconds>' or 'second:<seconds>' for the bucket that refuses, '-1' when allowed.
_LOOK_THEN_TAKE_SCRIPT = _BUCKET_LUA + """
local wait = bucket(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), 0, now)
if wait >= 0 then return 'first:' .. tostring(wait) end
wait = bucket(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]), 1, now)
if wait >= 0 then return 'second:' .. tostring(wait) end
return '-1'
"""


class RedisRateLimiter:
    """The same buckets, shared by every process through Redis. `now` is not used: the Redis
    server's clock is the one all processes share (monotonic clocks differ per process)."""

    def __init__(self, client: redis.Redis, per_minute: int, *, name: str, prefix: str) -> None:
        self.client = client
        self.capacity = float(max(1, per_minute))
        self.rate = self.capacity / 60.0
        self.namespace = f"{prefix}:ratelimit:{name}:"
        self._script = client.register_script(_BUCKET_SCRIPT)
        self._look_then_take = client.register_script(_LOOK_THEN_TAKE_SCRIPT)

    def acquire(self, key: str, now: float) -> float | None:
        return self._run(key, take=1)

    def exhausted(self, key: str, now: float) -> float | None:
        return self._run(key, take=0)

    def _run(self, key: str, *, take: int) -> float | None:
        try:
            wait = float(self._script(keys=[self.namespace + key], args=[self.capacity, self.rate, take]))
        except redis.RedisError as exc:
            log.warning("rate_limit_unavailable", extra={"error": type(exc).__name__})
            return None
        return None if wait < 0 else wait

    def exhausted_then_acquire(self, key: str, other: RedisRateLimiter, other_key: str) -> tuple[int, float] | None:
        """`exhausted(key)` then, if it has a token, `other.acquire(other_key)`, in one round trip."""
        try:
            answer = self._look_then_take(
                keys=[self.namespace + key, other.namespace + other_key],
                args=[self.capacity, self.rate, other.capacity, other.rate],
            )
        except redis.RedisError as exc:
            log.warning("rate_limit_unavailable", extra={"error": type(exc).__name__})
            return None
        which, _, wait = (answer.decode() if isinstance(answer, bytes) else str(answer)).partition(":")
        return None if not wait else (0 if which == "first" else 1, float(wait))


def first_refusal(
    looked: Limiter, look_key: str, taken: Limiter, take_key: str, now: float
) -> tuple[int, float] | None:
    """`looked.exhausted(look_key)`, then (only when that allows) `taken.acquire(take_key)`: which of
    the two refused (0 or 1) and the seconds until it allows, or None. Both buckets in Redis on
    one client: one round trip instead of two (every authenticated request asks both)."""
    if isinstance(looked, RedisRateLimiter) and isinstance(taken, RedisRateLimiter) and looked.client is taken.client:
        return looked.exhausted_then_acquire(look_key, taken, take_key)
    wait = looked.exhausted(look_key, now)
    if wait is not None:
        return 0, wait
    wait = taken.acquire(take_key, now)
    return None if wait is None else (1, wait)


def make_limiters(
    per_minute: dict[str, int], *, redis_url: str | None, prefix: str
) -> dict[str, Limiter]:
    """One limiter per name: in Redis when `redis_url` is set, else in this process."""
    if redis_url is None:
        return {name: RateLimiter(rate) for name, rate in per_minute.items()}
    client = redis.Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
    return {
        name: RedisRateLimiter(client, rate, name=name, prefix=prefix) for name, rate in per_minute.items()
    }
