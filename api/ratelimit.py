"""Token buckets: per API key, per end customer, and per client address for failed logins.

State lives in the process: with several uvicorn workers each enforces its own bucket, so the
effective limit is `workers × rate` (a shared store, Redis, is not wired yet: see the issue 13
note). Buckets are keyed by what is known before the database is asked (the SHA-256 of the
bearer secret, the client address), so a refused request costs no lookup.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

_MAX_BUCKETS = 100_000


@dataclass
class Bucket:
    tokens: float
    updated: float


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
