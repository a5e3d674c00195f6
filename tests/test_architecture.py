"""The import rules of docs/architecture.md, checked on the code: each package imports
only what its layer may, and the pure modules import nothing but the standard library
(and each other). A small AST walk; no third-party checker needed."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Package → what it may import from the project (itself always). Longest prefix wins.
ALLOWED: dict[str, set[str]] = {
    "recorder.credits": set(),
    "recorder.database": set(),
    "recorder.sqlite_thread": {"recorder.database"},
    "recorder.postgres": {"recorder.database"},
    "recorder.small_postgres": {"recorder.database", "recorder.postgres"},
    "rtc.clock": set(),
    "rtc": {"rtc.clock"},
    # The database modules: for the journal on PostgreSQL (issue 11), next.
    "recorder.presence": {"rtc.clock", "recorder.database", "recorder.postgres"},
    "recorder.media": {"recorder.credits", "recorder.sqlite_thread", "rtc.clock",
                       "recorder.database", "recorder.postgres"},
    # Issue 16: term statements (figures and codes pure), their sheets, the PDF certificate
    # and the issued certificates' table.
    "recorder.certificates": {"recorder.credits", "recorder.sqlite_thread", "recorder.database",
                              "recorder.postgres", "recorder.small_postgres"},
    "signaling.session": {"rtc", "rtc.clock", "recorder.presence", "recorder.media",
                          "recorder.credits"},
    "signaling.store": {"signaling.session", "recorder.sqlite_thread", "recorder.database",
                        "recorder.postgres"},
    "signaling.router": {"signaling.session", "signaling.store"},
    "signaling.admin": {"signaling.store", "recorder.sqlite_thread", "recorder.database",
                        "recorder.postgres", "recorder.small_postgres"},
    "signaling.server": {"signaling.session", "signaling.store", "signaling.router",
                         "signaling.admin", "rtc",
                         "rtc.clock", "recorder.credits", "recorder.presence",
                         "recorder.media", "recorder.sqlite_thread", "recorder.database",
                         "recorder.postgres", "recorder.certificates", "signaling",
                         "signaling.oncall", "signaling.booking", "signaling.qa",
                         "signaling.microlessons"},
    # Issue 14, on-demand tutoring: its doors and I/O sit beside the server's (its token
    # checks, the settings accessor, the session code POST /api/v1/sessions uses).
    "signaling.oncall": {"signaling.server", "signaling.session", "signaling.router",
                         "rtc.clock", "recorder.credits", "recorder.database",
                         "recorder.sqlite_thread", "recorder.postgres", "recorder.small_postgres"},
    # Issue 14, the Q&A centre: its doors beside the server's (passes, signed URLs, bodies).
    "signaling.qa": {"signaling.server", "signaling.session", "signaling.oncall",
                     "recorder.credits", "recorder.database", "recorder.sqlite_thread",
                     "recorder.postgres", "recorder.small_postgres"},
    # Issue 14, booking: its doors and I/O beside the server's (token checks, the settings
    # accessor, the session store POST /api/v1/sessions uses).
    "signaling.booking": {"signaling.server", "signaling.session", "rtc.clock",
                          "recorder.credits", "recorder.database", "recorder.sqlite_thread",
                          "recorder.postgres"},
    # Issue 14, micro-lessons: beside the server (passes, signed links, the recordings
    # and session store it publishes from); the watching rule and the lessons' rules pure.
    "signaling.microlessons": {"signaling.server", "signaling.session", "signaling.oncall",
                               "recorder.credits", "recorder.database", "recorder.sqlite_thread",
                               "recorder.postgres", "recorder.small_postgres"},
    "signaling": set(),  # the package's own __init__
    "recorder": set(),
}

# Pure modules: no I/O, standard library only (plus the pure modules named here).
PURE = {
    "recorder.credits": set(),  # the whole package
    "recorder.presence.tracker": set(),
    "recorder.presence.evidence": set(),
    "rtc.payloads": set(),
    "rtc.rtp_munger": {"rtc.payloads"},
    "signaling.session.whiteboard": set(),
    "signaling.session.roles": {"signaling.session.spec", "signaling.session.schema"},
    "signaling.session.ratelimit": set(),
    "signaling.session.roster": set(),
    "signaling.session.outbound": set(),
    "signaling.session.timefmt": set(),
    "signaling.admin.scope": set(),
    "recorder.certificates.figures": {"recorder.credits"},
    "recorder.certificates.codes": set(),
    "signaling.store.session_query": set(),
    "signaling.oncall.calls": set(),
    "signaling.oncall.matching": set(),
    "signaling.oncall.hours": {"recorder.credits"},
    "signaling.microlessons.watching": set(),
    "signaling.microlessons.lessons": set(),
    "signaling.booking.rules": set(),
    "signaling.qa.rules": {"recorder.credits"},
}
PROJECT = ("rtc", "signaling", "recorder", "bench", "tests")
# I/O modules a pure module must not touch even though they are standard library.
IO_MODULES = {"socket", "asyncio", "sqlite3", "subprocess", "threading", "os", "io", "shutil",
              "urllib", "http", "ssl", "select", "selectors", "multiprocessing"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Absolute names of what ``path`` imports (relative imports resolved)."""
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                prefix = ".".join(base)
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            found.add(target)
            for alias in node.names:  # from pkg import module
                found.add(f"{target}.{alias.name}")
    return found


def owner(name: str, table: dict[str, set[str]]) -> str | None:
    best = None
    for key in table:
        if (name == key or name.startswith(key + ".")) and (best is None or len(key) > len(best)):
            best = key
    return best


def project_modules() -> list[Path]:
    return sorted(p for pkg in ("rtc", "signaling", "recorder") for p in (ROOT / pkg).rglob("*.py"))


def existing(name: str) -> bool:
    """Whether ``name`` is a module or package of the project (not a name in one)."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


@pytest.mark.parametrize("path", project_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_layers(path: Path) -> None:
    me = module_name(path)
    mine = owner(me, ALLOWED)
    assert mine is not None, f"{me} belongs to no package of docs/architecture.md"
    may = ALLOWED[mine] | {mine}
    for name in imports(path):
        if name.split(".")[0] not in PROJECT or not existing(name):
            continue
        assert name.split(".")[0] not in ("bench", "tests"), f"{me} imports {name}"
        theirs = owner(name, ALLOWED)
        assert theirs in may, f"{me} ({mine}) may not import {name} ({theirs})"


@pytest.mark.parametrize("path", [p for p in project_modules()
                                  if owner(module_name(p), PURE) is not None],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_pure_modules_import_only_the_standard_library(path: Path) -> None:
    me = module_name(path)
    key = owner(me, PURE)
    assert key is not None
    may = PURE[key] | {key}
    for name in imports(path):
        top = name.split(".")[0]
        if top in PROJECT:
            if existing(name):
                assert owner(name, PURE) in may or name in may, f"{me} imports {name}"
            continue
        assert top in sys.stdlib_module_names, f"pure {me} imports {name}"
        assert top not in IO_MODULES, f"pure {me} imports {name} (I/O)"


# aiortc's private names we rely on (rtc/forward.py lists and explains each one).
AIORTC_PRIVATE = re.compile(
    r"^_(RTC\w+__\w+|codecs|ssrc|rtx_ssrc|tx_srtp|connection|nominated|send_rtcp_pli|"
    r"handle_rtp_packet|handle_rtcp_packet|rtp_router|send_keyframe)$"
)


def test_aiortc_internals_are_touched_in_forward_py_only() -> None:
    offenders = []
    for path in sorted((ROOT / "rtc").glob("*.py")):
        if path.name == "forward.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            attr = getattr(node, "attr", None) if isinstance(node, ast.Attribute) else None
            if attr is None and isinstance(node, ast.Call) and \
                    getattr(node.func, "id", None) == "getattr" and len(node.args) >= 2 and \
                    isinstance(node.args[1], ast.Constant):
                attr = node.args[1].value
            owner_name = getattr(getattr(node, "value", None), "id", None)
            if isinstance(attr, str) and AIORTC_PRIVATE.match(attr) and owner_name != "self":
                offenders.append(f"{path.name}:{node.lineno} {attr}")
    assert not offenders, offenders
