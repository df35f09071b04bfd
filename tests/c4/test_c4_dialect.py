"""Dialect fallback, its memory per provider, and pinned dialects."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from broker.c4 import C4Client
from broker.c4.classify import EndpointMissing
from broker.errors import ProviderNotFound
from broker.sim import Simulator

StartSim = Callable[..., Awaitable[Simulator]]
MakeClient = Callable[..., C4Client]

UNKNOWN = "0" * 32


async def _volume(client: C4Client) -> str:
    created = await client.create_volume(
        creator_id="t1",
        name="v",
        size=1,
        private=False,
        readonly=False,
        shareable=False,
        bootable=False,
    )
    return created.provider_id


async def test_fallback_is_remembered(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    """After one fallback to the variant, later calls go straight to it."""
    sim = await start_sim(dialect="reference")
    client = make_client(sim)
    volume_id = await _volume(client)

    sim.calls.clear()
    await client.volume_info(volume_id)
    assert sim.calls == [("POST", "/api/v1.0/info"), ("GET", "/api/v1.0/info")]
    sim.calls.clear()
    await client.volume_info(volume_id)
    assert sim.calls == [("GET", "/api/v1.0/info")]
    assert client.learnt_dialect("volume_info") == "reference"
    assert client.learnt_variant("volume_info") == 1


async def test_each_operation_learns_separately(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    """accessible, destroy and service info each fall back once, then remember."""
    sim = await start_sim(dialect="reference")
    client = make_client(sim)
    for _ in range(2):
        await client.accessible("t1")
    assert sim.calls.count(("POST", "/api/v1.0/accessible")) == 1
    assert sim.calls.count(("GET", "/api/v1.0/accessible")) == 2
    assert client.learnt_dialects() == {"accessible": "reference"}


async def test_documented_dialect_needs_no_fallback(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    """A docs provider is asked at the documented endpoints only."""
    sim = await start_sim(dialect="docs")
    client = make_client(sim)
    await client.accessible("t1")
    await client.destroy(await _volume(client))
    assert ("GET", "/api/v1.0/accessible") not in sim.calls
    assert ("DELETE", "/api/v1.0/destroy") not in sim.calls
    assert client.learnt_dialect("destroy") == "docs"


async def test_missing_volume_is_not_a_missing_endpoint(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    """A C4 404 from the documented /info means "no such volume": no fallback."""
    sim = await start_sim(dialect="docs")
    client = make_client(sim)
    with pytest.raises(ProviderNotFound):
        await client.volume_info(UNKNOWN)
    assert sim.calls == [("POST", "/api/v1.0/info")]


async def test_missing_volume_after_fallback(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    """On a reference provider the variant's C4 404 is a not-found, remembered."""
    sim = await start_sim(dialect="reference")
    client = make_client(sim)
    with pytest.raises(ProviderNotFound):
        await client.volume_info(UNKNOWN)
    assert client.learnt_dialect("volume_info") == "reference"


async def test_service_info_falls_back_to_running(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    """Without /{kind}/info the service is read at /{kind}/running/{id}."""
    sim = await start_sim(dialect="reference")
    client = make_client(sim)
    created = await client.create_service("s3", client_uuid="t1", req={})
    sim.calls.clear()
    await client.service_info("s3", created.provider_id or "")
    await client.service_info("s3", created.provider_id or "")
    running = f"/api/v1.0/s3/running/{created.provider_id}"
    assert sim.calls == [
        ("GET", "/api/v1.0/s3/info"),
        ("GET", running),
        ("GET", running),
    ]


async def test_pinned_reference_goes_straight_to_the_variant(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    """A provider pinned to the reference dialect is never asked the docs way."""
    sim = await start_sim(dialect="reference")
    client = make_client(sim, dialect="reference")
    await client.accessible("t1")
    await client.destroy(await _volume(client))
    assert ("POST", "/api/v1.0/accessible") not in sim.calls
    assert ("POST", "/api/v1.0/destroy") not in sim.calls


async def test_pinned_docs_does_not_fall_back(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    """A provider pinned to docs that lacks an endpoint fails: no fallback."""
    sim = await start_sim(dialect="reference")
    client = make_client(sim, dialect="docs")
    with pytest.raises(EndpointMissing):
        await client.accessible("t1")
    assert sim.calls == [("POST", "/api/v1.0/accessible")]


async def test_memory_is_per_client(
    start_sim: StartSim, make_client: MakeClient
) -> None:
    """What one provider's client learnt does not leak into another's."""
    reference = await start_sim(dialect="reference")
    docs = await start_sim(name="sim-b", dialect="docs")
    await make_client(reference).accessible("t1")
    other = make_client(docs)
    await other.accessible("t1")
    assert docs.calls == [("POST", "/api/v1.0/accessible")]
    assert other.learnt_dialect("accessible") == "docs"
