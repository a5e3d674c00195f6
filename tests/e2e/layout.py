"""Layout checks for the browser tests (issue 12, item 1), one call per page state:

* no sideways scroll, and with ``one_screen`` no page scroll at all (the room on a
  phone: panes scroll inside, the page does not);
* no two visible boxes overlap — text lines (each line box of each text node) and
  touch targets — unless one holds the other in the document (a label in its button);
* nothing visible is under something else: the middle of every visible text and target
  is hit by itself (not by a fixed bar, a picture-in-picture, a sheet); boxes clipped
  away by a scrolling pane are not visible and not checked;
* every touch target is at least ``min_target`` px both ways (44 on touch screens;
  a checkbox or radio is measured by the label around it);
* every visible text node, and every visible placeholder, is a value of the chosen
  language's dictionary (``web/i18n/<lang>.json``; ``{name}`` markers match anything),
  or user content passed in ``user`` (names, titles, messages; their first letters are
  the avatars' initials), or a number or clock, or such pieces joined by the separators
  the page uses (" · ", brackets). A raw key, a word of the other language or a string
  written into the code is reported.

While a modal dialog is open only what is in it is checked (the rest is behind its
backdrop on purpose). Toasts (``.toasts``: short notices over the page, never tapped)
are left out. ``layout_problems`` returns the problems as sentences; ``check_layout``
fails the test with all of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from playwright.async_api import Page

WEB = Path(__file__).resolve().parents[2] / "web"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"
SHOTS = Path("/tmp/shots")
IGNORED = (".toasts",)
SEPARATORS = r"(?:\s*·\s*|\s*[（(]\s*|\s*[）)]\s*|\s+)"
NUMERIC = re.compile(r"^[\d\s:：+%/.,\-–]+$")

# The page side: tests/e2e/layout_collect.js, a function for Playwright to evaluate (its
# heading comment left out: Playwright tells a function by how the text begins).
_COLLECT = "\n".join(
    line for line in (Path(__file__).parent / "layout_collect.js").read_text("utf-8").splitlines()
    if not line.startswith("//")
)


@cache
def dictionary(lang: str) -> tuple[str, ...]:
    data: dict[str, str] = json.loads((WEB / "i18n" / f"{lang}.json").read_text("utf-8"))
    return tuple(" ".join(v.split()) for v in data.values())


def _piece(template: str) -> str:
    """A dictionary value as a pattern: ``{name}`` markers match any text."""
    parts = re.split(r"\{\w+\}", template)
    return ".+?".join(re.escape(p) for p in parts)


@cache
def _matcher(lang: str, user: tuple[str, ...]) -> re.Pattern[str]:
    words = [v for v in dictionary(lang) if re.sub(r"\{\w+\}|\W", "", v)]  # not bare markers
    pieces = sorted({_piece(v) for v in words} | {re.escape(u) for u in user}, key=len,
                    reverse=True)
    one = "(?:" + "|".join(pieces) + r"|[\d:：+%/.,\-–]+)"
    return re.compile(rf"^\s*[（(]?{one}(?:{SEPARATORS}{one})*[）)]?\s*$")


def wording_problem(text: str, lang: str, user: Iterable[str] = ()) -> str | None:
    """Why ``text`` is not from the dictionary of ``lang`` nor user content, or None."""
    plain = " ".join(text.split())
    names = tuple(sorted({u for u in user if u} | {u[0] for u in user if u}))
    if plain in dictionary(lang) or plain in names or NUMERIC.match(plain):
        return None
    if _matcher(lang, names).match(plain):
        return None
    return f"not in the {lang} dictionary nor user content: {plain!r}"


def _overlap(a: dict[str, float], b: dict[str, float], slack: float = 1.0) -> bool:
    return (min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"]) > slack
            and min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"]) > slack)


async def layout_problems(
    page: Page,
    *,
    lang: str,
    user: Sequence[str] = (),
    min_target: int = 44,
    one_screen: bool = False,
    ignored: Sequence[str] = IGNORED,
) -> list[str]:
    """Every problem of the page as it is now (see the module's docstring)."""
    got: dict[str, Any] = await page.evaluate(_COLLECT, {"ignored": list(ignored)})
    problems: list[str] = []
    if got["scrollW"] > got["vw"] + 1:
        problems.append(f"the page scrolls sideways: {got['scrollW']} > {got['vw']} px")
    if one_screen and not got["dialog"] and got["scrollH"] > got["vh"] + 1:
        problems.append(f"the page is taller than the screen: {got['scrollH']} > {got['vh']} px")
    for t in got["texts"]:
        if (why := wording_problem(t["text"], lang, user)) is not None:
            problems.append(f"{t['name']}: {why}")
        if t["covered"]:
            problems.append(f"{t['name']} {t['text'][:40]!r} is under {t['covered']}")
    for g in got["targets"]:
        b = g["box"]
        if b["w"] + 0.5 < min_target or b["h"] + 0.5 < min_target:
            size = f"{b['w']:.0f}×{b['h']:.0f}"
            problems.append(f"touch target {g['name']} {g['text']!r} is {size} px (< {min_target})")
        if g["covered"]:
            problems.append(f"{g['name']} {g['text']!r} is under {g['covered']}")
        # Cut by the screen's edge itself (not by a pane that scrolls sideways).
        part = g.get("part") or b
        if (b["x"] < -1 and part["x"] < 1) or (
                b["x"] + b["w"] > got["vw"] + 1 and part["x"] + part["w"] > got["vw"] - 1):
            problems.append(f"touch target {g['name']} {g['text']!r} goes past the screen's side")
    # Overlaps: text lines and targets, unless one element holds the other.
    holds: list[list[int]] = got["holds"]
    boxes = [(t["el"], line, f"{t['name']} {t['text'][:30]!r}") for t in got["texts"]
             for line in t["lines"]]
    # A target partly scrolled out of its pane overlaps nothing with the part not shown.
    boxes += [(g["el"], g.get("part") or g["box"], f"{g['name']} {g['text'][:30]!r}")
              for g in got["targets"]]
    seen: set[tuple[str, str]] = set()
    for i, (ea, a, na) in enumerate(boxes):
        for eb, b, nb in boxes[i + 1:]:
            if ea == eb or eb in holds[ea] or ea in holds[eb] or not _overlap(a, b):
                continue
            if (na, nb) not in seen:
                seen.add((na, nb))
                problems.append(f"overlap: {na} and {nb}")
    return problems


async def check_layout(page: Page, **options: Any) -> None:
    problems = await layout_problems(page, **options)
    assert not problems, "layout problems:\n  " + "\n  ".join(problems)


async def shot(page: Page, name: str) -> None:
    """The page as it is, kept as a test artefact (test-artifacts/e2e/layout-NAME.png) and
    copied to /tmp/shots/ (Playwright makes the folders)."""
    for folder in (ARTIFACTS, SHOTS):
        await page.screenshot(path=str(folder / f"layout-{name}.png"))

