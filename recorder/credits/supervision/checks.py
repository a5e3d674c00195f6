"""The flags of one session, one function per kind (definitions in the package
docstring and ``docs/supervision.md``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from recorder.credits.calendar import Calendar, from_us
from recorder.credits.intervals import IntervalSet, difference, intersect, normalize, total, union
from recorder.credits.places import same_place
from recorder.credits.policy import Policy
from recorder.credits.supervision.facts import MinuteRow, PersonFacts, SessionFacts, TextFacts
from recorder.credits.supervision.flags import Flag
from recorder.credits.supervision.rules import (
    MAX_GAP_DAYS,
    MAX_LISTED,
    US_PER_MINUTE,
    US_PER_SECOND,
    SupervisionRules,
    number_json,
)
from recorder.credits.texts import text_problem, visible, window_end_us


def session_flags(
    s: SessionFacts,
    rows: dict[str, list[MinuteRow]] | None,
    rules: SupervisionRules,
    policy: Policy,
    calendar: Calendar,
) -> list[Flag]:
    flags: list[Flag] = []
    flags.extend(_publishing(s, rows, rules, calendar))
    flags.extend(_alone(s, rules, calendar))
    flags.extend(_same_place(s, policy))
    flags.extend(_texts(s, policy))
    if rows:
        flags.extend(_video(s, rows, rules, calendar))
        flags.extend(_unsupported(s, rows, rules))
    flags.extend(_outside(s, rules, policy, calendar))
    return flags


def _publishing(
    s: SessionFacts,
    rows: dict[str, list[MinuteRow]] | None,
    rules: SupervisionRules,
    calendar: Calendar,
) -> list[Flag]:
    teachers = [p for p in s.instructors if _minutes(s.present(p.id)) >= 1]
    if not teachers:
        return []
    if s.publishing is None and not rows:
        return [
            Flag(
                s.session_id,
                "no_media_evidence",
                tuple(p.id for p in teachers),
                "presence-basis record: no media evidence, so teaching was not checked "
                "(only presence)",
                {"basis": "presence", "instructors": [p.id for p in teachers]},
            )
        ]
    flags = []
    for p in teachers:
        active = s.present(p.id)
        if s.publishing is not None:
            basis = "record"
            published = s.publishing.get(p.id, ())
        else:
            basis = "evidence rows"
            published = union(*(r.publishing(rules) for r in (rows or {}).get(p.id, ())))
        teaching = intersect(published, active)
        share = Fraction(total(teaching), total(active))
        if share >= rules.min_publishing_share:
            continue
        active_min, teaching_min = _minutes(active), _minutes(teaching)
        quiet = difference(active, teaching)
        flags.append(
            Flag(
                s.session_id,
                "instructor_not_publishing",
                (p.id,),
                f"{p.id} published {teaching_min} of {active_min} active min "
                f"({_percent(share)}, under {_percent(rules.min_publishing_share)}); "
                f"the longest quiet stretch {_longest(quiet, calendar)}",
                {
                    "basis": basis,
                    "active_minutes": active_min,
                    "publishing_minutes": teaching_min,
                    "share": number_json(_round3(share)),
                    "min_share": number_json(rules.min_publishing_share),
                    "not_publishing_minutes": _minutes(quiet),
                    **_listed("not_publishing", quiet),
                },
            )
        )
    return flags


def _alone(s: SessionFacts, rules: SupervisionRules, calendar: Calendar) -> list[Flag]:
    learners = union(*(s.present(p.id) for p in s.learners))
    flags = []
    for p in s.instructors:
        active = s.present(p.id)
        alone = difference(active, learners)
        minutes = _minutes(alone)
        if minutes < rules.alone_min_minutes:
            continue
        flags.append(
            Flag(
                s.session_id,
                "alone",
                (p.id,),
                f"{p.id} alone for {minutes} of {_minutes(active)} active min "
                f"(longest {_longest(alone, calendar)})"
                + ("; no learner was ever present" if not learners else ""),
                {
                    "alone_minutes": minutes,
                    "active_minutes": _minutes(active),
                    "learner_minutes": _minutes(learners),
                    **_listed("alone", alone),
                },
            )
        )
    return flags


def _same_place(s: SessionFacts, policy: Policy) -> list[Flag]:
    check_school, check_district = policy.same_school_no_points, policy.same_district_no_points
    if not (check_school or check_district):
        return []
    flags = []
    for teacher in s.instructors:
        matches = []
        for learner in s.learners:
            school, school_by_name = same_place(teacher.school, learner.school, district=False)
            district, district_by_name = same_place(
                teacher.district, learner.district, district=True
            )
            school, district = school and check_school, district and check_district
            if not (school or district):
                continue
            matches.append(
                {
                    "learner": learner.id,
                    "same": "school and district"
                    if school and district
                    else "school"
                    if school
                    else "district",
                    "by_name": (school and school_by_name) or (district and district_by_name),
                    "instructor_place": _place_json(teacher),
                    "learner_place": _place_json(learner),
                }
            )
        if not matches:
            continue
        by_name = any(m["by_name"] for m in matches)
        words = "; ".join(f"same {m['same']} as {m['learner']}" for m in matches[:5])
        more = f" and {len(matches) - 5} more" if len(matches) > 5 else ""
        flags.append(
            Flag(
                s.session_id,
                "same_place",
                (teacher.id, *(str(m["learner"]) for m in matches)),
                f"{teacher.id}: {words}{more}" + (" (compared by name)" if by_name else ""),
                {"instructor": teacher.id, "by_name": by_name, "matches": matches},
            )
        )
    return flags


def _place_json(p: PersonFacts) -> dict[str, str]:
    return {
        "school_id": p.school.code,
        "school": p.school.name,
        "district_code": p.district.code,
        "district": p.district.name,
    }


def _texts(s: SessionFacts, policy: Policy) -> list[Flag]:
    flags = []
    anchor = s.ended_at if s.ended_at is not None else s.end
    hours = policy.feedback_window_hours
    for t in s.texts:
        if t.what == "feedback":
            min_chars, min_distinct = policy.feedback_min_chars, policy.feedback_min_distinct
        else:
            min_chars, min_distinct = policy.report_min_chars, policy.report_min_distinct
        if t.text is not None:
            problem = text_problem(t.text, min_chars=min_chars, min_distinct=min_distinct)
            if problem is not None:
                shown = visible(t.text)
                flags.append(
                    Flag(
                        s.session_id,
                        "text_rules",
                        (t.person,),
                        f"{t.what} of {t.person} {problem}",
                        {
                            "what": t.what,
                            "person": t.person,
                            "submitted_at": _iso(t.submitted_at),
                            "code_points": len(t.text),
                            "visible_chars": len(shown),
                            "distinct_chars": len(set(shown)),
                            "min_chars": min_chars,
                            "min_distinct": min_distinct,
                            "problem": problem,
                        },
                    )
                )
        when = _window_problem(s, t, anchor, hours)
        if when is not None:
            flags.append(
                Flag(
                    s.session_id,
                    "text_window",
                    (t.person,),
                    f"{t.what} of {t.person}: {when}",
                    {
                        "what": t.what,
                        "person": t.person,
                        "submitted_at": _iso(t.submitted_at),
                        "session_start": _iso(s.start) if s.start is not None else None,
                        "window_end": _iso(window_end_us(anchor, hours))
                        if anchor is not None
                        else None,
                        "anchored_on": "ended_at" if s.ended_at is not None else "last active",
                        "problem": when,
                    },
                )
            )
    return flags


def _window_problem(s: SessionFacts, t: TextFacts, anchor: int | None, hours: int) -> str | None:
    if s.start is None or anchor is None:
        return "nobody was ever active in the session"
    if t.what == "report" and not s.present(t.person):
        return "the reviewer was never present"
    if t.submitted_at < s.start:
        return "submitted before the session started"
    if t.submitted_at > window_end_us(anchor, hours):
        span = f"{hours // 24} days" if hours % 24 == 0 else f"{hours} hours"
        return f"submitted after the {span} window"
    return None


def _video(
    s: SessionFacts,
    rows: dict[str, list[MinuteRow]],
    rules: SupervisionRules,
    calendar: Calendar,
) -> list[Flag]:
    flags = []
    fps = rules.live_video_fps
    for person in s.people:
        mine = rows.get(person.id, [])
        black = [r for r in mine if r.video_frames > 0 and r.live_seconds(fps) == 0]
        frozen = [
            r
            for r in mine
            if r.video_frames > 0
            and r.live_seconds(fps) > 0
            and r.video_keyframes == 0
            and r.video_bytes < rules.frozen_max_bytes_per_frame * r.video_frames
        ]
        for kind, minutes, need, words in (
            ("black_video", black, rules.black_minutes, f"video below {fps} frames a second"),
            (
                "frozen_video",
                frozen,
                rules.frozen_minutes,
                f"live-rate video without a keyframe, under {rules.frozen_max_bytes_per_frame} "
                "bytes a frame",
            ),
        ):
            runs = [run for run in _runs(minutes) if len(run) >= need]
            if not runs:
                continue
            spans = normalize((run[0].minute, run[-1].minute + US_PER_MINUTE) for run in runs)
            count = sum(len(run) for run in runs)
            in_runs = [r for run in runs for r in run]
            flags.append(
                Flag(
                    s.session_id,
                    kind,
                    (person.id,),
                    f"{person.id}: {words} for {count} min "
                    f"(longest {max(len(run) for run in runs)} min in a row, "
                    f"{_local_span(calendar, spans[0])} first)",
                    {
                        "minutes": count,
                        "threshold_minutes": need,
                        "frames": sum(r.video_frames for r in in_runs),
                        "keyframes": sum(r.video_keyframes for r in in_runs),
                        "bytes": sum(r.video_bytes for r in in_runs),
                        "live_video_fps": fps,
                        **_listed("runs", spans),
                    },
                )
            )
    return flags


def _runs(rows: Sequence[MinuteRow]) -> list[list[MinuteRow]]:
    """Rows (in time order) split into runs of consecutive minutes."""
    runs: list[list[MinuteRow]] = []
    for row in rows:
        if runs and row.minute == runs[-1][-1].minute + US_PER_MINUTE:
            runs[-1].append(row)
        else:
            runs.append([row])
    return runs


def _unsupported(
    s: SessionFacts, rows: dict[str, list[MinuteRow]], rules: SupervisionRules
) -> list[Flag]:
    if s.publishing is None:
        return []
    flags = []
    for person in s.people:
        published = s.publishing.get(person.id, ())
        if not published:
            continue
        by_minute = {r.minute: r for r in rows.get(person.id, [])}
        first = published[0][0] // US_PER_MINUTE * US_PER_MINUTE
        bad: list[int] = []
        minute = first
        while minute < published[-1][1]:
            covered = total(intersect(published, ((minute, minute + US_PER_MINUTE),)))
            if covered >= 30 * US_PER_SECOND:
                row = by_minute.get(minute)
                if row is None or (
                    row.voiced_seconds(rules.voiced_dbov) == 0
                    and row.live_seconds(rules.live_video_fps) == 0
                ):
                    bad.append(minute)
            minute += US_PER_MINUTE
        if len(bad) < rules.unsupported_min_minutes:
            continue
        missing = sum(1 for m in bad if m not in by_minute)
        flags.append(
            Flag(
                s.session_id,
                "publishing_unsupported",
                (person.id,),
                f"{person.id}: {len(bad)} publishing min with no voice and no live video in the "
                f"evidence" + (f" ({missing} with no row at all)" if missing else ""),
                {
                    "minutes": len(bad),
                    "without_row": missing,
                    "listed_minutes": [_iso(m) for m in bad[:MAX_LISTED]],
                    **(
                        {"minutes_not_listed": len(bad) - MAX_LISTED}
                        if len(bad) > MAX_LISTED
                        else {}
                    ),
                },
            )
        )
    return flags


def _outside(
    s: SessionFacts, rules: SupervisionRules, policy: Policy, calendar: Calendar
) -> list[Flag]:
    if s.start is None or s.end is None:
        return []
    everyone = union(*s.active.values())
    open_set = calendar.open_intervals(policy.open_hours, s.start, s.end)
    outside = difference(everyone, open_set)
    minutes = _minutes(outside)
    if minutes < rules.outside_min_minutes:
        return []
    who = tuple(p.id for p in s.people if _minutes(intersect(s.present(p.id), outside)) >= 1)
    return [
        Flag(
            s.session_id,
            "outside_open_hours",
            who,
            f"{minutes} of {_minutes(everyone)} active min outside open hours "
            f"({_longest(outside, calendar)} the longest)",
            {
                "outside_minutes": minutes,
                "active_minutes": _minutes(everyone),
                **_listed("outside", outside),
                **_listed("open", open_set),
            },
        )
    ]


def overlap_flags(
    sessions: Sequence[SessionFacts], rules: Mapping[str, SupervisionRules], calendar: Calendar
) -> list[Flag]:
    order = sorted(
        (s for s in sessions if s.start is not None),
        key=lambda s: (s.start, s.session_id),
    )
    rank = {s.session_id: n for n, s in enumerate(order)}
    by_person: dict[str, list[SessionFacts]] = {}
    for s in order:
        for p in s.people:
            if s.present(p.id):
                by_person.setdefault(p.id, []).append(s)
    flags = []
    for person, mine in sorted(by_person.items()):
        for i, a in enumerate(mine):
            a_set = a.present(person)
            for b in mine[i + 1 :]:
                b_set = b.present(person)
                if b_set[0][0] >= a_set[-1][1] or a_set[0][0] >= b_set[-1][1]:
                    continue
                both = intersect(a_set, b_set)
                minutes = _minutes(both)
                later = b if rank[b.session_id] > rank[a.session_id] else a
                earlier = a if later is b else b
                if minutes < rules[later.programme].overlap_min_minutes:
                    continue
                flags.append(
                    Flag(
                        later.session_id,
                        "overlap",
                        (person,),
                        f"{person} active in {earlier.session_id} and {later.session_id} at once "
                        f"for {minutes} min (from {_local(calendar, both[0][0])})",
                        {
                            "person": person,
                            "sessions": [earlier.session_id, later.session_id],
                            "minutes": minutes,
                            **_listed("both", both),
                        },
                    )
                )
    return flags


def same_pair_flags(
    sessions: Sequence[SessionFacts],
    rules: Mapping[str, SupervisionRules],
    policies: Mapping[str, Policy],
    calendar: Calendar,
    window: tuple[date, date] | None,
) -> list[Flag]:
    met: dict[tuple[str, str, str], dict[date, list[SessionFacts]]] = {}
    for s in sessions:
        learners = s.learners
        if len(learners) != 1 or s.start is None or not s.present(learners[0].id):
            continue
        on = calendar.local_date(s.start)
        for instructor in s.instructors:
            if s.present(instructor.id):
                key = (s.programme, instructor.id, learners[0].id)
                met.setdefault(key, {}).setdefault(on, []).append(s)
    flags = []
    for (programme, teacher, learner), days in sorted(met.items()):
        policy = policies[programme]

        def is_open(day: date, policy: Policy = policy) -> bool:
            return bool(calendar.windows_on(policy.open_hours, day))

        need = rules[programme].same_pair_days
        if window is not None:
            open_days = sum(
                1
                for n in range((window[1] - window[0]).days + 1)
                if is_open(window[0] + timedelta(days=n))
            )
            need = max(2, min(need, open_days))
        ordered: list[date | None] = [*sorted(days), None]
        run = [ordered[0]] if ordered[0] is not None else []
        for next_day in ordered[1:]:
            if next_day is not None and _consecutive(run[-1], next_day, is_open):
                run.append(next_day)
                continue
            if len(run) >= need:
                in_run = sorted(
                    (s for d in run for s in days[d]), key=lambda s: (s.start, s.session_id)
                )
                flags.append(
                    Flag(
                        in_run[-1].session_id,
                        "same_pair_daily",
                        (teacher, learner),
                        f"{teacher} and {learner} met on {len(run)} consecutive open days "
                        f"({run[0].isoformat()} to {run[-1].isoformat()})",
                        {
                            "days": [d.isoformat() for d in run],
                            "sessions": [s.session_id for s in in_run],
                            "run_days": len(run),
                            "needed_days": need,
                        },
                    )
                )
            if next_day is not None:
                run = [next_day]
    return flags


def _consecutive(before: date, after: date, is_open: Callable[[date], bool]) -> bool:
    """Whether no open day lies strictly between the two dates."""
    gap = (after - before).days
    if gap > MAX_GAP_DAYS:
        return False
    return not any(is_open(before + timedelta(days=n)) for n in range(1, gap))


# --- small helpers --------------------------------------------------------------------


def _minutes(s: IntervalSet) -> int:
    return total(s) // US_PER_MINUTE


def _iso(us: int) -> str:
    """µs since the epoch → ``2022-03-07T10:00:00Z`` (milliseconds when not whole)."""
    moment = from_us(us)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if us % US_PER_SECOND:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "Z"


def _listed(name: str, s: IntervalSet) -> dict[str, Any]:
    """``{name: [[start, end], …]}`` (ISO), at most :data:`MAX_LISTED`, plus how many more."""
    out: dict[str, Any] = {name: [[_iso(a), _iso(b)] for a, b in s[:MAX_LISTED]]}
    if len(s) > MAX_LISTED:
        out[f"{name}_not_listed"] = len(s) - MAX_LISTED
    return out


def _local(calendar: Calendar, us: int) -> str:
    return f"{calendar.local_datetime(us):%m-%d %H:%M}"


def _local_span(calendar: Calendar, iv: tuple[int, int]) -> str:
    a, b = calendar.local_datetime(iv[0]), calendar.local_datetime(iv[1])
    end = f"{b:%H:%M}" if a.date() == b.date() else f"{b:%m-%d %H:%M}"
    return f"{a:%m-%d %H:%M}–{end}"


def _longest(s: IntervalSet, calendar: Calendar) -> str:
    if not s:
        return "none"
    a, b = max(s, key=lambda iv: (iv[1] - iv[0], -iv[0]))
    return f"{(b - a) // US_PER_MINUTE} min at {_local_span(calendar, (a, b))}"


def _percent(share: Fraction) -> str:
    return f"{float(share) * 100:.0f}%"


def _round3(value: Fraction) -> Fraction:
    return Fraction(round(value * 1000), 1000)
