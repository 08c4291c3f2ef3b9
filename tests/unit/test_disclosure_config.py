"""The dominance rule's setting: ``[disclosure] max_firm_share`` (validation, default, hash)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from smpc_bench.cli.run import with_statistics
from smpc_bench.inputs.consortium import DEFAULT_MAX_FIRM_SHARE, ConfigError, parse_config
from smpc_bench.spec.disclosure import rules_text, share_text, unreachable_share
from smpc_bench.spec.metrics import Metric
from smpc_bench.spec.round_spec import RoundSpec


def _consortium(share: Any = None, *, parties: int = 5, statistics: list[str] | None = None):
    disclosure: dict[str, Any] = {"min_contributions": 3}
    if share is not None:
        disclosure["max_firm_share"] = share
    kpi: dict[str, Any] = {"name": "revenue", "lower": 0, "upper": 1000}
    if statistics is not None:
        kpi["statistics"] = statistics
    return parse_config({"disclosure": disclosure, "kpis": [kpi],
                         "parties": [{"name": f"Firm {i}"} for i in range(parties)]})


def test_default_is_a_quarter_as_design_asks():
    assert DEFAULT_MAX_FIRM_SHARE == Fraction(1, 4)
    spec = _consortium().spec
    assert spec.max_firm_share == Fraction(1, 4)
    assert spec.dominance_kpis == (0,)  # the default statistics include the mean
    assert RoundSpec.create("r", spec.kpis).max_firm_share == Fraction(1, 4)


@pytest.mark.parametrize(("written", "exact"), [
    (0.25, Fraction(1, 4)), (0.3333, Fraction(3333, 10000)), (0.5, Fraction(1, 2)),
    (1, Fraction(1)), (1.0, Fraction(1)), (0.0001, Fraction(1, 10000)), (0.1, Fraction(1, 10)),
])
def test_values_are_read_as_the_exact_decimal_written(written, exact):
    assert _consortium(written).spec.max_firm_share == exact


@pytest.mark.parametrize("value", [0, 0.0, -0.25, 1.5, 2, 0.33333, 1e-5, True, "0.25", "25%",
                                   float("nan"), float("inf"), [0.25]])
def test_invalid_values_are_refused_with_a_clear_message(value):
    with pytest.raises(ConfigError, match="max_firm_share must be a number above 0 and at most "
                                          "1 with at most 4 decimals"):
        _consortium(value)


def test_the_setting_is_in_the_hash_and_off_hashes_as_before():
    quarter = _consortium(0.25).spec
    assert _consortium().spec.digest() == quarter.digest()
    assert _consortium(0.3).spec.digest() != quarter.digest()
    off = _consortium(1).spec
    assert off.digest() != quarter.digest()
    assert '"max_firm_share":"1/4"' in quarter.canonical()
    assert "max_firm_share" not in off.canonical()  # rule off: the spec means what it did


def test_rule_off_or_no_sum_or_mean_checks_nothing():
    assert _consortium(1).spec.dominance_kpis == ()
    assert _consortium(statistics=["count", "median", "q3"]).spec.dominance_kpis == ()
    assert _consortium(statistics=["count", "sum"]).spec.dominance_kpis == (0,)
    assert "dominance" not in rules_text(_consortium(1).spec).lower()
    assert "more than 25% of the total" in rules_text(_consortium().spec)


def test_library_api_takes_exact_values_only():
    kpis = _consortium().spec.kpis
    for value, exact in ((Fraction(1, 3), Fraction(1, 3)), (Decimal("0.4"), Fraction(2, 5)),
                         ("1/5", Fraction(1, 5)), (1, Fraction(1))):
        assert RoundSpec.create("r", kpis, max_firm_share=value).max_firm_share == exact
    for bad in (0.25, 0, Fraction(3, 2), Fraction(1, 10001), "lots", True):
        with pytest.raises(ValueError, match="max_firm_share"):
            RoundSpec.create("r", kpis, max_firm_share=bad)


def test_single_purpose_programs_keep_the_setting():
    consortium = _consortium(0.5)
    assert with_statistics(consortium, [Metric.SUM]).spec.max_firm_share == Fraction(1, 2)


def test_a_share_no_round_of_these_firms_can_pass_is_flagged():
    assert unreachable_share(_consortium(parties=3).spec, 3)  # someone holds >= 1/3 > 1/4
    assert not unreachable_share(_consortium(parties=4).spec, 4)  # four equal firms pass
    assert not unreachable_share(_consortium(0.3334, parties=3).spec, 3)
    assert not unreachable_share(_consortium(1, parties=3).spec, 3)
    assert not unreachable_share(_consortium(statistics=["median"], parties=3).spec, 3)


def test_share_text():
    assert share_text(Fraction(1, 4)) == "25%"
    assert share_text(Fraction(1, 3)) == "33.33%"
    assert share_text(Fraction(3333, 10000)) == "33.33%"
    assert share_text(Fraction(1, 10000)) == "0.01%"
    assert share_text(Fraction(1)) == "100%"
