"""Micro-lessons' doors: REST, the paced video and the page. ``install(app)`` registers
them and opens the store (a small call in app.py).

Who: a pass (``Authorization: Bearer <pass>``, :mod:`signaling.oncall.passes`: a
teacher's duty pass or a student's call pass) or the platform's API key.

- ``GET /api/v1/microlessons`` (pass or key): ready lessons, filtered by subject, grade,
  knowledge point; newest or most watched first.
- ``GET /api/v1/microlessons/{id}``: one lesson, its signed video link for this viewer
  and the viewer's watched seconds (server-observed).
- ``POST /api/v1/microlessons`` (a teacher's pass, or the key naming the teacher):
  publish part of a recording of one's own session; 202, the file is made in the
  background (``state``: preparing → ready or failed).
- ``DELETE /api/v1/microlessons/{id}`` (its teacher or the key): unpublish.
- ``GET /api/v1/microlessons/mine`` (a teacher's pass): their lessons and the
  recordings they may publish from.
- ``GET /api/v1/microlessons/{id}/watched`` (pass): the viewer's watched seconds.
- ``GET /api/v1/microlessons/report`` (key): per lesson and viewer, watched seconds.
- ``GET /microlessons/{id}/{viewer}/lesson.mp4?exp&sig``: the video (signed link).
- ``GET /lessons``: the page (browse, watch, publish).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from recorder.credits.editing import policy_kind
from recorder.credits.policy import POLICY_DIR
from signaling.microlessons import lessons as rules
from signaling.microlessons.lessons import LESSON_ID, BadInput, Lesson, MicroPolicy
from signaling.microlessons.service import (
    PLATFORM,
    MicroLessons,
    policy_of,
    public,
    viewer_handle,
    viewer_of,
)
from signaling.microlessons.store import open_lessons
from signaling.oncall import passes
from signaling.server import tokens, web_assets
from signaling.server.http_util import SERVICES, bearer, error, json_body, services
from signaling.session import schema
from signaling.session.declarations import MicroLessonPublish
from signaling.session.schema import Invalid
from signaling.session.timefmt import iso_at

MICRO = web.AppKey("microlessons", MicroLessons)
MAX_REPORT = 500
routes = web.RouteTableDef()
_ID_PATH = "{id:ml_[A-Za-z0-9_-]{12,24}}"


def _policy(app: web.Application) -> MicroPolicy:
    current = app[SERVICES].settings
    if current is not None:
        return policy_of(current.in_effect(policy_kind("tutoring")).document)
    return policy_of((POLICY_DIR / "tutoring.toml").read_text(encoding="utf-8"))


def _who(request: web.Request) -> passes.Pass | web.Response | None:
    """The pass of the request, ``None`` for the platform's API key, or the 401."""
    svc = services(request)
    given = bearer(request) or ""
    if given and hmac.compare_digest(given.encode(), svc.config.api_key.encode()):
        return None
    try:
        return passes.verify(svc.config.secret, given, now=svc.clock.time())
    except tokens.TokenError as exc:
        return error(401, exc.code, exc.message)


def _bad(exc: BadInput) -> web.Response:
    status = 409 if exc.code in ("too_many",) else 400
    return error(status, exc.code, exc.message, exc.field)


async def _lesson(request: web.Request) -> Lesson | web.Response:
    found = await request.app[MICRO].store.get(request.match_info["id"])
    if found is None or found.state == "unpublished":
        return error(404, "not_found", "no such micro-lesson")
    return found


def _owner(who: passes.Pass | None, lesson: Lesson) -> bool:
    return who is None or (who.teacher and who.person == lesson.teacher_id)


@routes.get("/lessons")
async def page(request: web.Request) -> web.StreamResponse:
    return web_assets.page(request, "lessons.html")


@routes.get("/api/v1/microlessons")
async def search(request: web.Request) -> web.Response:
    who = _who(request)
    if isinstance(who, web.Response):
        return who
    try:
        q = rules.parse_search(request.query)
    except BadInput as exc:
        return _bad(exc)
    found = await request.app[MICRO].store.search(q)
    return web.json_response({"lessons": [public(x) for x in found],
                              "subjects": list(rules.SUBJECTS), "grades": list(rules.GRADES)})


@routes.get("/api/v1/microlessons/mine")
async def mine(request: web.Request) -> web.Response:
    who = _who(request)
    if isinstance(who, web.Response):
        return who
    if who is None or not who.teacher:
        return error(403, "teachers_only", "only a teacher's pass has lessons of its own")
    ml = request.app[MICRO]
    lessons = await ml.store.of_teacher(who.person)
    return web.json_response({
        "lessons": [public(x, owner=True) for x in lessons],
        "recordings": await _recordings_of(request, who.person),
        "policy": ml.policy().wire(),
        "me": {"id": who.person, "name": who.name, "subjects": list(who.subjects),
               "grades": list(who.grades)}})


async def _recordings_of(request: web.Request, teacher: str) -> list[dict[str, Any]]:
    """The finished recordings of the sessions this teacher led (newest 50 sessions)."""
    svc = services(request)
    if svc.recordings is None:
        return []
    out: list[dict[str, Any]] = []
    for session_id in (await svc.store.sessions_of(teacher))[-50:]:
        session = await svc.store.session(session_id)
        person = session.spec.person(teacher) if session is not None else None
        if session is None or person is None or person.role != "instructor":
            continue
        for rec in await svc.recordings.index.arecordings(session_id=session_id):
            if rec.state != "recording" and rec.duration_s > 0:
                out.append({"recording_id": rec.id, "session_id": session_id,
                            "title": session.spec.title, "started_at": iso_at(rec.origin_wall),
                            "duration_s": round(rec.duration_s, 3)})
    return sorted(out, key=lambda r: str(r["started_at"]), reverse=True)


@routes.post("/api/v1/microlessons")
async def publish(request: web.Request) -> web.Response:
    who = _who(request)
    if isinstance(who, web.Response):
        return who
    if who is not None and not who.teacher:
        return error(403, "teachers_only", "only a teacher publishes micro-lessons")
    ml: MicroLessons = request.app[MICRO]
    svc = services(request)
    p = ml.policy()
    try:
        body = await json_body(request)
        schema.decode(MicroLessonPublish, body)  # REST_BODIES["/microlessons"]: the shape
        new = rules.parse_publish(body, p)  # and the policy's bounds
        teacher = _teacher(who, body)
    except Invalid as exc:
        return error(400, "invalid", str(exc), exc.field or None)
    except BadInput as exc:
        return _bad(exc)
    rec = await svc.recordings.index.aget(new.recording_id) if svc.recordings else None
    if rec is None or rec.state == "recording" or rec.duration_s <= 0:
        return error(404, "no_recording", "no such finished recording", "recording_id")
    session = await svc.store.session(rec.session_id)
    person = session.spec.person(teacher[0]) if session is not None else None
    if person is None or person.role != "instructor":
        return error(403, "not_yours", "only the teacher of the recorded session publishes it",
                     "recording_id")
    try:
        rules.check_within(new, rec.duration_s)
    except BadInput as exc:
        return _bad(exc)
    if ml.preparing >= p.max_preparing:
        response = error(503, "busy", "too many lessons are being prepared: try again in a "
                         "few minutes")
        response.headers["Retry-After"] = "60"
        return response
    lesson = Lesson(
        "ml_" + secrets.token_urlsafe(12), teacher[0], teacher[1], teacher[2], rec.session_id,
        rec.id, new.start_s, new.end_s, new.title, new.subject, new.grade,
        new.knowledge_point, "preparing", "", iso_at(svc.clock.time()))
    if not await ml.store.add(lesson, p.max_per_teacher):
        return error(409, "too_many", f"a teacher has at most {p.max_per_teacher} "
                     "micro-lessons: unpublish one first", "recording_id")
    ml.prepare(lesson)
    return web.json_response({"lesson": public(lesson, owner=True)}, status=202)


def _teacher(who: passes.Pass | None, body: Any) -> tuple[str, str, str]:
    """(id, name, school): the pass's, or the body's ``teacher`` with the API key."""
    if who is not None:
        return who.person, who.name, who.school
    t = body.get("teacher") if isinstance(body, dict) else None
    if not isinstance(t, dict) or not all(isinstance(t.get(k), str) and t.get(k)
                                          for k in ("id", "name")):
        raise BadInput("teacher", "with the API key, teacher {id, name, school} is required")
    school = t.get("school", "")
    if not isinstance(school, str) or max(len(t["id"]), len(t["name"]), len(school)) > 200:
        raise BadInput("teacher", "teacher's id, name and school are short texts")
    return t["id"], t["name"], school


@routes.get("/api/v1/microlessons/report")
async def report(request: web.Request) -> web.Response:
    who = _who(request)
    if isinstance(who, web.Response):
        return who
    if who is not None:
        return error(403, "platform_only", "the views report needs the platform's API key")
    lesson_id = request.query.get("lesson_id") or None
    raw = request.query.get("limit", "100")
    if lesson_id is not None and not LESSON_ID.fullmatch(lesson_id):
        return error(400, "invalid", "lesson_id is not a lesson's id", "lesson_id")
    if not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= MAX_REPORT):
        return error(400, "invalid", f"limit must be 1 to {MAX_REPORT}", "limit")
    ml: MicroLessons = request.app[MICRO]
    rows = []
    titles: dict[str, Lesson | None] = {}
    for v in await ml.store.viewers(lesson_id, int(raw)):
        if v.lesson_id not in titles:
            titles[v.lesson_id] = await ml.store.get(v.lesson_id)
        lesson = titles[v.lesson_id]
        w = await ml.watched(v.lesson_id, v.viewer)
        rows.append({"lesson_id": v.lesson_id, "title": lesson.title if lesson else "",
                     "teacher_id": lesson.teacher_id if lesson else "",
                     "viewer": v.viewer, "name": v.name, "school": v.school, "grade": v.grade,
                     "first_at": iso_at(v.first_at),
                     "duration_s": lesson.duration_s if lesson else 0,
                     "watched_s": w.watched_s if w else 0.0})
    return web.json_response({"views": rows})


@routes.get(f"/api/v1/microlessons/{_ID_PATH}")
async def one(request: web.Request) -> web.Response:
    who = _who(request)
    if isinstance(who, web.Response):
        return who
    found = await _lesson(request)
    if isinstance(found, web.Response):
        return found
    ml: MicroLessons = request.app[MICRO]
    body: dict[str, Any] = {"lesson": public(found, owner=_owner(who, found))}
    if found.state == "ready":
        handle = PLATFORM if who is None else viewer_handle(who.person, who.name, who.school,
                                                            who.grade)
        body["video_url"] = ml.video_url(found.lesson_id, handle)
        if who is not None:
            w = await ml.watched(found.lesson_id, who.person)
            body["watched_s"] = w.watched_s if w else 0.0
    return web.json_response(body)


@routes.get(f"/api/v1/microlessons/{_ID_PATH}/watched")
async def watched(request: web.Request) -> web.Response:
    who = _who(request)
    if isinstance(who, web.Response):
        return who
    if who is None:
        return error(400, "invalid", "a viewer's pass is needed (the platform: the report)")
    found = await _lesson(request)
    if isinstance(found, web.Response):
        return found
    w = await request.app[MICRO].watched(found.lesson_id, who.person)
    return web.json_response({
        "lesson_id": found.lesson_id, "duration_s": found.duration_s,
        "watched_s": w.watched_s if w else 0.0,
        "spans": [list(s) for s in w.spans] if w else [],
        "rule": "server-observed: bytes sent, mapped to media time, no faster than the "
                "wall clock (docs/protocol.md, Micro-lessons)"})


@routes.delete(f"/api/v1/microlessons/{_ID_PATH}")
async def unpublish(request: web.Request) -> web.Response:
    who = _who(request)
    if isinstance(who, web.Response):
        return who
    found = await _lesson(request)
    if isinstance(found, web.Response):
        return found
    if not _owner(who, found):
        return error(403, "not_yours", "only its teacher (or the platform) unpublishes it")
    await request.app[MICRO].unpublish(found)
    return web.json_response({"lesson_id": found.lesson_id, "state": "unpublished"})


@routes.get(f"/microlessons/{_ID_PATH}/{{viewer}}/lesson.mp4")
async def video(request: web.Request) -> web.StreamResponse:
    ml: MicroLessons = request.app[MICRO]
    if not ml.check_video(request):
        return error(403, "forbidden", "this link is not valid (or has expired)")
    found = await _lesson(request)
    if isinstance(found, web.Response):
        return found
    index = await ml.index(found.lesson_id) if found.state == "ready" else None
    if index is None or not ml.file(found.lesson_id).is_file():
        return error(404, "not_ready", "this micro-lesson is not ready")
    return await ml.serve(request, found, index, viewer_of(request.match_info["viewer"]))


def install(app: web.Application) -> None:
    app.add_routes(routes)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        svc = app[SERVICES]
        store = open_lessons(svc.config.database_url, svc.config.data_dir)
        await store.open()
        ml = MicroLessons(svc, store, lambda: _policy(app))
        await ml.open()
        app[MICRO] = ml
        yield
        await ml.close()
        await store.close()

    app.cleanup_ctx.append(resources)
