"""Ingress without aioice's queue (rtc.forward.receive_eagerly): the coroutine
stepping it relies on, alone, and a real aiortc pair whose media takes that way."""

from __future__ import annotations

import asyncio
import logging

import pytest

from rtc import forward

pytestmark = pytest.mark.timeout(20)


async def test_a_packet_handled_without_waiting_is_done_on_the_call() -> None:
    seen: list[int] = []

    async def handle() -> None:
        seen.append(1)

    forward.run_eagerly(handle())
    assert seen == [1]  # no loop turn needed


async def test_a_packet_that_waits_finishes_in_a_task_with_what_it_waited_for() -> None:
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[str] = loop.create_future()
    seen: list[str] = []

    async def handle() -> None:
        seen.append("before")
        seen.append(await gate)
        await asyncio.sleep(0)  # a bare yield, too
        seen.append("after")

    forward.run_eagerly(handle())
    assert seen == ["before"]
    gate.set_result("sent")
    for _ in range(5):
        await asyncio.sleep(0)
    assert seen == ["before", "sent", "after"]
    assert not forward._FINISHING  # nothing left behind


async def test_failures_are_logged_never_raised_into_aioice(
    caplog: pytest.LogCaptureFixture,
) -> None:
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[None] = loop.create_future()
    caught: list[BaseException] = []

    async def fails_at_once() -> None:
        raise ValueError("malformed")

    async def fails_later() -> None:
        await gate

    async def catches() -> None:
        try:
            await gate
        except RuntimeError as exc:  # what the awaited thing raised reaches the handler
            caught.append(exc)

    with caplog.at_level(logging.ERROR, logger="rtc.forward"):
        forward.run_eagerly(fails_at_once())
        forward.run_eagerly(fails_later())
        forward.run_eagerly(catches())
        gate.set_exception(RuntimeError("socket gone"))
        for _ in range(5):
            await asyncio.sleep(0)
    assert [type(e) for e in caught] == [RuntimeError]
    assert sum("receiving a packet failed" in r.message for r in caplog.records) == 2


async def test_an_empty_datagram_is_dropped_and_the_connection_stays_up() -> None:
    """Two real aiortc peers over 127.0.0.1; an empty UDP payload (anyone who can reach
    the port can send one) reaches the hooked ``data_received`` of the connected side.
    aiortc's own receive task fails on it (``data[0]``: IndexError) and closes the
    transport; the hook drops it, and the connection stays up."""
    from aiortc import RTCPeerConnection

    a, b = RTCPeerConnection(), RTCPeerConnection()
    try:
        a.createDataChannel("x")
        await a.setLocalDescription(await a.createOffer())
        await b.setRemoteDescription(a.localDescription)
        await b.setLocalDescription(await b.createAnswer())
        await a.setRemoteDescription(b.localDescription)
        for _ in range(200):
            if a.connectionState == "connected" and b.connectionState == "connected":
                break
            await asyncio.sleep(0.05)
        assert a.connectionState == "connected"
        forward.receive_eagerly(a)
        connection = forward.ice_connections(a)[0]
        assert getattr(connection, forward._EAGER)
        connection.data_received(b"", 1)
        await asyncio.sleep(0.2)
        assert a.connectionState == "connected"
    finally:
        await a.close()
        await b.close()
