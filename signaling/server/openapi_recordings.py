"""The OpenAPI description of the recording endpoints (merged into
``/api/v1/openapi.json`` by :mod:`signaling.server.openapi`)."""

from __future__ import annotations

from typing import Any

_ERROR = {"$ref": "#/components/schemas/Error"}
_TEXT = {401: "Missing or wrong key", 404: "Unknown id", 409: "Conflict",
         503: "This server does not record"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): _json(_ERROR, _TEXT[c]) for c in codes}


ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
JOB = [{"name": "job", "in": "path", "required": True, "schema": {"type": "string"}}]
SPAN = {
    "type": "object",
    "required": ["start", "end", "reason"],
    "properties": {
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "start_s": {"type": "number", "description": "seconds on the recording's clock"},
        "end_s": {"type": "number"},
        "track": {"type": ["string", "null"]},
        "reason": {"enum": ["server_stopped", "writer_behind", "write_failed"]},
    },
}
RECORDING = {
    "type": "object",
    "required": ["id", "url", "replay_url", "duration_s", "tracks", "complete", "bytes"],
    "properties": {
        "id": {"type": "string", "description": "random; no names in ids, files or URLs"},
        "url": {"type": "string", "description": "signed, expiring (24 h) download of the "
                "single WebM file (every track, one clock); 404 until file_ready"},
        "replay_url": {"type": "string", "description": "signed, expiring replay page"},
        "expires_at": {"type": "string", "format": "date-time"},
        "started_at": {"type": "string", "format": "date-time"},
        "duration_s": {"type": "number"},
        "tracks": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "kind": {"enum": ["audio", "video"]},
                    "codec": {"type": "string", "description": "as sent: VP8, opus (H264)"},
                    "person": {"type": "string"},
                },
            },
        },
        "complete": {"type": "boolean", "description": "false: some span was not recorded"},
        "media": {"type": "boolean", "description": "false: no audio or video at all (board "
                  "and chat only); a recording a crash cut before any media was kept is "
                  "not listed"},
        "bytes": {"type": "integer"},
        "file_ready": {"type": "boolean"},
        "unrecorded": {"type": "array", "items": SPAN},
    },
}
LIST = {
    "type": "object",
    "properties": {
        "session_id": {"type": "string"},
        "recordings": {"type": "array", "items": {"$ref": "#/components/schemas/Recording"}},
    },
}
EXPORT_JOB = {
    "type": "object",
    "required": ["id", "state", "progress"],
    "properties": {
        "id": {"type": "string"},
        "session_id": {"type": "string"},
        "state": {"enum": ["queued", "running", "done", "failed"]},
        "progress": {"type": "number", "minimum": 0, "maximum": 1},
        "duration_s": {"type": ["number", "null"]},
        "bytes": {"type": ["integer", "null"]},
        "error": {"type": ["string", "null"]},
        "status_url": {"type": "string"},
        "download_url": {"type": "string", "description": "when done (API key)"},
    },
}

RECORDING_SCHEMAS: dict[str, Any] = {"Recording": RECORDING, "ExportJob": EXPORT_JOB,
                                     "UnrecordedSpan": SPAN}

RECORDING_PATHS: dict[str, Any] = {
    "/sessions/{id}/recordings": {
        "get": {
            "summary": "The session's finished recordings, with signed, expiring links",
            "parameters": ID,
            "responses": {"200": _json(LIST), **_errors(401, 404, 503)},
        }
    },
    "/sessions/{id}/exports": {
        "post": {
            "summary": "Start an export job: one H.264/AAC MP4 (whiteboard, presenter's "
            "camera inset, every voice), made offline at lower priority",
            "parameters": ID,
            "responses": {
                "202": _json({"$ref": "#/components/schemas/ExportJob"}, "Started"),
                **_errors(401, 404, 409, 503),
            },
        }
    },
    "/exports/{job}": {
        "get": {
            "summary": "An export job's state and progress",
            "parameters": JOB,
            "responses": {
                "200": _json({"$ref": "#/components/schemas/ExportJob"}),
                **_errors(401, 404),
            },
        }
    },
    "/exports/{job}/download": {
        "get": {
            "summary": "The finished MP4",
            "parameters": JOB,
            "responses": {
                "200": {"description": "The file",
                        "content": {"video/mp4": {"schema": {"type": "string",
                                                              "format": "binary"}}}},
                **_errors(401, 404, 409),
            },
        }
    },
    "/metrics/recording": {
        "get": {
            "summary": "Recording counters: active, errors, frames written and dropped, "
            "segments, recordings recovered after a crash",
            "responses": {"200": _json({"type": "object"}), **_errors(401)},
        }
    },
    "/me/recordings": {
        "get": {
            "summary": "The session's recordings for one of its participants (links bound "
            "to them: what is served to them is their replay time)",
            "security": [{"joinToken": []}],
            "responses": {"200": _json(LIST), **_errors(401, 404, 503)},
        }
    },
}

RECORD_FIELDS: dict[str, Any] = {
    "recordings": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "started_at": {"type": "string", "format": "date-time"},
                "stopped_at": {"type": ["string", "null"], "format": "date-time"},
                "state": {"enum": ["recording", "complete", "incomplete"]},
                "complete": {"type": "boolean"},
                "duration_s": {"type": "number"},
                "unrecorded": {"type": "array", "items": SPAN},
            },
        },
    },
}
