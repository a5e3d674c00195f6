"""Credits engine: effective minutes → study hours (学时/学分), points (积分) and pay.

Implements issue 3 on top of the programmes' published rules (seed 001 section
四(四)(五) for teacher training, seed 000 for student tutoring). Every number is a
field of the :class:`~recorder.credits.policy.Policy`; the formulas are here.

Per session (:func:`compute_session`): the effective set E of the form, clipped to
open hours; effective minutes = floor(total seconds / 60) once, on the total; the
form's limits; per-person minutes, study minutes, review study hours and points
(exact fractions, each person's session total rounded half-up to 2 decimals once,
at the end); pay = rounded points × point value.

Issue 9 (minutes that prove teaching): the effective set of each form comes from the
record's media evidence (:mod:`recorder.credits.evidence_rules`); feedback and review
reports count visible characters and need distinct ones (:mod:`recorder.credits.texts`)
within the one window anchored on the session's end; same school / same district
compare codes (:mod:`recorder.credits.places`); and a person is in one place at a time.

Per batch (:func:`recorder.credits.statement.compute_statement`): sessions in order of
effective start (ties by ``session_id``); for each person the time an earlier session
already credited them is removed; the term caps apply in that order, and the figures are
summed per person per term (points, pay, sessions) and per calendar year
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

Issue 9, choices where the issue is silent:

- *Basis.* A record with ``publishing`` (even ``{}``) is on the evidence basis; without
  it, on the presence basis, where publishing, receiving and voiced are the ``active``
  sets: one_to_one and review compute exactly as before, lectures and classrooms get the
  viewer rule (new for everyone). Every outcome says ``"basis"``; a presence-basis one
  also carries the note "no media evidence in the record: computed from presence".
- *Evidence within presence.* Every evidence set is intersected with the person's
  ``active`` set, so evidence can only take time away, never add it.
- *lecture / classroom.* E = instructor publishing ∩ (at least ``min_viewers`` learners
  receiving at the same instant), a sweep over the learners' receiving sets. A learner's
  live (watched) time is their receiving set ∩ E; replay is unchanged but counts only
  from the lecture's effective start (a recording cannot be watched before the lecture).
- *one_to_one.* E = instructor active ∩ learner active ∩ (instructor publishing ∪
  conversation); conversation = the union of both people's ``voiced`` intervals, each
  extended by ``conversation_window_s`` at its end ("voice from either side within the
  last N seconds").
- *review.* E = learner active ∩ every reviewer active (as before) ∩ the conversation of
  everyone's ``voiced`` intervals, extended the same way: some voice, from anyone, within
  the window. A discussion nobody speaks in earns no discussion hour or points.
- *Notes.* What the evidence rules removed is noted in whole minutes, after presence and
  before open hours: "instructor not publishing: N min", "fewer than 1 learner receiving:
  N min", "instructor not publishing and no conversation: N min", "no one voiced in the
  discussion: N min".
- *The window.* Feedback and reports are valid from the session's start to the window's
  end: ``started_at`` and ``ended_at`` as the record states them, else its first and
  last active instant (:func:`recorder.credits.texts.in_window`, the function REST uses).
- *Reports.* A report counts only from a reviewer whose active set meets the review's
  raw discussion set (before open hours), submitted no earlier than the start and within
  the window, with a text passing ``[reports]`` min_chars and min_distinct_chars. A
  version 1 report (no ``text``) does not count; every note gives the reason.
- *Places.* A person's school and district are compared by code; where a side has none
  its name is normalised (:mod:`recorder.credits.places`); an unknown side is never
  "same". A comparison that used a name adds "compared by name (no codes): …" (in a
  lecture one note counting the learners compared by name).
- *One place at a time.* What a session credits a person is: the counted set for
  instructors, one_to_one learners and everyone in a review; a lecture learner's live
  set ∩ E plus their replay in open hours; a classroom learner's receiving set ∩ E. In
  the statement the part of it an earlier session (by effective start, ties by
  ``session_id``; a session without effective time at its record start) credited them
  is removed, after the form's minimum and maximum; minutes are whole minutes of what
  remains, the teacher's points are worked out on those minutes, a lecture's viewer count
  uses the learners' remaining viewing. A review's discussion is not paid per hour, so
  for a person whose remaining discussion falls below the minimum it earns no discussion
  hour or points. The person's note gives the whole minutes lost; the statement's
  ``overlaps`` list each overlap (person, session, earlier session, minutes and seconds
  of the overlap itself). ``compute_session`` of one session is unaffected.
- *Marks* (seed 000, tutoring) are shown, never computed with: each session outcome has
  a ``marks`` list and the statement a ``marks`` map by session.
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
