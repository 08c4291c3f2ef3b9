"""Deterministic cost accounting of MPyC protocol calls: rounds, traffic, comparisons, openings.

Wall-clock time depends on the machine, the load and the network; the costs recorded here
depend only on the program and, for an oblivious protocol, on the *shape* of the data.  They
are what a regression gate can enforce and what predicts the run time on a real network::

    from smpc_bench import costs

    with costs.track() as cost:
        released = mpc.run(compute(table))
    print(cost.rounds, cost.comparisons, cost.bytes_sent)
    cost.as_dict()                                   # flat counters, e.g. for JSON

    released, cost = costs.run(compute(table))       # the same, as a run option

What is counted (by wrapping MPyC 0.11's ``Runtime`` methods for the duration of the block):

* **openings**: calls of ``Runtime.output`` and the elements opened; ``library_openings`` are
  the declared outputs, plus the openings a library protocol makes itself (e.g. the uniformly
  random shuffled destinations of :mod:`smpc_bench.positions.shuffle`); the others are the masked
  openings inside sub-protocols: MPyC's (comparisons, bit decompositions, zero tests) and the
  comparisons of :mod:`smpc_bench.core.less_than`.
* **reshares**: calls of ``Runtime._reshare`` (one per secure multiplication, inner product or
  matrix product, scalar or vectorised) and the field elements reshared.
* **comparisons**: calls of ``Runtime.np_sgn``/``sgn`` (every secure ``<``, ``==``, sign or zero
  test of MPyC goes through them) and of :func:`smpc_bench.core.less_than.less_than_zero`, and the
  elements compared; ``comparison_bits`` weighs every element
  by its bit length ``l``, which is what the comparison's traffic and work grow with.
* **bit decompositions**: calls of ``Runtime.np_to_bits``/``to_bits``, elements and bits.
* **inputs**: calls of ``Runtime._distribute`` (``mpc.input``) and elements; **transfers**.
* **messages and bytes** sent by this party, per peer (``MessageExchanger.send``: 12 bytes of
  header plus the payload per message).  Zero with one party.  Message counts are exact; byte
  counts vary by about 0.01 % from run to run because MPyC pickles field elements (random
  shares) as Python integers of variable length.
* **rounds**: communication rounds, see below.

Rounds, and why they are deterministic
--------------------------------------
Every communication in MPyC goes through one of four coroutines: ``_distribute`` (input),
``_reshare`` (after each secure product), ``output`` (openings, also the masked ones inside
sub-protocols) and ``transfer``; each costs one message latency on the critical path (PRSS
randomness is local).  The rounds of a computation are the length of its longest chain of
messages in which each message needs the one before: what a network latency multiplies.

A Lamport clock over the real messages is not that number: on a real or loaded machine a
party also stamps unrelated messages it happens to send after a late receipt, so the count
varies from run to run.  Instead the block runs as a **synchronous network**: in round ``r``
every party does all the work its data allows, and a message sent in round ``r`` is delivered
at the start of round ``r + 1``, never earlier.  The number of rounds is then a function of
the program (and the data's shape) alone, whatever the timing:

* **One party** (tests, benchmarks in process): MPyC's asynchronous mode is switched on for the
  block, each of the four coroutines holds its result until the next round boundary, and a
  boundary is declared whenever the event loop has nothing left to do (its ready queue is
  empty).  With no I/O and asyncio's FIFO scheduling this is deterministic.
* **Several parties**: the parties run in lock-step (:class:`_LockStep`).  A party that runs
  out of work in round ``r`` sends a small control frame ``END r`` to every peer; TCP keeps
  each connection in order, so everything a peer sent before its ``END r`` belongs to round
  ``r``.  A party enters round ``r + 1`` when it is idle and holds ``END r`` from every peer,
  and only then hands the round's frames to MPyC.  ``START``/``STOP`` frames bracket the
  block, and frames for a peer that has not entered the block yet are held back, so all
  parties must track the same blocks (same program, like every MPyC call).  Each party counts
  its own rounds; the run's count is the largest.  The lock-step costs a few milliseconds per
  round, so time runs separately (``track(rounds=False)`` counts traffic only).

For programs whose structure does not depend on the number of parties both give the same
count (tested); where it does, only the multi-party count is right for that number of parties
(the secret shuffle behind the sorting ranks makes one sub-shuffle per set of ``m - t``
parties: 31 rounds with one party, 43 with three, for n = 1,000).  Both were validated against
3-party runs with a delay ``D`` injected into every message (``benchmarks/validate_rounds.py``):
``(T_D - T_0) / D`` came within half a round of the count at ``D = 0.3 s`` (quartiles of 1,000
values: 36 rounds counted, 36.1 measured; ranks, in an earlier version: 44 counted, 45.3
measured at ``D = 1 s``).

A block may span a whole run, ``mpc.start()`` to ``mpc.shutdown()`` (the lock-step then begins
once the parties are connected and ends when the party's pending work is done, before the
shutdown).  Caveats: MPyC's barrier and shutdown wait by polling the event loop, which would
keep a round from ever ending; inside a block they poll with a 1 ms timer instead.  MPyC's
secure ``%`` by a public modulus that is not a power of two draws its mask by rejection
sampling, so its number of tries (and rounds) is random (never data-dependent).
"""

from smpc_bench.costs.tracking import Costs, format_costs, run, track

__all__ = ["Costs", "format_costs", "run", "track"]
