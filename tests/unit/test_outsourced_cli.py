"""The outsourced-mode subcommands: what they print and their user errors.

keygen, enrol, submit and serve; check, certs and keygen on an outsourced consortium file.
"""

from __future__ import annotations

import argparse
import json
import shutil
import ssl
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from smpc_bench.cli import enrol, keygen, serve, submit
from smpc_bench.cli import main as cli_main
from smpc_bench.inputs.outsourced_config import round_id
from smpc_bench.spec import exit_codes
from tests.outsourced_round import SMALL_KPIS, make_round, write_csv


def run(module: object, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="smpc-bench")
    module.add_parser(parser.add_subparsers())  # type: ignore[attr-defined]
    args = parser.parse_args(list(argv))
    return int(args.handler(args))


def test_keygen_server_writes_private_keys_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                ) -> None:
    round_ = make_round(tmp_path / "round", tokens=3, kpis=SMALL_KPIS)
    out = tmp_path / "newkeys"
    assert run(keygen, "keygen", "--server", "1", "--config", str(round_.config), "--out",
               str(out)) == exit_codes.OK
    text = capsys.readouterr().out
    assert "server 1 (Server B)" in text and "keep on this server only" in text
    assert "copy the public file" in text  # the configuration points to keys/, not newkeys/
    for name in ("server1.hpke.key", "server1.tls.key"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    before = (out / "server1.hpke.key").read_bytes()
    assert run(keygen, "keygen", "--server", "1", "--config", str(round_.config), "--out",
               str(out)) == exit_codes.ERROR
    assert "never overwritten" in capsys.readouterr().err
    assert (out / "server1.hpke.key").read_bytes() == before
    assert run(keygen, "keygen", "--server", "7", "--config", str(round_.config), "--out",
               str(out)) == exit_codes.BAD_INPUT
    assert "out of range" in capsys.readouterr().err


def test_keygen_without_server_makes_the_peer_certificates(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    assert run(keygen, "keygen", "--parties", "3", "--out", str(tmp_path / "certs"),
               "--json") == exit_codes.OK
    files = {Path(p).name for p in json.loads(capsys.readouterr().out)["files"]}
    assert {"mpyc_ca.crt", "mpyc_ca.key", "party_2.crt", "party_2.key"} <= files


def test_enrol_with_count_or_names(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(enrol, "enrol", "--count", "4", "--out", str(tmp_path / "a")) == exit_codes.OK
    assert len((tmp_path / "a" / "tokens.sha256").read_text().split()) == 4
    assert "hand each member only its own token" in capsys.readouterr().out
    names = tmp_path / "names.txt"
    names.write_text("Bakker Alfa\nBakker Beta\n\n", encoding="utf-8")
    assert run(enrol, "enrol", "--names", str(names), "--out", str(tmp_path / "b"),
               "--json") == exit_codes.OK
    assert json.loads(capsys.readouterr().out)["tokens"] == 2
    assert "Bakker Beta," in (tmp_path / "b" / "tokens.csv").read_text(encoding="utf-8")
    assert run(enrol, "enrol", "--count", "3", "--names", str(names), "--out",
               str(tmp_path / "c")) == exit_codes.BAD_INPUT
    assert run(enrol, "enrol", "--count", "2", "--out", str(tmp_path / "b")) == exit_codes.ERROR
    assert "never overwritten" in capsys.readouterr().err


def test_submit_user_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    round_ = make_round(tmp_path, tokens=3)
    bad = write_csv(tmp_path / "bad.csv", [["lots", "10"]])
    args = ["submit", "--config", str(round_.config), "--data", str(bad), "--state",
            str(tmp_path / "me")]
    monkeypatch.delenv(submit.TOKEN_VARIABLE, raising=False)
    assert run(submit, *args) == exit_codes.BAD_INPUT
    assert "give your enrolment token" in capsys.readouterr().err
    monkeypatch.setenv(submit.TOKEN_VARIABLE, round_.tokens[0])
    assert run(submit, *args) == exit_codes.BAD_INPUT
    err = capsys.readouterr().err
    # The same finding as `smpc-bench check`: the file, the line and the column.
    assert all(part in err for part in ("bad.csv", "line 2", "revenue")), err
    assert "Traceback" not in err
    assert run(submit, "submit", "--config", str(tmp_path / "nope.toml"), "--data", str(bad),
               "--token", round_.tokens[0]) == exit_codes.BAD_INPUT
    assert "nope.toml not found" in capsys.readouterr().err


def test_serve_refuses_wrong_keys_and_plain_http(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    round_ = make_round(tmp_path, tokens=3, kpis=SMALL_KPIS)
    base = ["serve", "--config", str(round_.config), "--db", str(tmp_path / "s.sqlite")]
    # Server 0's private key with server 1's published key: contributors would seal to
    # another key than the one the server opens with.
    shutil.copy(round_.keys(0).hpke_key, tmp_path / "server1.hpke.key")
    assert run(serve, *base, "--server", "1", "--keys", str(tmp_path)) == exit_codes.BAD_INPUT
    assert "does not belong to the public key" in capsys.readouterr().err
    assert run(serve, *base, "--server", "0", "--keys", str(tmp_path / "none")) == \
        exit_codes.BAD_INPUT
    assert "not found" in capsys.readouterr().err
    assert run(serve, *base, "--server", "0", "--insecure-http") == exit_codes.BAD_INPUT
    assert "only for an http:// url" in capsys.readouterr().err
    plain = make_round(tmp_path / "plain", tokens=3, kpis=SMALL_KPIS, scheme="http")
    assert run(serve, "serve", "--config", str(plain.config), "--server", "0", "--db",
               str(tmp_path / "p.sqlite")) == exit_codes.BAD_INPUT
    assert "runs over HTTPS" in capsys.readouterr().err


# --- check, certs and keygen on an outsourced consortium ------------------------------------

def _check(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli_main.main(["check", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_check_describes_the_outsourced_round(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    round_ = make_round(tmp_path, tokens=3, kpis=SMALL_KPIS, max_rows=2,
                        deadline="2099-06-30T12:00:00Z")
    config = str(round_.config)
    identifier = round_id(round_.consortium())
    data = write_csv(tmp_path / "ours.csv", [["41.5"], ["60"]], header=("gross_margin",))
    code, out, err = _check(capsys, "--config", config, "--data", str(data))
    assert (code, err) == (exit_codes.OK, "")
    lines = out.splitlines()
    assert "outsourced round on 3 compute servers, at least 3 contributors" in lines[0]
    assert "0 parties" not in out and "colluding firm" not in out
    for i, name in enumerate(["Server A", "Server B", "Server C"]):
        assert f"    {i}  {name}  intake {round_.url(i)}" in lines
    assert "  threshold 1 (default): withstands up to 1 colluding server of 3 (together they " \
        "learn nothing about any firm's figures)" in lines
    assert "  deadline 2099-06-30T12:00:00Z: no submission is accepted after it" in lines
    assert "  rows per contributor: at most 2" in lines
    assert f"  round id {identifier} (compare it with the one the servers announce before you " \
        "submit)" in lines
    assert f"{data}: OK, 2 row(s)" in out
    code, out, _ = _check(capsys, "--config", config, "--json")
    document = json.loads(out)
    assert code == exit_codes.OK
    assert {key: document[key] for key in ("mode", "ok", "threshold", "deadline", "max_rows",
                                           "round_id", "round_id_unavailable")} == {
        "mode": "outsourced", "ok": True, "threshold": 1, "deadline": "2099-06-30T12:00:00Z",
        "max_rows": 2, "round_id": identifier, "round_id_unavailable": None}
    assert document["servers"] == [{"index": i, "name": f"Server {c}", "url": round_.url(i)}
                                   for i, c in enumerate("ABC")]
    assert document["spec_sha256"] == round_.consortium().spec.digest()


def test_check_counts_colluding_servers_and_a_passed_deadline(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    round_ = make_round(tmp_path, servers=5, tokens=3, kpis=SMALL_KPIS,
                        deadline="2020-01-01T00:00:00+01:00")
    code, out, _ = _check(capsys, "--config", str(round_.config))
    assert code == exit_codes.OK
    assert "  threshold 2 (default): withstands up to 2 colluding servers of 5" in out
    assert "  deadline 2019-12-31T23:00:00Z: passed, no more submissions are accepted" in out
    code, out, _ = _check(capsys, "--config", str(round_.config), "--json")
    assert json.loads(out)["threshold"] == 2 and len(json.loads(out)["servers"]) == 5


def test_check_says_when_the_round_id_is_not_available_yet(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    round_ = make_round(tmp_path, tokens=3, kpis=SMALL_KPIS)
    round_.keys(1).hpke_pub.unlink()
    config = str(round_.config)
    code, out, err = _check(capsys, "--config", config)
    assert (code, err) == (exit_codes.OK, "")
    missing = [line for line in out.splitlines() if line.startswith("  round id")]
    assert missing == ["  round id: not available yet: keys/server1.hpke.pub is missing; the "
                       "servers make their public keys with `smpc-bench keygen --server I`; the "
                       "operator publishes them: check again once you have them, before you "
                       "submit"]
    code, out, _ = _check(capsys, "--config", config, "--json")
    document = json.loads(out)
    assert (code, document["ok"], document["round_id"]) == (exit_codes.OK, True, None)
    assert document["round_id_unavailable"].startswith("not available yet: keys/server1.hpke")
    # Without the token hashes either: both are named, in one line.
    (tmp_path / "enrolment" / "tokens.sha256").unlink()
    code, out, _ = _check(capsys, "--config", config)
    line = next(line for line in out.splitlines() if line.startswith("  round id"))
    assert code == exit_codes.OK
    assert "keys/server1.hpke.pub, enrolment/tokens.sha256 are missing" in line
    assert "`smpc-bench enrol`" in line
    # A key file that is there but is not a key is an error to fix, not a file to wait for.
    round_.keys(1).hpke_pub.write_text("not a key\n", encoding="utf-8")
    (tmp_path / "enrolment" / "tokens.sha256").write_text("", encoding="utf-8")
    code, out, err = _check(capsys, "--config", config)
    assert (code, out) == (exit_codes.BAD_INPUT, "")
    assert "server1.hpke.pub" in err and "Traceback" not in err and len(err.splitlines()) == 1


def _subject(path: Path) -> dict[str, str]:
    subject = x509.load_pem_x509_certificate(path.read_bytes()).subject
    return {key: str(subject.get_attributes_for_oid(oid)[0].value)
            for key, oid in (("commonName", NameOID.COMMON_NAME),
                             ("organizationName", NameOID.ORGANIZATION_NAME),
                             ("organizationalUnitName", NameOID.ORGANIZATIONAL_UNIT_NAME))}


def test_certs_for_an_outsourced_round_name_its_servers(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    round_ = make_round(tmp_path / "round", tokens=3, kpis=SMALL_KPIS,
                        extra='[tls]\nca = "mpc/mpyc_ca.crt"\n')
    config = str(round_.config)
    out_dir = tmp_path / "round" / "mpc"
    assert cli_main.main(["certs", "--config", config, "--out", str(out_dir)]) == exit_codes.OK
    out = capsys.readouterr().out
    assert f"wrote a CA and 3 server certificates to {out_dir}:" in out
    assert "these are the compute servers' MPyC certificates" in out
    assert "    server 1 (Server B): party_1.crt and party_1.key" in out
    assert "name no firm" not in out and "give firm" not in out
    assert "mpyc_ca.crt ([tls] ca of the consortium file)" in out
    for i, name in enumerate(["Server A", "Server B", "Server C"]):
        assert _subject(out_dir / f"party_{i}.crt") == {
            "commonName": f"MPyC party {i}", "organizationName": name,
            "organizationalUnitName": "Test outsourced round"}
    assert not (out_dir / "party_3.crt").exists()
    # keygen without --server makes the same, and says so in its JSON document.
    other = tmp_path / "other"
    assert cli_main.main(["keygen", "--config", config, "--out", str(other),
                          "--json"]) == exit_codes.OK
    document = json.loads(capsys.readouterr().out)
    assert [(s["index"], s["name"]) for s in document["servers"]] == [
        (0, "Server A"), (1, "Server B"), (2, "Server C")]
    assert document["servers"][2]["key"] == str(other / "party_2.key")
    assert document["ca_configured"] == str(round_.folder.resolve() / "mpc" / "mpyc_ca.crt")
    assert cli_main.main(["keygen", "--config", config, "--out", str(tmp_path / "x")]) == \
        exit_codes.OK
    assert f"where [tls] ca of the consortium file expects it: {document['ca_configured']}" \
        in capsys.readouterr().out
    # The number of certificates comes from the servers.
    assert cli_main.main(["certs", "--config", config, "--parties", "5", "--out",
                          str(tmp_path / "five")]) == exit_codes.BAD_INPUT
    assert "lists 3 [[outsourced.servers]]" in capsys.readouterr().err
    assert run(keygen, "keygen", "--config", config, "--parties", "5", "--out",
               str(tmp_path / "five")) == exit_codes.BAD_INPUT


def _handshake(client: ssl.SSLContext, server: ssl.SSLContext, hostname: str
               ) -> dict[str, Any]:
    """A TLS handshake in memory; the client's certificate as the accepting side sees it."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    connecting = client.wrap_bio(to_client, to_server, server_hostname=hostname)
    accepting = server.wrap_bio(to_server, to_client, server_side=True)
    done = [False, False]
    for _ in range(20):
        for side, end in enumerate((connecting, accepting)):
            if not done[side]:
                try:
                    end.do_handshake()
                    done[side] = True
                except ssl.SSLWantReadError:
                    pass
        if all(done):
            peer = accepting.getpeercert()
            assert peer is not None
            return dict(peer)
    raise AssertionError("the TLS handshake did not complete")


def test_server_certificates_pass_mpyc_tls_and_the_compute_check(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Contexts as MPyC builds them for ``--ssl``, and the check compute makes on a peer."""
    from smpc_bench.engine import liveness

    round_ = make_round(tmp_path / "round", tokens=3, kpis=SMALL_KPIS)
    out_dir = tmp_path / "mpc"
    assert cli_main.main(["certs", "--config", str(round_.config), "--out", str(out_dir),
                          "--quiet"]) == exit_codes.OK
    assert capsys.readouterr().out == ""
    ca = str(out_dir / "mpyc_ca.crt")

    def context(purpose: ssl.Purpose, party: int) -> ssl.SSLContext:
        made = ssl.create_default_context(purpose)
        made.load_cert_chain(out_dir / f"party_{party}.crt", keyfile=out_dir / f"party_{party}.key")
        made.load_verify_locations(cafile=ca)
        made.verify_mode = ssl.CERT_REQUIRED
        return made

    # Server 0 connects to server 2 (MPyC names the peer it expects), server 2 accepts.
    peer = _handshake(context(ssl.Purpose.SERVER_AUTH, 0), context(ssl.Purpose.CLIENT_AUTH, 2),
                      "MPyC party 2")
    watch = SimpleNamespace(mpc=SimpleNamespace(options=SimpleNamespace(ssl=True)),
                            settings=liveness.Settings())  # compute configures no names
    connection = SimpleNamespace(protocol=SimpleNamespace(transport=SimpleNamespace(
        get_extra_info=lambda key: peer if key == "peercert" else None)))
    check = liveness._Watch.certificate_problem  # noqa: SLF001
    assert check(watch, connection, 0) is None
    assert check(watch, connection, 1) == {
        "reason": "certificate", "found": "MPyC party 0", "expected": "MPyC party 1"}
    with pytest.raises(ssl.SSLCertVerificationError):  # not server 1's certificate
        _handshake(context(ssl.Purpose.SERVER_AUTH, 0), context(ssl.Purpose.CLIENT_AUTH, 2),
                   "MPyC party 1")
