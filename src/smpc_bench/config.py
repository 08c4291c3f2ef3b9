"""Read a consortium configuration (TOML) into a :class:`~smpc_bench.round_spec.RoundSpec`.

Example::

    [consortium]
    name = "Bakery benchmark 2026"

    [disclosure]
    min_contributions = 5       # never below 3

    [[kpis]]
    name = "gross_margin"
    unit = "%"
    lower = 0
    upper = 100
    decimals = 1
    higher_is_better = true
    statistics = ["count", "mean", "q1", "median", "q3"]

    [[parties]]
    name = "Bakker Alfa"
    address = "alpha.example:11365"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smpc_bench.kpi import KpiSpec
from smpc_bench.metrics import DEFAULT_METRICS, Metric
from smpc_bench.round_spec import RoundSpec
from smpc_bench.secure_table import DEFAULT_RADIX_BITS

__all__ = ["ConfigError", "Consortium", "PartyEntry", "load_config", "parse_config"]


class ConfigError(ValueError):
    """The configuration file is unusable; the message says where and why."""


@dataclass(frozen=True)
class PartyEntry:
    """One member firm.

    Attributes:
        name: Display name.
        address: ``host:port`` the firm's party listens on (may be empty).
        data: File name of the firm's data for local simulations (may be empty).
    """

    name: str
    address: str = ""
    data: str = ""


@dataclass(frozen=True)
class Consortium:
    """A parsed configuration: the round spec plus the member list."""

    spec: RoundSpec
    parties: tuple[PartyEntry, ...]


def _require(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise ConfigError(f"{where}: missing required setting {key!r}")
    return table[key]


def _parse_kpi(entry: dict[str, Any], index: int) -> tuple[KpiSpec, tuple[Metric, ...]]:
    where = f"kpis[{index}]"
    name = _require(entry, "name", where)
    where = f"KPI {name!r}"
    try:
        spec = KpiSpec(
            name=name,
            lower=_require(entry, "lower", where),
            upper=_require(entry, "upper", where),
            decimals=entry.get("decimals", 0),
            unit=entry.get("unit", ""),
            higher_is_better=entry.get("higher_is_better", True),
        )
        statistics = entry.get("statistics")
        metrics = DEFAULT_METRICS if statistics is None else tuple(
            Metric.parse(text) for text in statistics)
    except ValueError as error:
        raise ConfigError(f"{where}: {error}") from None
    unknown = set(entry) - {"name", "lower", "upper", "decimals", "unit", "higher_is_better",
                            "statistics"}
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {sorted(unknown)}")
    return spec, metrics


def parse_config(document: dict[str, Any]) -> Consortium:
    """Validate a parsed TOML document."""
    consortium = document.get("consortium", {})
    name = consortium.get("name", "smpc-bench round")
    disclosure = document.get("disclosure", {})
    min_contributions = disclosure.get("min_contributions", 5)
    if not isinstance(min_contributions, int) or min_contributions < 3:
        raise ConfigError("disclosure.min_contributions must be an integer of at least 3")
    entries = document.get("kpis")
    if not entries:
        raise ConfigError("the configuration declares no [[kpis]]")
    parsed = [_parse_kpi(entry, i) for i, entry in enumerate(entries)]
    parties = tuple(
        PartyEntry(str(_require(p, "name", f"parties[{i}]")), str(p.get("address", "")),
                   str(p.get("data", "")))
        for i, p in enumerate(document.get("parties", []))
    )
    try:
        spec = RoundSpec.create(
            name,
            [kpi for kpi, _ in parsed],
            [metrics for _, metrics in parsed],
            min_contributions=min_contributions,
            radix_bits=consortium.get("radix_bits", DEFAULT_RADIX_BITS),
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return Consortium(spec, parties)


def load_config(path: str | Path) -> Consortium:
    """Read and validate a TOML configuration file."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} not found") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    return parse_config(document)
