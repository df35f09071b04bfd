"""The live provider set: the registry in force, a C4 client and health for each.

The registry can be replaced while the broker runs; :meth:`Providers.replace`
swaps it in one step and reports what changed. Clients of providers that
did not change are kept, with what they learnt of their provider's dialect.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import aiohttp

from broker import logs
from broker.c4.client import C4Client
from broker.c4.observer import CallObserver
from broker.config import ProviderConfig, Registry
from broker.health import HealthBook, State


class _Fanout:
    """Hands every call's outcome to several observers."""

    def __init__(self, observers: Sequence[CallObserver]) -> None:
        self._observers = observers

    def observe(
        self, provider: str, operation: str, outcome: str, elapsed_s: float
    ) -> None:
        for observer in self._observers:
            observer.observe(provider, operation, outcome, elapsed_s)


@dataclass(frozen=True)
class RegistryDiff:
    """Provider names added, removed and changed by a reload."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


class Providers:
    """The registry in force with one client and one health record per provider."""

    def __init__(
        self,
        registry: Registry,
        session: aiohttp.ClientSession,
        health: HealthBook | None = None,
        observers: Sequence[CallObserver] = (),
    ) -> None:
        self.session = session
        self.health = health or HealthBook()
        self._observer = _Fanout([self.health, *observers])
        self.registry = Registry(providers=[])
        self._clients: dict[str, C4Client] = {}
        self.replace(registry)

    def replace(self, registry: Registry) -> RegistryDiff:
        """Put a new registry in force; clients of unchanged providers stay."""
        old = {p.name: p for p in self.registry.providers}
        new = {p.name: p for p in registry.providers}
        diff = RegistryDiff(
            added=sorted(new.keys() - old.keys()),
            removed=sorted(old.keys() - new.keys()),
            changed=sorted(n for n in new.keys() & old.keys() if new[n] != old[n]),
        )
        self._clients = {
            name: self._clients[name]
            if name in self._clients and old.get(name) == config
            else C4Client(config, self.session, observer=self._observer)
            for name, config in new.items()
        }
        self.registry = registry
        logs.REDACTION.set_secrets(
            "provider headers",
            (v for p in registry.providers for v in p.headers.values()),
        )
        return diff

    def __iter__(self) -> Iterator[ProviderConfig]:
        return iter(self.registry.providers)

    def get(self, name: str) -> ProviderConfig | None:
        """The configuration of a provider in force, or None."""
        return self.registry.get(name)

    def client(self, name: str) -> C4Client:
        """The C4 client of a provider in force; KeyError when it is not."""
        return self._clients[name]

    def state(self, name: str) -> State:
        """The provider's health state as operators see it."""
        config = self.get(name)
        return self.health.state(name, enabled=config is not None and config.enabled)

    async def admit(self, name: str) -> bool:
        """Whether the provider may be called now (probing it after an ejection)."""
        client = self._clients[name]
        return await self.health.admit(name, client.health)
