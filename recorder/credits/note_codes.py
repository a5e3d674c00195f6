"""Stable codes for the credits engine's notes, so the console can say them in the
reader's language (issue 16): each English note → ``{"code", "params"}``.

The engine writes its notes as English text on purpose: it is the hot path of a
statement (:data:`recorder.credits.outcomes.NO_NOTES`), its outputs are pinned by the
golden tests, and the text stays the API's ``notes`` for compatibility. So the codes
are read back from the text here, once per note of one session on its way out
(``GET /sessions/{id}/credits``), never per session of a statement.

A code names a note's kind (``outside_open_hours``); its params are the numbers and
names in it (``{"minutes": 12}``). A param may itself be coded (a feedback's problem,
a report's reason, a form): the console translates it first. A note no pattern knows
(a newer engine's) is ``{"code": "text", "params": {"text": note}}``, shown as written.
:data:`CODES` lists every code with its params; tests/recorder/test_note_codes.py
checks every note the engine writes over the golden records has a code other than
``text``, and that both console languages translate every code. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from recorder.credits.outcomes import FORM_WORDS

Coded = dict[str, Any]  # {"code": str, "params": {name: int | str | Coded}}
Parse = Callable[[str], Coded | None]

_NUM = r"(\d+)"
_POINTS = r"(-?\d+\.\d\d)"
_ORDINAL_WORDS = {w: n for n, w in enumerate(
    ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"), 1)}
_FORMS_BY_WORDS = {words: form for form, words in FORM_WORDS.items()}


def _table(rows: list[tuple[str, str, tuple[str, ...]]]
           ) -> list[tuple[str, re.Pattern[str], tuple[str, ...]]]:
    return [(code, re.compile(pattern), params) for code, pattern, params in rows]


def _typed(name: str, value: str) -> int | str:
    # Counts and minutes are whole numbers; points ("6.00") stay text, as in ``points``.
    return int(value) if value.isdigit() and name not in ("points", "cap", "cut") else value


def _match(table: list[tuple[str, re.Pattern[str], tuple[str, ...]]], text: str
           ) -> Coded | None:
    for code, pattern, names in table:
        found = pattern.fullmatch(text)
        if found is not None:
            return {"code": code, "params": {
                name: _typed(name, value) for name, value in zip(names, found.groups(),
                                                                  strict=True)}}
    return None


def _text_problem(prefix: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """A feedback's or a report's text that does not count (recorder.credits.texts)."""
    return [
        (f"problem.{prefix}_too_short",
         rf"{prefix} needs at least {_NUM} visible characters \(has {_NUM}\)", ("min", "has")),
        (f"problem.{prefix}_too_repetitive",
         rf"{prefix} needs at least {_NUM} different characters \(has {_NUM}\): a repeated "
         "character is not a text", ("min", "has")),
        (f"problem.{prefix}_late_days", rf"{prefix} after {_NUM} days", ("days",)),
        (f"problem.{prefix}_late_hours", rf"{prefix} after {_NUM} hours", ("hours",)),
    ]


# recorder.credits.checks.feedback_problem
_FEEDBACK = _table([
    ("problem.no_feedback", r"no feedback", ()),
    ("problem.feedback_no_active_time", r"feedback for a session with no active time", ()),
    ("problem.feedback_before_start", r"feedback before the session started", ()),
    *_text_problem("feedback"),
])
# recorder.credits.checks.report_problem
_REPORT = _table([
    ("problem.no_report", r"no report submitted", ()),
    ("problem.report_not_in_discussion",
     r"report from a reviewer who did not take part in the discussion", ()),
    ("problem.report_before_start", r"report submitted before the session started", ()),
    ("problem.report_no_text", r"report without a text \(a version 1 record\)", ()),
    *_text_problem("report"),
])
# Notes of one piece: recorder.credits.engine, evidence_rules, statement (term caps).
_WHOLE = _table([
    ("no_media_evidence", r"no media evidence in the record: computed from presence", ()),
    ("no_active_time", r"no active time recorded: not counted", ()),
    ("not_both_present", rf"instructor and learner not both present: {_NUM} min", ("minutes",)),
    ("not_all_present", rf"learner and all reviewers not all present: {_NUM} min",
     ("minutes",)),
    ("no_publishing_no_conversation",
     rf"instructor not publishing and no conversation: {_NUM} min", ("minutes",)),
    ("no_one_voiced", rf"no one voiced in the discussion: {_NUM} min", ("minutes",)),
    ("instructor_not_publishing", rf"instructor not publishing: {_NUM} min", ("minutes",)),
    ("too_few_receiving", rf"fewer than {_NUM} learners? receiving: {_NUM} min",
     ("viewers", "minutes")),
    ("outside_open_hours", rf"outside open hours: {_NUM} min", ("minutes",)),
    ("replay_outside_open_hours", rf"replay outside open hours: {_NUM} min", ("minutes",)),
    ("discussion_below_minimum",
     rf"discussion below minimum {_NUM} min: no discussion hours or points", ("min",)),
    ("discussion_below_minimum_after_overlap",
     rf"discussion below minimum {_NUM} min once time already credited is removed: "
     "no discussion hours or points", ("min",)),
    ("below_minimum", rf"below minimum {_NUM} min: not counted", ("min",)),
    ("no_effective_time", r"no effective time: not counted", ()),
    ("above_maximum", rf"above maximum {_NUM} min: {_NUM} min not counted",
     ("max", "minutes")),
    ("no_feedback_no_rating_points", r"no valid feedback: no rating points", ()),
    ("no_feedback_rating_at", rf"no valid feedback: rating at {_POINTS} points per hour",
     ("points",)),
    ("no_feedback_performance_at",
     rf"no valid feedback: performance at {_POINTS} points per hour", ("points",)),
    ("viewer_points_capped", rf"{_NUM} viewers: viewer points capped at {_NUM} per hour",
     ("viewers", "cap")),
    ("already_credited",
     rf"already credited by an earlier session at the same time: {_NUM} min", ("minutes",)),
    ("viewing_above_lecture",
     rf"viewing above the lecture's {_NUM} counted min: {_NUM} min not counted",
     ("counted", "minutes")),
    ("same_school_and_district", r"same school and district: no points", ()),
    ("same_school", r"same school: no points", ()),
    ("same_district", r"same district: no points", ()),
    ("same_place_viewers",
     rf"same school or district: {_NUM} learner\(s\) not counted as viewers", ("count",)),
    ("compared_by_name_learners",
     rf"compared by name \(no codes\): school or district of {_NUM} learner\(s\)", ("count",)),
    # The names compared are the records' own words: kept as they are.
    ("compared_by_name", r"compared by name \(no codes\): (.+)", ("detail",)),
    ("no_reviewer_report", r"no reviewer submitted a report: no report hour", ()),
    ("no_report_counted", r"no report counted: no report hour", ()),
    ("term_cap_reached", rf"term cap {_POINTS} points reached: no points", ("cap",)),
    ("term_cap_cut", rf"term cap {_POINTS} points: {_POINTS} points over the cap not paid",
     ("cap", "cut")),
])
# Notes of two pieces: the second part is coded on its own.
_FEEDBACK_NOTE = re.compile(r"(.+): (no study hours|not valid)")
_REPORT_NOTE = re.compile(r"(.+): no report hour or points")
_FORM_CAP = re.compile(r"(\w+) (.+) this term: no points")


def code_of(note: str) -> Coded:
    """The code and params of one note (``text`` when no pattern knows it)."""
    found = _match(_WHOLE, note)
    if found is not None:
        return found
    two = _FEEDBACK_NOTE.fullmatch(note)
    if two is not None:
        problem = _match(_FEEDBACK, two.group(1))
        if problem is not None:
            code = "feedback_no_study_hours" if two.group(2) == "no study hours" else (
                "feedback_not_valid")
            return {"code": code, "params": {"problem": problem}}
    two = _REPORT_NOTE.fullmatch(note)
    if two is not None:
        reason = _match(_REPORT, two.group(1))
        if reason is not None:
            return {"code": "report_not_counted", "params": {"reason": reason}}
    two = _FORM_CAP.fullmatch(note)
    if two is not None:
        nth, words = two.groups()
        n = _ORDINAL_WORDS.get(nth) or (int(nth[:-2]) if re.fullmatch(r"\d+th", nth) else 0)
        form = _FORMS_BY_WORDS.get(words)
        if n and form is not None:
            return {"code": "form_cap", "params": {
                "n": n, "form": {"code": f"form.{form}", "params": {}}}}
    return {"code": "text", "params": {"text": note}}


def with_note_codes(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` (a :func:`recorder.credits.rules.compute_session` result) with each
    person's ``note_codes`` beside their ``notes``, one for one; changed in place."""
    for person in result.get("people", {}).values():
        person["note_codes"] = [code_of(note) for note in person.get("notes", ())]
    return result


# Every code :func:`code_of` gives, with its params (a coded param's codes are here too).
CODES: dict[str, tuple[str, ...]] = {
    **{code: names for code, _, names in (*_WHOLE, *_FEEDBACK, *_REPORT)},
    "feedback_no_study_hours": ("problem",),
    "feedback_not_valid": ("problem",),
    "report_not_counted": ("reason",),
    "form_cap": ("n", "form"),
    **{f"form.{form}": () for form in FORM_WORDS},
    "text": ("text",),
}
