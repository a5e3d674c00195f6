"""Media through the whole server: aiortc clients signal over socket.io exactly as
the browser does (offer on welcome, again on every ``renegotiate``), the server
forwards, and the presence record follows what the server observed."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from rtc.contract import StreamInfo
from tests.rtc.clients import Client, until
from tests.signaling.test_socket import until_seen
from tests.support import Peer, ServerHandle

pytestmark = pytest.mark.timeout(90)


@dataclass
class _Answer:
    sdp: str
    tracks: dict[str, StreamInfo]


class OverSocket:
    """Stands where the tests/rtc clients expect a MediaRoom: offers go over socket.io."""

    def __init__(self, peer: Peer) -> None:
        self.peer = peer

    async def offer(self, name: str, sdp: str) -> _Answer:
        ack = await self.peer.call("offer", {"sdp": sdp})
        assert ack["ok"], ack
        tracks = {mid: StreamInfo(**s) for mid, s in ack["tracks"].items()}
        return _Answer(ack["sdp"], tracks)


async def follow_renegotiations(peer: Peer, client: Client) -> None:
    done = 0
    while True:
        asks: list[Any] = peer.named("renegotiate")
        if len(asks) > done:
            done = len(asks)
            await client.negotiate([StreamInfo(**s) for s in asks[-1]["streams"]])
        await asyncio.sleep(0.05)


async def join_with_media(
    server: ServerHandle, token: str, name: str
) -> tuple[Peer, Client, asyncio.Task[None]]:
    peer = await server.connect(token)
    await peer.wait_for("welcome")
    client = Client(name, OverSocket(peer), audio=True, video=True)  # type: ignore[arg-type]
    await client.negotiate()
    return peer, client, asyncio.create_task(follow_renegotiations(peer, client))


async def test_one_to_one_media_both_ways_and_presence(server: ServerHandle) -> None:
    session_id, toks = await server.create()
    t_peer, teacher, t_loop = await join_with_media(server, toks["t1"], "t1")
    s_peer, student, s_loop = await join_with_media(server, toks["s1"], "s1")
    joined = time.time()
    try:
        await until(
            lambda: teacher.frames("s1", "video") > 20 and student.frames("t1", "video") > 20,
            within=30,
            what="video both ways",
        )
        await until(
            lambda: teacher.frames("s1", "audio") > 20 and student.frames("t1", "audio") > 20,
            within=10,
            what="audio both ways",
        )
        # The server says what it observes arriving, per person (a coalesced roster).
        await until_seen(t_peer, "s1", media={"audio": True, "video": True})
        await asyncio.sleep(3)
        status, record = await server.api("GET", f"/api/v1/sessions/{session_id}/record")
        assert status == 200, record  # under load a node may answer 503: say so, not KeyError
        for person in ("t1", "s1"):
            (span,) = record["active"][person]
            assert span[0] <= span[1]
        # The student drops off: socket and media go; the interval closes.
        s_loop.cancel()
        await student.close()
        await s_peer.sio.disconnect()
        left = time.time()
        await asyncio.sleep(1)
        status, record = await server.api("GET", f"/api/v1/sessions/{session_id}/record")
        assert status == 200, record

        def ts(text: str) -> float:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

        (s_span,) = record["active"]["s1"]
        assert abs(ts(s_span[1]) - left) < 1.5
        assert abs((ts(s_span[1]) - ts(s_span[0])) - (left - joined)) < 5
    finally:
        t_loop.cancel()
        s_loop.cancel()
        await teacher.close()
        await student.close()
