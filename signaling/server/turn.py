"""Time-limited TURN credentials handed out with each join (the "TURN REST API"
scheme: draft-uberti-behave-turn-rest-00, coturn's ``use-auth-secret``).

The server and coturn share one secret (``--turn-secret`` here, ``static-auth-secret``
there). For each join the browser gets, for every ``--turn-url``:

* ``username`` = ``<expiry>:<person id>``, ``expiry`` a Unix time ``--turn-ttl``
  seconds from now (coturn refuses the username after it);
* ``credential`` = base64(HMAC-SHA1(secret, username)), which coturn recomputes.

Nothing is stored and nothing is revoked: a leaked credential is good until its expiry
and names the person it was given to. The TTL must outlast the longest session, since
a browser that reconnects (ICE restart, new peer connection) reuses the credentials of
its last welcome; a welcome after a reconnect brings fresh ones.

Pure: the clock is passed in; no I/O. The secret and the credentials must never reach
a log line: :class:`TurnConfig` hides the secret from ``repr``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

DEFAULT_TTL_S = 6 * 3600  # longer than any session of the programme (2 h lectures)


def credentials(secret: str, person: str, now: float, ttl_s: float) -> tuple[str, str]:
    """(username, credential) for ``person`` valid until ``now + ttl_s``."""
    username = f"{int(now + ttl_s)}:{person}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode("ascii")


def check_turn_url(url: str) -> str:
    """A ``--turn-url``: ``turn:host[:port][?transport=udp|tcp]`` or
    ``turns:host[:port][?transport=tcp]``, without credentials (they are minted per
    join). Returns it stripped; ``ValueError`` otherwise."""
    url = url.strip()
    scheme, sep, rest = url.partition(":")
    if scheme.lower() not in ("turn", "turns") or not sep or not rest:
        raise ValueError(f"not a turn:/turns: URL: {url!r}")
    if "@" in rest:
        raise ValueError(f"--turn-url carries no credentials (they are minted per join): {url!r}")
    hostport, _, query = rest.partition("?")
    # urlsplit reads host and port (IPv6 in brackets too) once given a netloc.
    parts = urlsplit("//" + hostport)
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"bad port in {url!r}") from None
    if not parts.hostname or parts.path or (port is not None and not 0 < port < 65536):
        raise ValueError(f"bad host or port in {url!r}")
    if query:
        key, _, value = query.partition("=")
        allowed = ("udp", "tcp") if scheme.lower() == "turn" else ("tcp",)
        if key != "transport" or value not in allowed:
            raise ValueError(f"transport must be one of {allowed} in {url!r}")
    return url


@dataclass(frozen=True)
class TurnConfig:
    """The ``--turn-*`` flags: URLs, the shared secret, the credentials' lifetime."""

    urls: tuple[str, ...]
    secret: str = field(repr=False)
    ttl_s: float = DEFAULT_TTL_S

    def __post_init__(self) -> None:
        if not self.urls or not self.secret:
            raise ValueError("TURN needs at least one --turn-url and --turn-secret")
        if self.ttl_s <= 0:
            raise ValueError("--turn-ttl must be positive")
        for url in self.urls:
            check_turn_url(url)

    def ice_servers(self, person: str, now: float) -> list[dict[str, Any]]:
        """The browser's ``iceServers`` entry (RTCIceServer dictionary) for ``person``:
        one entry, every URL, one username and credential."""
        username, credential = credentials(self.secret, person, now, self.ttl_s)
        return [{"urls": list(self.urls), "username": username, "credential": credential}]

    def expiry(self, now: float) -> int:
        return int(now + self.ttl_s)
