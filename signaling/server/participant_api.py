"""Participant endpoints (join token as bearer): who am I, picture uploads, the
programme's feedback form and review reports, and signed picture downloads.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, get_args

from aiohttp import web

from recorder.credits.records import feedback_chars
from signaling.server import signed_urls
from signaling.server.http_util import (
    error,
    invalid,
    json_body,
    participant_session,
    read_body,
    services,
)
from signaling.server.tokens import Grant
from signaling.session import declarations as d
from signaling.session import schema
from signaling.session.messages import UPLOAD_ID
from signaling.session.schema import Invalid
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

# "需在7天内对获得的研修服务提供反馈和评价 … 不少于200字" (seed 001, 四(四)2).
FEEDBACK_WINDOW = timedelta(days=7)
FEEDBACK_MIN_CHARS = d.FEEDBACK_MIN_CHARS
SATISFACTION: tuple[str, ...] = get_args(d.Satisfaction)


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
    feedback = (await svc.store.submissions("feedback", session.id)).get(person.id)
    return web.json_response(
        {
            "person": person.public(),
            "session": session.wire(),
            "feedback_open": _feedback_open(session.ended_at, svc.clock.time())
            and person.role == "learner"
            and feedback is None,
            "feedback": feedback,
        }
    )


def _feedback_open(ended_at: str | None, now: float) -> bool:
    if ended_at is None:
        return False
    return now <= (parse(ended_at) + FEEDBACK_WINDOW).timestamp()


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
    svc = services(request)
    if grant.role != "learner":
        return error(403, "forbidden", "feedback is given by learners")
    if session.ended_at is None:
        return error(409, "not_ended", "feedback opens when the session has ended")
    if not _feedback_open(session.ended_at, svc.clock.time()):
        return error(409, "closed", "feedback is accepted for 7 days after the session")
    try:
        body = _parse_feedback(await json_body(request))
    except Invalid as exc:
        return invalid(exc)
    return await _store_submission(request, "feedback", grant.session, grant.person, body)


def _parse_feedback(value: Any) -> dict[str, Any]:
    form = schema.decode(d.Feedback, value)
    if feedback_chars(form.text) < FEEDBACK_MIN_CHARS:
        raise Invalid("text", f"needs at least {FEEDBACK_MIN_CHARS} characters (收获、反思、建议)")
    return {"rating": form.rating, "satisfaction": form.satisfaction, "text": form.text}


@routes.post("/api/v1/me/report")
async def report(request: web.Request) -> web.Response:
    found = await participant_session(request)
    if isinstance(found, web.Response):
        return found
    grant, session = found
    svc = services(request)
    if session.spec.form != "review" or grant.role != "instructor":
        return error(403, "forbidden", "review reports are written by the reviewers of a review")
    try:
        text, attachments = _parse_report(await json_body(request))
    except Invalid as exc:
        return invalid(exc)
    for i, upload_id in enumerate(attachments):
        meta = await svc.store.upload(upload_id)
        if meta is None or meta["session_id"] != session.id:
            return error(400, "invalid", "not uploaded in this session", f"attachments[{i}]")
    body = {"text": text, "attachments": attachments}
    return await _store_submission(request, "reports", grant.session, grant.person, body)


def _parse_report(value: Any) -> tuple[str, list[str]]:
    report = schema.decode(d.Report, value)
    return report.text, list(report.attachments)


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
