"""Three real parties: variances, standard deviations and the dominance rule in the wide field.

Cents up to 10**6 need ``n**2 * 2**54`` for a variance and 36 bits for the dominance comparison,
more than the round's 64-bit main field holds: both are computed in the wide field
(:mod:`smpc_bench.core.moments`, :mod:`smpc_bench.core.field_switch`), the rest stays narrow.
"""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import pytest

from smpc_bench.inputs.consortium import load_config
from smpc_bench.spec.sizing import size_for
from tests.integration.test_statistics_round import _check_against_plaintext, _run

pytestmark = pytest.mark.multiparty

CONFIG = """
[consortium]
name = "wide moments"

[disclosure]
min_contributions = 3
max_firm_share = 0.5

[[kpis]]
name = "revenue"
lower = 0
upper = 1000000
decimals = 2
statistics = ["count", "mean", "stdev", "variance", "median"]

[[kpis]]
name = "margin"
lower = -1000000
upper = 1000000
decimals = 2
statistics = ["count", "sum", "stdev", "q1", "q3"]
"""


def test_three_parties_release_exact_spreads_from_the_wide_field(tmp_path: Path) -> None:
    (tmp_path / "consortium.toml").write_text(CONFIG, encoding="utf-8")
    rng = random.Random(12)
    files = []
    for i, count in enumerate([3, 2, 4]):
        lines = ["revenue,margin"]
        for _ in range(count):
            revenue = rng.choice([round(rng.uniform(0, 1_000_000), 2), "999999.99", "0.01"])
            margin = "" if rng.random() < 0.2 else round(rng.uniform(-1_000_000, 1_000_000), 2)
            lines.append(f"{revenue},{margin}")
        path = tmp_path / f"firm{i}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    spec = load_config(tmp_path / "consortium.toml").spec
    sizing = size_for(spec.kpis, 9, dominance=[spec.kpis[k] for k in spec.dominance_kpis],
                      max_firm_share=spec.max_firm_share)
    assert sizing.field_bits == 32 and sizing.moment_field_bits is not None
    outcomes = _run(tmp_path, files)
    _check_against_plaintext(tmp_path, files, outcomes)
    spreads = [outcomes[0]["kpis"][k]["statistics"]["stdev"] for k in range(2)]
    assert all(not item["suppressed"] for item in spreads)
    assert Fraction(outcomes[0]["kpis"][0]["count"]) == 9
