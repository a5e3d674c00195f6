"""Keyframe requests from subscribers to a publisher, coalesced.

A subscriber needs a keyframe when it starts watching a stream, when its queue
overflowed and frames were dropped, or when its browser reports picture loss
(RTCP PLI/FIR arriving at the server's RTCRtpSender, which ignores it on the
packet path). The only one who can make a keyframe is the publisher's encoder,
so each request becomes an RTCP PLI to the publisher's RTCRtpReceiver.

With a hundred subscribers joining a lecture at 18:00, forwarding each request
would make the teacher's phone encode keyframes back to back. So per publisher
track: at most one PLI per ``interval`` (500 ms). A request inside the window is
not dropped but deferred to the window's end (the "trailing" PLI), because the
keyframe answering the earlier PLI may already have passed by the newcomer; a
keyframe that passes through the source meanwhile satisfies it and cancels it.

:class:`PliCoalescer` is the pure decision logic (clock-injected, unit-tested
with :class:`~rtc.clock.FakeClock`); :class:`KeyframeRelay` schedules it on the
event loop and sends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .clock import Clock, Timer

log = logging.getLogger(__name__)

PLI_INTERVAL = 0.5
_MIN_RETRY = 0.02


class PliCoalescer:
    """When to send a PLI for one publisher track.

    ``request()`` and ``flush()`` return ``0.0`` (send now), a positive delay (call
    ``flush()`` again after that many seconds), or ``None`` (nothing to do: a flush is
    already scheduled, or nothing is pending).
    """

    def __init__(self, clock: Clock, interval: float = PLI_INTERVAL) -> None:
        self._clock = clock
        self._interval = interval
        self._last_sent: float | None = None
        self._pending = False
        self._scheduled = False
        self.requested = 0
        self.sent = 0
        self.satisfied = 0  # pending requests answered by a keyframe that came anyway

    def _wait(self) -> float:
        if self._last_sent is None:
            return 0.0
        return max(0.0, self._last_sent + self._interval - self._clock.monotonic())

    def _send(self) -> float:
        self._last_sent = self._clock.monotonic()
        self._pending = False
        self.sent += 1
        return 0.0

    def request(self) -> float | None:
        self.requested += 1
        if self._pending:
            return None
        wait = self._wait()
        if wait <= 0.0:
            return self._send()
        self._pending = True
        if self._scheduled:
            return None
        self._scheduled = True
        return wait

    def flush(self) -> float | None:
        """The scheduled time came. Send if still pending and the window has passed."""
        self._scheduled = False
        if not self._pending:
            return None
        wait = self._wait()
        if wait <= 0.0:
            return self._send()
        self._scheduled = True
        return wait

    def keyframe_seen(self) -> None:
        """A keyframe passed through: whoever was waiting gets it."""
        if self._pending:
            self._pending = False
            self.satisfied += 1

    @property
    def pending(self) -> bool:
        return self._pending


class KeyframeRelay:
    """A :class:`PliCoalescer` driven by the event loop. ``send`` sends one PLI to the
    publisher; it is awaited in a task of its own so that callers never block."""

    def __init__(
        self,
        clock: Clock,
        send: Callable[[], Awaitable[bool]],
        interval: float = PLI_INTERVAL,
    ) -> None:
        self.coalescer = PliCoalescer(clock, interval)
        self._clock = clock
        self._send = send
        self._timer: Timer | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def request(self) -> None:
        self._act(self.coalescer.request())

    def keyframe_seen(self) -> None:
        self.coalescer.keyframe_seen()

    def _act(self, decision: float | None) -> None:
        if decision is None or self._closed:
            return
        if decision == 0.0:
            task = asyncio.get_running_loop().create_task(self._send_once())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            self._timer = self._clock.call_later(max(decision, _MIN_RETRY), self._flush)

    def _flush(self) -> None:
        self._timer = None
        self._act(self.coalescer.flush())

    async def _send_once(self) -> None:
        try:
            await self._send()
        except Exception:  # a failed PLI must never take the forward path down
            log.exception("sending a PLI failed")

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for task in list(self._tasks):
            task.cancel()
