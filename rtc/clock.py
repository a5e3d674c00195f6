"""Clocks: the real one, and a fake one that tests move by hand.

Presence is money, so every timestamp the server records comes from one
injectable clock. Tests pass a :class:`FakeClock` and advance it explicitly,
which makes "active within the last 5 seconds" testable without sleeping.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Where time comes from. ``time()`` is wall-clock UTC seconds since the epoch
    (what the journal stores); ``monotonic()`` never goes backwards (what timers use)."""

    def time(self) -> float: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The machine's clocks."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class FakeClock:
    """A clock that only moves when told to. Both readings advance together."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._wall = start
        self._mono = 0.0

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self._wall += seconds
        self._mono += seconds
