"""The report over a window of sessions: every session's flags, in order."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from recorder.credits.calendar import Calendar
from recorder.credits.policy import Policy
from recorder.credits.records import RecordError
from recorder.credits.supervision.checks import overlap_flags, same_pair_flags, session_flags
from recorder.credits.supervision.facts import MinuteRow, SessionFacts, parse_rows, parse_session
from recorder.credits.supervision.flags import Flag
from recorder.credits.supervision.rules import KIND_ORDER, SupervisionRules, rules_of

# --- the report -----------------------------------------------------------------------

RowsBySession = Mapping[str, Sequence[Mapping[str, Any]]]


def supervise(
    records: Iterable[object],
    evidence: RowsBySession | None,
    *,
    policies: Mapping[str, Policy],
    calendar: Calendar,
    rules: SupervisionRules | Mapping[str, SupervisionRules] | None = None,
    window: tuple[date, date] | None = None,
) -> list[Flag]:
    """Every flag of a batch of session records, ordered by session start, session id
    and kind.

    ``evidence``: session id → its per-minute rows (``GET /sessions/{id}/evidence``),
    or None. ``policies``: programme → policy (open hours, school rule, text numbers).
    ``rules``: one set for all, per programme, or None for each policy's own
    (:func:`rules_of`). ``window``: the report's inclusive local dates, used by
    ``same_pair_daily`` ("every open day of a shorter window").
    """
    sessions: list[SessionFacts] = []
    seen: set[str] = set()
    for obj in records:
        facts = parse_session(obj, policies)
        if facts.session_id in seen:
            raise RecordError("session_id", f"duplicate {facts.session_id!r}")
        seen.add(facts.session_id)
        sessions.append(facts)
    per_programme = _rules_by_programme(rules, policies)
    rows_of: dict[str, dict[str, list[MinuteRow]]] = {}
    if evidence:
        for facts in sessions:
            raw = evidence.get(facts.session_id)
            if raw:
                rows_of[facts.session_id] = parse_rows(list(raw), f"evidence.{facts.session_id}")
    flags: list[Flag] = []
    for facts in sessions:
        policy = policies[facts.programme]
        flags.extend(
            session_flags(
                facts,
                rows_of.get(facts.session_id),
                per_programme[facts.programme],
                policy,
                calendar,
            )
        )
    flags.extend(overlap_flags(sessions, per_programme, calendar))
    flags.extend(same_pair_flags(sessions, per_programme, policies, calendar, window))
    order = {f.session_id: (f.start if f.start is not None else 0, f.session_id) for f in sessions}
    flags.sort(key=lambda f: (order[f.session_id], KIND_ORDER[f.kind], f.people))
    return flags


def _rules_by_programme(
    rules: SupervisionRules | Mapping[str, SupervisionRules] | None,
    policies: Mapping[str, Policy],
) -> dict[str, SupervisionRules]:
    if isinstance(rules, SupervisionRules):
        return dict.fromkeys(policies, rules)
    given = rules or {}
    return {name: given.get(name) or rules_of(policy) for name, policy in policies.items()}
