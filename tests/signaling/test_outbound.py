"""Outbound events are named in one place (``signaling/session/outbound.py``): the protocol
document's table is generated from it, and the server emits no name that is not there."""

from __future__ import annotations

import ast
from pathlib import Path

import signaling
from signaling.oncall.outbound import OncallOut
from signaling.session import outbound
from signaling.session.outbound import Out

SIGNALING = Path(signaling.__file__).resolve().parent  # every package of signaling/


def test_the_protocol_document_is_generated_from_the_table() -> None:
    document = outbound.DOC.read_text(encoding="utf-8")
    assert outbound.with_table(document) == document, (
        "docs/protocol.md is stale: run python -m signaling.session.outbound --write"
    )


def emitted_names() -> list[tuple[str, object]]:
    """(file, event argument) of every ``….emit(…)``/``….broadcast(…)`` in signaling/
    whose event is a literal string or an ``Out.X`` attribute."""
    found: list[tuple[str, object]] = []
    for path in SIGNALING.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            args = node.args
            if node.func.attr == "emit" and args:
                event = args[0]
            elif node.func.attr == "broadcast" and len(args) >= 2:
                event = args[1]
            else:
                continue
            if isinstance(event, ast.Constant):
                found.append((path.name, event.value))
            elif isinstance(event, ast.Attribute) and isinstance(event.value, ast.Name) \
                    and event.value.id in ("Out", "OncallOut"):
                table = Out if event.value.id == "Out" else OncallOut
                found.append((path.name, table[event.attr]))
    return found


def test_every_emitted_name_is_in_the_table() -> None:
    names = emitted_names()
    assert names, "the scan found no emits at all"
    unknown = [(f, n) for f, n in names if n not in set(Out) and n not in set(OncallOut)]
    assert not unknown, ("events sent but not in signaling/session/outbound.py (or, for "
                         f"/oncall, signaling/oncall/outbound.py): {unknown}")
    assert set(outbound.EVENTS) == set(Out)


def test_every_name_in_the_table_is_sent() -> None:
    sent = {n for _, n in emitted_names()}
    assert set(Out) - sent == set(), "documented events the server never sends"
