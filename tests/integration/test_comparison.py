"""``smpc_bench.core.less_than`` with real party processes: 3 and 5 parties, with/without PRSS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.partyrun import run_parties

pytestmark = pytest.mark.multiparty

PROGRAM = Path(__file__).parent / "programs" / "comparisons.py"


@pytest.mark.parametrize(("parties", "flags"), [
    (3, []),
    (5, []),  # threshold 2: products reshared among five
    (3, ["--no-prss"]),  # the masks' randomness made interactively
    # Party 1 without accelerations: it sends object rows, receives the others' word rows.
    (3, ["--stock-party", "1"]),
])
def test_every_party_opens_the_plaintext_answer(parties, flags):
    results = run_parties([str(PROGRAM), "--bits", "7", "--seed", str(parties), *flags],
                          parties, timeout=240)
    reports = [json.loads(r.stdout.strip().splitlines()[-1]) for r in results]
    expected = [int(v < 0) for v in reports[0]["values"]]
    assert len(expected) == (1 << 7) + 200
    for report in reports:
        assert report["results"] == expected
