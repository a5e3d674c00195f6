"""The whiteboard: a server-ordered log of operations and the board it yields.

Pure. The room owner appends validated ops; the server's sequence number and
timestamp make the order authoritative, so every client (and, later, a replay
of the recording) draws the same picture. A late joiner gets ``visible()``
rather than the whole log.

Bounded (:class:`BoardLimits`): a page (the ops since the last ``clear``) holds
at most ``page_bytes`` of stored ops, a session at most ``pages`` pages and
``session_bytes`` in all. The visible board is drawn from the current page only,
so what a joiner receives is never more than a page. An op over a limit raises
:class:`BoardLimitError` and changes nothing. The log itself lives in the store;
in memory the board keeps only the visible strokes and the counters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BoardLimits:
    """Every whiteboard bound, in one place (documented in docs/protocol.md)."""

    # Points in one stroke op. The web client splits longer strokes (whiteboard.js).
    points_per_stroke: int = 2000
    # Board ops per person per session: a person drawing fast lifts the pen a few
    # times a second (one op per stroke); a script gets 10/s after a burst.
    ops_per_s: float = 10.0
    ops_burst: float = 40.0
    # Stored ops (their JSON as broadcast) since the last clear: a dense page of
    # handwriting is a few hundred KiB. The welcome carries at most one page, so with
    # the chat history it stays under the 4 MiB websocket message limit of aiohttp
    # clients (python-socketio), and it is cheap for a phone.
    page_bytes: int = 1536 * 1024
    # Pages per session (1 + clears), and every page together: bounds the store and
    # the replay manifest, which carries the whole log.
    pages: int = 100
    session_bytes: int = 16 * 1024 * 1024


DEFAULT_LIMITS = BoardLimits()


class BoardLimitError(Exception):
    """An op over a :class:`BoardLimits` bound; nothing was stored."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class BoardOp:
    seq: int
    ts: str  # server UTC, ISO-8601
    by: str  # person id
    op: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {"seq": self.seq, "ts": self.ts, "by": self.by, "op": self.op}

    def size(self) -> int:
        """Bytes of this entry as broadcast (python-socketio's compact ``json.dumps``)."""
        return len(json.dumps(self.wire(), separators=(",", ":")).encode())


@dataclass
class Board:
    """The picture the log draws. Only the room owner mutates it."""

    limits: BoardLimits = DEFAULT_LIMITS
    _seq: int = 0
    _strokes: dict[str, BoardOp] = field(default_factory=dict)  # insertion-ordered
    _background: str | None = None
    page_bytes: int = 0  # stored bytes since the last clear (the clear included)
    pages: int = 1
    total_bytes: int = 0

    @property
    def seq(self) -> int:
        return self._seq

    def author_of(self, stroke_id: str) -> str | None:
        entry = self._strokes.get(stroke_id)
        return entry.by if entry else None

    def has_stroke(self, stroke_id: str) -> bool:
        return stroke_id in self._strokes

    def append(self, by: str, ts: str, op: dict[str, Any]) -> BoardOp:
        """Add ``op`` as the next entry, or raise :class:`BoardLimitError` (no change)."""
        entry = BoardOp(self._seq + 1, ts, by, op)
        size = entry.size()
        self._check(entry, size)
        self._apply(entry, size)
        return entry

    def _check(self, entry: BoardOp, size: int) -> None:
        limits = self.limits
        kind = entry.op["type"]
        if kind == "stroke" and len(entry.op["points"]) > limits.points_per_stroke:
            raise BoardLimitError(
                "stroke_too_long",
                f"a stroke may have at most {limits.points_per_stroke} points",
            )
        if self.total_bytes + size > limits.session_bytes:
            raise BoardLimitError(
                "board_full", "the whiteboard of this session is full: nothing more can be drawn"
            )
        if kind == "clear":
            if self.pages >= limits.pages:
                raise BoardLimitError(
                    "board_full", f"this session has used all its {limits.pages} pages"
                )
        elif self.page_bytes + size > limits.page_bytes:
            raise BoardLimitError("board_full", "this page is full: clear it to draw more")

    def _apply(self, entry: BoardOp, size: int) -> None:
        self._seq = entry.seq
        self.total_bytes += size
        kind = entry.op["type"]
        if kind == "stroke":
            self._strokes[entry.op["id"]] = entry
        elif kind == "undo":
            self._strokes.pop(entry.op["id"], None)
        elif kind == "clear":
            self._strokes.clear()
            self.pages += 1
            self.page_bytes = 0
        elif kind == "background":
            self._background = entry.op.get("image")
        self.page_bytes += size

    @classmethod
    def replay(cls, log: list[BoardOp], limits: BoardLimits = DEFAULT_LIMITS) -> Board:
        """The board a stored log draws (counted, never refused: it is history)."""
        board = cls(limits)
        for entry in log:
            board._apply(entry, entry.size())
        return board

    def visible(self, resolve_image: Any = None) -> dict[str, Any]:
        """The board as it looks now: ``{"seq", "background", "strokes"}``.

        Only strokes of the current page are visible, each smaller than its stored
        entry, so this is at most ``limits.page_bytes`` plus the background URL."""
        background = self._background
        if background is not None and resolve_image is not None:
            background = resolve_image(background)
        strokes = [dict(e.op, by=e.by, seq=e.seq) for e in self._strokes.values()]
        return {"seq": self._seq, "background": background, "strokes": strokes}
