"""Fixtures for the media tests: a MediaRoom on 127.0.0.1 and real client peers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from rtc.clock import SystemClock
from rtc.room import MediaRoom
from tests.rtc.clients import LOOPBACK, Client, Events


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
async def room(events: Events) -> AsyncIterator[MediaRoom]:
    media = MediaRoom(events, clock=SystemClock(), host_addresses=LOOPBACK)
    yield media
    await media.close()


@pytest.fixture
async def client(room: MediaRoom) -> AsyncIterator[Callable[..., Client]]:
    made: list[Client] = []

    def make(name: str, *, audio: bool = False, video: bool = False) -> Client:
        c = Client(name, room, audio=audio, video=video)
        made.append(c)
        return c

    yield make
    for c in made:
        await c.close()
