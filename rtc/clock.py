"""Clocks: the real one, and a fake one that tests move by hand.

Presence is money, so every timestamp the server records comes from one injectable
clock, and so does every timer: grace periods, idle ends, the media watchdog, PLI
retries. Tests pass a :class:`FakeClock` and advance it explicitly, which makes
"active within the last 5 seconds" or "the room ends after 30 idle minutes" testable
in milliseconds, without sleeping (hypercorn's habit for its protocol tests).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    """A scheduled callback that can still be called off."""

    def cancel(self) -> None: ...


class Clock(Protocol):
    """Where time comes from. ``time()`` is wall-clock UTC seconds since the epoch
    (what the journal stores); ``monotonic()`` never goes backwards (what timers use);
    ``sleep`` and ``call_later`` wait on the monotonic reading."""

    def time(self) -> float: ...

    def monotonic(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer: ...


class SystemClock:
    """The machine's clocks and the event loop's timers."""

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback)


class _FakeTimer:
    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback: Callable[[], None] | None = callback

    def cancel(self) -> None:
        self.callback = None


class FakeClock:
    """A clock that only moves when told to. Both readings advance together; timers and
    sleepers whose time has come run during :meth:`advance`, in deadline order (a
    sleeper's task resumes at the test's next ``await``)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._wall = start
        self._mono = 0.0
        self._due: list[tuple[float, int, _FakeTimer]] = []
        self._order = itertools.count()

    def time(self) -> float:
        return self._wall

    def monotonic(self) -> float:
        return self._mono

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        timer = _FakeTimer(callback)
        heapq.heappush(self._due, (self._mono + max(0.0, delay), next(self._order), timer))
        return timer

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        timer = self.call_later(seconds, wake)
        try:
            await woken
        finally:
            timer.cancel()

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        target = self._mono + seconds
        while self._due and self._due[0][0] <= target:
            at, _, timer = heapq.heappop(self._due)
            self._wall += at - self._mono  # a callback reads the time it was due at
            self._mono = at
            if timer.callback is not None:
                callback, timer.callback = timer.callback, None
                callback()
        self._wall += target - self._mono
        self._mono = target

    @property
    def pending(self) -> int:
        """Timers and sleepers not yet due (cancelled ones excluded)."""
        return sum(1 for _, _, t in self._due if t.callback is not None)
