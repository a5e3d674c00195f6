"""The session record: what a session was, who was really there, and what they said.

Its shape is the input of the credits engine (issue 3): ``session_id``,
``programme``, ``form``, ``people``, ``active`` (person → ``[[start, end]]`` ISO
UTC from the presence journal), ``replay`` (learner → intervals of watching the
recording, measured from what the server delivered: :mod:`recorder.media.replay_time`),
``feedback``, ``reports``; ``marks`` (tutoring: learner → the teacher's latest mark);
and ``recordings`` (each with its ``unrecorded`` spans). docs/record.md is the contract.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from recorder.credits.policy import EvidencePolicy, load_policy
from recorder.presence.evidence import Derived, Thresholds, derive
from recorder.presence.journal import iso_intervals
from signaling.server.services import Services
from signaling.store.sqlite import StoredSession


async def session_record(svc: Services, session: StoredSession) -> dict[str, Any]:
    now = svc.clock.time()
    active = iso_intervals(svc.journal.intervals(session.id, now=now))
    thresholds = evidence_thresholds(session.spec.programme, svc)
    derived = derive(svc.journal.evidence_rows(session.id), thresholds)
    learners = {p.id for p in session.spec.people if p.role == "learner"}
    recordings = svc.recordings
    return {
        "session_id": session.id,
        "programme": session.spec.programme,
        "form": session.spec.form,
        "title": session.spec.title,
        "scheduled_start": session.wire()["scheduled_start"],
        "scheduled_end": session.wire()["scheduled_end"],
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "people": [p.record() for p in session.spec.people],
        "active": active,
        # Issue 9: what the media showed (docs/record.md), derived from the per-minute
        # evidence rows with the programme's [evidence] thresholds, stated beside them.
        "voiced": _intervals(derived, "voiced", now),
        "publishing": _intervals(derived, "publishing", now),
        "receiving": _intervals(derived, "receiving", now),
        "evidence": {"source": "server", **thresholds.to_json()},
        "replay": await recordings.replay(session.id, learners) if recordings else {},
        "recordings": await recordings.summary(session.id) if recordings else [],
        "feedback": await svc.store.submissions("feedback", session.id),
        "reports": await svc.store.submissions("reports", session.id),
        "marks": await svc.store.marks(session.id),
        # Issue 16: supervisors who watched read-only. Beside the people, never among
        # them: no observer is in ``people``, ``active`` or the evidence, so no visit is
        # anybody's attendance or pay, and every visit is here for anyone to see.
        "observers": await svc.store.observers(session.id),
    }


def evidence_json(svc: Services, session: StoredSession) -> list[dict[str, object]]:
    """``GET /sessions/{id}/evidence``: the per-minute rows (docs/record.md)."""
    thresholds = evidence_thresholds(session.spec.programme, svc)
    return svc.journal.evidence(session.id, voiced_dbov=thresholds.voiced_dbov)


def evidence_thresholds(programme: str, svc: Services | None = None) -> Thresholds:
    """The programme's ``[evidence]`` policy numbers: of the version in effect (the
    settings of ``svc``), else of the shipped file."""
    if svc is not None and svc.settings is not None:
        return _thresholds(svc.settings.policy(programme).evidence)
    return _thresholds(_shipped_evidence(programme))


@cache
def _shipped_evidence(programme: str) -> EvidencePolicy:
    return load_policy(programme).evidence  # read once


def _thresholds(e: EvidencePolicy) -> Thresholds:
    return Thresholds(e.voiced_dbov, e.voice_hold_s, e.live_video_fps, e.report_within_s)


def _intervals(derived: dict[str, Derived], name: str, now: float) -> dict[str, list[list[str]]]:
    """One kind of derived interval per person, in the record's ISO form; cut at now
    (a voiced second is held a few seconds, which may reach past the present)."""
    cut: dict[str, list[tuple[float, float]]] = {}
    for person, d in derived.items():
        ivs = [(s, min(e, now)) for s, e in getattr(d, name) if s < now]
        if ivs:
            cut[person] = ivs
    return iso_intervals(cut)
