"""Programme policies: every number of the credits rules, read from TOML.

Two policies ship with the package, ``recorder/credits/policies/training.toml`` (teacher
training, 北京市中小学教师开放型在线研修计划) and ``recorder/credits/policies/tutoring.toml``
(student tutoring, 北京市中学教师开放型在线辅导计划). An operator changes a number
in a copy of one of these files and passes its path instead of the name.

The *formulas* live in :mod:`recorder.credits.rules`; the policy only carries the
numbers, and which forms exist. A form's computation is chosen by its name:
``one_to_one`` and ``classroom`` (duration + rating), ``lecture`` (live +
performance + viewers) and ``review`` (report + discussion).

Rates may be written as integers or as decimal strings (``"6.5"``) and are kept
as exact fractions; a float in the file is read through its decimal text.

Issue 9 added numbers that an older copy of a policy file does not have; each has a
default (written out in both built-in files), so such a copy still loads:
``[feedback] min_distinct_chars`` (20), the ``[reports]`` table (200 and 20), the
``[evidence]`` thresholds (-50 dBov, 5 s, 5 fps, 5 s), per form ``min_viewers`` (1)
and ``conversation_window_s`` (30), and the optional ``[supervision]`` table (numbers
only; the supervisor report gives them their meaning).

Pure apart from reading the TOML file handed to :func:`load_policy`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from recorder.credits.calendar import CalendarError, OpenHours, parse_hhmm

POLICY_DIR = Path(__file__).parent / "policies"
BUILT_IN = ("training", "tutoring")
KNOWN_FORMS = ("one_to_one", "lecture", "review", "classroom")
# Defaults of issue 9's numbers, for a policy file written before them.
DEFAULT_FEEDBACK_MIN_DISTINCT = 20
DEFAULT_REPORT_MIN_CHARS = 200
DEFAULT_REPORT_MIN_DISTINCT = 20
DEFAULT_MIN_VIEWERS = 1
DEFAULT_CONVERSATION_WINDOW_S = 30


class PolicyError(ValueError):
    """The policy file is malformed; the message names the field."""


@dataclass(frozen=True)
class Limits:
    """Counted-minute limits of a form; ``None`` means no limit."""

    min_minutes: int | None = None
    max_minutes: int | None = None


@dataclass(frozen=True)
class RatingRate:
    """Points per hour driven by a 1–5 rating: ``at_one_star + per_star·(r − 1)``.

    ``without_feedback`` applies when there is no valid feedback at all.
    """

    at_one_star: Fraction
    per_star: Fraction
    without_feedback: Fraction

    def rate(self, rating: Fraction) -> Fraction:
        return self.at_one_star + self.per_star * (rating - 1)


@dataclass(frozen=True)
class FormPolicy:
    """The numbers of one form. Fields that do not apply to the form stay zero."""

    name: str
    limits: Limits
    # one_to_one / classroom
    duration_points_per_hour: Fraction = Fraction(0)
    rating_points_per_hour: RatingRate | None = None
    # lecture
    live_points_per_hour: Fraction = Fraction(0)
    performance_points_per_hour: RatingRate | None = None
    viewers_per_point: int = 10
    viewer_points_per_hour_max: int = 0
    # review
    max_reviewers: int = 3
    report_points: Fraction = Fraction(0)
    discussion_points: Fraction = Fraction(0)
    report_hours: int = 0
    discussion_hours: int = 0
    # lecture / classroom: learners receiving at the same instant for it to count
    min_viewers: int = 0
    # one_to_one / review: how long a voiced stretch keeps "the pair in conversation"
    conversation_window_s: int = 0


@dataclass(frozen=True)
class EvidencePolicy:
    """The thresholds that turn per-minute media rows into ``voiced``, ``publishing``
    and ``receiving`` intervals (docs/record.md). The server derives the intervals with
    them and writes them into each record's ``evidence``."""

    voiced_dbov: int = -50  # RFC 6464 level louder than this (closer to 0) is voice
    voice_hold_s: int = 5  # each voiced second keeps the person voiced this long
    live_video_fps: int = 5  # a disabled camera sends black frames at ~1 fps
    report_within_s: int = 5  # forwarded media counts once a receiver report confirms it


@dataclass(frozen=True)
class StudyPolicy:
    """学时 and 学分: "研修有效时长达到45分钟计1学时", "20学时可折合1学分", "每年上限为1学分"."""

    minutes_per_hour: int
    hours_per_credit: int
    max_credits_per_year: int


@dataclass(frozen=True)
class OnDemandPolicy:
    """On-demand tutoring (issue 14), optional ``[on_demand]`` table. The seed: "基于保障
    辅导效果和保护学生视力的考虑，在线辅导服务平台在辅导时间、限制连续辅导时长等方面做出了
    一系列调整" (to protect students' eyesight, continuous tutoring time is limited).
    A session started by a call lasts at most ``continuous_minutes`` (warned
    ``warn_minutes`` before); the student then rests ``rest_minutes`` before the next.
    A call rings ``ring_seconds`` before it counts as not answered (the issue: 30 s)."""

    continuous_minutes: int = 40
    warn_minutes: int = 5
    rest_minutes: int = 10
    ring_seconds: int = 30


@dataclass(frozen=True)
class Policy:
    """A programme's complete rule numbers."""

    programme: str
    point_value_cny: Fraction
    open_hours: OpenHours
    feedback_window_hours: int
    feedback_min_chars: int
    feedback_min_distinct: int
    report_min_chars: int
    report_min_distinct: int
    evidence: EvidencePolicy
    supervision: Mapping[str, Fraction]
    study: StudyPolicy | None
    sessions_per_form_per_term: int | None
    points_per_term: Fraction | None
    same_school_no_points: bool
    same_district_no_points: bool
    forms: Mapping[str, FormPolicy]
    on_demand: OnDemandPolicy = OnDemandPolicy()


# --- field readers: each names the field it rejects ---------------------------------


def _table(data: Mapping[str, Any], key: str, where: str, required: bool = True) -> dict[str, Any]:
    value = data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        raise PolicyError(f"{where}{key}: must be a table")
    return value


def _number(data: Mapping[str, Any], key: str, where: str) -> Fraction:
    value = data.get(key)
    if isinstance(value, bool) or value is None:
        raise PolicyError(f"{where}{key}: must be a number")
    try:
        if isinstance(value, int):
            result = Fraction(value)
        elif isinstance(value, float | str):
            result = Fraction(str(value))  # "6.5" and 6.5 both mean exactly 13/2
        else:
            raise PolicyError(f"{where}{key}: must be a number")
    except (ValueError, ZeroDivisionError) as exc:
        raise PolicyError(f"{where}{key}: must be a number, got {value!r}") from exc
    if result < 0:
        raise PolicyError(f"{where}{key}: must not be negative")
    return result


def _int(data: Mapping[str, Any], key: str, where: str, *, positive: bool = False) -> int:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise PolicyError(f"{where}{key}: must be a whole number")
    if value < 0 or (positive and value == 0):
        raise PolicyError(f"{where}{key}: must be {'positive' if positive else 'non-negative'}")
    return value


def _opt_int(data: Mapping[str, Any], key: str, where: str) -> int | None:
    return None if key not in data else _int(data, key, where)


def _int_or(
    data: Mapping[str, Any], key: str, where: str, default: int, *, positive: bool = False
) -> int:
    """An optional whole number (issue 9's new fields): ``default`` when absent."""
    return default if key not in data else _int(data, key, where, positive=positive)


def _dbov(data: Mapping[str, Any], key: str, where: str, default: int) -> int:
    """An RFC 6464 audio level in dBov: a whole number from -127 (silence) to 0 (loudest)."""
    if key not in data:
        return default
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or not -127 <= value <= 0:
        raise PolicyError(f"{where}{key}: must be a whole number of dBov from -127 to 0")
    return value


def _evidence(data: Mapping[str, Any]) -> EvidencePolicy:
    table = _table(data, "evidence", "", required=False)
    where = "evidence."
    known = ("voiced_dbov", "voice_hold_s", "live_video_fps", "report_within_s")
    for key in table:
        if key not in known:
            raise PolicyError(f"{where}{key}: unknown field; known: {', '.join(known)}")
    default = EvidencePolicy()
    return EvidencePolicy(
        voiced_dbov=_dbov(table, "voiced_dbov", where, default.voiced_dbov),
        voice_hold_s=_int_or(table, "voice_hold_s", where, default.voice_hold_s),
        live_video_fps=_int_or(
            table, "live_video_fps", where, default.live_video_fps, positive=True
        ),
        report_within_s=_int_or(
            table, "report_within_s", where, default.report_within_s, positive=True
        ),
    )


def _supervision(data: Mapping[str, Any]) -> dict[str, Fraction]:
    """The ``[supervision]`` numbers, as given: only that each is a number is checked."""
    table = _table(data, "supervision", "", required=False)
    out: dict[str, Fraction] = {}
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise PolicyError(f"supervision.{key}: must be a number")
        try:
            out[key] = Fraction(value) if isinstance(value, int) else Fraction(str(value))
        except (ValueError, ZeroDivisionError) as exc:
            raise PolicyError(f"supervision.{key}: must be a number, got {value!r}") from exc
    return out


def _bool(data: Mapping[str, Any], key: str, where: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise PolicyError(f"{where}{key}: must be true or false")
    return value


def _windows(data: Mapping[str, Any], key: str, where: str) -> tuple[tuple[int, int], ...]:
    raw = data.get(key)
    if not isinstance(raw, list):
        raise PolicyError(f"{where}{key}: must be a list of [\"HH:MM\", \"HH:MM\"] pairs")
    out = []
    for i, pair in enumerate(raw):
        at = f"{where}{key}[{i}]"
        if not isinstance(pair, list) or len(pair) != 2:
            raise PolicyError(f"{at}: must be a pair [\"HH:MM\", \"HH:MM\"]")
        try:
            start, end = parse_hhmm(pair[0], at), parse_hhmm(pair[1], at)
        except CalendarError as exc:
            raise PolicyError(str(exc)) from exc
        if end <= start:
            raise PolicyError(f"{at}: end must be after start")
        out.append((start, end))
    return tuple(out)


def _rating(data: Mapping[str, Any], key: str, where: str) -> RatingRate:
    table = _table(data, key, where)
    at = f"{where}{key}."
    return RatingRate(
        _number(table, "at_one_star", at),
        _number(table, "per_star", at),
        _number(table, "without_feedback", at),
    )


def _form(name: str, data: Mapping[str, Any]) -> FormPolicy:
    where = f"forms.{name}."
    if name not in KNOWN_FORMS:
        raise PolicyError(f"forms.{name}: unknown form; known: {', '.join(KNOWN_FORMS)}")
    if name == "review":
        discussion_min = _int(data, "discussion_min_minutes", where)
        return FormPolicy(
            name,
            Limits(min_minutes=discussion_min),
            max_reviewers=_int(data, "max_reviewers", where, positive=True),
            report_points=_number(data, "report_points", where),
            discussion_points=_number(data, "discussion_points", where),
            report_hours=_int(data, "report_hours", where),
            discussion_hours=_int(data, "discussion_hours", where),
            conversation_window_s=_int_or(
                data, "conversation_window_s", where, DEFAULT_CONVERSATION_WINDOW_S
            ),
        )
    limits_raw = _table(data, "limits", where)
    limits = Limits(
        _opt_int(limits_raw, "min_minutes", f"{where}limits."),
        _opt_int(limits_raw, "max_minutes", f"{where}limits."),
    )
    if (
        limits.min_minutes is not None
        and limits.max_minutes is not None
        and limits.max_minutes < limits.min_minutes
    ):
        raise PolicyError(f"{where}limits: max_minutes is below min_minutes")
    if limits.max_minutes == 0:
        raise PolicyError(f"{where}limits.max_minutes: must be positive (omit it for no maximum)")
    if name == "lecture":
        return FormPolicy(
            name,
            limits,
            live_points_per_hour=_number(data, "live_points_per_hour", where),
            performance_points_per_hour=_rating(data, "performance_points_per_hour", where),
            viewers_per_point=_int(data, "viewers_per_point", where, positive=True),
            viewer_points_per_hour_max=_int(data, "viewer_points_per_hour_max", where),
            min_viewers=_int_or(data, "min_viewers", where, DEFAULT_MIN_VIEWERS),
        )
    if name == "classroom":
        return FormPolicy(
            name,
            limits,
            duration_points_per_hour=_number(data, "duration_points_per_hour", where),
            rating_points_per_hour=_rating(data, "rating_points_per_hour", where),
            min_viewers=_int_or(data, "min_viewers", where, DEFAULT_MIN_VIEWERS),
        )
    return FormPolicy(
        name,
        limits,
        duration_points_per_hour=_number(data, "duration_points_per_hour", where),
        rating_points_per_hour=_rating(data, "rating_points_per_hour", where),
        conversation_window_s=_int_or(
            data, "conversation_window_s", where, DEFAULT_CONVERSATION_WINDOW_S
        ),
    )


def parse_policy(data: Mapping[str, Any]) -> Policy:
    """Build a :class:`Policy` from decoded TOML data."""
    programme = data.get("programme")
    if not isinstance(programme, str) or not programme:
        raise PolicyError("programme: must be a non-empty string")
    hours = _table(data, "open_hours", "")
    open_hours = OpenHours(
        working_day=_windows(hours, "working_day", "open_hours."),
        rest_day=_windows(hours, "rest_day", "open_hours."),
        terms_only=_bool(hours, "terms_only", "open_hours."),
    )
    feedback = _table(data, "feedback", "")
    reports = _table(data, "reports", "", required=False)
    study_raw = _table(data, "study", "", required=False)
    study = None
    if study_raw:
        study = StudyPolicy(
            _int(study_raw, "minutes_per_hour", "study.", positive=True),
            _int(study_raw, "hours_per_credit", "study.", positive=True),
            _int(study_raw, "max_credits_per_year", "study."),
        )
    caps = _table(data, "caps", "", required=False)
    sessions_cap = _opt_int(caps, "sessions_per_form_per_term", "caps.")
    points_cap = _number(caps, "points_per_term", "caps.") if "points_per_term" in caps else None
    school = _table(data, "school_rule", "", required=False)
    forms_raw = _table(data, "forms", "")
    if not forms_raw:
        raise PolicyError("forms: at least one form is needed")
    forms = {}
    for name, form_data in forms_raw.items():
        if not isinstance(form_data, dict):
            raise PolicyError(f"forms.{name}: must be a table")
        forms[name] = _form(name, form_data)
    return Policy(
        programme=programme,
        point_value_cny=_number(data, "point_value_cny", ""),
        open_hours=open_hours,
        feedback_window_hours=_int(feedback, "window_hours", "feedback."),
        feedback_min_chars=_int(feedback, "min_chars", "feedback."),
        feedback_min_distinct=_int_or(
            feedback, "min_distinct_chars", "feedback.", DEFAULT_FEEDBACK_MIN_DISTINCT
        ),
        report_min_chars=_int_or(reports, "min_chars", "reports.", DEFAULT_REPORT_MIN_CHARS),
        report_min_distinct=_int_or(
            reports, "min_distinct_chars", "reports.", DEFAULT_REPORT_MIN_DISTINCT
        ),
        evidence=_evidence(data),
        supervision=_supervision(data),
        study=study,
        sessions_per_form_per_term=sessions_cap,
        points_per_term=points_cap,
        same_school_no_points=_bool(school, "same_school_no_points", "school_rule.")
        if school
        else False,
        same_district_no_points=_bool(school, "same_district_no_points", "school_rule.")
        if school
        else False,
        forms=forms,
        on_demand=_on_demand(data),
    )


def _on_demand(data: Mapping[str, Any]) -> OnDemandPolicy:
    raw = _table(data, "on_demand", "", required=False)
    default = OnDemandPolicy()
    out = OnDemandPolicy(
        _int_or(raw, "continuous_minutes", "on_demand.", default.continuous_minutes),
        _int_or(raw, "warn_minutes", "on_demand.", default.warn_minutes),
        _int_or(raw, "rest_minutes", "on_demand.", default.rest_minutes),
        _int_or(raw, "ring_seconds", "on_demand.", default.ring_seconds),
    )
    if not 5 <= out.ring_seconds <= 300:
        raise PolicyError("on_demand: ring_seconds must be between 5 and 300")
    if out.continuous_minutes < 1 or not 0 <= out.warn_minutes < out.continuous_minutes:
        raise PolicyError("on_demand: continuous_minutes must be at least 1 and "
                          "warn_minutes between 0 and it")
    return out


def load_policy(name_or_path: str | Path) -> Policy:
    """Load a built-in policy by name (``"training"``, ``"tutoring"``) or a TOML file by path."""
    if isinstance(name_or_path, str) and name_or_path in BUILT_IN:
        path = POLICY_DIR / f"{name_or_path}.toml"
    else:
        path = Path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(
            f"policy {str(name_or_path)!r}: not a built-in policy ({', '.join(BUILT_IN)}) "
            f"and cannot read it as a file: {exc.strerror or exc}"
        ) from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy {path}: not valid TOML: {exc}") from exc
    return parse_policy(data)
