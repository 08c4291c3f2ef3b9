"""How private positions reach their owners, and only them.

Peer mode: each firm's records are opened to that firm alone (``mpc.output(..., receivers=[i])``,
:func:`deliver_to_owners`).  Outsourced mode: every compute server keeps its shares of each
record (:func:`own_shares`); only the contributor, holding ``t + 1`` servers' shares, recombines
them (:func:`recombine_shares`) and decodes its rank, percentile and band
(:func:`decode_positions`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from smpc_bench.engine.driver import runtime
from smpc_bench.engine.fields import shamir_recombine
from smpc_bench.inputs.consortium import PositionSettings
from smpc_bench.positions.ranks import BAND_KINDS, PositionRules
from smpc_bench.spec.outcome import PrivatePosition, RoundOutcome

SecureArray = Any  # mpyc.sectypes.SecureArray; mpyc ships no type information

__all__ = ["decode_positions", "deliver_to_owners", "own_shares", "recombine_shares",
           "report_positions", "rules_for"]


async def deliver_to_owners(
    records: SecureArray,
    owners: Sequence[int],
    *,
    kpis: Sequence[int] | None = None,
) -> np.ndarray | None:
    """Open every row's records to the party that owns the row, and to nobody else (peer mode).

    Every party must call this with the same ``owners`` and ``kpis`` (they are public).

    Args:
        records: Output of :func:`position_records`, ``(K, n, F)``.
        owners: Party index owning each row (``n`` entries).
        kpis: The KPI rows to release (e.g. those meeting the minimum number of
            contributions); default all.

    Returns:
        At each party, its own rows' records as an int array ``(len(kpis), own rows, F)`` (rows
        in table order), or None if it owns no rows.
    """
    mpc = runtime()
    num_kpis, num_rows = records.shape[:2]
    if len(owners) != num_rows:
        raise ValueError("one owner per row is needed")
    chosen = list(range(num_kpis)) if kpis is None else [int(k) for k in kpis]
    if not chosen:
        return None
    selected = records if len(chosen) == num_kpis else records[chosen]
    pending = []
    for party in range(len(mpc.parties)):
        rows = [i for i, owner in enumerate(owners) if owner == party]
        if rows:
            pending.append((party, mpc.output(selected[:, rows], receivers=[party])))
    mine = None
    for party, opened in pending:
        value = await opened
        if party == mpc.pid:
            mine = np.asarray(value, dtype=object).astype(np.int64)
    return mine


async def own_shares(records: SecureArray) -> np.ndarray:
    """This compute party's shares of the records (outsourced mode), as Python ints.

    Compute party ``j`` sends ``own_shares(records)[:, i]`` to the firm of row ``i`` over its
    own authenticated channel; the firm recombines any ``t + 1`` of them with
    :func:`recombine_shares`.  A single party's shares are uniformly random.
    """
    share = await runtime().gather(records)
    return np.asarray(share.value, dtype=object)


def recombine_shares(field: Any, shares: Mapping[int, Any]) -> np.ndarray:
    """Recombine records from the shares of several compute parties (run by the firm).

    Args:
        field: The round's prime field, e.g. ``mpyc.finfields.GF(p)``.
        shares: ``{party index: that party's shares}`` (arrays of ints of equal shape), from at
            least ``t + 1`` parties.

    Returns:
        The records as an int64 array of the shares' shape.
    """
    return shamir_recombine(int(field.modulus), shares).astype(np.int64)


def decode_positions(records: np.ndarray, rules: PositionRules | None = None
                     ) -> list[list[PrivatePosition | None]]:
    """Turn one firm's opened records into positions (on the firm's machine).

    Args:
        records: Int array ``(K, rows, F)`` as returned by :func:`deliver_to_owners` or
            :func:`recombine_shares`.
        rules: The rules the records were computed with.

    Returns:
        Per KPI, per row: a :class:`PrivatePosition`, or None where the cell took no part.
    """
    rules = rules or PositionRules()
    kind = BAND_KINDS[rules.bands]
    result: list[list[PrivatePosition | None]] = []
    for kpi_records in np.asarray(records, dtype=np.int64):
        row_positions: list[PrivatePosition | None] = []
        for record in kpi_records:
            values = dict(zip(rules.fields, (int(v) for v in record), strict=True))
            count = values["count"]
            if count <= 0:
                row_positions.append(None)
                continue
            if rules.bands_only:
                row_positions.append(PrivatePosition(None, count, None, values["band"], kind,
                                                     rules.definition))
                continue
            percentile = Fraction(50 * values["percentile_numerator"], count)
            band = 1 + int(rules.bands * percentile // 100)
            row_positions.append(PrivatePosition(values["rank"], count, percentile, band, kind,
                                                 rules.definition))
        result.append(row_positions)
    return result


def rules_for(settings: PositionSettings) -> PositionRules:
    """The position rules a consortium's ``[positions]`` settings ask for."""
    return PositionRules(bands=settings.bands, bands_only=settings.bands_only)


def report_positions(outcome: RoundOutcome, settings: PositionSettings, own_rows: int
                     ) -> list[list[PrivatePosition | None]] | None:
    """Per KPI, per own row, this firm's position (None where not released or missing).

    The same in both modes: a peer firm received its records from the round, an outsourced
    contributor recombined them from the servers' shares.
    """
    if not settings.enabled:
        return None
    positions: list[list[PrivatePosition | None]] = [
        [None] * own_rows for _ in outcome.spec.kpis]
    received: dict[str, Any] | None = outcome.private
    if received is not None:
        decoded = decode_positions(received["records"], rules_for(settings))
        for k, row_positions in zip(received["kpis"], decoded, strict=True):
            positions[k] = list(row_positions)
    return positions
