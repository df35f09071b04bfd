"""Command-line glue of ``c4broker probe``: arguments in, report out, exit code."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

import aiohttp
from pydantic import ValidationError

from broker.c4.probe import probe_config, probe_provider

EXIT_USABLE = 0
"""The provider can be registered."""

EXIT_UNUSABLE = 1
"""A required endpoint is missing or wrong."""

EXIT_USAGE = 2
"""The arguments themselves are wrong."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``c4broker probe`` on ``parser``."""
    parser.add_argument(
        "--compute", metavar="URL", required=True, help="compute server base URL"
    )
    parser.add_argument("--storage", metavar="URL", help="storage server base URL")
    parser.add_argument("--services", metavar="URL", help="services server base URL")
    parser.add_argument(
        "--json", action="store_true", help="print a JSON document instead of a table"
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="only read: create no VM, volume or service",
    )
    parser.add_argument(
        "--timeout",
        metavar="S",
        type=float,
        default=10.0,
        help="timeout of each call in seconds (default 10)",
    )
    parser.add_argument(
        "--header",
        metavar="'NAME: VALUE'",
        action="append",
        default=[],
        help="a header to send with every call (repeatable)",
    )


def parse_headers(values: list[str]) -> dict[str, str]:
    """``Name: value`` strings as a header mapping; ValueError when malformed."""
    headers: dict[str, str] = {}
    for value in values:
        name, sep, content = value.partition(":")
        if not sep or not name.strip() or any(c in value for c in "\r\n"):
            raise ValueError(f"A header must look like 'Name: value', not {value!r}.")
        headers[name.strip()] = content.strip()
    return headers


async def run(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Probe the provider the arguments name and write the report to ``out``."""
    out = out or sys.stdout
    err = err or sys.stderr
    try:
        provider = probe_config(
            compute=args.compute,
            storage=args.storage,
            services=args.services,
            headers=parse_headers(args.header),
            timeout_s=args.timeout,
        )
    except (ValidationError, ValueError) as exc:
        err.write(f"c4broker probe: {_first_problem(exc)}\n")
        return EXIT_USAGE

    async with aiohttp.ClientSession() as session:
        report = await probe_provider(provider, session, read_only=args.read_only)
    if args.json:
        out.write(json.dumps(report.as_dict(), indent=2) + "\n")
    else:
        out.write(report.as_table())
    out.flush()
    return EXIT_USABLE if report.usable else EXIT_UNUSABLE


def _first_problem(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    return str(exc)
