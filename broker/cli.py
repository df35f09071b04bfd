"""The ``c4broker`` command: serve, demo, sim, probe and check-config."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence

from broker import __version__, logs
from broker.config import load_config
from broker.errors import ConfigError

log = logging.getLogger(__name__)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one subcommand; the process's exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return 2
    logs.setup(args.log_level, args.log_format)
    runner: Callable[[argparse.Namespace], Awaitable[int] | int] = args.run
    result = runner(args)
    if isinstance(result, int):
        return result
    try:
        return asyncio.run(_until_signalled(result, getattr(args, "stopped_status", 0)))
    except KeyboardInterrupt:
        return 130


async def _until_signalled(work: Awaitable[int], stopped_status: int) -> int:
    """Run a long command until it ends or SIGTERM/SIGINT asks it to stop.

    A server stopped by a signal has done its job (``stopped_status`` 0); a
    check stopped half-way has not, and says so with a non-zero status.
    """
    task = asyncio.ensure_future(work)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        return stopped_status
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


def _parser() -> argparse.ArgumentParser:
    from broker.c4 import probe_cli
    from broker.sim import cli as sim_cli

    parser = argparse.ArgumentParser(
        prog="c4broker", description="Place and track resources on C4 cloud providers."
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--log-level", default=os.environ.get("C4BROKER_LOG_LEVEL", "INFO")
    )
    parser.add_argument(
        "--log-format",
        choices=["plain", "json"],
        default=os.environ.get("C4BROKER_LOG_FORMAT", "plain"),
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the broker")
    serve.add_argument("--config", default=os.environ.get("C4BROKER_CONFIG"))
    serve.set_defaults(run=_serve)

    demo = commands.add_parser(
        "demo", help="run the broker with three simulated providers"
    )
    demo.add_argument("--port", type=int, default=8080)
    demo.add_argument("--var", default="var", help="folder for the demo's files")
    demo.add_argument(
        "--sim-base-port",
        type=int,
        default=7770,
        help="first simulator's services port; its compute and storage ports are "
        "+7 and +2, the next simulators are +10 and +20",
    )
    demo.set_defaults(run=_demo)

    sim = commands.add_parser("sim", help="run one simulated C4 provider")
    sim_cli.add_arguments(sim)
    sim.set_defaults(run=sim_cli.run)

    probe = commands.add_parser("probe", help="check a provider's C4 conformance")
    probe_cli.add_arguments(probe)
    probe.set_defaults(run=probe_cli.run, stopped_status=130)

    check = commands.add_parser(
        "check-config", help="validate broker.yaml and its registry"
    )
    check.add_argument("file")
    check.set_defaults(run=_check_config)
    return parser


def _check_config(args: argparse.Namespace) -> int:
    try:
        loaded = load_config(args.file)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem)
        return 1
    tenants = _count(len(loaded.broker.tenants), "tenant")
    providers = _count(len(loaded.registry.providers), "provider")
    print(f"{args.file}: ok ({tenants}, {providers})")
    return 0


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


async def _serve(args: argparse.Namespace) -> int:
    if not args.config:
        print(
            "c4broker serve: give --config FILE or set C4BROKER_CONFIG.",
            file=sys.stderr,
        )
        return 2
    try:
        loaded = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    from broker.api.app import create_app, serve

    app = create_app(loaded)
    listen = loaded.broker.listen
    await serve(app, listen.host, listen.port)
    return 0


async def _demo(args: argparse.Namespace) -> int:
    from broker.demo import run_demo

    return await run_demo(args.port, args.var, args.sim_base_port, _announce)


def _announce(text: str) -> None:
    print(text, flush=True)
