"""Who a log line is about: the session and person being handled, as context variables
(per task), so that every line about a session carries them without being passed
around. The room's task sets the session; the socket handlers set both for the event
they handle. The server's JSON log formatter reads them (``signaling/server/logs.py``)."""

from __future__ import annotations

from contextvars import ContextVar

SESSION: ContextVar[str | None] = ContextVar("opentutor_session", default=None)
PERSON: ContextVar[str | None] = ContextVar("opentutor_person", default=None)
