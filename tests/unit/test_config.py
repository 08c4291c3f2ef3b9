"""Consortium configuration: parsing, friendly errors, and what the hash covers."""

from __future__ import annotations

from pathlib import Path

import pytest

from smpc_bench.inputs.consortium import ConfigError, load_config, parse_config

BASE = """
[consortium]
name = "Test round"

[disclosure]
min_contributions = {min}

[output]
directory = "out"
formats = ["json", "html"]
label_column = "shop"

[[kpis]]
name = "margin"
title = "Gross margin"
unit = "%"
lower = 0
upper = 100
decimals = 1
higher_is_better = true
statistics = ["count", "q1", "median", "q3"]

[[kpis]]
name = "waste"
unit = "%"
lower = 0
upper = 50
decimals = 1
higher_is_better = false

{parties}
"""

PARTIES = "\n".join(
    f'[[parties]]\nname = "Firm {i}"\naddress = "host{i}.example:{11365 + i}"\n'
    f'data = "firm{i}.csv"\n' for i in range(5))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "consortium.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _config(tmp_path: Path, *, minimum: int = 5, parties: str = PARTIES):
    return load_config(_write(tmp_path, BASE.format(min=minimum, parties=parties)))


def test_full_config_is_parsed(tmp_path: Path) -> None:
    consortium = _config(tmp_path)
    spec = consortium.spec
    assert spec.name == "Test round"
    assert spec.min_contributions == 5
    assert [k.name for k in spec.kpis] == ["margin", "waste"]
    assert [m.name for m in spec.metrics[0]] == ["count", "p25", "median", "p75"]
    assert spec.kpis[1].higher_is_better is False
    assert consortium.title("margin") == "Gross margin"
    assert consortium.title("waste") == "Waste"
    assert consortium.output.directory == "out"
    assert consortium.output.formats == ("json", "html")
    assert consortium.output.label_column == "shop"
    assert [p.address for p in consortium.parties][:2] == ["host0.example:11365",
                                                           "host1.example:11366"]
    assert consortium.tls_ca is None


def test_defaults(tmp_path: Path) -> None:
    text = '[[kpis]]\nname = "x"\nlower = 0\nupper = 10\n'
    consortium = load_config(_write(tmp_path, text))
    assert consortium.spec.min_contributions == 5
    assert consortium.output.formats == ("json", "csv", "html")
    assert consortium.parties == ()


@pytest.mark.parametrize("value", [2, 0, -1, "five", 2.5, True])
def test_min_contributions_never_below_three(tmp_path: Path, value: object) -> None:
    text = BASE.format(min=repr(value).lower() if isinstance(value, bool) else
                       f'"{value}"' if isinstance(value, str) else value, parties=PARTIES)
    with pytest.raises(ConfigError, match="at least 3"):
        load_config(_write(tmp_path, text))


def test_min_contributions_above_number_of_firms_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="only 5 firms are listed"):
        _config(tmp_path, minimum=6)


@pytest.mark.parametrize(("snippet", "message"), [
    ('[[kpis]]\nname = "x"\nlower = 0\nupper = 10\ncolour = "red"\n', "unknown setting"),
    ('[[kpis]]\nname = "x"\nupper = 10\n', "missing required setting 'lower'"),
    ('[[kpis]]\nname = "x"\nlower = 10\nupper = 0\n', "must be below"),
    ('[[kpis]]\nname = "x"\nlower = 0\nupper = 10\nstatistics = ["modus"]\n',
     "unknown statistic"),
    ('[[kpis]]\nname = "x"\nlower = 0\nupper = 10\nstatistics = "median"\n',
     "non-empty list"),
    ('[[kpis]]\nname = "x"\nlower = 0\nupper = 10\nhigher_is_better = "yes"\n',
     "true or false"),
    ('[consortium]\nname = "r"\n', "no KPIs"),
    ('[kpi]\nname = "x"\n[[kpis]]\nname = "x"\nlower = 0\nupper = 1\n', "unknown setting"),
    ('[[kpis]]\nname = "x"\nlower = 0\nupper = 1\n[[parties]]\nname = "A"\n'
     'address = "nohost"\n', "host:port"),
    ('[[kpis]]\nname = "x"\nlower = 0\nupper = 1\n[[parties]]\nname = "A"\n'
     'address = "a:99999"\n', "between 1 and 65535"),
    ('[[kpis]]\nname = "x"\nlower = 0\nupper = 1\n[output]\nformats = ["pdf"]\n',
     "unknown format"),
    ("this is = = not toml", "not valid TOML"),
])
def test_friendly_errors(tmp_path: Path, snippet: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, snippet))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_party_index_by_number_or_name(tmp_path: Path) -> None:
    consortium = _config(tmp_path)
    assert consortium.party_index("2") == 2
    assert consortium.party_index("firm 3") == 3
    with pytest.raises(ConfigError, match="out of range"):
        consortium.party_index("7")
    with pytest.raises(ConfigError, match="no party named"):
        consortium.party_index("Somebody")


def test_tls_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    parties = ('[tls]\nca = "certs/ca.crt"\n[[parties]]\nname = "A"\ncert = "certs/a.crt"\n'
               'key = "/secret/a.key"\n[[parties]]\nname = "B"\n[[parties]]\nname = "C"\n')
    consortium = _config(tmp_path, minimum=3, parties=parties)
    assert consortium.tls_ca == tmp_path.resolve() / "certs" / "ca.crt"
    assert consortium.parties[0].cert == tmp_path.resolve() / "certs" / "a.crt"
    assert consortium.parties[0].key == Path("/secret/a.key")
    assert consortium.parties[1].cert is None


def test_hash_covers_what_is_computed_not_local_settings(tmp_path: Path) -> None:
    one = _config(tmp_path).spec.digest()
    local = BASE.replace('directory = "out"', 'directory = "elsewhere"').replace(
        'title = "Gross margin"', 'title = "Marge"')
    other_parties = PARTIES.replace("host0.example", "10.0.0.1")
    assert load_config(_write(tmp_path, local.format(min=5, parties=other_parties))
                       ).spec.digest() == one
    changed = BASE.replace("upper = 100", "upper = 99")
    assert load_config(_write(tmp_path, changed.format(min=5, parties=PARTIES))
                       ).spec.digest() != one
    assert _config(tmp_path, minimum=4).spec.digest() != one


def test_parse_config_accepts_a_dict() -> None:
    consortium = parse_config({"kpis": [{"name": "x", "lower": 0, "upper": 5}]})
    assert consortium.spec.kpis[0].name == "x"


def test_bundled_example_is_valid() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "bakery" / "consortium.toml"
    consortium = load_config(example)
    assert len(consortium.spec.kpis) >= 6
    assert len(consortium.parties) == 5
    assert consortium.spec.min_contributions == 5


def test_the_documented_example_parses() -> None:
    import textwrap
    import tomllib

    from smpc_bench.inputs import consortium as config

    doc = config.__doc__ or ""
    block = textwrap.dedent(doc.split("::\n", 1)[1])
    consortium = parse_config(tomllib.loads(block), base=Path("/cfg"))
    assert consortium.spec.kpis[0].name == "gross_margin"
    assert consortium.tls_ca == Path("/cfg/certs/mpyc_ca.crt")
    assert consortium.output.label_column == "shop"


def test_positions_settings(tmp_path: Path) -> None:
    from smpc_bench.peer.round import agreement_digest

    default = _config(tmp_path)
    assert default.positions.enabled and default.positions.bands == 4
    coarse = load_config(_write(tmp_path, BASE.format(min=5, parties=PARTIES)
                                + "[positions]\nbands = 10\nbands_only = true\n"))
    assert coarse.positions.bands_only and coarse.positions.bands == 10
    spec = default.spec
    assert coarse.spec.digest() == spec.digest()  # same statistics ...
    assert agreement_digest(spec, coarse.positions.terms()) != agreement_digest(
        spec, default.positions.terms())  # ... but the parties still compare the settings
    assert agreement_digest(spec, "") == spec.digest()
    for bad, message in (("bands = 5", "4 .quartiles. or 10"), ("method = 'x'", "method"),
                         ("enabled = 1", "true or false"), ("colour = 1", "unknown")):
        with pytest.raises(ConfigError, match=message):
            load_config(_write(tmp_path, BASE.format(min=5, parties=PARTIES)
                               + f"[positions]\n{bad}\n"))
