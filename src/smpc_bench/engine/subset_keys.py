"""Fresh secret keys shared by the members of every ``(m - t)``-subset of the parties.

MPyC's pseudorandom secret sharing keys and the secret shuffle's keys are both of this shape:
one key per subset, chosen by the subset's lowest member and sent to the other members only,
so that any ``t`` parties together miss at least one key.  All ``m - 1`` transfers are issued
before any is awaited: one message round in all.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets

from smpc_bench.engine.driver import PartyError, mpc_coroutine, runtime

__all__ = ["KeyExchangeError", "agree_subset_keys"]


class KeyExchangeError(PartyError):
    """A peer sent a key for a subset it does not lead, or a key was not received."""


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
