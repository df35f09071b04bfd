"""Tenants and their API keys: who is calling, and may they."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from aiohttp import web

from broker.api.problems import Problem
from broker.config import TenantConfig


@dataclass(frozen=True)
class Tenant:
    """An authenticated caller."""

    name: str
    client_uuid: str
    role: str
    requests_per_minute: int
    max_jobs_in_flight: int

    @property
    def is_admin(self) -> bool:
        """Whether the tenant may see everyone's resources and reload the registry."""
        return self.role == "admin"


class KeyRing:
    """Every configured key digest with the tenant it belongs to."""

    def __init__(self, tenants: list[TenantConfig]) -> None:
        self._entries = [
            (
                digest,
                Tenant(
                    t.name,
                    t.client_uuid,
                    t.role,
                    t.requests_per_minute,
                    t.max_jobs_in_flight,
                ),
            )
            for t in tenants
            for digest in t.key_digests()
        ]

    def tenant_for(self, key: str) -> Tenant | None:
        """The tenant owning the key; every digest is compared, in constant time."""
        presented = hashlib.sha256(key.encode()).digest()
        found = None
        for digest, tenant in self._entries:
            if hmac.compare_digest(presented, digest):
                found = tenant
        return found


def bearer_key(request: web.Request) -> str:
    """The API key of the request's ``Authorization: Bearer`` header."""
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip() or not key.isascii():
        raise Problem(
            401,
            "Send your API key as 'Authorization: Bearer KEY'.",
            code="unauthorized",
            headers={"WWW-Authenticate": 'Bearer realm="c4broker"'},
        )
    return key.strip()


def authenticate(ring: KeyRing, request: web.Request) -> Tenant:
    """The calling tenant, or a 401 problem."""
    tenant = ring.tenant_for(bearer_key(request))
    if tenant is None:
        raise Problem(
            401,
            "The API key is not valid.",
            code="unauthorized",
            headers={
                "WWW-Authenticate": 'Bearer realm="c4broker", error="invalid_token"'
            },
        )
    return tenant


def require_admin(tenant: Tenant) -> None:
    """Refuse a tenant on an admin route."""
    if not tenant.is_admin:
        raise Problem(403, "This route is for administrators.", code="forbidden")
