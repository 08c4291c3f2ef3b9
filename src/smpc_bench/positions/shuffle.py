"""Secret shuffles, and an oblivious sort built on them, for Shamir sharing with honest majority.

**Shuffle.**  With ``m`` parties and threshold ``t``, every subset ``S`` of ``m - t`` parties
shares a 256-bit seed that no party outside ``S`` knows (:func:`agree_shuffle_keys`).  One
sub-shuffle per subset, in a fixed order: the first ``t + 1`` members of ``S`` (the
*resharers*) turn their Shamir shares into additive shares of the same secrets (a share times
its Lagrange coefficient at 0 for the resharers' points), all permute these vectors with the
permutation drawn from ``S``'s seed, and each inputs its permuted vector as a fresh Shamir
sharing; the sum of these inputs is a sharing of the permuted secrets.  The shuffle is the
composition of all sub-shuffles.  Permutations are unbiased Fisher-Yates driven by SHAKE-256 of
the seed, a domain-separation string and a per-call label (no home-made cipher).

**Apply a secret permutation** (:func:`apply_secret_permutation`, after Hamada et al., "Oblivious
radix sort", ICISC 2012).  Given rows and a secret destination ``dest_i`` for each row (a
permutation of the row indices), shuffle the rows together with their destinations, open only
the shuffled destinations, and place every shuffled row at its opened destination: the rows end
up in the order ``dest`` asks for, by public local reindexing.

**Sort** (:func:`sorted_counts`).  For ranks, every valid value ``x_i`` enters twice: as a
*probe* with key ``(x_i, 0)`` and as a *datum* with key ``(x_i, 1)``.  A stable LSD radix sort
over the one-hot digits of the values (probes laid out before data, which is the same as a first
pass on the last key bit) needs one secret destination per pass, computed from local prefix
sums and one secure inner product per row, and one :func:`apply_secret_permutation`.  In the
sorted order the number of valid data before a probe is ``#{j: x_j < x_i}`` and the number of
valid probes before a datum is ``#{j: x_j <= x_i}``: local prefix sums of two carried secret
flags, with no comparison and no equality test.  A last secret permutation (by the carried
secret origin tags) returns both counts to the rows' original positions.

**Security** (passive adversary corrupting a set ``A`` of at most ``t`` parties).  Some
``(m - t)``-subset ``S*`` avoids ``A``, so ``A`` has no information on ``S*``'s permutation,
and the composed shuffle is a uniformly random permutation from ``A``'s point of view,
independent of the data and fresh per call (a new label).  Everything ``A`` receives during a
shuffle is ``t`` shares of fresh degree-``t`` sharings: uniformly random.  An opened vector of
shuffled destinations is ``dest`` composed with the inverse of that uniform permutation, hence
a uniformly random permutation whatever ``dest`` (and so the data) is; equal values are never
compared, so ties leave no trace.  The only other openings are inside MPyC's standard
sub-protocols.  So every opening of :func:`sorted_counts` is, as a distribution, independent of
the data, and its shapes depend only on the table shape: the protocol is oblivious.  The seeds
travel with :meth:`mpyc.runtime.Runtime.transfer`, in the clear unless MPyC runs with ``--ssl``
(exactly like MPyC's own PRSS keys).  Inputs are assumed well formed (one-hot digits); a
malformed digit can make an opened destination vector not a permutation, which aborts the run
with :class:`ShuffleError`.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smpc_bench.core.order_stats import digit_indicators
from smpc_bench.core.secure_table import SecureTable
from smpc_bench.engine.driver import mpc_coroutine, runtime
from smpc_bench.engine.subset_keys import agree_subset_keys
from smpc_bench.spec.encoding import digit_layout

__all__ = [
    "ShuffleError",
    "ShuffleKeys",
    "agree_shuffle_keys",
    "apply_secret_permutation",
    "derive_permutation",
    "shuffle",
    "sorted_counts",
]

SecureArray = Any

#: Domain separation for every permutation drawn from a subset seed.
_DOMAIN = b"smpc-bench/secure_shuffle/v1/"
_SEED_BYTES = 32
_WORD = 1 << 64


class ShuffleError(RuntimeError):
    """An opened vector of destinations is not a permutation (malformed inputs)."""


def derive_permutation(seed: bytes, label: bytes, length: int) -> np.ndarray:
    """Draw a uniformly random permutation of ``range(length)`` from a seed.

    Fisher-Yates with SHAKE-256(domain || seed || label) as the random stream: for
    ``i = length-1, ..., 1`` a 64-bit word ``u`` is accepted if ``u < 2**64 - (2**64 % (i+1))``
    and gives ``j = u % (i + 1)`` (rejection sampling: exactly uniform); a rejected word is
    replaced by the next one of the stream.

    Args:
        seed: The subset's secret seed.
        label: Distinguishes the permutations drawn from one seed (call number, KPI).
        length: Number of elements.

    Returns:
        ``perm`` (int64): the shuffled sequence is ``x[perm]``.
    """
    swaps = max(length - 1, 0)
    xof = hashlib.shake_256(_DOMAIN + seed + b"/" + label)
    words = np.frombuffer(xof.digest(8 * swaps + 8), dtype="<u8")[:swaps]
    bounds = np.arange(length, 1, -1, dtype=np.uint64)  # i + 1 for i = length-1 .. 1
    # 2**64 % b without 2**64: ((2**64 - 1) % b + 1) % b.
    limits = np.uint64(_WORD - 1) - (np.uint64(_WORD - 1) % bounds + np.uint64(1)) % bounds
    if np.all(words <= limits):  # the usual case: no word rejected
        picks = (words % bounds).astype(np.int64).tolist()
    else:
        picks = _picks_with_rejection(xof, swaps, length)
    perm = list(range(length))
    for i, j in zip(range(length - 1, 0, -1), picks, strict=True):
        perm[i], perm[j] = perm[j], perm[i]
    return np.array(perm, dtype=np.int64)


def _picks_with_rejection(xof: Any, swaps: int, length: int) -> list[int]:
    """Fisher-Yates indices, reading the stream word by word (the rare rejection path)."""
    stream = xof.digest(8 * (swaps + 64))
    position = 0
    picks = []
    for i in range(length - 1, 0, -1):
        bound = i + 1
        limit = _WORD - _WORD % bound
        while True:
            if position + 8 > len(stream):
                stream = xof.digest(2 * len(stream))
            word = int.from_bytes(stream[position : position + 8], "little")
            position += 8
            if word < limit:
                picks.append(word % bound)
                break
    return picks


@dataclass
class ShuffleKeys:
    """This party's seeds: one per ``(m - t)``-subset of the parties it belongs to.

    Attributes:
        parties: Number of parties ``m``.
        threshold: MPyC's threshold ``t`` when the seeds were agreed.
        party: This party's index.
        seeds: ``{subset: seed}`` for the subsets that contain this party.
    """

    parties: int
    threshold: int
    party: int
    seeds: dict[tuple[int, ...], bytes]
    _calls: itertools.count[int] = field(default_factory=itertools.count, repr=False)

    def subsets(self) -> list[tuple[int, ...]]:
        """All ``(m - t)``-subsets of the parties, in the order the sub-shuffles run."""
        return list(itertools.combinations(range(self.parties), self.parties - self.threshold))

    def next_call(self) -> int:
        """Number of the next shuffle (every party calls shuffles in the same order)."""
        return next(self._calls)

    def permutations(self, subset: tuple[int, ...], call: int, rows: int, length: int
                     ) -> np.ndarray:
        """The subset's permutations for one shuffle call, ``(rows, length)``: one per batch row."""
        seed = self.seeds[subset]
        return np.stack([derive_permutation(seed, f"{call}/{row}".encode(), length)
                         for row in range(rows)])


async def agree_shuffle_keys(*, seed: bytes | None = None) -> ShuffleKeys:
    """Agree on fresh subset seeds for this run (one message to every peer, in one round).

    Args:
        seed: Only for a 1-party local simulation (tests): a fixed seed, for reproducible
            permutations.  Refused with more parties: real seeds are always fresh randomness.

    Returns:
        This party's :class:`ShuffleKeys`.
    """
    mpc = runtime()
    if seed is not None and len(mpc.parties) > 1:
        raise ValueError("a fixed shuffle seed is only allowed in a 1-party local simulation")
    seeds = await agree_subset_keys(_SEED_BYTES, fixed=seed)
    return ShuffleKeys(len(mpc.parties), mpc.threshold, mpc.pid, seeds)


def _lagrange_at_zero(field_type: Any, points: Sequence[int], own: int) -> Any:
    """Lagrange coefficient of the point ``own`` for interpolating at 0 from ``points``."""
    numerator, denominator = field_type(1), field_type(1)
    for point in points:
        if point != own:
            numerator *= point
            denominator *= point - own
    return numerator / denominator


@mpc_coroutine
async def shuffle(rows: SecureArray, keys: ShuffleKeys):  # type: ignore[no-untyped-def]
    """Shuffle the rows of every batch entry with a fresh secret permutation.

    Args:
        rows: Secure array ``(B, N, C)``: ``B`` independent batches (e.g. KPIs) of ``N`` rows;
            each batch gets its own permutation, the ``C`` columns of a row stay together.
        keys: This run's :class:`ShuffleKeys` (the same call order at every party).

    Returns:
        Secure array ``(B, N, C)``: row ``j`` of batch ``b`` is input row ``pi_b[j]``.
    """
    mpc = runtime()
    if mpc.threshold != keys.threshold or len(mpc.parties) != keys.parties:
        raise ShuffleError("the shuffle keys were agreed for another party set or threshold")
    call = keys.next_call()  # before the first await: fixed by program order, not by timing
    stype = type(rows)
    shape = tuple(rows.shape)
    batches, length = shape[0], shape[1]
    await mpc.returnType((stype, shape))
    field_type = stype.sectype.field
    current = rows
    for subset in keys.subsets():
        resharers = list(subset[: keys.threshold + 1])
        if mpc.pid in resharers:
            share = await mpc.gather(current)
            weight = _lagrange_at_zero(field_type, [r + 1 for r in resharers], mpc.pid + 1)
            perms = keys.permutations(subset, call, batches, length)
            additive = (share * weight).value
            permuted = np.take_along_axis(additive, perms.reshape(batches, length, 1), axis=1)
            mine = stype(field_type.array(permuted, check=False))
        else:
            mine = stype(None, shape)
        parts = mpc.input(mine, senders=resharers)
        current = parts[0]
        for part in parts[1:]:
            current = current + part
    return current


@mpc_coroutine
async def apply_secret_permutation(  # type: ignore[no-untyped-def]
        rows: SecureArray, destinations: SecureArray, keys: ShuffleKeys):
    """Move every row to its secret destination, opening only a uniformly random permutation.

    Args:
        rows: Secure array ``(B, N, C)``.
        destinations: Secure array ``(B, N)``; each batch entry a permutation of ``range(N)``.
        keys: This run's :class:`ShuffleKeys`.

    Returns:
        Secure array ``(B, N, C)`` with ``result[b, destinations[b, i]] == rows[b, i]``.

    Raises:
        ShuffleError: If an opened destination vector is not a permutation.
    """
    mpc = runtime()
    stype = type(rows)
    batches, length, columns = rows.shape
    combined = np.concatenate((rows, destinations.reshape(batches, length, 1)), axis=2)
    shuffled = shuffle(combined, keys)  # called before the first await: program order
    await mpc.returnType((stype, tuple(rows.shape)))
    opened = np.asarray(await mpc.output(shuffled[:, :, columns]), dtype=np.int64)
    if not np.array_equal(np.sort(opened, axis=1),
                          np.broadcast_to(np.arange(length), opened.shape)):
        raise ShuffleError("opened destinations are not a permutation (malformed one-hot input?)")
    order = np.argsort(opened, axis=1).reshape(batches, length, 1)
    share = await mpc.gather(shuffled)
    placed = np.take_along_axis(share.value[:, :, :columns], order, axis=1)
    return stype.sectype.field.array(placed, check=False)


def _bit_matrix(width: int) -> np.ndarray:
    """``(2**width, width)`` 0/1 matrix: row ``v`` holds the bits of ``v``, lowest bit first."""
    values = np.arange(1 << width).reshape(-1, 1)
    return ((values >> np.arange(width)) & 1).astype(np.int64)


def _counting_sort_destinations(onehot: SecureArray) -> SecureArray:
    """Stable counting-sort destinations ``(B, N)`` from one-hot digits ``(B, N, W)``.

    ``dest_i = #{j: digit_j < digit_i} + #{j < i: digit_j == digit_i}``: prefix sums are
    local; selecting the entry of ``i``'s digit is one secure inner product per row.
    """
    batches, length, width = onehot.shape
    earlier_same = np.cumsum(onehot, axis=1) - onehot  # (B, N, W), local
    totals = np.sum(onehot, axis=1)  # (B, W)
    block_starts = np.cumsum(totals, axis=1) - totals  # first position of each digit's block
    candidates = earlier_same + block_starts.reshape(batches, 1, width)
    dest = onehot.reshape(batches * length, 1, width) @ candidates.reshape(
        batches * length, width, 1)
    return dest.reshape(batches, length)


def sorted_counts(table: SecureTable, keys: ShuffleKeys) -> tuple[SecureArray, SecureArray]:
    """For every cell: how many valid values of its KPI are below it, and at or below it.

    An oblivious radix sort by secret shuffles (see the module docstring): ``D`` passes of
    ``2n`` rows for ``D`` digits, then one pass back.  Opens ``D + 1`` uniformly random
    permutations of ``range(2n)`` per KPI and nothing else besides MPyC's own masked values.

    Args:
        table: The secret-shared table (its one-hot digits and validity flags are used).
        keys: This run's :class:`ShuffleKeys`.

    Returns:
        ``(below, at_or_below)``: secure integer arrays ``(K, n)``,
        ``below[k, i] = #{valid j: x_j < x_i}`` and ``at_or_below[k, i] = #{valid j: x_j <= x_i}``
        (counts for invalid cells are meaningless and must be masked by the caller).
    """
    sectype = table.sectype
    num_kpis, num_rows = table.valid.shape
    length = 2 * num_rows
    layout = digit_layout(table.sizing.value_bits, table.radix_bits)
    widths = [width for _, width in layout]
    bit_offsets = np.concatenate(([0], np.cumsum(widths))).astype(int).tolist()
    digits = len(widths)

    def twice(a: SecureArray) -> SecureArray:  # probes (rows 0..n-1), then data (n..2n-1)
        return np.concatenate((a, a), axis=1)

    zeros = sectype.array(np.zeros((num_kpis, num_rows), dtype=np.int64))
    valid_probe = np.concatenate((table.valid, zeros), axis=1)
    valid_datum = np.concatenate((zeros, table.valid), axis=1)
    origin = sectype.array(np.broadcast_to(np.arange(length), (num_kpis, length)).copy())
    flags = np.stack((origin, valid_probe, valid_datum), axis=2)  # (K, 2n, 3)
    carried = None
    if digits > 1:  # bits of every digit but the last, recovered locally from the one-hots
        bits = [onehot @ _bit_matrix(width)
                for onehot, width in zip(table.indicators[:-1], widths[:-1], strict=True)]
        carried = twice(np.concatenate(bits, axis=2) if len(bits) > 1 else bits[0])
    onehot = twice(table.indicators[-1])
    for digit in reversed(range(digits)):  # least significant digit first
        if digit < digits - 1:
            assert carried is not None
            own_bits = carried[:, :, bit_offsets[digit] : bit_offsets[digit + 1]]
            onehot = digit_indicators(own_bits, [(0, widths[digit])])[0]
            carried = carried[:, :, : bit_offsets[digit]] if digit > 0 else None
        destinations = _counting_sort_destinations(onehot)
        payload = flags if carried is None else np.concatenate((carried, flags), axis=2)
        payload = apply_secret_permutation(payload, destinations, keys)
        kept = bit_offsets[digit]
        carried = payload[:, :, :kept] if kept else None
        flags = payload[:, :, kept:]
    origin, valid_probe, valid_datum = flags[:, :, 0], flags[:, :, 1], flags[:, :, 2]
    data_before = np.cumsum(valid_datum, axis=1) - valid_datum  # local prefix sums
    probes_before = np.cumsum(valid_probe, axis=1) - valid_probe
    counts = np.stack((data_before, probes_before), axis=2)
    back = apply_secret_permutation(counts, origin, keys)  # to the original positions
    return back[:, :num_rows, 0], back[:, num_rows:, 1]
