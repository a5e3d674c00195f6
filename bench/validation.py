"""Validation cost per inbound message: hand-written vs msgspec vs pydantic v2.

    python -m bench.validation                 # default: 200,000 chat messages per round
    python -m bench.validation --n 20000       # a quick run

Two typical messages, each validated the way the server must (every field checked,
extra fields dropped, the result typed):

- *chat*: ``{"text": "老师这道题怎么做？", "image": null}``, the hot path (every chat
  line of every classroom goes through it);
- *board*: one stroke of 200 points.

Rows, per message, in ns (best of 5 rounds, one core):

- *baseline*: a bare ``isinstance(payload, dict)`` check and a dict lookup, the least any
  validation does;
- *hand-written*: the validator the server had before issue 10.6 (``signaling/session/schema.py``
  readers), frozen here so every run compares against it on the same machine;
- *msgspec*: ``msgspec.convert(payload, Struct)``, the declarations alone;
- *pydantic*: ``TypeAdapter(dataclass).validate_python(payload)`` with the same
  constraints (skipped when pydantic is not installed: it is not a dependency);
- *server*: ``signaling.session.messages.parse`` as it is now (declarations, the text
  checks and the cross-field rules), what a socket event really costs.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec

from signaling.session import messages

CHAT: dict[str, Any] = {"text": "老师这道题怎么做？", "image": None}
BOARD: dict[str, Any] = {
    "op": {
        "type": "stroke",
        "id": "k1",
        "tool": "pen",
        "color": "#112233",
        "width": 3,
        "points": [[(i % 100) / 100, ((i * 7) % 100) / 100] for i in range(200)],
    }
}
COLOR = re.compile(r"#[0-9a-fA-F]{6}")
STROKE_ID = re.compile(r"[A-Za-z0-9_-]{1,40}")
UPLOAD_ID = re.compile(r"u_[A-Za-z0-9_-]{8,40}")


class _Invalid(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


# --- the hand-written validator as it was (signaling/session/schema.py + messages.py) ---


def _string(
    data: Mapping[str, Any],
    key: str,
    *,
    parent: str = "",
    max_len: int = 200,
    min_len: int = 1,
    pattern: re.Pattern[str] | None = None,
    optional: bool = False,
) -> str:
    value = data.get(key)
    field = f"{parent}.{key}" if parent else key
    if value is None:
        if optional:
            return ""
        raise _Invalid(field, "is required")
    if not isinstance(value, str):
        raise _Invalid(field, "must be a string")
    if len(value) > max_len:
        raise _Invalid(field, f"must be at most {max_len} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid(field, "is not valid Unicode text") from None
    if len(value.strip()) < min_len:
        raise _Invalid(field, "must not be empty")
    if pattern is not None and not pattern.fullmatch(value):
        raise _Invalid(field, "has an invalid format")
    return value


def _choice(data: Mapping[str, Any], key: str, options: tuple[str, ...], parent: str) -> str:
    value = data.get(key)
    if value not in options:
        raise _Invalid(f"{parent}.{key}", "must be one of " + ", ".join(options))
    return str(value)


def _point(value: Any, field: str) -> tuple[float, float]:
    if not (isinstance(value, list) and len(value) == 2):
        raise _Invalid(field, "must be [x, y]")
    x, y = value
    for v in (x, y):
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
            raise _Invalid(field, "coordinates must be numbers between 0 and 1")
    return (round(float(x), 4), round(float(y), 4))


def handwritten_chat(payload: Any) -> tuple[str, str | None]:
    if not isinstance(payload, dict):
        raise _Invalid("", "must be an object")
    data = dict(payload)
    text = _string(data, "text", max_len=2000, optional=True, min_len=0)
    image = data.get("image")
    if image is not None:
        image = _string(data, "image", max_len=64, pattern=UPLOAD_ID)
    if not text.strip() and image is None:
        raise _Invalid("text", "a chat message needs text or a picture")
    return text, image


def handwritten_board(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise _Invalid("", "must be an object")
    data = payload.get("op")
    if not isinstance(data, dict):
        raise _Invalid("op", "must be an object")
    _choice(data, "type", ("stroke", "undo", "clear", "background"), "op")
    points = data.get("points")
    if not isinstance(points, list) or not 1 <= len(points) <= 2000:
        raise _Invalid("op.points", "must be a list")
    read = [_point(p, f"op.points[{i}]") for i, p in enumerate(points)]
    width = data.get("width")
    if isinstance(width, bool) or not isinstance(width, int | float) or not 1 <= width <= 40:
        raise _Invalid("op.width", "must be a number")
    return {
        "type": "stroke",
        "id": _string(data, "id", parent="op", max_len=40, pattern=STROKE_ID),
        "tool": _choice(data, "tool", ("pen", "eraser"), "op"),
        "color": _string(data, "color", parent="op", max_len=7, pattern=COLOR),
        "width": float(width),
        "points": [list(p) for p in read],
    }


# --- the same constraints declared for each library ---

Coord = Annotated[float, msgspec.Meta(ge=0, le=1)]


class MsChat(msgspec.Struct):
    text: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    image: Annotated[str, msgspec.Meta(pattern=r"^u_[A-Za-z0-9_-]{8,40}$")] | None = None


class MsStroke(msgspec.Struct):
    type: Literal["stroke"]
    id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
    tool: Literal["pen", "eraser"]
    color: Annotated[str, msgspec.Meta(pattern=r"^#[0-9a-fA-F]{6}$")]
    width: Annotated[float, msgspec.Meta(ge=1, le=40)]
    points: Annotated[list[tuple[Coord, Coord]], msgspec.Meta(min_length=1, max_length=2000)]


class MsBoard(msgspec.Struct):
    op: MsStroke


def _pydantic() -> tuple[Callable[[Any], Any], Callable[[Any], Any]] | None:
    try:
        from pydantic import Field, TypeAdapter
    except ImportError:
        return None
    PCoord = Annotated[float, Field(ge=0, le=1, strict=True)]

    @dataclass
    class PChat:
        text: Annotated[str, Field(max_length=2000, strict=True)] = ""
        image: Annotated[str, Field(pattern=r"^u_[A-Za-z0-9_-]{8,40}$")] | None = None

    @dataclass
    class PStroke:
        type: Literal["stroke"]
        id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
        tool: Literal["pen", "eraser"]
        color: Annotated[str, Field(pattern=r"^#[0-9a-fA-F]{6}$")]
        width: Annotated[float, Field(ge=1, le=40, strict=True)]
        points: Annotated[list[tuple[PCoord, PCoord]], Field(min_length=1, max_length=2000)]

    @dataclass
    class PBoard:
        op: PStroke

    return TypeAdapter(PChat).validate_python, TypeAdapter(PBoard).validate_python


def baseline(payload: Any) -> Any:
    if not isinstance(payload, dict):
        raise _Invalid("", "must be an object")
    return payload.get("text")


def per_message_ns(fn: Callable[[Any], Any], payload: Any, n: int, rounds: int = 5) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter_ns()
        for _ in range(n):
            fn(payload)
        best = min(best, (time.perf_counter_ns() - start) / n)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="chat messages per round")
    args = parser.parse_args(argv)
    n_chat, n_board = args.n, max(args.n // 100, 100)
    pyd = _pydantic()
    rows: list[tuple[str, Callable[[Any], Any] | None, Callable[[Any], Any] | None]] = [
        ("baseline (isinstance + get)", baseline, baseline),
        ("hand-written (before 10.6)", handwritten_chat, handwritten_board),
        (
            "msgspec.convert",
            lambda p: msgspec.convert(p, MsChat),
            lambda p: msgspec.convert(p, MsBoard),
        ),
        ("pydantic TypeAdapter", pyd[0] if pyd else None, pyd[1] if pyd else None),
        (
            "server: messages.parse",
            lambda p: messages.parse("chat", p),
            lambda p: messages.parse("board", p),
        ),
    ]
    print(f"{'ns per message':<30} {'chat':>10} {'board (200 pts)':>16}")
    for name, chat, board in rows:
        if chat is None or board is None:
            print(f"{name:<30} {'(not installed)':>10}")
            continue
        c = per_message_ns(chat, CHAT, n_chat)
        b = per_message_ns(board, BOARD, n_board)
        print(f"{name:<30} {c:>10,.0f} {b:>16,.0f}")


if __name__ == "__main__":
    main()
