"""The outsourced-mode subcommands: keygen, enrol, submit and serve (their user errors)."""

from __future__ import annotations

import argparse
import json
import shutil
import stat
from pathlib import Path

import pytest

from smpc_bench.cli import enrol, keygen, serve, submit
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
