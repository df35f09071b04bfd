"""A child process with the least an aiohttp server can do: fixed JSON bytes.

Answers every GET with the bytes of ``--body`` as ``application/json``, so
that a benchmark can compare the broker with the same framework doing no
work of its own. Writes ``{"url": ...}`` to stdout once listening, then
serves until its stdin closes or it receives SIGTERM.

    .venv/bin/python -m bench.bare_server --body answer.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from aiohttp import web

from bench.sim_host import until_told_to_stop


def app_answering(body: bytes) -> web.Application:
    """An application whose every GET is answered with ``body``."""

    async def answer(_request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    return app


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--body", type=Path, required=True)
    args = parser.parse_args()
    runner = web.AppRunner(app_answering(args.body.read_bytes()), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        print(json.dumps({"url": f"http://127.0.0.1:{port}"}), flush=True)
        await until_told_to_stop()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
