"""SSRF: a provider-supplied URL never makes the broker call anything but that provider.

A fake provider answers an asynchronous create with a ``poolingURL`` from
the matrix below. Trap servers listen on every other address the URL names;
after the job has ended, the traps must have seen no request at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from tests.api.test_jobs import settle
from tests.conftest import BrokerFactory

VM_ID = "0123456789abcdef0123456789abcdef"
VM = {"name": "web-1", "cpu": {"cores": 1}, "memory_mib": 512}


@dataclass
class Trap:
    """A server that should never be called."""

    hits: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        async def anything(request: web.Request) -> web.Response:
            self.hits.append(f"{request.method} {request.host}{request.path_qs}")
            return web.json_response({"uniqueID": VM_ID})

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", anything)
        return app


@dataclass
class FakeProvider:
    """Just enough C4 to place, create asynchronously, poll and list a VM."""

    polling_url: str
    poll_answer: Callable[[], web.Response] | None = None
    polls: list[str] = field(default_factory=list)
    name: str = ""

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v1.0/canallocate", self.canallocate)
        app.router.add_post("/api/v1.0/register", self.register)
        app.router.add_get("/api/v1.0/running/{id}", self.poll)
        app.router.add_get("/api/v1.0/running", self.running)
        app.router.add_delete("/api/v1.0/unregister", self.unregister)
        return app

    async def canallocate(self, request: web.Request) -> web.Response:
        price = {"currency": "EUR", "hourly": 0.01, "monthly": 7.3}
        return web.json_response(
            {"config": {}, "info": {"canallocate": True, "price": price}}
        )

    async def register(self, request: web.Request) -> web.Response:
        self.name = (await request.json())["vm_name"]
        return web.json_response(
            {"vm_uuid": VM_ID, "poolingURL": self.polling_url}, status=202
        )

    async def poll(self, request: web.Request) -> web.Response:
        self.polls.append(request.path_qs)
        if self.poll_answer is not None:
            return self.poll_answer()
        return web.json_response(self.vm())

    async def running(self, request: web.Request) -> web.Response:
        return web.json_response({"vms": [self.vm()] if self.name else []})

    async def unregister(self, request: web.Request) -> web.Response:
        self.name = ""
        return web.json_response({"unregistered": None, "uniqueID": VM_ID})

    def vm(self) -> dict[str, Any]:
        return {"uniqueID": VM_ID, "req_json": {"vm_name": self.name}}


ServerFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def traps(aiohttp_server: ServerFactory) -> dict[str, Any]:
    """Trap servers on another loopback port, another loopback host and IPv6."""
    trap = Trap()
    other_port = await aiohttp_server(trap.app(), host="127.0.0.1")
    other_host = await aiohttp_server(trap.app(), host="127.0.0.2")
    ipv6 = await aiohttp_server(trap.app(), host="::1")
    return {
        "trap": trap,
        "port": other_port.port,
        "host_port": other_host.port,
        "v6_port": ipv6.port,
    }


def matrix(t: dict[str, Any]) -> dict[str, str]:
    port, host_port, v6 = t["port"], t["host_port"], t["v6_port"]
    path = f"/api/v1.0/running/{VM_ID}"
    return {
        "another port on loopback": f"http://127.0.0.1:{port}{path}",
        "another host": f"http://127.0.0.2:{host_port}{path}",
        "metadata address": "http://169.254.169.254/latest/meta-data/iam",
        "metadata address, C4 path": f"http://169.254.169.254{path}",
        "IPv6 literal": f"http://[::1]:{v6}{path}",
        "decimal-encoded address": f"http://2130706433:{port}{path}",
        "userinfo trick": f"http://provider@127.0.0.2:{host_port}{path}",
        "userinfo with password": f"http://provider:x@127.0.0.1:{port}{path}",
        "scheme-relative": f"//127.0.0.2:{host_port}{path}",
        "path traversal": f"http://127.0.0.1:{port}/api/v1.0/../../admin",
    }


CASES = list(matrix({"port": 0, "host_port": 0, "v6_port": 0}))


@pytest.mark.parametrize("case", CASES)
async def test_polling_url_never_leaves_the_provider(
    case: str,
    traps: dict[str, Any],
    aiohttp_server: ServerFactory,
    broker_factory: BrokerFactory,
) -> None:
    """Whatever origin the poolingURL names, only the provider itself is called."""
    fake = FakeProvider(polling_url=matrix(traps)[case])
    server = await aiohttp_server(fake.app())
    broker = await broker_factory(
        providers=[
            {
                "name": "fake",
                "compute": str(server.make_url("")).rstrip("/"),
                "kinds": ["vm"],
                "timeout_s": 1,
            }
        ],
    )
    _, created = await broker.call("POST", "/v1/vms", json=VM)
    job = await settle(broker, created["job"]["href"])

    assert traps["trap"].hits == []
    if "/api/v1.0/running/" in matrix(traps)[case] and "../" not in matrix(traps)[case]:
        assert job["status"] == "succeeded", job
        assert fake.polls == [f"/api/v1.0/running/{VM_ID}"]
    else:
        assert job["status"] == "failed"
        assert fake.polls == []
        assert fake.name == "", "the refused create was cleaned up"


async def test_redirect_answer_is_not_followed(
    traps: dict[str, Any], aiohttp_server: ServerFactory, broker_factory: BrokerFactory
) -> None:
    """A poll answered with a redirect to elsewhere is a protocol error, not a hop."""
    target = f"http://127.0.0.2:{traps['host_port']}/api/v1.0/running/{VM_ID}"
    fake = FakeProvider(
        polling_url=f"/api/v1.0/running/{VM_ID}",
        poll_answer=lambda: web.Response(status=302, headers={"Location": target}),
    )
    server = await aiohttp_server(fake.app())
    broker = await broker_factory(
        providers=[
            {
                "name": "fake",
                "compute": str(server.make_url("")).rstrip("/"),
                "kinds": ["vm"],
                "timeout_s": 1,
            }
        ],
    )
    _, created = await broker.call("POST", "/v1/vms", json=VM)
    job = await settle(broker, created["job"]["href"])

    assert traps["trap"].hits == []
    assert job["status"] == "failed"
    assert any(a["outcome"] == "protocol-error" for a in job["attempts"])
