"""The router: where a session's room lives and how to reach it.

LiveKit's pattern: one interface, a local implementation for a single node and
a Redis implementation (later) built on the local one, with the same scenario
tests run against both.
"""

from __future__ import annotations

from typing import Protocol

from signaling.session.room import Room


class RoomElsewhere(Exception):
    """The session's room runs on another node; ``url`` is that node's base URL
    (``None`` when the owner is known but not reachable right now)."""

    def __init__(self, session_id: str, url: str | None) -> None:
        super().__init__(f"session {session_id} runs on {url or 'another node'}")
        self.session_id = session_id
        self.url = url


class PlacementUnavailable(Exception):
    """Where a session's room runs cannot be decided now (Redis unreachable, placement
    settling after Redis lost its data, the owner not heard from). Rooms already
    running here go on; a join or a REST call that needs placement is refused at once
    with a retryable error instead of waiting. ``str()`` is the reason, for logs."""


class Draining(PlacementUnavailable):
    """This node is draining (``opentutor drain``): it takes no new room, and no other
    node can take this one now. Retryable: another node, or this one restarted, will."""


class Router(Protocol):
    async def room(self, session_id: str) -> Room | None:
        """The running room for ``session_id``, created on first use; ``None`` if no
        such session exists or it has ended. Raises :class:`RoomElsewhere` when
        another node owns it."""
        ...

    async def owner_url(self, session_id: str) -> str | None:
        """The base URL of the node running ``session_id`` if that is not this node."""
        ...

    def running(self, session_id: str) -> Room | None:
        """The room if it is running on this node now, without creating it."""
        ...

    def running_ids(self) -> list[str]:
        """The sessions whose rooms run on this node now."""
        ...

    async def ping(self) -> None:
        """Raise if the placement backend (Redis) cannot be reached; nothing locally."""
        ...

    async def peers(self) -> dict[str, str]:
        """The other nodes alive now, node id → base URL (none for one node). Raises
        :class:`PlacementUnavailable` when that cannot be known (Redis away)."""
        ...

    async def closed(self, session_id: str) -> None:
        """A room ended: forget it."""
        ...

    @property
    def draining(self) -> bool:
        """Whether :meth:`drain` was called."""
        ...

    def drain(self) -> None:
        """Take no new room from now on (rooms running here go on until they end):
        :meth:`room` for a session not running here raises :class:`Draining` or, with
        Redis, :class:`RoomElsewhere` naming a node that takes new rooms."""
        ...

    async def wait_idle(self) -> None:
        """Return once no room runs on this node (at once if none does)."""
        ...

    async def close(self) -> None:
        """Stop every room (server shutdown)."""
        ...
