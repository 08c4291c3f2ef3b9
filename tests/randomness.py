"""Reseed MPyC's randomness in a 1-party runtime, for tests that compare runs.

With PRSS (MPyC's default) all secret randomness of a run, the masks of comparisons, random
bits and the rejection sampling inside secure ``%``, comes from PRFs keyed by the PRSS keys
(``Runtime._prss_keys``, one per ``(m - t)``-subset: ``{(0,): key}`` with one party) and
evaluated at the program counter (``Runtime._program_counter[0]``, via ``_prss_uci``).  Fixing
both fixes the random stream: two runs that make the same calls see the same randomness, and
two seeds give independent streams.  (``--no-prss`` would draw from :mod:`secrets` instead, so
the block switches PRSS on.)  The secret shuffle draws its permutations from its own seeds:
pass :func:`shuffle_seed` to ``agree_shuffle_keys(seed=...)``.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

from smpc_bench.engine.driver import runtime

__all__ = ["reproducible_randomness", "shuffle_seed"]


@contextlib.contextmanager
def reproducible_randomness(seed: int = 0) -> Iterator[None]:
    """Run MPyC (m=1) on a fixed random stream: fixed PRSS keys, program counter from 0."""
    mpc = runtime()
    assert len(mpc.parties) == 1, "only a 1-party local simulation can be reseeded"
    saved_keys = getattr(mpc, "_prss_keys", None)
    saved_counter = mpc._program_counter[0]
    saved_no_prss = mpc.options.no_prss
    mpc._prss_keys = {(0,): hashlib.sha256(repr((seed, (0,))).encode()).digest()[:16]}
    mpc.prfs.cache_clear()
    mpc._program_counter[0] = 0
    mpc.options.no_prss = False
    try:
        yield
    finally:
        mpc.options.no_prss = saved_no_prss
        if saved_keys is not None:
            mpc._prss_keys = saved_keys
        mpc.prfs.cache_clear()
        mpc._program_counter[0] += saved_counter  # never reuse a counter with the real keys


def shuffle_seed(seed: int) -> bytes:
    """The secret shuffle's seed (``agree_shuffle_keys(seed=...)``) that belongs to ``seed``."""
    return hashlib.sha256(f"shuffle {seed}".encode()).digest()
