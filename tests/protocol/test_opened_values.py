"""What is opened, value by value: every opening that is not a declared output is random noise.

``test_oblivious.py`` shows that the *shapes* of the openings do not depend on the data; an
unmasked intermediate value of the same shape as a masked one would pass it.  Here the opening
log records the opened values (``record_openings(values=True)``) and, for every opening that is
not a declared output, per position in the sequence of openings:

(a) **it changes when only the randomness changes**: the same data under two seeds (fixed PRSS
    keys, :mod:`tests.randomness`) give a different value in every element (a masked element
    ``a + r`` carries ``l + 30`` fresh bits for an ``l``-bit ``a``, at least 33 here, so two
    seeds repeat it with probability at most ``2**-33``; about 1,500 elements here have fewer
    than 50 bits: below ``2e-7`` in all).  MPyC's
    public zero tests (``is_zero_public``) open 0 or a uniform nonzero value: an element that
    is 0 under both seeds is allowed there only.  The same seed twice gives identical values:
    the seed really is the only source of randomness.
(b) **its distribution does not depend on the data**: group A is one table under
    ``RUNS`` seeds, group B ``RUNS`` different tables of the same public shape under ``RUNS``
    other seeds.  Per position, the values of all elements of all runs of a group are one
    sample (independent under the hypothesis: every element has its own fresh mask), and two
    fixed two-sample tests compare A with B: Pearson's chi-square test of homogeneity on the low
    ``b`` bits (``b <= 4`` bits, as many as keep at least 20 expected values per cell) and the
    Kolmogorov-Smirnov test on the values (asymptotic p-values).  A test fails below
    ``P_VALUE = 1e-10``; each check runs at most ``MAX_TESTS`` = 200 tests and this module
    makes at most 10 checks (8 now), so by Bonferroni the chance that any test fails although
    the openings are data-independent is at most ``10 * 200 * 1e-10 = 2e-7`` over the choice
    of seeds.  The seeds are fixed: the outcome is deterministic.

Openings are told apart by the log's ``masked`` flag and ``caller``: declared outputs (made by
:mod:`smpc_bench.core.reveal`, :mod:`smpc_bench.positions.delivery` or by the test itself) are
skipped; the input check's public coins are tested like masked values; its check values must be
exactly 0 for every well-formed cell (a declared property: nothing of honest data is opened);
the secret shuffle's opened destinations must be permutations, and their first entry per batch
row (one uniform draw each) is tested as in (b).  Any other opening fails the test: a new kind
of opening has to be classified here first.

``test_the_checks_see_*`` run the same checks on two deliberately leaky programs (the data
opened as if masked; a mask too short to hide the value): they must fail (a) and (b).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from scipy import stats

from smpc_bench.core import aggregates
from smpc_bench.core.disclosure_checks import dominance_inputs, secure_no_dominant_firm
from smpc_bench.core.quantiles import quantiles
from smpc_bench.core.reveal import open_counts, open_fraction
from smpc_bench.core.secure_table import SecureTable
from smpc_bench.costs.openings import Opening, record_openings
from smpc_bench.engine.driver import runtime
from smpc_bench.engine.local_shares import open_values, random_ints
from smpc_bench.positions.delivery import decode_positions, deliver_to_owners
from smpc_bench.positions.ranks import PositionRules, position_records
from smpc_bench.positions.shuffle import agree_shuffle_keys
from smpc_bench.spec.encoding import encode_digits
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.sizing import size_for
from tests import oracles
from tests.oracles import TableData, build_secure_table
from tests.randomness import reproducible_randomness, shuffle_seed

mpc = runtime()

RUNS = 40
SEEDS_A = range(1000, 1000 + RUNS)
SEEDS_B = range(2000, 2000 + RUNS)
P_VALUE = 1e-10
MAX_TESTS = 200
MIN_EXPECTED = 20
#: MPyC's public zero tests: they open 0 (the public answer "zero") or a uniform nonzero value.
ZERO_TESTS = ("mpyc.runtime.Runtime.is_zero_public", "mpyc.runtime.Runtime.np_is_zero_public")

SPECS = (KpiSpec("revenue", 0, 1000), KpiSpec("margin", -50, 80, decimals=2))
ROWS = 12
INVALID = 2  # per KPI: keeps the public counts equal across tables
KINDS = ("random", "equal", "sorted", "reversed", "extremes", "ties", "lowest", "highest")


def make_table(kind: str, seed: int, specs: tuple[KpiSpec, ...] = SPECS, rows: int = ROWS,
               invalid: int = INVALID) -> TableData:
    """A table of ``kind``; ``invalid`` cells per KPI are missing or out of range (smuggled)."""
    rng = np.random.default_rng(seed)
    value_bits = size_for(specs, rows).value_bits
    offsets = np.zeros((len(specs), rows), dtype=np.int64)
    claimed = np.ones((len(specs), rows), dtype=np.int64)
    for k, spec in enumerate(specs):
        span = spec.span
        drawn = rng.integers(0, span + 1, rows)
        offsets[k] = {
            "random": drawn,
            "equal": np.full(rows, drawn[0]),
            "sorted": np.sort(drawn),
            "reversed": np.sort(drawn)[::-1],
            "extremes": np.where(drawn % 2 == 0, 0, span),
            "ties": np.where(drawn % 2 == 0, drawn[0], drawn[1]),
            "lowest": np.zeros(rows, dtype=np.int64),
            "highest": np.full(rows, span),
        }[kind]
        for i in rng.choice(rows, invalid, replace=False):
            if rng.random() < 0.5:
                claimed[k, i] = 0
            else:
                offsets[k, i] = rng.integers(span + 1, 1 << value_bits)
    return TableData(specs, offsets, claimed)


SAME = make_table("highest", 1)
OTHERS = [make_table(KINDS[j % len(KINDS)], 100 + j) for j in range(RUNS)]


# --------------------------------------------------------------------------------------------
# The checks
# --------------------------------------------------------------------------------------------

Program = Callable[[TableData, int], Any]  # (data, seed) -> coroutine


@dataclass
class Verdict:
    """What :func:`check_openings` found: problems, and how many openings of each kind."""

    problems: list[str] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    tests: int = 0
    results: list[Any] = field(default_factory=list)


def kind_of(opening: Opening) -> str:
    """Which kind of opening this is, by the log's masked flag and caller."""
    caller = opening.caller
    if opening.masked:
        return "masked"
    if not caller or caller[0].startswith(("smpc_bench.core.reveal.",
                                           "smpc_bench.positions.delivery.")):
        return "declared"  # the test's own mpc.output, open_counts/open_fraction, delivery
    if caller[:2] == ("smpc_bench.engine.local_shares.open_values",
                      "smpc_bench.core.secure_table._validated"):
        return "input check"
    if caller[0] == "smpc_bench.core.secure_table._validated":
        return "coins"
    if caller[0] == "smpc_bench.positions.shuffle.apply_secret_permutation":
        return "permutation"
    return "unclassified"


def record(program: Program, data: TableData, seed: int) -> tuple[Any, list[Opening]]:
    with reproducible_randomness(seed), record_openings(values=True) as log:
        result = mpc.run(program(data, seed))
    assert all(o.values is not None for o in log.openings), "an opening was not recorded"
    return result, log.openings


def low_bits_test(a: list[int], b: list[int]) -> float | None:
    """Chi-square homogeneity of the low bits of two samples (None: too few values)."""
    bits = min(4, int(math.log2(min(len(a), len(b)) / MIN_EXPECTED)))
    if bits < 1:
        return None
    mask = (1 << bits) - 1
    table = np.array([np.bincount(np.array([v & mask for v in sample]), minlength=mask + 1)
                      for sample in (a, b)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2:  # one bin only: equal as far as the low bits go
        return 1.0
    return float(stats.chi2_contingency(table).pvalue)


def ks_test(a: list[int], b: list[int]) -> float:
    """Two-sample Kolmogorov-Smirnov test of the values (as floats)."""
    if set(a) == set(b) and len(set(a)) == 1:
        return 1.0
    return float(stats.ks_2samp(np.array(a, dtype=np.float64),
                                np.array(b, dtype=np.float64)).pvalue)


def samples(kind: str, opening: Opening) -> list[int]:
    """The values of one opening that are independent draws under the hypothesis."""
    assert opening.values is not None
    if kind == "permutation":  # a row of destinations is one uniform permutation: one draw
        rows = np.array(opening.values).reshape(opening.shape)
        return [int(row[0]) for row in rows]
    return list(opening.values)


def check_openings(program: Program, same: TableData, others: Sequence[TableData],
                   check_result: Callable[[TableData, Any], None]) -> Verdict:
    """(a) and (b) of the module docstring for every opening of ``program``."""
    verdict = Verdict()
    problems = verdict.problems
    a_runs, b_runs = [], []
    for seed in SEEDS_A:
        result, openings = record(program, same, seed)
        check_result(same, result)
        a_runs.append(openings)
    for seed, data in zip(SEEDS_B, others, strict=True):
        result, openings = record(program, data, seed)
        check_result(data, result)
        verdict.results.append(result)
        b_runs.append(openings)
    _, again = record(program, same, SEEDS_A[0])
    if [o.values for o in again] != [o.values for o in a_runs[0]]:
        problems.append("the same seed twice gave other values: randomness is not fixed")
    signature = tuple(a_runs[0])
    for openings in a_runs + b_runs:
        if tuple(openings) != signature:
            problems.append("the runs opened different shapes")
            return verdict
    for i, opening in enumerate(signature):
        kind = kind_of(opening)
        verdict.kinds[kind] = verdict.kinds.get(kind, 0) + 1
        where = f"opening {i} ({kind}, {opening.shape}, {opening.caller[:2]})"
        if kind == "declared":
            continue
        if kind == "unclassified":
            problems.append(f"{where}: no rule for this opening")
            continue
        if kind == "input check":
            if any(any(run[i].values) for run in a_runs + b_runs):
                problems.append(f"{where}: nonzero for a well-formed cell")
            continue
        first, second = a_runs[0][i].values, a_runs[1][i].values
        assert first is not None and second is not None
        if kind == "permutation":
            for run in a_runs + b_runs:
                rows = np.sort(np.array(run[i].values).reshape(opening.shape), axis=1)
                if not (rows == np.arange(opening.shape[-1])).all():
                    problems.append(f"{where}: not a permutation")
                    break
            if first == second:
                problems.append(f"{where}: the same under two seeds")
        else:
            zero_test = opening.caller[0] in ZERO_TESTS
            same_elements = [j for j, (x, y) in enumerate(zip(first, second, strict=True))
                             if x == y and not (zero_test and x == 0)]
            if same_elements:
                problems.append(f"{where}: elements {same_elements[:5]} the same under two "
                                "seeds")
        a = [v for run in a_runs for v in samples(kind, run[i])]
        b = [v for run in b_runs for v in samples(kind, run[i])]
        for name, p_value in (("low bits", low_bits_test(a, b)), ("KS", ks_test(a, b))):
            if p_value is None:
                continue
            verdict.tests += 1
            if p_value < P_VALUE:
                problems.append(f"{where}: {name} distribution depends on the data "
                                f"(p = {p_value:.2g})")
    assert verdict.tests <= MAX_TESTS, "raise MAX_TESTS only with the module's error budget"
    return verdict


def assert_data_independent(verdict: Verdict, *kinds: str) -> None:
    print(f"openings checked: {verdict.kinds}; {verdict.tests} two-sample tests")
    assert not verdict.problems, "\n".join(verdict.problems)
    for kind in kinds:
        assert verdict.kinds.get(kind, 0) > 0, f"no {kind} opening checked: {verdict.kinds}"


# --------------------------------------------------------------------------------------------
# The programs
# --------------------------------------------------------------------------------------------


def quartiles_program(public_counts: bool) -> Program:
    sizing = size_for(SPECS, ROWS)

    async def program(data: TableData, seed: int) -> Any:
        table = build_secure_table(data, sizing)
        counts = await open_counts(aggregates.count(table)) if public_counts else None
        return (await open_counts(table.rejected),
                await open_fraction(quantiles(table, 4, counts=counts), SPECS))

    return program


def check_quartiles(data: TableData, result: Any) -> None:
    rejected, opened = result
    assert rejected == data.rejected()
    assert opened == [oracles.quantiles(data.values(k), 4) for k in range(len(SPECS))]


@pytest.mark.parametrize("public_counts", [True, False], ids=["public counts", "secret counts"])
def test_quartile_openings_are_noise(public_counts):
    """The input check (coins, zero check values), the range check and the radix walk with
    its comparisons; with secret counts also MPyC's secure ``%`` for the ranks."""
    verdict = check_openings(quartiles_program(public_counts), SAME, OTHERS, check_quartiles)
    assert_data_independent(verdict, "masked", "coins", "input check", "declared")
    # rejected and the quartiles (numerators; with secret counts also the counts behind them),
    # with public counts also the counts opened first
    assert verdict.kinds["declared"] == 3


def test_input_check_opens_zero_exactly_for_well_formed_cells():
    """A malformed cell (a digit with two ones; validity 2) opens a nonzero check value, which
    makes it public that this cell is malformed (:attr:`SecureTable.malformed`) and rejects it;
    every other cell, also a missing or out-of-range one, opens exactly 0."""
    sizing = size_for(SPECS, ROWS)
    data = make_table("random", 7)
    cells = [(k, data.accepted(k).index(True)) for k in range(len(SPECS))]
    digits = encode_digits(data.offsets, sizing.value_bits, 4)
    digits[cells[0][0], cells[0][1], 1, :2] = 1  # a middle digit with two (or three) ones
    claimed = data.claimed.copy()
    claimed[cells[1]] = 2

    async def program() -> Any:
        sec = mpc.SecInt(sizing.field_bits)
        table = SecureTable.from_digits(SPECS, sizing, sec.array(digits), sec.array(claimed))
        return await open_counts(table.rejected), table.malformed

    for seed in (1, 2):
        with reproducible_randomness(seed), record_openings(values=True) as log:
            rejected, malformed = mpc.run(program())
        (check,) = [o for o in log.openings if kind_of(o) == "input check"]
        values = np.array(check.values).reshape(len(SPECS), ROWS)
        nonzero = [(int(k), int(i)) for k, i in zip(*np.nonzero(values), strict=True)]
        assert nonzero == cells
        assert (malformed == (values != 0)).all()
        assert rejected == [r + 1 for r in data.rejected()]


def dominance_program(rows_per_party: list[int], share: Fraction) -> Program:
    sizing = size_for(SPECS, sum(rows_per_party), dominance=SPECS, max_firm_share=share)

    async def program(data: TableData, seed: int) -> Any:
        table = build_secure_table(data, sizing)
        bits = secure_no_dominant_firm(*dominance_inputs(table), rows_per_party, SPECS, share)
        return [bool(int(b)) for b in await mpc.output(bits)]

    return program


def test_dominance_rule_openings_are_noise():
    rows_per_party = [3, 3, 2, 2, 1, 1]
    share = Fraction(1, 4)

    def check(data: TableData, verdicts: Any) -> None:
        assert len(verdicts) == len(SPECS)

    verdict = check_openings(dominance_program(rows_per_party, share), SAME, OTHERS, check)
    assert_data_independent(verdict, "masked", "coins", "input check", "declared")
    outcomes = {tuple(result) for result in verdict.results}
    assert len(outcomes) > 1, "the tables of group B should give different verdicts"


def positions_program(method: str) -> Program:
    rules = PositionRules()

    async def program(data: TableData, seed: int) -> Any:
        sizing = size_for(SPECS, ROWS, moments=False)
        table = build_secure_table(data, sizing)
        counts = await open_counts(aggregates.count(table))
        keys = await agree_shuffle_keys(seed=shuffle_seed(seed)) if method == "sort" else None
        records = position_records(table, rules=rules, counts=counts, method=method, keys=keys)
        return decode_positions(await deliver_to_owners(records, [0] * ROWS), rules)

    return program


def check_positions(data: TableData, positions: Any) -> None:
    for k in range(len(SPECS)):
        accepted = data.accepted(k)
        values = [int(v) for v, ok in zip(data.offsets[k], accepted, strict=True) if ok]
        for i, position in enumerate(positions[k]):
            if not accepted[i]:
                assert position is None
                continue
            better = sum(v > data.offsets[k, i] for v in values)  # higher is better
            assert position.rank == 1 + better and position.of == len(values)


@pytest.mark.parametrize("method", ["sort", "np-less"])
def test_position_openings_are_noise(method):
    verdict = check_openings(positions_program(method), SAME, OTHERS, check_positions)
    # the sorting protocol opens no comparison: its only non-declared openings are the
    # shuffled destinations (and the input check's)
    expected = "permutation" if method == "sort" else "masked"
    assert_data_independent(verdict, expected, "coins", "input check", "declared")


# --------------------------------------------------------------------------------------------
# The checks can fail
# --------------------------------------------------------------------------------------------


def leaky_program(mask_bits: int | None) -> Program:
    """Opens every cell's value ``+ r`` (``r`` uniform below ``2**mask_bits``; None: no mask),
    marked masked as a comparison's masked difference would be."""
    sizing = size_for(SPECS, ROWS)

    async def program(data: TableData, seed: int) -> Any:
        table = build_secure_table(data, sizing)
        values = (await mpc.gather(table.values)).value.reshape(-1)
        field = table.sectype.field
        if mask_bits is not None:
            mask = random_ints(table.sectype, values.size, 1 << mask_bits)
            values = values + (await mpc.gather(mask)).value
        await open_values(field, values, masked=True)
        return await open_counts(table.rejected)

    return program


def test_the_checks_see_an_unmasked_opening():
    verdict = check_openings(leaky_program(None), SAME, OTHERS[:RUNS],
                             lambda data, rejected: None)
    assert any("the same under two seeds" in p for p in verdict.problems), verdict.problems
    assert any("depends on the data" in p for p in verdict.problems), verdict.problems


def test_the_checks_see_a_mask_too_short_to_hide_the_value():
    """``r`` of 14 bits on 14-bit values: every element changes with the seed and its low bits
    are exactly uniform, but the values' range still shows the data."""
    verdict = check_openings(leaky_program(14), SAME, OTHERS[:RUNS],
                             lambda data, rejected: None)
    assert not any("the same under two seeds" in p for p in verdict.problems)
    assert [p for p in verdict.problems if "depends on the data" in p], verdict.problems
    assert not any("low bits" in p for p in verdict.problems), verdict.problems


def test_values_are_recorded_also_while_costs_are_tracked():
    """``costs.track`` runs one party asynchronously (openings complete later, in another
    order): the log fills the values in when they are opened, and its masked flags agree with
    the cost counters' ``library_openings`` (the same rule)."""
    from smpc_bench import costs

    program = quartiles_program(public_counts=True)
    _, synchronous = record(program, SAME, 7)
    with reproducible_randomness(7), record_openings(values=True) as log:
        result, cost = costs.run(program(SAME, 7))
    check_quartiles(SAME, result)
    assert all(o.values is not None for o in log.openings)
    assert sorted(o.values for o in log.openings if kind_of(o) == "declared") == sorted(
        o.values for o in synchronous if kind_of(o) == "declared")
    assert [all(v == 0 for v in o.values) for o in log.openings if kind_of(o) == "input check"
            ] == [True]
    assert sorted(log.openings, key=repr) == sorted(synchronous, key=repr)  # same openings
    assert cost.openings == len(log.openings)
    assert cost.library_openings == sum(not o.masked for o in log.openings) == 5
