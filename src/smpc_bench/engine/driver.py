"""Drive one MPyC run: the runtime, party-count checks, per-phase timeouts and a watchdog.

This is the only module of the package that imports :mod:`mpyc.runtime`, and it does so lazily,
inside :func:`runtime`, because that import parses ``sys.argv`` (MPyC's upper-case flags).

MPyC has no timeouts: a party that crashes or never connects leaves the others waiting forever.
Wrap every step that waits on other parties in :func:`phase`, and start the program with
:func:`run`, whose watchdog ends the process if even the event loop gets stuck::

    async def main() -> None:
        mpc = driver.runtime()
        await driver.phase("connecting", mpc.start(), timeout=60)
        total = mpc.sum(mpc.input(secint(value)))
        revealed_total = await driver.phase("opening the sum", mpc.output(total), timeout=30)
        await driver.phase("shutting down", mpc.shutdown(), timeout=30)

    driver.run(main(), timeout=600)
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

from smpc_bench.engine.errors import (
    PartyError,
    PartyLostError,
    PartyStalledError,
    PartyTimeoutError,
    PeerRefusedError,
)
from smpc_bench.spec import exit_codes

__all__ = ["WATCHDOG_EXIT_CODE", "PartyError", "PartyLostError", "PartyStalledError",
           "PartyTimeoutError", "PeerRefusedError", "RunLog", "bytes_sent", "check_party_count",
           "mpc_coroutine", "phase", "run", "runtime"]

T = TypeVar("T")

#: Exit status of a party ended by the :func:`run` watchdog.
WATCHDOG_EXIT_CODE = exit_codes.RUN_TIMEOUT

_mpc: Any = None


def runtime() -> Any:
    """Return the MPyC runtime ``mpyc.runtime.mpc``, importing it on first use.

    The first call parses MPyC's flags from ``sys.argv`` (and removes them from it) and
    installs the exactly equivalent speed-ups of :mod:`smpc_bench.engine.accel`.
    """
    global _mpc
    if _mpc is None:
        from mpyc.runtime import mpc

        from smpc_bench.engine import accel as acceleration

        acceleration.install()
        _mpc = mpc
    return _mpc


def mpc_coroutine(func: Callable[..., Any]) -> Callable[..., Any]:
    """Make ``func`` an MPyC coroutine (:func:`mpyc.asyncoro.mpc_coro`) on its first call.

    Decorating at import time would import :mod:`mpyc` with the package, and MPyC parses
    ``sys.argv`` and configures logging on import.  MPyC coroutines carry no return
    annotation: ``mpc_coro`` would take it for the type of the result.
    """
    decorated: Callable[..., Any] | None = None

    @functools.wraps(func)
    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal decorated
        if decorated is None:
            from mpyc.asyncoro import mpc_coro

            decorated = mpc_coro(func)
        return decorated(*args, **kwargs)

    return call


def _party_index() -> int | None:
    """Return this party's index if the runtime is already loaded, without loading it."""
    if _mpc is not None:
        return int(_mpc.pid)
    return None


def check_party_count(m: int, *, allow_local_simulation: bool) -> None:
    """Refuse party counts that give no secrecy.

    Args:
        m: Number of MPyC parties.
        allow_local_simulation: Accept ``m == 1``: one process plays every party, which is a
            local simulation without any secret sharing (tests, demos).

    Raises:
        ValueError: If ``m < 1``, ``m == 2``, or ``m == 1`` without ``allow_local_simulation``.
    """
    if m < 1:
        raise ValueError(f"need at least 1 party, got {m}")
    if m == 2:
        raise ValueError(
            "2 parties are refused: MPyC's threshold would be t = 0, so the 'shares' are the "
            "plaintext values and each party sees the other's inputs (no secrecy); "
            "use 3 or more parties"
        )
    if m == 1 and not allow_local_simulation:
        raise ValueError(
            "1 party is a local simulation with no secrecy; pass allow_local_simulation=True "
            "to run it, or use 3 or more parties"
        )


@dataclass
class RunLog:
    """Durations of the completed phases of a run, in order, for progress reports.

    Attributes:
        timings: ``(phase name, seconds)`` for every completed phase.
        on_phase: Called with ``(name, seconds)`` as each phase completes.
    """

    timings: list[tuple[str, float]] = field(default_factory=list)
    on_phase: Callable[[str, float], None] | None = None

    def record(self, name: str, seconds: float) -> None:
        """Append a completed phase and notify ``on_phase``."""
        self.timings.append((name, seconds))
        if self.on_phase is not None:
            self.on_phase(name, seconds)

    def total(self) -> float:
        """Return the summed duration of all completed phases, in seconds."""
        return sum(seconds for _, seconds in self.timings)

    def clear(self) -> None:
        """Forget all recorded phases."""
        self.timings.clear()


#: Default log that :func:`phase` records into.
run_log = RunLog()


async def phase(
    name: str, awaitable: Awaitable[T], timeout: float, *, log: RunLog | None = None
) -> T:
    """Await one step of a run that depends on the other parties, with a timeout.

    Works for ``mpc.start()`` (whose connect loop retries forever), ``mpc.output(...)``,
    ``mpc.gather(...)``, ``mpc.transfer(...)`` and ``mpc.shutdown()``, also with one party,
    where MPyC evaluates synchronously and hands back results that are already done.
    Futures are shielded, so a timeout does not cancel MPyC's own placeholders.

    Args:
        name: Phase name for messages and the run log, e.g. ``"sharing inputs"``.
        awaitable: Coroutine, future or other awaitable to wait for.
        timeout: Seconds to wait.
        log: Where to record the duration; defaults to the module's :data:`run_log`.

    Returns:
        The awaitable's result.

    Raises:
        PartyTimeoutError: If the awaitable is not done within ``timeout`` seconds.
        PartyLostError: A peer disconnected or stopped the run (while the run's connections
            are watched, see :func:`run`); :class:`PartyStalledError` and
            :class:`PeerRefusedError` are kinds of it.
    """
    from smpc_bench.engine import faults, liveness

    started = time.perf_counter()
    failure = liveness.enter_phase(name)  # None unless the run's connections are watched
    hold = faults.hold_seconds(name)  # 0 unless a test holds this party here
    if hold:
        awaitable = _held(awaitable, hold)
    if failure is not None and failure.done():
        _discard(awaitable)
        raise liveness.error(name)
    if isinstance(awaitable, asyncio.Future) and awaitable.done():
        result: T = awaitable.result()
    elif failure is None:
        if isinstance(awaitable, asyncio.Future):
            awaitable = asyncio.shield(awaitable)
        try:
            result = await asyncio.wait_for(awaitable, timeout)
        except TimeoutError:
            raise PartyTimeoutError(name, timeout, _party_index()) from None
    else:
        result = await _race(name, awaitable, timeout, failure)
    (run_log if log is None else log).record(name, time.perf_counter() - started)
    return result


async def _held(awaitable: Awaitable[T], seconds: float) -> T:
    """The ``hold`` test fault: wait (connections alive), then do the phase's work."""
    await asyncio.sleep(seconds)
    return await awaitable


def _discard(awaitable: Awaitable[Any]) -> None:
    """Close a coroutine that will never be awaited (no 'never awaited' warning)."""
    if asyncio.iscoroutine(awaitable):
        awaitable.close()


async def _race(name: str, awaitable: Awaitable[T], timeout: float,
                failure: asyncio.Future[Any]) -> T:
    """Await ``awaitable`` unless the run fails first (a peer lost, stalled or refused).

    MPyC's own futures are never cancelled (other steps may wait on them too); a coroutine
    started here is cancelled when the run fails or the phase times out.
    """
    from smpc_bench.engine import liveness

    ours = not isinstance(awaitable, asyncio.Future)
    task: asyncio.Future[T] = asyncio.ensure_future(awaitable)
    with liveness.racing():
        done, _ = await asyncio.wait({task, failure}, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        return task.result()
    if ours:
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)  # let e.g. MPyC's connect loop end cleanly
    if failure in done:
        raise liveness.error(name)
    raise PartyTimeoutError(name, timeout, _party_index())


def _watchdog_expired(timeout: float) -> None:
    party = _party_index()
    who = "this party" if party is None else f"party {party}"
    print(
        f"smpc-bench: {who}: the run did not finish within {timeout:g} s; "
        f"aborting with exit code {WATCHDOG_EXIT_CODE} so it does not hang forever",
        file=sys.stderr,
        flush=True,
    )
    sys.stdout.flush()
    os._exit(WATCHDOG_EXIT_CODE)


def run(coro: Coroutine[Any, Any, T], *, timeout: float) -> T:
    """Run a coroutine with ``mpc.run`` under an overall deadline.

    A daemon watchdog thread ends the whole process with exit code :data:`WATCHDOG_EXIT_CODE`
    (after a message on stderr) if the run is not over within ``timeout`` seconds, even if the
    event loop is stuck. Use :func:`phase` inside the coroutine for clean, per-step errors.

    With other parties, the run's connections are watched (:mod:`smpc_bench.engine.liveness`):
    a peer that disconnects, goes silent for the progress timeout or is refused ends the
    current :func:`phase` at once with :class:`PartyLostError`, :class:`PartyStalledError` or
    :class:`PeerRefusedError`, and whatever ends the run early is reported to the peers that
    are still connected, so that they stop too, naming the party that caused it.

    Args:
        coro: The party's main coroutine.
        timeout: Deadline for the whole run, in seconds.

    Returns:
        The coroutine's result.
    """
    from smpc_bench.engine import liveness

    watchdog = threading.Timer(timeout, _watchdog_expired, args=(timeout,))
    watchdog.daemon = True
    watchdog.start()
    mpc = runtime()
    watched = len(mpc.parties) > 1
    if watched:
        liveness.arm(mpc)
    try:
        return mpc.run(coro)  # type: ignore[no-any-return]
    except BaseException as error:
        if not watched:
            raise
        if isinstance(error, asyncio.CancelledError) and liveness.failed():
            # The run failed while the program waited outside any phase (woken by a cancel).
            converted = liveness.error()
            liveness.stop_after(converted)
            raise converted from None
        liveness.stop_after(error)  # tell the peers why, close the connections cleanly
        raise
    finally:
        if watched:
            liveness.disarm()
        watchdog.cancel()


def bytes_sent() -> int:
    """Bytes this party has sent to its peers so far (MPyC's per-connection counters)."""
    mpc = runtime()
    return sum(int(peer.protocol.nbytes_sent) for peer in mpc.parties
               if peer.pid != mpc.pid and peer.protocol is not None)
