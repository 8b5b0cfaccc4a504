"""Per-key token buckets.

State lives in the process: with several uvicorn workers each enforces its own bucket, so the
effective limit is `workers × rate`. That is a deliberate trade-off (no shared store needed);
a deployment that needs one global limit puts it in its reverse proxy.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


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

    def acquire(self, key: str, now: float) -> float | None:
        """Take one token; return None when allowed, else the seconds until a token is free.

        `now` is a monotonic clock reading, passed in so the arithmetic is testable.
        """
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = Bucket(tokens=self.capacity, updated=now)
            elapsed = max(0.0, now - bucket.updated)
            bucket.tokens = min(self.capacity, bucket.tokens + elapsed * self.rate)
            bucket.updated = now
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return None
            return (1.0 - bucket.tokens) / self.rate
