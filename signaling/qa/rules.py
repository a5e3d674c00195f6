"""The Q&A centre's rules (问答中心, issue 14 item 5), pure: its policy numbers, a
question's states, who may do what, and what an accepted answer earns.

States: ``open`` (posted, no answer yet) → ``answered`` (at least one answer) →
``solved`` (the student marked it solved, accepting one answer or none). An open or
answered question ``auto_close_days`` after it was posted is ``closed``: derived from
the clock (:func:`state_at`), so no sweeper has to run for it to hold.

Pay (the policy's ``[qa]`` table): a teacher earns ``points_per_accepted_answer`` for
each of their answers the student accepted, if the answer's text has at least
``min_answer_chars`` visible characters of which ``min_answer_distinct`` differ (the
feedback rules of :mod:`recorder.credits.texts`), or, with ``media_answer_counts``,
it carries a photo or a voice note. At most ``max_paid_answers_per_day`` such answers
count per local day (accepted that day) and the term's Q&A points stop at
``points_per_term``. Only teachers answer (a student's pass cannot), and a student
accepts only answers to their own question: everything counted is what the server
stored, never a client's claim.

Standard library and the pure :mod:`recorder.credits.texts` only; times are epoch
seconds passed in (tests use a fake clock).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Any

from recorder.credits.texts import text_counts, visible_chars

DAY_S = 86_400
LIVE = ("open", "answered")  # states in which a question takes answers


class QaPolicyError(ValueError):
    """The ``[qa]`` table is malformed; the message names the field."""


@dataclass(frozen=True)
class QaPolicy:
    """Every number of the Q&A centre (``[qa]`` in the tutoring policy TOML)."""

    max_question_chars: int = 1000  # characters of a question's text (as typed)
    max_answer_chars: int = 3000
    max_photos: int = 4  # per question and per answer
    max_photo_bytes: int = 4 * 1024 * 1024  # the page sends ≤1600 px JPEGs (~300 KiB)
    max_voice_bytes: int = 1024 * 1024  # ~4 minutes of Opus at 32 kbit/s
    max_voice_seconds: int = 120  # the recorder stops itself here
    max_open_per_student: int = 5  # open or answered, not yet solved or closed
    max_answers_per_question: int = 5
    auto_close_days: int = 7
    points_per_accepted_answer: Fraction = Fraction(2)
    min_answer_chars: int = 20
    min_answer_distinct: int = 8
    media_answer_counts: bool = True
    max_paid_answers_per_day: int = 20
    points_per_term: Fraction = Fraction(1000)

    def wire(self) -> dict[str, Any]:
        return {f.name: (float(v) if isinstance(v := getattr(self, f.name), Fraction) else v)
                for f in fields(self)}


def parse_qa(data: Mapping[str, Any]) -> QaPolicy:
    """The ``[qa]`` table of a decoded policy TOML (absent: the defaults)."""
    raw = data.get("qa", {})
    if not isinstance(raw, Mapping):
        raise QaPolicyError("qa: must be a table")
    default, values = QaPolicy(), {}
    for f in fields(QaPolicy):
        if f.name not in raw:
            continue
        value, now = raw[f.name], getattr(default, f.name)
        if isinstance(now, bool):
            if not isinstance(value, bool):
                raise QaPolicyError(f"qa.{f.name}: must be true or false")
        elif isinstance(now, Fraction):
            value = _fraction(value, f.name)
        elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise QaPolicyError(f"qa.{f.name}: must be a whole number of at least 1")
        values[f.name] = value
    for key in raw:
        if key not in {f.name for f in fields(QaPolicy)}:
            raise QaPolicyError(f"qa.{key}: not a number of the Q&A centre")
    out = QaPolicy(**values)
    if out.min_answer_distinct > out.min_answer_chars:
        raise QaPolicyError("qa.min_answer_distinct: at most min_answer_chars")
    return out


def _fraction(value: Any, name: str) -> Fraction:
    try:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        out = Fraction(str(value))
    except (ValueError, ZeroDivisionError):
        raise QaPolicyError(f"qa.{name}: must be a number") from None
    if out < 0:
        raise QaPolicyError(f"qa.{name}: must not be negative")
    return out


class Refused(Exception):
    """What a person asked for is not allowed; ``code`` for the page, ``field`` if a
    field is at fault, ``status`` the HTTP status to answer with."""

    def __init__(self, code: str, message: str, field: str = "", status: int = 409) -> None:
        super().__init__(message)
        self.code, self.message, self.field, self.status = code, message, field, status


@dataclass(frozen=True)
class Question:
    id: str
    student: str
    student_name: str
    school: str
    grade: str
    subject: str
    text: str
    posted_at: float
    state: str  # as stored: open, answered or solved
    solved_at: float | None = None
    accepted: str | None = None  # the accepted answer's id


@dataclass(frozen=True)
class Answer:
    id: str
    question: str
    teacher: str
    teacher_name: str
    school: str
    text: str
    answered_at: float
    accepted_at: float | None = None


def state_at(q: Question, policy: QaPolicy, now: float) -> str:
    """The state a person sees at ``now``: an unsolved question past its days is closed."""
    if q.state in LIVE and now >= closes_at(q, policy):
        return "closed"
    return q.state


def closes_at(q: Question, policy: QaPolicy) -> float:
    return q.posted_at + policy.auto_close_days * DAY_S


def check_text(text: str, *, limit: int, media: int, what: str) -> None:
    """A post says something: visible text or a photo/voice note; and not too long."""
    if len(text) > limit:
        raise Refused("too_long", f"{what} may be at most {limit} characters "
                      f"(has {len(text)})", "text", 413)
    if media == 0 and visible_chars(text) == 0:
        raise Refused("empty", f"{what} needs some text or a photo", "text", 400)


def check_photos(count: int, policy: QaPolicy) -> None:
    if count > policy.max_photos:
        raise Refused("too_many_photos", f"at most {policy.max_photos} photos per post "
                      f"(has {count})", "photos", 413)


def may_post(open_now: int, policy: QaPolicy) -> None:
    """A student has at most ``max_open_per_student`` questions waiting."""
    if open_now >= policy.max_open_per_student:
        raise Refused("too_many_open", f"you already have {open_now} questions waiting: "
                      "mark one solved first", "", 429)


def teaches(subjects: Iterable[str], grades: Iterable[str], q: Question) -> bool:
    """Whether a teacher's pass covers a question: its subject, and its grade if the pass
    names grades."""
    grades = tuple(grades)
    return q.subject in subjects and (not grades or not q.grade or q.grade in grades)


def may_answer(q: Question, answers: Iterable[Answer], teacher: str, subjects: Iterable[str],
               grades: Iterable[str], policy: QaPolicy, now: float) -> None:
    if not teaches(subjects, grades, q):
        raise Refused("not_your_subject", "this question is not in your subjects", "", 403)
    state = state_at(q, policy, now)
    if state not in LIVE:
        raise Refused(state, f"this question is {state}: it takes no more answers")
    answers = list(answers)
    if any(a.teacher == teacher for a in answers):
        raise Refused("already_answered", "you have answered this question already")
    if len(answers) >= policy.max_answers_per_question:
        raise Refused("enough_answers", f"this question has {len(answers)} answers, "
                      "as many as it takes", "", 409)


def solve(q: Question, answers: Iterable[Answer], student: str, accept: str | None,
          policy: QaPolicy, now: float) -> Question:
    """The question solved by its student, accepting answer ``accept`` (or none)."""
    if q.student != student:
        raise Refused("not_yours", "only the student who asked marks it solved", "", 403)
    state = state_at(q, policy, now)
    if state not in LIVE:
        raise Refused(state, f"this question is already {state}")
    if accept is not None and accept not in {a.id for a in answers}:
        raise Refused("no_such_answer", "that answer is not one of this question's",
                      "accept", 404)
    return Question(q.id, q.student, q.student_name, q.school, q.grade, q.subject, q.text,
                    q.posted_at, "solved", now, accept)


# -- pay -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted:
    """One accepted answer of a teacher, as the points count it: its text, whether it
    carries a photo or voice note, and the local day (YYYY-MM-DD) it was accepted."""

    answer: str
    text: str
    media: bool
    day: str


@dataclass(frozen=True)
class QaPoints:
    accepted: int  # accepted answers in the term
    counted: int  # of which earn points
    too_short: int  # refused by the text rule
    over_day_cap: int
    points: Fraction
    capped: bool  # the term cap cut the points

    def wire(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "counted": self.counted,
                "too_short": self.too_short, "over_day_cap": self.over_day_cap,
                "points": float(self.points), "points_exact": str(self.points),
                "capped": self.capped}


def counts(a: Accepted, policy: QaPolicy) -> bool:
    """Whether an accepted answer is substantial enough to earn points."""
    return (policy.media_answer_counts and a.media) or text_counts(
        a.text, policy.min_answer_chars, policy.min_answer_distinct)


def qa_points(accepted: Iterable[Accepted], policy: QaPolicy) -> QaPoints:
    """A teacher's Q&A points for one term from their accepted answers in it (in the
    order accepted)."""
    per_day: dict[str, int] = {}
    total = counted = short = over = 0
    for a in accepted:
        total += 1
        if not counts(a, policy):
            short += 1
            continue
        if per_day.get(a.day, 0) >= policy.max_paid_answers_per_day:
            over += 1
            continue
        per_day[a.day] = per_day.get(a.day, 0) + 1
        counted += 1
    raw = policy.points_per_accepted_answer * counted
    points = min(raw, policy.points_per_term)
    return QaPoints(total, counted, short, over, points, points < raw)
