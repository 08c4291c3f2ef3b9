"""One benchmarking round in peer mode: every firm is an MPyC party holding its own rows.

Phases (each under a timeout, see :func:`smpc_bench.engine.driver.phase`): connect, agree on the round
spec (hash comparison) and on MPyC's threshold and randomness (see :mod:`smpc_bench.spec.threshold`),
exchange row counts, share the one-hot digits and validity flags of every firm's rows, compute
every statistic of every KPI in one pass, release the declared outputs (counts and the
disclosure bits first: they fix the public quantile positions and which statistics are
released at all, see :mod:`smpc_bench.spec.disclosure`), shut down.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from smpc_bench.core.reveal import Released, decode
from smpc_bench.core.secure_fraction import SecureFraction
from smpc_bench.core.secure_table import SecureTable, encode_digits
from smpc_bench.core.summarize import summarize
from smpc_bench.engine import driver
from smpc_bench.spec import threshold
from smpc_bench.spec.disclosure import (
    dominance_verdicts,
    release_plan,
    secure_dominance_bits,
    secure_enough_contributors,
)
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.metrics import Metric
from smpc_bench.spec.round_spec import RoundSpec
from smpc_bench.spec.sizing import size_for

__all__ = ["ConfigMismatchError", "PrivateStep", "RoundOutcome", "Timeouts", "agreement_digest",
           "encode_rows", "statistics_round"]


#: A further step on the secure table, run after the release:
#: ``(table, rows_per_party, counts, enough_firms) -> awaitable``.
PrivateStep = Callable[[SecureTable, list[int], list[int], list[bool]], Awaitable[Any]]


class ConfigMismatchError(driver.PartyError):
    """The parties do not hold the same round spec."""


@dataclass(frozen=True)
class Timeouts:
    """Seconds allowed per phase; generous defaults for real networks."""

    connect: float = 120.0
    exchange: float = 60.0
    compute: float = 1800.0


@dataclass
class RoundOutcome:
    """What one party learns from a round.

    Attributes:
        spec: The agreed spec.
        party: This party's index; ``parties`` is the number of parties.
        rows_per_party: Number of rows each party contributed (public).
        counts: Valid contributions per KPI (released with every statistic).
        rejected: Per KPI, cells rejected inside the MPC as outside the agreed range.
        released: ``{metric name: [value per KPI]}``; ``None`` where undefined or suppressed.
        suppressed: ``{(kpi name, metric name): reason}`` for withheld statistics.
        enough_firms: Per KPI, the released pass/fail bit of the contributing-firms rule
            (see :mod:`smpc_bench.spec.disclosure`).
        private: What the ``private`` step of :func:`statistics_round` returned to this party
            (e.g. its own ranks), or None.
        timings: ``(phase, seconds)`` in order.
        bytes_sent: Bytes this party sent to the others during the round.
        no_dominant_firm: Per KPI, the released verdict of the dominance rule (True: no firm
            holds more than ``spec.max_firm_share`` of the total); None where the rule was not
            evaluated (off, no sum or mean asked for, or the contributors rule failed).
    """

    spec: RoundSpec
    party: int
    parties: int
    rows_per_party: list[int]
    counts: list[int]
    rejected: list[int]
    released: dict[str, list[Released]]
    suppressed: dict[tuple[str, str], str] = field(default_factory=dict)
    timings: list[tuple[str, float]] = field(default_factory=list)
    bytes_sent: int = 0
    enough_firms: list[bool] = field(default_factory=list)
    private: Any = None
    no_dominant_firm: list[bool | None] = field(default_factory=list)


def encode_rows(kpis: Sequence[KpiSpec], rows: Sequence[Sequence[object]]) -> tuple[np.ndarray,
                                                                                      np.ndarray]:
    """Encode a firm's own rows locally; ``None`` or NaN marks a missing cell.

    Returns:
        ``(offset_values, valid)`` int64 arrays of shape ``(K, rows)``.

    Raises:
        smpc_bench.spec.kpi.InputError: For unusable values, before any MPC starts.
    """
    values = np.zeros((len(kpis), len(rows)), dtype=np.int64)
    valid = np.zeros((len(kpis), len(rows)), dtype=np.int64)
    for r, row in enumerate(rows):
        if len(row) != len(kpis):
            raise ValueError(f"row {r + 1} has {len(row)} cells, expected {len(kpis)}")
        for k, (spec, cell) in enumerate(zip(kpis, row, strict=True)):
            if cell is None or (isinstance(cell, float) and math.isnan(cell)):
                continue
            values[k, r] = spec.encode_one(cell, where=f"row {r + 1}")
            valid[k, r] = 1
    return values, valid


def agreement_digest(spec: RoundSpec, terms: str = "") -> str:
    """What the parties compare: the spec's hash, extended by the terms of any further step."""
    if not terms:
        return spec.digest()
    return hashlib.sha256(f"{spec.digest()}|{terms}".encode()).hexdigest()


async def _agree(mpc: Any, spec: RoundSpec, timeouts: Timeouts, log: driver.RunLog,
                 terms: str = "", *, prss: bool = False) -> None:
    """Compare the spec and the runtime settings with every party, then hand out PRSS keys.

    The runtime settings (number of parties, threshold, randomness mode) are compared apart
    from the spec, so that the message can say which of the two differs.
    """
    ours = (agreement_digest(spec, terms), threshold.agreement_terms(mpc, prss))

    async def agree() -> None:
        received = await mpc.transfer(ours)
        differing = [i for i, theirs in enumerate(received) if theirs != ours]
        if not differing:
            if prss:  # only now: keys sized by a threshold the parties have not agreed on hang
                await threshold.start_prss(mpc)
            return
        who = f"part{'ies' if len(differing) > 1 else 'y'} {', '.join(map(str, differing))}"
        if any(not isinstance(received[i], tuple) or received[i][:1] != ours[:1]
               for i in differing):
            raise ConfigMismatchError(
                f"party {mpc.pid}: the round spec of {who} differs from ours (hash "
                f"{ours[0][:12]}); every party must use the same configuration file")
        raise ConfigMismatchError(
            f"party {mpc.pid}: {who} run{'' if len(differing) > 1 else 's'} MPyC with other "
            f"settings ({received[differing[0]][1]}) than ours ({ours[1]}); every party must use "
            "the same threshold (the configuration's [security] threshold, no differing -T) and "
            "either all or none must pass --no-prss")

    await driver.phase("agreeing on the round spec", agree(), timeouts.exchange, log=log)


def _share(mpc: Any, sectype: Any, own: np.ndarray, rows_per_party: list[int]) -> Any:
    """Input every party's array (rows on axis 1) and join them along the rows."""
    parts = []
    for sender, rows in enumerate(rows_per_party):
        if rows == 0:
            continue
        shape = (own.shape[0], rows, *own.shape[2:])
        mine = own if sender == mpc.pid else np.zeros(shape, dtype=np.int64)
        parts.append(mpc.input(sectype.array(mine), senders=sender))
    return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)


async def _open_all(mpc: Any, arrays: list[Any]) -> list[Any]:
    return list(await asyncio.gather(*(mpc.output(a) for a in arrays)))


def _disclosure_outputs(table: SecureTable, rows_per_party: list[int], spec: RoundSpec
                        ) -> list[Any]:
    """What is opened before any statistic: counts, rejected cells, the disclosure bits.

    The dominance bits are last and present only if the rule checks some KPI (a public fact
    of the spec), so every party opens the same shapes.
    """
    enough = secure_enough_contributors(table.valid, rows_per_party, spec.min_contributions)
    outputs = [np.sum(table.valid, axis=1), table.rejected, enough]
    dominance = secure_dominance_bits(table, rows_per_party, spec, enough)
    if dominance is not None:
        outputs.append(dominance)
    return outputs


async def _release(
    mpc: Any,
    results: dict[Metric, SecureFraction],
    rows: dict[Metric, list[int]],
    kpis: Sequence[KpiSpec],
    counts: list[int],
    timeouts: Timeouts,
    log: driver.RunLog,
) -> dict[str, list[Released]]:
    """Open the declared outputs together (one round) and decode them exactly."""
    secure_parts: list[Any] = []
    for metric, fraction in results.items():
        if rows[metric]:
            secure_parts.append(fraction.numerator[rows[metric]])
            if not fraction.public_denominator:
                secure_parts.append(fraction.denominator[rows[metric]])
    opened = await driver.phase("computing and releasing", _open_all(mpc, secure_parts),
                                timeouts.compute, log=log)
    released: dict[str, list[Released]] = {}
    position = 0
    for metric, fraction in results.items():
        values: list[Released] = [None] * len(kpis)
        chosen = rows[metric]
        if chosen:
            numerator = opened[position]
            position += 1
            if fraction.public_denominator:
                denominator = np.broadcast_to(
                    np.asarray(fraction.denominator, dtype=object), (len(kpis),))[chosen]
            else:
                denominator = opened[position]
                position += 1
            decoded = decode(numerator, denominator, fraction, [kpis[k] for k in chosen],
                             [counts[k] for k in chosen], chosen)
            for k, row in zip(chosen, decoded, strict=True):
                values[k] = row[0]
        released[metric.name] = values
    return released


async def statistics_round(
    spec: RoundSpec,
    own_rows: Sequence[Sequence[object]],
    *,
    timeouts: Timeouts | None = None,
    log: driver.RunLog | None = None,
    private: PrivateStep | None = None,
    private_terms: str = "",
) -> RoundOutcome:
    """Run one peer-mode round as this party and return what it releases.

    Args:
        spec: The round spec every party agreed on.
        own_rows: This firm's rows, one cell per KPI in ``spec.kpis`` order (may be empty).
        timeouts: Per-phase timeouts.
        log: Where phase timings go (defaults to the driver's run log).
        private: Optional further step on the same secure table, run by every party after the
            release (e.g. private ranks delivered with ``mpc.output(..., receivers=i)``):
            called as ``private(table, rows_per_party, counts, enough_firms)``; what it
            returns to this party is kept in :attr:`RoundOutcome.private`.
        private_terms: Canonical text of the private step's settings; the parties compare it
            together with the spec hash (they must all run the same step).

    Returns:
        The released statistics (identical at every party) and this party's run facts.
    """
    timeouts = timeouts or Timeouts()
    log = log or driver.RunLog()
    offsets, claimed_valid = encode_rows(spec.kpis, own_rows)  # errors before any MPC
    mpc = driver.runtime()
    threshold.check_runtime_threshold(mpc, spec.threshold)  # before any connection
    prss = threshold.hold_back_prss_keys(mpc)
    started = time.perf_counter()
    await driver.phase("connecting", mpc.start(), timeouts.connect, log=log)
    await _agree(mpc, spec, timeouts, log, private_terms if private is not None else "",
                 prss=prss)
    rows_per_party = await driver.phase("exchanging row counts", mpc.transfer(len(own_rows)),
                                        timeouts.exchange, log=log)
    total_rows = sum(rows_per_party)
    if total_rows == 0:
        raise ValueError("no party contributed any rows")
    moments = any(m.kind in ("variance", "stdev") for m in spec.all_metrics)
    sizing = size_for(spec.kpis, total_rows, moments=moments,
                      dominance=[spec.kpis[k] for k in spec.dominance_kpis],
                      max_firm_share=spec.max_firm_share)
    sectype = mpc.SecInt(sizing.field_bits)
    digits = encode_digits(offsets, sizing.value_bits, spec.radix_bits)
    sec_digits = _share(mpc, sectype, digits, rows_per_party)
    sec_valid = _share(mpc, sectype, claimed_valid, rows_per_party)
    table = SecureTable.from_digits(spec.kpis, sizing, sec_digits, sec_valid,
                                    radix_bits=spec.radix_bits)
    counts_and_rejected = await driver.phase(
        "sharing inputs", _open_all(mpc, _disclosure_outputs(table, rows_per_party, spec)),
        timeouts.compute, log=log)
    counts = [int(c) for c in counts_and_rejected[0]]
    rejected = [int(c) for c in counts_and_rejected[1]]
    enough_firms = [bool(int(c)) for c in counts_and_rejected[2]]
    no_dominant_firm = dominance_verdicts(
        spec, counts_and_rejected[3] if spec.dominance_kpis else None, enough_firms)
    results = summarize(table, spec.all_metrics, counts=counts)
    rows, suppressed = release_plan(spec, counts, enough_firms, no_dominant_firm)
    released = await _release(mpc, results, rows, spec.kpis, counts, timeouts, log)
    own_private = None
    if private is not None:
        own_private = await driver.phase("computing private positions",
                                         private(table, list(rows_per_party), counts,
                                                 enough_firms),
                                         timeouts.compute, log=log)
    bytes_sent = sum(peer.protocol.nbytes_sent for peer in mpc.parties
                     if peer.pid != mpc.pid and peer.protocol is not None)
    await driver.phase("shutting down", mpc.shutdown(), timeouts.exchange, log=log)
    log.record("total", time.perf_counter() - started)
    return RoundOutcome(spec, mpc.pid, len(mpc.parties), list(rows_per_party), counts, rejected,
                        released, suppressed, list(log.timings), bytes_sent, enough_firms,
                        own_private, no_dominant_firm)
