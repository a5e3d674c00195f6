"""The server's own aiortc side and a real coturn: with credentials minted as each join
mints them (signaling/server/turn.py), aiortc (aioice) allocates a relay over UDP and
over TCP and offers it as a ``typ relay`` candidate; wrong credentials get none."""

from __future__ import annotations

import re
import time

import pytest
from aiortc import RTCIceServer, RTCPeerConnection

from rtc.ice import rtc_configuration
from signaling.server.turn import TurnConfig
from tests.turn_support import TurnServer

pytestmark = pytest.mark.timeout(30)


async def relay_candidates(server: RTCIceServer) -> list[str]:
    pc = RTCPeerConnection(rtc_configuration([server]))
    try:
        pc.addTransceiver("audio")
        await pc.setLocalDescription(await pc.createOffer())
        return re.findall(r"a=candidate:\S+ \d+ udp \d+ (\S+ \d+) typ relay",
                          pc.localDescription.sdp)
    finally:
        await pc.close()


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_aiortc_relays_through_coturn_with_minted_credentials(
    turn_server: TurnServer, transport: str
) -> None:
    url = turn_server.udp_url if transport == "udp" else turn_server.tcp_url
    turn = TurnConfig((url,), turn_server.secret, 3600)
    (entry,) = turn.ice_servers("server-test", time.time())
    before = turn_server.allocations()
    relays = await relay_candidates(RTCIceServer(**entry))
    assert relays and all(r.startswith("127.0.0.1 ") for r in relays), relays
    assert turn_server.allocations() > before


async def test_a_wrong_secret_or_an_expired_username_gets_no_relay(
    turn_server: TurnServer,
) -> None:
    wrong = TurnConfig((turn_server.udp_url,), "not-the-secret", 3600)
    (entry,) = wrong.ice_servers("s1", time.time())
    assert await relay_candidates(RTCIceServer(**entry)) == []
    expired = TurnConfig((turn_server.udp_url,), turn_server.secret, 60)
    (entry,) = expired.ice_servers("s1", time.time() - 3600)  # expired an hour ago
    assert await relay_candidates(RTCIceServer(**entry)) == []
