"""Compute an outsourced round: the m servers run the MPC over the shares they stored.

Run by every compute server after the deadline, as one MPyC party each (the servers'
``address`` entries of ``[[outsourced.servers]]``).  Steps, each under a timeout:

1. **Read the store** (nothing is sent): this server's latest submission per contributor, each
   envelope opened with the server's HPKE private key and checked
   (:func:`smpc_bench.outsourced.loading.open_submission`).
2. **Connect and agree on the round** (round id, threshold, randomness, prime, share layout):
   servers of another round, or with other settings, are refused.
3. **Agree on the submissions that count** (:mod:`smpc_bench.outsourced.agreement`): exactly
   those every server holds identically; every other contributor's reason is kept.
4. **Load the shares as secure values**: each server's shares *are* its shares of the table
   (``sectype.array(field.array(shares, check=False))``); no input round, nobody reconstructs
   anything.  Rows are in the agreed order (by submission id), so the servers' shares line up.
5. **The same round as peer mode** (:func:`smpc_bench.core.release.release_round`): the in-MPC
   input checks (a malformed encoding is rejected and counted), the disclosure rules with every
   contributor as one firm, every statistic, then the private positions by the oblivious
   shuffle-sort (``method="sort"``) for the KPIs that pass the rules.
6. **Publish**: the public outcome (peer mode's ``--json-out`` document plus the outsourced
   facts) and, per contributor, this server's shares of its position records sealed to the
   contributor's result key (HPKE, purpose ``result``), together in one store transaction, and
   ``outcome.json`` in the output folder.

**Restartable.**  Nothing is written before step 6, and step 6 replaces all results at once.
A server that dies at any point restarts from its store; the recovery is to rerun ``compute``
on *every* server: a new run starts the MPC afresh (a new run id; the results of all servers
of one run belong together, and ``fetch-result`` combines shares of one run only).  The other
servers notice a lost server (its connection closes) and stop with a clear message and exit
code :data:`smpc_bench.spec.exit_codes.PARTY_LOST`.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from smpc_bench.core.release import PrivateStep, Timeouts, release_round
from smpc_bench.core.secure_table import SecureTable
from smpc_bench.engine import driver, liveness
from smpc_bench.engine import prss as prss_keys
from smpc_bench.inputs.consortium import Consortium, PositionSettings
from smpc_bench.inputs.outsourced_config import (
    OutsourcedSettings,
    require_outsourced,
    round_field,
    round_id,
    round_threshold,
)
from smpc_bench.outsourced.agreement import Entry, Verdict, agree_on_entries
from smpc_bench.outsourced.envelope import RESULT, seal_for
from smpc_bench.outsourced.keys import (
    KeyFileError,
    load_private_key,
    public_key_fingerprint,
    public_key_from_pem,
)
from smpc_bench.outsourced.loading import ShareLayout, UnreadableSubmission, open_submission
from smpc_bench.spec import exit_codes
from smpc_bench.spec.encoding import digit_layout
from smpc_bench.spec.outcome import RoundOutcome, outcome_to_dict
from smpc_bench.spec.sizing import Sizing

__all__ = [
    "RESULT_VERSION",
    "ComputeError",
    "ComputeJob",
    "ComputeSummary",
    "RoundMismatchError",
    "compute_round",
    "result_plaintext",
]

#: Version of the sealed result plaintext.
RESULT_VERSION = 1


class ComputeError(RuntimeError):
    """Compute cannot run or finish; the message says what to do.

    Attributes:
        exit_code: The process exit code (:mod:`smpc_bench.spec.exit_codes`).
    """

    def __init__(self, message: str, exit_code: int = exit_codes.ERROR) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class RoundMismatchError(driver.PeerRefusedError):
    """Another compute server runs another round or other settings."""


@dataclass(frozen=True)
class ComputeJob:
    """What one server's ``compute`` needs.

    Attributes:
        consortium: The round's configuration (with its ``[outsourced]`` section).
        server: This server's index.
        store: This server's SQLite store of the round.
        hpke_key: This server's HPKE private key.
        out: Folder for ``outcome.json`` (None: store only).
        timeouts: Per-phase timeouts.
        say: Where progress lines go.
        costs: Record the deterministic costs (rounds, bytes, openings) into the outcome.
    """

    consortium: Consortium
    server: int
    store: Path
    hpke_key: Path
    out: Path | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    say: Callable[[str], None] = lambda text: None
    costs: bool = False


@dataclass
class ComputeSummary:
    """What a finished compute run did, for the command's output and the benchmark.

    Attributes:
        run: The run id (the same at every server of the run).
        counted: Contributors whose submission counted.
        not_counted: Contributors this server holds a submission of that did not count.
        outcome: The public outcome document (as written to ``outcome.json``).
        timings: ``(phase, seconds)`` in order, local phases included.
        outcome_file: Where ``outcome.json`` was written, if anywhere.
    """

    run: str
    counted: int
    not_counted: int
    outcome: dict[str, Any]
    timings: list[tuple[str, float]]
    outcome_file: Path | None = None


@dataclass
class _Held:
    """This server's usable submission of one contributor."""

    entry: Entry
    result_key: Any
    digits: np.ndarray
    valid: np.ndarray


@dataclass
class _Prepared:
    """Everything read from the store before any MPC."""

    round_id: str
    sizing: Sizing
    prime: int
    threshold: int
    layout: ShareLayout
    held: dict[str, _Held]
    unreadable: dict[str, tuple[str, str]]  # token -> (submission id, reason)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def _layout(consortium: Consortium, settings: OutsourcedSettings, sizing: Sizing,
            prime: int) -> ShareLayout:
    spec = consortium.spec
    levels = len(digit_layout(sizing.value_bits, spec.radix_bits))
    return ShareLayout(len(spec.kpis), levels, spec.radix_bits, settings.max_rows, prime)


def _open_store(job: ComputeJob, expected_round: str) -> Any:
    """This server's store, checked to belong to this round and this server."""
    from smpc_bench.outsourced.store import StoreError, SubmissionStore

    if not job.store.is_file():
        raise ComputeError(f"store {job.store} not found: give the database that `smpc-bench "
                           "serve` filled for this round (--db)", exit_codes.BAD_INPUT)
    try:
        return SubmissionStore(job.store, round_id=expected_round, server_index=job.server)
    except StoreError as error:
        raise ComputeError(f"{error}; give this server's database of this round (--db) and "
                           "check --server", exit_codes.BAD_INPUT) from None


#: Compute's own table beside the intake's: why a contributor's submission did not count.
_NOT_COUNTED_SCHEMA = ("CREATE TABLE IF NOT EXISTS not_counted(token_hash TEXT PRIMARY KEY, "
                       "submission_id TEXT, reason TEXT)")


def _set_state(store: Any, state: dict[str, str]) -> None:
    with store.transaction() as db:
        db.executemany("INSERT OR REPLACE INTO compute_state VALUES (?, ?)", state.items())


def _write_results(store: Any, outcome_json: str,
                   rows: Sequence[tuple[str, str, bytes | None, str | None]],
                   state: dict[str, str]) -> None:
    """Replace the outcome, every result and every reason, and set the state: one transaction.

    So a server never serves an outcome without its results, nor results of two runs.
    """
    with store.transaction() as db:
        db.execute(_NOT_COUNTED_SCHEMA)
        db.execute("DELETE FROM results")
        db.execute("DELETE FROM not_counted")
        db.executemany("INSERT INTO results VALUES (?, ?, ?)",
                       [(t, s, sealed) for t, s, sealed, _ in rows if sealed is not None])
        db.executemany("INSERT INTO not_counted VALUES (?, ?, ?)",
                       [(t, s, reason) for t, s, sealed, reason in rows if sealed is None])
        db.execute("INSERT OR REPLACE INTO outcome VALUES (1, ?)", (outcome_json,))
        db.executemany("INSERT OR REPLACE INTO compute_state VALUES (?, ?)", state.items())


def _read_submissions(job: ComputeJob, store: Any, rid: str, layout: ShareLayout
                      ) -> tuple[dict[str, _Held], dict[str, tuple[str, str]]]:
    """Open every latest submission; the unusable ones with the reason (for the contributor)."""
    try:
        private_key = load_private_key(job.hpke_key)
    except KeyFileError as error:
        raise ComputeError(f"{error}; give this server's HPKE private key (made by "
                           "`smpc-bench keygen --server I`)", exit_codes.BAD_INPUT) from None
    held: dict[str, _Held] = {}
    unreadable: dict[str, tuple[str, str]] = {}
    name = require_outsourced(job.consortium).servers[job.server].name
    for stored in store.latest():
        try:
            key = public_key_from_pem(stored.result_public_key)
        except KeyFileError:
            unreadable[stored.token_hash] = (stored.submission_id, f"{name} could not read "
                                             "your result key, so nobody could seal your result")
            continue
        try:
            digits, valid = open_submission(
                private_key, bytes(stored.sealed), round_id=rid, server_index=job.server,
                submission_id=stored.submission_id, rows=int(stored.rows), layout=layout)
        except UnreadableSubmission as error:
            unreadable[stored.token_hash] = (stored.submission_id, f"{name}: {error}")
            continue
        entry = Entry(stored.token_hash, stored.submission_id, int(stored.rows),
                      public_key_fingerprint(key))
        held[stored.token_hash] = _Held(entry, key, digits, valid)
    return held, unreadable


def _prepare(job: ComputeJob, log: driver.RunLog) -> tuple[_Prepared, Any]:
    started = time.perf_counter()
    consortium = job.consortium
    settings = require_outsourced(consortium)
    settings.server(job.server)  # a clear error for an index out of range
    rid = round_id(consortium)
    sizing, prime = round_field(consortium)
    layout = _layout(consortium, settings, sizing, prime)
    store = _open_store(job, rid)
    held, unreadable = _read_submissions(job, store, rid, layout)
    log.record("reading the store", time.perf_counter() - started)
    return _Prepared(rid, sizing, prime, round_threshold(consortium), layout, held,
                     unreadable), store


def _agreement_terms(job: ComputeJob, prepared: _Prepared, mpc: Any, prss: bool) -> str:
    """What every server must hold identically before any share moves."""
    terms = {
        "round_id": prepared.round_id,
        "runtime": prss_keys.agreement_terms(mpc, prss),
        "prime": str(prepared.prime),
        "layout": [prepared.layout.kpis, prepared.layout.levels, prepared.layout.radix_bits,
                   prepared.layout.max_rows],
        "positions": job.consortium.positions.terms(),
    }
    return json.dumps(terms, sort_keys=True)


async def _agree_on_round(mpc: Any, job: ComputeJob, prepared: _Prepared, prss: bool,
                          names: Sequence[str], log: driver.RunLog) -> str:
    """Compare the round with every server, start PRSS, and draw the run id together."""
    # The round id of the connections (the tag and every server's fresh nonce) also tells that
    # all servers are connected to the same processes (not to an old run still alive).
    ours = (_agreement_terms(job, prepared, mpc, prss), liveness.round_id() or "")

    async def agree() -> str:
        received = await mpc.transfer(ours)
        differing = [j for j, theirs in enumerate(received) if theirs != ours]
        if differing:
            who = ", ".join(f"{j} ({names[j]})" for j in differing)
            raise RoundMismatchError(
                f"server {mpc.pid}: server(s) {who} run another round or other settings "
                f"(round id {prepared.round_id[:12]} here); every server must use the same "
                "configuration file, tokens file and threshold")
        if prss:
            await prss_keys.start_prss(mpc)
        nonces = await mpc.transfer(os.urandom(16))
        return hashlib.sha256(b"".join(bytes(n) for n in nonces)).hexdigest()[:32]

    run: str = await driver.phase("agreeing on the round", agree(), job.timeouts.exchange,
                                  log=log)
    return run


def _joined_shares(prepared: _Prepared, counted: Sequence[Entry]) -> tuple[Any, Any]:
    """This server's shares of the table's digits and flags, rows in the agreed order."""
    digits = np.concatenate([prepared.held[e.token_hash].digits for e in counted], axis=1)
    valid = np.concatenate([prepared.held[e.token_hash].valid for e in counted], axis=1)
    return digits.astype(object), valid.astype(object)


async def _table(job: ComputeJob, prepared: _Prepared, counted: Sequence[Entry], mpc: Any
                 ) -> SecureTable:
    """The secure table: this server's shares *are* its shares of it (no communication)."""
    spec = job.consortium.spec
    sectype = mpc.SecInt(prepared.sizing.field_bits, p=prepared.prime)
    # The conversion of millions of shares runs beside the event loop, which meanwhile keeps
    # the connections to the other servers alive.
    digits, valid = await asyncio.get_running_loop().run_in_executor(
        None, _joined_shares, prepared, counted)
    field_type = sectype.field
    return SecureTable.from_digits(
        spec.kpis, prepared.sizing, sectype.array(field_type.array(digits, check=False)),
        sectype.array(field_type.array(valid, check=False)), radix_bits=spec.radix_bits)


def _well_formed_digits(table: SecureTable) -> SecureTable:
    """The table with the digits of publicly malformed cells replaced by a public one-hot 0.

    The shuffle-sort places every cell, valid or not, by its one-hot digits; a contributor's
    malformed encoding (already rejected and counted) would make its destinations collide
    and abort the round.  Which cells are malformed is public after the input check, so the
    replacement is local arithmetic with public coefficients.
    """
    malformed = table.malformed
    if malformed is None or not malformed.any():
        return table
    num_kpis, num_rows = malformed.shape
    bad = malformed.astype(np.int64).reshape(num_kpis, num_rows, 1)
    indicators = []
    for onehot in table.indicators:
        zero_digit = np.zeros((1, 1, onehot.shape[2]), dtype=np.int64)
        zero_digit[..., 0] = 1
        indicators.append(onehot * (1 - bad) + bad * zero_digit)
    return replace(table, indicators=indicators, _values=None)


def _subtable(table: SecureTable, kpis: Sequence[int]) -> SecureTable:
    """The table restricted to some KPIs (public selection, local)."""
    if len(kpis) == table.num_kpis:
        return table
    chosen = list(kpis)
    malformed = table.malformed
    return SecureTable(tuple(table.specs[k] for k in chosen), table.sizing,
                       [onehot[chosen] for onehot in table.indicators], table.valid[chosen],
                       table.rejected[chosen], table.radix_bits,
                       screen=[] if malformed is None else [malformed[chosen]])


def _positions_step(settings: PositionSettings) -> PrivateStep:
    """The private step: every row's position records as this server's shares."""

    async def step(table: SecureTable, rows_per_party: list[int], counts: list[int],
                   enough_firms: list[bool]) -> Any:
        from smpc_bench.positions.delivery import own_shares
        from smpc_bench.positions.ranks import PositionRules, position_records
        from smpc_bench.positions.shuffle import agree_shuffle_keys

        released = [k for k, ok in enumerate(enough_firms) if ok]
        if not released:
            return None
        rules = PositionRules(bands=settings.bands, bands_only=settings.bands_only)
        keys = await agree_shuffle_keys()
        chosen = _subtable(_well_formed_digits(table), released)
        records = position_records(chosen, rules=rules, counts=[counts[k] for k in released],
                                   method="sort", keys=keys)
        shares = await own_shares(records)  # (K', n, F) ints: this server's shares
        return {"kpis": released, "fields": list(rules.fields), "shares": shares}

    return step


def result_plaintext(*, rid: str, run: str, server: int, prime: int, kpis: Sequence[int],
                     fields: Sequence[str], shares: np.ndarray | None) -> bytes:
    """The plaintext a server seals to one contributor: its shares of the contributor's records.

    Args:
        rid: The round id.
        run: The compute run id.
        server: The sending server's index.
        prime: The round's prime.
        kpis: The KPIs whose positions are released (indices).
        fields: The record fields (:attr:`PositionRules.fields`).
        shares: This server's shares ``(len(kpis), rows, len(fields))``, or None without
            positions.
    """
    document = {
        "version": RESULT_VERSION, "round_id": rid, "run": run, "server_index": server,
        "prime": str(prime), "kpis": [int(k) for k in kpis], "fields": list(fields),
        "shape": [] if shares is None else list(shares.shape),
        "shares": [] if shares is None else [int(v) for v in shares.reshape(-1)],
    }
    return json.dumps(document, separators=(",", ":")).encode()


def _result_rows(prepared: _Prepared, verdict: Verdict, private: Any, run: str, server: int
                 ) -> list[tuple[str, str, bytes | None, str | None]]:
    """One store row per contributor this server holds: a sealed result or a reason."""
    rows: list[tuple[str, str, bytes | None, str | None]] = []
    start = 0
    kpis = [] if private is None else private["kpis"]
    fields = [] if private is None else private["fields"]
    for entry in verdict.counted:
        shares = None if private is None else np.asarray(
            private["shares"][:, start:start + entry.rows, :], dtype=object)
        start += entry.rows
        plaintext = result_plaintext(rid=prepared.round_id, run=run, server=server,
                                     prime=prepared.prime, kpis=kpis, fields=fields,
                                     shares=shares)
        sealed = seal_for(prepared.held[entry.token_hash].result_key, plaintext,
                          purpose=RESULT, round_id=prepared.round_id, server_index=server,
                          submission_id=entry.submission_id)
        rows.append((entry.token_hash, entry.submission_id, sealed, None))
    counted = {entry.token_hash for entry in verdict.counted}
    for token, held in prepared.held.items():
        if token not in counted:
            reason = verdict.reasons.get(token, "your submission did not reach every server")
            rows.append((token, held.entry.submission_id, None, reason))
    for token, (submission_id, local) in prepared.unreadable.items():
        agreed = verdict.reasons.get(token)
        rows.append((token, submission_id, None, local if agreed is None
                     else f"{local}; {agreed}"))
    return rows


def _outcome_document(job: ComputeJob, prepared: _Prepared, outcome: RoundOutcome, run: str,
                      counted: int, not_counted: int) -> dict[str, Any]:
    document = outcome_to_dict(outcome)
    histogram: dict[str, int] = {}
    for rows in outcome.rows_per_party:
        histogram[str(rows)] = histogram.get(str(rows), 0) + 1
    document.update({
        # Not one entry per contributor: every contributor fetches this document.
        "rows_per_party": [],
        "rows_per_contributor": dict(sorted(histogram.items(), key=lambda kv: int(kv[0]))),
        "rows": sum(outcome.rows_per_party),
        "mode": "outsourced",
        "round_id": prepared.round_id,
        "run": run,
        "servers": len(require_outsourced(job.consortium).servers),
        "threshold": prepared.threshold,
        "prime": str(prepared.prime),
        "contributors": counted,
        "not_counted": not_counted,
    })
    return document


def _check_mpc(mpc: Any, job: ComputeJob, prepared: _Prepared) -> list[str]:
    names = [server.name for server in require_outsourced(job.consortium).servers]
    if len(mpc.parties) != len(names):
        raise ComputeError(f"MPyC runs {len(mpc.parties)} parties but the round has "
                           f"{len(names)} compute servers", exit_codes.USAGE)
    if mpc.pid != job.server:
        raise ComputeError(f"MPyC runs as party {mpc.pid} but this is server {job.server}",
                           exit_codes.USAGE)
    prss_keys.check_runtime_threshold(mpc, prepared.threshold)
    return names


async def _compute(job: ComputeJob, prepared: _Prepared, store: Any, log: driver.RunLog,
                   cost: Any = None) -> ComputeSummary:
    mpc = driver.runtime()
    names = _check_mpc(mpc, job, prepared)
    prss = prss_keys.hold_back_prss_keys(mpc)
    # A server of another round is refused when it connects (by this tag); a lost or silent
    # server ends the current phase at once (the driver watches the connections).
    liveness.configure(round_tag=hashlib.sha256(
        _agreement_terms(job, prepared, mpc, prss).encode()).hexdigest(),
        progress_timeout=float(job.consortium.spec.progress_timeout))
    timeouts = job.timeouts
    job.say(f"connecting to the other servers (waiting up to {timeouts.connect:g} s)")
    await driver.phase("connecting", mpc.start(), timeouts.connect, log=log)

    async def connected() -> ComputeSummary:
        run = await _agree_on_round(mpc, job, prepared, prss, names, log)
        _set_state(store, {"status": "running", "run": run, "started": _now()})
        verdict = await driver.phase(
            "agreeing on the submissions",
            agree_on_entries([h.entry for h in prepared.held.values()], mpc.transfer, names),
            timeouts.exchange, log=log)
        counted = verdict.counted
        not_counted = len(prepared.held) + len(prepared.unreadable) - len(counted)
        job.say(f"{len(counted)} contributions count, {not_counted} held here do not")
        if not counted:
            raise ComputeError("no contribution reached every server: nothing to compute")
        rows_per_party = [entry.rows for entry in counted]
        started = time.perf_counter()
        table = await _table(job, prepared, counted, mpc)
        log.record("loading shares", time.perf_counter() - started)
        settings = job.consortium.positions
        release = await release_round(
            job.consortium.spec, table, rows_per_party, timeouts=timeouts, log=log,
            private=_positions_step(settings) if settings.enabled else None,
            checks_phase="checking inputs", grouped=True)
        started = time.perf_counter()
        rows = await asyncio.get_running_loop().run_in_executor(  # beside the event loop
            None, _result_rows, prepared, verdict, release.private, run, job.server)
        log.record("sealing results", time.perf_counter() - started)
        outcome = RoundOutcome(job.consortium.spec, mpc.pid, len(mpc.parties), rows_per_party,
                               release.counts, release.rejected, release.released,
                               release.suppressed, list(log.timings), 0, release.enough_firms,
                               None, release.no_dominant_firm)
        return await _publish(job, prepared, store, log, outcome, run, len(counted),
                              not_counted, rows, cost)

    summary = await connected()
    await driver.phase("shutting down", mpc.shutdown(), timeouts.exchange, log=log)
    summary.timings = list(log.timings)
    return summary


async def _publish(job: ComputeJob, prepared: _Prepared, store: Any, log: driver.RunLog,
                   outcome: RoundOutcome, run: str, counted: int, not_counted: int,
                   rows: list[tuple[str, str, bytes | None, str | None]], cost: Any
                   ) -> ComputeSummary:
    mpc = driver.runtime()
    outcome.bytes_sent = sum(peer.protocol.nbytes_sent for peer in mpc.parties
                             if peer.pid != mpc.pid and peer.protocol is not None)
    document = _outcome_document(job, prepared, outcome, run, counted, not_counted)
    if cost is not None:  # up to here: the shutdown is not part of the round's costs
        document["costs"] = cost.as_dict()
    started = time.perf_counter()
    text = json.dumps(document, indent=2) + "\n"
    await asyncio.get_running_loop().run_in_executor(
        None, _write_results, store, text, rows,
        {"status": "done", "run": run, "finished": _now()})
    written = None
    if job.out is not None:
        job.out.mkdir(parents=True, exist_ok=True)
        written = job.out / "outcome.json"
        written.write_text(text, encoding="utf-8")
    log.record("storing results", time.perf_counter() - started)
    return ComputeSummary(run, counted, not_counted, document, list(log.timings), written)


def compute_round(job: ComputeJob, *, timeout: float) -> ComputeSummary:
    """Run this server's part of the compute phase (MPyC's flags must already be in argv).

    Args:
        job: What to compute, and where.
        timeout: Seconds allowed for the whole run (a watchdog ends the process after it).

    Returns:
        What was computed and published.

    Raises:
        ComputeError: Unusable store, key or configuration, or nothing to compute.
        RoundMismatchError: Another server runs another round.
        smpc_bench.engine.driver.PartyLostError: Another server disconnected, went silent or
            stopped with an error (the message says what to do).
        smpc_bench.engine.driver.PartyError: Another server did not answer in time.
    """
    log = driver.RunLog(on_phase=lambda name, seconds: job.say(f"{name:<30}{seconds:8.2f} s"))
    prepared, store = _prepare(job, log)
    try:
        job.say(f"{len(prepared.held)} submissions opened, {len(prepared.unreadable)} unusable")
        return driver.run(_tracked(job, prepared, store, log), timeout=timeout)
    except driver.PartyLostError as error:
        if isinstance(error, driver.PeerRefusedError):
            raise
        raise type(error)(f"server {job.server}: {error}. Nothing submitted is lost: rerun "
                          "`smpc-bench compute` on every server (each starts again from its "
                          "store)", error.parties, error.phase) from None
    finally:
        store.close()


async def _tracked(job: ComputeJob, prepared: _Prepared, store: Any, log: driver.RunLog
                   ) -> ComputeSummary:
    if not job.costs:
        return await _compute(job, prepared, store, log)
    from smpc_bench import costs

    with costs.track() as cost:  # every server must pass --costs (they run in lock-step)
        return await _compute(job, prepared, store, log, cost)
