"""A very small validator for JSON-shaped input, with field paths in its errors.

Every inbound socket.io event and REST body passes through one of these before
anything else runs, so a bad message is refused with a message naming the field
and changes nothing. Deliberately tiny: a few typed readers rather than a
framework, each enforcing its own size limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

T = TypeVar("T")


class Invalid(ValueError):
    """Input refused. ``field`` is a dotted path (``people[1].role``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


def obj(value: Any, field: str = "") -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise Invalid(field, "must be an object")
    return value


def _path(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def string(
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
    field = _path(parent, key)
    if value is None:
        if optional:
            return ""
        raise Invalid(field, "is required")
    if not isinstance(value, str):
        raise Invalid(field, "must be a string")
    if len(value) > max_len:
        raise Invalid(field, f"must be at most {max_len} characters")
    if not _encodable(value):
        raise Invalid(field, "is not valid Unicode text (lone surrogate)")
    if len(value.strip()) < min_len:
        raise Invalid(field, "must not be empty" if min_len == 1 else f"needs {min_len} characters")
    if pattern is not None and not pattern.fullmatch(value):
        raise Invalid(field, "has an invalid format")
    return value


def _encodable(text: str) -> bool:
    """JSON's ``\\ud800`` escapes decode to lone surrogates, which UTF-8 (SQLite, the
    wire) cannot carry."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def integer(data: Mapping[str, Any], key: str, *, parent: str = "", lo: int, hi: int) -> int:
    value = data.get(key)
    field = _path(parent, key)
    if value is None:
        raise Invalid(field, "is required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(field, "must be an integer")
    if not lo <= value <= hi:
        raise Invalid(field, f"must be between {lo} and {hi}")
    return value


def number(data: Mapping[str, Any], key: str, *, parent: str = "", lo: float, hi: float) -> float:
    value = data.get(key)
    field = _path(parent, key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid(field, "must be a number")
    if not lo <= value <= hi:
        raise Invalid(field, f"must be between {lo} and {hi}")
    return float(value)


def boolean(
    data: Mapping[str, Any], key: str, *, parent: str = "", default: bool | None = None
) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise Invalid(_path(parent, key), "must be true or false")
    return value


def choice(data: Mapping[str, Any], key: str, options: tuple[str, ...], *, parent: str = "") -> str:
    value = data.get(key)
    field = _path(parent, key)
    if value is None:
        raise Invalid(field, "is required")
    if value not in options:
        raise Invalid(field, "must be one of " + ", ".join(f'"{o}"' for o in options))
    return str(value)


def items(
    data: Mapping[str, Any],
    key: str,
    read: Callable[[Any, str], T],
    *,
    parent: str = "",
    max_items: int,
    min_items: int = 0,
) -> list[T]:
    value = data.get(key, [] if min_items == 0 else None)
    field = _path(parent, key)
    if not isinstance(value, list):
        raise Invalid(field, "must be a list")
    if not min_items <= len(value) <= max_items:
        raise Invalid(field, f"must have between {min_items} and {max_items} items")
    return [read(item, f"{field}[{i}]") for i, item in enumerate(value)]


def timestamp(data: Mapping[str, Any], key: str, *, parent: str = "") -> datetime:
    """An ISO-8601 time with an offset (``Z`` accepted), returned in UTC."""
    text = string(data, key, parent=parent, max_len=40)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Invalid(_path(parent, key), "must be an ISO-8601 time") from exc
    if moment.tzinfo is None:
        raise Invalid(_path(parent, key), "must include a time zone offset")
    return moment.astimezone(UTC)
