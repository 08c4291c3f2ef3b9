"""A contributor's submission: checked like `check`, encoded like a peer party, sealed per server.

No network here: the sealed bodies are opened with each server's private key and any t + 1
servers' shares recombine to exactly what a peer party would have shared.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import numpy as np
import pytest

from smpc_bench.inputs.firm_data import check_frame, read_table
from smpc_bench.outsourced.envelope import SUBMISSION, SealError, open_sealed
from smpc_bench.outsourced.keys import load_private_key
from smpc_bench.outsourced.payload import (
    PayloadError,
    PayloadShape,
    limbs_for,
    pack_shares,
    unpack_shares,
)
from smpc_bench.outsourced.submission import (
    ContributionError,
    ContributionFolder,
    RoundContext,
    data_digest,
    new_submission_id,
    read_rows,
    seal_submission,
    submit_contribution,
)
from smpc_bench.spec.encoding import encode_digits, encode_rows
from smpc_bench.spec.kpi import InputError
from tests.outsourced_round import SMALL_KPIS, WIDE_KPIS, make_round, write_csv


def lagrange_at_zero(points: dict[int, object], prime: int) -> np.ndarray:
    """Recombine shares {x: array} to the secrets (test oracle, Python integers)."""
    xs = list(points)
    total = None
    for x in xs:
        weight = 1
        for other in xs:
            if other != x:
                weight = weight * other * pow(other - x, -1, prime) % prime
        term = np.asarray(points[x], dtype=object) * weight
        total = term if total is None else total + term
    return np.asarray(total, dtype=object) % prime


def open_all(context: RoundContext, round_folder: Path, bodies: list[bytes], rows: int
             ) -> list[tuple[np.ndarray, np.ndarray]]:
    opened = []
    for index, body in enumerate(bodies):
        document = json.loads(body)
        assert document["server_index"] == index and document["rows"] == rows
        key = load_private_key(round_folder / "keys" / f"server{index}.hpke.key")
        plaintext = open_sealed(key, base64.b64decode(document["sealed"]), purpose=SUBMISSION,
                                round_id=context.round_id, server_index=index,
                                submission_id=document["submission_id"])
        opened.append(unpack_shares(plaintext, context.shape, rows))
    return opened


@pytest.mark.parametrize("tokens, kpis, big", [(4, SMALL_KPIS, False), (300, None, False),
                                              (300, WIDE_KPIS, True)])
def test_any_majority_of_servers_recombines_the_peer_encoding(tmp_path: Path, tokens: int,
                                                              kpis: str | None,
                                                              big: bool) -> None:
    round_ = make_round(tmp_path, tokens=tokens, max_rows=2,
                        **({"kpis": kpis} if kpis else {}))
    consortium = round_.consortium()
    context = RoundContext.load(consortium)
    assert (context.prime >= 1 << 64) is big and limbs_for(context.prime) == (2 if big else 1)
    header = tuple(k.name for k in consortium.spec.kpis)
    cells = {("revenue", "gross_margin"): [["4250000", "61.5"], ["17", ""]],
             ("gross_margin",): [["61.5"], ["17"]],
             ("assets",): [["199999999999999"], ["17"]]}[header]
    data = write_csv(tmp_path / "firm.csv", cells, header=header)
    rows = read_rows(consortium, data).rows
    key = ContributionFolder(tmp_path / "me").result_key()
    bodies = seal_submission(context, rows, key.public_key(), new_submission_id())
    opened = open_all(context, tmp_path, bodies, rows=2)
    offsets, valid = encode_rows(consortium.spec.kpis, rows)
    digits = encode_digits(offsets, context.sizing.value_bits, consortium.spec.radix_bits)
    for pair in ((0, 1), (1, 2), (0, 2)):  # t = 1: any two of three servers
        points = {i + 1: opened[i][0] for i in pair}
        assert lagrange_at_zero(points, context.prime).tolist() == \
            digits.reshape(len(header), -1).tolist()
        points = {i + 1: opened[i][1] for i in pair}
        assert lagrange_at_zero(points, context.prime).tolist() == valid.tolist()
    # One server's shares alone are not the encoding.
    assert opened[0][0].tolist() != digits.reshape(len(header), -1).tolist()


def test_a_body_opens_only_at_its_own_server(tmp_path: Path) -> None:
    round_ = make_round(tmp_path, tokens=3, kpis=SMALL_KPIS)
    context = RoundContext.load(round_.consortium())
    key = ContributionFolder(tmp_path / "me").result_key()
    bodies = seal_submission(context, [["50"]], key.public_key(), new_submission_id())
    document = json.loads(bodies[1])
    with pytest.raises(SealError):
        open_sealed(load_private_key(round_.keys(0).hpke_key),
                    base64.b64decode(document["sealed"]), purpose=SUBMISSION,
                    round_id=context.round_id, server_index=1,
                    submission_id=document["submission_id"])


def test_data_is_checked_exactly_as_check_does(tmp_path: Path) -> None:
    round_ = make_round(tmp_path, tokens=3)
    consortium = round_.consortium()
    bad = write_csv(tmp_path / "bad.csv", [["1,250,000", "61.5"]])
    with pytest.raises(InputError) as caught:
        read_rows(consortium, bad)
    # Exactly what `smpc-bench check` reports for the file (same functions).
    check = check_frame(read_table(bad), consortium.spec.kpis, source=str(bad))
    assert check.problems and all(problem in str(caught.value) for problem in check.problems)
    assert all(part in str(caught.value) for part in ("bad.csv", "line 2", "revenue"))
    two = write_csv(tmp_path / "two.csv", [["1", "2"], ["3", "4"]])
    with pytest.raises(InputError, match="2 rows, but this round takes at most 1 row"):
        read_rows(consortium, two)
    with pytest.raises(InputError, match="token does not look right"):
        submit_contribution(consortium, two, "not-a-token", folder=tmp_path / "me")


def test_out_writes_sealed_files_and_a_receipt(tmp_path: Path) -> None:
    round_ = make_round(tmp_path, tokens=3)
    consortium = round_.consortium()
    data = write_csv(tmp_path / "firm.csv", [["1200", "33.3"]])
    report = submit_contribution(consortium, data, round_.tokens[0], folder=tmp_path / "me",
                                 out=tmp_path / "files")
    assert report.complete and len(report.files) == 3
    written = json.loads(Path(report.files[2]).read_text(encoding="utf-8"))
    assert written["token"] == round_.tokens[0] and written["server_index"] == 2
    receipt = json.loads((tmp_path / "me" / "receipt.json").read_text(encoding="utf-8"))
    assert receipt["submission_id"] == report.submission_id == written["submission_id"]
    assert receipt["round_id"] == report.round_id and receipt["complete"]
    assert [s["state"] for s in receipt["servers"]] == ["written"] * 3
    # The receipt's digest says nothing without the result key; the same data gives the
    # same submission again, other data a new one.
    key = ContributionFolder(tmp_path / "me").result_key()
    assert receipt["data_digest"] == data_digest(key, [["1200", "33.3"]])
    again = submit_contribution(consortium, data, round_.tokens[0], folder=tmp_path / "me",
                                out=tmp_path / "files")
    assert again.submission_id == report.submission_id and again.resumed
    assert json.loads(Path(again.files[2]).read_text(encoding="utf-8")) == written
    other = write_csv(tmp_path / "other.csv", [["1300", "33.3"]])
    new = submit_contribution(consortium, other, round_.tokens[0], folder=tmp_path / "me",
                              out=tmp_path / "files")
    assert new.submission_id != report.submission_id and new.replaced == report.submission_id


def test_a_folder_of_another_round_is_refused(tmp_path: Path) -> None:
    first = make_round(tmp_path / "one", tokens=3)
    second = make_round(tmp_path / "two", tokens=3)
    data = write_csv(tmp_path / "firm.csv", [["1200", "33.3"]])
    submit_contribution(first.consortium(), data, first.tokens[0], folder=tmp_path / "me",
                        out=tmp_path / "files")
    with pytest.raises(ContributionError, match="another round"):
        submit_contribution(second.consortium(), data, second.tokens[0],
                            folder=tmp_path / "me", out=tmp_path / "files")


def test_payload_checks_shape_type_and_range() -> None:
    shape = PayloadShape(kpis=2, width=32, prime=(1 << 61) - 1)
    digits = np.ones((2, 64), dtype=np.uint64)
    valid = np.ones((2, 2), dtype=np.uint64)
    data = pack_shares(digits, valid, shape.prime)
    assert len(data) <= shape.max_bytes(2)
    assert [a.tolist() for a in unpack_shares(data, shape, 2)] == [digits.tolist(),
                                                                  valid.tolist()]
    with pytest.raises(PayloadError, match="shape"):
        unpack_shares(data, shape, 1)
    with pytest.raises(PayloadError, match="below the round's prime"):
        unpack_shares(pack_shares(digits * np.uint64(shape.prime), valid, shape.prime), shape,
                      2)
    with pytest.raises(PayloadError, match="readable"):
        unpack_shares(data[:-20], shape, 2)
    with pytest.raises(PayloadError, match="readable"):
        unpack_shares(b"garbage", shape, 2)
    big = PayloadShape(kpis=1, width=2, prime=(1 << 89) - 1)
    values = np.array([[big.prime - 1, 5]], dtype=object)
    back = unpack_shares(pack_shares(values, np.array([[1]], dtype=object), big.prime), big, 1)
    assert back[0].tolist() == values.tolist()
    with pytest.raises(PayloadError, match="below"):
        unpack_shares(pack_shares(values + 1, np.array([[1]], dtype=object), big.prime), big, 1)
