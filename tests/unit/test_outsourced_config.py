"""The [outsourced] section: parsing, clear errors, the round id and the round's field."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from smpc_bench.inputs.consortium import ConfigError, load_config
from smpc_bench.inputs.outsourced_config import (
    max_contributors,
    round_field,
    round_id,
    round_threshold,
)
from smpc_bench.outsourced.keys import make_server_keys
from tests.outsourced_round import SMALL_KPIS, make_round

SERVER = """
[[outsourced.servers]]
name = "{name}"
url = "https://127.0.0.1:{port}"
address = "127.0.0.1:{mpc}"
public_key = "keys/server{i}.hpke.pub"
certificate = "keys/server{i}.tls.crt"
"""


def _write(tmp_path: Path, outsourced: str, *, servers: int = 3, extra: str = "",
           kpis: str = SMALL_KPIS) -> Path:
    tables = "".join(SERVER.format(name=f"S{i}", port=8441 + i, mpc=11400 + i, i=i)
                     for i in range(servers))
    path = tmp_path / "round.toml"
    path.write_text(f'[consortium]\nname = "R"\n{extra}\n[outsourced]\n{outsourced}\n{tables}\n'
                    f"{kpis}", encoding="utf-8")
    return path


OK = 'deadline = "2026-12-31T23:00:00Z"\nmax_rows = 2\ntokens = "t.sha256"'


def test_section_is_parsed_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    consortium = load_config(_write(tmp_path, OK))
    settings = consortium.outsourced
    assert settings is not None and consortium.parties == ()
    assert [s.name for s in settings.servers] == ["S0", "S1", "S2"]
    assert settings.servers[1].url == "https://127.0.0.1:8442"
    assert (settings.servers[1].host, settings.servers[1].port) == ("127.0.0.1", 8442)
    assert settings.servers[2].public_key == tmp_path / "keys/server2.hpke.pub"
    assert settings.tokens == tmp_path / "t.sha256"
    assert settings.deadline_text() == "2026-12-31T23:00:00Z" and settings.max_rows == 2
    assert round_threshold(consortium) == 1


def test_peer_mode_consortium_has_no_outsourced_settings(tmp_path: Path) -> None:
    path = tmp_path / "peer.toml"
    path.write_text(f'[consortium]\nname = "P"\n{SMALL_KPIS}', encoding="utf-8")
    assert load_config(path).outsourced is None


def test_deadline_zone_and_toml_datetime(tmp_path: Path) -> None:
    consortium = load_config(_write(tmp_path, "deadline = 2026-06-30T12:00:00+02:00"))
    assert consortium.outsourced is not None
    assert consortium.outsourced.deadline_text() == "2026-06-30T10:00:00Z"


@pytest.mark.parametrize("outsourced, servers, extra, words", [
    ('deadline = "2026-12-31T23:00:00"', 3, "", ["deadline", "zone"]),
    ('deadline = "soon"', 3, "", ["deadline"]),
    ("max_rows = 1", 3, "", ["deadline", "missing"]),
    (OK, 4, "", ["4 servers", "3 or 5"]),
    (OK.replace('"t.sha256"', "3"), 3, "", ["tokens", "file path"]),
    (OK.replace("max_rows = 2", "max_rows = 0"), 3, "", ["max_rows", "at least 1"]),
    (OK + "\ncolour = 1", 3, "", ["unknown", "colour"]),
    (OK, 3, "[security]\nthreshold = 2\n", ["threshold", "servers"]),
    (OK, 3, '[[parties]]\nname = "A"\n', ["[[parties]]"]),
])
def test_clear_errors_name_the_file_and_the_setting(tmp_path: Path, outsourced: str,
                                                    servers: int, extra: str,
                                                    words: list[str]) -> None:
    path = _write(tmp_path, outsourced, servers=servers, extra=extra)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    for word in words:
        assert word in message


def test_server_errors_name_the_server(tmp_path: Path) -> None:
    path = _write(tmp_path, OK)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("https://127.0.0.1:8442", "ftp://x"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"servers\]\] 1 \(S1\): url"):
        load_config(path)
    path.write_text(text.replace('name = "S2"', 'name = "S0"'), encoding="utf-8")
    with pytest.raises(ConfigError, match="its own name"):
        load_config(path)
    path.write_text(text.replace('address = "127.0.0.1:11401"\n', ""), encoding="utf-8")
    with pytest.raises(ConfigError, match="missing required setting 'address'"):
        load_config(path)


def test_round_id_binds_spec_servers_keys_and_deadline(tmp_path: Path) -> None:
    first = make_round(tmp_path / "a", tokens=4, kpis=SMALL_KPIS)
    consortium = first.consortium()
    identifier = round_id(consortium)
    assert len(identifier) == 64 and identifier == round_id(first.consortium())
    text = first.config.read_text(encoding="utf-8")
    variants = [
        text.replace("2099-12-31T23:00:00Z", "2099-12-30T23:00:00Z"),
        text.replace('name = "Server B"', 'name = "Server X"'),
        text.replace("upper = 100", "upper = 99"),
        text.replace("max_rows = 1", "max_rows = 2"),
    ]
    for changed in variants:
        first.config.write_text(changed, encoding="utf-8")
        assert round_id(load_config(first.config)) != identifier
    first.config.write_text(text, encoding="utf-8")
    # A new key pair for one server is another round: old seals would not open.
    (first.folder / "keys" / "server1.hpke.pub").unlink()
    (first.folder / "keys" / "server1.hpke.key").unlink()
    (first.folder / "keys" / "server1.tls.key").unlink()
    (first.folder / "keys" / "server1.tls.crt").unlink()
    make_server_keys(first.folder / "keys", 1, name="Server B", host="127.0.0.1")
    assert round_id(load_config(first.config)) != identifier


def test_round_id_needs_the_keys_with_a_clear_message(tmp_path: Path) -> None:
    path = _write(tmp_path, OK)
    (tmp_path / "t.sha256").write_text("0" * 64 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"round.toml: .*servers\]\] 0 \(S0\) public_key: .*"
                                          "not found.*keygen"):
        round_id(load_config(path))


def test_field_is_sized_for_every_enrolled_contributor(tmp_path: Path) -> None:
    path = _write(tmp_path, OK)
    tokens = tmp_path / "t.sha256"
    with pytest.raises(ConfigError, match="t.sha256 not found.*enrol"):
        max_contributors(load_config(path))
    tokens.write_text("".join(f"{i:064x}\n" for i in range(1, 1001)), encoding="utf-8")
    consortium = load_config(path)
    assert max_contributors(consortium) == 1000
    sizing, prime = round_field(consortium)
    assert sizing.count_bits == (1000 * 2).bit_length()  # max_rows = 2
    assert prime.bit_length() == sizing.field_bits + 32
    tokens.write_text("not a hash\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="line 1: expected a SHA-256 hash"):
        max_contributors(load_config(path))


def test_max_contributors_gives_head_room(tmp_path: Path) -> None:
    path = _write(tmp_path, OK + "\nmax_contributors = 5000")
    (tmp_path / "t.sha256").write_text(f"{1:064x}\n", encoding="utf-8")
    assert max_contributors(load_config(path)) == 5000
    path = _write(tmp_path, OK + "\nmax_contributors = 1")
    (tmp_path / "t.sha256").write_text(f"{1:064x}\n{2:064x}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="max_contributors is 1 but"):
        max_contributors(load_config(path))


def test_importing_config_and_round_field_leave_the_command_line_alone(tmp_path: Path) -> None:
    round_ = make_round(tmp_path, tokens=3, kpis=SMALL_KPIS)
    saved = list(sys.argv)
    sys.argv[1:] = ["--config", "x.ini", "-I", "7"]
    try:
        round_field(round_.consortium())
        assert sys.argv[1:] == ["--config", "x.ini", "-I", "7"]
    finally:
        sys.argv[:] = saved
