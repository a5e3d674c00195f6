"""ICE configuration: servers from URLs, and which host addresses a peer connection offers.

Two rules for every peer connection this project makes (server side and test clients):

* ICE servers are explicit. ``RTCConfiguration(iceServers=None)`` makes aiortc fall back
  to a public STUN server, which is unreachable on our machines and stalls every
  negotiation by about 5 s. :func:`rtc_configuration` always passes a list (default
  empty).
* Host candidates can be restricted to given addresses, per peer connection:
  :func:`restrict_host_addresses`. This is the one place that does it. aioice gathers
  from every interface except 127.0.0.1 (``aioice.ice.get_host_addresses``); tests must
  use 127.0.0.1 only, and a server behind NAT may want just its public-facing address.
  The server exposes it as ``--ice-host ADDR`` (default: all of aioice's addresses).

How the restriction works (aioice 0.13, aiortc 1.16.0, both pinned through aiortc):
``Connection.gather_candidates()`` computes the host addresses and hands them to
``self.get_component_candidates(component=…, addresses=…)``. We replace that bound
method on the one ``aioice.Connection`` instance behind each ``RTCIceGatherer``
(``gatherer._connection``, reached through :func:`rtc.forward.ice_connections`, the
module that keeps every aiortc internal) with a wrapper that substitutes our list. Nothing global is
patched. It must happen after the transceivers exist and before
``setLocalDescription()`` (which gathers). After an upgrade, check that
``gather_candidates`` still calls ``self.get_component_candidates`` with an
``addresses`` keyword: ``tests/rtc/test_ice.py`` fails otherwise.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any
from urllib.parse import unquote

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer, RTCPeerConnection

from .forward import ice_connections

_RESTRICTED = "_opentutor_host_addresses"
_CONSENT_GUARD = "_opentutor_consent_guard"


def parse_ice_server(url: str) -> RTCIceServer:
    """One ``--ice-server`` URL to an :class:`RTCIceServer`.

    Accepts ``stun:host[:port]``, ``turn:host[:port][?transport=udp|tcp]``,
    ``turns:host[:port][?transport=tcp]``, with TURN credentials written in the URL as
    ``turn:user:pass@host:port`` (percent-encoded if they contain ``:`` or ``@``).
    """
    url = url.strip()
    scheme, sep, rest = url.partition(":")
    scheme = scheme.lower()
    if not sep or scheme not in ("stun", "stuns", "turn", "turns") or not rest:
        raise ValueError(f"not a stun:/turn: URL: {url!r}")
    username: str | None = None
    credential: str | None = None
    if "@" in rest:
        if scheme.startswith("stun"):
            raise ValueError(f"a STUN URL carries no credentials: {url!r}")
        userinfo, _, rest = rest.rpartition("@")
        user, colon, password = userinfo.partition(":")
        if not user or not colon:
            raise ValueError(f"TURN credentials must be user:password@: {url!r}")
        username, credential = unquote(user), unquote(password)
    elif scheme.startswith("turn"):
        raise ValueError(f"a TURN URL needs user:password@host: {url!r}")
    hostport = rest.partition("?")[0]
    host, port = _split_host_port(hostport, url)
    if not host:
        raise ValueError(f"no host in {url!r}")
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"bad port in {url!r}")
    plain = f"{scheme}:{rest}"
    return RTCIceServer(urls=plain, username=username, credential=credential)


def _split_host_port(hostport: str, url: str) -> tuple[str, int | None]:
    if hostport.startswith("["):  # [v6]:port
        host, _, tail = hostport[1:].partition("]")
        port = tail[1:] if tail.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    if not port:
        return host, None
    try:
        return host, int(port)
    except ValueError:
        raise ValueError(f"bad port in {url!r}") from None


def parse_ice_servers(urls: Iterable[str]) -> list[RTCIceServer]:
    """Every URL through :func:`parse_ice_server`; an empty input gives ``[]``."""
    return [parse_ice_server(u) for u in urls]


def rtc_configuration(ice_servers: Sequence[RTCIceServer] | None = None) -> RTCConfiguration:
    """The configuration for every peer connection: explicit ICE servers (default none,
    never aiortc's public STUN fallback) and max-bundle (one transport per browser)."""
    return RTCConfiguration(
        iceServers=list(ice_servers or []), bundlePolicy=RTCBundlePolicy.MAX_BUNDLE
    )


def check_addresses(addresses: Iterable[str]) -> list[str]:
    """Validate literal IP addresses (no names: aioice binds to them)."""
    out = []
    for a in addresses:
        out.append(str(ipaddress.ip_address(a)))
    return out


def restrict_host_addresses(pc: RTCPeerConnection, addresses: Sequence[str] | None) -> None:
    """Make ``pc`` gather host candidates only on ``addresses`` (``None``: leave aioice's
    default). Call after adding transceivers or applying a remote offer, before
    ``setLocalDescription()``; calling it again is harmless (new gatherers get it too)."""
    if addresses is None:
        return
    wanted = check_addresses(addresses)
    for connection in ice_connections(pc):
        if getattr(connection, _RESTRICTED, None) is not None:
            continue
        original: Callable[..., Awaitable[Any]] = connection.get_component_candidates

        async def restricted(
            *args: Any, _original: Callable[..., Awaitable[Any]] = original, **kwargs: Any
        ) -> Any:
            kwargs["addresses"] = list(wanted)
            return await _original(*args, **kwargs)

        connection.get_component_candidates = restricted  # type: ignore[method-assign]
        setattr(connection, _RESTRICTED, tuple(wanted))


def no_consent_after_close(pc: RTCPeerConnection) -> None:
    """Keep aioice from starting consent checks on a connection already closed.

    aioice 0.13's ``Connection.connect()`` starts its consent task (RFC 7675) once the
    check list has completed. If ``close()`` runs between the check list completing and
    ``connect()`` resuming (a browser that reconnects or leaves right after ICE
    succeeded), close finds no consent task to cancel, and ``connect()`` then starts one
    on the closed connection: it has no nominated pairs left, so it never fails and runs
    every 5 s for as long as the process. It holds the connection, and through
    :func:`rtc.forward.receive_eagerly`'s hook the DTLS transport and the whole peer
    connection, beyond any collection. The 50-room soak kept ~2 of them a minute
    (``signaling/server/leaks.py`` found every closed peer connection left in memory
    held by such a task). So the consent loop of each of ``pc``'s connections
    first checks whether close has begun. Idempotent; per instance, nothing global."""
    for connection in ice_connections(pc):
        if getattr(connection, _CONSENT_GUARD, False):
            continue
        query: Callable[[], Awaitable[None]] = connection.query_consent

        async def query_consent(
            _connection: Any = connection, _query: Callable[[], Awaitable[None]] = query
        ) -> None:
            if _connection._closing:
                return
            await _query()

        connection.query_consent = query_consent  # type: ignore[method-assign]
        setattr(connection, _CONSENT_GUARD, True)


def host_addresses_of(pc: RTCPeerConnection) -> list[tuple[str, ...] | None]:
    """The restriction installed on each of ``pc``'s ICE connections (for tests)."""
    return [getattr(c, _RESTRICTED, None) for c in ice_connections(pc)]


def announce_address(sdp: str, public_ip: str) -> str:
    """Add, after each host candidate of ``sdp``, the same candidate on ``public_ip``.

    For a server behind 1:1 NAT (a cloud VM): the browser can only reach the public
    address, and packets sent there arrive on the local socket the host candidate
    names, so the port is kept. The copy gets its own foundation and a slightly lower
    priority, so a browser on the same network still prefers the local address.
    """
    if not public_ip:
        return sdp
    out: list[str] = []
    for line in sdp.split("\r\n"):
        out.append(line)
        if not line.startswith("a=candidate:"):
            continue
        fields = line[len("a=candidate:") :].split()
        # foundation component transport priority address port "typ" type ...
        if len(fields) < 8 or fields[6] != "typ" or fields[7] != "host" or fields[4] == public_ip:
            continue
        fields[0] = f"{fields[0]}p"
        fields[3] = str(max(1, int(fields[3]) - 1))
        fields[4] = public_ip
        out.append("a=candidate:" + " ".join(fields))
    return "\r\n".join(out)
