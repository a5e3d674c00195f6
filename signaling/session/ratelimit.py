"""Token buckets: one browser, or one person however often they reconnect, cannot
make its room's owner task do unbounded work. Pure: the caller passes the time."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass


@dataclass
class TokenBucket:
    """``rate`` events per second on average, bursts of up to ``burst``."""

    rate: float
    burst: float
    tokens: float = -1.0
    last: float = 0.0

    def allow(self, now: float) -> bool:
        if self.tokens < 0:  # first use: start full
            self.tokens, self.last = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = max(self.last, now)
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class KeyedBuckets:
    """One :class:`TokenBucket` per key (a session and a person), kept while the key
    has a connection and for ``burst / rate`` seconds after its last one closed:
    reconnecting does not refill it, and a bucket that would be full again by now
    is dropped (a new one starts full), so memory follows who is connected."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[Hashable, TokenBucket] = {}
        self._connections: dict[Hashable, int] = {}
        self._idle: dict[Hashable, float] = {}  # key → when its last connection closed

    def __len__(self) -> int:
        return len(self._buckets)

    def connected(self, key: Hashable, now: float) -> None:
        self._prune(now)
        self._connections[key] = self._connections.get(key, 0) + 1
        self._idle.pop(key, None)

    def disconnected(self, key: Hashable, now: float) -> None:
        left = self._connections.pop(key, 0) - 1
        if left > 0:
            self._connections[key] = left
        else:
            self._idle.pop(key, None)
            self._idle[key] = now  # the newest at the end: _prune reads from the front
        self._prune(now)

    def allow(self, key: Hashable, now: float) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst)
        return bucket.allow(now)

    def _prune(self, now: float) -> None:
        refill = self.burst / self.rate
        while self._idle:
            key, since = next(iter(self._idle.items()))
            if now - since < refill:
                break
            del self._idle[key]
            self._buckets.pop(key, None)
