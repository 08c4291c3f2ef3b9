"""Obliviousness: what is opened depends on the table's shape, never on the data.

``record_openings`` logs every ``mpc.output`` call (also the masked openings inside MPyC's
comparisons, bit decompositions and secure modulo) with its public shape.  For tables of one
shape, ``summarize`` with a full metric set must give the *identical* sequence of openings for
random, all-equal, sorted and reverse-sorted data, any pattern of missing cells and any
out-of-range cells, with secret counts, and with public counts (the same counts).

MPyC's secure ``%`` by a public modulus that is not a power of two (used for quantile ranks
with secret counts) draws its random mask by rejection sampling, so the *number* of openings
varies from run to run with the randomness (never with the data).  Every run here therefore
uses :func:`tests.randomness.reproducible_randomness`: fixed PRSS keys and program counter,
i.e. the same random stream; the data are then the only thing that could change the openings.
The values opened are tested in ``test_opened_values.py``.

For contrast, ``mpyc.statistics.median`` (quickselect) opens pivot partition sizes: with the
same randomness, different data of one size give different openings.
"""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction

import mpyc.statistics as mpyc_statistics
import numpy as np
import pytest

from smpc_bench.core import quantiles as secure_quantiles
from smpc_bench.core.reveal import open_counts, open_fraction
from smpc_bench.core.summarize import summarize
from smpc_bench.costs.openings import Opening, record_openings
from smpc_bench.engine.driver import runtime
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.metrics import Metric
from smpc_bench.spec.quantile_methods import METHODS
from smpc_bench.spec.sizing import size_for
from tests import oracles
from tests.oracles import TableData, build_secure_table
from tests.randomness import reproducible_randomness

mpc = runtime()

SPECS = (
    KpiSpec("revenue", 0, 1000),
    KpiSpec("margin", -50, 80, decimals=2),
    KpiSpec("growth", "-3", "-0.5", decimals=1),
)
ROWS = 10
INVALID_PER_KPI = 2  # missing or out-of-range cells per KPI: keeps public counts equal
SIZING = size_for(SPECS, ROWS)

METRICS = (Metric.COUNT, Metric.SUM, Metric.MEAN, Metric.VARIANCE, Metric.STDEV, Metric.MIN,
           Metric.MAX,
           *(Metric("quantile", p, m) for m in METHODS
             for p in (Fraction(0), Fraction(1, 10), Fraction(1, 4), Fraction(1, 2),
                       Fraction(3, 4), Fraction(9, 10), Fraction(1))))


def make_table(kind: str, seed: int, *, invalid: str = "mixed",
               invalid_per_kpi: int = INVALID_PER_KPI) -> TableData:
    """A (3, ROWS) table of the given kind; ``invalid_per_kpi`` cells per KPI are missing or
    smuggled out of range (``invalid`` = "missing", "smuggled" or "mixed"), at random rows."""
    rng = random.Random(seed)
    offsets = np.zeros((len(SPECS), ROWS), dtype=np.int64)
    claimed = np.ones((len(SPECS), ROWS), dtype=np.int64)
    for k, spec in enumerate(SPECS):
        if kind == "equal":
            column = [rng.randint(0, spec.span)] * ROWS
        elif kind == "ties":
            pool = [rng.randint(0, spec.span) for _ in range(2)]
            column = [rng.choice(pool) for _ in range(ROWS)]
        elif kind == "extremes":
            column = [rng.choice([0, spec.span]) for _ in range(ROWS)]
        else:
            column = [rng.randint(0, spec.span) for _ in range(ROWS)]
            if kind in ("sorted", "reversed"):
                column.sort(reverse=kind == "reversed")
        offsets[k] = column
        for i in rng.sample(range(ROWS), invalid_per_kpi):
            style = invalid if invalid != "mixed" else rng.choice(["missing", "smuggled"])
            if style == "missing":
                claimed[k, i] = 0
                offsets[k, i] = rng.choice([0, offsets[k, i]])  # whatever the owner sent
            else:
                offsets[k, i] = rng.randint(spec.span + 1, 2**SIZING.value_bits - 1)
    return TableData(SPECS, offsets, claimed)


DATASETS = {
    "random": make_table("random", 1),
    "random, other seed": make_table("random", 2),
    "all equal": make_table("equal", 3),
    "ties": make_table("ties", 4),
    "sorted": make_table("sorted", 5),
    "reverse sorted": make_table("reversed", 6),
    "extremes only": make_table("extremes", 7),
    "only missing cells": make_table("random", 8, invalid="missing"),
    "only out-of-range cells": make_table("random", 9, invalid="smuggled"),
}
# Secret counts may differ between datasets: also no invalid cell, and KPIs with no valid cell.
SECRET_ONLY_DATASETS = {
    "nothing missing": make_table("random", 10, invalid_per_kpi=0),
    "one valid cell per KPI": make_table("sorted", 11, invalid_per_kpi=ROWS - 1),
    "no valid cell at all": make_table("random", 12, invalid_per_kpi=ROWS),
}


def test_datasets_are_what_they_claim():
    for name, data in DATASETS.items():
        assert data.shape == (3, ROWS)
        assert data.counts() == [ROWS - INVALID_PER_KPI] * 3, name
    assert DATASETS["only missing cells"].rejected() == [0, 0, 0]
    assert DATASETS["only out-of-range cells"].rejected() == [INVALID_PER_KPI] * 3
    assert len(set(DATASETS["all equal"].values(0))) == 1
    assert SECRET_ONLY_DATASETS["no valid cell at all"].counts() == [0, 0, 0]
    values = {name: [tuple(data.values(k)) for k in range(3)] for name, data in DATASETS.items()}
    assert len(set(map(tuple, values.values()))) == len(DATASETS)  # really different data


def signature_of_summary(data: TableData, *, counts: list[int] | None, path: str = "digits",
                         radix_bits: int = 4) -> tuple[tuple[Opening, ...], dict]:
    """Run summarize + open every declared output; return the openings and the results."""

    async def body():
        table = build_secure_table(data, SIZING, path=path, radix_bits=radix_bits)
        results = summarize(table, METRICS, counts=counts)
        opened = {metric: await open_fraction(fraction, SPECS)
                  for metric, fraction in results.items()}
        opened["rejected"] = await open_counts(table.rejected)
        return opened

    with reproducible_randomness(), record_openings() as log:
        opened = mpc.run(body())
    return log.signature(), opened


def assert_results_correct(opened: dict, data: TableData) -> None:
    for metric in METRICS:
        for k in range(len(SPECS)):
            assert oracles.same(opened[metric][k][0],
                                oracles.reference(metric, data.values(k))), (metric, k)
    assert opened["rejected"] == data.rejected()


def assert_all_identical(signatures: dict[str, tuple[Opening, ...]]) -> None:
    reference_name, reference = next(iter(signatures.items()))
    for name, signature in signatures.items():
        if signature != reference:
            pairs = zip(signature, reference, strict=False)
            first = next((i for i, (a, b) in enumerate(pairs) if a != b),
                         min(len(signature), len(reference)))
            pytest.fail(f"openings differ between {reference_name!r} ({len(reference)}) and "
                        f"{name!r} ({len(signature)}), first at opening {first}")


def test_summary_openings_do_not_depend_on_data_with_secret_counts():
    signatures = {}
    for name, data in {**DATASETS, **SECRET_ONLY_DATASETS}.items():
        signatures[name], opened = signature_of_summary(data, counts=None)
        assert_results_correct(opened, data)
    assert_all_identical(signatures)
    signature = next(iter(signatures.values()))
    declared = 3 * len(METRICS) + 1  # what open_fraction/open_counts open themselves, at most
    # the log also sees the comparisons' masked openings, not only the declared outputs
    assert len(signature) > declared
    assert all(opening.receivers is None for opening in signature)


def test_summary_openings_do_not_depend_on_data_with_public_counts():
    counts = [ROWS - INVALID_PER_KPI] * 3
    signatures = {}
    for name, data in DATASETS.items():
        signatures[name], opened = signature_of_summary(data, counts=counts)
        assert_results_correct(opened, data)
    assert_all_identical(signatures)


@pytest.mark.parametrize("path", ["bits", "values"])
def test_summary_openings_do_not_depend_on_data_for_other_input_paths(path):
    names = ["random", "all equal", "reverse sorted", "only out-of-range cells"]
    for counts in (None, [ROWS - INVALID_PER_KPI] * 3):
        signatures = {}
        for name in names:
            signatures[name], opened = signature_of_summary(DATASETS[name], counts=counts,
                                                            path=path, radix_bits=3)
            assert_results_correct(opened, DATASETS[name])
        assert_all_identical(signatures)


def test_signature_does_see_shape_changes():
    """Sanity check of the comparison: a different public shape changes the signature."""
    base, _ = signature_of_summary(DATASETS["random"], counts=None)
    other_radix, _ = signature_of_summary(DATASETS["random"], counts=None, radix_bits=2)
    public, _ = signature_of_summary(DATASETS["random"], counts=[8, 8, 8])
    assert base != other_radix
    assert base != public


def test_record_openings_logs_shapes_and_restores_output():
    sec = mpc.SecInt(32)

    async def body():
        await mpc.output(sec(5))
        await mpc.output([sec(1), sec(2)])
        await mpc.output(sec.array(np.zeros((2, 3), dtype=np.int64)), receivers=[0])
        return True

    with record_openings() as log:
        assert mpc.run(body())
    assert [(o.kind, o.shape) for o in log.signature()] == [
        ("scalar", ()), ("list", (2,)), ("array", (2, 3))]
    assert log.signature()[2].receivers == (0,)
    assert len(log) == 3
    assert "output" not in vars(mpc)  # the class's method is back
    with pytest.raises(RuntimeError), record_openings():
        raise RuntimeError("boom")
    assert "output" not in vars(mpc)


# ---------------------------------------------------------------------------------------------
# Contrast: MPyC's quickselect median opens data-dependent partition sizes
# ---------------------------------------------------------------------------------------------


CONTRAST_DATA = {
    "sorted": list(range(1, 10)),
    "reverse sorted": list(range(9, 0, -1)),
    "all equal": [5] * 9,
    "random": [3, 1, 4, 1, 5, 9, 2, 6, 5],
    "two values": [1, 9, 1, 9, 1, 9, 1, 9, 1],
}


def mpyc_median_openings(data: list[int], seed: int):
    sec = mpc.SecInt(32)

    async def body():
        return await mpc.output(mpyc_statistics.median([sec(x) for x in data]))

    with reproducible_randomness(seed), record_openings() as log:
        value = mpc.run(body())
    return value, log.signature()


def test_mpyc_quickselect_median_openings_depend_on_the_data():
    for seed in (0, 1, 2):
        runs = {name: mpyc_median_openings(data, seed) for name, data in CONTRAST_DATA.items()}
        for name, (value, _) in runs.items():
            assert value == oracles.median_low(CONTRAST_DATA[name])  # odd n: the middle value
        # the set-up is deterministic: same data, same randomness, same openings
        assert mpyc_median_openings(CONTRAST_DATA["random"], seed)[1] == runs["random"][1]
        # ... yet with the same randomness, different data give different openings
        counts = Counter(len(signature) for _, signature in runs.values())
        assert len(counts) > 1, f"seed {seed}: every dataset opened {counts}"
        assert len({signature for _, signature in runs.values()}) > 1


def test_our_median_openings_on_the_same_data_are_identical():
    specs = (KpiSpec("x", 0, 10),)
    sizing = size_for(specs, 9)
    signatures = {}
    for name, data in CONTRAST_DATA.items():
        table_data = TableData(specs, np.array([data]), np.ones((1, 9), dtype=np.int64))

        async def body(table_data=table_data):
            table = build_secure_table(table_data, sizing)
            return await open_fraction(secure_quantiles.median(table), specs)

        with reproducible_randomness(), record_openings() as log:
            value = mpc.run(body())
        assert value == [[oracles.median(table_data.values(0))]]
        signatures[name] = log.signature()
    assert_all_identical(signatures)
