"""Single-node router: rooms live in this process.

A registry maps session id → room and creates rooms under a per-id lock, so two
simultaneous joins never create two rooms for one session. Draining (``opentutor
drain``) stops it creating rooms; :meth:`LocalRouter.wait_idle` returns once the last
running room has ended.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from signaling.router.base import Draining
from signaling.session.room import Room, RoomDeps
from signaling.store.base import SessionStore


class LocalRouter:
    def __init__(self, store: SessionStore, deps: RoomDeps) -> None:
        self._store = store
        self._rooms: dict[str, Room] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._deps = deps
        self._draining = False
        self._idle = asyncio.Event()  # set while no room runs here
        self._idle.set()

    async def owner_url(self, session_id: str) -> str | None:
        return None  # one node: every room is here

    def running(self, session_id: str) -> Room | None:
        return self._rooms.get(session_id)

    def running_ids(self) -> list[str]:
        return list(self._rooms)

    async def ping(self) -> None:
        return None  # nothing to reach: rooms are placed in this process

    async def peers(self) -> dict[str, str]:
        return {}  # one node

    @property
    def draining(self) -> bool:
        return self._draining

    def drain(self) -> None:
        self._draining = True

    async def wait_idle(self) -> None:
        await self._idle.wait()

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
            if self._draining:
                raise Draining(f"node is draining: session {session_id} is not started here")
            board_log = await self._store.board_log(session_id)
            room = Room(session, board_log, self._deps)
            room.start()
            self._rooms[session_id] = room
            self._idle.clear()
            return room

    async def closed(self, session_id: str) -> None:
        room = self._rooms.pop(session_id, None)
        self._locks.pop(session_id, None)
        if room is not None:
            await room.stop()
        if not self._rooms:
            self._idle.set()

    async def close(self) -> None:
        for session_id in list(self._rooms):
            await self.closed(session_id)
