"""One benchmarking round in peer mode: every firm is an MPyC party holding its own rows.

Phases (each under a timeout, see :func:`smpc_bench.engine.driver.phase`): connect, agree on the
round spec (hash comparison) and on MPyC's threshold and randomness (see
:mod:`smpc_bench.spec.threshold`), exchange row counts, share the one-hot digits and validity
flags of every firm's rows, compute every statistic of every KPI in one pass, release the
declared outputs (counts and the disclosure bits first: they fix the public quantile positions
and which statistics are released at all, see :mod:`smpc_bench.spec.disclosure`), shut down.
Everything from the built secure table to the released statistics and the private step is
:func:`smpc_bench.core.release.release_round`, shared with the outsourced compute servers.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from smpc_bench.core.release import PrivateStep, Timeouts, release_round
from smpc_bench.core.secure_table import SecureTable
from smpc_bench.engine import driver, liveness
from smpc_bench.engine import prss as prss_keys
from smpc_bench.spec.encoding import encode_digits, encode_rows
from smpc_bench.spec.outcome import RoundOutcome
from smpc_bench.spec.round_spec import RoundSpec
from smpc_bench.spec.sizing import size_for

__all__ = ["ConfigMismatchError", "agreement_digest", "statistics_round"]


class ConfigMismatchError(driver.PeerRefusedError):
    """The parties do not hold the same round spec or settings, or are not one round."""


def agreement_digest(spec: RoundSpec, terms: str = "") -> str:
    """What the parties compare: the spec's hash, extended by the terms of any further step."""
    if not terms:
        return spec.digest()
    return hashlib.sha256(f"{spec.digest()}|{terms}".encode()).hexdigest()


async def _agree(mpc: Any, spec: RoundSpec, timeouts: Timeouts, log: driver.RunLog,
                 terms: str = "", *, prss: bool = False) -> None:
    """Compare the spec and the runtime settings with every party, then hand out PRSS keys.

    The runtime settings (number of parties, threshold, randomness mode) are compared apart
    from the spec, so that the message can say which of the two differs.  The round id (the
    spec and every party's fresh nonce, from the connection hellos) tells whether all parties
    are connected to the same processes: two processes of one party (a rerun while an earlier
    run is alive) cannot both end up in one round.
    """
    ours = (agreement_digest(spec, terms), prss_keys.agreement_terms(mpc, prss),
            liveness.round_id() or "")

    async def agree() -> None:
        received = await mpc.transfer(ours)
        differing = [i for i, theirs in enumerate(received) if theirs != ours]
        if not differing:
            if prss:  # only now: keys sized by a threshold the parties have not agreed on hang
                await prss_keys.start_prss(mpc)
            return
        who = f"part{'ies' if len(differing) > 1 else 'y'} {', '.join(map(str, differing))}"
        if any(not isinstance(received[i], tuple) or received[i][:1] != ours[:1]
               for i in differing):
            raise ConfigMismatchError(
                f"party {mpc.pid}: the round spec of {who} differs from ours (hash "
                f"{ours[0][:12]}); every party must use the same configuration file")
        if all(isinstance(received[i], tuple) and received[i][:2] == ours[:2]
               for i in differing):
            raise ConfigMismatchError(
                f"party {mpc.pid}: {who} see{'' if len(differing) > 1 else 's'} other "
                "processes in this round than we do (two processes of one party running at "
                "once, e.g. an earlier run still alive?); stop every process of the round and "
                "start it again", tuple(differing), "agreeing on the round spec")
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
    prss_keys.check_runtime_threshold(mpc, spec.threshold)  # before any connection
    prss = prss_keys.hold_back_prss_keys(mpc)
    if len(mpc.parties) > 1:  # a peer of another round is refused on connect, by this tag
        liveness.configure(round_tag=agreement_digest(
            spec, private_terms if private is not None else ""),
            progress_timeout=float(spec.progress_timeout))
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
    # One input per sender: the validity flag rides along as one more entry of each cell.
    num_kpis, rows = claimed_valid.shape
    width = int(np.prod(digits.shape[2:]))
    cells = np.concatenate((digits.reshape(num_kpis, rows, width),
                            claimed_valid.reshape(num_kpis, rows, 1)), axis=2)
    shared = _share(mpc, sectype, cells, rows_per_party)
    sec_digits = shared[:, :, :-1].reshape(num_kpis, total_rows, *digits.shape[2:])
    sec_valid = shared[:, :, -1]
    table = SecureTable.from_digits(spec.kpis, sizing, sec_digits, sec_valid,
                                    radix_bits=spec.radix_bits)
    release = await release_round(spec, table, rows_per_party, timeouts=timeouts, log=log,
                                  private=private)
    bytes_sent = driver.bytes_sent()
    await driver.phase("shutting down", mpc.shutdown(), timeouts.exchange, log=log)
    log.record("total", time.perf_counter() - started)
    return RoundOutcome(spec, mpc.pid, len(mpc.parties), list(rows_per_party), release.counts,
                        release.rejected, release.released, release.suppressed,
                        list(log.timings), bytes_sent, release.enough_firms, release.private,
                        release.no_dominant_firm)
