"""The state one simulator shares between its three servers and their handlers."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from aiohttp import web

from broker.sim.config import Faults, SimConfig
from broker.sim.state import SimState


@dataclass
class SimContext:
    """Everything a request handler or middleware of one simulator may touch."""

    config: SimConfig
    state: SimState
    faults: Faults = field(default_factory=Faults)
    calls: list[tuple[str, str]] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    fault_rng: random.Random = field(default_factory=random.Random)
    call_seen: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def reference(self) -> bool:
        """Whether the simulator speaks the reference implementation's dialect."""
        return self.config.dialect == "reference"


SIM_KEY = web.AppKey("sim", SimContext)
"""Where each of the simulator's applications keeps the shared context."""


def sim_of(request: web.Request) -> SimContext:
    """The context of the simulator that received this request."""
    return request.app[SIM_KEY]


def operation_of(request: web.Request) -> str | None:
    """The operation name of the matched route, as used by the fault switches.

    Routes are named ``operation`` or ``operation:variant`` so that one
    operation may be served at several paths; unmatched requests have none.
    """
    name = request.match_info.route.name
    if name is None:
        return None
    return name.split(":", 1)[0]
