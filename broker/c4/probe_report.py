"""The result of a conformance probe: one line per check, and a verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Result = Literal["ok", "variant", "missing", "wrong", "skipped"]
"""How one endpoint fared: as documented, as a known variant, absent, broken,
or not tried (read-only mode, or a step it needs failed)."""

PASSING: frozenset[str] = frozenset({"ok", "variant"})
"""The results under which a required endpoint counts as usable."""


@dataclass(frozen=True)
class Check:
    """One line of the probe's report."""

    server: str
    endpoint: str
    result: Result
    detail: str
    required: bool = True

    def as_dict(self) -> dict[str, Any]:
        """The check as the probe's JSON document shows it."""
        return {
            "server": self.server,
            "endpoint": self.endpoint,
            "result": self.result,
            "detail": self.detail,
            "required": self.required,
        }


@dataclass
class ProbeReport:
    """Every check of one probe, the dialect seen per server, and the verdict."""

    checks: list[Check] = field(default_factory=list)
    dialect: dict[str, str] = field(default_factory=dict)

    def add(self, check: Check) -> None:
        """Append one check."""
        self.checks.append(check)

    @property
    def usable(self) -> bool:
        """Whether every required endpoint that was tried answered usably."""
        tried = [c for c in self.checks if c.required and c.result != "skipped"]
        return bool(tried) and all(c.result in PASSING for c in tried)

    def as_dict(self) -> dict[str, Any]:
        """The report as the ``--json`` document."""
        return {
            "usable": self.usable,
            "dialect": dict(self.dialect),
            "checks": [check.as_dict() for check in self.checks],
        }

    def as_table(self) -> str:
        """The report as an aligned, human-readable table with a verdict."""
        header = ("SERVER", "ENDPOINT", "RESULT", "DETAIL")
        rows = [header] + [
            (c.server, c.endpoint, c.result + ("" if c.required else "*"), c.detail)
            for c in self.checks
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [
            "  ".join(
                cell.ljust(width) for cell, width in zip(row, widths, strict=False)
            )
            + "  "
            + row[3]
            for row in rows
        ]
        dialects = " ".join(f"{s}={d}" for s, d in sorted(self.dialect.items()))
        lines.append("")
        lines.append("* optional: does not decide whether the provider is usable")
        lines.append(f"dialect: {dialects or 'unknown'}")
        lines.append(f"usable: {'yes' if self.usable else 'no'}")
        return "\n".join(line.rstrip() for line in lines) + "\n"
