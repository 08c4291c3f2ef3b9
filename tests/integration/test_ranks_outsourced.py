"""Outsourced mode with real compute servers: each firm recombines its own position from shares.

The test plays the firms: it encodes and splits every row into Shamir shares (one file per
server), runs the servers, and recombines each row's record from ``t + 1`` servers' shares, as
the row's firm would, comparing against the plaintext oracle.
"""

from __future__ import annotations

import itertools
import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mpyc import finfields

from smpc_bench.outsourced.positions_server import parse_kpi
from smpc_bench.outsourced.splitting import split_for_servers
from smpc_bench.positions.delivery import decode_positions, recombine_shares
from smpc_bench.positions.ranks import PositionRules
from tests.partyrun import run_parties

pytestmark = pytest.mark.multiparty

PROGRAM = ["-m", "smpc_bench.outsourced.positions_server"]
KPIS = ["margin:-100:100:2:higher", "days:0:365:0:lower"]


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    specs = [parse_kpi(text) for text in KPIS]
    rng = np.random.default_rng(seed)
    offsets = np.stack([rng.choice(rng.integers(0, s.span + 1, n // 3 + 1), n) for s in specs])
    offsets[0, 0] = specs[0].span  # an outlier at the top of the range
    valid = (rng.random(offsets.shape) < 0.85).astype(np.int64)
    return offsets * valid, valid


def run_servers(tmp_path: Path, offsets: np.ndarray, valid: np.ndarray, servers: int,
                *flags: str) -> tuple[int, list[np.ndarray], list[dict]]:
    specs = [parse_kpi(text) for text in KPIS]
    threshold = (servers - 1) // 2
    _, prime, files = split_for_servers(specs, offsets, valid, servers, threshold, 4,
                                                tmp_path)
    results_files = [tmp_path / f"result{i}.npy" for i in range(servers)]
    kpi_flags = [arg for kpi in KPIS for arg in ("--kpi", kpi)]
    results = run_parties(
        lambda i: [*PROGRAM, "--shares", str(files[i]), "--result-file",
                   str(results_files[i]), "--prime", str(prime), *kpi_flags, *flags],
        servers, timeout=120)
    reports = [json.loads(r.stdout) for r in results]
    return prime, [np.load(path).astype(object) for path in results_files], reports


def expected_records(offsets: np.ndarray, valid: np.ndarray, higher: list[bool]) -> list[list]:
    """Per KPI, per row: (rank, percentile) by pandas and the 'mean' percentile, or None."""
    out = []
    for k, better_high in enumerate(higher):
        values = offsets[k][valid[k] == 1]
        ranks = iter(pd.Series(values).rank(method="min", ascending=not better_high)
                     .astype(int).tolist())
        row = []
        for value, ok in zip(offsets[k], valid[k], strict=True):
            if not ok:
                row.append(None)
                continue
            below, equal = int((values < value).sum()), int((values == value).sum())
            row.append((next(ranks), Fraction(100 * (2 * below + equal), 2 * len(values))))
        out.append(row)
    return out


@pytest.mark.parametrize("servers", [3, 5])
def test_every_firm_recombines_its_own_position(tmp_path: Path, servers: int) -> None:
    offsets, valid = make_data(40 if servers == 3 else 20, seed=servers)
    prime, shares, reports = run_servers(tmp_path, offsets, valid, servers)
    field = finfields.GF(prime)
    threshold = (servers - 1) // 2
    expected = expected_records(offsets, valid, [True, False])
    for report in reports:  # the servers learn the declared counts, and no position
        assert report["counts"] == valid.sum(axis=1).tolist()
        assert set(report) == {"party", "counts", "seconds", "phases", "openings",
                               "opened_elements"}
    for row in range(offsets.shape[1]):
        # Any t + 1 servers' shares of its own row give the firm the same record.
        records = {tuple(recombine_shares(field, {s: shares[s][:, row : row + 1]
                                                  for s in subset}).reshape(-1))
                   for subset in itertools.combinations(range(servers), threshold + 1)}
        assert len(records) == 1
        record = np.array(records.pop()).reshape(len(KPIS), 1, 3)
        positions = decode_positions(record)
        for k in range(len(KPIS)):
            got = positions[k][0]
            want = expected[k][row]
            assert (got is None) == (want is None)
            if got is not None:
                assert (got.rank, got.percentile) == want
                assert got.band == 1 + int(4 * want[1] // 100)


def test_coarsened_outsourced_round_releases_only_bands(tmp_path: Path) -> None:
    offsets, valid = make_data(40, seed=7)
    prime, shares, _ = run_servers(tmp_path, offsets, valid, 3, "--bands-only", "--bands", "10")
    field = finfields.GF(prime)
    records = recombine_shares(field, {0: shares[0], 2: shares[2]})
    positions = decode_positions(records, PositionRules(bands=10, bands_only=True))
    expected = expected_records(offsets, valid, [True, False])
    for k in range(len(KPIS)):
        for row, want in enumerate(expected[k]):
            got = positions[k][row]
            if want is None:
                assert got is None
            else:
                assert got is not None and got.rank is None and got.percentile is None
                assert got.band == 1 + int(10 * want[1] // 100)
