"""Decoded TOML data back to TOML text: the little writer the console's edits need.

A policy edited in the console is stored as TOML text of the same format as the shipped
files, so ``opentutor credits --policy exported.toml`` recomputes any statement from an
exported version. The standard library reads TOML (:mod:`tomllib`) but does not write
it; the documents here hold only tables, arrays, strings, whole and decimal numbers,
booleans and dates, so a small writer says all of them and keeps this package free of
third-party code (it is pure, see docs/architecture.md).

What ``tomllib.loads(dumps(data)) == data`` needs, and the tests check: tables become
``[a.b]`` headers, a table of plain values inside a form (``limits = {…}``) stays inline,
arrays of tables become ``[[a]]``. Comments are not kept (decoded data has none).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# Below this depth a table of plain values is written inline: `limits = { … }` under
# [forms.lecture] reads as the shipped files do.
_INLINE_FROM_DEPTH = 2


class TomlWriteError(ValueError):
    """A value TOML cannot hold (None, NaN, an object)."""


def dumps(data: Mapping[str, Any], header: str = "") -> str:
    """``data`` as TOML text, ``header`` (one or more lines) as comments on top."""
    out = [f"# {line}".rstrip() for line in header.splitlines()]
    _table(out, data, ())
    return "\n".join(out).strip("\n") + "\n"


def key_text(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def value_text(value: Any, where: str = "") -> str:
    """One TOML value (inline: arrays and tables on one line)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TomlWriteError(f"{where}: not a finite number")
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, datetime):  # before date: a datetime is a date too
        raise TomlWriteError(f"{where}: date-times are not used in these documents")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(value_text(v, where) for v in value) + "]"
    if isinstance(value, Mapping):
        inner = ", ".join(f"{key_text(k)} = {value_text(v, f'{where}.{k}')}"
                          for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    raise TomlWriteError(f"{where}: TOML cannot hold {type(value).__name__}")


def _string(text: str) -> str:
    # JSON's escapes (\" \\ \n \t \uXXXX) are TOML's; DEL is the one control character
    # JSON leaves as it is and TOML does not allow in a basic string.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _plain(value: Mapping[str, Any]) -> bool:
    return all(not isinstance(v, Mapping) and not _tables(v) for v in value.values())


def _tables(value: Any) -> bool:
    """An array of tables (``[[terms]]``)."""
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _table(out: list[str], table: Mapping[str, Any], path: tuple[str, ...]) -> None:
    depth = len(path)
    def written_inline(value: Any) -> bool:
        if isinstance(value, Mapping):
            return depth >= _INLINE_FROM_DEPTH and _plain(value)
        return not _tables(value)

    inline = {k: v for k, v in table.items() if written_inline(v)}
    where = ".".join(path)
    if path and (inline or not any(isinstance(v, Mapping) for v in table.values())):
        out.extend(["", f"[{'.'.join(key_text(p) for p in path)}]"])
    elif not path and inline:
        out.append("")
    for key, value in inline.items():
        out.append(f"{key_text(key)} = {value_text(value, f'{where}.{key}'.lstrip('.'))}")
    for key, value in table.items():
        if key not in inline and isinstance(value, Mapping):
            _table(out, value, (*path, key))
    for key, value in table.items():
        if key not in inline and _tables(value):
            for item in value:
                out.extend(["", f"[[{'.'.join(key_text(p) for p in (*path, key))}]]"])
                for k, v in item.items():
                    out.append(f"{key_text(k)} = {value_text(v, f'{where}.{key}.{k}')}")
