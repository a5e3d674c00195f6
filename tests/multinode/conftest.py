"""The ``server`` fixture again, over namespaced nodes (tests/multinode/topology.py):
one node, and three nodes on three "machines". The scenario tests imported into
test_scenarios.py run unchanged against it.

A :class:`Cluster` looks like :class:`tests.support.ServerHandle` to them: REST calls
go to the nodes in turn (any node answers for any session), and each socket.io client
joins through the next node in turn and follows ``moved`` as the browser does, so most
joins reach a node that does not run the session. ``base`` is the node the last join
landed on: where a browser's page is after following ``moved``.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest
import socketio

from tests.conftest import create_database
from tests.multinode.topology import Node, Topology, topology
from tests.rtc import clients as rtc_clients
from tests.support import API_KEY, ONE_TO_ONE, Peer, ServerHandle, token_of


@pytest.fixture(scope="session")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    with topology(tmp_path_factory.mktemp("netns")) as topo:
        yield topo


class Cluster:
    def __init__(self, nodes: list[Node], database_url: str) -> None:
        self.nodes = nodes
        self.database_url = database_url
        self.http = aiohttp.ClientSession()
        self.clients: list[socketio.AsyncClient] = []
        self._turn = itertools.count()
        self.landed = nodes[0].base
        self.redirects: list[tuple[str, str]] = []  # (asked, sent to) for each ``moved``

    @property
    def base(self) -> str:
        return self.landed

    def next_base(self) -> str:
        return self.nodes[next(self._turn) % len(self.nodes)].base

    async def api(self, method: str, path: str, body: Any = None, key: str | None = API_KEY,
                  token: str | None = None) -> tuple[int, Any]:
        headers = {}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with self.http.request(method, self.next_base() + path, json=body,
                                     headers=headers) as r:
            return r.status, await r.json(content_type=None)

    async def create(self, body: dict[str, Any] | None = None) -> tuple[str, dict[str, str]]:
        status, created = await self.api("POST", "/api/v1/sessions", body or ONE_TO_ONE)
        assert status == 201, created
        return created["session_id"], {p: token_of(u) for p, u in created["join_urls"].items()}

    async def connect(self, token: str | None) -> Peer:
        url = self.next_base()
        for _ in range(3):
            peer = Peer(socketio.AsyncClient(reconnection=False))
            self.clients.append(peer.sio)
            await peer.connect(url, token)
            refused = peer.refused if isinstance(peer.refused, dict) else {}
            if peer.sio.connected or refused.get("code") != "moved":
                if peer.sio.connected:
                    self.landed = url
                return peer
            if peer.sio.eio.http is not None:  # a refused client keeps its HTTP session
                await peer.sio.eio.http.close()
            self.redirects.append((url, str(refused["url"])))
            url = str(refused["url"])
        raise AssertionError(f"moved more than twice: {self.redirects[-3:]}")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        return ServerHandle.query(self, sql)  # type: ignore[arg-type]

    async def stop(self) -> None:
        for client in self.clients:
            if client.connected:
                await client.disconnect()
        await self.http.close()


@pytest.fixture(scope="session")
def one_node(net: Topology) -> tuple[list[Node], str]:
    database = create_database(net.postgres_url)
    return net.start_nodes(["solo"], database_url=database, redis_db=1), database


@pytest.fixture(scope="session")
def three_nodes(net: Topology) -> tuple[list[Node], str]:
    database = create_database(net.postgres_url)
    return net.start_nodes(["m1", "m2", "m3"], database_url=database, redis_db=2), database


@pytest.fixture
def client_media(net: Topology, monkeypatch: pytest.MonkeyPatch) -> None:
    """The aiortc test clients offer this side's bridge address, not loopback (which
    the nodes, on other "machines", cannot reach)."""
    monkeypatch.setattr(rtc_clients, "LOOPBACK", [net.client_address])


@pytest.fixture(params=["one_node", "three_nodes"])
async def server(request: pytest.FixtureRequest, client_media: None) -> AsyncIterator[Cluster]:
    nodes, database = request.getfixturevalue(request.param)
    cluster = Cluster(nodes, database)
    try:
        yield cluster
    finally:
        await cluster.stop()
        if len(nodes) > 1:  # every join went through a node in turn: some were sent on
            print(f"\n{len(cluster.redirects)} join(s) followed moved across the nodes")
