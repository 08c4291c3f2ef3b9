"""Communication rounds of a one-party block, counted as a synchronous network would.

MPyC's asynchronous mode is switched on for the block, each of the four communicating
coroutines holds its result until the next round boundary, and a boundary is declared whenever
the event loop has nothing left to do (its ready queue is empty).  With no I/O and asyncio's
FIFO scheduling this is deterministic.  See :mod:`smpc_bench.costs`.
"""

from __future__ import annotations

import asyncio
import functools
import types
from collections.abc import Callable, Coroutine, Generator
from typing import Any

__all__ = ["COMMUNICATING"]


#: The coroutines of MPyC 0.11 that send messages; each is one round on the critical path.
COMMUNICATING = ("_distribute", "output", "_reshare", "transfer")


class _RoundClock:
    """Declares a round boundary whenever the event loop has run out of ready work."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.rounds = 0
        self.held: list[asyncio.Future[None]] = []
        self.armed = False

    def hold(self) -> asyncio.Future[None]:
        """A future resolved at the next round boundary."""
        future: asyncio.Future[None] = self.loop.create_future()
        self.held.append(future)
        if not self.armed:
            self.armed = True
            self.loop.call_soon(self._tick)
        return future

    def _tick(self) -> None:
        if self.loop._ready:  # type: ignore[attr-defined]  # work left in this round
            self.loop.call_soon(self._tick)
            return
        self.armed = False
        held, self.held = self.held, []
        self.rounds += 1
        for future in held:
            if not future.done():
                future.set_result(None)


@types.coroutine
def _then_hold(coro: Coroutine[Any, Any, Any], clock: _RoundClock,
               annotated: bool) -> Generator[Any, Any, Any]:
    """Run an MPyC coroutine body, then wait for the next round boundary before returning.

    Without a return annotation MPyC runs the body synchronously up to its ``returnType``
    (the first yield) and only then makes a task; a body that returns before that (e.g. for an
    empty list) sends nothing and is not held.
    """
    try:
        value = coro.send(None)
    except StopIteration as stop:
        if annotated:
            yield from clock.hold()
        return stop.value
    while True:
        try:
            sent = yield value
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as error:  # noqa: BLE001 - forwarded into the coroutine
            try:
                value = coro.throw(error)
            except StopIteration as stop:
                result = stop.value
                break
        else:
            try:
                value = coro.send(sent)
            except StopIteration as stop:
                result = stop.value
                break
    yield from clock.hold()
    return result


def _held_method(method: Callable[..., Any], clock: _RoundClock) -> Callable[..., Any]:
    """An MPyC coroutine method like ``method`` whose result arrives one round later."""
    from mpyc import asyncoro

    body: Callable[..., Any] = method.__wrapped__  # type: ignore[attr-defined]  # under mpc_coro
    annotated = "return" in getattr(body, "__annotations__", {})

    @functools.wraps(body)
    async def held(*args: Any, **kwargs: Any) -> Any:
        return await _then_hold(body(*args, **kwargs), clock, annotated)

    return asyncoro.mpc_coro(held)  # type: ignore[no-any-return]
