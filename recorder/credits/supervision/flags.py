"""A flag and the report's JSON and CSV shapes."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from recorder.credits.supervision.rules import KINDS, SupervisionRules

# --- the flags ------------------------------------------------------------------------


@dataclass(frozen=True)
class Flag:
    """One irregularity of one session: who, in words, and the facts it rests on."""

    session_id: str
    kind: str
    people: tuple[str, ...]
    summary: str
    evidence: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "kind": self.kind,
            "people": list(self.people),
            "summary": self.summary,
            "evidence": dict(self.evidence),
        }


CSV_COLUMNS = ("session_id", "kind", "people", "summary", "evidence")


def flags_csv(flags: Iterable[Flag]) -> str:
    """One row per flag: session_id, kind, people (space-separated), summary, and the
    evidence as compact JSON (keys sorted). RFC 4180 quoting, ``\\r\\n`` line ends."""
    out = _Lines()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for flag in flags:
        writer.writerow(
            (
                flag.session_id,
                flag.kind,
                " ".join(flag.people),
                flag.summary,
                json.dumps(
                    flag.evidence, ensure_ascii=False, separators=(",", ":"), sort_keys=True
                ),
            )
        )
    return "".join(out.parts)


class _Lines:
    """What ``csv.writer`` writes to, kept in memory (no I/O module needed)."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)


def report_json(
    flags: Sequence[Flag],
    *,
    sessions: int,
    rules: Mapping[str, SupervisionRules],
    window: tuple[date, date] | None = None,
) -> dict[str, Any]:
    """The JSON report: the window, how many sessions were read, the thresholds used
    per programme, counts per kind, and every flag."""
    counts: dict[str, int] = {}
    for flag in flags:
        counts[flag.kind] = counts.get(flag.kind, 0) + 1
    return {
        "from": window[0].isoformat() if window else None,
        "to": window[1].isoformat() if window else None,
        "sessions": sessions,
        "rules": {name: r.to_json() for name, r in sorted(rules.items())},
        "counts": {kind: counts[kind] for kind in KINDS if kind in counts},
        "flags": [flag.to_json() for flag in flags],
    }
