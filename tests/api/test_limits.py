"""Limits: per-tenant rates, page sizes, fan-out width, jobs in flight."""

from __future__ import annotations

from tests.conftest import (
    ACME_UUID,
    GLOBEX_UUID,
    OTHER_KEY,
    TENANT_KEY,
    BrokerFactory,
    SimFactory,
)

VM = {"name": "web-1", "cpu": {"cores": 1}, "memory_mib": 512}


def tenants(acme_rpm: int, globex_rpm: int = 100_000) -> list[dict[str, object]]:
    return [
        {
            "name": "acme",
            "client_uuid": ACME_UUID,
            "api_keys": [TENANT_KEY],
            "requests_per_minute": acme_rpm,
        },
        {
            "name": "globex",
            "client_uuid": GLOBEX_UUID,
            "api_keys": [OTHER_KEY],
            "requests_per_minute": globex_rpm,
        },
    ]


async def test_tenant_over_its_rate_gets_429_with_retry_after(
    broker_factory: BrokerFactory,
) -> None:
    """The request after the burst is 429 problem+json with Retry-After."""
    broker = await broker_factory([], tenants=tenants(acme_rpm=3))
    for _ in range(3):
        assert (await broker.call("GET", "/v1/providers"))[0] == 200
    async with broker.client.get("/v1/providers", headers=broker.auth()) as resp:
        assert resp.status == 429
        assert resp.content_type == "application/problem+json"
        assert int(resp.headers["Retry-After"]) >= 1
        body = await resp.json(content_type=None)
    assert body["type"] == "/docs#problem-rate-limited"


async def test_one_tenant_never_throttles_another(
    broker_factory: BrokerFactory,
) -> None:
    """A tenant at its limit leaves every other tenant's budget untouched."""
    broker = await broker_factory([], tenants=tenants(acme_rpm=2, globex_rpm=2))
    for _ in range(5):
        await broker.call("GET", "/v1/providers")
    assert (await broker.call("GET", "/v1/providers"))[0] == 429
    assert (await broker.call("GET", "/v1/providers", who="globex"))[0] == 200
    assert (await broker.call("GET", "/v1/providers", who="globex"))[0] == 200


async def test_public_routes_are_not_rate_limited(
    broker_factory: BrokerFactory,
) -> None:
    """Health checks and scrapes never count against a tenant."""
    broker = await broker_factory([], tenants=tenants(acme_rpm=1))
    for _ in range(5):
        async with broker.client.get("/healthz") as resp:
            assert resp.status == 200


async def test_page_size_is_capped(broker_factory: BrokerFactory) -> None:
    """limit above 1000 is refused with 400 naming the field."""
    broker = await broker_factory([])
    status, problem = await broker.call("GET", "/v1/vms?limit=1001")
    assert status == 400
    assert problem["errors"][0]["field"] == "limit"


async def test_fan_out_wider_than_the_limit_is_422(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A request that would ask more providers than max_fanout must be narrowed."""
    sims = [await sim_factory(f"p{i}") for i in range(3)]
    broker = await broker_factory(sims, placement={"max_fanout": 2})
    status, problem = await broker.call(
        "POST", "/v1/placements", json={"kind": "vm", "spec": VM}
    )
    assert status == 422
    assert problem["type"] == "/docs#problem-fan-out-too-wide"
    status, _ = await broker.call("POST", "/v1/vms", json=VM)
    assert status == 422

    narrowed = {**VM, "placement": {"providers": ["p0", "p1"]}}
    status, answer = await broker.call(
        "POST", "/v1/placements", json={"kind": "vm", "spec": narrowed}
    )
    assert status == 200
    assert len(answer["candidates"]) == 2


async def test_jobs_in_flight_per_tenant_are_capped(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """Past max_jobs_in_flight unfinished creates, a create is 429; others go on."""
    slow = await sim_factory("slow")
    slow.faults.delay["canallocate"] = 5.0
    limited = tenants(acme_rpm=100_000)
    limited[0]["max_jobs_in_flight"] = 2
    broker = await broker_factory([slow], tenants=limited)

    assert (await broker.call("POST", "/v1/vms", json=VM))[0] == 202
    assert (await broker.call("POST", "/v1/vms", json=VM))[0] == 202
    status, problem = await broker.call("POST", "/v1/vms", json=VM)
    assert status == 429
    assert problem["type"] == "/docs#problem-too-many-jobs"
    assert (await broker.call("POST", "/v1/vms", json=VM, who="globex"))[0] == 202
