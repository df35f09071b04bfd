"""The probe's judgements that need no network: price format and dialect."""

from __future__ import annotations

from typing import Any

from broker.c4.answer import Answer
from broker.c4.core import ClientCore
from broker.c4.probe_report import Check
from broker.config import ProviderConfig

OPERATION_SERVER = {
    "canallocate": "compute",
    "cancreate": "storage",
    "volume_info": "storage",
    "accessible": "storage",
    "destroy": "storage",
    "service_info": "services",
}
"""The server of each operation whose endpoint differs between dialects."""


def price_check(server: str, answer: Answer | None) -> Check:
    """How a quote's price is written: amounts as numbers or strings, currency."""
    price = _raw_price(answer.data if answer is not None else None)
    if not isinstance(price, dict):
        return Check(server, "price", "wrong", "The offer carries no price.", False)

    currency = price.get("currency")
    amounts = [price.get("hourly"), price.get("monthly")]
    if not isinstance(currency, str) or not currency.strip():
        return Check(server, "price", "wrong", "The price names no currency.", False)
    if all(_is_number(a) for a in amounts):
        detail = f"Amounts as numbers, currency {currency}."
        return Check(server, "price", "ok", detail, False)
    if all(_is_number(a) or isinstance(a, str) for a in amounts):
        detail = f"Amounts as strings (accepted), currency {currency}."
        return Check(server, "price", "variant", detail, False)
    return Check(server, "price", "wrong", "The price amounts are not numbers.", False)


def dialect_summary(
    provider: ProviderConfig,
    client: ClientCore,
    reference_urls: set[str],
    unreached: set[str],
) -> dict[str, str]:
    """Per server: docs, reference, mixed, either (fits both) or unknown."""
    learnt = client.learnt_dialects()
    summary: dict[str, str] = {}
    for server in ("compute", "storage", "services"):
        if provider.base_url(server) is None:
            continue
        if server in unreached:
            summary[server] = "unknown"
            continue
        seen = {d for op, d in learnt.items() if OPERATION_SERVER.get(op) == server}
        if server in reference_urls:
            seen.add("reference")
        if len(seen) > 1:
            summary[server] = "mixed"
        else:
            summary[server] = seen.pop() if seen else "either"
    return summary


def _raw_price(data: Any) -> Any:
    if not isinstance(data, dict):
        return None
    info = data.get("info")
    if isinstance(info, dict):
        return info.get("price")
    return data.get("price", data)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
