"""What the HTTP and socket.io handlers share: one object built by the app factory.

No globals: handlers get this from the aiohttp app (a typed ``AppKey``) or from
their constructor.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from recorder.presence.journal import Journal
from rtc.clock import Clock
from signaling.admin.accounts import Accounts
from signaling.router.base import Router
from signaling.server import signed_urls, tokens
from signaling.server.config import Config
from signaling.server.recordings import Recordings
from signaling.server.webhooks import Webhooks
from signaling.session.spec import SessionSpec
from signaling.session.timefmt import iso_at
from signaling.store.base import SessionStore

if TYPE_CHECKING:  # it reaches Services through the app: imported for the type only
    from signaling.server.current_settings import CurrentSettings

# Join links stay valid this long after the scheduled end: the feedback form is
# reachable by the same link for 7 days after the session ("7天内", seed 001).
LINK_LIFETIME_AFTER_END = timedelta(days=8)
SIGNED_URL_LIFETIME_S = 8 * 24 * 3600


@dataclass
class Services:
    config: Config
    clock: Clock
    store: SessionStore
    journal: Journal
    router: Router
    recordings: Recordings | None = None
    webhooks: Webhooks | None = None  # None: no --webhook-url
    staff: Accounts | None = None  # staff accounts (signaling.server.staff_api)
    # The calendar and policies in effect (issue 16); None: the configured files.
    settings: CurrentSettings | None = None

    def sign_url(self, path: str) -> str:
        expires = int(self.clock.time()) + SIGNED_URL_LIFETIME_S
        return signed_urls.sign(self.config.secret, path, expires)

    def join_token(self, session_id: str, spec: SessionSpec, person_id: str) -> str:
        person = spec.person(person_id)
        assert person is not None
        expires = spec.scheduled_end + LINK_LIFETIME_AFTER_END
        grant = tokens.Grant(
            person=person.id,
            session=session_id,
            role=person.role,
            name=person.name,
            issued_at=int(self.clock.time()),
            expires_at=int(expires.timestamp()),
        )
        return tokens.issue(self.config.secret, grant)

    async def create_session(self, spec: SessionSpec, base_url: str) -> dict[str, object]:
        """Store a validated session and return its id and one join URL per person."""
        session_id = "s_" + secrets.token_urlsafe(12)
        await self.store.create_session(session_id, spec, iso_at(self.clock.time()))
        join_urls = {
            p.id: f"{base_url}/join?token={self.join_token(session_id, spec, p.id)}"
            for p in spec.people
        }
        return {"session_id": session_id, "join_urls": join_urls}
