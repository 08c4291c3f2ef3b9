"""Play the contributors of an outsourced round: encode rows and split them for the servers.

Each contribution is encoded exactly as a peer party encodes its rows (one-hot digits of the
offset value plus a validity flag, :func:`smpc_bench.core.secure_table.encode_digits`), then
split with Shamir's scheme over the round's public prime, one share file per compute server.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from smpc_bench.core.secure_table import encode_digits
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.sizing import Sizing, size_for

__all__ = ["round_prime", "split_for_servers"]


def round_prime(sizing: Sizing, sec_param: int = 30) -> int:
    """The round's public prime: the one MPyC picks for ``SecInt(field_bits)`` (``-K 30``)."""
    from mpyc import finfields

    return int(finfields.find_prime_root(sizing.field_bits + sec_param + 2, n=2)[0])


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
    from mpyc import finfields

    from smpc_bench.engine.accel.sharing import np_random_split

    sizing = size_for(specs, offsets.shape[1], moments=False)
    prime = round_prime(sizing)
    field = finfields.GF(prime)
    digits = encode_digits(offsets, sizing.value_bits, radix_bits)
    files = []
    split = {name: np_random_split(field, array.reshape(-1).astype(object), threshold, servers)
             for name, array in (("digits", digits), ("valid", valid))}
    for server in range(servers):
        path = folder / f"server{server}.npz"
        np.savez(path, digits=split["digits"][server].astype(np.uint64).reshape(digits.shape),
                 valid=split["valid"][server].astype(np.uint64).reshape(valid.shape))
        files.append(path)
    return sizing, prime, files
