"""The clock that pays (issue 12, item 3): what a running session has counted so far and,
when the present is not counting, why — for the teacher's header.

Nothing here is a formula of its own: the figures are the credits engine's
(:func:`recorder.credits.rules.evaluate`, the function that pays) on the live record,
and the reason is the per-minute status the timeline picture shows
(:func:`recorder.credits.timeline.outcome_minutes`), of the most recent *complete*
minute: the current one is still filling (its evidence rows, its receiver reports), so
its status would flicker between "counted" and "silent" within a few seconds.

Stable codes of :attr:`ClockFigures.why_not` (the client says each in zh-CN / English):

* ``not_started``: nobody has been active yet;
* ``ended``: the session is over (the figures are final);
* ``nobody_present``, ``outside_hours`` (outside the programme's open hours),
  ``alone`` (a one-to-one or review without both sides), ``instructor_absent``,
  ``instructor_silent`` (the teacher sends no audio/video the others receive),
  ``no_viewers`` (a lecture or classroom nobody is receiving), ``nobody_voiced`` (a
  review's discussion with nobody speaking), ``above_maximum`` (the form's maximum is
  reached), ``not_effective`` (the rules left the minute out for none of these).

Pure: the caller passes the record, the policy and calendar in effect, and now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from recorder.credits.calendar import Calendar
from recorder.credits.policy import Policy
from recorder.credits.rules import US_PER_MINUTE, evaluate, minutes_of
from recorder.credits.timeline import Minute, outcome_minutes

# Timeline status of a minute → the clock's code (None: the minute counts). An
# effective minute below the form's minimum *is* counting: it counts once the session
# reaches the minimum, which is what the teacher is working towards.
WHY_NOT: Mapping[str, str | None] = {
    "counted": None,
    "below_minimum": None,
    "nobody_present": "nobody_present",
    "outside_open_hours": "outside_hours",
    "not_both_present": "alone",
    "instructor_absent": "instructor_absent",
    "instructor_not_publishing": "instructor_silent",
    "nobody_receiving": "no_viewers",
    "not_voiced": "nobody_voiced",
    "above_maximum": "above_maximum",
    "not_effective": "not_effective",
}
CODES: tuple[str, ...] = (
    "not_started", "ended", *sorted({c for c in WHY_NOT.values() if c is not None}),
)


@dataclass(frozen=True)
class ClockFigures:
    """What the engine says of a session at one instant."""

    counted_minutes: int  # counted so far (effective, within the maximum)
    meets_minimum: bool  # the engine counts the session as it stands
    min_minutes: int | None
    max_minutes: int | None
    counting: bool
    why_not: str | None  # a code of CODES, None while counting

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def latest_status(minutes: Sequence[Minute], now_us: int) -> str | None:
    """The status of the most recent complete minute (the first, still filling, when
    none is complete yet); None without any minute."""
    if not minutes:
        return None
    complete = [m for m in minutes if m.start + US_PER_MINUTE <= now_us]
    return (complete[-1] if complete else minutes[0]).status


def why_not(status: str | None, *, ended: bool) -> str | None:
    """The clock's code for a minute's timeline status (None: counting)."""
    if ended:
        return "ended"
    if status is None:
        return "not_started"
    return WHY_NOT.get(status, "not_effective")


def clock_figures(
    record: object, policy: Policy, calendar: Calendar, now_us: int, *, ended: bool
) -> ClockFigures:
    """The live figures of ``record`` (as ``GET /sessions/{id}/record`` gives it, cut
    at now). Raises :class:`~recorder.credits.records.RecordError` on a bad record."""
    outcome = evaluate(record, policy, calendar)
    # Below the minimum the engine counts nothing yet; what the teacher has earned
    # towards it is the effective time, which is below the maximum there (max ≥ min).
    counted = outcome.effective_minutes if outcome.counted else minutes_of(outcome.sets.effective)
    code = why_not(latest_status(outcome_minutes(outcome, record, policy), now_us), ended=ended)
    limits = policy.forms[outcome.record.form].limits
    return ClockFigures(
        counted_minutes=counted,
        meets_minimum=outcome.counted,
        min_minutes=limits.min_minutes,
        max_minutes=limits.max_minutes,
        counting=code is None,
        why_not=code,
    )
