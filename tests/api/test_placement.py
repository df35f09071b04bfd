"""``POST /v1/placements``: live quotes from every provider, ranked and explained."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from tests.conftest import BrokerFactory, SimFactory, provider_entry

VM = {"name": "web-1", "cpu": {"cores": 2}, "memory_mib": 2048}


def placement(spec: dict[str, Any], kind: str = "vm") -> dict[str, Any]:
    return {"json": {"kind": kind, "spec": spec}}


def rejected(answer: dict[str, Any]) -> dict[str, str]:
    return {r["provider"]: r["reason"] for r in answer["rejected"]}


async def test_candidates_are_ranked_by_price(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """The cheapest offer comes first, each with its price and a score."""
    mid = await sim_factory("mid", price_core_hour=0.02)
    cheap = await sim_factory("cheap", price_core_hour=0.01, dialect="reference")
    dear = await sim_factory("dear", price_core_hour=0.04)
    broker = await broker_factory([mid, cheap, dear])

    status, answer = await broker.call("POST", "/v1/placements", **placement(VM))

    assert status == 200
    assert [c["provider"] for c in answer["candidates"]] == ["cheap", "mid", "dear"]
    prices = [c["price"]["hourly"] for c in answer["candidates"]]
    assert prices == sorted(prices)
    assert answer["candidates"][0]["score"] == 1.0
    assert answer["rejected"] == []


async def test_weight_breaks_a_price_tie(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """Two equal prices: the provider with the higher operator weight wins."""
    a = await sim_factory("a")
    b = await sim_factory("b")
    broker = await broker_factory(
        providers=[provider_entry(a, weight=1.0), provider_entry(b, weight=3.0)]
    )
    _, answer = await broker.call("POST", "/v1/placements", **placement(VM))
    assert [c["provider"] for c in answer["candidates"]] == ["b", "a"]


async def test_refusing_provider_is_rejected_for_capacity(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A provider without room is listed as no-capacity, in either dialect."""
    full_docs = await sim_factory("full-docs", cores=1)
    full_ref = await sim_factory("full-ref", cores=1, dialect="reference")
    roomy = await sim_factory("roomy")
    broker = await broker_factory([full_docs, full_ref, roomy])

    _, answer = await broker.call("POST", "/v1/placements", **placement(VM))

    assert [c["provider"] for c in answer["candidates"]] == ["roomy"]
    assert rejected(answer) == {"full-docs": "no-capacity", "full-ref": "no-capacity"}


async def test_hanging_provider_times_out_by_the_deadline(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A provider that never answers is `timeout`; the answer still comes in time."""
    hung = await sim_factory("hung")
    hung.faults.hang = True
    ok = await sim_factory("ok")
    broker = await broker_factory([hung, ok], placement={"fanout_timeout_s": 0.5})

    started = time.monotonic()
    status, answer = await broker.call("POST", "/v1/placements", **placement(VM))
    elapsed = time.monotonic() - started

    assert status == 200
    assert [c["provider"] for c in answer["candidates"]] == ["ok"]
    assert rejected(answer) == {"hung": "timeout"}
    assert elapsed < 1.5


async def test_offer_over_the_price_cap_is_rejected(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """An offer above max_hourly_price is `over-price` with the price in its detail."""
    cheap = await sim_factory("cheap", price_core_hour=0.01, price_mem_gib_month=0.0)
    dear = await sim_factory("dear", price_core_hour=1.0, price_mem_gib_month=0.0)
    broker = await broker_factory([cheap, dear])

    spec = {**VM, "placement": {"max_hourly_price": 0.5}}
    _, answer = await broker.call("POST", "/v1/placements", **placement(spec))

    assert [c["provider"] for c in answer["candidates"]] == ["cheap"]
    assert rejected(answer) == {"dear": "over-price"}
    assert answer["rejected"][0]["detail"] == ("2 EUR/h is over the cap of 0.5 EUR/h.")


@pytest.fixture
async def unpriced(
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> dict[str, Any]:
    """The registry entry of a provider that offers every VM without a price."""

    async def canallocate(request: web.Request) -> web.Response:
        return web.json_response({"config": {}, "info": {"canallocate": True}})

    app = web.Application()
    app.router.add_route("*", "/api/v1.0/canallocate", canallocate)
    server = await aiohttp_server(app)
    return {
        "name": "unpriced",
        "compute": str(server.make_url("/")).rstrip("/"),
        "kinds": ["vm"],
        "timeout_s": 2,
    }


async def test_offer_without_a_price_ranks_after_priced_ones(
    sim_factory: SimFactory, broker_factory: BrokerFactory, unpriced: dict[str, Any]
) -> None:
    """An offer that names no price is not taken for the cheapest: it comes last."""
    dear = await sim_factory("dear", price_core_hour=1.0)
    broker = await broker_factory(providers=[unpriced, provider_entry(dear)])

    _, answer = await broker.call("POST", "/v1/placements", **placement(VM))

    assert [c["provider"] for c in answer["candidates"]] == ["dear", "unpriced"]
    assert answer["candidates"][1]["price"] is None


async def test_offer_without_a_price_is_filtered_under_a_cap(
    sim_factory: SimFactory, broker_factory: BrokerFactory, unpriced: dict[str, Any]
) -> None:
    """With max_hourly_price, an offer that names no price cannot be shown to fit."""
    cheap = await sim_factory("cheap", price_core_hour=0.01)
    broker = await broker_factory(providers=[unpriced, provider_entry(cheap)])

    spec = {**VM, "placement": {"max_hourly_price": 0.5}}
    _, answer = await broker.call("POST", "/v1/placements", **placement(spec))

    assert [c["provider"] for c in answer["candidates"]] == ["cheap"]
    assert rejected(answer) == {"unpriced": "filtered"}
    assert "no price" in answer["rejected"][0]["detail"]


async def test_offer_in_another_currency_is_filtered(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """Prices in another currency are never compared: `filtered`, naming it."""
    eur = await sim_factory("eur")
    usd = await sim_factory("usd", currency="USD", price_core_hour=0.001)
    broker = await broker_factory([eur, usd])

    _, answer = await broker.call("POST", "/v1/placements", **placement(VM))

    assert [c["provider"] for c in answer["candidates"]] == ["eur"]
    assert rejected(answer) == {"usd": "filtered"}
    assert "USD" in answer["rejected"][0]["detail"]


async def test_requested_currency_wins_over_the_default(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A request in USD ranks USD offers and filters the EUR ones."""
    eur = await sim_factory("eur")
    usd = await sim_factory("usd", currency="USD")
    broker = await broker_factory([eur, usd])
    spec = {**VM, "placement": {"currency": "USD"}}
    _, answer = await broker.call("POST", "/v1/placements", **placement(spec))
    assert [c["provider"] for c in answer["candidates"]] == ["usd"]
    assert rejected(answer) == {"eur": "filtered"}


async def test_excluded_and_unlisted_providers_are_filtered(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """placement.exclude and placement.providers narrow the candidates."""
    a, b, c = [await sim_factory(n) for n in ("a", "b", "c")]
    broker = await broker_factory([a, b, c])
    spec = {**VM, "placement": {"providers": ["a", "b"], "exclude": ["b"]}}
    _, answer = await broker.call("POST", "/v1/placements", **placement(spec))
    assert [x["provider"] for x in answer["candidates"]] == ["a"]
    assert rejected(answer) == {"b": "filtered", "c": "filtered"}
    assert not any(path.endswith("canallocate") for _, path in c.calls)


async def test_regions_filter_and_disabled_providers(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A provider outside the requested regions, or disabled, is not asked."""
    west = await sim_factory("west", regions=["eu-west"])
    east = await sim_factory("east", regions=["eu-east"])
    off = await sim_factory("off", regions=["eu-west"])
    broker = await broker_factory(
        providers=[
            provider_entry(west),
            provider_entry(east),
            provider_entry(off, enabled=False),
        ]
    )
    spec = {**VM, "placement": {"regions": ["eu-west"]}}
    _, answer = await broker.call("POST", "/v1/placements", **placement(spec))
    assert answer["candidates"][0]["provider"] == "west"
    assert answer["candidates"][0]["region"] == "eu-west"
    assert rejected(answer) == {"east": "filtered", "off": "filtered"}


async def test_failing_provider_is_an_error_and_kind_unsupported(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A 5xx quote is `error`; a provider without the kind is `unsupported`."""
    broken = await sim_factory("broken")
    broken.faults.error_rate = 1.0
    storage_only = await sim_factory("disks", kinds=["volume"])
    ok = await sim_factory("ok")
    broker = await broker_factory(
        providers=[
            provider_entry(broken),
            provider_entry(storage_only, kinds=["volume"]),
            provider_entry(ok),
        ]
    )
    _, answer = await broker.call("POST", "/v1/placements", **placement(VM))
    assert rejected(answer) == {"broken": "error", "disks": "unsupported"}
    detail = answer["rejected"][0]["detail"]
    assert "trace" not in detail.lower()


async def test_volume_quotes_and_services_rank_by_weight(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """Volumes are quoted with cancreate; services have no quote, so weight ranks."""
    a = await sim_factory("a", price_disk_gib_month=0.10)
    b = await sim_factory("b", price_disk_gib_month=0.05, dialect="reference")
    broker = await broker_factory(
        providers=[provider_entry(a, weight=5.0), provider_entry(b, weight=1.0)]
    )
    _, volumes = await broker.call(
        "POST", "/v1/placements", **placement({"name": "d", "size_gib": 10}, "volume")
    )
    assert [c["provider"] for c in volumes["candidates"]] == ["b", "a"]

    _, services = await broker.call(
        "POST", "/v1/placements", **placement({"name": "bucket"}, "s3")
    )
    assert [c["provider"] for c in services["candidates"]] == ["a", "b"]
    assert services["candidates"][0]["price"] is None


async def test_invalid_spec_lists_every_error(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A bad spec is 422 problem+json with one entry per field."""
    broker = await broker_factory([await sim_factory()])
    async with broker.client.post(
        "/v1/placements",
        json={"kind": "vm", "spec": {"name": "Bad Name", "cpu": {"cores": 0}}},
        headers=broker.auth(),
    ) as resp:
        assert resp.status == 422
        assert resp.content_type == "application/problem+json"
        body = await resp.json(content_type=None)
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"spec.name", "spec.cpu.cores", "spec.memory_mib"}


async def test_unknown_kind_and_broken_json(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """An unknown kind is 422; a body that is not JSON is 400."""
    broker = await broker_factory([await sim_factory()])
    status, body = await broker.call(
        "POST", "/v1/placements", json={"kind": "teapot", "spec": {}}
    )
    assert status == 422
    assert body["errors"][0]["field"] == "kind"
    status, body = await broker.call(
        "POST",
        "/v1/placements",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert status == 400
    assert body["title"] == "Bad request"


async def test_dry_run_refuses_what_the_create_would(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A VM naming a volume the tenant does not have is 422, as its create is."""
    broker = await broker_factory([await sim_factory()])
    spec = {**VM, "volumes": ["0" * 32]}

    status, problem = await broker.call("POST", "/v1/placements", **placement(spec))

    assert status == 422
    assert problem["errors"][0]["field"] == "spec.volumes.0"
