"""Editing the term calendar and the policy numbers, with their history (issue 16:
"editable by the city office with validation and history (they are the inputs of pay)").

- ``PUT /api/v1/calendar`` (:class:`~signaling.session.declarations.CalendarEdit`): the
  whole calendar as it should be; ``PUT /api/v1/policy/{programme}``
  (:class:`~signaling.session.declarations.PolicyEdit`): numbers by dotted path. Each
  names its ``base`` version (a newer one saved since: 409) and a note (why); with
  ``"preview": true`` the edit is checked and its diff answered, nothing saved.
- ``GET …/versions``: the history, newest first, each version with who, when, why and
  its diff against the one before; ``GET …/versions/{seq}.toml``: a version's file
  (``opentutor credits --calendar/--policy`` recomputes with it);
  ``POST …/versions/{seq}/restore``: that content again, as a new version.

Who: signed-in *city* staff edit (the history names a person, so not the platform's
API key); every other staff member and the API key read. Each saved version goes to
the audit log. Refusals: 400 malformed body, 403 not the city, 404 no such programme
or version, 409 stale base, 422 the edit breaks a rule (the field named, in Chinese and
English), and nothing is written.

A version takes effect at once on this node and within
:data:`~signaling.server.current_settings.REFRESH_S` seconds on the others, for every
figure computed from then on (past sessions' statements included); outputs of pay
state the versions they used.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from recorder.credits.editing import (
    CALENDAR,
    CalendarDoc,
    HolidayRow,
    SettingError,
    TermRow,
    apply_policy_changes,
    calendar_doc,
    calendar_text,
    check_calendar,
    diff,
    policy_kind,
)
from recorder.credits.policy import BUILT_IN
from recorder.credits.texts import visible
from signaling.admin.base import iso_ms
from signaling.admin.scope import Scope
from signaling.admin.settings_store import SettingsVersion, StaleBase, open_settings
from signaling.server.access import audit, viewer
from signaling.server.current_settings import (
    CurrentSettings,
    check,
    configured_documents,
)
from signaling.server.http_util import SERVICES, check_api_key, error, invalid, json_body, services
from signaling.session import declarations as d
from signaling.session import schema
from signaling.session.schema import Invalid

routes = web.RouteTableDef()
MAX_HISTORY = 200  # versions per page of history: years of a city office's edits
_SEQ = re.compile(r"\d{1,18}")


def install(app: web.Application) -> None:
    """The routes, and the settings store opened after the app's resources (their
    cleanup context runs first, so the services exist) and closed before them."""
    app.add_routes(routes)
    app.cleanup_ctx.append(_settings)


async def _settings(app: web.Application) -> AsyncIterator[None]:
    svc = app[SERVICES]
    store = open_settings(svc.config.database_url, svc.config.data_dir)
    await store.open()
    current = CurrentSettings(store, configured_documents(svc.config.calendar))
    try:
        await current.refresh()  # a node starts with the latest versions, or not at all
    except BaseException:
        await store.close()
        raise
    svc.settings = current
    current.start()
    yield
    await current.stop()
    svc.settings = None
    await store.close()


def _current(request: web.Request) -> CurrentSettings:
    current = services(request).settings
    assert current is not None, "the settings store is opened with the app"
    return current


def _kind(request: web.Request) -> str | None:
    """The kind the path names: the calendar, or a built-in programme's policy."""
    programme = request.match_info.get("programme")
    if programme is None:
        return CALENDAR
    return policy_kind(programme) if programme in BUILT_IN else None


def may_edit(request: web.Request, scope: Scope) -> bool:
    """Signed-in city staff: the history names who changed pay, so not the API key."""
    return scope.level == "city" and check_api_key(request) is not None


def _refused(request: web.Request, scope: Scope) -> web.Response | None:
    if may_edit(request, scope):
        return None
    if check_api_key(request) is None:
        return error(403, "forbidden", "校历与规则由市级管理员登录后修改，历史中记下修改人 "
                     "edits are made by a signed-in city officer, whom the history names "
                     "(not the API key)")
    return error(403, "forbidden", "只有市级管理员可以修改校历与规则 only the city office may "
                 "change the calendar and the policy")


def _note(note: str, preview: bool) -> web.Response | None:
    if preview or visible(note):
        return None
    return error(400, "invalid", "请填写修改原因 a note saying why is required", "note")


def _unprocessable(exc: SettingError) -> web.Response:
    return error(422, "invalid_setting", exc.message, exc.field or None)


def _version_json(kind: str, version: SettingsVersion | None, current: CurrentSettings,
                  changes: list[dict[str, Any]]) -> dict[str, Any]:
    if version is None:  # version 0, the configured file
        return {"seq": 0, "kind": kind, "base": None, "at": None, "who": "",
                "note": "", "configured": True, "diff": changes}
    return {"seq": version.seq, "kind": kind, "base": version.base, "at": version.at,
            "who": version.who, "note": version.note, "configured": False, "diff": changes}


async def _save(request: web.Request, scope: Scope, kind: str, base: int, document: str,
                note: str, preview: bool, action: str,
                extra: dict[str, Any] | None = None) -> web.Response:
    """Check the base, diff, then (not a preview) store, install and audit."""
    current = _current(request)
    await current.refresh()  # an edit saved on another node a second ago counts
    latest = current.in_effect(kind)
    if base != latest.seq:
        return _stale(base, latest.seq)
    changes = diff(kind, latest.document, document)
    if not changes:
        return error(422, "unchanged", "与当前版本相同，没有改动 the same as the version in "
                     "effect: nothing to save", None)
    if preview:
        return web.json_response({"preview": True, "base": base, "diff": changes})
    svc = services(request)
    try:
        version = await current.store.append(kind, base, document, iso_ms(svc.clock.time()),
                                             scope.who, note.strip())
    except StaleBase as exc:
        return _stale(base, exc.latest)
    current.install(version)
    await audit(request, scope, action, kind, {
        "seq": version.seq, "base": base, "note": version.note,
        "paths": [c["path"] for c in changes[:50]], "changes": len(changes), **(extra or {})})
    return web.json_response({"version": _version_json(kind, version, current, changes)},
                             status=201)


def _stale(base: int, latest: int) -> web.Response:
    response = error(409, "stale", f"打开页面后已有人保存了新版本 {latest}：请刷新后再修改 "
                     f"version {latest} was saved since version {base} you edited: reload "
                     "and edit again", "base")
    response.headers["X-Latest-Version"] = str(latest)
    return response


@routes.put("/api/v1/calendar")
async def edit_calendar(request: web.Request) -> web.Response:
    scope = await viewer(request)
    if isinstance(scope, web.Response):
        return scope
    try:  # decoded before the level check: a malformed body is a 400 whoever sends it
        body = schema.decode(d.CalendarEdit, await json_body(request))
    except Invalid as exc:
        return invalid(exc)
    refused = _refused(request, scope) or _note(body.note, body.preview)
    if refused is not None:
        return refused
    zone = calendar_doc(_current(request).in_effect(CALENDAR).document).timezone
    edited = CalendarDoc(
        zone, tuple(TermRow(t.name, t.start, t.end) for t in body.terms),
        tuple(HolidayRow(h.date, h.name) for h in body.holidays), tuple(body.workdays))
    try:
        tidy, _ = check_calendar(edited)
    except SettingError as exc:
        return _unprocessable(exc)
    return await _save(request, scope, CALENDAR, body.base, calendar_text(tidy), body.note,
                       body.preview, "calendar_edit")


@routes.put("/api/v1/policy/{programme}")
async def edit_policy(request: web.Request) -> web.Response:
    scope = await viewer(request)
    if isinstance(scope, web.Response):
        return scope
    try:
        body = schema.decode(d.PolicyEdit, await json_body(request))
    except Invalid as exc:
        return invalid(exc)
    refused = _refused(request, scope) or _note(body.note, body.preview)
    if refused is not None:
        return refused
    kind = _kind(request)
    if kind is None:
        return error(404, "not_found", f"没有这个项目 no such programme; known: "
                     f"{', '.join(BUILT_IN)}")
    current = _current(request)
    await current.refresh()
    if body.base != current.in_effect(kind).seq:  # the changes apply to the latest only
        return _stale(body.base, current.in_effect(kind).seq)
    try:
        document, _ = apply_policy_changes(current.in_effect(kind).document, body.changes)
    except SettingError as exc:
        return _unprocessable(exc)
    return await _save(request, scope, kind, body.base, document, body.note, body.preview,
                       "policy_edit")


def _seq(request: web.Request) -> int | None:
    text = request.match_info.get("seq", "")
    return int(text) if _SEQ.fullmatch(text) else None


async def _document(current: CurrentSettings, kind: str, seq: int) -> str | None:
    if seq == 0:
        return current.configured[kind]
    version = await current.store.version(kind, seq)
    return version.document if version is not None else None


@routes.get("/api/v1/calendar/versions")
@routes.get("/api/v1/policy/{programme}/versions")
async def history(request: web.Request) -> web.Response:
    """Versions newest first, each with its diff against the one before (version 0,
    the configured file, closes the list when the page reaches it)."""
    scope = await viewer(request)
    if isinstance(scope, web.Response):
        return scope
    kind = _kind(request)
    if kind is None:
        return error(404, "not_found", "没有这个项目 no such programme")
    limit_text = request.query.get("limit", "50")
    if not _SEQ.fullmatch(limit_text) or not 1 <= int(limit_text) <= MAX_HISTORY:
        return error(400, "invalid", f"limit 应为 1–{MAX_HISTORY} limit must be 1-{MAX_HISTORY}",
                     "limit")
    limit = int(limit_text)
    current = _current(request)
    versions = await current.store.history(kind, limit + 1)
    shown = versions[:limit]
    out = []
    for i, version in enumerate(shown):
        before = (versions[i + 1].document if i + 1 < len(versions)
                  else current.configured[kind])
        out.append(_version_json(kind, version, current, diff(kind, before, version.document)))
    if len(versions) <= limit:
        out.append(_version_json(kind, None, current, []))
    return web.json_response({"kind": kind, "in_effect": current.in_effect(kind).seq,
                              "can_edit": may_edit(request, scope), "versions": out})


@routes.get(r"/api/v1/calendar/versions/{seq:\d+}.toml")
@routes.get(r"/api/v1/policy/{programme}/versions/{seq:\d+}.toml")
async def version_file(request: web.Request) -> web.Response:
    scope = await viewer(request)
    if isinstance(scope, web.Response):
        return scope
    kind, seq = _kind(request), _seq(request)
    document = None if kind is None or seq is None else await _document(
        _current(request), kind, seq)
    if kind is None or seq is None or document is None:
        return error(404, "not_found", "没有这个版本 no such version")
    name = f"{kind.replace(':', '-')}-v{seq}.toml"
    return web.Response(text=document, content_type="application/toml", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"',
                                 "Cache-Control": "no-store"})


# Any segment (the default refuses braces), checked in the handler after the body: a
# malformed body is a 400 on any path, as the declarations test sends it.
@routes.post("/api/v1/calendar/versions/{seq:[^/]+}/restore")
@routes.post("/api/v1/policy/{programme:[^/]+}/versions/{seq:[^/]+}/restore")
async def restore(request: web.Request) -> web.Response:
    scope = await viewer(request)
    if isinstance(scope, web.Response):
        return scope
    try:
        body = schema.decode(d.SettingsRestore, await json_body(request))
    except Invalid as exc:
        return invalid(exc)
    refused = _refused(request, scope) or _note(body.note, False)
    if refused is not None:
        return refused
    kind, seq = _kind(request), _seq(request)
    document = None if kind is None or seq is None else await _document(
        _current(request), kind, seq)
    if kind is None or seq is None or document is None:
        return error(404, "not_found", "没有这个版本 no such version")
    try:
        check(kind, document)  # today's rules: an old version may break a newer one
    except SettingError as exc:
        return _unprocessable(exc)
    return await _save(request, scope, kind, body.base, document, body.note, False,
                       "settings_restore", {"restored": seq})
