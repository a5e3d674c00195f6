"""The OpenAPI description of a person's term statement exports, the 研修电子证书 and its
verification (issue 16; :mod:`signaling.server.people_api`), merged into
``/api/v1/openapi.json`` by :mod:`signaling.server.openapi`."""

from __future__ import annotations

from typing import Any

from recorder.certificates.sheets import HEADERS

_ERROR = {"$ref": "#/components/schemas/Error"}
_TEXT = {
    400: "Not a person id, or term is not a term of the calendar (the message lists some)",
    401: "Missing or wrong key (or no staff sign-in)",
    404: "No such person in the viewer's scope (a person outside it is answered the same)",
    422: "A session record the credits engine cannot compute",
}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": _TEXT[c], "content": {"application/json": {
        "schema": _ERROR}}} for c in codes}


_PARAMS: list[dict[str, Any]] = [
    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
     "description": "the person id"},
    {"name": "term", "in": "query", "required": True, "schema": {"type": "string"},
     "description": "a term name of the school calendar, e.g. 2026-autumn"},
]
_COLUMNS = "; ".join(HEADERS)
_TABLE = (
    "One row per ended session of the term the person took part in (every programme, in "
    "the order the statement computes them), then a 合计 total row per programme. "
    f"Columns: {_COLUMNS}. Points and pay are the JSON statement's figures for the term "
    "(caps applied). 学时 and 学分 count per year (四（四）1): the term is credited what its "
    "sessions add to each year's whole 学时 and 学分, so a year's terms add up to the "
    "statement's ``years``; a session line shows its study hours to 2 decimals for reading."
)
CERTIFICATE = {
    "type": "object",
    "required": ["valid"],
    "properties": {
        "valid": {"type": "boolean"},
        "code": {"type": "string", "pattern": "^[A-Z2-7]{4}(-[A-Z2-7]{4}){3}$"},
        "person": {"type": "string"},
        "name": {"type": "string"},
        "school": {"type": "string"},
        "district": {"type": "string"},
        "term": {"type": "string"},
        "study_hours": {"type": "integer", "description": "学时 the term was credited"},
        "credits": {"type": "integer", "description": "学分 the term was credited"},
        "issued_on": {"type": "string", "format": "date", "description": "Beijing date"},
        "issuer": {"type": "object", "properties": {"zh": {"type": "string"},
                                                    "en": {"type": "string"}}},
    },
}
PEOPLE_SCHEMAS = {"Certificate": CERTIFICATE}
PEOPLE_PATHS: dict[str, Any] = {
    "/people/{id}/statement.csv": {"get": {
        "summary": "A person's term statement as CSV (UTF-8 with BOM; bilingual header)",
        "description": _TABLE + " A text cell starting with = + - @ gets a leading ' (so "
        "a spreadsheet never runs it). Staff: the API key (city) or a signed-in staff "
        "member whose scope holds the person's place (their latest session's "
        "district_code / school_id).",
        "parameters": _PARAMS,
        "responses": {"200": {"description": "The statement", "content": {
            "text/csv": {"schema": {"type": "string"}}}}, **_errors(400, 401, 404, 422)},
    }},
    "/people/{id}/statement.xlsx": {"get": {
        "summary": "The same term statement as an Excel workbook (one sheet)",
        "description": _TABLE + " Minutes and whole 学时 / 学分 are numbers, points, pay "
        "and a line's study hours numbers shown with 2 decimals.",
        "parameters": _PARAMS,
        "responses": {"200": {"description": "The workbook", "content": {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}}}},
            **_errors(400, 401, 404, 422)},
    }},
    "/people/{id}/certificate.pdf": {"get": {
        "summary": "The term's 研修电子证书: a one-page A4 PDF (a CJK font embedded)",
        "description": "Name, school, district, term, the 学时 and 学分 the term was credited "
        "(as in the statement's totals of programmes with study hours), the issuing "
        "office, the date (Beijing), a verification code and its URL (/verify/{code}, "
        "also as a QR code). Issuing is recorded, so the code can be verified; the same "
        "figures on the same day give the same code. 404 also when the term has no "
        "session of a programme with study hours (nothing to certify); 503 font_missing "
        "when the server has no CJK TrueType font (install fonts-wqy-microhei).",
        "parameters": _PARAMS,
        "responses": {"200": {"description": "The certificate", "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}}}},
            **_errors(400, 401, 404, 422),
            "503": {"description": "No CJK font on the server (font_missing)", "content": {
                "application/json": {"schema": _ERROR}}}},
    }},
    "/certificates/{code}": {"get": {
        "summary": "Verify a certificate's code (public, no sign-in)",
        "description": "The code as printed (case, spaces and dashes do not matter). Valid "
        "when this server issued it and its record still matches it (an HMAC of the person, "
        "term, study hours, credits and date under the server's secret). The same answer "
        "as a page for people: GET /verify/{code} (outside /api/v1; 404 page when not "
        "valid).",
        "security": [],
        "parameters": [{"name": "code", "in": "path", "required": True,
                        "schema": {"type": "string"}}],
        "responses": {
            "200": {"description": "Valid: whom and what it certifies", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Certificate"}}}},
            "404": {"description": "Not valid (unknown, mistyped or changed)", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "valid": {"const": False}, "error": _ERROR}}}}},
        },
    }},
}
