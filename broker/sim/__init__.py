"""A complete C4 provider simulated in memory, for tests, the demo and probes.

::

    async with Simulator(SimConfig(name="sim-a")) as sim:
        sim.urls["compute"]        # http://127.0.0.1:PORT
        sim.faults.fail_next["register"] = 503
"""

from broker.sim.config import Faults, SimConfig
from broker.sim.server import Simulator

__all__ = ["Faults", "SimConfig", "Simulator"]
