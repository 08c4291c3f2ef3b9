"""How MPyC draws its shared randomness for a round: PRSS keys held back until the parties agree.

MPyC sends its PRSS keys inside the connection handshake, sized by each party's own ``t``:
parties with different thresholds (or one with ``--no-prss``) misread each other's first bytes
and hang.  So a peer round holds the keys back (:func:`hold_back_prss_keys`, before
``mpc.start()``), lets the parties compare ``m``, ``t`` and the randomness mode together with the
round spec (:func:`agreement_terms`), and only then hands out fresh PRSS keys itself
(:func:`start_prss`), exactly as MPyC would have: one 128-bit key per ``(m - t)``-subset, chosen
by its lowest member and sent to the other members only (:mod:`smpc_bench.engine.subset_keys`).
The rule that decides the mode (``C(m, t)`` against a measured limit) is
:func:`smpc_bench.spec.threshold.uses_prss`.

MPyC internals used: ``Runtime.options.no_prss``, ``Runtime._prss_keys``, ``Runtime.prfs``
(an ``lru_cache``); see the inventory in :mod:`smpc_bench.engine`.
"""

from __future__ import annotations

from typing import Any

from smpc_bench.engine.driver import PartyError
from smpc_bench.engine.subset_keys import agree_subset_keys
from smpc_bench.spec.threshold import check_threshold, uses_prss

__all__ = ["PRSS_KEY_BYTES", "ThresholdError", "agreement_terms", "check_runtime_threshold",
           "hold_back_prss_keys", "start_prss", "will_use_prss"]


#: Bytes of one PRSS key (MPyC's own size: 128 bits).
PRSS_KEY_BYTES = 16


class ThresholdError(PartyError):
    """The threshold MPyC runs with is not the one the consortium agreed on, or not secure."""


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


async def start_prss(mpc: Any) -> None:
    """Hand out fresh PRSS keys and switch MPyC's pseudorandom secret sharing on.

    Call after :func:`hold_back_prss_keys` returned True and the parties agreed on
    :func:`agreement_terms`; every party must call it at the same point of the program.
    """
    keys = await agree_subset_keys(PRSS_KEY_BYTES)
    mpc._prss_keys = keys
    mpc.prfs.cache_clear()  # PRFs built from older keys must not be reused
    mpc.options.no_prss = False
