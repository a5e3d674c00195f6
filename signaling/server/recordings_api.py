"""HTTP for recordings: the platform's list and export jobs (API key), a participant's
list (join token), and the signed resources under ``/recordings/{id}/{viewer}/``
(replay manifest, segments, the single file) and the ``/replay`` page.

Anything unsigned, expired or signed for another scope is refused with 403; a
missing or wrong API key or join token with 401. Segment deliveries are written
down per viewer: they are the evidence of replay time (:mod:`recorder.media.replay_time`).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlencode

import av
from aiohttp import web

from recorder.media import segments as seg
from recorder.media.recording import FULL_FILE, STATS
from recorder.media.recording_index import Recording
from signaling.server import pages, web_assets
from signaling.server.access import scoped_session
from signaling.server.export_jobs import ExportQueueFull
from signaling.server.http_util import (
    check_api_key,
    error,
    participant_session,
    services,
)
from signaling.server.recordings import TRACK_ID, Recordings, manifest
from signaling.server.sessions_api import base_url
from signaling.store.sqlite import StoredSession

routes = web.RouteTableDef()


def _recordings(request: web.Request) -> Recordings | None:
    return services(request).recordings


def _unavailable() -> web.Response:
    return error(503, "unavailable", "this server does not record")


async def _platform_recordings(
    request: web.Request,
) -> tuple[StoredSession, Recordings] | web.Response:
    """The session in the path (API key, or staff in scope) and this server's
    recordings, or the refusal."""
    session = await scoped_session(request)
    if isinstance(session, web.Response):
        return session
    recs = _recordings(request)
    return (session, recs) if recs is not None else _unavailable()


# ----------------------------------------------------------------- lists (API key, token)


@routes.get("/api/v1/sessions/{id}/recordings")
async def list_for_platform(request: web.Request) -> web.Response:
    found = await _platform_recordings(request)
    if isinstance(found, web.Response):
        return found
    session, recs = found
    viewer = await recs.viewer(session.id, None)
    items = await recs.listing(session.id, viewer, base_url(request))
    return web.json_response({"session_id": session.id, "recordings": _public(items)})


@routes.get("/api/v1/me/recordings")
async def list_for_participant(request: web.Request) -> web.Response:
    found = await participant_session(request)
    if isinstance(found, web.Response):
        return found
    grant, session = found
    recs = _recordings(request)
    if recs is None:
        return _unavailable()
    viewer = await recs.viewer(session.id, grant.person)
    items = await recs.listing(session.id, viewer)
    return web.json_response({"session_id": session.id, "recordings": _public(items)})


def _public(items: list[dict[str, object]]) -> list[dict[str, object]]:
    return [{k: v for k, v in item.items() if not k.startswith("_")} for item in items]


# ------------------------------------------------------------------ signed resources


async def _signed(request: web.Request, recording_id: str,
                  viewer: str) -> tuple[Recordings, Recording, str | None] | web.Response:
    """The recording and the viewer's person (``None``: the platform), or the refusal."""
    recs = _recordings(request)
    if recs is None:
        return _unavailable()
    if not recs.check(recording_id, viewer, request.query.get("exp"), request.query.get("sig")):
        return error(403, "forbidden", "this link is not valid (or has expired)")
    rec = await recs.index.aget(recording_id)
    who = await recs.index.awho(viewer)
    if rec is None or who is None or who[0] != rec.session_id:
        return error(404, "not_found", "no such recording")
    return recs, rec, who[1]


@routes.get("/replay")
async def replay_page(request: web.Request) -> web.StreamResponse:
    found = await _signed(request, request.query.get("r", ""), request.query.get("v", ""))
    if isinstance(found, web.Response):
        return pages.error_page(request, found.status, "replay")
    return web_assets.page(request, "replay.html")


@routes.get("/recordings/{rid}/{viewer}/manifest.json")
async def replay_manifest(request: web.Request) -> web.Response:
    rid, viewer = request.match_info["rid"], request.match_info["viewer"]
    found = await _signed(request, rid, viewer)
    if isinstance(found, web.Response):
        return found
    recs, rec, _person = found
    svc = services(request)
    session = await svc.store.session(rec.session_id)
    if session is None:
        return error(404, "not_found", "no such session")
    body = manifest(
        rec, session.spec,
        session_id=session.id,
        board=await svc.store.board_log(session.id),
        chat=await svc.store.chat(session.id, limit=100_000),
        scope_query=urlencode({"exp": request.query["exp"], "sig": request.query["sig"]}),
        scope=recs.scope(rid, viewer),
        sign_upload=svc.sign_url,
    )
    response = web.json_response(body)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@routes.get("/recordings/{rid}/{viewer}/{track}/{n}.webm")
async def segment(request: web.Request) -> web.StreamResponse:
    rid, viewer = request.match_info["rid"], request.match_info["viewer"]
    track, n = request.match_info["track"], request.match_info["n"]
    found = await _signed(request, rid, viewer)
    if isinstance(found, web.Response):
        return found
    recs, rec, person = found
    number = int(n) if n.isascii() and n.isdigit() and len(n) <= 6 else -1  # not "²"
    part = next((s for s in rec.segments_of(track) if s.n == number), None) \
        if TRACK_ID.fullmatch(track) else None
    if part is None:
        return error(404, "not_found", "no such segment")
    path = recs.root / rec.id / part.file
    if not path.is_file():
        return error(404, "not_found", "no such segment")
    # A delivery from the start of the file counts (a fetch or its first range).
    whole = request.http_range.start in (None, 0)
    if person is not None and whole:
        await recs.index.adelivered(rec.id, rec.session_id, person, track, part.n,
                                    services(request).clock.time(), part.end_s - part.start_s)
    codecs = [t.codec for t in rec.tracks if t.track == track]
    if [c.lower() for c in codecs] == ["h264"]:
        # Browsers play H.264 from MP4 only: remuxed per request (segments.fragmented_mp4).
        try:
            body = await asyncio.to_thread(seg.fragmented_mp4, path)
        except (av.error.FFmpegError, OSError):
            return error(404, "not_found", "this segment cannot be read")
        mp4 = web.Response(body=body, content_type="video/mp4")
        mp4.headers["Cache-Control"] = "private, max-age=3600"
        return mp4
    response = web.FileResponse(path)
    response.content_type = seg.media_type("video" if track.startswith("v") else "audio", codecs)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@routes.get("/recordings/{rid}/{viewer}/" + FULL_FILE)
async def full_file(request: web.Request) -> web.StreamResponse:
    rid, viewer = request.match_info["rid"], request.match_info["viewer"]
    found = await _signed(request, rid, viewer)
    if isinstance(found, web.Response):
        return found
    recs, rec, _person = found
    path = recs.root / rec.id / FULL_FILE
    if not path.is_file():
        return error(404, "not_ready", "the single file is not made yet")
    response = web.FileResponse(path)
    # With an H.264 track the file is Matroska (recorder/media/segments.py): say so.
    response.content_type = seg.media_type("video", [t.codec for t in rec.tracks])
    suffix = "mkv" if response.content_type == "video/x-matroska" else "webm"
    response.headers["Content-Disposition"] = f'attachment; filename="{rec.id}.{suffix}"'
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# ------------------------------------------------------------------ export jobs, metrics


@routes.post("/api/v1/sessions/{id}/exports")
async def start_export(request: web.Request) -> web.Response:
    found = await _platform_recordings(request)
    if isinstance(found, web.Response):
        return found
    session, recs = found
    finished = [r for r in await recs.index.arecordings(session_id=session.id)
                if r.state != "recording" and r.duration_s > 0]
    if not finished:
        return error(409, "no_recording", "this session has no finished recording")
    try:
        job = recs.exports.start(session.id)
    except ExportQueueFull:
        return error(503, "busy", "too many exports are waiting: try again in a few minutes")
    body = {**job.wire(), "status_url": f"/api/v1/exports/{job.id}"}
    return web.json_response(body, status=202)


@routes.get("/api/v1/exports/{job}")
async def export_status(request: web.Request) -> web.Response:
    if (denied := check_api_key(request)) is not None:
        return denied
    recs = _recordings(request)
    job = recs.exports.get(request.match_info["job"]) if recs is not None else None
    if job is None:
        return error(404, "not_found", "no such export job")
    body = job.wire()
    if job.state == "done":
        body["download_url"] = f"/api/v1/exports/{job.id}/download"
    return web.json_response(body)


@routes.get("/api/v1/exports/{job}/download")
async def export_download(request: web.Request) -> web.StreamResponse:
    if (denied := check_api_key(request)) is not None:
        return denied
    recs = _recordings(request)
    job = recs.exports.get(request.match_info["job"]) if recs is not None else None
    if job is None:
        return error(404, "not_found", "no such export job")
    if job.state != "done":
        return error(409, "not_ready", f"the export is {job.state}")
    response = web.FileResponse(job.path)
    response.content_type = "video/mp4"
    response.headers["Content-Disposition"] = f'attachment; filename="{job.id}.mp4"'
    return response


@routes.get("/api/v1/metrics/recording")
async def metrics(request: web.Request) -> web.Response:
    if (denied := check_api_key(request)) is not None:
        return denied
    recs = _recordings(request)
    return web.json_response({
        "recordings_active": recs.active if recs is not None else 0,
        **{k: STATS[k] for k in ("errors", "frames_written", "frames_dropped", "segments",
                                 "recovered", "writer_cpu_ms", "fsyncs")},
    })
