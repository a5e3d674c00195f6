"""The Q&A centre's photos and voice notes: what a file is, told from its first bytes
(never from the content type a client claims), and where it lives on disk.

Photos are the chat's pictures (:data:`signaling.server.participant_api.MAGIC`: JPEG,
PNG, GIF, WebP). A voice note is what a browser's MediaRecorder makes: WebM (Chrome,
Firefox: an EBML header whose DocType is ``webm``), Ogg with Opus, or MP4 (Safari:
``ftyp`` at byte 4). Its length is bounded by its bytes (the policy's
``max_voice_bytes``); the page's recorder also stops at ``max_voice_seconds``.

Files are named by the server (``m_`` and 24 random characters), in
``<data dir>/qa_media/``; the database row says what each is and whose post holds it.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from pathlib import Path

from signaling.qa.rules import Refused
from signaling.server.participant_api import MAGIC

FOLDER = "qa_media"
MEDIA_ID = re.compile(r"m_[A-Za-z0-9_-]{24}")
_EBML = b"\x1a\x45\xdf\xa3"
_BASE64 = re.compile(rb"[A-Za-z0-9+/]*={0,2}")


def new_id() -> str:
    return "m_" + secrets.token_urlsafe(18)


def photo_type(data: bytes) -> str | None:
    """The picture's content type by its magic bytes, or None."""
    for content_type, magics in MAGIC.items():
        if any(data.startswith(m) for m in magics):
            if content_type == "image/webp" and data[8:12] != b"WEBP":
                return None
            return content_type
    return None


def voice_type(data: bytes) -> str | None:
    """The voice note's content type by its container header, or None."""
    if data.startswith(_EBML):
        # The EBML header is a few dozen bytes; its DocType element (0x4282, size 0x84)
        # says webm (a Matroska file would say matroska).
        return "audio/webm" if b"\x42\x82\x84webm" in data[:64] else None
    if data.startswith(b"OggS") and b"OpusHead" in data[:64]:
        return "audio/ogg"
    if data[4:8] == b"ftyp":
        return "audio/mp4"
    return None


def decode(text: object, field: str, limit: int, what: str) -> bytes:
    """A base64 file of the JSON body, whole and within ``limit`` bytes, or
    :class:`Refused` naming the field."""
    if not isinstance(text, str) or not text.isascii():
        raise Refused("invalid", f"{field}: must be a base64 text", field, 400)
    if len(text) > (limit + 2) // 3 * 4 + 4:
        mib = limit / (1024 * 1024)
        raise Refused("too_large", f"{what} may be at most {mib:g} MiB", field, 413)
    raw = text.encode()
    if not _BASE64.fullmatch(raw):
        raise Refused("invalid", f"{field}: must be a base64 text", field, 400)
    try:
        data = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise Refused("invalid", f"{field}: must be a base64 text", field, 400) from None
    if len(data) > limit:
        mib = limit / (1024 * 1024)
        raise Refused("too_large", f"{what} may be at most {mib:g} MiB", field, 413)
    return data


def path_of(data_dir: Path, media_id: str) -> Path:
    assert MEDIA_ID.fullmatch(media_id), media_id
    return data_dir / FOLDER / media_id
