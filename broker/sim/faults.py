"""The middleware that records every call and injects the configured faults.

It reads the simulator's :class:`~broker.sim.config.Faults` on every
request, so tests can change them while the servers run. In order: record
the call, add latency, hang until the simulator stops, fail at random, fail
the next call of a named operation, delay a named operation; then, after
the handler ran, delay its answer (the work is done, the answer is late),
turn a successful create into a 500 (the orphan case) or the body into
garbage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiohttp import web
from aiohttp.typedefs import Handler

from broker.sim.context import SimContext, operation_of, sim_of
from broker.sim.errors import error_response, injected_error

logger = logging.getLogger(__name__)

GARBAGE = b"<html><body>Bad Gateway</body></html>\x00{not json"
"""The body of a malformed answer: neither JSON nor anything else useful."""


def _before_handler(ctx: SimContext, operation: str | None) -> web.Response | None:
    faults = ctx.faults
    if faults.error_rate > 0 and ctx.fault_rng.random() < faults.error_rate:
        return injected_error(500, operation)
    if operation is not None and operation in faults.fail_next:
        status = faults.fail_next.pop(operation)
        return injected_error(status, operation)
    if operation is not None and operation in faults.fail_always:
        return injected_error(faults.fail_always[operation], operation)
    return None


def _after_handler(
    ctx: SimContext, operation: str | None, response: web.StreamResponse
) -> web.StreamResponse:
    faults = ctx.faults
    succeeded = 200 <= response.status < 300
    if succeeded and operation is not None and operation in faults.create_then_fail:
        logger.debug("sim create then fail operation=%s", operation)
        return injected_error(500, operation)
    if faults.malformed:
        return web.Response(body=GARBAGE, content_type="application/json")
    return response


@web.middleware
async def fault_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Record the call, then misbehave as the simulator's faults say."""
    ctx = sim_of(request)
    operation = operation_of(request)
    ctx.calls.append((request.method, request.path))
    ctx.call_seen.set()

    if ctx.faults.latency_s > 0:
        await asyncio.sleep(ctx.faults.latency_s)
    if ctx.faults.hang:
        await ctx.released.wait()
        return error_response(503, "The provider is shutting down.", operation)

    injected = _before_handler(ctx, operation)
    if injected is not None:
        return injected
    await _pause(ctx, ctx.faults.delay.get(operation or ""))

    response = await handler(request)
    await _pause(ctx, ctx.faults.delay_answer.get(operation or ""))
    return _after_handler(ctx, operation, response)


async def _pause(ctx: SimContext, seconds: float | None) -> None:
    """Wait that long, or until the simulator stops."""
    if seconds:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ctx.released.wait(), seconds)
