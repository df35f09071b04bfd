"""Configuration: ``broker.yaml`` and the provider registry it names.

Both files are YAML, validated by the pydantic models below. Strings may use
``${NAME}`` or ``${NAME:-default}`` for environment variables. Every problem
is reported as ``file:line: message`` so that an operator can jump to it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from broker.errors import ConfigError
from broker.yamlfile import YamlReader

SERVICE_KINDS: tuple[str, ...] = (
    "s3",
    "kaas",
    "loadbalancer",
    "elasticip",
    "dbaas",
    "jupyter",
)
KINDS: tuple[str, ...] = ("vm", "volume", *SERVICE_KINDS)

Kind = Literal[
    "vm", "volume", "s3", "kaas", "loadbalancer", "elasticip", "dbaas", "jupyter"
]
ServiceKind = Literal["s3", "kaas", "loadbalancer", "elasticip", "dbaas", "jupyter"]
Server = Literal["compute", "storage", "services"]

NAME_PATTERN = r"^[a-z0-9-]+$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, min_length=1, max_length=63)]


def _check_base_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError("A provider URL must start with http:// or https://.")
    if not parts.hostname:
        raise ValueError("A provider URL must name a host.")
    if not _valid_host(parts.hostname):
        raise ValueError(f"A provider URL names an invalid host {parts.hostname!r}.")
    if parts.username is not None or parts.password is not None:
        raise ValueError("A provider URL must not carry a user name or password.")
    if parts.query or parts.fragment:
        raise ValueError("A provider URL must not carry a query or fragment.")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError("A provider URL has an invalid port.") from exc
    path = parts.path.rstrip("/")
    if path.endswith("/api/v1.0"):
        path = path[: -len("/api/v1.0")]
    return f"{parts.scheme}://{parts.netloc}{path}"


_HOST_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")


def _valid_host(host: str) -> bool:
    """An IP address, or a host name of letters, digits, ``-`` and ``_`` labels."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.removesuffix(".").split(".")
        return len(host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)
    return True


BaseUrl = Annotated[str, AfterValidator(_check_base_url)]


M = TypeVar("M", bound=BaseModel)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderConfig(_Strict):
    """One provider of the registry: where its C4 servers are and how to use them."""

    name: Name
    compute: BaseUrl | None = None
    storage: BaseUrl | None = None
    services: BaseUrl | None = None
    kinds: list[Kind] | None = Field(
        default=None,
        description="Kinds served; by default every kind its servers offer.",
    )
    regions: list[str] = Field(default_factory=list)
    headers: dict[str, str] = Field(default_factory=dict)
    volume_size_unit: Literal["GB", "bytes"] = "GB"
    weight: float = Field(default=1.0, gt=0)
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    enabled: bool = True
    labels: dict[str, str] = Field(default_factory=dict)
    dialect: Literal["auto", "docs", "reference"] = Field(
        default="auto",
        description="Pin the C4 dialect instead of detecting it per endpoint.",
    )
    max_in_flight: int = Field(
        default=32,
        ge=1,
        le=4096,
        description="Calls to this provider in flight at once.",
    )

    @model_validator(mode="after")
    def _servers_match_kinds(self) -> ProviderConfig:
        if not (self.compute or self.storage or self.services):
            raise ValueError(
                "A provider needs at least one of compute, storage, services."
            )
        for kind in self.kinds or ():
            server = server_for(kind)
            if getattr(self, server) is None:
                raise ValueError(f"Kind {kind} needs the {server} URL.")
        return self

    @property
    def served_kinds(self) -> tuple[str, ...]:
        """The kinds this provider serves, explicit or derived from its servers."""
        if self.kinds is not None:
            return tuple(self.kinds)
        return tuple(k for k in KINDS if getattr(self, server_for(k)) is not None)

    @property
    def default_region(self) -> str | None:
        """The region used when a request names none."""
        return self.regions[0] if self.regions else None

    def base_url(self, server: Server) -> str | None:
        """The configured base URL of one of the provider's servers."""
        url: str | None = getattr(self, server)
        return url


class Registry(_Strict):
    """The provider registry: the file operators edit and the broker reloads."""

    # Required, even if empty: a file truncated by a half-done save must not
    # be read as "no providers" and empty the registry on reload.
    providers: list[ProviderConfig]

    @field_validator("providers")
    @classmethod
    def _unique_names(cls, value: list[ProviderConfig]) -> list[ProviderConfig]:
        _reject_duplicates(p.name for p in value)
        return value

    def get(self, name: str) -> ProviderConfig | None:
        """The provider of that name, or None."""
        return next((p for p in self.providers if p.name == name), None)


def _check_api_key(value: str) -> str:
    if value.startswith("sha256:"):
        digest = value.removeprefix("sha256:")
        if not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError("A sha256: key must be 64 lowercase hex digits.")
    elif len(value) < 8:
        raise ValueError("An API key must be at least 8 characters long.")
    return value


ApiKey = Annotated[str, AfterValidator(_check_api_key)]


class TenantConfig(_Strict):
    """A tenant: who may call the API, with which keys, under which client_uuid."""

    name: Name
    client_uuid: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9-]+$")
    role: Literal["tenant", "admin"] = "tenant"
    api_keys: list[ApiKey] = Field(min_length=1)
    requests_per_minute: int = Field(default=600, gt=0)
    max_jobs_in_flight: int = Field(
        default=1000, ge=1, description="Creates of this tenant not yet ended, at most."
    )

    def key_digests(self) -> list[bytes]:
        """SHA-256 digests of every key, plain keys hashed here."""
        return [key_digest(k) for k in self.api_keys]


def key_digest(configured: str) -> bytes:
    """The SHA-256 digest of a configured key (plain or ``sha256:`` prefixed)."""
    if configured.startswith("sha256:"):
        return bytes.fromhex(configured.removeprefix("sha256:"))
    return hashlib.sha256(configured.encode()).digest()


class ListenConfig(_Strict):
    """Where the HTTP API listens."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class PlacementConfig(_Strict):
    """How placement asks providers and ranks their offers."""

    policy: Literal["cheapest"] = "cheapest"
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    fanout_timeout_s: float = Field(default=3.0, gt=0, le=60)
    max_attempts: int = Field(default=3, ge=1, le=10)
    max_fanout: int = Field(
        default=256, ge=1, description="Providers one placement may ask, at most."
    )


class JobsConfig(_Strict):
    """How jobs are run and followed."""

    poll_initial_s: float = Field(default=1.0, gt=0)
    poll_max_s: float = Field(default=30.0, gt=0)
    max_duration_s: float = Field(default=1800.0, gt=0)
    workers: int = Field(default=64, ge=1, le=1024)
    lease_s: float = Field(default=30.0, gt=0)


class HealthConfig(_Strict):
    """When a failing provider is taken out of rotation, and for how long."""

    max_failures: int = Field(default=5, ge=1, le=1000)
    base_ejection_s: float = Field(default=30.0, gt=0)
    max_ejection_s: float = Field(default=300.0, gt=0)
    retry_budget: float = Field(default=0.2, ge=0, le=1)


class InventoryConfig(_Strict):
    """How often and how widely the inventory asks providers."""

    refresh_interval_s: float = Field(default=60.0, gt=0)
    concurrency: int = Field(default=16, ge=1, le=1024)
    targeted_delay_s: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="How long a refresh after a job waits, so jobs share it.",
    )


class BrokerConfig(_Strict):
    """``broker.yaml``: the whole broker's configuration."""

    listen: ListenConfig = Field(default_factory=ListenConfig)
    database: str = "var/broker.sqlite3"
    providers_file: str = "providers.yaml"
    tenants: list[TenantConfig] = Field(min_length=1)
    placement: PlacementConfig = Field(default_factory=PlacementConfig)
    jobs: JobsConfig = Field(default_factory=JobsConfig)
    inventory: InventoryConfig = Field(default_factory=InventoryConfig)
    health: HealthConfig = Field(default_factory=HealthConfig)

    @field_validator("tenants")
    @classmethod
    def _unique_tenants(cls, value: list[TenantConfig]) -> list[TenantConfig]:
        _reject_duplicates(t.name for t in value)
        _reject_duplicates((t.client_uuid for t in value), what="client_uuid")
        owners: dict[bytes, str] = {}
        for tenant in value:
            for digest in tenant.key_digests():
                owner = owners.setdefault(digest, tenant.name)
                if owner != tenant.name:
                    raise ValueError(
                        f"Tenants {owner!r} and {tenant.name!r} share an API key;"
                        " each key must name one tenant."
                    )
        return value


def server_for(kind: str) -> Server:
    """The C4 server that manages a kind."""
    if kind == "vm":
        return "compute"
    if kind == "volume":
        return "storage"
    return "services"


def _reject_duplicates(values: Iterator[str], what: str = "name") -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"Duplicate {what} {value!r}.")
        seen.add(value)


@dataclass(frozen=True)
class LoadedConfig:
    """A validated ``broker.yaml`` with its paths resolved and its registry."""

    path: Path
    broker: BrokerConfig
    registry: Registry
    database_path: Path
    providers_path: Path


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read and validate ``broker.yaml`` and its registry, or raise ConfigError."""
    path = Path(path)
    env = os.environ if env is None else env
    broker = _load_model(path, BrokerConfig, env)
    base = path.parent
    providers_path = (base / broker.providers_file).resolve()
    database_path = (
        Path(broker.database)
        if broker.database == ":memory:"
        else base / broker.database
    )
    registry = load_registry(providers_path, env)
    return LoadedConfig(path, broker, registry, database_path, providers_path)


def load_registry(path: str | Path, env: Mapping[str, str] | None = None) -> Registry:
    """Read and validate the provider registry, or raise ConfigError."""
    return _load_model(Path(path), Registry, os.environ if env is None else env)


def _load_model(path: Path, model: type[M], env: Mapping[str, str]) -> M:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}:1: Cannot read the file: {exc.strerror}."]) from exc
    reader = YamlReader(path, env)
    data = reader.read(text)
    if data is None and reader.problems:
        raise ConfigError(reader.problems)
    if not isinstance(data, dict):
        raise ConfigError([f"{path}:1: The file must hold keys and their values."])
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        problems = reader.problems + reader.explain(exc, data)
        problems += [
            p for p in _duplicate_names(path, data, reader) if p not in problems
        ]
        raise ConfigError(sorted(problems, key=_line_number)) from exc
    if reader.problems:
        raise ConfigError(reader.problems)
    return result


def _duplicate_names(path: Path, data: dict[str, Any], reader: YamlReader) -> list[str]:
    """Duplicate names of providers or tenants, read from the raw data.

    Pydantic checks them only once every entry is valid; an operator fixing
    the other problems should not find this one only on the next run.
    """
    problems = []
    for section in ("providers", "tenants"):
        entries = data.get(section)
        if not isinstance(entries, list):
            continue
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            name = entry.get("name") if isinstance(entry, dict) else None
            if not isinstance(name, str):
                continue
            if name in seen:
                line = reader.lines.get((section, index, "name"), 1)
                problems.append(
                    f"{path}:{line}: {section}.{index}.name: Duplicate name {name!r}."
                )
            seen.add(name)
    return problems


def _line_number(problem: str) -> int:
    """The line of a ``file:line: message`` problem (the file is the same)."""
    match = re.search(r":(\d+): ", problem)
    return int(match.group(1)) if match else 0


def registry_schema() -> dict[str, Any]:
    """The JSON Schema of the provider registry, for editors."""
    schema = Registry.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "C4 broker provider registry"
    return schema


def write_registry_schema(path: str | Path) -> None:
    """Write the registry's JSON Schema, as shipped in ``config/``."""
    text = json.dumps(registry_schema(), indent=2, sort_keys=True) + "\n"
    Path(path).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write_registry_schema(
        sys.argv[1] if len(sys.argv) > 1 else "config/providers.schema.json"
    )
