"""The per-connection token bucket, with a fixed clock, and over a real socket."""

from __future__ import annotations

import asyncio

from signaling.ratelimit import TokenBucket
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
