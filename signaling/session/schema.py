"""Decoding JSON-shaped input into declared types, with field paths in its errors.

Every inbound socket.io event and REST body is declared once, as a ``msgspec.Struct``
in :mod:`signaling.session.declarations` (sizes, ranges, enums and formats in the
declaration), and passes through :func:`decode` before anything else runs, so a bad
message is refused with a message naming the field and changes nothing. msgspec's
errors are reworded here into :class:`Invalid` (``people[1].role: must be one of
"instructor", "learner"``), the form clients and tests have always seen.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

import msgspec
from msgspec import inspect as mi

T = TypeVar("T")

# A pattern that refuses empty and whitespace-only text ("must not be empty").
NONBLANK = r"\S"


def anchored(body: str) -> str:
    """A whole-value pattern for a declaration. msgspec *searches* (``re.search``) and
    ``$`` also matches before a final newline, so the end is ``$(?!\\n)``: the same
    meaning in Python and in JSON Schema's ECMA-262 regexes."""
    return f"^{body}$(?!\\n)"


class Invalid(ValueError):
    """Input refused. ``field`` is a dotted path (``people[1].role``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


_ENCODER = msgspec.json.Encoder()


def decode(kind: type[T], value: Any) -> T:
    """``value`` (decoded JSON) as a ``kind``, or :class:`Invalid` naming the field."""
    try:
        result = msgspec.convert(value, kind)
    except msgspec.ValidationError as exc:
        raise _reworded(str(exc), kind) from None
    except UnicodeEncodeError:  # msgspec met a lone surrogate where it wanted UTF-8
        where = _surrogate_at(value, "") or ""
        raise Invalid(where, "is not valid Unicode text (lone surrogate)") from None
    # JSON's "\ud800" escapes decode to lone surrogates, which UTF-8 (SQLite, the wire)
    # cannot carry. Encoding the result is the cheapest check of every text in it.
    try:
        _ENCODER.encode(result)
    except UnicodeEncodeError:
        where = _surrogate_at(msgspec.to_builtins(result), "") or ""
        raise Invalid(where, "is not valid Unicode text (lone surrogate)") from None
    return result


# -- text that UTF-8 cannot carry ------------------------------------------------------


def _surrogate_at(value: Any, path: str) -> str | None:
    """The path of the first text in ``value`` that UTF-8 cannot carry (for a bad key:
    the object holding it, whose name can be said)."""
    if isinstance(value, str):
        return None if _encodable(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and not _encodable(key):
                return path
            found = _surrogate_at(item, _join(path, str(key)))
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _surrogate_at(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- msgspec's errors in today's words --------------------------------------------------

_WHERE = re.compile(r"(.*) - at `\$(.*)`", re.S)
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_MISSING = re.compile(r"Object missing required field `(.*)`")
_WRONG_TYPE = re.compile(r"Expected `([^`]*)`, got `[^`]*`")
_TUPLE = re.compile(r"Expected `array` of length (\d+), got \d+")
_LENGTH = re.compile(r"Expected `(str|array)` of length ([<>]=) (\d+)")
_RANGE = re.compile(r"Expected `(int|float)` ([<>]=?) (\S+)")
_PATTERN = re.compile(r"Expected `str` matching regex '(.*)'", re.S)
_TYPE_WORDS = {
    "str": "must be a string",
    "bool": "must be true or false",
    "int": "must be an integer",
    "float": "must be a number",
    "object": "must be an object",
    "array": "must be a list",
    "datetime": "must be an ISO-8601 time",
    "null": "must be null",
}


def _join(parent: str, key: str) -> str:
    return f"{parent}.{key}" if parent else key


def _reworded(error: str, kind: Any) -> Invalid:
    where = _WHERE.fullmatch(error)
    message, path = (where[1], where[2]) if where else (error, "")
    missing = _MISSING.fullmatch(message)
    if missing:
        return Invalid(_join(path.removeprefix("."), missing[1]), "is required")
    field, node, extra = _lookup(mi.type_info(kind), path)
    if "error" in extra:  # the declaration words every refusal of this value itself
        return Invalid(field, str(extra["error"]))
    return Invalid(field, _wording(message, node, extra))


def _lookup(info: mi.Type, path: str) -> tuple[str, mi.Type | tuple[str, ...], dict[str, Any]]:
    """The declared type at ``path`` (or the tags of a tagged union), its ``Meta.extra``,
    and the path to report: cut at the first value whose declaration words its own error."""
    node: mi.Type | tuple[str, ...] = info
    extra: dict[str, Any] = {}
    walked = ""
    for step in _STEP.finditer(path):
        extra = {}
        node, extra = _unwrap(node, extra)
        if "error" in extra:
            return walked, node, extra
        name, index = step[1], step[2]
        node = _step(node, name, None if index is None else int(index))
        walked = f"{walked}[{index}]" if index is not None else _join(walked, name)
    node, extra = _unwrap(node, {})
    return walked, node, extra


def _unwrap(
    node: mi.Type | tuple[str, ...], extra: dict[str, Any]
) -> tuple[mi.Type | tuple[str, ...], dict[str, Any]]:
    while True:
        if isinstance(node, mi.Metadata):
            extra = {**extra, **(node.extra or {})}
            node = node.type
            continue
        if isinstance(node, mi.UnionType):  # an optional value: what it is when present
            present = [m for m in node.types if not isinstance(m, mi.NoneType)]
            if len(present) == 1:
                node = present[0]
                continue
        return node, extra


def _bare(t: mi.Type) -> mi.Type:
    while isinstance(t, mi.Metadata):
        t = t.type
    return t


def _step(node: mi.Type | tuple[str, ...], name: str | None, index: int | None) -> Any:
    members = node.types if isinstance(node, mi.UnionType) else (node,)
    for member in members:
        member = _bare(member) if not isinstance(member, tuple) else member
        if name is not None and isinstance(member, mi.StructType):
            if member.tag_field == name:
                return tuple(
                    str(m.tag) for m in members if isinstance(m, mi.StructType) and m.tag
                )
            for f in member.fields:
                if f.encode_name == name:
                    return f.type
        if index is not None and isinstance(member, mi.ListType | mi.VarTupleType):
            return member.item_type
        if index is not None and isinstance(member, mi.TupleType):
            return member.item_types[index]
    return mi.AnyType()


def _wording(message: str, node: Any, extra: dict[str, Any]) -> str:
    if message.startswith("Invalid enum value") or message.startswith("Invalid value"):
        options = node if isinstance(node, tuple) else getattr(node, "values", ())
        return "must be one of " + ", ".join(f'"{o}"' for o in options)
    if m := _TUPLE.fullmatch(message):
        return f"must be a list of {m[1]} items"
    if m := _WRONG_TYPE.fullmatch(message):
        return _TYPE_WORDS.get(m[1].split(" | ")[0], message)
    if m := _LENGTH.fullmatch(message):
        n = int(m[3])
        if m[1] == "str":
            if m[2] == "<=":
                return f"must be at most {n} characters"
            return "must not be empty" if n == 1 else f"needs at least {n} characters"
        return f"must have at {'most' if m[2] == '<=' else 'least'} {n} items"
    if m := _RANGE.fullmatch(message):
        lo, hi = getattr(node, "ge", None), getattr(node, "le", None)
        if lo is not None and hi is not None:
            return f"must be between {lo} and {hi}"
        return f"must be {'at most' if m[2].startswith('<') else 'at least'} {m[3]}"
    if m := _PATTERN.fullmatch(message):
        if m[1] in (NONBLANK, NONBLANK.replace("\\", "\\\\")):  # as msgspec quotes it
            return "must not be empty"
        return str(extra.get("pattern_error", "has an invalid format"))
    if message == "Expected `datetime` with a timezone component":
        return "must include a time zone offset"
    if message.startswith("Invalid RFC3339"):
        return "must be an ISO-8601 time (RFC 3339)"
    return message
