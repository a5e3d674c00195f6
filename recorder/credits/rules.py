"""Credits engine: effective minutes → study hours (学时/学分), points (积分) and pay.

Implements issue 3 on top of the programmes' published rules (seed 001 section
四(四)(五) for teacher training, seed 000 for student tutoring). Every number is a
field of the :class:`~recorder.credits.policy.Policy`; the formulas are here.

Per session (:func:`compute_session`): the effective set E of the form, clipped to
open hours; effective minutes = floor(total seconds / 60) once, on the total; the
form's limits; per-person minutes, study minutes, review study hours and points
(exact fractions, each person's session total rounded half-up to 2 decimals once,
at the end); pay = rounded points × point value.

Per batch (:func:`recorder.credits.statement.compute_statement`): sessions in start
order (earliest active timestamp of anyone, ties by ``session_id``), with the term caps
applied in that order, summed per person per term (points, pay, sessions) and per calendar year
(学时 = floor(minutes / 45) + review hours, 学分 = min(1, floor(学时 / 20))).

Speed (issue 15, item 4): a statement reads millions of sessions, so an
:class:`Engine` per statement remembers what repeats (validated people, teacher points
per distinct input, open hours and terms per date in the calendar); points stay exact
fractions but are worked out once per distinct (minutes, ratings, viewers), not per
session. tests/recorder/test_credits_golden.py pins the figures to the engine's output
from before these changes.

Choices where the issue is silent (what a district administrator would expect):

- ``counted`` is true when the session's effective time met the form's minimum and is
  not zero; for a review it means the discussion reached 45 min (report hours and
  points do not depend on it).
- ``minutes`` per person: instructors and one_to_one learners get the counted minutes;
  lecture learners their viewing minutes; classroom learners their live minutes inside E
  (never more than the counted minutes); everyone in a review the discussion minutes.
- Two extra keys in each person's result: ``study_hours`` (whole 学时 a review grants
  directly) and, on the session, ``term``. Reductions appear in ``breakdown`` as
  negative parts (``same_school_or_district``, ``term_cap``) so the parts add up.
- Breakdown parts are shown rounded to 2 decimals; the total is rounded once from the
  exact sum, so the shown parts can differ from the total by 0.01.
- Feedback is valid when submitted no earlier than the session's start and at most
  7×24 h after its end (so a learner who submits while the instructor is still online
  is not penalised).
- The school/district rule compares the one_to_one learner with the instructor; in a
  lecture it only makes a learner an ineligible viewer (live and performance parts are
  paid); in a review it compares each reviewer with the learner.
- A session belongs to the term holding its start's local date; if none does but some
  effective time falls in a term, that term. A session in no term is grouped under
  ``"(no term)"`` in the statement.
- The session caps count only sessions that would earn points (> 0 after rounding); the
  tutoring cap works on rounded points, so its cut is exact to the fen.
- The 学时 year is the local year of the session's start, as the issue says, also for
  replay minutes watched in a later year.
- In the statement, ``sessions`` counts every session of that term the person took part
  in, paid or not; ``years`` is empty for a programme without study hours (tutoring).
- A review's report hour and report points do not depend on open hours or the term (the
  issue grants them for a submitted report); only the discussion is clipped.
"""

from __future__ import annotations

from typing import Any

from recorder.credits.calendar import Calendar
from recorder.credits.engine import Engine, check_policy
from recorder.credits.outcomes import (
    FORM_WORDS,
    NO_TERM,
    US_PER_MINUTE,
    ZERO,
    PersonOutcome,
    SessionOutcome,
    SessionSets,
    fmt2,
    minutes_of,
    ordinal,
    round_half_up,
    session_sets,
)
from recorder.credits.policy import Policy

# The rules' public names, whichever module of the package computes them.
__all__ = [
    "FORM_WORDS", "NO_TERM", "US_PER_MINUTE", "ZERO", "Engine", "PersonOutcome",
    "SessionOutcome", "SessionSets", "check_policy", "compute_session", "evaluate", "fmt2",
    "minutes_of", "ordinal", "round_half_up", "session_sets",
]


def evaluate(record: object, policy: Policy, calendar: Calendar) -> SessionOutcome:
    """Compute one session's figures (no term caps: those need the whole term)."""
    return Engine(policy, calendar).evaluate(record)


def compute_session(record: object, policy: Policy, calendar: Calendar) -> dict[str, Any]:
    """One session's result as a plain JSON-serialisable dict (term caps not applied).

    ``record`` is a decoded JSON object (validated here) or a parsed
    :class:`~recorder.credits.records.SessionRecord`. Raises :class:`RecordError` on bad input.
    """
    return evaluate(record, policy, calendar).to_json()
