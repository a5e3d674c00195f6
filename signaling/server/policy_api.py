"""The term calendar and the programmes' policy numbers as they are in effect (issue
16): ``GET /api/v1/calendar`` and ``GET /api/v1/policy``, for any signed-in staff member
(and the platform's API key). The console's 校历与规则 page shows them.

The numbers are the ones the server computes with: the latest version of each
(:mod:`signaling.server.current_settings`), which the city office edits in the console
(:mod:`signaling.server.settings_api`); version 0 is the configured file. Each answer
says which version it is and whether the asker may edit (``can_edit``), and for a
policy which numbers an edit may change (``editable``: path → value).

Beside each number the policy file's own comments quote the seed (``四（一）"在线研修时间
为……"``); :func:`seed_words` reads those quotes so the page can show the seed's words
next to the numbers that carry them, without a second copy of the text to drift.
Holiday names come the same way from the calendar document's end-of-line comments
(a version edited in the console writes them so: :func:`recorder.credits.editing.calendar_text`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, timedelta
from fractions import Fraction
from functools import cache
from typing import Any

from aiohttp import web

from recorder.credits.calendar import Calendar, OpenHours
from recorder.credits.editing import CALENDAR, editable_numbers, holiday_names, policy_kind
from recorder.credits.policy import BUILT_IN, POLICY_DIR, FormPolicy, Policy, RatingRate
from recorder.credits.supervision import rules_of
from signaling.server.access import viewer
from signaling.server.current_settings import InEffect, calendar_of, policy_of
from signaling.server.http_util import services
from signaling.server.settings_api import may_edit

routes = web.RouteTableDef()
EDITING = ("由市级管理员在控制台修改，每次修改都经过校验并留有历史；修改对此后计算的所有数字生效，"
           "包括过去课程的结算 (changed by the city office in the console, checked and kept "
           "in a history; a change applies to every figure computed from then on, past "
           "sessions' statements included)")
_HEADER = re.compile(r"^\[\s*([A-Za-z0-9_.]+)\s*\]\s*(?:#.*)?$")
_KEY = re.compile(r"^([A-Za-z0-9_]+)\s*=")
# A seed reference (四（一）, 五（二）2, 三.3) and the quotes after it; a quote counts
# as the seed's words when it holds Chinese.
_REF = re.compile(r"[一二三四五六七八九十]+(?:（[一二三四五六七八九十]+）\d*|\.\d+)")
_QUOTE = re.compile(r"\"([^\"]*[\u4e00-\u9fff][^\"]*)\"")


def _joined(lines: Iterable[str]) -> str:
    """Comment lines as one text: a Chinese sentence broken over lines is rejoined
    without a space, English ones with one."""
    out = ""
    for line in lines:
        if out and line and not (ord(out[-1]) > 127 and ord(line[0]) > 127):
            out += " "
        out += line
    return out


def seed_words(text: str) -> dict[str, list[dict[str, str]]]:
    """The seed quotes of a policy file's comments, by what they stand above: a table
    (``open_hours``, ``forms.lecture``) or a top-level key (``point_value_cny``).
    Each is ``{"ref": "四（一）", "words": "…"}`` (``ref`` "" when none is given)."""
    found: dict[str, list[dict[str, str]]] = {}
    block: list[str] = []
    table = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            block.append(line.lstrip("#").strip())
            continue
        header, key = _HEADER.match(line), _KEY.match(line)
        target = (header.group(1) if header else
                  (f"{table}.{key.group(1)}" if table else key.group(1)) if key else None)
        if header:
            table = header.group(1)
        if target is not None and block:
            quotes = _quotes(_joined(block))
            if quotes:
                found[target] = quotes
        block = []  # a blank line or a value ends the comment that stood above
    return found


def _quotes(comment: str) -> list[dict[str, str]]:
    out = []
    ref = ""
    at = 0
    for quote in _QUOTE.finditer(comment):
        refs = _REF.findall(comment, at, quote.start())
        if refs:
            ref = refs[-1]  # several quotes after one reference share it
        out.append({"ref": ref, "words": quote.group(1)})
        at = quote.end()
    return out


def _num(value: int | Fraction) -> int | float:
    """A policy number for JSON: whole numbers stay whole."""
    return int(value) if Fraction(value).denominator == 1 else float(value)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _hours(hours: OpenHours) -> dict[str, Any]:
    return {"terms_only": hours.terms_only,
            "working_day": [[_hhmm(a), _hhmm(b)] for a, b in hours.working_day],
            "rest_day": [[_hhmm(a), _hhmm(b)] for a, b in hours.rest_day]}


def _rating(rate: RatingRate | None) -> dict[str, Any] | None:
    if rate is None:
        return None
    return {"at_one_star": _num(rate.at_one_star), "per_star": _num(rate.per_star),
            "at_five_stars": _num(rate.rate(Fraction(5))),
            "without_feedback": _num(rate.without_feedback)}


def form_json(form: FormPolicy) -> dict[str, Any]:
    """The numbers that apply to the form (the others stay zero in the policy)."""
    out: dict[str, Any] = {"limits": {"min_minutes": form.limits.min_minutes,
                                      "max_minutes": form.limits.max_minutes}}
    if form.name in ("one_to_one", "classroom"):
        out["duration_points_per_hour"] = _num(form.duration_points_per_hour)
        out["rating_points_per_hour"] = _rating(form.rating_points_per_hour)
    if form.name == "lecture":
        out.update(live_points_per_hour=_num(form.live_points_per_hour),
                   performance_points_per_hour=_rating(form.performance_points_per_hour),
                   viewers_per_point=form.viewers_per_point,
                   viewer_points_per_hour_max=form.viewer_points_per_hour_max)
    if form.name == "review":
        out.update(max_reviewers=form.max_reviewers, report_points=_num(form.report_points),
                   discussion_points=_num(form.discussion_points),
                   report_hours=form.report_hours, discussion_hours=form.discussion_hours)
    if form.name in ("lecture", "classroom"):
        out["min_viewers"] = form.min_viewers
    if form.name in ("one_to_one", "review"):
        out["conversation_window_s"] = form.conversation_window_s
    return out


def policy_json(policy: Policy, seed: dict[str, list[dict[str, str]]]) -> dict[str, Any]:
    study = policy.study
    return {
        "programme": policy.programme,
        "point_value_cny": _num(policy.point_value_cny),
        "open_hours": _hours(policy.open_hours),
        "feedback": {"window_hours": policy.feedback_window_hours,
                     "min_chars": policy.feedback_min_chars,
                     "min_distinct_chars": policy.feedback_min_distinct},
        "reports": {"min_chars": policy.report_min_chars,
                    "min_distinct_chars": policy.report_min_distinct},
        "evidence": {"voiced_dbov": policy.evidence.voiced_dbov,
                     "voice_hold_s": policy.evidence.voice_hold_s,
                     "live_video_fps": policy.evidence.live_video_fps,
                     "report_within_s": policy.evidence.report_within_s},
        "study": None if study is None else {
            "minutes_per_hour": study.minutes_per_hour,
            "hours_per_credit": study.hours_per_credit,
            "max_credits_per_year": study.max_credits_per_year},
        "caps": {"sessions_per_form_per_term": policy.sessions_per_form_per_term,
                 "points_per_term": None if policy.points_per_term is None
                 else _num(policy.points_per_term)},
        "school_rule": {"same_school_no_points": policy.same_school_no_points,
                        "same_district_no_points": policy.same_district_no_points},
        "forms": {name: form_json(form) for name, form in policy.forms.items()},
        # The supervisor report's thresholds in effect (the file's [supervision] over
        # the defaults), as GET /api/v1/supervision states them under "rules".
        "supervision": rules_of(policy).to_json(),
        "seed": seed,
    }


@cache
def _policy_seed(programme: str) -> dict[str, list[dict[str, str]]]:
    return seed_words((POLICY_DIR / f"{programme}.toml").read_text(encoding="utf-8"))


def calendar_json(calendar: Calendar, document: str, sample: bool) -> dict[str, Any]:
    """Terms (with their count of working days), holidays (named where the document
    names them) and make-up working days, in date order."""
    names = holiday_names(document)

    def working_days(first: date, last: date) -> int:
        days = (first + timedelta(days=i) for i in range((last - first).days + 1))
        return sum(1 for d in days if calendar.is_working_day(d))

    return {
        "timezone": str(calendar.timezone),
        "sample": sample,
        "terms": [{"name": t.name, "start": t.start.isoformat(), "end": t.end.isoformat(),
                   "days": (t.end - t.start).days + 1,
                   "working_days": working_days(t.start, t.end)}
                  for t in sorted(calendar.terms, key=lambda t: t.start)],
        "holidays": [{"date": d.isoformat(), "name": names.get(d.isoformat(), "")}
                     for d in sorted(calendar.holidays)],
        "workdays": [{"date": d.isoformat()} for d in sorted(calendar.workdays)],
        "editing": EDITING,
    }


@routes.get("/api/v1/calendar")
async def get_calendar(request: web.Request) -> web.Response:
    scope = await viewer(request)
    if isinstance(scope, web.Response):
        return scope
    current = services(request).settings
    in_effect = current.in_effect(CALENDAR) if current is not None else None
    document = in_effect.document if in_effect is not None else ""
    # The shipped sample, unless a --calendar file or an edit replaced it.
    sample = services(request).config.calendar is None and (in_effect is None or
                                                            in_effect.seq == 0)
    body = calendar_json(calendar_of(request), document, sample)
    body.update(version=_version(in_effect), can_edit=may_edit(request, scope))
    return web.json_response(body)


def _version(in_effect: InEffect | None) -> dict[str, Any]:
    return in_effect.wire() if in_effect is not None else {"seq": 0, "at": None, "who": "",
                                                           "note": ""}


@routes.get("/api/v1/policy")
async def get_policy(request: web.Request) -> web.Response:
    scope = await viewer(request)
    if isinstance(scope, web.Response):
        return scope
    current = services(request).settings
    programmes = {}
    for name in BUILT_IN:
        body = policy_json(policy_of(request, name), _policy_seed(name))
        in_effect = current.in_effect(policy_kind(name)) if current is not None else None
        body["version"] = _version(in_effect)
        # The numbers an edit may change (path → value; null: absent, an optional one).
        body["editable"] = editable_numbers(in_effect.document) if in_effect else {}
        programmes[name] = body
    return web.json_response({"programmes": programmes, "editing": EDITING,
                              "can_edit": may_edit(request, scope)})
