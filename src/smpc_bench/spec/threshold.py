"""The collusion threshold of a round, and the rule that picks MPyC's randomness mode for it.

**Threshold.**  With ``m`` parties and threshold ``t``, any ``t`` firms that pool everything they
see learn nothing about the others' figures beyond the released results; ``t + 1`` colluding
firms could.  Shamir sharing
with MPyC needs an honest majority, ``2t < m``, so ``1 <= t <= (m - 1) // 2``.  The consortium
states ``t`` in its configuration (``[security] threshold``); the default is MPyC's own,
``(m - 1) // 2``, the most collusion a round of ``m`` firms can withstand.

**Randomness.**  MPyC's default pseudorandom secret sharing (PRSS) needs no messages, but
every random share costs one PRF evaluation per ``(m - t)``-subset of the parties that the party
belongs to, and their number grows like ``C(m, t)``: 10 subsets for ``m = 5``, 56 for ``m = 8``,
792 for ``m = 12`` at the default threshold.  Its ``--no-prss`` mode instead lets ``t + 1``
parties input fresh random values (an extra message round per batch and 1.3-1.8x the bytes,
but no ``C(m, t)`` factor).  A round
uses PRSS while ``C(m, t) <= PRSS_MAX_SUBSETS`` and the interactive mode above that (see
:data:`PRSS_MAX_SUBSETS` for the measurements), or always with MPyC's ``--no-prss`` flag.  (The
secret shuffle of :mod:`smpc_bench.positions.shuffle`, used by positions with ``method = "sort"``,
also runs one sub-shuffle per ``(m - t)``-subset; the randomness mode does not change that.)

How the runtime applies the mode (PRSS keys held back until the parties agree) is
:mod:`smpc_bench.engine.prss`.
"""

from __future__ import annotations

import math

__all__ = ["PRSS_MAX_SUBSETS", "check_threshold", "default_threshold", "describe", "uses_prss"]

#: Largest number of ``(m - t)``-subsets, ``C(m, t)``, for which a round uses PRSS.  Measured
#: on one 2-core machine (all parties on it, loopback), a statistics round of 3 KPIs with 1-2
#: rows per firm and private positions, default threshold, PRSS vs ``--no-prss``, slowest
#: party: m=5 (C=10) 1.0-1.2 s vs 1.2-1.5 s; m=6 (C=15) 1.9-2.5 s vs 1.3-1.5 s; m=7 (C=35)
#: 3.4-3.9 s vs 2.5-2.6 s; m=8 (C=56) 6.9-7.6 s vs 3.0-3.2 s; m=12 (C=792) 202 s vs 9.1 s.
#: The CPU saved per party at m=6 and m=7 is only about 0.25 s (on this machine the parties
#: share two cores), while the interactive mode sends 1.3-1.8x the bytes and needs two more
#: message rounds; so, as an estimate for separate machines on a real network, PRSS stays the
#: better choice up to about ``C(m, t) = 30``: m <= 6 at the default threshold.
PRSS_MAX_SUBSETS = 30


def default_threshold(parties: int) -> int:
    """MPyC's default and the largest threshold ``m`` parties support: ``(m - 1) // 2``."""
    return max(parties - 1, 0) // 2


def check_threshold(threshold: int, parties: int | None) -> None:
    """Refuse a threshold that gives no secrecy or no honest majority.

    Args:
        threshold: The number of colluding firms the round must withstand.
        parties: The number of firms (MPyC parties); None checks only the lower bound.

    Raises:
        ValueError: With a message for the consortium, not for a programmer.
    """
    if threshold < 1:
        raise ValueError(
            f"the threshold is {threshold}, but it must be at least 1: with 0, every firm's "
            "'shares' would be its plain figures, visible to the others")
    if parties is None:
        return
    largest = default_threshold(parties)
    if largest < 1:
        raise ValueError(f"a round needs at least 3 firms for any secrecy, not {parties}")
    if threshold > largest:
        raise ValueError(
            f"the threshold is {threshold}, but with {parties} firms it can be at most {largest}: "
            "the colluding firms must stay fewer than half of all firms "
            f"(2 x threshold < number of firms); choose 1 to {largest}")


def uses_prss(parties: int, threshold: int) -> bool:
    """Whether a round of ``parties`` firms with this threshold draws its randomness by PRSS."""
    return math.comb(parties, threshold) <= PRSS_MAX_SUBSETS


def describe(parties: int, threshold: int, prss: bool) -> str:
    """One line for the progress output: the threshold and the randomness mode."""
    mode = "pseudorandom (PRSS)" if prss else "interactive (--no-prss)"
    return (f"withstands up to {threshold} colluding firm{'s' if threshold != 1 else ''} "
            f"of {parties} (threshold {threshold}); randomness {mode}")


