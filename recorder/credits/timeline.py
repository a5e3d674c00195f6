"""A session's timeline as an SVG picture, so a person checking a payment can see why a
minute did or did not count.

Rows, top to bottom: each person (their active intervals as a bar; under it a thin
stripe of the time they were voiced and one of their video, per minute, when the record
or the evidence rows say so), the session's effective set E (the form's rule, clipped
to open hours), the counted set (E, its first maximum minutes, or nothing below the
minimum), and one cell per minute: counted, or the reason it was not (issue 9, item 8).
The open-hours windows are a green band behind every row. Labels are Chinese and
English; times on the axis and in the hover titles are local to the calendar's zone.
Under the picture: the legend with the minutes of each reason, the uncounted spans in
words, and the replay intervals (often on another day), listed rather than drawn.

Per minute (:func:`minute_table`), whole UTC minutes from the first active instant:

* *present*: the person's ``active`` meets the minute;
* *voiced*: their ``voiced`` intervals meet it, or its evidence row has a voiced second;
* *video*: from the evidence row: ``live`` when a second brought at least the policy's
  ``[evidence] live_video_fps`` frames, ``low`` when frames came but never that many
  (a disabled camera's black frames), none otherwise; unknown without rows;
* *status*: ``counted`` when any of it counted; else the first reason that holds, in
  this order: ``nobody_present``, ``outside_open_hours`` (no open hours in the minute),
  ``not_both_present`` (a one-to-one without both, a review without the learner and
  a reviewer) or ``instructor_absent`` (a lecture or classroom),
  ``instructor_not_publishing`` and, for lectures and classrooms, ``nobody_receiving``
  (records with ``publishing`` only), ``not_voiced`` (a review with nobody voiced),
  ``below_minimum`` / ``above_maximum`` (effective, but the form's limits left it out),
  and ``not_effective`` when the rules left it out for none of these.

Plain string building; no dependencies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from html import escape
from typing import Any

from recorder.credits.calendar import Calendar, to_us
from recorder.credits.intervals import IntervalSet, intersect, normalize, total, union
from recorder.credits.policy import Policy
from recorder.credits.records import RecordError, parse_timestamp
from recorder.credits.rules import (
    US_PER_MINUTE,
    SessionOutcome,
    SessionSets,
    evaluate,
    minutes_of,
)
from recorder.credits.supervision import MinuteRow, parse_rows

WIDTH = 960
LABEL_W = 250
PLOT_W = WIDTH - LABEL_W - 30
ROW_H = 34
BAR_H = 18
TOP = 70
_STEPS_MIN = (1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080)
_ROLE = {"instructor": "指导教师 instructor", "learner": "学员 learner"}
_FORM = {
    "one_to_one": "一对一 one-to-one",
    "lecture": "直播讲堂 lecture",
    "review": "开放式检课 review",
    "classroom": "互动课堂 classroom",
}
_COLOURS = {
    "instructor": "#1f6fb4",
    "learner": "#e07b00",
    "effective": "#7a4fb0",
    "counted": "#2a9d3a",
    "voiced": "#c2185b",
    "video": "#00838f",
    "video_low": "#9e9e9e",
}
# Status of a minute → (colour, words). The order is the order reasons are tried in.
REASONS: Mapping[str, tuple[str, str]] = {
    "counted": ("#2a9d3a", "计入 counted"),
    "nobody_present": ("#eeeeee", "无人在线 nobody present"),
    "outside_open_hours": ("#b0b0b0", "开放时段外 outside open hours"),
    "not_both_present": ("#f4a259", "未同时在线 not both present"),
    "instructor_absent": ("#f4a259", "教师不在线 instructor absent"),
    "instructor_not_publishing": ("#d62828", "教师未授课 instructor not publishing"),
    "nobody_receiving": ("#9d4edd", "无人接收 nobody receiving"),
    "not_voiced": ("#e76f51", "无人发言 nobody voiced"),
    "below_minimum": ("#ffb703", "不足最短时长 below minimum"),
    "above_maximum": ("#577590", "超出最长时长 above maximum"),
    "not_effective": ("#6c757d", "未计入 not effective"),
}
MAX_SPANS_LISTED = 12


@dataclass(frozen=True)
class Minute:
    """One minute of a session, as the picture shows it."""

    start: int  # µs, a whole UTC minute
    present: frozenset[str]
    voiced: frozenset[str]
    video: Mapping[str, str]  # person → "live" | "low" (absent: no video, or no rows)
    counted_s: int  # seconds of the minute that counted
    status: str  # a key of REASONS

    def to_json(self) -> dict[str, Any]:
        return {
            "start": self.start, "present": sorted(self.present), "voiced": sorted(self.voiced),
            "video": dict(sorted(self.video.items())), "counted_s": self.counted_s,
            "status": self.status,
        }


@dataclass(frozen=True)
class _Media:
    """What the record and the rows say of the media (None: the record does not say)."""

    voiced: Mapping[str, IntervalSet] | None
    publishing: Mapping[str, IntervalSet] | None
    receiving: Mapping[str, IntervalSet] | None
    rows: Mapping[str, Sequence[MinuteRow]]


def _interval_map(record: object, key: str) -> dict[str, IntervalSet] | None:
    """``voiced`` / ``publishing`` / ``receiving`` of a decoded record (checked the way
    ``active`` is), or of a parsed record that carries them; None when absent."""
    if not isinstance(record, dict):
        value = getattr(record, key, None)
        return dict(value) if isinstance(value, Mapping) else None
    raw = record.get(key)
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise RecordError(key, "must be an object keyed by person id")
    out: dict[str, IntervalSet] = {}
    for pid, pairs in raw.items():
        if not isinstance(pairs, list):
            raise RecordError(f"{key}.{pid}", "must be a list of [start, end] pairs")
        parsed = []
        for i, pair in enumerate(pairs):
            if not isinstance(pair, list) or len(pair) != 2:
                raise RecordError(f"{key}.{pid}[{i}]", "must be a pair [start, end]")
            a = parse_timestamp(pair[0], f"{key}.{pid}[{i}][0]")
            b = parse_timestamp(pair[1], f"{key}.{pid}[{i}][1]")
            if b < a:
                raise RecordError(f"{key}.{pid}[{i}]", "end is before start")
            parsed.append((a, b))
        out[pid] = normalize(parsed)
    return out


def _media(record: object, evidence: Sequence[Mapping[str, Any]] | None) -> _Media:
    return _Media(
        _interval_map(record, "voiced"),
        _interval_map(record, "publishing"),
        _interval_map(record, "receiving"),
        parse_rows(list(evidence)) if evidence else {},
    )


def minute_table(
    record: object,
    policy: Policy,
    calendar: Calendar,
    evidence: Sequence[Mapping[str, Any]] | None = None,
) -> list[Minute]:
    """Every minute of the session (whole UTC minutes from the first to the last active
    instant): who was present, voiced, sending video, and whether it counted or why not."""
    outcome = evaluate(record, policy, calendar)
    return _minutes(outcome, _media(record, evidence), policy)


def outcome_minutes(outcome: SessionOutcome, record: object, policy: Policy) -> list[Minute]:
    """:func:`minute_table` of an outcome already evaluated (the live clock evaluates a
    record once for its figures and its reasons), without evidence rows: a minute's
    status depends only on the record's sets."""
    return _minutes(outcome, _media(record, None), policy)


def _minutes(outcome: SessionOutcome, media: _Media, policy: Policy) -> list[Minute]:
    rec, sets = outcome.record, outcome.sets
    if rec.start is None or rec.end is None:
        return []
    fps, dbov = policy.evidence.live_video_fps, policy.evidence.voiced_dbov
    rows = {(r.person, r.minute): r for person_rows in media.rows.values() for r in person_rows}
    people = [p.id for p in rec.people]
    if rec.form in ("one_to_one", "review"):
        if rec.form == "review":
            learner = rec.learners[0].id
            together = intersect(rec.active.get(learner, ()),
                                 union(*(rec.active.get(p.id, ()) for p in rec.instructors)))
        else:
            together = intersect(*(rec.active.get(pid, ()) for pid in people))
    else:
        together = rec.active.get(rec.instructors[0].id, ())
    teachers = [p.id for p in rec.instructors]
    learners = [p.id for p in rec.learners]
    out = []
    minute = rec.start // US_PER_MINUTE * US_PER_MINUTE
    while minute < rec.end:
        span = ((minute, minute + US_PER_MINUTE),)
        present = frozenset(p for p in people if intersect(rec.active.get(p, ()), span))
        voiced = set()
        video: dict[str, str] = {}
        for pid in people:
            row = rows.get((pid, minute))
            if media.voiced is not None and intersect(media.voiced.get(pid, ()), span):
                voiced.add(pid)
            if row is not None:
                if row.voiced_seconds(dbov) > 0:
                    voiced.add(pid)
                if row.live_seconds(fps) > 0:
                    video[pid] = "live"
                elif row.video_frames > 0:
                    video[pid] = "low"
        counted_s = total(intersect(sets.counted, span)) // 1_000_000
        status = "counted" if intersect(sets.counted, span) else _why_not(
            rec.form, span, present, together, teachers, learners, sets, media,
        )
        out.append(Minute(minute, present, frozenset(voiced), video, counted_s, status))
        minute += US_PER_MINUTE
    return out


def _why_not(
    form: str,
    span: IntervalSet,
    present: frozenset[str],
    together: IntervalSet,
    teachers: list[str],
    learners: list[str],
    sets: SessionSets,
    media: _Media,
) -> str:
    if not present:
        return "nobody_present"
    open_part = intersect(sets.open, span)
    if not open_part:
        return "outside_open_hours"
    usable = intersect(together, open_part)
    if not usable:
        return "instructor_absent" if form in ("lecture", "classroom") else "not_both_present"
    if intersect(sets.effective, span):
        return "above_maximum" if sets.counted else "below_minimum"
    if media.publishing is not None:
        if form == "review":
            voiced = media.voiced or {}
            spoke = union(*(voiced.get(p, ()) for p in (*teachers, *learners)))
            if not intersect(spoke, usable):
                return "not_voiced"
        else:
            taught = union(*(media.publishing.get(p, ()) for p in teachers))
            if not intersect(taught, usable):
                return "instructor_not_publishing"
            if form in ("lecture", "classroom"):
                receiving = media.receiving or {}
                watched = union(*(receiving.get(p, ()) for p in learners))
                if not intersect(watched, usable, taught):
                    return "nobody_receiving"
    return "not_effective"


def render_timeline(
    record: object,
    policy: Policy,
    calendar: Calendar,
    evidence: Sequence[Mapping[str, Any]] | None = None,
) -> str:
    """The SVG (as text) of one session record (decoded JSON or parsed record), with its
    per-minute evidence rows (``GET /sessions/{id}/evidence``) when given."""
    outcome = evaluate(record, policy, calendar)
    media = _media(record, evidence)
    minutes = _minutes(outcome, media, policy)
    rec, sets = outcome.record, outcome.sets
    start, end = rec.start, rec.end
    has_voice = media.voiced is not None or bool(media.rows)
    rows: list[tuple[str, IntervalSet, str]] = [
        (f"{p.id} · {_ROLE[p.role]}", rec.active.get(p.id, ()), _COLOURS[p.role])
        for p in rec.people
    ]
    rows.append(("有效时段 effective (E)", sets.effective, _COLOURS["effective"]))
    rows.append(("计入时段 counted", sets.counted, _COLOURS["counted"]))
    per_minute_row = len(rows)
    counts: dict[str, int] = {}
    for m in minutes:
        counts[m.status] = counts.get(m.status, 0) + 1
    spans = _status_spans(minutes)
    listed = min(len(spans), MAX_SPANS_LISTED)
    legend_lines = 3 + listed + (1 if len(spans) > listed else 0)
    height = TOP + ROW_H * (len(rows) + 1) + 90 + 16 * (len(rec.replay) + legend_lines)

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="13">',
        f"<title>{escape(rec.session_id)} timeline</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        _text(10, 22, f"会话 Session {rec.session_id} · {_FORM.get(rec.form, rec.form)} · "
              f"{rec.programme}", bold=True),
    ]
    counted_words = "是 yes" if outcome.counted else "否 no"
    basis = "media evidence" if media.publishing is not None else "presence only"
    out.append(_text(
        10, 44,
        f"有效时长 effective: {outcome.effective_minutes} min · 计入 counted: {counted_words} · "
        f"学期 term: {outcome.term or '—'} · {calendar.timezone.key} · basis: {basis}",
    ))
    if start is None or end is None:
        out.append(_text(10, TOP + 20, "无在线记录 no active time recorded"))
        out.append("</svg>")
        return "\n".join(out) + "\n"

    pad = max((end - start) // 20, 5 * US_PER_MINUTE)
    lo, hi = start - pad, end + pad

    def x(us: int) -> float:
        return LABEL_W + (us - lo) * PLOT_W / (hi - lo)

    plot_bottom = TOP + ROW_H * (len(rows) + 1)
    # The open-hours band behind all rows.
    for a, b in sets.open:
        left, right = max(a, lo), min(b, hi)
        if left >= right:
            continue
        out.append(
            f'<rect x="{x(left):.1f}" y="{TOP - 6}" width="{x(right) - x(left):.1f}" '
            f'height="{plot_bottom - TOP + 6}" fill="#e3f4e6">'
            f"<title>开放时段 open hours {escape(_span(calendar, a, b))}</title></rect>"
        )
    person_count = len(rec.people)
    for i, (label, intervals, colour) in enumerate(rows):
        y = TOP + i * ROW_H
        is_person = i < person_count
        bar_h = 12 if is_person else BAR_H
        out.append(_text(10, y + BAR_H - 4, label))
        out.append(
            f'<line x1="{LABEL_W}" y1="{y + BAR_H / 2}" x2="{LABEL_W + PLOT_W}" '
            f'y2="{y + BAR_H / 2}" stroke="#dddddd"/>'
        )
        for a, b in intersect(intervals, [(lo, hi)]):
            out.append(
                f'<rect x="{x(a):.1f}" y="{y}" width="{max(x(b) - x(a), 1.0):.1f}" '
                f'height="{bar_h}" fill="{colour}" rx="2">'
                f"<title>{escape(label)}: {escape(_span(calendar, a, b))}</title></rect>"
            )
        if is_person:
            pid = rec.people[i].id
            out.extend(_media_stripes(pid, y, minutes, media, has_voice, calendar, x))
    y = TOP + per_minute_row * ROW_H
    out.append(_text(10, y + BAR_H - 4, "每分钟 per minute: 计入? counted?"))
    for m in minutes:
        colour, words = REASONS[m.status]
        when = f"{calendar.local_datetime(m.start):%m-%d %H:%M}"
        extra = f" ({m.counted_s} s)" if m.status == "counted" and m.counted_s < 60 else ""
        out.append(
            f'<rect x="{x(m.start):.1f}" y="{y}" '
            f'width="{max(x(m.start + US_PER_MINUTE) - x(m.start) - 0.3, 0.7):.1f}" '
            f'height="{BAR_H}" fill="{colour}">'
            f"<title>{escape(when)} {escape(words)}{extra}</title></rect>"
        )
    out.extend(_axis(calendar, lo, hi, plot_bottom, x))

    y = plot_bottom + 50
    out.append(
        f'<rect x="10" y="{y - 11}" width="14" height="12" fill="#e3f4e6" stroke="#9c9"/>'
    )
    out.append(_text(30, y, "开放时段 open hours (green band)"))
    y += 16
    stripes = "stripes under each person: 发言 voiced (pink)"
    stripes += ", 视频 video (teal live, grey below the live frame rate)" if media.rows else (
        ", 授课 publishing (teal)" if media.publishing is not None else "")
    out.append(_text(10, y, stripes if has_voice or media.publishing is not None
                     else "no media evidence: presence only"))
    y += 16
    x_at = 10.0
    for status, (colour, words) in REASONS.items():
        if status not in counts:
            continue
        out.append(f'<rect x="{x_at}" y="{y - 11}" width="12" height="12" fill="{colour}"/>')
        item = f"{words} {counts[status]} min"
        out.append(_text(x_at + 16, y, item))
        x_at += 16 + 7.5 * len(item) + 14
        if x_at > WIDTH - 200:
            x_at = 10.0
            y += 16
    for status, a, b in spans[:listed]:
        y += 16
        out.append(_text(
            10, y, f"{_span_minutes(calendar, a, b)} {REASONS[status][1]} "
            f"({(b - a) // US_PER_MINUTE} min)",
        ))
    if len(spans) > listed:
        y += 16
        out.append(_text(10, y, f"… {len(spans) - listed} more uncounted spans"))
    why = "not drawn" if rec.form == "lecture" else "ignored: replay counts for lectures only"
    for pid, replay in rec.replay.items():
        y += 16
        when = _span(calendar, replay[0][0], replay[-1][1]) if replay else ""
        out.append(_text(10, y, f"回放 replay {pid}: {minutes_of(replay)} min ({why}) {when}"))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _media_stripes(
    pid: str,
    y: int,
    minutes: list[Minute],
    media: _Media,
    has_voice: bool,
    calendar: Calendar,
    x: Callable[[int], float],
) -> list[str]:
    """The thin stripes under a person's bar: voiced, then video (rows) or publishing."""
    out = []
    if has_voice:
        for a, b in _runs(m.start for m in minutes if pid in m.voiced):
            out.append(
                f'<rect x="{x(a):.1f}" y="{y + 14}" width="{max(x(b) - x(a), 1.0):.1f}" '
                f'height="5" fill="{_COLOURS["voiced"]}">'
                f"<title>{escape(pid)} 发言 voiced: {escape(_span_minutes(calendar, a, b))}"
                f"</title></rect>"
            )
    if media.rows:
        for kind in ("live", "low"):
            colour = _COLOURS["video" if kind == "live" else "video_low"]
            words = "视频 video" if kind == "live" else "视频帧率过低 video below live rate"
            for a, b in _runs(m.start for m in minutes if m.video.get(pid) == kind):
                out.append(
                    f'<rect x="{x(a):.1f}" y="{y + 21}" width="{max(x(b) - x(a), 1.0):.1f}" '
                    f'height="5" fill="{colour}">'
                    f"<title>{escape(pid)} {words}: {escape(_span_minutes(calendar, a, b))}"
                    f"</title></rect>"
                )
    elif media.publishing is not None:
        for a, b in media.publishing.get(pid, ()):
            out.append(
                f'<rect x="{x(a):.1f}" y="{y + 21}" width="{max(x(b) - x(a), 1.0):.1f}" '
                f'height="5" fill="{_COLOURS["video"]}">'
                f"<title>{escape(pid)} 授课 publishing: {escape(_span(calendar, a, b))}"
                f"</title></rect>"
            )
    return out


def _runs(starts: Any) -> list[tuple[int, int]]:
    """Minute starts (ascending) → runs of consecutive minutes as ``(start, end)``."""
    out: list[tuple[int, int]] = []
    for start in starts:
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], start + US_PER_MINUTE)
        else:
            out.append((start, start + US_PER_MINUTE))
    return out


def _status_spans(minutes: list[Minute]) -> list[tuple[str, int, int]]:
    """Consecutive uncounted minutes of one reason as ``(status, start, end)``
    (minutes with nobody present are left out)."""
    out: list[tuple[str, int, int]] = []
    for m in minutes:
        if m.status in ("counted", "nobody_present"):
            continue
        if out and out[-1][0] == m.status and out[-1][2] == m.start:
            out[-1] = (m.status, out[-1][1], m.start + US_PER_MINUTE)
        else:
            out.append((m.status, m.start, m.start + US_PER_MINUTE))
    return out


def _span_minutes(calendar: Calendar, a: int, b: int) -> str:
    """Local ``MM-DD HH:MM–HH:MM`` of whole minutes."""
    la, lb = calendar.local_datetime(a), calendar.local_datetime(b)
    end_fmt = "%H:%M" if la.date() == lb.date() else "%m-%d %H:%M"
    return f"{la:%m-%d %H:%M}–{lb.strftime(end_fmt)}"


def _text(x: float, y: float, words: str, *, bold: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return f'<text x="{x}" y="{y}"{weight}>{escape(words)}</text>'


def _span(calendar: Calendar, a: int, b: int) -> str:
    """Local ``MM-DD HH:MM:SS–HH:MM:SS (37 min 50 s)`` of an interval."""
    la, lb = calendar.local_datetime(a), calendar.local_datetime(b)
    seconds = (b - a) // 1_000_000
    end_fmt = "%H:%M:%S" if la.date() == lb.date() else "%m-%d %H:%M:%S"
    return (
        f"{la:%m-%d %H:%M:%S}–{lb.strftime(end_fmt)} "
        f"({seconds // 60} min {seconds % 60} s)"
    )


def _axis(
    calendar: Calendar, lo: int, hi: int, y: int, x: Callable[[int], float]
) -> list[str]:
    """Ticks at a round local-time step, labelled HH:MM (with the date at midnight)."""
    span_min = (hi - lo) / US_PER_MINUTE
    step = next((s for s in _STEPS_MIN if span_min / s <= 10), _STEPS_MIN[-1])
    out = [f'<line x1="{LABEL_W}" y1="{y}" x2="{LABEL_W + PLOT_W}" y2="{y}" stroke="#555"/>']
    local = calendar.local_datetime(lo)
    tick = local.replace(hour=0, minute=0, second=0, microsecond=0)
    delta = timedelta(minutes=step)
    while to_us(tick) < lo:
        tick += delta
    first = True
    while (us := to_us(tick)) <= hi:
        px = x(us)
        label = tick.strftime("%m-%d %H:%M" if first or (tick.hour, tick.minute) == (0, 0)
                              else "%H:%M")
        out.append(f'<line x1="{px:.1f}" y1="{y}" x2="{px:.1f}" y2="{y + 5}" stroke="#555"/>')
        out.append(
            f'<text x="{px:.1f}" y="{y + 18}" text-anchor="middle" font-size="11">'
            f"{escape(label)}</text>"
        )
        first = False
        tick += delta
    return out
