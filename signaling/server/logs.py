"""Logging as operators read it: one JSON object per line (``--log-format json``, the
default when stderr is not a terminal) with the node, and the session and person the
line is about when there is one (:mod:`signaling.session.log_context`); plain text on a
terminal. Refused input is logged as one INFO line by its handler, never a traceback."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from signaling.session.log_context import PERSON, SESSION


class JsonFormatter(logging.Formatter):
    def __init__(self, node: str) -> None:
        super().__init__()
        self._node = node

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            "node": self._node,
        }
        if (session := SESSION.get()) is not None:
            line["session"] = session
        if (person := PERSON.get()) is not None:
            line["person"] = person
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(log_format: str, node: str) -> None:
    """``auto``: JSON unless stderr is a terminal."""
    use_json = log_format == "json" or (log_format == "auto" and not sys.stderr.isatty())
    handler = logging.StreamHandler()
    if use_json:
        handler.setFormatter(JsonFormatter(node))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("aioice").setLevel(logging.WARNING)
