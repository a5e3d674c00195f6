"""The token buckets (per person per session, across reconnects), with a fixed
clock, and over a real socket."""

from __future__ import annotations

import asyncio
import time

from signaling.server.namespace import EVENT_BURST, EVENTS_PER_S
from signaling.session.ratelimit import KeyedBuckets, TokenBucket
from tests.support import ServerHandle


def test_bucket_allows_bursts_then_the_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3.0)
    assert [bucket.allow(10.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.allow(10.4) is False  # 0.8 of a token
    assert bucket.allow(10.5) is True
    assert [bucket.allow(100.0) for _ in range(4)] == [True, True, True, False]  # capped


async def test_a_flood_is_refused_and_changes_nothing(server: ServerHandle) -> None:
    _, toks = await server.create()
    student = await server.connect(toks["s1"])
    await student.wait_for("welcome")
    acks = await asyncio.gather(*(student.call("chat", {"text": f"{i}"}) for i in range(100)))
    refused = [a for a in acks if not a["ok"]]
    assert refused and all(a["error"]["code"] == "rate_limited" for a in refused)
    stored = sum(1 for a in acks if a["ok"])
    teacher = await server.connect(toks["t1"])
    (welcome,) = await teacher.wait_for("welcome")
    assert len(welcome["chat"]) == stored < 100


def test_keyed_buckets_survive_reconnects_and_forget_idle_people() -> None:
    buckets = KeyedBuckets(rate=2.0, burst=3.0)  # refilled 1.5 s after the last event
    me = ("s_1", "s1")
    buckets.connected(me, 0.0)
    assert [buckets.allow(me, 0.0) for _ in range(4)] == [True, True, True, False]
    buckets.disconnected(me, 0.1)
    buckets.connected(me, 0.2)  # a reconnect does not refill
    assert buckets.allow(me, 0.2) is False
    buckets.connected(me, 0.3)  # a second tab shares the person's bucket
    buckets.disconnected(me, 0.3)
    assert buckets.allow(me, 0.3) is False
    buckets.disconnected(me, 0.4)
    # Many people come and go: only the recently gone keep a bucket.
    for i in range(1000):
        key = ("s_1", f"p{i}")
        buckets.connected(key, 1.0 + i * 0.01)
        buckets.allow(key, 1.0 + i * 0.01)
        buckets.disconnected(key, 1.0 + i * 0.01)
    assert len(buckets) <= 1.5 / 0.01 + 2
    assert me not in buckets._buckets


async def test_reconnecting_does_not_reset_the_rate_limit(server: ServerHandle) -> None:
    _, toks = await server.create()
    start = time.monotonic()
    accepted = 0
    for round_ in range(10):
        student = await server.connect(toks["s1"])
        await student.wait_for("welcome")
        acks = await asyncio.gather(
            *(student.call("chat", {"text": f"{round_}-{i}"}) for i in range(80))
        )
        accepted += sum(1 for a in acks if a["ok"])
        await student.sio.disconnect()
    elapsed = time.monotonic() - start
    # One connection's allowance over the same time, however often it reconnected.
    assert accepted <= EVENT_BURST + EVENTS_PER_S * elapsed, (accepted, elapsed)
    teacher = await server.connect(toks["t1"])
    (welcome,) = await teacher.wait_for("welcome")
    assert len(welcome["chat"]) == min(accepted, 100)
