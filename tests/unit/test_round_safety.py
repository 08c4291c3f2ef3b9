"""The settings and files behind rounds that fail cleanly: progress timeout, TLS, atomic reports."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from smpc_bench.cli.failures import failure_log_path
from smpc_bench.cli.mpyc_flags import remote_addresses
from smpc_bench.engine import faults
from smpc_bench.engine.liveness import tick_seconds
from smpc_bench.inputs.certificates import make_certificates
from smpc_bench.inputs.consortium import ConfigError, is_loopback, parse_config
from smpc_bench.report.atomic import write_text_atomic, write_texts_atomic
from smpc_bench.spec.round_spec import DEFAULT_PROGRESS_TIMEOUT, RoundSpec


def _document(**network: object) -> dict[str, object]:
    document: dict[str, object] = {"disclosure": {"min_contributions": 3},
                                   "kpis": [{"name": "x", "lower": 0, "upper": 5}]}
    if network:
        document["network"] = network
    return document


def test_progress_timeout_defaults_to_60_seconds_and_keeps_older_hashes() -> None:
    default = parse_config(_document()).spec
    assert default.progress_timeout == DEFAULT_PROGRESS_TIMEOUT == 60
    assert parse_config(_document(progress_timeout=60)).spec.digest() == default.digest()
    assert "progress_timeout" not in default.canonical()  # a spec of before means the same


def test_progress_timeout_is_part_of_the_agreed_spec() -> None:
    short = parse_config(_document(progress_timeout=5)).spec
    assert short.progress_timeout == 5
    assert short.digest() != parse_config(_document()).spec.digest()
    assert '"progress_timeout":5' in short.canonical()


@pytest.mark.parametrize("value", [0, -3, 86_401, 2.5, "60", True, [60]])
def test_progress_timeout_is_validated(value: object) -> None:
    with pytest.raises(ConfigError, match=r"network\.progress_timeout: .*whole number of "
                                          r"seconds from 1 to 86400"):
        parse_config(_document(progress_timeout=value))
    with pytest.raises(ValueError, match="progress timeout"):
        RoundSpec.create("r", parse_config(_document()).spec.kpis,
                         progress_timeout=value)  # type: ignore[arg-type]


def test_unknown_network_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"\[network\]: unknown setting"):
        parse_config(_document(heartbeat=1))


def test_heartbeats_follow_the_progress_timeout() -> None:
    assert tick_seconds(60) == 5.0 and tick_seconds(5) == 0.5 and tick_seconds(1) == 0.2


@pytest.mark.parametrize(("host", "local"), [
    ("localhost", True), ("127.0.0.1", True), ("127.8.9.10", True), ("::1", True),
    ("[::1]", True), ("LOCALHOST", True), ("10.0.0.1", False), ("bakery.example", False),
    ("0.0.0.0", False), ("", False)])
def test_loopback_hosts(host: str, local: bool) -> None:
    assert is_loopback(host) is local


def test_remote_addresses_are_those_not_on_this_machine() -> None:
    assert remote_addresses(["-P", "localhost:1", "-P127.0.0.1:2", "-P", "[::1]:3"]) == []
    assert remote_addresses(["-P", "a.example:1", "-P", "localhost:2", "-Pb:3"]) == [
        "a.example:1", "b:3"]
    assert remote_addresses(["-M", "3", "-I", "0"]) == []  # MPyC's local parties
    assert remote_addresses(["-C", "parties.ini"])  # a party file is not read: not local
    assert remote_addresses(["-P", ":11365", "-P", "localhost:11366"]) == []  # own entry


def test_certificates_name_the_firm_and_the_mpyc_index(tmp_path: Path) -> None:
    written = make_certificates(tmp_path, 2, organization="Bakery benchmark",
                                names=["Bakkerij Alfa", "Bäckerei Beta"])
    for i, firm in enumerate(["Bakkerij Alfa", "Bäckerei Beta"]):
        subject = x509.load_pem_x509_certificate(
            (tmp_path / f"party_{i}.crt").read_bytes()).subject
        assert subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == \
            f"MPyC party {i}"
        assert subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == firm
        assert subject.get_attributes_for_oid(
            NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value == "Bakery benchmark"
    assert not (tmp_path / ".gitignore").exists()  # not inside a git work tree
    assert {p.name for p in written} == {"mpyc_ca.crt", "mpyc_ca.key", "party_0.crt",
                                         "party_0.key", "party_1.crt", "party_1.key"}
    with pytest.raises(ValueError, match="2 firm names for 3 parties"):
        make_certificates(tmp_path / "other", 3, names=["a", "b"])


def test_keys_made_inside_a_git_work_tree_are_ignored_by_git(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    written = make_certificates(tmp_path / "certs", 1)
    ignore = tmp_path / "certs" / ".gitignore"
    assert ignore in written and "*.key" in ignore.read_text(encoding="utf-8").splitlines()


def test_atomic_write_replaces_whole_files_only(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("old\n", encoding="utf-8")
    write_text_atomic(target, "new\n")
    assert target.read_text(encoding="utf-8") == "new\n"
    assert os.stat(target).st_mode & 0o777 == 0o644 & ~_umask()

    with pytest.raises(TypeError):
        write_text_atomic(target, 42)  # type: ignore[arg-type]
    assert target.read_text(encoding="utf-8") == "new\n"  # the old file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary file left
    written = write_texts_atomic({tmp_path / "a.csv": "a\r\n", tmp_path / "b.html": "<p>"})
    assert [p.read_bytes() for p in written] == [b"a\r\n", b"<p>"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_failure_log_goes_next_to_an_existing_report_only(tmp_path: Path) -> None:
    assert failure_log_path(str(tmp_path), 2) == tmp_path / "failure-party2.log"
    missing = tmp_path / "not-yet"
    log = failure_log_path(str(missing), 1)
    try:
        assert log.parent != missing and log.name.startswith("smpc-bench-party1-")
        assert not missing.exists()  # a failed round creates no report folder
    finally:
        log.unlink()


def test_the_fault_switch_is_inert_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(faults.ENVIRONMENT_VARIABLE, raising=False)
    assert faults.planned() is None
    faults.inject("sharing inputs")  # nothing happens
    assert faults.hold_seconds("sharing inputs") == 0.0
    monkeypatch.setenv(faults.ENVIRONMENT_VARIABLE, "stop:sharing inputs")
    assert faults.planned() == ("stop", "sharing inputs")
    faults.inject("computing and releasing")  # another phase: nothing happens either
    monkeypatch.setenv(faults.ENVIRONMENT_VARIABLE, "explode:sharing inputs")
    with pytest.raises(ValueError, match="expected <action>:<phase>"):
        faults.planned()
