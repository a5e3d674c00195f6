"""Whether what people wrote and where they work lets a session count: feedback (反馈),
review reports (检课报告), the window both are due in, and the same school / same
district rule, each with the words of its note. Used by :mod:`recorder.credits.engine`;
the text rules themselves are :mod:`recorder.credits.texts` and the places
:mod:`recorder.credits.places`. Pure."""

from __future__ import annotations

from recorder.credits.evidence_rules import meet
from recorder.credits.outcomes import PersonOutcome, SessionSets
from recorder.credits.policy import Policy
from recorder.credits.records import Feedback, Person, SessionRecord
from recorder.credits.texts import in_window, text_problem


def anchors(rec: SessionRecord) -> tuple[int, int] | None:
    """The session's start and end for the feedback and report window: ``started_at``
    and ``ended_at`` as the record states them, else its first and last active instant
    (the same end REST counts from). None when nobody was ever active."""
    if rec.start is None or rec.end is None:
        return None
    return (
        rec.started if rec.started is not None else rec.start,
        rec.ended if rec.ended is not None else rec.end,
    )


def _window_words(policy: Policy) -> str:
    hours = policy.feedback_window_hours
    return f"{hours // 24} days" if hours % 24 == 0 else f"{hours} hours"


def feedback_problem(fb: Feedback | None, record: SessionRecord, policy: Policy) -> str | None:
    """Why a learner's feedback is not valid, or ``None`` when it is.

    Seed: "被指导教师参与研修后，需在7天内……提供反馈和评价，包括评分……不少于200字的收获".
    """
    if fb is None:
        return "no feedback"
    window = anchors(record)
    if window is None:
        return "feedback for a session with no active time"
    start, end = window
    if fb.submitted_at < start:
        return "feedback before the session started"
    if not in_window(fb.submitted_at, start, end, policy.feedback_window_hours):
        return f"feedback after {_window_words(policy)}"
    problem = text_problem(
        fb.text, min_chars=policy.feedback_min_chars, min_distinct=policy.feedback_min_distinct
    )
    return None if problem is None else f"feedback {problem}"


def report_problem(
    rec: SessionRecord, sets: SessionSets, reviewer: str, policy: Policy
) -> str | None:
    """Why a reviewer's report (检课报告) does not count, or ``None`` when it does: from
    a reviewer who took part in the discussion, submitted after the session started and
    within the feedback window, with a text that passes the report's text rules."""
    submitted = rec.reports.get(reviewer)
    if submitted is None:
        return "no report submitted"
    if not meet(rec.active.get(reviewer, ()), sets.raw):
        return "report from a reviewer who did not take part in the discussion"
    window = anchors(rec)
    assert window is not None  # took part, so someone was active
    start, end = window
    if submitted < start:
        return "report submitted before the session started"
    if not in_window(submitted, start, end, policy.feedback_window_hours):
        return f"report after {_window_words(policy)}"
    text = rec.report_texts.get(reviewer)
    if text is None:
        return "report without a text (a version 1 record)"
    problem = text_problem(
        text, min_chars=policy.report_min_chars, min_distinct=policy.report_min_distinct
    )
    return None if problem is None else f"report {problem}"


def place_rule(
    policy: Policy, a: Person, b: Person, words: bool = True
) -> tuple[str | None, str | None]:
    """ "同校、同区教师之间研修不记录积分": (the words of the rule's note or ``None``, the
    words of a "compared by name" note or ``None``; always ``None`` without ``words``).

    :func:`recorder.credits.places.same_key` on the keys each person carries, inlined
    (this runs for most sessions of a statement): unknown on either side is never the
    same; a name on either side makes it "by name".
    """
    school = district = named_school = named_district = False
    if policy.same_school_no_points:
        ka, kb = a.school_key, b.school_key
        if ka and kb:
            school = ka == kb
            named_school = a.school_by_name or b.school_by_name
    if policy.same_district_no_points:
        ka, kb = a.district_key, b.district_key
        if ka and kb:
            district = ka == kb
            named_district = a.district_by_name or b.district_by_name
    why = (
        "same school and district" if school and district
        else "same school" if school
        else "same district" if district
        else None
    )
    if not (words and (named_school or named_district)):
        return why, None
    named = []
    if named_school:
        named.append(f"school {a.school!r} {'=' if school else '≠'} {b.school!r}")
    if named_district:
        named.append(f"district {a.district!r} {'=' if district else '≠'} {b.district!r}")
    return why, "compared by name (no codes): " + ", ".join(named)



def learner_feedback(
    rec: SessionRecord, policy: Policy, learner: Person, out: PersonOutcome
) -> Feedback | None:
    """The learner's feedback if valid; otherwise note why (and what it costs)."""
    fb = rec.feedback.get(learner.id)
    problem = feedback_problem(fb, rec, policy)
    if problem is None:
        return fb
    cost = "no study hours" if policy.study else "not valid"
    out.notes.append(f"{problem}: {cost}")
    return None
