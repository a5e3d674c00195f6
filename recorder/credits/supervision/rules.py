"""Supervision thresholds (the policy's ``[supervision]`` table) and the flag kinds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Any

from recorder.credits.policy import Policy

US_PER_SECOND = 1_000_000
US_PER_MINUTE = 60 * US_PER_SECOND
MAX_LISTED = 20  # intervals or minutes listed in one flag's evidence (the count is always whole)
MAX_GAP_DAYS = 62  # two meetings further apart than this are never "consecutive"

KINDS: Mapping[str, str] = {
    "instructor_not_publishing": "instructor silent or camera off for most of their active time",
    "no_media_evidence": "presence-basis record: teaching could not be checked",
    "alone": "instructor active with no learner active",
    "overlap": "one person active in two sessions at once",
    "same_place": "instructor and learner from the same school or district",
    "same_pair_daily": "the same instructor and learner on consecutive open days",
    "text_rules": "feedback or report text fails the text rules",
    "text_window": "feedback or report outside the session's window",
    "black_video": "video frames below a live frame rate for minutes (camera off)",
    "frozen_video": "live-rate video without keyframes and with tiny frames for minutes",
    "publishing_unsupported": "publishing in the record without media in the evidence rows",
    "outside_open_hours": "active time outside the programme's open hours",
}
KIND_ORDER = {kind: n for n, kind in enumerate(KINDS)}


class SupervisionError(ValueError):
    """The ``[supervision]`` table is malformed; the message names the key."""


@dataclass(frozen=True)
class SupervisionRules:
    """Every threshold of the supervisor report. The defaults are documented in
    ``docs/supervision.md``; a policy file's ``[supervision]`` table overrides any of them."""

    min_publishing_share: Fraction = Fraction(1, 2)  # of the instructor's active time
    alone_min_minutes: int = 10  # instructor without any learner, in total
    overlap_min_minutes: int = 1  # one person in two sessions at once
    same_pair_days: int = 5  # consecutive open days of one instructor–learner pair
    outside_min_minutes: int = 5  # active outside open hours, in total
    black_minutes: int = 3  # consecutive minutes of frames below live_video_fps
    frozen_minutes: int = 5  # consecutive minutes of live-rate frames without keyframes …
    frozen_max_bytes_per_frame: int = 200  # … and smaller than this on average
    live_video_fps: int = 5  # frames in one second that make it live video ([evidence]'s)
    voiced_dbov: int = -50  # audio louder than this is voice ([evidence]'s)
    unsupported_min_minutes: int = 1  # publishing minutes the rows do not support

    @classmethod
    def from_table(cls, table: Mapping[str, Any] | None) -> SupervisionRules:
        """The rules of a ``[supervision]`` table (``Policy.supervision``: key → number);
        keys not given keep their default. Unknown keys and impossible values raise
        :class:`SupervisionError` naming the key."""
        if not table:
            return cls()
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for key, raw in table.items():
            spec = known.get(key)
            if spec is None:
                raise SupervisionError(
                    f"supervision.{key}: unknown key; known: {', '.join(sorted(known))}"
                )
            number = _fraction(raw, key)
            if spec.name == "min_publishing_share":
                if not 0 <= number <= 1:
                    raise SupervisionError(f"supervision.{key}: must be between 0 and 1")
                values[key] = number
                continue
            if number.denominator != 1:
                raise SupervisionError(f"supervision.{key}: must be a whole number")
            whole = int(number)
            if key == "voiced_dbov":
                if not -127 <= whole <= 0:
                    raise SupervisionError(f"supervision.{key}: must be within -127 … 0")
            elif whole < 1 or (key == "same_pair_days" and whole < 2):
                least = 2 if key == "same_pair_days" else 1
                raise SupervisionError(f"supervision.{key}: must be at least {least}")
            values[key] = whole
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return {f.name: number_json(getattr(self, f.name)) for f in fields(self)}


def rules_of(policy: Policy) -> SupervisionRules:
    """The rules of a policy: its ``[supervision]`` table over the defaults, where
    ``live_video_fps`` and ``voiced_dbov`` default to the policy's ``[evidence]``
    numbers (the ones the server derived ``publishing`` with)."""
    table: dict[str, Any] = {
        "live_video_fps": policy.evidence.live_video_fps,
        "voiced_dbov": policy.evidence.voiced_dbov,
    }
    table.update(policy.supervision)
    return SupervisionRules.from_table(table)


def _fraction(raw: object, key: str) -> Fraction:
    if isinstance(raw, bool):
        raise SupervisionError(f"supervision.{key}: must be a number")
    try:
        if isinstance(raw, Fraction | int):
            return Fraction(raw)
        if isinstance(raw, float | str):
            return Fraction(str(raw))
    except (ValueError, ZeroDivisionError) as exc:
        raise SupervisionError(f"supervision.{key}: must be a number, got {raw!r}") from exc
    raise SupervisionError(f"supervision.{key}: must be a number, got {raw!r}")


def number_json(value: int | Fraction) -> int | str:
    if isinstance(value, int):
        return value
    if value.denominator == 1:
        return int(value)
    return f"{float(value):g}" if (10**6 * value).denominator == 1 else str(value)
