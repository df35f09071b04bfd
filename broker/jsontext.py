"""JSON read from outside the broker: only what JSON itself can carry.

Python's decoder also reads ``NaN`` and ``Infinity``, and turns a number
such as ``1e309`` into infinity. None of them can be written back as JSON,
so a value holding one would make every later answer that shows it invalid.
Tenants' bodies and providers' answers are both read here.
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn


def loads(raw: str | bytes) -> Any:
    """Decode JSON; ``ValueError`` for NaN, Infinity or a number past a double."""
    return json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite)


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(name)


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(text)
    return value
