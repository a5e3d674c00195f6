"""The Q&A centre's doors (问答中心, issue 14 item 5): REST for students and teachers
(their on-demand passes, ``Authorization: Bearer <pass>``), for the platform (API key),
the media files and the page ``/qa?token=…``. ``install(app)`` registers them (one
call in app.py). The pass is the one ``POST /api/v1/oncall/passes`` mints: a student's
call pass asks, a teacher's duty pass answers.

Bodies are JSON with photos and voice notes as base64, read whole within a bound the
policy's numbers give (else 413, nothing kept); each file is told by its first bytes.
Files are written before the row and removed again if the row is refused.
docs/protocol.md and :mod:`signaling.server.openapi_qa` describe the calls.
"""

from __future__ import annotations

import json
import logging
import tomllib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as dtime
from functools import lru_cache
from pathlib import Path
from typing import Any

from aiohttp import web

from recorder.credits.calendar import Calendar, Term
from recorder.credits.editing import policy_kind
from recorder.credits.policy import POLICY_DIR
from signaling.oncall import passes
from signaling.oncall.api import ONCALL
from signaling.oncall.outbound import OncallOut
from signaling.oncall.service import NAMESPACE as ONCALL_NAMESPACE
from signaling.qa import media as files
from signaling.qa import rules
from signaling.qa.rules import Accepted, Answer, QaPolicy, Question, Refused
from signaling.qa.store import Media, QaStore, Thread, open_qa
from signaling.server import signed_urls, tokens, web_assets
from signaling.server.current_settings import CONFIGURED_CALENDAR
from signaling.server.http_util import (
    SERVICES,
    _depth_over,
    bearer,
    check_api_key,
    error,
    invalid,
    read_body,
    services,
)
from signaling.session import schema
from signaling.session.declarations import QaAnswer as NewAnswer
from signaling.session.declarations import QaQuestion as NewQuestion
from signaling.session.declarations import QaSolve as Solve
from signaling.session.schema import Invalid
from signaling.session.timefmt import iso_at

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
LIST_LIMIT = 50
_JSON_SLACK = 16 * 1024  # the body's keys and quotes around the bounded parts


@dataclass
class QaCentre:
    store: QaStore
    folder: Path
    rules_now: Callable[[], tuple[Calendar, QaPolicy]]


QA = web.AppKey("qa", QaCentre)


@lru_cache(maxsize=8)
def _qa_policy(document: str) -> QaPolicy:
    try:
        return rules.parse_qa(tomllib.loads(document))
    except (rules.QaPolicyError, tomllib.TOMLDecodeError) as exc:
        log.warning("the tutoring policy's [qa] table does not load (%s): defaults", exc)
        return QaPolicy()


def _rules(app: web.Application) -> tuple[Calendar, QaPolicy]:
    """The calendar and the ``[qa]`` numbers of the tutoring policy in effect."""
    current = app[SERVICES].settings
    if current is not None:
        return current.calendar, _qa_policy(current.in_effect(policy_kind("tutoring")).document)
    return app[CONFIGURED_CALENDAR], _qa_policy(_built_in())


@lru_cache(maxsize=1)
def _built_in() -> str:
    """The shipped tutoring policy's text (read once: an app without a settings store)."""
    return (POLICY_DIR / "tutoring.toml").read_text(encoding="utf-8")


def _who(request: web.Request) -> passes.Pass | web.Response:
    svc = services(request)
    try:
        return passes.verify(svc.config.secret, bearer(request), now=svc.clock.time())
    except tokens.TokenError as exc:
        return error(401, exc.code, exc.message)


def _refused(exc: Refused) -> web.Response:
    return error(exc.status, exc.code, exc.message, exc.field or None)


async def _body(request: web.Request, limit: int, what: str) -> Any:
    """The JSON body, whole within ``limit`` bytes (else the 413), or :class:`Invalid`."""
    raw = await read_body(request, limit, what)
    try:
        value = json.loads(raw)
    except RecursionError:
        raise Invalid("", "the body is nested too deep") from None
    except (ValueError, UnicodeDecodeError):
        raise Invalid("", "the body is not valid JSON") from None
    if _depth_over(value, 8):
        raise Invalid("", "the body is nested too deep")
    return value


def _post_limit(p: QaPolicy, chars: int, voice: bool) -> int:
    b64 = (p.max_photo_bytes + 2) // 3 * 4 + 8
    extra = (p.max_voice_bytes + 2) // 3 * 4 + 8 if voice else 0
    return p.max_photos * b64 + extra + chars * 6 + _JSON_SLACK  # \uXXXX: 6 bytes a char


def _store_files(centre: QaCentre, decoded: list[tuple[str, str, bytes]], question: str,
                 answer: str | None) -> list[Media]:
    """Write the files (named here) and their rows-to-be."""
    centre.folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, (kind, content_type, data) in enumerate(decoded):
        m = Media(files.new_id(), question, answer, kind, content_type, len(data), i)
        (centre.folder / m.id).write_bytes(data)
        out.append(m)
    return out


def _forget(centre: QaCentre, media: list[Media]) -> None:
    for m in media:
        (centre.folder / m.id).unlink(missing_ok=True)


def _photos(raw: list[str], p: QaPolicy, field: str) -> list[tuple[str, str, bytes]]:
    rules.check_photos(len(raw), p)
    out = []
    for i, text in enumerate(raw):
        data = files.decode(text, f"{field}[{i}]", p.max_photo_bytes, "a photo")
        content_type = files.photo_type(data)
        if content_type is None:
            raise Refused("not_a_picture", "photos only: JPEG, PNG, WebP or GIF",
                          f"{field}[{i}]", 415)
        out.append(("photo", content_type, data))
    return out


# -- people ----------------------------------------------------------------------------


@routes.get("/api/v1/qa/me")
async def me(request: web.Request) -> web.Response:
    who = _who(request)
    if isinstance(who, web.Response):
        return who
    _, p = request.app[QA].rules_now()
    return web.json_response({
        "me": {"kind": who.kind, "name": who.name, "school": who.school, "grade": who.grade,
               "subjects": list(who.subjects), "grades": list(who.grades)},
        "subjects": list(passes.SUBJECTS), "policy": p.wire()})


@routes.post("/api/v1/qa/questions")
async def post_question(request: web.Request) -> web.Response:
    who = _who(request)
    if isinstance(who, web.Response):
        return who
    if who.teacher:
        return error(403, "students_only", "questions are asked with a student's pass")
    centre, svc = request.app[QA], services(request)
    _, p = centre.rules_now()
    try:
        new = schema.decode(NewQuestion, await _body(
            request, _post_limit(p, p.max_question_chars, False), "a question"))
        rules.check_text(new.text, limit=p.max_question_chars, media=len(new.photos),
                         what="a question")
        decoded = _photos(new.photos, p, "photos")
    except Invalid as exc:
        return invalid(exc)
    except Refused as exc:
        return _refused(exc)
    now = svc.clock.time()
    q = Question("q_" + files.new_id()[2:], who.person, who.name, who.school, who.grade,
                 new.subject, new.text, now, "open")
    media = _store_files(centre, decoded, q.id, None)
    try:
        await centre.store.post(q, media, now - p.auto_close_days * rules.DAY_S,
                                lambda n: rules.may_post(n, p))
    except BaseException as exc:
        _forget(centre, media)
        if isinstance(exc, Refused):
            return _refused(exc)
        raise
    log.info("qa: %s asked %s (%s, %d photos)", who.person, q.id, q.subject, len(media))
    await _tell_on_duty(request.app, q)
    thread = await centre.store.thread(q.id)
    assert thread is not None
    return web.json_response(_thread_wire(request, thread, who, p), status=201)


async def _tell_on_duty(app: web.Application, q: Question) -> None:
    """``qa_question`` on ``/oncall`` to the duty pages, on this node, of the teachers on
    duty who teach it (their rooms ``t:<id>``). A convenience only: the Q&A page looks
    at its list every 20 s, so a teacher elsewhere or a failure here loses nothing, and
    the question is stored whatever happens here."""
    oncall = app.get(ONCALL)
    if oncall is None:
        return
    data = {"question": q.id, "subject": q.subject, "grade": q.grade, "text": q.text[:80]}
    try:
        for entry in await oncall.presence.all():
            if rules.teaches(entry.subjects, entry.grades, q):
                await oncall.sio.emit(OncallOut.QA_QUESTION, data, room=f"t:{entry.teacher}",
                                      namespace=ONCALL_NAMESPACE)
    except Exception:  # Redis away: the page's polling still finds the question
        log.warning("qa: could not tell the teachers on duty of %s", q.id, exc_info=True)


@routes.get("/api/v1/qa/questions")
async def list_questions(request: web.Request) -> web.Response:
    who = _who(request)
    if isinstance(who, web.Response):
        return who
    centre, now = request.app[QA], services(request).clock.time()
    _, p = centre.rules_now()
    view = request.query.get("view", "")
    if not who.teacher:
        found = await centre.store.mine(who.person, LIST_LIMIT)
    elif view == "answered":
        found = await centre.store.answered_by(who.person, LIST_LIMIT)
    else:
        found = await centre.store.live(who.subjects, now - p.auto_close_days * rules.DAY_S,
                                        LIST_LIMIT)
        found = [(q, n) for q, n in found if rules.teaches(who.subjects, who.grades, q)]
    return web.json_response({"questions": [_summary(q, n, p, now) for q, n in found]})


@routes.get("/api/v1/qa/questions/{id}")
async def get_question(request: web.Request) -> web.Response:
    who = _who(request)
    if isinstance(who, web.Response):
        return who
    centre = request.app[QA]
    _, p = centre.rules_now()
    thread = await centre.store.thread(request.match_info["id"][:64])
    if thread is None or not _may_see(who, thread):
        return error(404, "not_found", "no such question")
    return web.json_response(_thread_wire(request, thread, who, p))


@routes.post("/api/v1/qa/questions/{id}/answers")
async def post_answer(request: web.Request) -> web.Response:
    who = _who(request)
    if isinstance(who, web.Response):
        return who
    if not who.teacher:
        return error(403, "teachers_only", "answers are given with a teacher's duty pass")
    centre, svc = request.app[QA], services(request)
    _, p = centre.rules_now()
    question_id = request.match_info["id"][:64]
    try:
        new = schema.decode(NewAnswer, await _body(
            request, _post_limit(p, p.max_answer_chars, True), "an answer"))
        count = len(new.photos) + (new.voice is not None)
        rules.check_text(new.text, limit=p.max_answer_chars, media=count, what="an answer")
        decoded = _photos(new.photos, p, "photos")
        if new.voice is not None:
            data = files.decode(new.voice, "voice", p.max_voice_bytes, "a voice note")
            kind = files.voice_type(data)
            if kind is None:
                raise Refused("not_a_voice_note", "a voice note is a WebM, Ogg (Opus) or "
                              "MP4 recording", "voice", 415)
            decoded.append(("voice", kind, data))
    except Invalid as exc:
        return invalid(exc)
    except Refused as exc:
        return _refused(exc)
    now = svc.clock.time()
    a = Answer("a_" + files.new_id()[2:], question_id, who.person, who.name, who.school,
               new.text, now)
    media = _store_files(centre, decoded, question_id, a.id)
    try:
        await centre.store.answer(a, media, lambda t: rules.may_answer(
            t.question, t.answers, who.person, who.subjects, who.grades, p, now))
    except BaseException as exc:
        _forget(centre, media)
        if isinstance(exc, Refused):
            return _refused(exc)
        raise
    log.info("qa: %s answered %s (%d files)", who.person, question_id, len(media))
    thread = await centre.store.thread(question_id)
    assert thread is not None
    return web.json_response(_thread_wire(request, thread, who, p), status=201)


@routes.post("/api/v1/qa/questions/{id}/solve")
async def solve(request: web.Request) -> web.Response:
    who = _who(request)
    if isinstance(who, web.Response):
        return who
    if who.teacher:
        return error(403, "students_only", "the student who asked marks it solved")
    centre, now = request.app[QA], services(request).clock.time()
    _, p = centre.rules_now()
    try:
        body = schema.decode(Solve, await _body(request, _JSON_SLACK, "a body"))
        await centre.store.solve(request.match_info["id"][:64], lambda t: rules.solve(
            t.question, t.answers, who.person, body.accept, p, now))
    except Invalid as exc:
        return invalid(exc)
    except Refused as exc:
        return _refused(exc)
    thread = await centre.store.thread(request.match_info["id"][:64])
    assert thread is not None
    return web.json_response(_thread_wire(request, thread, who, p))


@routes.get("/api/v1/qa/me/points")
async def my_points(request: web.Request) -> web.Response:
    who = _who(request)
    if isinstance(who, web.Response):
        return who
    if not who.teacher:
        return error(403, "teachers_only", "points are a teacher's")
    return await _points(request, who.person)


# -- the platform ----------------------------------------------------------------------


@routes.get("/api/v1/qa/points")
async def points(request: web.Request) -> web.Response:
    if (denied := check_api_key(request)) is not None:
        return denied
    teacher = request.query.get("teacher", "")
    if not teacher or len(teacher) > 128:
        return error(400, "invalid", "teacher: the teacher's id is required", "teacher")
    return await _points(request, teacher)


async def _points(request: web.Request, teacher: str) -> web.Response:
    centre, now = request.app[QA], services(request).clock.time()
    cal, p = centre.rules_now()
    term = _term(cal, request.query.get("term", ""), now)
    if term is None:
        return error(404, "no_term", "no such term (or none today) in the calendar", "term")
    start, end = (datetime.combine(d, dtime(0), cal.timezone).timestamp()
                  for d in (term.start, term.end + timedelta(days=1)))
    rows = await centre.store.accepted(teacher, start, end)
    figure = rules.qa_points(
        (Accepted(a, text, has_media, cal.local_date(int(at * 1_000_000)).isoformat())
         for a, text, at, has_media in rows), p)
    return web.json_response({
        "teacher": teacher, "term": {"name": term.name, "start": term.start.isoformat(),
                                     "end": term.end.isoformat()},
        "rule": {k: v for k, v in p.wire().items() if k in (
            "points_per_accepted_answer", "min_answer_chars", "min_answer_distinct",
            "media_answer_counts", "max_paid_answers_per_day", "points_per_term")},
        **figure.wire()})


def _term(cal: Calendar, name: str, now: float) -> Term | None:
    if name:
        return next((t for t in cal.terms if t.name == name), None)
    return cal.term_of(cal.local_date(int(now * 1_000_000)))


# -- files and the page ----------------------------------------------------------------


@routes.get("/qa/media/{id}")
async def media_file(request: web.Request) -> web.StreamResponse:
    media_id, svc = request.match_info["id"], services(request)
    ok = files.MEDIA_ID.fullmatch(media_id) and signed_urls.check(
        svc.config.secret, f"/qa/media/{media_id}", request.query.get("exp"),
        request.query.get("sig"), now=svc.clock.time())
    if not ok:
        return error(403, "forbidden", "this link is not valid (or has expired)")
    found = await request.app[QA].store.media(media_id)
    if found is None:
        return error(404, "not_found", "no such file")
    response = web.FileResponse(request.app[QA].folder / media_id)
    response.content_type = found.content_type
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@routes.get("/qa")
async def qa_page(request: web.Request) -> web.StreamResponse:
    return web_assets.page(request, "qa.html")


# -- what people see -------------------------------------------------------------------


def _may_see(who: passes.Pass, t: Thread) -> bool:
    if not who.teacher:
        return t.question.student == who.person
    return (rules.teaches(who.subjects, who.grades, t.question)
            or any(a.teacher == who.person for a in t.answers))


def _summary(q: Question, answers: int, p: QaPolicy, now: float) -> dict[str, Any]:
    return {"id": q.id, "subject": q.subject, "grade": q.grade, "text": q.text[:140],
            "student": q.student_name, "posted_at": iso_at(q.posted_at),
            "state": rules.state_at(q, p, now), "answers": answers}


def _thread_wire(request: web.Request, t: Thread, who: passes.Pass,
                 p: QaPolicy) -> dict[str, Any]:
    svc = services(request)
    now, q = svc.clock.time(), t.question

    def urls(answer: str | None, kind: str) -> list[str]:
        return [svc.sign_url(f"/qa/media/{m.id}") for m in t.media_of(answer) if m.kind == kind]

    state = rules.state_at(q, p, now)
    may_answer = who.teacher and state in rules.LIVE and not any(
        a.teacher == who.person for a in t.answers) and len(t.answers) < \
        p.max_answers_per_question
    return {
        "id": q.id, "subject": q.subject, "grade": q.grade, "text": q.text,
        "student": {"name": q.student_name, "school": q.school},
        "posted_at": iso_at(q.posted_at), "closes_at": iso_at(rules.closes_at(q, p)),
        "state": state, "accepted": q.accepted,
        "solved_at": None if q.solved_at is None else iso_at(q.solved_at),
        "mine": not who.teacher and q.student == who.person,
        "may_answer": may_answer, "may_solve": not who.teacher and state in rules.LIVE,
        "photos": urls(None, "photo"),
        "answers": [{"id": a.id, "teacher": {"name": a.teacher_name, "school": a.school},
                     "text": a.text, "answered_at": iso_at(a.answered_at),
                     "accepted": a.id == q.accepted, "mine": a.teacher == who.person,
                     "photos": urls(a.id, "photo"),
                     "voice": next(iter(urls(a.id, "voice")), None)} for a in t.answers],
    }


def install(app: web.Application) -> None:
    app.add_routes(routes)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        svc = app[SERVICES]
        store = open_qa(svc.config.database_url, svc.config.data_dir)
        await store.open()
        app[QA] = QaCentre(store, svc.config.data_dir / files.FOLDER, lambda: _rules(app))
        yield
        await store.close()

    app.cleanup_ctx.append(resources)
