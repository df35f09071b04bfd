"""The ``c4broker sim`` command: run one simulated provider until cancelled."""

from __future__ import annotations

import argparse
import asyncio
import logging

from broker.sim.config import ALL_KINDS, Faults, SimConfig
from broker.sim.server import Simulator

logger = logging.getLogger(__name__)

DEFAULT_PORTS = {"compute": 7777, "storage": 7772, "services": 7770}
"""The C4 servers' customary ports."""


def _csv(value: str) -> list[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    if not items:
        raise argparse.ArgumentTypeError("Give at least one name.")
    return items


def _add_identity(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", required=True, help="provider name")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    for server, port in DEFAULT_PORTS.items():
        parser.add_argument(
            f"--{server}-port", type=int, default=port, help=f"{server} server port"
        )
    parser.add_argument(
        "--dialect",
        choices=["docs", "reference"],
        default="docs",
        help="documented endpoints or the reference implementation's variants",
    )
    parser.add_argument(
        "--regions",
        type=_csv,
        default=["eu-west"],
        help="comma-separated regions, the first is the default",
    )
    parser.add_argument(
        "--kinds",
        type=_csv,
        default=list(ALL_KINDS),
        help="comma-separated kinds offered",
    )


def _add_offer(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--currency", default="EUR", help="price currency")
    parser.add_argument("--price-core-hour", type=float, default=0.02)
    parser.add_argument("--price-mem-gib-month", type=float, default=3.0)
    parser.add_argument("--price-disk-gib-month", type=float, default=0.05)
    parser.add_argument("--cores", type=int, default=64, help="total cores")
    parser.add_argument("--memory-mib", type=int, default=262144)
    parser.add_argument("--disk-gib", type=int, default=10000)


def _add_faults(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--async-delay",
        type=float,
        default=0.0,
        help="seconds an asynchronous create takes (0: always synchronous)",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="added seconds")
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="fraction answered 500"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument(
        "--malformed", action="store_true", help="answer garbage instead of JSON"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``sim`` command's options to its parser."""
    _add_identity(parser)
    _add_offer(parser)
    _add_faults(parser)


def config_from(args: argparse.Namespace) -> SimConfig:
    """The simulator configuration the command line describes."""
    return SimConfig(
        name=args.name,
        dialect=args.dialect,
        regions=args.regions,
        currency=args.currency,
        price_core_hour=args.price_core_hour,
        price_mem_gib_month=args.price_mem_gib_month,
        price_disk_gib_month=args.price_disk_gib_month,
        cores=args.cores,
        memory_mib=args.memory_mib,
        disk_gib=args.disk_gib,
        kinds=args.kinds,
        async_delay_s=args.async_delay,
        seed=args.seed,
    )


def faults_from(args: argparse.Namespace) -> Faults:
    """The faults the command line asks to inject from the start."""
    return Faults(
        latency_s=args.latency, error_rate=args.error_rate, malformed=args.malformed
    )


async def run(args: argparse.Namespace) -> int:
    """Run the simulated provider until the task is cancelled; return 0."""
    try:
        config = config_from(args)
    except ValueError as exc:
        logger.error("sim configuration refused error=%s", exc)
        return 2
    sim = Simulator(config)
    sim.faults = faults_from(args)
    await sim.start(
        host=args.host,
        compute_port=args.compute_port,
        storage_port=args.storage_port,
        services_port=args.services_port,
    )
    try:
        for server, url in sim.urls.items():
            logger.info(
                "sim listening provider=%s server=%s url=%s", args.name, server, url
            )
        await asyncio.Event().wait()
    finally:
        await sim.stop()
    return 0
