"""Participant endpoints (join token as bearer): who am I, picture uploads, the
programme's feedback form and review reports, the tutoring teacher's marks and the
learner's settlement (what the session's time earns the teacher, before the rating),
and signed picture downloads.

Every number of the text rules and the feedback window is the programme policy's
(:mod:`recorder.credits.policy`); texts count *visible* characters and need distinct
ones (:mod:`recorder.credits.texts`), and the one window function decides, anchored on
the session's ``ended_at``, as the credits do.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any, get_args

from aiohttp import web

from recorder.credits import texts
from recorder.credits.policy import Policy
from recorder.credits.records import RecordError
from recorder.credits.rules import compute_session, fmt2
from signaling.server import signed_urls
from signaling.server.current_settings import calendar_of, policy_of, versions_of
from signaling.server.http_util import (
    error,
    invalid,
    json_body,
    participant_session,
    read_body,
    services,
)
from signaling.server.live_clock import live_figures
from signaling.server.session_record import session_record
from signaling.server.tokens import Grant
from signaling.session import declarations as d
from signaling.session import schema
from signaling.session.messages import UPLOAD_ID
from signaling.session.schema import Invalid
from signaling.session.spec import Person
from signaling.session.timefmt import iso_at, parse
from signaling.store.sqlite import StoredSession

routes = web.RouteTableDef()

MAX_UPLOAD = 8 * 1024 * 1024
# Content is checked by its first bytes, not by what the browser claims.
MAGIC = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),
}


@dataclass(frozen=True)
class UploadQuota:
    """Pictures one person may upload in one session (docs/protocol.md). The web
    client sends photos as JPEGs of at most 1600 px (a few hundred KiB): a lesson's
    worth is far below either bound."""

    files: int = 200
    bytes: int = 64 * 1024 * 1024


UPLOAD_QUOTA = UploadQuota()
SATISFACTION: tuple[str, ...] = get_args(d.Satisfaction)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _us(at: str) -> int:
    """µs since the epoch of an ISO time as the store writes it."""
    return (parse(at) - _EPOCH) // _US


def _now_us(request: web.Request) -> int:
    return round(services(request).clock.time() * 1_000_000)


def window_end(session: StoredSession, policy: Policy) -> int | None:
    """The last instant (µs, inclusive) of the feedback window: the session's end plus
    the policy's ``feedback.window_hours`` (the same function the credits use). None
    while the session has not ended."""
    if session.ended_at is None:
        return None
    return texts.window_end_us(_us(session.ended_at), policy.feedback_window_hours)


def _iso_us(us: int | None) -> str | None:
    return None if us is None else iso_at(us / 1_000_000)


def _feedback_open(session: StoredSession, policy: Policy, now_us: int) -> bool:
    end = window_end(session, policy)
    return end is not None and now_us <= end


def _within_window(session: StoredSession, policy: Policy, now_us: int) -> bool:
    """Not ended yet, or ended no longer ago than the window."""
    end = window_end(session, policy)
    return end is None or now_us <= end


def _hours_text(hours: int) -> str:
    return f"{hours // 24} 天" if hours % 24 == 0 else f"{hours} 小时"


def _closed(what_zh: str, what_en: str, policy: Policy) -> web.Response:
    hours = policy.feedback_window_hours
    days = f"{hours // 24} days" if hours % 24 == 0 else f"{hours} hours"
    return error(
        409,
        "closed",
        f"{what_zh}在课程结束后 {_hours_text(hours)}内提交，现已关闭 / "
        f"{what_en} accepted for {days} after the session ended",
    )


def text_refusal(field: str, text: str, *, min_chars: int, min_distinct: int) -> Invalid | None:
    """Why ``text`` does not count, in Chinese then English (the English sentence is
    :func:`recorder.credits.texts.text_problem`'s), or None when it counts."""
    problem = texts.text_problem(text, min_chars=min_chars, min_distinct=min_distinct)
    if problem is None:
        return None
    shown = texts.visible(text)
    if len(shown) < min_chars:
        zh = (
            f"至少需要 {min_chars} 个可见字符，现在有 {len(shown)} 个"
            "（空格、换行、零宽字符和组合符号不计）"
        )
    else:
        zh = (
            f"至少需要 {min_distinct} 个不同的字符，现在有 {len(set(shown))} 个"
            "（重复同一个字不算内容）"
        )
    return Invalid(field, f"{zh} / {problem}")


def _text_rules(session: StoredSession, policy: Policy, kind: str) -> dict[str, Any]:
    end = window_end(session, policy)
    if kind == "feedback":
        chars, distinct = policy.feedback_min_chars, policy.feedback_min_distinct
    else:
        chars, distinct = policy.report_min_chars, policy.report_min_distinct
    return {
        "min_chars": chars,
        "min_distinct": distinct,
        "window_hours": policy.feedback_window_hours,
        "window_end": _iso_us(end),
    }


def took_part(request: web.Request, session: StoredSession, person: str) -> bool:
    """Whether the presence journal saw ``person`` active in this session at all."""
    spans = services(request).journal.intervals(session.id).get(person, [])
    return sum(end - start for start, end in spans) > 0


@routes.get("/api/v1/me")
async def me(request: web.Request) -> web.Response:
    found = await participant_session(request)
    if isinstance(found, web.Response):
        return found
    grant, session = found
    person = session.spec.person(grant.person)
    if person is None:
        return error(404, "unknown_session", "you are not part of this session")
    svc = services(request)
    now = _now_us(request)
    policy = policy_of(request, session.spec.programme)
    feedback = (await svc.store.submissions("feedback", session.id)).get(person.id)
    answer: dict[str, Any] = {
        "person": person.public(),
        "session": session.wire(),
        "feedback_open": _feedback_open(session, policy, now)
        and person.role == "learner"
        and feedback is None,
        "feedback": feedback,
        "feedback_rules": _text_rules(session, policy, "feedback"),
        "report_rules": None,
        "marks": None,
    }
    if session.spec.form == "review" and person.role == "instructor":
        report = (await svc.store.submissions("reports", session.id)).get(person.id)
        answer["report_rules"] = {
            **_text_rules(session, policy, "report"),
            "open": session.started_at is not None
            and _within_window(session, policy, now)
            and report is None,
            "took_part": took_part(request, session, person.id),
        }
    if session.spec.programme == "tutoring":
        marks = await svc.store.marks(session.id)
        if person.role == "learner":
            marks = {k: v for k, v in marks.items() if k == person.id}
        answer["marks"] = marks
    return web.json_response(answer)


@routes.post("/api/v1/me/uploads")
async def upload(request: web.Request) -> web.Response:
    found = await participant_session(request)
    if isinstance(found, web.Response):
        return found
    grant, session = found
    # Quota and session state first, before the body is read (checked again, with
    # the real size, when the upload is stored).
    size = min(request.content_length or 0, MAX_UPLOAD)
    refused = await _upload_refused(request, grant, session, size)
    if refused is not None:
        return refused
    content_type = request.content_type
    if content_type not in MAGIC:
        return error(415, "unsupported_type", "pictures only: JPEG, PNG, WebP or GIF")
    # The whole body or a 413 (too_large): never a stored prefix of a slow upload.
    data = await read_body(request, MAX_UPLOAD, "a picture")
    if not any(data.startswith(m) for m in MAGIC[content_type]) or (
        content_type == "image/webp" and data[8:12] != b"WEBP"
    ):
        return error(415, "not_a_picture", f"the file is not a {content_type} picture")
    svc = services(request)
    upload_id = "u_" + secrets.token_urlsafe(18)
    folder = svc.config.data_dir / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / upload_id).write_bytes(data)
    now = iso_at(svc.clock.time())
    refusal = await svc.store.add_upload_within(
        upload_id,
        grant.session,
        grant.person,
        content_type,
        len(data),
        now,
        max_files=UPLOAD_QUOTA.files,
        max_bytes=UPLOAD_QUOTA.bytes,
        after_end=await _may_upload_after_end(request, grant, session),
    )
    if refusal is not None:  # over the quota or ended meanwhile: nothing kept
        (folder / upload_id).unlink(missing_ok=True)
        return _upload_error(refusal)
    return web.json_response(
        {"id": upload_id, "url": svc.sign_url(f"/uploads/{upload_id}")}, status=201
    )


async def _may_upload_after_end(request: web.Request, grant: Grant, session: StoredSession) -> bool:
    """Reviewers write their report during or after a review: until it is sent they
    may still attach pictures. Nobody else uploads after the end."""
    if session.spec.form != "review" or grant.role != "instructor":
        return False
    return grant.person not in await services(request).store.submissions("reports", session.id)


async def _upload_refused(
    request: web.Request, grant: Grant, session: StoredSession, size: int
) -> web.Response | None:
    if session.ended_at is not None and not await _may_upload_after_end(request, grant, session):
        return _upload_error("session_ended")
    files, used = await services(request).store.upload_usage(session.id, grant.person)
    if files + 1 > UPLOAD_QUOTA.files or used + size > UPLOAD_QUOTA.bytes:
        return _upload_error("quota_exceeded")
    return None


def _upload_error(code: str) -> web.Response:
    if code == "session_ended":
        return error(409, "session_ended", "the session has ended: pictures can no longer be sent")
    mib = UPLOAD_QUOTA.bytes // (1024 * 1024)
    return error(
        413,
        "quota_exceeded",
        f"you have sent as many pictures as a session allows "
        f"({UPLOAD_QUOTA.files} pictures, {mib} MiB in all)",
    )


@routes.get("/uploads/{id}")
async def download(request: web.Request) -> web.StreamResponse:
    upload_id = request.match_info["id"]
    svc = services(request)
    ok = UPLOAD_ID.fullmatch(upload_id) and signed_urls.check(
        svc.config.secret,
        f"/uploads/{upload_id}",
        request.query.get("exp"),
        request.query.get("sig"),
        now=svc.clock.time(),
    )
    if not ok:
        return error(403, "forbidden", "this link is not valid (or has expired)")
    meta = await svc.store.upload(upload_id)
    if meta is None:
        return error(404, "not_found", "no such picture")
    response = web.FileResponse(svc.config.data_dir / "uploads" / upload_id)
    response.content_type = meta["content_type"]
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@routes.post("/api/v1/me/feedback")
async def feedback(request: web.Request) -> web.Response:
    found = await participant_session(request)
    if isinstance(found, web.Response):
        return found
    grant, session = found
    if grant.role != "learner":
        return error(403, "forbidden", "反馈由学生填写 / feedback is given by learners")
    if session.ended_at is None:
        return error(
            409, "not_ended", "课程结束后才能填写反馈 / feedback opens when the session has ended"
        )
    policy = policy_of(request, session.spec.programme)
    if not _feedback_open(session, policy, _now_us(request)):
        return _closed("反馈", "feedback is", policy)
    try:
        body = _parse_feedback(await json_body(request), policy)
    except Invalid as exc:
        return invalid(exc)
    return await _store_submission(request, "feedback", grant.session, grant.person, body)


def _parse_feedback(value: Any, policy: Policy) -> dict[str, Any]:
    form = schema.decode(d.Feedback, value)
    if form.satisfaction is None and policy.programme == "training":
        raise Invalid("satisfaction", "请选择服务满意度 / satisfaction is needed in training")
    refused = text_refusal(
        "text",
        form.text,
        min_chars=policy.feedback_min_chars,
        min_distinct=policy.feedback_min_distinct,
    )
    if refused is not None:
        raise refused
    return {"rating": form.rating, "satisfaction": form.satisfaction, "text": form.text}


@routes.post("/api/v1/me/report")
async def report(request: web.Request) -> web.Response:
    """A reviewer's report: after the review started, within the feedback window after
    its end, from a reviewer the presence journal saw in it, with a text that counts."""
    found = await participant_session(request)
    if isinstance(found, web.Response):
        return found
    grant, session = found
    svc = services(request)
    if session.spec.form != "review" or grant.role != "instructor":
        return error(
            403,
            "forbidden",
            "检课报告由检课的指导教师填写 / "
            "review reports are written by the reviewers of a review",
        )
    try:
        text, attachments = _parse_report(await json_body(request))
    except Invalid as exc:
        return invalid(exc)
    if session.started_at is None:
        return error(
            409,
            "not_started",
            "检课还没有开始：报告在检课开始之后提交 / the review has not started: "
            "a report is accepted once it has",
        )
    policy = policy_of(request, session.spec.programme)
    if not _within_window(session, policy, _now_us(request)):
        return _closed("检课报告", "reports are", policy)
    if not took_part(request, session, grant.person):
        return error(
            403,
            "not_present",
            "没有你参加这次检课的记录：只有参加了研讨的指导教师才能提交报告 / "
            "you did not take part in this review: only a reviewer who joined the "
            "discussion may report on it",
        )
    refused = text_refusal(
        "text", text, min_chars=policy.report_min_chars, min_distinct=policy.report_min_distinct
    )
    if refused is not None:
        return invalid(refused)
    for i, upload_id in enumerate(attachments):
        meta = await svc.store.upload(upload_id)
        if meta is None or meta["session_id"] != session.id:
            return error(400, "invalid", "not uploaded in this session", f"attachments[{i}]")
    body = {"text": text, "attachments": attachments}
    return await _store_submission(request, "reports", grant.session, grant.person, body)


def _parse_report(value: Any) -> tuple[str, list[str]]:
    report = schema.decode(d.Report, value)
    return report.text, list(report.attachments)


MARK_TEXTS = ("problem", "subject", "knowledge_point")


@routes.post("/api/v1/me/marks")
async def mark(request: web.Request) -> web.Response:
    """The tutoring teacher marks a learner of the session: problem, subject, knowledge
    point ("对被辅导学生、辅导问题等进行必要的在线标记", seed 000). During the session or
    within the feedback window after it; marking a learner again replaces the mark.
    The body is decoded first (400), then who and when (403/409)."""
    found = await participant_session(request)
    if isinstance(found, web.Response):
        return found
    grant, session = found
    try:
        body = schema.decode(d.Mark, await json_body(request))
    except Invalid as exc:
        return invalid(exc)
    if session.spec.programme != "tutoring" or grant.role != "instructor":
        return error(
            403,
            "forbidden",
            "辅导标记由辅导教师填写 / marks are given by the teacher of a tutoring session",
        )
    if session.started_at is None:
        return error(
            409,
            "not_started",
            "辅导还没有开始 / the session has not started: mark a learner during or after it",
        )
    if not _within_window(session, policy_of(request, session.spec.programme),
                          _now_us(request)):
        return _closed("辅导标记", "marks are", policy_of(request, session.spec.programme))
    learner = session.spec.person(body.learner)
    if learner is None or learner.role != "learner":
        return error(
            400, "invalid", "不是这次辅导的学生 / not a learner of this session", "learner"
        )
    values = {k: getattr(body, k).strip() for k in MARK_TEXTS}
    for key in MARK_TEXTS:
        if not texts.visible(values[key]):
            return error(400, "invalid", "请填写这一项 / must have visible text", key)
    svc = services(request)
    stored = {**values, "marked_at": iso_at(svc.clock.time()), "by": grant.person}
    await svc.store.put_mark(session.id, learner.id, stored)
    return web.json_response({"learner": learner.id, **stored})


@routes.get("/api/v1/me/clock")
async def clock(request: web.Request) -> web.Response:
    """The clock that pays (issue 12, item 3): elapsed time for everyone; for the
    instructor also the minutes the credits engine counts so far, the form's limits,
    and why the present is not counting (a code of :data:`recorder.credits.clock.CODES`).
    A learner gets no counted figures: they are the teacher's pay. Except in a review,
    where the "learner" is the presenting teacher: the discussion's minutes toward the
    form's 45 count for them as for the reviewers, so their page shows them too."""
    found = await participant_session(request)
    if isinstance(found, web.Response):
        return found
    grant, session = found
    policy = policy_of(request, session.spec.programme)
    limits = policy.forms[session.spec.form].limits if session.spec.form in policy.forms \
        else None
    now = services(request).clock.time()
    started = _us(session.started_at) / 1e6 if session.started_at else None
    until = _us(session.ended_at) / 1e6 if session.ended_at else now
    answer: dict[str, Any] = {
        "started_at": session.started_at,
        "ended_at": session.ended_at,
        "elapsed_s": max(0, int(until - started)) if started is not None else 0,
        "min_minutes": limits.min_minutes if limits else None,
        "max_minutes": limits.max_minutes if limits else None,
        "counted_minutes": None,
        "meets_minimum": None,
        "counting": None,
        "why_not": None,
        "took_part": None,
        "final": session.ended_at is not None,
    }
    if grant.role == "instructor" or session.spec.form == "review":
        try:
            figures = await live_figures(request, session)
        except RecordError as exc:
            return error(422, "uncomputable", str(exc))
        answer.update(figures.to_json())
        # From the journal itself: a second's visit is somebody who came (the record
        # keeps whole seconds, the end-of-session summary counts people).
        answer["took_part"] = sum(
            took_part(request, session, p.id) for p in session.spec.people
        )
        answer.update(versions_of(request, session.spec.programme))
    return web.json_response(answer, headers={"Cache-Control": "no-store"})


@routes.get("/api/v1/me/settlement")
async def settlement(request: web.Request) -> web.Response:
    """The learner's payment step of an ended tutoring session ("学生每次被辅导后要根据
    自己实际在线学习的情况（学习时长和学习的实际获得等）……支付在线教师积分", seed 000):
    the effective minutes and the points for time the credits engine gives the teacher
    for them, and what each rating of the learning gain adds per hour."""
    found = await participant_session(request)
    if isinstance(found, web.Response):
        return found
    grant, session = found
    if session.spec.programme != "tutoring" or grant.role != "learner":
        return error(
            403,
            "forbidden",
            "结算由辅导课的学生查看 / the settlement is the learner's step of a tutoring session",
        )
    if session.ended_at is None:
        return error(
            409, "not_ended", "辅导结束后才能结算 / the settlement opens when the session has ended"
        )
    svc = services(request)
    policy = policy_of(request, session.spec.programme)
    record = await session_record(svc, session)
    try:
        result = compute_session(record, policy, calendar_of(request))
    except RecordError as exc:
        return error(422, "uncomputable", str(exc))
    return web.json_response({**_settlement(session, record, result, policy),
                              **versions_of(request, session.spec.programme)})


def _settlement(
    session: StoredSession, record: dict[str, Any], result: dict[str, Any], policy: Policy
) -> dict[str, Any]:
    teacher: Person = session.spec.instructors[0]
    mine = result["people"].get(teacher.id, {})
    minutes = int(mine.get("minutes", 0))
    form = policy.forms[session.spec.form]
    rate = form.rating_points_per_hour
    per_hour = {str(r): rate.rate(Fraction(r)) if rate else Fraction(0) for r in range(1, 6)}
    basis = result.get("basis") or mine.get("basis")
    if basis is None:
        basis = "evidence" if "publishing" in record else "presence"
    return {
        "effective_minutes": minutes,
        "time_points": mine.get("breakdown", {}).get("duration", "0.00"),
        "duration_points_per_hour": fmt2(form.duration_points_per_hour),
        "rating_points_per_hour": {r: fmt2(v) for r, v in per_hour.items()},
        "rating_points": {r: fmt2(v * minutes / 60) for r, v in per_hour.items()},
        "point_value_cny": fmt2(policy.point_value_cny),
        "basis": basis,
        "counted": bool(result.get("counted")),
        "notes": list(mine.get("notes", [])),
        "feedback_window_end": _iso_us(window_end(session, policy)),
    }


async def _store_submission(
    request: web.Request, table: str, session_id: str, person: str, body: dict[str, Any]
) -> web.Response:
    svc = services(request)
    at = iso_at(svc.clock.time())
    if not await svc.store.put_submission(table, session_id, person, at, body):
        return error(409, "already_submitted", "this was already submitted")
    if svc.webhooks is not None:  # who and when only: the text stays here (minors)
        event = "feedback.received" if table == "feedback" else "report.received"
        svc.webhooks.send(event, session_id, {"person": person, "submitted_at": at})
    return web.json_response({"submitted_at": at}, status=201)
