"""The collusion threshold of a round, and how MPyC draws its shared randomness for it.

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

**Agreement before keys.**  MPyC sends its PRSS keys inside the connection handshake, sized by
each party's own ``t``: parties with different thresholds (or one with ``--no-prss``) misread
each other's first bytes and hang.  So a peer round holds the keys back
(:func:`hold_back_prss_keys`, before ``mpc.start()``), lets the parties compare ``m``, ``t``
and the randomness mode together with the round spec (:func:`agreement_terms`), and only then
hands out fresh PRSS keys itself (:func:`start_prss`), exactly as MPyC would have: one 128-bit
key per ``(m - t)``-subset, chosen by its lowest member and sent to the other members only.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import secrets
from typing import Any

from smpc_bench.engine.driver import PartyError, mpc_coroutine, runtime

__all__ = [
    "PRSS_KEY_BYTES",
    "PRSS_MAX_SUBSETS",
    "KeyExchangeError",
    "ThresholdError",
    "agree_subset_keys",
    "agreement_terms",
    "check_runtime_threshold",
    "check_threshold",
    "default_threshold",
    "describe",
    "hold_back_prss_keys",
    "start_prss",
    "uses_prss",
    "will_use_prss",
]

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
#: Bytes of one PRSS key (MPyC's own size: 128 bits).
PRSS_KEY_BYTES = 16


class ThresholdError(PartyError):
    """The threshold MPyC runs with is not the one the consortium agreed on, or not secure."""


class KeyExchangeError(PartyError):
    """A peer sent a key for a subset it does not lead, or a key was not received."""


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


#: The user's own ``--no-prss`` (or ``MPYC_NOPRSS=1``), remembered before the first hold-back
#: overwrites MPyC's option (a process may run several rounds).
_requested_no_prss: bool | None = None


def will_use_prss(mpc: Any) -> bool:
    """Whether a round run by this runtime uses PRSS: ``C(m, t)`` is small and no ``--no-prss``."""
    global _requested_no_prss
    if _requested_no_prss is None:
        _requested_no_prss = bool(mpc.options.no_prss)
    return not _requested_no_prss and uses_prss(len(mpc.parties), mpc.threshold)


def hold_back_prss_keys(mpc: Any) -> bool:
    """Decide the randomness mode, and keep MPyC's handshake free of PRSS keys.

    Call before ``mpc.start()``; after the parties have agreed, :func:`start_prss` switches
    PRSS on if this returned True.

    Args:
        mpc: The MPyC runtime (not started yet).

    Returns:
        :func:`will_use_prss`.
    """
    prss = will_use_prss(mpc)
    # MPyC reads this flag at every use: while it is set, the handshake carries no keys (so
    # parties that disagree on t still connect cleanly) and no randomness is drawn by PRSS.
    mpc.options.no_prss = True
    return prss


def agreement_terms(mpc: Any, prss: bool) -> str:
    """Canonical text of the runtime settings every party must share: ``m``, ``t``, randomness."""
    mode = "pseudorandom (PRSS)" if prss else "interactive (--no-prss)"
    return f"{len(mpc.parties)} parties, threshold {mpc.threshold}, {mode} randomness"


def check_runtime_threshold(mpc: Any, configured: int | None) -> None:
    """Refuse to start if MPyC's threshold is insecure or not the configured one.

    A 1-party local simulation (no sharing at all) is left alone.

    Args:
        mpc: The MPyC runtime.
        configured: The consortium's ``[security] threshold`` (None: MPyC's default).

    Raises:
        ThresholdError: Before any connection is made.
    """
    parties, threshold = len(mpc.parties), mpc.threshold
    if parties == 1:
        return
    if configured is not None and threshold != configured:
        raise ThresholdError(
            f"party {mpc.pid}: MPyC runs with threshold {threshold} (-T) but the configuration "
            f"says threshold = {configured}; drop -T or make them equal")
    try:
        check_threshold(threshold, parties)
    except ValueError as error:
        raise ThresholdError(f"party {mpc.pid}: {error}") from None


@mpc_coroutine
async def _exchange(own: dict[tuple[int, ...], bytes],  # type: ignore[no-untyped-def]
                    key_bytes: int):
    """Send every subset key from its lowest member to the other members of the subset.

    Transfer number ``d`` goes from party ``i`` to party ``i + d (mod m)`` only, so each message
    has its own (sender, receiver) pair; all ``m - 1`` transfers are issued before any is
    awaited (one message round in all).
    """
    mpc = runtime()
    await mpc.returnType(asyncio.Future)
    m = len(mpc.parties)
    pending = []
    for step in range(1, m):
        peer_to = (mpc.pid + step) % m
        outgoing = {subset: key for subset, key in own.items() if peer_to in subset}
        pending.append(mpc.transfer(
            outgoing, sender_receivers={i: [(i + step) % m] for i in range(m)}))
    received: dict[tuple[int, ...], bytes] = {}
    for step, transfer in zip(range(1, m), pending, strict=True):
        peer_from = (mpc.pid - step) % m
        incoming = (await transfer)[0]
        for subset, key in incoming.items():
            if mpc.pid not in subset or subset[0] != peer_from or len(key) != key_bytes:
                raise KeyExchangeError(
                    f"party {peer_from} sent a key for a foreign subset {subset}")
            received[subset] = key
    return received


async def agree_subset_keys(key_bytes: int, *, fixed: bytes | None = None
                            ) -> dict[tuple[int, ...], bytes]:
    """Fresh secret keys, one per ``(m - t)``-subset of the parties, known to its members only.

    Args:
        key_bytes: Length of every key.
        fixed: Only for a 1-party local simulation (tests): use this key, for reproducible
            results.  Refused with more parties: real keys are always fresh randomness.

    Returns:
        ``{subset: key}`` for every subset that contains this party.

    Raises:
        KeyExchangeError: If a peer's keys do not fit.
    """
    mpc = runtime()
    m, t, pid = len(mpc.parties), mpc.threshold, mpc.pid
    if fixed is not None and m > 1:
        raise ValueError("a fixed key is only allowed in a 1-party local simulation")
    subsets = list(itertools.combinations(range(m), m - t))
    own = {s: (fixed if fixed is not None else secrets.token_bytes(key_bytes))
           for s in subsets if s[0] == pid}
    keys = dict(own)
    if m > 1:
        keys.update(await _exchange(own, key_bytes))
    missing = [s for s in subsets if pid in s and s not in keys]
    if missing:
        raise KeyExchangeError(f"party {pid}: no key received for subsets {missing}")
    return keys


async def start_prss(mpc: Any) -> None:
    """Hand out fresh PRSS keys and switch MPyC's pseudorandom secret sharing on.

    Call after :func:`hold_back_prss_keys` returned True and the parties agreed on
    :func:`agreement_terms`; every party must call it at the same point of the program.
    """
    keys = await agree_subset_keys(PRSS_KEY_BYTES)
    mpc._prss_keys = keys
    mpc.prfs.cache_clear()  # PRFs built from older keys must not be reused
    mpc.options.no_prss = False
