"""The fake clock's timers: due callbacks run inside ``advance``, in deadline order, at
the time they were due; sleepers wake; cancelled timers never run."""

from __future__ import annotations

import asyncio

from rtc.clock import FakeClock


def test_timers_run_in_deadline_order_at_their_time() -> None:
    clock = FakeClock(start=100.0)
    seen: list[tuple[str, float, float]] = []
    clock.call_later(2.0, lambda: seen.append(("b", clock.monotonic(), clock.time())))
    clock.call_later(1.0, lambda: seen.append(("a", clock.monotonic(), clock.time())))
    off = clock.call_later(1.5, lambda: seen.append(("never", 0, 0)))
    off.cancel()
    clock.advance(0.5)
    assert seen == [] and clock.pending == 2
    clock.advance(5.0)
    assert seen == [("a", 1.0, 101.0), ("b", 2.0, 102.0)]
    assert (clock.monotonic(), clock.time(), clock.pending) == (5.5, 105.5, 0)


async def test_a_sleeper_wakes_when_the_clock_passes_its_deadline() -> None:
    clock = FakeClock()
    woke: list[float] = []

    async def nap() -> None:
        await clock.sleep(30.0)
        woke.append(clock.monotonic())

    task = asyncio.create_task(nap())
    await asyncio.sleep(0)
    clock.advance(29.5)
    await asyncio.sleep(0)
    assert woke == []
    clock.advance(1.0)
    await task
    assert woke == [30.5]  # due inside advance(), resumed after it


async def test_a_cancelled_sleeper_leaves_no_timer() -> None:
    clock = FakeClock()
    task = asyncio.create_task(clock.sleep(10.0))
    await asyncio.sleep(0)
    assert clock.pending == 1
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert clock.pending == 0
