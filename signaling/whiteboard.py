"""The whiteboard: a server-ordered log of operations and the board it yields.

Pure. The room owner appends validated ops; the server's sequence number and
timestamp make the order authoritative, so every client (and, later, a replay
of the recording) draws the same picture. A late joiner gets ``visible()``
rather than the whole log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class BoardOp:
    seq: int
    ts: str  # server UTC, ISO-8601
    by: str  # person id
    op: dict[str, Any]

    def wire(self) -> dict[str, Any]:
        return {"seq": self.seq, "ts": self.ts, "by": self.by, "op": self.op}


@dataclass
class Board:
    """The log and the picture it draws. Only the room owner mutates it."""

    log: list[BoardOp] = field(default_factory=list)
    _strokes: dict[str, BoardOp] = field(default_factory=dict)  # insertion-ordered
    _background: str | None = None

    @property
    def seq(self) -> int:
        return self.log[-1].seq if self.log else 0

    def author_of(self, stroke_id: str) -> str | None:
        entry = self._strokes.get(stroke_id)
        return entry.by if entry else None

    def has_stroke(self, stroke_id: str) -> bool:
        return stroke_id in self._strokes

    def append(self, by: str, ts: str, op: dict[str, Any]) -> BoardOp:
        entry = BoardOp(self.seq + 1, ts, by, op)
        self._apply(entry)
        self.log.append(entry)
        return entry

    def _apply(self, entry: BoardOp) -> None:
        kind = entry.op["type"]
        if kind == "stroke":
            self._strokes[entry.op["id"]] = entry
        elif kind == "undo":
            self._strokes.pop(entry.op["id"], None)
        elif kind == "clear":
            self._strokes.clear()
        elif kind == "background":
            self._background = entry.op.get("image")

    @classmethod
    def replay(cls, log: list[BoardOp]) -> Board:
        board = cls()
        for entry in log:
            board._apply(entry)
            board.log.append(entry)
        return board

    def visible(self, resolve_image: Any = None) -> dict[str, Any]:
        """The board as it looks now: ``{"seq", "background", "strokes"}``."""
        background = self._background
        if background is not None and resolve_image is not None:
            background = resolve_image(background)
        strokes = [dict(e.op, by=e.by, seq=e.seq) for e in self._strokes.values()]
        return {"seq": self.seq, "background": background, "strokes": strokes}
