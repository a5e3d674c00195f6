"""signaling/server/leaks.py: what holds a closed peer connection, found by walking
the collector's referrers back to a root (the soak's debugging aid, SIGUSR2)."""

from __future__ import annotations

import asyncio
from typing import Any

from aiortc import RTCPeerConnection

from signaling.server import leaks

HELD: dict[str, Any] = {}


class Holder:
    def __init__(self, pc: RTCPeerConnection) -> None:
        self.pc = pc


async def test_a_closed_connection_is_traced_to_what_holds_it() -> None:
    pc = RTCPeerConnection()
    await pc.close()
    HELD["kept"] = [Holder(pc)]
    waiting = RTCPeerConnection()
    await waiting.close()
    forever = asyncio.get_running_loop().create_future()

    async def hold(_pc: RTCPeerConnection) -> None:
        await forever

    task = asyncio.create_task(hold(waiting), name="holds-a-closed-pc")
    await asyncio.sleep(0)
    try:
        assert pc in leaks.closed_peer_connections()
        kept = leaks.paths_to(pc, set())
        held = leaks.paths_to(waiting, set())
        report = leaks.report()
    finally:
        task.cancel()
        HELD.clear()
    assert any(p.startswith("module globals: dict") and "['kept'] -> list(1)[0] -> " in p
               for p in kept), kept
    assert any(p.startswith("a running task: task holds-a-closed-pc") for p in held), held
    assert "peer connections in memory after a full collection" in report
