"""Fault injection for tests and benchmarks: a party that dies or stalls at a chosen phase.

**A test-only switch.**  It does nothing unless the environment variable
``SMPC_BENCH_FAULT`` is set, which no production setup does; the fault tests
(``tests/integration/test_faults.py``) and ``benchmarks/bench_faults.py`` set it for one party
process only, as ``<action>:<phase>``:

* ``kill``: the party sends itself SIGKILL (a crash the program cannot see coming);
* ``stop``: SIGSTOP (a frozen or sleeping machine; the test sends SIGKILL afterwards);
* ``reset``: the party's TCP connections are reset (RST, not a clean close) and it exits;
* ``crash``: an exception is raised (a bug: the party stops with an error of its own);
* ``hold``: the party waits at the start of the phase for ``SMPC_BENCH_FAULT_HOLD`` seconds
  (default 30) while its connections stay alive (heartbeats go on): time for a test to cut its
  network link in the middle of a round that would otherwise be over in a fraction of a second.

``<phase>`` is the name of a :func:`smpc_bench.engine.driver.phase` (``sharing inputs``,
``computing and releasing``, ...): the fault fires when the phase starts.  For ``connecting`` it
fires once this party has been admitted by its first peer, so that it dies in the middle of
connecting rather than before it has started.  A fault fires at most once per process.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["ACTIONS", "ENVIRONMENT_VARIABLE", "HOLD_VARIABLE", "InjectedFault", "hold_seconds",
           "inject", "planned"]

#: The environment variable that arms a fault: ``<action>:<phase>``.
ENVIRONMENT_VARIABLE = "SMPC_BENCH_FAULT"
#: Seconds a ``hold`` fault waits (default 30).
HOLD_VARIABLE = "SMPC_BENCH_FAULT_HOLD"
#: What a fault can do.
ACTIONS = ("kill", "stop", "reset", "crash", "hold")
#: Exit status of a party whose connections were reset by a fault.
RESET_EXIT_CODE = 70

_fired = False


class InjectedFault(RuntimeError):
    """The ``crash`` fault: an error of the party's own."""


def planned() -> tuple[str, str] | None:
    """The armed fault as ``(action, phase)``, or None (the normal case)."""
    text = os.environ.get(ENVIRONMENT_VARIABLE, "")
    if not text:
        return None
    action, _, phase = text.partition(":")
    if action not in ACTIONS or not phase:
        raise ValueError(f"{ENVIRONMENT_VARIABLE}={text!r}: expected <action>:<phase> with an "
                         f"action out of {', '.join(ACTIONS)}")
    return action, phase


def inject(point: str, transports: Iterable[Any] = ()) -> None:
    """Fire the armed fault if it is planned at ``point`` (a phase name); else nothing.

    Args:
        point: Where the party is: the phase that starts.
        transports: The party's open peer connections (for ``reset``).

    Raises:
        InjectedFault: For the ``crash`` action.
    """
    global _fired
    plan = planned()
    if plan is None or _fired or plan[1] != point or plan[0] == "hold":
        return
    _fired = True
    action = plan[0]
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action == "stop":
        os.kill(os.getpid(), signal.SIGSTOP)
    elif action == "reset":
        for transport in transports:
            sock = transport.get_extra_info("socket")
            if sock is not None:  # linger 0: close() sends RST instead of FIN
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        os._exit(RESET_EXIT_CODE)
    else:
        raise InjectedFault(f"fault injected at {point!r} ({ENVIRONMENT_VARIABLE})")


def hold_seconds(point: str) -> float:
    """Seconds to wait at ``point`` for an armed ``hold`` fault; 0 (the normal case) else."""
    global _fired
    plan = planned()
    if plan is None or _fired or plan != ("hold", point):
        return 0.0
    _fired = True
    seconds = float(os.environ.get(HOLD_VARIABLE, "30"))
    print(f"fault injected ({ENVIRONMENT_VARIABLE}): holding at {point!r} for {seconds:g} s",
          file=sys.stderr, flush=True)
    return seconds
