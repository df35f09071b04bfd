"""The C4 client: speaking the C4 protocol to one provider at a time.

:class:`C4Client` sends every operation, falls back between the documented
and the reference dialect, judges each answer once (:mod:`broker.c4.classify`)
and reports it to a :class:`CallObserver`. :mod:`broker.c4.probe` checks a
provider's conformance before an operator registers it.
"""

from broker.c4.client import C4Client
from broker.c4.models import C4Price, C4Service, C4Vm, C4Volume, VmRequirements
from broker.c4.observer import CallObserver

__all__ = [
    "C4Client",
    "C4Price",
    "C4Service",
    "C4Vm",
    "C4Volume",
    "CallObserver",
    "VmRequirements",
]
