"""A token bucket per connection: one browser cannot make its room's owner task do
unbounded work. Pure: the caller passes the time."""

from __future__ import annotations

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
