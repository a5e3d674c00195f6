"""Single-node router: rooms live in this process.

A registry maps session id → room and creates rooms under a per-id lock, so two
simultaneous joins never create two rooms for one session.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from signaling.session.room import Room, RoomDeps
from signaling.store.sqlite import Store


class LocalRouter:
    def __init__(self, store: Store, deps: RoomDeps) -> None:
        self._store = store
        self._rooms: dict[str, Room] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._deps = deps

    async def owner_url(self, session_id: str) -> str | None:
        return None  # one node: every room is here

    def running(self, session_id: str) -> Room | None:
        return self._rooms.get(session_id)

    def running_ids(self) -> list[str]:
        return list(self._rooms)

    async def ping(self) -> None:
        return None  # nothing to reach: rooms are placed in this process

    async def room(self, session_id: str) -> Room | None:
        room = self._rooms.get(session_id)
        if room is not None:
            return room
        async with self._locks[session_id]:
            room = self._rooms.get(session_id)
            if room is not None:
                return room
            session = await self._store.session(session_id)
            if session is None or session.state == "ended":
                return None
            board_log = await self._store.board_log(session_id)
            room = Room(session, board_log, self._deps)
            room.start()
            self._rooms[session_id] = room
            return room

    async def closed(self, session_id: str) -> None:
        room = self._rooms.pop(session_id, None)
        self._locks.pop(session_id, None)
        if room is not None:
            await room.stop()

    async def close(self) -> None:
        for session_id in list(self._rooms):
            await self.closed(session_id)
