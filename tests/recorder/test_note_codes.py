"""The credits notes' codes (issue 16): every note the engine writes has a stable code
with its params, and the console translates every code in both its languages.

The notes come from the engine itself: the golden fixture holds its output over a
seeded sample of every form and rule (tests/recorder/test_credits_golden.py holds the
engine to it), and the notes that sample lacks are made here by the functions that
write them."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from recorder.credits import engine, texts
from recorder.credits.note_codes import CODES, code_of, with_note_codes
from recorder.credits.outcomes import FORM_WORDS, ordinal
from recorder.credits.rules import compute_session
from tests.recorder.credits_builders import CALENDAR, TRAINING, TUTORING, golden_records

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "recorder" / "fixtures" / "credits_golden.json.gz"
CONSOLE_I18N = {lang: ROOT / "web" / "i18n" / f"console.{lang}.json" for lang in ("zh-CN", "en")}


def _notes(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "notes" and isinstance(item, list):
                yield from item
            else:
                yield from _notes(item)
    elif isinstance(value, list):
        for item in value:
            yield from _notes(item)


def _made_here() -> list[str]:
    """Notes the golden sample happens not to hold, from the code that writes them."""
    lecture = TRAINING.forms["lecture"]
    capped = engine._lecture_points(lecture, 60, 0, 0, 10_000)  # no ratings, many viewers
    pair = TUTORING.forms["one_to_one"]
    assert pair.rating_points_per_hour is not None
    # An operator's policy that pays some rating points without feedback.
    lenient = replace(pair, rating_points_per_hour=replace(
        pair.rating_points_per_hour, without_feedback=Fraction(6)))
    paid_without = engine._pair_points(lenient, 60, 0, 0)
    short = texts.text_problem("好", min_chars=200, min_distinct=20)
    repeated = texts.text_problem("好" * 300, min_chars=200, min_distinct=20)
    assert short is not None and repeated is not None
    return [
        *capped.notes, *paid_without.notes,
        f"feedback {short}: no study hours", f"feedback {repeated}: not valid",
        f"report {short}: no report hour or points",
        f"report {repeated}: no report hour or points",
        "no feedback: no study hours", "feedback before the session started: not valid",
        "feedback for a session with no active time: no study hours",
        "feedback after 7 days: no study hours", "feedback after 36 hours: not valid",
        "no report submitted: no report hour or points",
        "report from a reviewer who did not take part in the discussion: no report hour or "
        "points",
        "report submitted before the session started: no report hour or points",
        "report without a text (a version 1 record): no report hour or points",
        "report after 7 days: no report hour or points",
        "report after 36 hours: no report hour or points",
        # recorder.credits.statement's words past the eighth
        f"{ordinal(9)} {FORM_WORDS['classroom']} this term: no points",
    ]


def _codes(coded: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield coded
    for value in coded["params"].values():
        if isinstance(value, dict):
            yield from _codes(value)


def test_every_note_of_the_engine_has_a_code() -> None:
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as f:
        notes = set(_notes(json.load(f)))
    assert len(notes) > 1000
    notes.update(_made_here())
    seen: set[str] = set()
    for note in sorted(notes):
        coded = code_of(note)
        assert coded["code"] != "text", note
        for part in _codes(coded):
            assert part["code"] in CODES, note
            assert tuple(part["params"]) == CODES[part["code"]], note
            seen.add(part["code"])
    # Every code is one the engine writes (none left over from an older wording).
    assert seen == set(CODES) - {"text"}


@pytest.mark.parametrize(("note", "coded"), [
    ("outside open hours: 12 min", {"code": "outside_open_hours", "params": {"minutes": 12}}),
    ("term cap 5000.00 points: 12.50 points over the cap not paid",
     {"code": "term_cap_cut", "params": {"cap": "5000.00", "cut": "12.50"}}),
    ("feedback needs at least 200 visible characters (has 3): no study hours",
     {"code": "feedback_no_study_hours", "params": {"problem": {
         "code": "problem.feedback_too_short", "params": {"min": 200, "has": 3}}}}),
    ("second lecture this term: no points", {"code": "form_cap", "params": {
        "n": 2, "form": {"code": "form.lecture", "params": {}}}}),
    # Words no pattern knows (a newer engine's) are kept as they are.
    ("a rule of next year: 3 min", {"code": "text", "params": {
        "text": "a rule of next year: 3 min"}}),
    ("gibberish: not valid", {"code": "text", "params": {"text": "gibberish: not valid"}}),
])
def test_codes_and_params(note: str, coded: dict[str, Any]) -> None:
    assert code_of(note) == coded


def test_a_session_result_gets_codes_beside_its_notes() -> None:
    record = next(r for r in golden_records(3, 40, "training")
                  if compute_session(r, TRAINING, CALENDAR)["people"])
    result = compute_session(record, TRAINING, CALENDAR)
    before = json.loads(json.dumps(result))
    with_note_codes(result)
    for pid, person in result["people"].items():
        assert person.pop("note_codes") == [code_of(n) for n in person["notes"]]
        assert person == before["people"][pid]  # everything else as it was


@pytest.mark.parametrize("lang", sorted(CONSOLE_I18N))
def test_the_console_translates_every_code(lang: str) -> None:
    strings = json.loads(CONSOLE_I18N[lang].read_text(encoding="utf-8"))
    for code, params in CODES.items():
        template = strings.get(f"note.{code}")
        assert isinstance(template, str) and template, (lang, code)
        # Every param said, and nothing the code does not give (a bare "{x}" on screen).
        assert set(re.findall(r"\{(\w+)\}", template)) == set(params), (lang, code)
    if lang == "zh-CN":
        assert all(re.search(r"[\u4e00-\u9fff]", strings[f"note.{code}"])
                   for code in CODES if code != "text")
