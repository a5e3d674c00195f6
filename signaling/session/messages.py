"""Every inbound socket.io event, validated before anything else runs.

Pure. ``parse(event, payload)`` returns a typed command or raises
:class:`~signaling.session.schema.Invalid`; unknown events are refused the same way. The
payloads are declared in :mod:`signaling.session.declarations` (sizes are bounded there, so a
hostile client cannot make the room owner do unbounded work); what a declaration
cannot say is checked here, after decoding.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from signaling.session import declarations as d
from signaling.session import schema
from signaling.session.declarations import (
    MAX_CANDIDATE,
    MAX_CHAT,
    MAX_POINTS,
    MAX_SDP,
    Chat,
    End,
    GrantCmd,
    Hand,
    HandsDown,
    Ice,
    Leave,
    MediaIntent,
    Mute,
    Offer,
    Record,
    StageAnswer,
    Unmute,
)
from signaling.session.schema import Invalid

__all__ = [
    "MAX_CANDIDATE",
    "MAX_CHAT",
    "MAX_POINTS",
    "MAX_SDP",
    "PARSERS",
    "UPLOAD_ID",
    "BoardCmd",
    "Chat",
    "Command",
    "End",
    "GrantCmd",
    "Hand",
    "HandsDown",
    "Ice",
    "Leave",
    "MediaIntent",
    "Mute",
    "Offer",
    "Record",
    "StageAnswer",
    "StrokeTooLong",
    "Unmute",
    "board_op",
    "parse",
]

UPLOAD_ID = re.compile(d.UPLOAD_ID)


class StrokeTooLong(Invalid):
    """A stroke over the point limit: refused with its own code, not ``invalid``."""

    code = "stroke_too_long"


@dataclass(frozen=True)
class BoardCmd:
    op: dict[str, Any]  # normalised: the declared fields only, points rounded


Command = (
    Offer | Ice | Hand | GrantCmd | Chat | BoardCmd | MediaIntent | End | Leave | Record
    | StageAnswer | Mute | Unmute | HandsDown
)


def _ice(data: Any) -> Ice:
    ice = schema.decode(Ice, data)
    if not ice.candidate:  # null or "": the end of candidates
        if ice.candidate is None:
            return Ice(None, None, None)
        return Ice(None, ice.sdp_mid, ice.sdp_mline_index)
    return ice


def _chat(data: Any) -> Chat:
    chat = schema.decode(Chat, data)
    if chat.image is None and not chat.text.strip():
        raise Invalid("text", "a chat message needs text or a picture")
    return chat


def board_op(value: Any) -> dict[str, Any]:
    """Validate one whiteboard op and return a normalised copy (no extra fields)."""
    if (
        isinstance(value, dict)
        and value.get("type") == "stroke"
        and isinstance(value.get("points"), list)
        and len(value["points"]) > MAX_POINTS
    ):
        raise StrokeTooLong("op.points", f"a stroke may have at most {MAX_POINTS} points")
    op = schema.decode(d.Board, {"op": value}).op
    if isinstance(op, d.Stroke):
        return {
            "type": "stroke",
            "id": op.id,
            "tool": op.tool,
            "color": op.color,
            "width": op.width,
            "points": [[round(x, 4), round(y, 4)] for x, y in op.points],
        }
    if isinstance(op, d.Undo):
        return {"type": "undo", "id": op.id}
    if isinstance(op, d.Clear):
        return {"type": "clear"}
    return {"type": "background", "image": op.image}


def _board(data: Any) -> BoardCmd:
    if not isinstance(data, dict):
        raise Invalid("", "must be an object")
    return BoardCmd(board_op(data.get("op")))


def _plain(kind: type[Any]) -> Callable[[Any], Command]:
    return lambda data: schema.decode(kind, data)


PARSERS: dict[str, Callable[[Any], Command]] = {
    "offer": _plain(Offer),
    "ice": _ice,
    "hand": _plain(Hand),
    "grant": _plain(GrantCmd),
    "chat": _chat,
    "board": _board,
    "media": _plain(MediaIntent),
    "end": _plain(End),
    "leave": _plain(Leave),
    "record": _plain(Record),
    "stage_answer": _plain(StageAnswer),
    "mute": _plain(Mute),
    "unmute": _plain(Unmute),
    "hands_down": _plain(HandsDown),
}
assert set(PARSERS) == set(d.MESSAGES), "every declared event has a parser, and no other"


def parse(event: str, payload: Any) -> Command:
    """Validate one inbound event. Raises :class:`Invalid` (field ``""`` for the event itself)."""
    reader = PARSERS.get(event)
    if reader is None:
        raise Invalid("", f'unknown event "{event}"')
    return reader({} if payload is None else payload)
