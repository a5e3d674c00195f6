"""One writer: a peer connection that fails while its person's offer is suspended
mid-negotiation does not tear anything down under the offer. aiortc's callback only
submits work to the owner, which runs it after the offer, in order (issue 10.1)."""

from __future__ import annotations

from typing import Any

from rtc.clock import SystemClock
from rtc.contract import Work
from rtc.room import MediaRoom
from tests.rtc.clients import LOOPBACK, Client, Events, until

AV = frozenset({"audio", "video"})


class HeldOwner:
    """An owner that keeps what it is given until the test releases it."""

    def __init__(self) -> None:
        self.work: list[Work] = []

    def run(self, work: Work, /) -> None:
        self.work.append(work)

    async def release(self) -> int:
        done = 0
        while self.work:
            await self.work.pop(0)()
            done += 1
        return done


def state(room: MediaRoom, person: str) -> tuple[str, int]:
    """(connection, number of slots) of ``person``, as the room's snapshot says."""
    snapshot = room.snapshot().people[person]
    return snapshot.connection, len(snapshot.slots)


async def test_a_failure_during_an_offer_waits_for_the_owner(events: Events) -> None:
    owner = HeldOwner()
    room = MediaRoom(events, clock=SystemClock(), host_addresses=LOOPBACK, owner=owner)
    a = Client("A", room, audio=True, video=True)
    b = Client("B", room)
    states: list[tuple[str, str, int]] = []
    try:
        room.set_publish("A", AV)
        await a.negotiate()
        await b.negotiate(room.snapshot().streams_for("B"))

        async def transport_up() -> bool:
            await owner.release()  # "connected" is applied by the owner too
            return room.snapshot().people["B"].transport_up

        for _ in range(250):
            if await transport_up():
                break
            await until(lambda: bool(owner.work), 5, "B's connection up")
        assert room.snapshot().people["B"].transport_up
        states.append(("connected", *state(room, "B")))

        server_pc = room._people["B"].pc
        assert server_pc is not None
        original = server_pc.setRemoteDescription

        async def failing_midway(description: Any) -> None:
            # aiortc reports the connection failed while this offer is being applied.
            server_pc._RTCPeerConnection__connectionState = "failed"  # type: ignore[attr-defined]
            server_pc.emit("connectionstatechange")
            await until(lambda: bool(owner.work), 2, "the failure submitted")
            states.append(("failed, offer suspended", *state(room, "B")))
            await original(description)

        server_pc.setRemoteDescription = failing_midway  # type: ignore[method-assign]
        mapping = await b.negotiate(room.snapshot().streams_for("B"))  # completes whole
        states.append(("offer answered", *state(room, "B")))
        assert mapping  # B was still told what its slots carry

        assert await owner.release() >= 1
        states.append(("owner ran the work", *state(room, "B")))
        # (aiortc recomputes the state it was forced to while applying the offer.)
        assert [(step, connection != "none", slots) for step, connection, slots in states] == [
            ("connected", True, 2),
            ("failed, offer suspended", True, 2),
            ("offer answered", True, 2),
            ("owner ran the work", False, 0),
        ]
        # media_down for B's nothing, then its transport down: in the documented order.
        assert events.of("B")[-1] == ("transport", False)
    finally:
        await a.close()
        await b.close()
        await room.close()


async def test_a_failure_of_a_replaced_connection_changes_nothing(events: Events) -> None:
    owner = HeldOwner()
    room = MediaRoom(events, clock=SystemClock(), host_addresses=LOOPBACK, owner=owner)
    a = Client("A", room, audio=True)
    try:
        room.set_publish("A", frozenset({"audio"}))
        await a.negotiate()
        old_pc = room._people["A"].pc
        assert old_pc is not None
        await room.reset("A")  # a reconnect: the owner replaced it ...
        a2 = Client("A", room, audio=True)
        try:
            await a2.negotiate()
            new_pc = room._people["A"].pc
            room.failed("A", old_pc)  # ... and only then does the old one report failure
            await owner.release()
            assert room._people["A"].pc is new_pc
        finally:
            await a2.close()
    finally:
        await a.close()
        await room.close()
