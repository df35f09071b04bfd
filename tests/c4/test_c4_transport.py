"""Bounds on every exchange: polling stays home, no redirects, capped bodies.

These use small hand-written providers (plain aiohttp apps) that misbehave
in ways the simulator does not, and a second server standing for any other
origin a hostile provider might point the broker at.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from broker.c4 import C4Client, VmRequirements
from broker.c4.outcome import Accepted, Offer, Price, Ready
from broker.c4.transport import MAX_BODY_BYTES
from broker.errors import ProviderNotFound, ProviderProtocolError

MakeClient = Callable[..., C4Client]
MakeServer = Callable[..., Awaitable[TestServer]]

HITS = web.AppKey("hits", list)


async def _count(request: web.Request) -> web.Response:
    request.app[HITS].append(request.path)
    return web.json_response({"uniqueID": "stolen"})


@pytest.fixture
async def elsewhere(aiohttp_server: MakeServer) -> TestServer:
    """Another origin, counting every request that reaches it."""
    app = web.Application()
    app[HITS] = []
    app.router.add_route("*", "/{tail:.*}", _count)
    return await aiohttp_server(app)


def _fake_provider(elsewhere: TestServer) -> web.Application:
    """A provider that points the broker at ``elsewhere`` and sends oddities."""
    other = f"http://{elsewhere.host}:{elsewhere.port}"
    app = web.Application()
    app[HITS] = []

    async def register(request: web.Request) -> web.Response:
        url = f"{other}/api/v1.0/running/v1"
        return web.json_response({"vm_uuid": "v1", "poolingURL": url}, status=202)

    async def running(request: web.Request) -> web.Response:
        request.app[HITS].append(request.path)
        return web.json_response({"uniqueID": "v1", "req_json": {}})

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{other}/api/v1.0/statusjson")

    async def declared_huge(request: web.Request) -> web.Response:
        return web.Response(body=b" " * (MAX_BODY_BYTES + 1))

    async def streamed_huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for _ in range(MAX_BODY_BYTES // 65536 + 2):
                await response.write(b" " * 65536)
        except ConnectionError:
            pass
        return response

    async def wrong_types(request: web.Request) -> web.Response:
        return web.json_response({"vms": "none"})

    async def no_currency(request: web.Request) -> web.Response:
        price = {"hourly": 1, "monthly": 30}
        return web.json_response({"info": {"canallocate": True, "price": price}})

    async def bare_404(request: web.Request) -> web.Response:
        raise web.HTTPNotFound()

    async def cancreate(request: web.Request) -> web.Response:
        assert (await request.json())["size"] == 3
        return web.json_response({"currency": "CHF", "hourly": "0.5", "monthly": 7})

    api = "/api/v1.0"
    app.router.add_post(f"{api}/cancreate", cancreate)
    app.router.add_post(f"{api}/info", bare_404)
    app.router.add_post(f"{api}/register", register)
    app.router.add_get(f"{api}/running/v1", running)
    app.router.add_get(f"{api}/running", wrong_types)
    app.router.add_get(f"{api}/statusjson", redirect)
    app.router.add_get(f"{api}/health", declared_huge)
    app.router.add_get(f"{api}/status", streamed_huge)
    app.router.add_get(f"{api}/canallocate", no_currency)
    return app


@pytest.fixture
async def fake(aiohttp_server: MakeServer, elsewhere: TestServer) -> TestServer:
    """The misbehaving provider, started on a free port."""
    return await aiohttp_server(_fake_provider(elsewhere))


@pytest.fixture
def fake_client(make_client: MakeClient, fake: TestServer) -> C4Client:
    """A client for the misbehaving provider (compute and storage alike)."""
    url = f"http://{fake.host}:{fake.port}"
    return make_client(compute=url, storage=url)


async def test_polling_url_to_another_host_stays_home(
    fake_client: C4Client,
    fake: TestServer,
    elsewhere: TestServer,
    small_vm: VmRequirements,
) -> None:
    """A poolingURL naming another host:port is followed on the provider itself."""
    accepted = await fake_client.register(
        small_vm, client_uuid="t1", vm_name="w", volumes=[], authentication=None
    )
    assert isinstance(accepted, Accepted)
    assert accepted.poll_path == "/api/v1.0/running/v1"

    ready = await fake_client.poll("compute", accepted.poll_path)
    assert ready == Ready("v1", {"uniqueID": "v1", "req_json": {}})
    assert fake.app[HITS] == ["/api/v1.0/running/v1"]
    assert elsewhere.app[HITS] == []


async def test_poll_given_a_full_foreign_url_stays_home(
    fake_client: C4Client, fake: TestServer, elsewhere: TestServer
) -> None:
    """Even handed the raw foreign URL, poll only takes its path."""
    url = f"http://user:pw@{elsewhere.host}:{elsewhere.port}/api/v1.0/running/v1"
    assert isinstance(await fake_client.poll("compute", url), Ready)
    assert elsewhere.app[HITS] == []


async def test_poll_outside_the_api_is_refused(
    fake_client: C4Client, fake: TestServer
) -> None:
    """A polling path outside /api/v1.0/ is refused before any request."""
    with pytest.raises(ProviderProtocolError):
        await fake_client.poll("compute", "http://169.254.169.254/latest/meta-data")
    assert fake.app[HITS] == []


async def test_redirects_are_not_followed(
    fake_client: C4Client, elsewhere: TestServer
) -> None:
    """A 302 is a protocol error and its target is never asked."""
    with pytest.raises(ProviderProtocolError, match="redirect"):
        await fake_client.statusjson()
    assert elsewhere.app[HITS] == []


@pytest.mark.parametrize("call", ["health", "status"])
async def test_oversize_bodies_are_refused(fake_client: C4Client, call: str) -> None:
    """Bodies over 4 MiB, declared or streamed, are protocol errors."""
    method: Callable[[], Awaitable[Any]] = getattr(fake_client, call)
    with pytest.raises(ProviderProtocolError, match="more than 4 MiB"):
        await method()


async def test_wrong_types_are_protocol_errors(fake_client: C4Client) -> None:
    """A listing whose list is not a list is a protocol error."""
    with pytest.raises(ProviderProtocolError, match="expected fields"):
        await fake_client.running("t1")


async def test_price_without_currency_is_a_protocol_error(
    fake_client: C4Client, small_vm: VmRequirements
) -> None:
    """An offer whose price names no currency cannot be compared: refused."""
    with pytest.raises(ProviderProtocolError):
        await fake_client.canallocate(small_vm, client_uuid="t1")


async def test_bare_404s_of_a_lookup_mean_not_found(fake_client: C4Client) -> None:
    """When no variant gives a C4 answer, a bare 404 of a lookup is a not-found."""
    with pytest.raises(ProviderNotFound):
        await fake_client.volume_info("v9")
    assert fake_client.learnt_variant("volume_info") is None


async def test_quote_by_post_when_get_is_not_allowed(fake_client: C4Client) -> None:
    """A provider serving cancreate only as POST is quoted by POST, remembered."""
    for _ in range(2):
        quote = await fake_client.cancreate(
            size=3, private=False, readonly=False, shareable=False, bootable=False
        )
        assert isinstance(quote, Offer)
        assert quote.price == Price("CHF", 0.5, 7.0)
    assert fake_client.learnt_variant("cancreate") == 1
