"""The order in which a student sees teachers on duty: simple and explainable.

No black box (issue 14): teachers are sorted by, in turn, (1) how well subject and
grade fit, (2) rating, when known (higher first, unknown after known), (3) waiting
load (fewer calls ringing or queued first), then name. Each listed teacher carries
the reasons of their place as stable codes, which the page turns into one sentence
("教数学、教初二 · 评分 4.8 · 无人等待"). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Listed:
    teacher: str
    fit: int  # 2: subject and grade; 1: subject only; 0: neither (then not listed)
    rating: float | None
    waiting: int
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Candidate:
    teacher: str
    name: str
    subjects: tuple[str, ...]
    grades: tuple[str, ...]
    rating: float | None
    waiting: int


def rank(candidates: list[Candidate], subject: str, grade: str) -> list[Listed]:
    """Teachers of ``subject`` (all on duty when empty), best fit first."""
    out: list[tuple[tuple[object, ...], Listed]] = []
    for c in candidates:
        teaches = not subject or subject in c.subjects
        if not teaches:
            continue
        grade_fit = bool(grade) and grade in c.grades
        fit = 1 + grade_fit
        reasons: list[str] = []
        if subject:
            reasons.append("subject")
        if grade_fit:
            reasons.append("grade")
        reasons.append("rated" if c.rating is not None else "unrated")
        reasons.append("nobody_waiting" if c.waiting == 0 else "waiting")
        key = (-fit, c.rating is None, -(c.rating or 0.0), c.waiting, c.name, c.teacher)
        out.append((key, Listed(c.teacher, fit, c.rating, c.waiting, tuple(reasons))))
    out.sort(key=lambda pair: pair[0])
    return [listed for _, listed in out]
