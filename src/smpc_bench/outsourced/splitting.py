"""Play the contributors of an outsourced round: encode rows and split them for the servers.

Each contribution is encoded exactly as a peer party encodes its rows (one-hot digits of the
offset value plus a validity flag, :func:`smpc_bench.spec.encoding.encode_digits`), then
split with Shamir's scheme over the round's public prime: :func:`split_contribution` returns every
server's shares in memory (a contributor seals them, :mod:`smpc_bench.outsourced.submission`), and
:func:`split_for_servers` writes one share file per compute server (tests and benchmarks).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from smpc_bench.engine.fields import prime_field, shamir_split
from smpc_bench.spec.encoding import encode_digits
from smpc_bench.spec.kpi import KpiSpec

# round_prime (MPyC's prime for SecInt(field_bits), computed without MPyC) is re-exported.
from smpc_bench.spec.sizing import Sizing, round_prime, size_for

__all__ = ["round_prime", "split_contribution", "split_for_servers"]


def split_contribution(digits: np.ndarray, valid: np.ndarray, prime: int, servers: int,
                       threshold: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Shamir-split one contribution's encoded arrays, in memory, one pair per server.

    Args:
        digits: The 0/1 one-hot digits (:func:`smpc_bench.spec.encoding.encode_digits`), any
            shape.
        valid: The 0/1 validity flags, any shape.
        prime: The round's prime (:func:`round_prime`).
        servers: Number of compute servers ``m``.
        threshold: Shamir degree ``t`` (``t < m / 2``).

    Returns:
        Per server ``i`` (evaluation point ``i + 1``) its shares ``(digits, valid)`` in the
        input shapes: ``uint64`` arrays for primes below ``2**64``, else object arrays of ints.
    """
    # MPyC parses sys.argv when first imported (and exits on e.g. submit's --out): prime_field
    # imports it with the command line hidden, before shamir_split's module imports it.
    prime_field(prime)
    # One split for both arrays: one draw of randomness, one pass over the polynomials.
    digits, valid = np.asarray(digits), np.asarray(valid)
    flat = np.concatenate([digits.reshape(-1), valid.reshape(-1)]).astype(object)
    shares = shamir_split(prime, flat, threshold, servers)
    return [(share[:digits.size].reshape(digits.shape), share[digits.size:].reshape(valid.shape))
            for share in shares]


def split_for_servers(specs: Sequence[KpiSpec], offsets: np.ndarray, valid: np.ndarray,
                      servers: int, threshold: int, radix_bits: int, folder: Path
                      ) -> tuple[Sizing, int, list[Path]]:
    """Play the firms: one-hot encode every row and write one share file per server.

    Args:
        specs: The KPIs, in row order.
        offsets: Offset values ``(K, n)`` (:meth:`KpiSpec.encode`), 0 where missing.
        valid: 0/1 ``(K, n)``.
        servers: Number of compute servers.
        threshold: Shamir degree t (t < servers / 2).
        radix_bits: Bits per one-hot digit (the round's radix).
        folder: Where the share files ``server<i>.npz`` are written.

    Returns:
        ``(sizing, prime, share files)``.
    """
    sizing = size_for(specs, offsets.shape[1], moments=False)
    prime = round_prime(sizing)
    digits = encode_digits(offsets, sizing.value_bits, radix_bits)
    files = []
    shares = split_contribution(digits, valid, prime, servers, threshold)
    for server, (digit_shares, valid_shares) in enumerate(shares):
        path = folder / f"server{server}.npz"
        np.savez(path, digits=digit_shares.astype(np.uint64), valid=valid_shares.astype(np.uint64))
        files.append(path)
    return sizing, prime, files
