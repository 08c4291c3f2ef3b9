"""Read a consortium configuration (TOML) into a :class:`Consortium`.

Every firm of a round runs its party with the same file.  The part that decides what is computed
and how securely (name, KPIs, statistics, disclosure rules, threshold) becomes the
:class:`~smpc_bench.spec.round_spec.RoundSpec`, whose hash the parties compare before any data
moves.
The rest (addresses, certificate paths, output options, display titles) is local and may differ
between machines.

Example (relative paths are relative to the configuration file)::

    [consortium]
    name = "Bakery benchmark 2026"

    [disclosure]
    # A statistic is released only if at least this many distinct firms contributed a valid
    # value to it (a chain with three shops counts once).  Default 5, never below 3, and not
    # above the number of parties.
    min_contributions = 3
    # Dominance: a sum or mean is released only if no single firm (its shops together)
    # contributes more than this share of the KPI's total.  A number above 0 and at most 1,
    # at most 4 decimals; default 0.25; 1 switches the rule off.  With 3 firms one of them
    # always holds at least a third of a total, so 0.25 would withhold every sum and mean.
    max_firm_share = 0.5

    [security]
    # How many firms may pool everything they see without learning the others' figures.
    # At least 1 and below half of the firms (2 x threshold < number of firms); default: the
    # most a round allows, (number of firms - 1) // 2, i.e. 1 for 3 or 4 firms, 2 for 5 or 6.
    threshold = 1

    [network]
    # Seconds a party may send nothing at all (no data, no heartbeat) before the others stop the
    # round as stalled (a sleeping laptop, an unplugged cable).  Whole seconds, 1 to 86400;
    # default 60.  Part of the agreed spec.  A live but slow party sends heartbeats, so it is
    # not cut off unless one local computation step blocks it for this long.
    progress_timeout = 60

    [positions]
    # Each firm learns its own rank, percentile and band per KPI, privately (default on).
    enabled = true
    bands = 4                           # 4 = quartile bands, 10 = decile bands
    bands_only = false                  # coarsening: release only the band, not rank/percentile
    method = "auto"                     # "all-pairs" (few rows), "sort" (many rows), "auto"

    [output]
    directory = "smpc-bench-report"     # where `smpc-bench run` writes the firm's report
    formats = ["json", "csv", "html"]
    label_column = "shop"               # column naming each row in the report (optional)

    [tls]
    ca = "certs/mpyc_ca.crt"            # the consortium's CA certificate (optional)

    [[kpis]]
    name = "gross_margin"
    title = "Gross margin"              # for reports (optional)
    unit = "%"
    lower = 0
    upper = 100
    decimals = 1
    higher_is_better = true
    statistics = ["count", "mean", "p10", "q1", "median", "q3", "p90"]

    [[parties]]
    name = "Bakker Alfa"
    address = "alpha.example:11365"
    data = "alfa.csv"                   # for local simulations only
    cert = "certs/party_0.crt"          # TLS certificate (optional)
    key = "certs/party_0.key"           # TLS private key: only on Alfa's own machine

    [[parties]]                         # one table per firm, in party-index order
    name = "Bakker Beta"
    address = "beta.example:11365"

    [[parties]]
    name = "Bakker Gamma"
    address = "gamma.example:11365"
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from smpc_bench.inputs.config_values import ConfigError, is_loopback, parse_address
from smpc_bench.inputs.outsourced_section import parse_outsourced
from smpc_bench.spec.encoding import DEFAULT_RADIX_BITS
from smpc_bench.spec.kpi import KpiSpec
from smpc_bench.spec.metrics import DEFAULT_METRICS, Metric
from smpc_bench.spec.round_spec import (
    ABSOLUTE_MIN_CONTRIBUTIONS,
    DEFAULT_MAX_FIRM_SHARE,
    DEFAULT_MIN_CONTRIBUTIONS,
    DEFAULT_PROGRESS_TIMEOUT,
    MAX_SHARE_DECIMALS,
    RoundSpec,
    check_progress_timeout,
    exact_share,
)
from smpc_bench.spec.threshold import check_threshold

if TYPE_CHECKING:
    from smpc_bench.inputs.outsourced_section import OutsourcedSettings

__all__ = [
    "ABSOLUTE_MIN_CONTRIBUTIONS",
    "DEFAULT_MAX_FIRM_SHARE",
    "DEFAULT_MIN_CONTRIBUTIONS",
    "MAX_SHARE_DECIMALS",
    "REPORT_FORMATS",
    "ConfigError",
    "Consortium",
    "OutputOptions",
    "PartyEntry",
    "PositionSettings",
    "load_config",
    "is_loopback",
    "parse_address",
    "parse_config",
]

#: Report files a round can write.
REPORT_FORMATS = ("json", "csv", "html")

_TOP_LEVEL = {"consortium", "disclosure", "security", "network", "positions", "output", "tls",
              "kpis", "parties", "outsourced"}
#: Counting protocols for private positions (see :mod:`smpc_bench.positions.ranks`).
POSITION_METHODS = ("auto", "all-pairs", "np-less", "sort")
_KPI_KEYS = {"name", "title", "description", "lower", "upper", "decimals", "unit",
             "higher_is_better", "statistics"}
_PARTY_KEYS = {"name", "address", "data", "cert", "key"}


@dataclass(frozen=True)
class PartyEntry:
    """One member firm.

    Attributes:
        name: Display name.
        address: ``host:port`` the firm's party listens on (may be empty).
        data: File name of the firm's data for local simulations (may be empty).
        cert: Path of the firm's TLS certificate (``None`` if not configured).
        key: Path of the firm's TLS private key (``None``; only set on the firm's own machine).
    """

    name: str
    address: str = ""
    data: str = ""
    cert: Path | None = None
    key: Path | None = None


@dataclass(frozen=True)
class OutputOptions:
    """Where and how a party writes its report (local settings, not part of the hash).

    Attributes:
        directory: Report folder for ``smpc-bench run`` (relative to the working directory).
        formats: Which of ``json``, ``csv``, ``html`` to write.
        label_column: Data column that names each row (shop) in the report, if any.
    """

    directory: str = "smpc-bench-report"
    formats: tuple[str, ...] = REPORT_FORMATS
    label_column: str | None = None


@dataclass(frozen=True)
class PositionSettings:
    """Whether and how each firm learns its own position (agreed by all parties).

    Attributes:
        enabled: Compute private ranks, percentiles and bands.
        bands: 4 (quartile bands) or 10 (decile bands).
        bands_only: Coarsening: each firm learns only its band.
        method: Counting protocol: ``all-pairs`` (``n**2`` comparisons, few rounds),
            ``sort`` (oblivious sort, for many rows), ``np-less``, or ``auto`` (all-pairs up to
            :data:`AUTO_ALL_PAIRS_ROWS` rows).
    """

    enabled: bool = True
    bands: int = 4
    bands_only: bool = False
    method: str = "auto"

    def terms(self) -> str:
        """Canonical text of the settings, compared between the parties with the spec hash."""
        if not self.enabled:
            return ""
        return f"positions:bands={self.bands}:bands_only={self.bands_only}:method={self.method}"


#: ``method = "auto"`` counts with all pairs up to this many rows, else sorts.
AUTO_ALL_PAIRS_ROWS = 200


@dataclass(frozen=True)
class Consortium:
    """A parsed configuration: the round spec plus everything local.

    Attributes:
        spec: What every party must agree on (hashed and compared at the start of a round).
        parties: The member firms, in party-index order.
        output: Report options.
        positions: Private positions (ranks) settings.
        tls_ca: The consortium's CA certificate, if TLS is configured.
        titles: Display title per KPI name.
        descriptions: Free-text description per KPI name (may be empty).
        source: The file this was read from, if any.
        outsourced: The compute servers, deadline and limits of an outsourced round
            (``[outsourced]``, see :mod:`smpc_bench.inputs.outsourced_config`); None in peer mode.
    """

    spec: RoundSpec
    parties: tuple[PartyEntry, ...]
    output: OutputOptions = field(default_factory=OutputOptions)
    positions: PositionSettings = field(default_factory=PositionSettings)
    tls_ca: Path | None = None
    titles: dict[str, str] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    source: Path | None = None
    outsourced: OutsourcedSettings | None = None

    def title(self, kpi_name: str) -> str:
        """Display title of a KPI (its name with spaces if no title is configured)."""
        return self.titles.get(kpi_name) or kpi_name.replace("_", " ").capitalize()

    def party_index(self, text: str) -> int:
        """Resolve ``--party``: an index (``"0"``) or a firm name (case-insensitive)."""
        if text.strip().lstrip("-").isdigit():
            index = int(text)
            if self.parties and not 0 <= index < len(self.parties):
                raise ConfigError(f"party index {index} is out of range: the configuration "
                                  f"lists {len(self.parties)} parties (0 to "
                                  f"{len(self.parties) - 1})")
            if index < 0:
                raise ConfigError(f"party index {index} must not be negative")
            return index
        wanted = text.strip().casefold()
        for i, party in enumerate(self.parties):
            if party.name.casefold() == wanted:
                return i
        names = ", ".join(f"{i} = {p.name}" for i, p in enumerate(self.parties))
        raise ConfigError(f"no party named {text!r} in the configuration ({names or 'none'})")


def _require(table: dict[str, Any], key: str, where: str) -> Any:
    if key not in table:
        raise ConfigError(f"{where}: missing required setting {key!r}")
    return table[key]


def _table(document: dict[str, Any], key: str) -> dict[str, Any]:
    value = document.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{key}] must be a table (a [{key}] section)")
    return value


def _check_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = set(table) - allowed
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {sorted(unknown)}; "
                          f"allowed are {sorted(allowed)}")


def _path(value: Any, where: str, base: Path | None) -> Path | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a file path in quotes, got {value!r}")
    path = Path(value).expanduser()
    return path if path.is_absolute() or base is None else base / path


def _parse_kpi(entry: dict[str, Any], index: int) -> tuple[KpiSpec, tuple[Metric, ...]]:
    if not isinstance(entry, dict):
        raise ConfigError(f"kpis[{index}] must be a [[kpis]] table")
    name = _require(entry, "name", f"kpis[{index}]")
    where = f"KPI {name!r}"
    _check_keys(entry, _KPI_KEYS, where)
    try:
        spec = KpiSpec(
            name=name,
            lower=_require(entry, "lower", where),
            upper=_require(entry, "upper", where),
            decimals=entry.get("decimals", 0),
            unit=entry.get("unit", ""),
            higher_is_better=entry.get("higher_is_better", True),
        )
        if not isinstance(spec.higher_is_better, bool):
            raise ValueError("higher_is_better must be true or false")
        statistics = entry.get("statistics")
        if statistics is not None and (isinstance(statistics, str) or not statistics):
            raise ValueError('statistics must be a non-empty list, e.g. ["count", "median"]')
        metrics = DEFAULT_METRICS if statistics is None else tuple(
            Metric.parse(text) for text in statistics)
    except ValueError as error:
        raise ConfigError(f"{where}: {error}") from None
    return spec, metrics


def _parse_party(entry: dict[str, Any], index: int, base: Path | None) -> PartyEntry:
    if not isinstance(entry, dict):
        raise ConfigError(f"parties[{index}] must be a [[parties]] table")
    where = f"parties[{index}]"
    name = str(_require(entry, "name", where))
    where = f"party {index} ({name})"
    _check_keys(entry, _PARTY_KEYS, where)
    address = str(entry.get("address", ""))
    if address:
        parse_address(address, where)
    return PartyEntry(name, address, str(entry.get("data", "")),
                      _path(entry.get("cert"), where, base), _path(entry.get("key"), where, base))


def _parse_output(table: dict[str, Any]) -> OutputOptions:
    _check_keys(table, {"directory", "formats", "label_column"}, "[output]")
    formats = table.get("formats", list(REPORT_FORMATS))
    if isinstance(formats, str) or not isinstance(formats, list):
        raise ConfigError('[output] formats must be a list, e.g. ["json", "csv", "html"]')
    unknown = [f for f in formats if f not in REPORT_FORMATS]
    if unknown:
        raise ConfigError(f"[output] unknown format(s) {unknown}; choose from {REPORT_FORMATS}")
    label = table.get("label_column")
    return OutputOptions(str(table.get("directory", OutputOptions.directory)),
                         tuple(dict.fromkeys(formats)), None if label is None else str(label))


def _parse_positions(table: dict[str, Any]) -> PositionSettings:
    _check_keys(table, {"enabled", "bands", "bands_only", "method"}, "[positions]")
    settings = PositionSettings(table.get("enabled", True), table.get("bands", 4),
                                table.get("bands_only", False), table.get("method", "auto"))
    if not isinstance(settings.enabled, bool) or not isinstance(settings.bands_only, bool):
        raise ConfigError("[positions] enabled and bands_only must be true or false")
    if settings.bands not in (4, 10) or isinstance(settings.bands, bool):
        raise ConfigError("[positions] bands must be 4 (quartiles) or 10 (deciles)")
    if settings.method not in POSITION_METHODS:
        raise ConfigError(f"[positions] method must be one of {POSITION_METHODS}")
    return settings


def _max_firm_share(disclosure: dict[str, Any]) -> Fraction:
    """``[disclosure] max_firm_share`` as the exact fraction its decimal text denotes."""
    value = disclosure.get("max_firm_share", DEFAULT_MAX_FIRM_SHARE)
    if isinstance(value, Fraction):
        return value
    problem = (f"disclosure.max_firm_share must be a number above 0 and at most 1 with at most "
               f"{MAX_SHARE_DECIMALS} decimals, e.g. 0.25 for 25% (1 switches the dominance "
               f"rule off); got {value!r}")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(problem)
    # TOML hands over a binary float; its shortest repr is the decimal the file says.
    decimal = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if not decimal.is_finite() or int(decimal.as_tuple().exponent) < -MAX_SHARE_DECIMALS:
        raise ConfigError(problem)
    try:
        return exact_share(decimal)
    except ValueError:
        raise ConfigError(problem) from None


def _min_contributions(disclosure: dict[str, Any], parties: Sequence[PartyEntry]) -> int:
    _check_keys(disclosure, {"min_contributions", "max_firm_share"}, "[disclosure]")
    value = disclosure.get("min_contributions", DEFAULT_MIN_CONTRIBUTIONS)
    if isinstance(value, bool) or not isinstance(value, int) \
            or value < ABSOLUTE_MIN_CONTRIBUTIONS:
        raise ConfigError(
            f"disclosure.min_contributions must be a whole number of at least "
            f"{ABSOLUTE_MIN_CONTRIBUTIONS} (got {value!r}): below that, a firm could work out "
            "another firm's figures from the released statistics")
    if parties and value > len(parties):
        raise ConfigError(
            f"disclosure.min_contributions is {value} but only {len(parties)} firms are listed "
            "under [[parties]]: every statistic would be suppressed")
    return value


def _threshold(security: dict[str, Any], parties: Sequence[PartyEntry]) -> int | None:
    _check_keys(security, {"threshold"}, "[security]")
    value = security.get("threshold")
    if value is None:
        return None  # MPyC's default, (m - 1) // 2: m may only be known from -P at run time
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"security.threshold must be a whole number, e.g. threshold = 1 (got "
                          f"{value!r})")
    try:
        # Without [[parties]] the number of firms is only known at run time (from -P).
        check_threshold(value, len(parties) or None)
    except ValueError as error:
        raise ConfigError(f"security.threshold: {error}") from None
    return value


def _progress_timeout(network: dict[str, Any]) -> int:
    _check_keys(network, {"progress_timeout"}, "[network]")
    value = network.get("progress_timeout", DEFAULT_PROGRESS_TIMEOUT)
    try:
        return check_progress_timeout(value)
    except ValueError as error:
        raise ConfigError(f"network.progress_timeout: {error}") from None


def parse_config(document: dict[str, Any], *, base: Path | None = None,
                 source: Path | None = None) -> Consortium:
    """Validate a parsed TOML document.

    Args:
        document: The parsed TOML.
        base: Folder that relative paths (certificates) are relative to.
        source: The file the document came from, for messages and reports.

    Raises:
        ConfigError: Naming the setting that is wrong and why.
    """
    _check_keys(document, _TOP_LEVEL, "the configuration")
    consortium = _table(document, "consortium")
    _check_keys(consortium, {"name", "radix_bits"}, "[consortium]")
    name = consortium.get("name", "smpc-bench round")
    entries = document.get("kpis")
    if not entries or not isinstance(entries, list):
        raise ConfigError("the configuration declares no KPIs: add at least one [[kpis]] table")
    parsed = [_parse_kpi(entry, i) for i, entry in enumerate(entries)]
    party_list = document.get("parties", [])
    if not isinstance(party_list, list):
        raise ConfigError("parties must be a list of [[parties]] tables")
    outsourced = None
    if "outsourced" in document:
        if party_list:
            raise ConfigError("an outsourced round ([outsourced]) has no [[parties]]: its firms "
                              "submit to the compute servers with enrolment tokens; remove the "
                              "[[parties]] tables or the [outsourced] section")
        outsourced = parse_outsourced(document["outsourced"], base=base)
    parties = tuple(_parse_party(p, i, base) for i, p in enumerate(party_list))
    names = [p.name for p in parties]
    if len(set(names)) != len(names):
        raise ConfigError(f"party names must be unique, got {names}")
    min_contributions = _min_contributions(_table(document, "disclosure"), parties)
    max_firm_share = _max_firm_share(_table(document, "disclosure"))
    threshold = _threshold(_table(document, "security"), parties)
    if outsourced is not None and threshold is not None:
        try:  # in an outsourced round the compute servers hold the shares, not the firms
            check_threshold(threshold, len(outsourced.servers))
        except ValueError as error:
            raise ConfigError(f"security.threshold: {error}".replace("firms", "servers")) from None
    progress_timeout = _progress_timeout(_table(document, "network"))
    tls = _table(document, "tls")
    _check_keys(tls, {"ca"}, "[tls]")
    try:
        spec = RoundSpec.create(
            name,
            [kpi for kpi, _ in parsed],
            [metrics for _, metrics in parsed],
            min_contributions=min_contributions,
            radix_bits=consortium.get("radix_bits", DEFAULT_RADIX_BITS),
            threshold=threshold,
            max_firm_share=max_firm_share,
            progress_timeout=progress_timeout,
        )
    except ValueError as error:
        raise ConfigError(str(error)) from None
    return Consortium(
        spec, parties, _parse_output(_table(document, "output")),
        _parse_positions(_table(document, "positions")), _path(tls.get("ca"), "[tls] ca", base),
        {e["name"]: str(e["title"]) for e in entries if e.get("title")},
        {e["name"]: str(e["description"]) for e in entries if e.get("description")},
        source, outsourced,
    )


def load_config(path: str | Path) -> Consortium:
    """Read and validate a TOML configuration file."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        raise ConfigError(f"configuration file {path} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder, not a configuration file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    try:
        return parse_config(document, base=path.resolve().parent, source=path)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
