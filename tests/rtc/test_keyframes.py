"""PLI coalescing: at most one PLI per publisher track per 500 ms, none lost."""

from __future__ import annotations

import asyncio

import pytest

from rtc.clock import FakeClock
from rtc.keyframes import KeyframeRelay, PliCoalescer


def test_first_request_is_sent_at_once() -> None:
    c = PliCoalescer(FakeClock())
    assert c.request() == 0.0
    assert (c.requested, c.sent) == (1, 1)


def test_requests_inside_the_window_become_one_trailing_pli() -> None:
    clock = FakeClock()
    c = PliCoalescer(clock)
    assert c.request() == 0.0
    clock.advance(0.1)
    assert c.request() == pytest.approx(0.4)  # schedule a flush in 0.4 s
    for _ in range(20):  # a lecture's worth of newcomers
        clock.advance(0.01)
        assert c.request() is None  # already scheduled
    clock.advance(0.2)  # at t = 0.5
    assert c.flush() == 0.0  # the trailing PLI
    assert (c.requested, c.sent) == (22, 2)
    assert c.flush() is None  # nothing pending any more


def test_an_early_flush_reschedules_for_the_rest_of_the_window() -> None:
    clock = FakeClock()
    c = PliCoalescer(clock)
    c.request()
    clock.advance(0.2)
    c.request()
    clock.advance(0.1)  # the timer fired early (t = 0.3)
    assert c.flush() == pytest.approx(0.2)
    clock.advance(0.2)
    assert c.flush() == 0.0
    assert c.sent == 2


def test_a_keyframe_that_came_anyway_satisfies_the_pending_request() -> None:
    clock = FakeClock()
    c = PliCoalescer(clock)
    c.request()
    clock.advance(0.1)
    c.request()
    assert c.pending
    c.keyframe_seen()  # the answer to the first PLI arrived after the newcomer attached
    clock.advance(0.5)
    assert c.flush() is None
    assert (c.sent, c.satisfied) == (1, 1)


def test_requests_spaced_beyond_the_window_each_go_out() -> None:
    clock = FakeClock()
    c = PliCoalescer(clock)
    for _ in range(5):
        assert c.request() == 0.0
        clock.advance(0.5)
    assert c.sent == 5


def test_at_most_one_per_interval_over_a_long_burst() -> None:
    clock = FakeClock()
    c = PliCoalescer(clock)
    due: float | None = None
    for _ in range(1000):  # 10 s of requests every 10 ms
        decision = c.request()
        if decision is not None and decision > 0:
            due = clock.monotonic() + decision
        clock.advance(0.01)
        if due is not None and clock.monotonic() >= due:
            due = None
            nxt = c.flush()
            if nxt is not None and nxt > 0:
                due = clock.monotonic() + nxt
    assert 19 <= c.sent <= 21  # ≈ 10 s / 0.5 s


async def test_relay_sends_now_then_once_at_the_window_end() -> None:
    clock = FakeClock()
    sent: list[float] = []

    async def send() -> bool:
        sent.append(clock.monotonic())
        return True

    relay = KeyframeRelay(clock, send, interval=0.05)
    relay.request()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert sent == [0.0]
    clock.advance(0.01)
    relay.request()
    relay.request()
    clock.advance(0.05)  # the fake window is over by the time the real timer fires
    await asyncio.sleep(0.1)
    assert sent == [0.0, pytest.approx(0.06)]
    relay.close()
