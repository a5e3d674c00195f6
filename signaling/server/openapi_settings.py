"""The OpenAPI description of the calendar and policy edits and their history (issue
16, :mod:`signaling.server.settings_api`), merged into ``/api/v1/openapi.json`` by
:func:`document_settings` after the console part (whose ``GET /calendar`` and ``GET
/policy`` it amends: they are no longer read-only). Bodies come from the declarations
the handlers decode with."""

from __future__ import annotations

from typing import Any

from signaling.server.access import CSRF_HEADER
from signaling.server.settings_api import MAX_HISTORY
from signaling.session.declarations import openapi_bodies

_ERROR = {"$ref": "#/components/schemas/Error"}
_STAFF: list[dict[str, list[str]]] = [{"apiKey": []}, {"staffCookie": []}]
_CITY: list[dict[str, list[str]]] = [{"staffCookie": []}]


def _answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": schema or _ERROR}}}


_DIFF = {"type": "array", "description": "what changed against the version before, by path "
         "(policy: forms.lecture.min_viewers; calendar: terms.<name>.start, "
         "holidays.<date> (its name), workdays.<date>); null where absent",
         "items": {"type": "object", "required": ["path", "old", "new"], "properties": {
             "path": {"type": "string"}, "old": {}, "new": {}}}}
SETTINGS_SCHEMAS: dict[str, Any] = {
    "SettingsVersion": {
        "type": "object",
        "required": ["seq", "kind", "at", "who", "note", "configured", "diff"],
        "properties": {
            "seq": {"type": "integer", "description": "the version; 0 is the configured file"},
            "kind": {"enum": ["calendar", "policy:training", "policy:tutoring"]},
            "base": {"type": ["integer", "null"], "description": "the version it was made from"},
            "at": {"type": ["string", "null"], "format": "date-time"},
            "who": {"type": "string", "description": "the city officer's username"},
            "note": {"type": "string", "description": "why"},
            "configured": {"type": "boolean", "description": "version 0: the --calendar file "
                           "(or the shipped sample) or the shipped policy file"},
            "diff": _DIFF,
        },
    },
    "SettingsHistory": {
        "type": "object",
        "required": ["kind", "in_effect", "can_edit", "versions"],
        "properties": {
            "kind": {"type": "string"},
            "in_effect": {"type": "integer", "description": "the version computed with now"},
            "can_edit": {"type": "boolean"},
            "versions": {"type": "array", "items": {"$ref": "#/components/schemas/"
                                                            "SettingsVersion"}},
        },
    },
    "SettingsSaved": {
        "type": "object",
        "properties": {
            "version": {"$ref": "#/components/schemas/SettingsVersion"},
            "preview": {"type": "boolean"}, "base": {"type": "integer"}, "diff": _DIFF,
        },
        "description": "201: the version saved; 200 (preview): the diff it would make",
    },
}
_EDIT_ANSWERS = {
    "200": _answer("Preview: the diff, nothing saved",
                   {"$ref": "#/components/schemas/SettingsSaved"}),
    "201": _answer("Saved; in effect at once on this node, within seconds on the others",
                   {"$ref": "#/components/schemas/SettingsSaved"}),
    "400": _answer("Malformed body, or no note (field named)"),
    "401": _answer("Not signed in"),
    "403": _answer(f"Not a city officer (a district or school account, or the API key), or "
                   f"no {CSRF_HEADER}"),
    "404": _answer("No such programme or version"),
    "409": _answer("base is not the latest version any more (someone saved since): reload"),
    "422": _answer("The edit breaks a rule (invalid_setting: field and message in Chinese "
                   "and English), or changes nothing (unchanged). Nothing is saved"),
}
_WHO_EDITS = ("Signed-in city staff only (with the staff cookie and its "
              f"{CSRF_HEADER}); audit-logged. The change applies to every figure computed "
              "from then on, past sessions' statements included; outputs of pay state the "
              "versions they used (calendar_version, policy_version).")
_SEQ = {"name": "seq", "in": "path", "required": True, "schema": {"type": "integer",
                                                                    "minimum": 0}}
_PROGRAMME = {"name": "programme", "in": "path", "required": True,
              "schema": {"enum": ["training", "tutoring"]}}


def _history(what: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    return {"get": {
        "summary": f"The {what}'s versions, newest first: who, when, why and the diff against "
        "the one before; version 0 (the configured file) last",
        "security": _STAFF,
        "parameters": [*params, {"name": "limit", "in": "query", "schema": {
            "type": "integer", "minimum": 1, "maximum": MAX_HISTORY, "default": 50}}],
        "responses": {"200": _answer("The history", {"$ref": "#/components/schemas/"
                                                             "SettingsHistory"}),
                      "400": _answer("Bad limit"), "401": _answer("Not signed in"),
                      "404": _answer("No such programme")},
    }}


def _file(what: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    return {"get": {
        "summary": f"One version of the {what} as its TOML file, the format of the files the "
        "server and `opentutor credits` read: recompute any statement with it",
        "security": _STAFF,
        "parameters": [*params, _SEQ],
        "responses": {"200": {"description": "The file",
                              "content": {"application/toml": {"schema": {"type": "string"}}}},
                      "401": _answer("Not signed in"), "404": _answer("No such version")},
    }}


def _restore(what: str, route: str, params: list[dict[str, Any]]) -> dict[str, Any]:
    return {"post": {
        "summary": f"Restore a version of the {what}: its content becomes a new version, "
        "with the note given",
        "description": _WHO_EDITS,
        "security": _CITY,
        "parameters": [*params, _SEQ],
        "requestBody": openapi_bodies()[0][route],
        "responses": {k: v for k, v in _EDIT_ANSWERS.items() if k != "200"},
    }}


def document_settings(document: dict[str, Any]) -> None:
    bodies = openapi_bodies()[0]
    paths = document["paths"]
    document["components"]["schemas"].update(SETTINGS_SCHEMAS)
    paths.setdefault("/calendar", {})["put"] = {
        "summary": "Edit the term calendar: terms, holidays (date and name), make-up working "
        "days, as a whole; checked by the calendar's rules (preview: true answers the diff)",
        "description": _WHO_EDITS, "security": _CITY,
        "requestBody": bodies["PUT /calendar"], "responses": _EDIT_ANSWERS,
    }
    paths.setdefault("/policy/{programme}", {})["put"] = {
        "summary": "Edit a programme's policy numbers by path (GET /policy lists them under "
        "editable); checked by the policy's rules (preview: true answers the diff)",
        "description": _WHO_EDITS, "security": _CITY, "parameters": [_PROGRAMME],
        "requestBody": bodies["PUT /policy/{programme}"], "responses": _EDIT_ANSWERS,
    }
    paths["/calendar/versions"] = _history("calendar", [])
    paths["/policy/{programme}/versions"] = _history("policy", [_PROGRAMME])
    paths["/calendar/versions/{seq}.toml"] = _file("calendar", [])
    paths["/policy/{programme}/versions/{seq}.toml"] = _file("policy", [_PROGRAMME])
    paths["/calendar/versions/{seq}/restore"] = _restore(
        "calendar", "/calendar/versions/{seq}/restore", [])
    paths["/policy/{programme}/versions/{seq}/restore"] = _restore(
        "policy", "/policy/{programme}/versions/{seq}/restore", [_PROGRAMME])
    for path in ("/calendar", "/policy"):  # no longer read-only: say so where they are read
        get = paths.get(path, {}).get("get")
        if get is not None:
            get["summary"] = (get["summary"].split(". Read-only")[0] + ": the versions in "
                              "effect, with version {seq, at, who, note} and can_edit; the "
                              "city office edits them (PUT)")
