"""Schemas of every inbound socket.io event, validated before anything else runs.

Pure. ``parse(event, payload)`` returns a typed command or raises
:class:`~signaling.schema.Invalid`; unknown events are refused the same way.
Sizes are bounded here so a hostile client cannot make the room owner do
unbounded work.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from signaling import schema
from signaling.schema import Invalid
from signaling.whiteboard import DEFAULT_LIMITS

MAX_SDP = 64 * 1024
MAX_CANDIDATE = 1024
MAX_CHAT = 2000
MAX_POINTS = DEFAULT_LIMITS.points_per_stroke
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
STROKE_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
UPLOAD_ID = re.compile(r"u_[A-Za-z0-9_-]{8,40}")


class StrokeTooLong(Invalid):
    """A stroke over the point limit: refused with its own code, not ``invalid``."""

    code = "stroke_too_long"


@dataclass(frozen=True)
class Offer:
    sdp: str


@dataclass(frozen=True)
class Ice:
    candidate: str | None
    sdp_mid: str | None
    sdp_mline_index: int | None


@dataclass(frozen=True)
class Hand:
    up: bool


@dataclass(frozen=True)
class GrantCmd:
    person: str
    what: str
    on: bool


@dataclass(frozen=True)
class Chat:
    text: str
    image: str | None


@dataclass(frozen=True)
class BoardCmd:
    op: dict[str, Any]


@dataclass(frozen=True)
class MediaIntent:
    audio: bool
    video: bool


@dataclass(frozen=True)
class End:
    pass


@dataclass(frozen=True)
class Leave:
    pass


@dataclass(frozen=True)
class Record:
    on: bool  # instructors: start (True) or stop (False) the session's recording


Command = Offer | Ice | Hand | GrantCmd | Chat | BoardCmd | MediaIntent | End | Leave | Record


def _offer(data: dict[str, Any]) -> Offer:
    sdp = schema.string(data, "sdp", max_len=MAX_SDP)
    if not sdp.startswith("v=0"):
        raise Invalid("sdp", "is not a session description")
    return Offer(sdp)


def _ice(data: dict[str, Any]) -> Ice:
    if data.get("candidate") is None:
        return Ice(None, None, None)
    candidate = schema.string(data, "candidate", max_len=MAX_CANDIDATE, min_len=0)
    mid = data.get("sdpMid")
    if mid is not None and not (isinstance(mid, str) and len(mid) <= 32):
        raise Invalid("sdpMid", "must be a short string")
    index = data.get("sdpMLineIndex")
    if index is not None:
        index = schema.integer(data, "sdpMLineIndex", lo=0, hi=64)
    return Ice(candidate or None, mid, index)


def _grant(data: dict[str, Any]) -> GrantCmd:
    return GrantCmd(
        person=schema.string(data, "person", max_len=64),
        what=schema.choice(data, "what", ("stage", "pen")),
        on=schema.boolean(data, "on"),
    )


def _chat(data: dict[str, Any]) -> Chat:
    text = schema.string(data, "text", max_len=MAX_CHAT, optional=True, min_len=0)
    image = data.get("image")
    if image is not None:
        image = schema.string(data, "image", max_len=64, pattern=UPLOAD_ID)
    if not text.strip() and image is None:
        raise Invalid("text", "a chat message needs text or a picture")
    return Chat(text, image)


def _point(value: Any, field: str) -> tuple[float, float]:
    if not (isinstance(value, list) and len(value) == 2):
        raise Invalid(field, "must be [x, y]")
    x, y = value
    for v in (x, y):
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
            raise Invalid(field, "coordinates must be numbers between 0 and 1")
    return (round(float(x), 4), round(float(y), 4))


def board_op(value: Any) -> dict[str, Any]:
    """Validate one whiteboard op and return a normalised copy (no extra fields)."""
    data = schema.obj(value, "op")
    kind = schema.choice(data, "type", ("stroke", "undo", "clear", "background"), parent="op")
    if kind == "stroke":
        if isinstance(data.get("points"), list) and len(data["points"]) > MAX_POINTS:
            raise StrokeTooLong("op.points", f"a stroke may have at most {MAX_POINTS} points")
        points = schema.items(
            data, "points", _point, parent="op", max_items=MAX_POINTS, min_items=1
        )
        return {
            "type": "stroke",
            "id": schema.string(data, "id", parent="op", max_len=40, pattern=STROKE_ID),
            "tool": schema.choice(data, "tool", ("pen", "eraser"), parent="op"),
            "color": schema.string(data, "color", parent="op", max_len=7, pattern=COLOR),
            "width": schema.number(data, "width", parent="op", lo=1, hi=40),
            "points": [list(p) for p in points],
        }
    if kind == "undo":
        return {"type": "undo", "id": schema.string(data, "id", parent="op", pattern=STROKE_ID)}
    if kind == "clear":
        return {"type": "clear"}
    image = data.get("image")
    if image is not None:
        image = schema.string(data, "image", parent="op", max_len=64, pattern=UPLOAD_ID)
    return {"type": "background", "image": image}


PARSERS: dict[str, Callable[[dict[str, Any]], Command]] = {
    "offer": _offer,
    "ice": _ice,
    "hand": lambda d: Hand(schema.boolean(d, "up")),
    "grant": _grant,
    "chat": _chat,
    "board": lambda d: BoardCmd(board_op(d.get("op"))),
    "media": lambda d: MediaIntent(schema.boolean(d, "audio"), schema.boolean(d, "video")),
    "end": lambda d: End(),
    "leave": lambda d: Leave(),
    "record": lambda d: Record(schema.boolean(d, "on")),
}


def parse(event: str, payload: Any) -> Command:
    """Validate one inbound event. Raises :class:`Invalid` (field ``""`` for the event itself)."""
    reader = PARSERS.get(event)
    if reader is None:
        raise Invalid("", f'unknown event "{event}"')
    if payload is None:
        payload = {}
    return reader(dict(schema.obj(payload)))
