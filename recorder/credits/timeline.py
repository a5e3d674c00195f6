"""A session's timeline as an SVG picture, so a person checking a payment can see why a
minute did or did not count.

Rows, top to bottom: each person's active intervals, the session's effective set E
(the form's rule, clipped to open hours) and the counted set (E, its first maximum
minutes, or nothing below the minimum). The open-hours windows are a green band behind
every row. Labels are Chinese and English; times on the axis and in the hover titles
are local to the calendar's zone. Replay intervals (often on another day) are listed
under the picture rather than drawn.

Plain string building; no dependencies.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from html import escape

from recorder.credits.calendar import Calendar, to_us
from recorder.credits.intervals import IntervalSet, intersect
from recorder.credits.policy import Policy
from recorder.credits.rules import US_PER_MINUTE, evaluate, minutes_of

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
}


def render_timeline(record: object, policy: Policy, calendar: Calendar) -> str:
    """The SVG (as text) of one session record (decoded JSON or parsed record)."""
    outcome = evaluate(record, policy, calendar)
    rec, sets = outcome.record, outcome.sets
    start, end = rec.start, rec.end
    rows: list[tuple[str, IntervalSet, str]] = [
        (f"{p.id} · {_ROLE[p.role]}", rec.active.get(p.id, ()), _COLOURS[p.role])
        for p in rec.people
    ]
    rows.append(("有效时段 effective (E)", sets.effective, _COLOURS["effective"]))
    rows.append(("计入时段 counted", sets.counted, _COLOURS["counted"]))
    height = TOP + ROW_H * len(rows) + 90 + 16 * len(rec.replay)

    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="13">',
        f"<title>{escape(rec.session_id)} timeline</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        _text(10, 22, f"会话 Session {rec.session_id} · {_FORM.get(rec.form, rec.form)} · "
              f"{rec.programme}", bold=True),
    ]
    counted_words = "是 yes" if outcome.counted else "否 no"
    out.append(_text(
        10, 44,
        f"有效时长 effective: {outcome.effective_minutes} min · 计入 counted: {counted_words} · "
        f"学期 term: {outcome.term or '—'} · {calendar.timezone.key}",
    ))
    if start is None or end is None:
        out.append(_text(10, TOP + 20, "无在线记录 no active time recorded"))
        out.append("</svg>")
        return "\n".join(out) + "\n"

    pad = max((end - start) // 20, 5 * US_PER_MINUTE)
    lo, hi = start - pad, end + pad

    def x(us: int) -> float:
        return LABEL_W + (us - lo) * PLOT_W / (hi - lo)

    plot_bottom = TOP + ROW_H * len(rows)
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
    for i, (label, intervals, colour) in enumerate(rows):
        y = TOP + i * ROW_H
        out.append(_text(10, y + BAR_H - 4, label))
        out.append(
            f'<line x1="{LABEL_W}" y1="{y + BAR_H / 2}" x2="{LABEL_W + PLOT_W}" '
            f'y2="{y + BAR_H / 2}" stroke="#dddddd"/>'
        )
        for a, b in intersect(intervals, [(lo, hi)]):
            out.append(
                f'<rect x="{x(a):.1f}" y="{y}" width="{max(x(b) - x(a), 1.0):.1f}" '
                f'height="{BAR_H}" fill="{colour}" rx="2">'
                f"<title>{escape(label)}: {escape(_span(calendar, a, b))}</title></rect>"
            )
    out.extend(_axis(calendar, lo, hi, plot_bottom, x))

    y = plot_bottom + 50
    out.append(
        f'<rect x="10" y="{y - 11}" width="14" height="12" fill="#e3f4e6" stroke="#9c9"/>'
    )
    out.append(_text(30, y, "开放时段 open hours (green band)"))
    why = "not drawn" if rec.form == "lecture" else "ignored: replay counts for lectures only"
    for pid, replay in rec.replay.items():
        y += 16
        when = _span(calendar, replay[0][0], replay[-1][1]) if replay else ""
        out.append(_text(10, y, f"回放 replay {pid}: {minutes_of(replay)} min ({why}) {when}"))
    out.append("</svg>")
    return "\n".join(out) + "\n"


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
