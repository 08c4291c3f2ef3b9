"""Timed statistics with their deterministic costs, as an MPyC party program and its launcher.

Shared by ``scaling.py`` (``make bench``), ``check_budgets.py`` (CI), ``validate_rounds.py`` and
``wan.py``.  A party process (this file run with MPyC's ``-M/-I`` flags) does::

    connect; party 0 secret-shares n random values in [0, 10**6] (one-hot digits + validity,
    not timed); for each operation and repeat: barrier + all-to-all sync, then time
    [SecureTable.from_digits (in-MPC range check) + the statistic + opening the result],
    under smpc_bench.costs.track(); party 0 checks the result against `statistics`.

and prints one line ``BENCH_PARTY_RECORD {json}``.  Operations (``--ops``, comma separated):

* ``sum``, ``mean``, ``variance``: exact, each with its count;
* ``quartiles``: open the count first (a declared output of every round), then the three
  quartiles (``statistics.quantiles(n=4)``, method exclusive; the middle one is the median)
  with public count: what a benchmarking round does;
* ``quartiles_secret_count``: the same without opening the count first;
* ``ranks``: open the count, then every row's private position record (rank, percentile
  numerator, count) by the sorting protocol (secret shuffles, O(n) per digit), delivered to
  the row's owner (party 0 owns all rows here); ``ranks_all_pairs``: the same with the
  all-pairs digit comparison (n**2 work, peer mode); both skipped if ``smpc_bench.positions.ranks``
  does not exist.

Rounds: :func:`simulate_costs` (one party, in process) simulates them (see
:mod:`smpc_bench.costs`); a party program counts them in lock-step only with ``--rounds`` and more
than one party (a ``-M1`` party reports None).  With several parties,
``--delay D`` delays every message by ``D`` seconds (``MessageExchanger.send`` is replaced by a
copy that writes the same frame ``D`` later), to measure rounds as ``(T_D - T_0) / D``.

Launch from Python with :func:`launch_local` (free ports, timeouts, all parties' records), or::

    python benchmarks/bench_party.py --launch --parties 3 --n 1000 --ops quartiles
"""

from __future__ import annotations

import argparse
import json
import statistics
import struct
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

RECORD_PREFIX = "BENCH_PARTY_RECORD "
VALUE_HIGH = 10**6
ALL_OPS = ("sum", "mean", "variance", "quartiles", "quartiles_secret_count", "ranks",
           "ranks_all_pairs")
HERE = Path(__file__).resolve().parent


def ranks_available() -> bool:
    """Whether the library has a ranks module (built by another issue)."""
    import importlib.util

    return importlib.util.find_spec("smpc_bench.positions.ranks") is not None


def make_values(n: int, seed: int) -> np.ndarray:
    """Party 0's data: ``n`` integers in ``[0, 10**6]``."""
    return np.random.default_rng(seed).integers(0, VALUE_HIGH + 1, n)


def build_parser() -> argparse.ArgumentParser:
    """Lower-case flags only (MPyC claims the upper-case ones)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--ops", default="quartiles", help="comma-separated operations")
    parser.add_argument("--repeats", type=int, default=1, help="timed runs per operation")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--radix", type=int, default=4)
    parser.add_argument("--delay", type=float, default=0.0,
                        help="inject this one-way delay (seconds) into every message")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--rounds", action="store_true",
                        help="one extra untimed run per operation counting rounds in lock-step")
    parser.add_argument("--launch", action="store_true",
                        help="launcher: start --parties local party processes")
    parser.add_argument("--parties", type=int, default=3, help="launcher only")
    return parser


# --------------------------------------------------------------------------------------------
# Operations (inside a party)
# --------------------------------------------------------------------------------------------

Table = Any
Operation = Callable[[Table, Sequence[Any]], Awaitable[list[Any]]]


async def _op_sum(table: Table, specs: Sequence[Any]) -> list[Any]:
    from smpc_bench.core import aggregates
    from smpc_bench.core.reveal import open_fraction

    return (await open_fraction(aggregates.fsum(table), specs))[0]


async def _op_mean(table: Table, specs: Sequence[Any]) -> list[Any]:
    from smpc_bench.core import aggregates
    from smpc_bench.core.reveal import open_fraction

    return (await open_fraction(aggregates.mean(table), specs))[0]


async def _op_variance(table: Table, specs: Sequence[Any]) -> list[Any]:
    from smpc_bench.core import aggregates
    from smpc_bench.core.reveal import open_fraction

    return (await open_fraction(aggregates.variance(table), specs))[0]


async def _op_quartiles(table: Table, specs: Sequence[Any]) -> list[Any]:
    from smpc_bench.core import aggregates
    from smpc_bench.core.quantiles import quantiles
    from smpc_bench.core.reveal import open_counts, open_fraction

    counts = await open_counts(aggregates.count(table))
    return (await open_fraction(quantiles(table, 4, counts=counts), specs))[0]


async def _op_quartiles_secret_count(table: Table, specs: Sequence[Any]) -> list[Any]:
    from smpc_bench.core.quantiles import quantiles
    from smpc_bench.core.reveal import open_fraction

    return (await open_fraction(quantiles(table, 4), specs))[0]


#: Per-process context of the ranks operations (the shuffle keys agreed at start).
CONTEXT: dict[str, Any] = {}


async def _ranks(table: Table, method: str) -> Any:
    from smpc_bench.core import aggregates
    from smpc_bench.core.reveal import open_counts
    from smpc_bench.positions.delivery import deliver_to_owners
    from smpc_bench.positions.ranks import position_records

    counts = await open_counts(aggregates.count(table))
    records = position_records(table, counts=counts, method=method, keys=CONTEXT.get("keys"))
    return await deliver_to_owners(records, [0] * table.num_rows)  # party 0 owns every row


async def _op_ranks(table: Table, specs: Sequence[Any]) -> Any:
    return await _ranks(table, "sort")


async def _op_ranks_all_pairs(table: Table, specs: Sequence[Any]) -> Any:
    return await _ranks(table, "all-pairs")


OPERATIONS: dict[str, Operation] = {
    "sum": _op_sum,
    "mean": _op_mean,
    "variance": _op_variance,
    "quartiles": _op_quartiles,
    "quartiles_secret_count": _op_quartiles_secret_count,
    "ranks": _op_ranks,
    "ranks_all_pairs": _op_ranks_all_pairs,
}


def check(op: str, values: Sequence[int], result: Any) -> bool | None:
    """Whether ``result`` (as party 0 holds it) is the exact answer; None if not checked."""
    data = [int(v) for v in values]
    if op.startswith("ranks"):
        ordered = np.sort(np.asarray(data))
        below = np.searchsorted(ordered, data, side="left")
        at_or_below = np.searchsorted(ordered, data, side="right")
        want = np.stack([1 + len(data) - at_or_below, below + at_or_below,
                         np.full(len(data), len(data))], axis=1)  # higher is better
        return bool(np.array_equal(np.asarray(result)[0], want))
    want = expected(op, data)
    if want is None:
        return None
    return [Fraction(g) for g in result] == want


def expected(op: str, values: Sequence[int]) -> list[Any] | None:
    """The plaintext answer of a statistic (None for other operations)."""
    data = [int(v) for v in values]
    if op == "sum":
        return [sum(data)]
    if op == "mean":
        return [Fraction(sum(data), len(data))]
    if op == "variance":
        return [statistics.variance([Fraction(v) for v in data])]
    if op.startswith("quartiles"):
        return [Fraction(q) for q in statistics.quantiles(data, n=4, method="exclusive")]
    return None


def needs_keys(ops: Sequence[str]) -> bool:
    """Whether shuffle keys must be agreed first (sorting-based ranks)."""
    return "ranks" in ops


def needs_moments(ops: Sequence[str]) -> bool:
    """Whether the field must be sized for variances."""
    return "variance" in ops


def install_delay(mpc: Any, delay: float) -> Callable[[], None]:
    """Delay every message by ``delay`` seconds; returns the undo function."""
    from mpyc import asyncoro

    original = asyncoro.MessageExchanger.send

    def delayed_send(self: Any, pc: int, payload: bytes) -> None:
        frame = struct.pack(f"<qI{len(payload)}s", pc, len(payload), payload)
        self.nbytes_sent += 12 + len(payload)
        mpc._loop.call_later(delay, self.transport.write, frame)

    asyncoro.MessageExchanger.send = delayed_send

    def undo() -> None:
        asyncoro.MessageExchanger.send = original

    return undo


async def party_main(args: argparse.Namespace) -> dict[str, Any]:
    """One party's run: share the data, time every operation with its costs."""
    from smpc_bench import costs
    from smpc_bench.core.secure_table import SecureTable
    from smpc_bench.engine import driver
    from smpc_bench.spec.encoding import encode_digits
    from smpc_bench.spec.kpi import KpiSpec
    from smpc_bench.spec.sizing import size_for

    mpc = driver.runtime()
    ops = [op for op in args.ops.split(",") if op]
    await driver.phase("connecting", mpc.start(), timeout=120)
    m = len(mpc.parties)
    specs = [KpiSpec("value", 0, VALUE_HIGH)]
    values = make_values(args.n, args.seed)
    shared: dict[int, tuple[Any, Any, Any]] = {}  # field bits -> (sizing, digits, valid)
    for op in ops:  # share the data once per secure type needed (not timed)
        sizing = size_for(specs, args.n, moments=needs_moments([op]))
        if sizing.field_bits in shared:
            continue
        sectype = mpc.SecInt(sizing.field_bits)
        own = values if mpc.pid == 0 else np.zeros_like(values)  # only party 0's data is used
        digits = encode_digits(own[None, :], sizing.value_bits, args.radix)
        sec_digits = mpc.input(sectype.array(digits), senders=0)
        sec_valid = mpc.input(sectype.array(np.ones((1, args.n), dtype=np.int64)), senders=0)
        await mpc.gather(sec_digits)
        await mpc.gather(sec_valid)
        shared[sizing.field_bits] = (sizing, sec_digits, sec_valid)
    if needs_keys(ops) and ranks_available():
        from smpc_bench.positions.shuffle import agree_shuffle_keys

        CONTEXT["keys"] = await agree_shuffle_keys()
    undo_delay = install_delay(mpc, args.delay) if args.delay > 0 and m > 1 else None
    record: dict[str, Any] = {"party": mpc.pid, "parties": m, "n": args.n, "seed": args.seed,
                              "radix": args.radix, "delay": args.delay, "ops": {}}
    for op in ops:
        if op.startswith("ranks") and not ranks_available():
            record["ops"][op] = {"skipped": "smpc_bench.positions.ranks does not exist yet"}
            continue
        sizing, sec_digits, sec_valid = shared[
            size_for(specs, args.n, moments=needs_moments([op])).field_bits]
        runs = []
        result: list[Any] = []
        for _ in range(args.repeats):
            await mpc.barrier(op)
            await mpc.transfer(op)  # everybody starts the clock together
            started, cpu_started = time.perf_counter(), time.process_time()
            # Multi-party: count traffic (rounds are a property of the program, simulated
            # with one party).  One party: simulate rounds (needs the loop not running).
            with costs.track(rounds=False) as cost:
                table = SecureTable.from_digits(specs, sizing, sec_digits, sec_valid,
                                                radix_bits=args.radix)
                result = await OPERATIONS[op](table, specs)
            runs.append({"seconds": time.perf_counter() - started,
                         "cpu_seconds": time.process_time() - cpu_started,
                         "costs": cost.as_dict()})
        if args.rounds and m > 1:  # untimed: the lock-step costs a little time per round
            await mpc.barrier(op)
            await mpc.transfer(op)
            with costs.track(rounds=True) as cost:
                table = SecureTable.from_digits(specs, sizing, sec_digits, sec_valid,
                                                radix_bits=args.radix)
                await OPERATIONS[op](table, specs)
            runs[0]["costs"]["rounds"] = cost.rounds
        entry: dict[str, Any] = {"runs": runs,
                                 "seconds_median": statistics.median(r["seconds"] for r in runs),
                                 "field_bits": sizing.field_bits,
                                 "value_bits": sizing.value_bits}
        if mpc.pid == 0:
            entry["exact"] = check(op, values, result)
        record["ops"][op] = entry
    if undo_delay is not None:
        undo_delay()
    await driver.phase("shutting down", mpc.shutdown(), timeout=120)
    return record


def simulate_costs(ops: Sequence[str], n: int, *, seed: int = 1, radix: int = 4
                   ) -> dict[str, dict[str, Any]]:
    """Costs of every operation with one party in this process, rounds simulated.

    Imports the MPyC runtime (call it only where ``sys.argv`` holds no foreign flags).
    """
    from smpc_bench import costs
    from smpc_bench.core.secure_table import SecureTable
    from smpc_bench.engine import driver
    from smpc_bench.spec.encoding import encode_digits
    from smpc_bench.spec.kpi import KpiSpec
    from smpc_bench.spec.sizing import size_for

    mpc = driver.runtime()
    if len(mpc.parties) != 1:
        raise RuntimeError("simulate_costs needs the one-party runtime")
    specs = [KpiSpec("value", 0, VALUE_HIGH)]
    values = make_values(n, seed)
    out: dict[str, dict[str, Any]] = {}
    for op in ops:
        if op.startswith("ranks") and not ranks_available():
            continue
        if needs_keys([op]) and "keys" not in CONTEXT:
            from smpc_bench.positions.shuffle import agree_shuffle_keys

            CONTEXT["keys"] = mpc.run(agree_shuffle_keys())

        sizing = size_for(specs, n, moments=needs_moments([op]))
        sectype = mpc.SecInt(sizing.field_bits)
        digits = sectype.array(encode_digits(values[None, :], sizing.value_bits, radix))
        valid = sectype.array(np.ones((1, n), dtype=np.int64))

        async def body(op: str = op, sizing: Any = sizing, digits: Any = digits,
                       valid: Any = valid) -> list[Any]:
            table = SecureTable.from_digits(specs, sizing, digits, valid, radix_bits=radix)
            return await OPERATIONS[op](table, specs)

        started = time.perf_counter()
        result, cost = costs.run(body())
        seconds = time.perf_counter() - started
        out[op] = {"costs": cost.as_dict(), "seconds": seconds,
                   "exact": check(op, values, result),
                   "field_bits": sizing.field_bits, "value_bits": sizing.value_bits}
    return out


def run_party(argv: list[str]) -> int:
    """Entry point of a party process."""
    args, mpyc_argv = build_parser().parse_known_args(argv)
    sys.argv = [sys.argv[0], *mpyc_argv]
    from smpc_bench.engine import driver

    record = driver.run(party_main(args), timeout=args.timeout)
    print(RECORD_PREFIX + json.dumps(record, default=str), flush=True)
    return 0


# --------------------------------------------------------------------------------------------
# Launcher (never imports mpyc.runtime)
# --------------------------------------------------------------------------------------------


@dataclass
class Launch:
    """What a launch returned: one record per party and the launcher's wall time."""

    records: list[dict[str, Any]]
    wall_seconds: float

    def op(self, name: str) -> dict[str, Any]:
        """Summary of one operation over all parties (party 0's time, all parties' bytes)."""
        leader = next(r for r in self.records if r["party"] == 0)
        entry = leader["ops"][name]
        if "skipped" in entry:
            return {"skipped": entry["skipped"]}
        first = [r["ops"][name]["runs"][0]["costs"] for r in self.records]
        return {
            "seconds": entry["seconds_median"],
            "runs": [r["seconds"] for r in entry["runs"]],
            "slowest_party_seconds": max(r["ops"][name]["seconds_median"] for r in self.records),
            "bytes_all_parties": sum(c["bytes_sent"] for c in first),
            "bytes_max_party": max(c["bytes_sent"] for c in first),
            "messages_all_parties": sum(c["messages_sent"] for c in first),
            "messages_max_party": max(c["messages_sent"] for c in first),
            "costs_party0": first[0],
            "rounds_max_party": max((c["rounds"] or 0) for c in first) if all(
                c["rounds"] is not None for c in first) else None,
            "exact": entry.get("exact"),
            "field_bits": entry.get("field_bits"),
        }


def party_argv(n: int, ops: Sequence[str], *, repeats: int = 1, seed: int = 1, radix: int = 4,
               delay: float = 0.0, timeout: float = 900.0, rounds: bool = False) -> list[str]:
    """Arguments of a party process (MPyC's flags are added by the caller)."""
    return [str(HERE / "bench_party.py"), "--n", str(n), "--ops", ",".join(ops),
            "--repeats", str(repeats), "--seed", str(seed), "--radix", str(radix),
            "--delay", str(delay), "--timeout", str(timeout)] + (["--rounds"] if rounds else [])


def parse_records(stdouts: Sequence[str]) -> list[dict[str, Any]]:
    """One record per party from the parties' standard output."""
    records = []
    for i, text in enumerate(stdouts):
        lines = [line for line in text.splitlines() if line.startswith(RECORD_PREFIX)]
        if len(lines) != 1:
            raise RuntimeError(f"party {i} printed no record:\n{text[-2000:]}")
        records.append(json.loads(lines[0][len(RECORD_PREFIX):]))
    return records


def launch_local(parties: int, n: int, ops: Sequence[str], *, repeats: int = 1, seed: int = 1,
                 radix: int = 4, delay: float = 0.0, timeout: float = 900.0,
                 rounds: bool = False) -> Launch:
    """Run the parties on localhost (free ports, deadline) and collect their records."""
    sys.path.insert(0, str(HERE.parent / "src"))
    from smpc_bench.engine.local_parties import run_parties

    started = time.perf_counter()
    results = run_parties(party_argv(n, ops, repeats=repeats, seed=seed, radix=radix,
                                     delay=delay, timeout=timeout, rounds=rounds),
                          parties, timeout=timeout + 30, cwd=HERE)
    return Launch(parse_records([r.stdout for r in results]), time.perf_counter() - started)


def main(argv: list[str]) -> int:
    """Launcher entry point: prints one summary line per operation."""
    args = build_parser().parse_args(argv)
    ops = [op for op in args.ops.split(",") if op]
    launched = launch_local(args.parties, args.n, ops, repeats=args.repeats, seed=args.seed,
                            radix=args.radix, delay=args.delay, timeout=args.timeout,
                            rounds=args.rounds)
    for op in ops:
        print(op, json.dumps(launched.op(op)))
    wrong = [op for op in ops if launched.op(op).get("exact") is False]
    if wrong:
        print(f"WRONG RESULT: {', '.join(wrong)}", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    if "--launch" in sys.argv[1:]:
        sys.exit(main([a for a in sys.argv[1:] if a != "--launch"]))
    sys.exit(run_party(sys.argv[1:]))
