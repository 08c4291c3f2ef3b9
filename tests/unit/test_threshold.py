"""The collusion threshold: validation, default, hash, MPyC flags and the randomness rule."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from smpc_bench.cli.mpyc_flags import mpyc_flags
from smpc_bench.cli.run import with_statistics
from smpc_bench.engine import prss as prss_keys
from smpc_bench.inputs.consortium import ConfigError, parse_config
from smpc_bench.spec import threshold
from smpc_bench.spec.metrics import Metric
from smpc_bench.spec.round_spec import RoundSpec


def _consortium(parties: int = 5, security: dict | None = None):
    document: dict = {
        "disclosure": {"min_contributions": 3},
        "kpis": [{"name": "x", "lower": 0, "upper": 5}],
        "parties": [{"name": f"Firm {i}", "address": f"host{i}.example:{11365 + i}"}
                    for i in range(parties)],
    }
    if security is not None:
        document["security"] = security
    return parse_config(document)


def _runtime(parties: int, t: int, *, no_prss: bool = False) -> SimpleNamespace:
    """The attributes of MPyC's runtime that smpc_bench.spec.threshold reads and writes."""
    return SimpleNamespace(parties=list(range(parties)), threshold=t, pid=0,
                           options=SimpleNamespace(no_prss=no_prss))


@pytest.fixture(autouse=True)
def _fresh_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(prss_keys, "_requested_no_prss", None)


@pytest.mark.parametrize(("parties", "expected"), [(1, 0), (3, 1), (4, 1), (5, 2), (6, 2),
                                                   (7, 3), (12, 5)])
def test_default_is_mpyc_default(parties: int, expected: int) -> None:
    assert threshold.default_threshold(parties) == expected


def test_default_when_not_configured() -> None:
    consortium = _consortium()
    assert consortium.spec.threshold is None  # MPyC's (m - 1) // 2 at run time
    assert "-T" not in mpyc_flags(consortium, "0", [], tls=False)[0]


@pytest.mark.parametrize(("parties", "value"), [(3, 1), (5, 1), (5, 2), (12, 5)])
def test_valid_thresholds(parties: int, value: int) -> None:
    assert _consortium(parties, {"threshold": value}).spec.threshold == value


@pytest.mark.parametrize(("parties", "value", "message"), [
    (5, 0, "at least 1"),
    (5, -1, "at least 1"),
    (5, 3, "with 5 firms it can be at most 2"),
    (4, 2, "with 4 firms it can be at most 1"),
    (5, "two", "whole number"),
    (5, 1.5, "whole number"),
    (5, True, "whole number"),
])
def test_invalid_thresholds_are_explained(parties: int, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        _consortium(parties, {"threshold": value})
    assert str(error.value).startswith("security.threshold")


def test_two_parties_allow_no_threshold() -> None:
    with pytest.raises(ValueError, match="at least 3 firms"):
        threshold.check_threshold(1, 2)


def test_unknown_security_setting() -> None:
    with pytest.raises(ConfigError, match=r"\[security\]: unknown setting"):
        _consortium(5, {"treshold": 1})


def test_without_parties_only_the_lower_bound_is_checked() -> None:
    document = {"kpis": [{"name": "x", "lower": 0, "upper": 5}], "security": {"threshold": 4}}
    assert parse_config(document).spec.threshold == 4  # checked against -P at run time
    document["security"] = {"threshold": 0}
    with pytest.raises(ConfigError, match="at least 1"):
        parse_config(document)


def test_threshold_is_in_the_hash() -> None:
    default, one, two = (_consortium(5, security).spec for security in
                         (None, {"threshold": 1}, {"threshold": 2}))
    assert len({default.digest(), one.digest(), two.digest()}) == 3
    assert _consortium(5, {"threshold": 1}).spec.digest() == one.digest()
    assert '"threshold":1' in one.canonical()
    # Not configured: the canonical form is the one of files written before the setting.
    assert "threshold" not in default.canonical()
    assert with_statistics(_consortium(5, {"threshold": 1}), [Metric.COUNT]).spec.threshold == 1


def test_round_spec_refuses_a_zero_threshold() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RoundSpec.create("r", _consortium().spec.kpis, threshold=0)


def test_configured_threshold_becomes_t_flag() -> None:
    flags, _ = mpyc_flags(_consortium(5, {"threshold": 1}), "2", [], tls=False)
    assert flags[flags.index("-T") + 1] == "1"
    local, _ = mpyc_flags(_consortium(5, {"threshold": 2}), None, ["-M5", "-I", "0"], tls=False)
    assert local[-2:] == ["-T", "2"]


def test_agreeing_t_flag_is_kept_once() -> None:
    flags, _ = mpyc_flags(_consortium(5, {"threshold": 1}), "0", ["-T", "1"], tls=False)
    assert flags.count("-T") == 1


@pytest.mark.parametrize(("security", "given", "message"), [
    ({"threshold": 1}, ["-T", "2"], "-T 2 and the configuration's threshold = 1 disagree"),
    ({"threshold": 1}, ["--threshold=2"], "disagree"),
    (None, ["-T", "3"], "-T: the threshold is 3, but with 5 firms it can be at most 2"),
    (None, ["-T", "0"], "at least 1"),
    (None, ["-T", "x"], "whole number"),
])
def test_t_flag_errors(security: dict | None, given: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        mpyc_flags(_consortium(5, security), "0", given, tls=False)


def test_threshold_is_checked_against_the_p_flags() -> None:
    addresses = [arg for i in range(3) for arg in ("-P", f"h{i}:1")]
    with pytest.raises(ConfigError, match="with 3 firms it can be at most 1"):
        mpyc_flags(_consortium(5, {"threshold": 2}), "0", addresses, tls=False)


def test_one_party_simulation_gets_no_t_flag() -> None:
    flags, _ = mpyc_flags(_consortium(5, {"threshold": 2}), None, ["-M1"], tls=False)
    assert flags == ["-M1"]


@pytest.mark.parametrize(("parties", "t", "prss"), [
    (3, 1, True), (5, 2, True), (6, 2, True), (7, 3, False), (7, 2, True), (8, 3, False),
    (12, 1, True), (12, 2, False), (12, 5, False),
])
def test_randomness_rule(parties: int, t: int, prss: bool) -> None:
    assert threshold.uses_prss(parties, t) is prss
    mpc = _runtime(parties, t)
    assert prss_keys.hold_back_prss_keys(mpc) is prss
    assert mpc.options.no_prss is True  # the handshake carries no PRSS keys
    mode = "pseudorandom" if prss else "interactive"
    assert mode in prss_keys.agreement_terms(mpc, prss)
    assert mode in threshold.describe(parties, t, prss)


def test_no_prss_flag_forces_interactive_randomness() -> None:
    mpc = _runtime(3, 1, no_prss=True)
    assert prss_keys.hold_back_prss_keys(mpc) is False
    # Remembered: a later round in the same process still follows the user's flag.
    assert prss_keys.will_use_prss(_runtime(3, 1)) is False


def test_agreement_terms_differ_by_threshold_and_mode() -> None:
    terms = {prss_keys.agreement_terms(_runtime(5, t), prss) for t in (1, 2)
             for prss in (True, False)}
    assert len(terms) == 4


def test_runtime_threshold_checks() -> None:
    prss_keys.check_runtime_threshold(_runtime(5, 2), None)
    prss_keys.check_runtime_threshold(_runtime(5, 1), 1)
    prss_keys.check_runtime_threshold(_runtime(1, 0), 2)  # 1-party simulation: no sharing
    with pytest.raises(prss_keys.ThresholdError, match="threshold 2 .-T. but the configuration"):
        prss_keys.check_runtime_threshold(_runtime(5, 2), 1)
    with pytest.raises(prss_keys.ThresholdError, match="at least 1"):
        prss_keys.check_runtime_threshold(_runtime(3, 0), None)
