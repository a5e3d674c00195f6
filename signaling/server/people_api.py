"""A person's term statement as CSV / XLSX, the term's 研修电子证书 as PDF, and the
public verification of a certificate's code (issue 16).

    GET /api/v1/people/{id}/statement.csv?term=NAME    staff (access.viewer), in scope
    GET /api/v1/people/{id}/statement.xlsx?term=NAME
    GET /api/v1/people/{id}/certificate.pdf?term=NAME
    GET /api/v1/certificates/{code}                    public: JSON, valid or 404
    GET /verify/{code}                                 public: the page a QR code opens

The figures come from the person's ended sessions' records, computed as
``GET /people/{id}/statement`` computes them (:mod:`recorder.certificates.figures`).
A person outside the viewer's scope is answered 404, as one who does not exist, so a
district learns nothing about another district's teachers.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from aiohttp import web

from recorder.certificates.codes import make_code, matches, normalise
from recorder.certificates.figures import Holder, TermStatement, holder_of, term_statement
from recorder.certificates.pdf import ISSUER_EN, ISSUER_ZH, Certificate, FontMissing, render
from recorder.certificates.registry import Issued, Registry, open_registry
from recorder.certificates.sheets import HEADERS, to_csv, to_xlsx
from recorder.credits.records import RecordError
from recorder.credits.statement import compute_statement
from recorder.database import now_text
from signaling.admin.scope import Scope
from signaling.server.access import viewer
from signaling.server.current_settings import (
    calendar_of,
    calendar_version,
    policy_of,
    policy_version,
)
from signaling.server.http_util import SERVICES, error, services
from signaling.server.services import Services
from signaling.server.session_record import session_record
from signaling.server.sessions_api import base_url
from signaling.session.spec import ID_PATTERN

routes = web.RouteTableDef()
REGISTRY = web.AppKey("certificates", Registry)


def install(app: web.Application) -> None:
    """The routes, and the certificates registry opened after the app's resources (its
    cleanup context runs after theirs, so the config is there) and closed before them."""
    app.add_routes(routes)
    app.cleanup_ctx.append(_registry)


async def _registry(app: web.Application) -> AsyncIterator[None]:
    config = app[SERVICES].config
    registry = open_registry(config.database_url, config.data_dir)
    await registry.open()
    app[REGISTRY] = registry
    yield
    await registry.close()


def visible(scope: Scope, holder: Holder | None) -> bool:
    """Whether ``scope`` may see this person, placed where their latest session says
    they work; someone in no session has no place, which only the city sees."""
    if holder is None:
        return scope.sees_person("", "")
    return scope.sees_person(holder.district_code, holder.school_id)


async def person_records(svc: Services, person: str) -> dict[str, list[dict[str, Any]]]:
    """Programme → the records of the person's ended sessions (what every statement of
    the person is computed from)."""
    by_programme: dict[str, list[dict[str, Any]]] = {}
    for session_id in await svc.store.sessions_of(person):
        session = await svc.store.session(session_id)
        if session is not None and session.state == "ended":
            record = await session_record(svc, session)
            by_programme.setdefault(session.spec.programme, []).append(record)
    return by_programme


@routes.get("/api/v1/people/{id}/statement")
async def person_statement(request: web.Request) -> web.Response:
    """Totals of one person over their ended sessions, per programme: points and pay
    per term, 学时 and 学分 per year. ``?term=NAME`` keeps one term's points. For the
    platform and for staff whose scope holds the person (404 otherwise)."""
    scope = await viewer(request)
    if isinstance(scope, web.Response):
        return scope
    person = request.match_info["id"]
    if not ID_PATTERN.fullmatch(person):
        return error(400, "invalid", "not a person id", "id")
    term = request.query.get("term")
    by_programme = await person_records(services(request), person)
    if not visible(scope, holder_of(person, [r for rs in by_programme.values() for r in rs])):
        return error(404, "not_found", "没有这个人员 no such person")
    programmes: dict[str, Any] = {}
    for programme, records in sorted(by_programme.items()):
        try:
            statement = compute_statement(records, policy_of(request, programme),
                                          calendar_of(request))
        except RecordError as exc:
            return error(422, "uncomputable", str(exc))
        mine = statement["people"].get(person, {"terms": {}, "years": {}})
        if term is not None:
            mine = {**mine, "terms": {k: v for k, v in mine["terms"].items() if k == term}}
        programmes[programme] = mine
    # The versions computed with (a statement of past sessions changes with an edit).
    return web.json_response({"person": person, "term": term, "programmes": programmes,
                              "calendar_version": calendar_version(request),
                              "policy_versions": {p: policy_version(request, p)
                                                  for p in programmes}})


async def _statement(request: web.Request) -> TermStatement | web.Response:
    """The asker's person's term statement, or the refusal to return."""
    scope = await viewer(request)
    if isinstance(scope, web.Response):
        return scope
    return await statement_for(request, scope)


async def statement_for(request: web.Request, scope: Scope) -> TermStatement | web.Response:
    """The term statement of the path's person as ``scope`` may see it: 400 for a bad id
    or term, 404 for a person outside the scope, 422 for a record the credits refuse."""
    person = request.match_info["id"]
    if not ID_PATTERN.fullmatch(person):
        return error(400, "invalid", "不是有效的人员编号 not a person id", "id")
    calendar = calendar_of(request)
    term = request.query.get("term", "")
    terms = [t.name for t in calendar.terms]
    if term not in terms:
        return error(400, "invalid", f"term 必须是校历中的学期 must be a term of the calendar: "
                     f"{', '.join(terms[-4:])}…", "term")
    records = await person_records(services(request), person)
    holder = holder_of(person, [r for rs in records.values() for r in rs])
    if not visible(scope, holder):
        return error(404, "not_found", "没有这个人员 no such person")
    try:
        return term_statement(person, term, records,
                              {p: policy_of(request, p) for p in records}, calendar)
    except RecordError as exc:
        return error(422, "uncomputable", str(exc))


def versions_row(request: web.Request, statement: TermStatement) -> str:
    """The statement CSV's last row: the versions of the calendar and policies its
    figures were computed with (each can be exported and recomputed with)."""
    text = " ".join([f"依据版本 versions: calendar {calendar_version(request)}"] + [
        f"policy:{t.programme} {policy_version(request, t.programme)}"
        for t in statement.totals])
    return ",".join([text] + [""] * (len(HEADERS) - 1)) + "\r\n"  # as wide as the rest


def _download(body: bytes, content_type: str, filename: str) -> web.Response:
    return web.Response(body=body, content_type=content_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",  # a person's pay: no shared cache keeps it
    })


def _filename(kind: str, statement: TermStatement, ext: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{statement.holder.person}-{statement.term}")
    return f"{kind}-{safe}.{ext}"


@routes.get("/api/v1/people/{id}/statement.csv")
async def statement_csv(request: web.Request) -> web.Response:
    statement = await _statement(request)
    if isinstance(statement, web.Response):
        return statement
    body = to_csv(statement)
    if statement.totals:  # figures were computed: say with which versions
        body += versions_row(request, statement).encode("utf-8")
    return _download(body, "text/csv", _filename("statement", statement, "csv"))


@routes.get("/api/v1/people/{id}/statement.xlsx")
async def statement_xlsx(request: web.Request) -> web.Response:
    statement = await _statement(request)
    if isinstance(statement, web.Response):
        return statement
    body = await asyncio.to_thread(to_xlsx, statement)  # zips in a thread: not on the loop
    return _download(
        body, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _filename("statement", statement, "xlsx"))


@routes.get("/api/v1/people/{id}/certificate.pdf")
async def certificate_pdf(request: web.Request) -> web.Response:
    statement = await _statement(request)
    if isinstance(statement, web.Response):
        return statement
    if not statement.certifiable:
        return error(404, "not_found", "本学期没有研修记录，无法出具证书 no training sessions in "
                     "this term: nothing to certify")
    svc = services(request)
    holder = statement.holder
    zone = calendar_of(request).timezone
    issued_on = datetime.fromtimestamp(svc.clock.time(), zone).date().isoformat()
    hours, credits = statement.study_hours, statement.credits
    code = make_code(svc.config.secret, holder.person, statement.term, hours, credits, issued_on)
    cert = Certificate(holder.person, holder.name, holder.school, holder.district,
                       statement.term, hours, credits, issued_on, code,
                       f"{base_url(request)}/verify/{code}")
    try:
        pdf = await asyncio.to_thread(render, cert)  # layout and font subsetting: CPU
    except FontMissing as exc:
        return error(503, "font_missing", f"服务器缺少中文字体 the server has no CJK font: {exc}")
    programmes = ",".join(t.programme for t in statement.totals if t.study_hours is not None)
    await request.app[REGISTRY].issue(Issued(
        code, holder.person, holder.name, holder.school, holder.district, programmes,
        statement.term, hours, credits, issued_on, now_text()))
    return _download(pdf, "application/pdf", _filename("certificate", statement, "pdf"))


async def _verified(request: web.Request) -> Issued | None:
    """The issued certificate the path's code names, if the code is well formed, was
    issued here, and still matches its row's figures."""
    code = normalise(request.match_info["code"])
    if code is None:
        return None
    found = await request.app[REGISTRY].find(code)
    if found is None:
        return None
    secret = services(request).config.secret
    if not matches(secret, code, found.person, found.term, found.study_hours, found.credits,
                   found.issued_on):
        return None  # the row was changed after issue (or the secret was replaced)
    return found


def _public(found: Issued) -> dict[str, Any]:
    return {
        "valid": True, "code": found.code, "person": found.person, "name": found.name,
        "school": found.school, "district": found.district, "term": found.term,
        "study_hours": found.study_hours, "credits": found.credits,
        "issued_on": found.issued_on, "issuer": {"zh": ISSUER_ZH, "en": ISSUER_EN},
    }


@routes.get("/api/v1/certificates/{code}")
async def certificate_json(request: web.Request) -> web.Response:
    found = await _verified(request)
    if found is None:
        return web.json_response({"valid": False, "error": {
            "code": "not_valid", "message": "证书验证码无效 this certificate code is not valid"}},
            status=404)
    return web.json_response(_public(found))


@routes.get("/verify/{code}")
async def verify_page(request: web.Request) -> web.Response:
    found = await _verified(request)
    if found is None:
        body = ('<p class="no">证书无效<br><span>This certificate code is not valid.</span></p>'
                f"<p>验证码 Code: <code>{html.escape(request.match_info['code'][:64])}</code></p>"
                "<p>请核对验证码是否与证书上的一致。Check that the code matches the one printed "
                "on the certificate.</p>")
        return _page(body, status=404)
    rows = (
        ("姓名 Name", found.name or found.person), ("编号 Person ID", found.person),
        ("学校 School", found.school or "—"), ("区 District", found.district or "—"),
        ("学期 Term", found.term), ("学时 Study hours", str(found.study_hours)),
        ("学分 Credits", str(found.credits)), ("发证日期 Issued", found.issued_on),
        ("验证码 Code", found.code),
    )
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>"
                    for k, v in rows)
    body = ('<p class="ok">证书有效<br><span>This certificate is valid.</span></p>'
            f"<table>{table}</table>"
            f'<p class="by">{html.escape(ISSUER_ZH)}<br>'
            f"<span>{html.escape(ISSUER_EN)}</span></p>")
    return _page(body)


_STYLE = (
    "body{font-family:system-ui,'PingFang SC','Microsoft YaHei',sans-serif;max-width:40rem;"
    "margin:2rem auto;padding:0 1rem;color:#1a1a1a}h1{color:#a61b1b;font-size:1.5rem}"
    ".ok,.no{font-size:1.4rem;font-weight:bold}.ok{color:#1d6b2f}.no{color:#a61b1b}"
    ".ok span,.no span,.by span{font-size:.9rem;font-weight:normal;color:#555}"
    "table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;"
    "border-bottom:1px solid #ddd}th{color:#555;font-weight:normal;width:40%}"
)


def _page(body: str, status: int = 200) -> web.Response:
    page = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="robots" content="noindex">'
        "<title>研修电子证书验证 Certificate verification</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>研修电子证书验证<br><small>Certificate verification</small></h1>"
        f"{body}</body></html>"
    )
    response = web.Response(text=page, content_type="text/html", charset="utf-8", status=status)
    # No script at all; inline style only.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")
    return response
