"""Creates and deletes through durable jobs, for VMs, volumes and services."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.conftest import ACME_UUID, Broker, BrokerFactory, SimFactory, provider_entry

VM = {"name": "web-1", "cpu": {"cores": 1}, "memory_mib": 512}
VOLUME = {"name": "data", "size_gib": 10}
BUCKET = {"name": "bucket-1", "config": {"versioning": True}}

KINDS = [
    ("/v1/vms", VM),
    ("/v1/volumes", VOLUME),
    ("/v1/services/s3", BUCKET),
    ("/v1/services/dbaas", {"name": "db-1", "config": {"engine": "postgres"}}),
]


async def settle(broker: Broker, job_href: str) -> dict[str, Any]:
    """Follow a job as a client does, reading it until it ends (about 5 s at most)."""
    for _ in range(100):
        status, job = await broker.call("GET", job_href)
        assert status == 200
        if job["status"] in ("succeeded", "failed"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_href} did not end")


@pytest.mark.parametrize(("path", "body"), KINDS)
@pytest.mark.parametrize("dialect", ["docs", "reference"])
async def test_synchronous_create_and_delete(
    sim_factory: SimFactory,
    broker_factory: BrokerFactory,
    path: str,
    body: dict[str, Any],
    dialect: str,
) -> None:
    """A create (202 + Location) ends active; its delete ends deleted; per dialect."""
    sim = await sim_factory("sim-a", dialect=dialect)
    broker = await broker_factory([sim])

    async with broker.client.post(path, json=body, headers=broker.auth()) as resp:
        assert resp.status == 202
        created = await resp.json()
        assert resp.headers["Location"] == created["job"]["href"]
    assert created["status"] == "creating"

    job = await settle(broker, created["job"]["href"])
    assert job["status"] == "succeeded", job
    assert job["attempts"][-1]["outcome"] == "succeeded"
    _, resource = await broker.call("GET", f"{path}/{created['id']}")
    assert resource["status"] == "active"
    assert resource["provider"] == "sim-a"
    assert resource["provider_id"]
    assert resource["details"]["provider_name"].endswith(created["id"])

    status, deleting = await broker.call("DELETE", f"{path}/{created['id']}")
    assert status == 202
    assert deleting["status"] == "deleting"
    job = await settle(broker, deleting["job"]["href"])
    assert job["operation"] == "delete"
    assert job["status"] == "succeeded", job
    _, resource = await broker.call("GET", f"{path}/{created['id']}")
    assert resource["status"] == "deleted"


@pytest.mark.parametrize(("path", "body"), [KINDS[0], KINDS[2]])
async def test_asynchronous_create_is_polled_to_the_end(
    sim_factory: SimFactory,
    broker_factory: BrokerFactory,
    path: str,
    body: dict[str, Any],
) -> None:
    """A 202 + poolingURL (bogus host, reference dialect) is followed until ready."""
    sim = await sim_factory("slow", dialect="reference", async_delay_s=0.3)
    broker = await broker_factory([sim])
    status, created = await broker.call("POST", path, json=body)
    assert status == 202
    job = await settle(broker, created["job"]["href"])
    assert job["status"] == "succeeded", job
    polls = [p for m, p in sim.calls if "/running/" in p]
    assert len(polls) >= 2


async def test_volume_size_follows_the_provider_unit(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """size_gib is sent in bytes to a provider whose registry entry says bytes."""
    gb = await sim_factory("gb", disk_gib=10**12)
    broker = await broker_factory(
        providers=[provider_entry(gb, volume_size_unit="bytes")]
    )
    status, created = await broker.call("POST", "/v1/volumes?wait=5", json=VOLUME)
    assert status == 201, created
    assert gb.volumes(ACME_UUID)[0]["size"] == 10 * 2**30


async def test_failover_records_both_attempts(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A create failing on the cheapest provider goes to the next; both are shown."""
    cheap = await sim_factory("cheap", price_core_hour=0.001)
    cheap.faults.fail_next["register"] = 503
    other = await sim_factory("other", price_core_hour=0.05)
    broker = await broker_factory([cheap, other])

    status, created = await broker.call("POST", "/v1/vms?wait=5", json=VM)

    assert status == 201, created
    assert created["provider"] == "other"
    _, job = await broker.call("GET", created["job"]["href"])
    outcomes = [(a["provider"], a["outcome"]) for a in job["attempts"]]
    assert outcomes[0] == ("cheap", "fault")
    assert ("other", "succeeded") in outcomes
    assert job["provider"] == "other"


async def test_refusal_at_create_time_fails_over(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A provider that refuses at register (no longer any room) is skipped."""
    first = await sim_factory("first", price_core_hour=0.001)
    second = await sim_factory("second", price_core_hour=0.05)
    broker = await broker_factory([first, second])
    first.faults.fail_next["register"] = 409
    status, created = await broker.call("POST", "/v1/vms?wait=5", json=VM)
    assert status == 201
    assert created["provider"] == "second"


async def test_every_candidate_failing_fails_the_job(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """Every provider failing fails the job readably; no provider is tried twice."""
    a = await sim_factory("a")
    b = await sim_factory("b")
    for sim in (a, b):
        sim.faults.create_then_fail.add("register")
    broker = await broker_factory([a, b])
    _, created = await broker.call("POST", "/v1/vms", json=VM)
    job = await settle(broker, created["job"]["href"])
    assert job["status"] == "failed"
    assert job["error"]["title"] == "Every candidate provider failed."
    tried = [x["provider"] for x in job["attempts"] if x["outcome"] == "fault"]
    assert sorted(tried) == ["a", "b"]
    _, resource = await broker.call("GET", f"/v1/vms/{created['id']}")
    assert resource["status"] == "failed"


async def test_no_candidate_fails_the_job_at_once(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """When placement finds nobody, the job fails and says why."""
    full = await sim_factory("full", cores=1)
    broker = await broker_factory([full])
    body = {**VM, "cpu": {"cores": 8}}
    _, created = await broker.call("POST", "/v1/vms", json=body)
    job = await settle(broker, created["job"]["href"])
    assert job["status"] == "failed"
    assert "full: no-capacity" in job["error"]["detail"]


async def test_poll_past_max_duration_fails_the_job(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A provider that stays 'creating' past max_duration_s fails job and resource."""
    slow = await sim_factory("slow", async_delay_s=30)
    broker = await broker_factory([slow], jobs={"max_duration_s": 0.6})
    _, created = await broker.call("POST", "/v1/vms", json=VM)
    job = await settle(broker, created["job"]["href"])
    assert job["status"] == "failed"
    assert job["error"]["title"] == "The provider did not finish in time."
    assert any(a["outcome"] == "timeout" for a in job["attempts"])
    _, resource = await broker.call("GET", f"/v1/vms/{created['id']}")
    assert resource["status"] == "failed"


async def test_delete_while_creating_waits_and_leaves_nothing(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A delete asked mid-create is 202; once the create ends, the VM is deleted."""
    slow = await sim_factory("slow", async_delay_s=0.3)
    broker = await broker_factory([slow])
    _, created = await broker.call("POST", "/v1/vms", json=VM)

    status, deleting = await broker.call("DELETE", f"/v1/vms/{created['id']}")

    assert status == 202
    assert deleting["status"] == "deleting"
    assert deleting["job"]["href"] != created["job"]["href"]
    create = await settle_long(broker, created["job"]["href"])
    delete = await settle_long(broker, deleting["job"]["href"])
    assert create["status"] == "succeeded"
    assert delete["status"] == "succeeded", delete
    _, resource = await broker.call("GET", f"/v1/vms/{created['id']}")
    assert resource["status"] == "deleted"
    assert slow.vms(ACME_UUID) == []


async def test_delete_while_a_failing_create_runs_ends_deleted(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A create that makes nothing leaves its pending delete nothing to call."""
    full = await sim_factory("full", cores=1)
    full.faults.delay["canallocate"] = 0.3
    broker = await broker_factory([full])
    _, created = await broker.call("POST", "/v1/vms", json={**VM, "cpu": {"cores": 8}})

    _, deleting = await broker.call("DELETE", f"/v1/vms/{created['id']}")

    assert (await settle_long(broker, created["job"]["href"]))["status"] == "failed"
    delete = await settle_long(broker, deleting["job"]["href"])
    assert delete["status"] == "succeeded"
    assert delete["attempts"] == []
    _, resource = await broker.call("GET", f"/v1/vms/{created['id']}")
    assert resource["status"] == "deleted"


async def test_wait_both_ways(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """?wait= answers 201 with the resource's Location when done in time, else 202."""
    fast = await sim_factory("fast")
    broker = await broker_factory([fast])
    async with broker.client.post(
        "/v1/vms?wait=5", json=VM, headers=broker.auth()
    ) as resp:
        assert resp.status == 201
        body = await resp.json()
        assert resp.headers["Location"] == f"/v1/vms/{body['id']}"

    fast.faults.latency_s = 0.5
    async with broker.client.post(
        "/v1/vms?wait=0.1", json=VM, headers=broker.auth()
    ) as resp:
        assert resp.status == 202
        body = await resp.json()
        assert resp.headers["Location"] == f"/v1/jobs/{body['job']['id']}"

    status, problem = await broker.call("POST", "/v1/vms?wait=61", json=VM)
    assert status == 400
    assert problem["errors"][0]["field"] == "wait"


async def test_listing_paginates_with_cursors(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """Pages follow next_cursor to the end, in creation order, without repeats."""
    broker = await broker_factory([await sim_factory()])
    made = []
    for i in range(5):
        _, created = await broker.call(
            "POST", "/v1/volumes", json={**VOLUME, "name": f"d{i}"}
        )
        made.append(created["id"])

    seen: list[str] = []
    cursor = None
    while True:
        query = "limit=2" + (f"&cursor={cursor}" if cursor else "")
        status, page = await broker.call("GET", f"/v1/volumes?{query}")
        assert status == 200
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == made

    status, _ = await broker.call("GET", "/v1/volumes?cursor=garbage")
    assert status == 400
    status, _ = await broker.call("GET", "/v1/volumes?limit=0")
    assert status == 400


async def test_listing_filters_by_status_and_provider(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """status= and provider= narrow the list; an unknown status is 400."""
    broker = await broker_factory([await sim_factory("sim-a")])
    await broker.call("POST", "/v1/vms?wait=5", json=VM)
    _, active = await broker.call("GET", "/v1/vms?status=active&provider=sim-a")
    assert len(active["items"]) == 1
    _, none = await broker.call("GET", "/v1/vms?provider=elsewhere")
    assert none["items"] == []
    status, _ = await broker.call("GET", "/v1/vms?status=sleeping")
    assert status == 400


async def test_repeated_delete_is_harmless(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A resource gone at the provider counts as deleted; deleting again is 202."""
    sim = await sim_factory()
    broker = await broker_factory([sim])
    _, vm = await broker.call("POST", "/v1/vms?wait=5", json=VM)
    sim.remove_vm(vm["provider_id"])

    _, deleting = await broker.call("DELETE", f"/v1/vms/{vm['id']}")
    job = await settle(broker, deleting["job"]["href"])
    assert job["status"] == "succeeded"
    assert job["attempts"][-1]["detail"] == "Already gone at the provider."

    status, again = await broker.call("DELETE", f"/v1/vms/{vm['id']}")
    assert status == 202
    assert again["status"] == "deleted"


async def test_jobs_listing_and_status_filter(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """GET /v1/jobs lists the tenant's jobs and filters by status."""
    broker = await broker_factory([await sim_factory()])
    await broker.call("POST", "/v1/vms?wait=5", json=VM)
    _, jobs = await broker.call("GET", "/v1/jobs?status=succeeded")
    assert [j["operation"] for j in jobs["items"]] == ["create"]
    _, others = await broker.call("GET", "/v1/jobs", who="globex")
    assert others["items"] == []


async def test_vm_attaches_an_existing_volume(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """A VM naming the tenant's volume sends it to register; an unknown id is 422."""
    sim = await sim_factory()
    broker = await broker_factory([sim])
    _, volume = await broker.call("POST", "/v1/volumes?wait=5", json=VOLUME)
    status, vm = await broker.call(
        "POST", "/v1/vms?wait=5", json={**VM, "volumes": [volume["id"]]}
    )
    assert status == 201, vm
    status, problem = await broker.call(
        "POST", "/v1/vms", json={**VM, "volumes": ["0" * 32]}
    )
    assert status == 422
    assert problem["errors"][0]["field"] == "volumes.0"


async def test_200_async_creates_all_succeed(
    sim_factory: SimFactory, broker_factory: BrokerFactory
) -> None:
    """200 asynchronous creates at once all succeed, one VM each, none doubled."""
    a = await sim_factory("a", async_delay_s=0.2, cores=1000, memory_mib=10**7)
    b = await sim_factory(
        "b", async_delay_s=0.2, dialect="reference", cores=1000, memory_mib=10**7
    )
    broker = await broker_factory([a, b], jobs={"workers": 200})

    answers = await asyncio.gather(
        *(
            broker.call("POST", "/v1/vms", json={**VM, "name": f"vm-{i}"})
            for i in range(200)
        )
    )
    assert all(status == 202 for status, _ in answers)
    jobs = [await settle_long(broker, body["job"]["href"]) for _, body in answers]
    assert all(job["status"] == "succeeded" for job in jobs)
    on_sims = a.vms(ACME_UUID) + b.vms(ACME_UUID)
    assert len(on_sims) == 200
    names = {vm["req_json"]["vm_name"] for vm in on_sims}
    assert len(names) == 200


async def settle_long(broker: Broker, href: str) -> dict[str, Any]:
    """Follow a job as a client does, for up to about 30 s."""
    for _ in range(600):
        _, job = await broker.call("GET", href)
        if job["status"] in ("succeeded", "failed"):
            return job
        await asyncio.sleep(0.05)
    raise AssertionError("job did not end")
