"""The router: where a session's room lives and how to reach it.

LiveKit's pattern: one interface, a local implementation for a single node and
a Redis implementation (later) built on the local one, with the same scenario
tests run against both.
"""

from __future__ import annotations

from typing import Protocol

from signaling.room import Room


class Router(Protocol):
    async def room(self, session_id: str) -> Room | None:
        """The running room for ``session_id``, created on first use; ``None`` if no
        such session exists or it has ended."""
        ...

    def running(self, session_id: str) -> Room | None:
        """The room if it is running on this node now, without creating it."""
        ...

    async def closed(self, session_id: str) -> None:
        """A room ended: forget it."""
        ...

    async def close(self) -> None:
        """Stop every room (server shutdown)."""
        ...
