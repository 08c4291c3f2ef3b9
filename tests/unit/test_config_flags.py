"""How `smpc-bench run` turns the configuration into MPyC's flags, and the TLS file layout."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest

from smpc_bench.cli.mpyc_flags import mpyc_flags
from smpc_bench.cli.run import with_statistics
from smpc_bench.inputs.certificates import make_certificates
from smpc_bench.inputs.consortium import ConfigError, parse_config
from smpc_bench.inputs.tls import TlsFiles, mpyc_tls_layout
from smpc_bench.spec.metrics import Metric


def _consortium(addresses: list[str]):
    return parse_config({
        "disclosure": {"min_contributions": 3},
        "kpis": [{"name": "x", "lower": 0, "upper": 5}],
        "parties": [{"name": f"Firm {i}", "address": a} for i, a in enumerate(addresses)],
    })


ADDRESSES = ["alfa.example:11365", "beta.example:11366", "gamma.example:11367"]


def test_party_becomes_index_and_addresses_become_p_flags() -> None:
    flags, index = mpyc_flags(_consortium(ADDRESSES), "1", [], tls=False)
    assert index == 1
    assert flags == ["-I", "1", "-P", ADDRESSES[0], "-P", ADDRESSES[1], "-P", ADDRESSES[2]]


def test_party_by_name_and_ssl_and_quiet() -> None:
    flags, index = mpyc_flags(_consortium(ADDRESSES), "firm 2", ["-T", "1"], tls=True,
                              quiet=True)
    assert index == 2
    assert flags[:4] == ["-T", "1", "-I", "2"]
    assert flags[-2:] == ["--ssl", "--no-log"]


def test_explicit_p_flags_win_over_the_configuration() -> None:
    given = ["-P", "a:1", "-P", "b:2", "-P", "c:3", "-I0"]
    flags, index = mpyc_flags(_consortium(ADDRESSES), None, given, tls=False)
    assert flags == given and index == 0


def test_local_runs_keep_mpyc_local_flags() -> None:
    flags, index = mpyc_flags(_consortium(ADDRESSES), None, ["-M3", "-I", "2", "-B", "20000"],
                              tls=False)
    assert flags == ["-M3", "-I", "2", "-B", "20000"] and index == 2


@pytest.mark.parametrize(("party", "flags", "message"), [
    (None, [], "say which party you are"),
    (None, ["-M", "3"], "say which party you are"),
    ("1", ["-I", "2"], "disagree"),
    ("9", [], "out of range"),
])
def test_flag_errors(party: str | None, flags: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        mpyc_flags(_consortium(ADDRESSES), party, flags, tls=False)


def test_missing_addresses_are_named() -> None:
    with pytest.raises(ConfigError, match="Firm 1"):
        mpyc_flags(_consortium([ADDRESSES[0], "", ADDRESSES[2]]), "0", [], tls=False)


def test_with_statistics_changes_the_hash() -> None:
    consortium = _consortium(ADDRESSES)
    summed = with_statistics(consortium, [Metric.COUNT, Metric.SUM])
    assert summed.spec.metrics == ((Metric.COUNT, Metric.SUM),)
    assert summed.spec.digest() != consortium.spec.digest()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("certs")
    make_certificates(folder, 3, organization="Test consortium")
    return folder


def test_certificates_have_mpyc_names_and_private_keys(certs: Path) -> None:
    from cryptography import x509

    for i in range(3):
        cert = x509.load_pem_x509_certificate((certs / f"party_{i}.crt").read_bytes())
        assert cert.subject.rfc4514_string().startswith(f"CN=MPyC party {i}")
        assert (certs / f"party_{i}.key").stat().st_mode & 0o077 == 0
    # The files load the way MPyC loads them for its mutual TLS.
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certs / "party_0.crt", certs / "party_0.key")
    context.load_verify_locations(cafile=certs / "mpyc_ca.crt")
    with pytest.raises(FileExistsError):
        make_certificates(certs, 3)


def test_tls_layout_copies_into_a_private_working_directory(certs: Path) -> None:
    before = Path.cwd()
    files = TlsFiles(certs / "party_1.crt", certs / "party_1.key", certs / "mpyc_ca.crt")
    with mpyc_tls_layout(files, 1) as folder:
        assert Path.cwd() == folder
        layout = TlsFiles.in_mpyc_layout(folder, 1)
        assert layout.key.read_bytes() == files.key.read_bytes()
        assert os.stat(layout.key).st_mode & 0o077 == 0
        assert layout.ca.is_file() and layout.cert.is_file()
    assert Path.cwd() == before
    assert not folder.exists()


def test_tls_layout_names_missing_files(tmp_path: Path) -> None:
    files = TlsFiles(tmp_path / "a.crt", tmp_path / "a.key", tmp_path / "ca.crt")
    with pytest.raises(FileNotFoundError, match="private key"), mpyc_tls_layout(files, 0):
        pass
