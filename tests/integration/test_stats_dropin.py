"""``smpc_bench.stats`` with 3 real party processes: results and the opening log.

Party 0 inputs the data as MPyC secure integers or fixed-point numbers; every party must open
exactly what Python's ``statistics`` gives (rounded once to the type's grid by default, exact
with ``exact=True``), and the openings (shapes, as a multiset: their order follows message
arrival) must be the same for different data of one size.
Values outside given bounds stop every party with the ValueError.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from tests import stats_oracles as oracle
from tests.partyrun import run_parties

pytestmark = pytest.mark.multiparty

PROGRAM = Path(__file__).parent / "programs" / "stats_dropin.py"


def parse(text):
    return float.fromhex(text) if "0x" in text else Fraction(text)


def run(data, kind="int", bounds=None, check=True):
    argv = [str(PROGRAM), "--data", json.dumps(data), "--type", kind]
    if bounds is not None:
        argv += ["--bounds", str(bounds[0]), str(bounds[1])]
    return run_parties(argv, 3, timeout=240, check=check)


def openings(report):
    """The openings as a multiset: with real parties their order follows MPyC's scheduling
    (message arrival), which may differ from party to party; what is opened may not."""
    return sorted(json.dumps(o) for o in report["openings"])


def reports(results):
    parsed = [json.loads(r.stdout.strip().splitlines()[-1]) for r in results]
    for report in parsed:  # every party opens the same
        assert report["results"] == parsed[0]["results"]
        assert openings(report) == openings(parsed[0])
    return parsed[0]


def expected(data, frac_length):
    """What the program must print, from the plaintext oracles."""
    answers = {}
    scalars = ["mean", "median", "median_low", "median_high", "pvariance", "pstdev"]
    if len(data) >= 2:
        scalars += ["variance", "stdev"]
    for name in scalars:
        answers[name] = [oracle.rounded(name, data, frac_length)]
        answers[f"{name} exact"] = [oracle.exact(name, data)]
    if len(data) >= 2:
        answers["quartiles"] = oracle.rounded("quantiles", data, frac_length)
        answers["quartiles exact"] = oracle.exact("quantiles", data)
        answers["deciles"] = oracle.rounded("quantiles", data, frac_length, n=10,
                                            method="inclusive")
        answers["deciles exact"] = oracle.exact("quantiles", data, n=10, method="inclusive")
    answers["percentiles"] = oracle.rounded("percentiles", data, frac_length, ps=[10, 50, 90])
    return answers


def check_results(report, data, frac_length):
    got = {name: [parse(v) for v in values] for name, values in report["results"].items()}
    want = expected(data, frac_length)
    assert set(got) == set(want)
    for name, values in want.items():
        assert [Fraction(v) if not isinstance(v, float) else v for v in got[name]] == [
            Fraction(v) if not isinstance(v, float) else v for v in values], name


@pytest.mark.parametrize(("data", "kind", "frac_length"), [
    ([7], "int", 0),
    ([3, -2], "int", 0),
    ([-4, 9, 9], "int", 0),
    ([5, 5, 5, 5, 5], "int", 0),
    ([-17, 250, -3, 88, -3, 1000, 42, -999, 0, 7, 7], "int", 0),
    ([0.5], "fxp", 16),
    ([-1.25, 3.0, 2.5, -0.75, 2.5, 10.125, -33.0], "fxp", 16),
], ids=["n=1", "n=2", "n=3 ties", "all equal", "negatives and ties", "fxp n=1", "fxp"])
def test_three_parties_open_what_statistics_gives(data, kind, frac_length):
    check_results(reports(run(data, kind)), data, frac_length)


def test_opening_log_is_the_same_for_other_data_of_one_size():
    first = [-17, 250, -3, 88, -3, 1000, 42, -999, 0, 7]
    second = [5] * 10
    third = sorted(first, reverse=True)
    logs = []
    for data in (first, second, third):
        report = reports(run(data, bounds=(-1000, 1000)))
        check_results(report, data, 0)
        logs.append(openings(report))
    assert logs[0] == logs[1] == logs[2]
    assert len(logs[0]) > 40  # the masked openings inside, not only the outputs


SCRIPT = Path(__file__).resolve().parents[2] / "protocols" / "stats_dropin.py"
PARTY_VALUES = [["12", "7", "30", "-4"], ["7", "7"], ["100", "0", "3"]]


def run_script(*flags, values=PARTY_VALUES, check=True):
    return run_parties(lambda i: [str(SCRIPT), "--values", *values[i], *flags], 3,
                       timeout=240, check=check)


def printed(result):
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    return {name: [Fraction(v) for v in text.split(", ")] for name, text in lines.items()}


def test_the_protocol_script_prints_what_statistics_gives():
    data = [Fraction(v) for values in PARTY_VALUES for v in values]
    for result in run_script():
        got = printed(result)
        assert got["mean"] == [oracle.rounded("mean", data, 0)]
        assert got["median"] == [oracle.rounded("median", data, 0)]
        assert got["quartiles"] == oracle.rounded("quantiles", data, 0)
        assert got["stdev"] == [oracle.rounded("stdev", data, 0)]
    for result in run_script("--exact", "--bounds", "-10", "100"):
        got = printed(result)
        assert got["mean"] == [oracle.exact("mean", data)]
        assert got["quartiles"] == oracle.exact("quantiles", data)


def test_values_outside_bounds_stop_every_party():
    results = run_script("--bounds", "0", "50", check=False)  # 100 and -4 lie outside
    for result in results:
        assert result.returncode != 0
        assert "ValueError: a value lies outside the bounds" in result.stderr
        assert "mean:" not in result.stdout  # nothing was released
