"""Parse the ``[outsourced]`` section of a consortium file: the compute servers of a round.

In an outsourced round the firms do not run MPC parties; each firm submits Shamir shares of its
rows to ``m`` compute servers (3 or 5) and leaves.  The section names the servers, the deadline
and the limits every server and every contributor must agree on::

    [outsourced]
    deadline = "2026-12-31T23:00:00Z"      # ISO 8601 with a zone; no submission after it
    max_rows = 1                           # rows per contributor (a firm may have several shops)
    tokens = "tokens.sha256"               # enrolment-token hashes (smpc-bench enrol)
    # max_contributors = 5000              # optional head room for late enrolments
    [[outsourced.servers]]
    name = "Statistics office"
    url = "https://127.0.0.1:8441"         # intake and results (HTTPS)
    address = "127.0.0.1:11400"            # MPyC address for the compute phase
    public_key = "keys/server0.hpke.pub"   # made by smpc-bench keygen --server 0
    certificate = "keys/server0.tls.crt"   # the server's self-signed TLS certificate

Paths are relative to the consortium file.  The files they name are read only when needed
(:func:`smpc_bench.inputs.outsourced_config.round_id`, ``round_field``), so the file can be
written before the servers have made their keys.

The **round id** binds everything a contributor's shares depend on: the agreed round spec (as
peer mode hashes it, with the positions settings), the servers (names, urls, public-key
fingerprints), the deadline, the row limit and the number of contributors the field is sized
for.  Every upload names it, and every sealed share is bound to it
(:mod:`smpc_bench.outsourced.envelope`).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from smpc_bench.inputs.config_values import ConfigError, parse_address

__all__ = ["SERVER_COUNTS", "OutsourcedSettings", "ServerEntry", "parse_outsourced"]


#: How many compute servers a round may have.
SERVER_COUNTS = (3, 5)
_KEYS = {"deadline", "max_rows", "tokens", "max_contributors", "servers"}
_SERVER_KEYS = {"name", "url", "address", "public_key", "certificate"}
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ServerEntry:
    """One compute server of an outsourced round.

    Attributes:
        index: Position in ``[[outsourced.servers]]`` (its Shamir evaluation point is index + 1).
        name: The organisation running it, for messages and reports.
        url: Base URL of its intake and results service (``https://host:port``).
        host: Host part of the URL.
        port: Port of the URL (443/80 when not written).
        address: ``host:port`` of its MPyC party for the compute phase.
        public_key: Path of its HPKE public key (PEM).
        certificate: Path of its self-signed TLS certificate, pinned by contributors.
    """

    index: int
    name: str
    url: str
    host: str
    port: int
    address: str
    public_key: Path
    certificate: Path

    @property
    def uses_tls(self) -> bool:
        """Whether the URL is ``https`` (plain ``http`` is for explicit local tests only)."""
        return self.url.startswith("https://")

    def endpoint(self, round_id: str, what: str) -> str:
        """URL of ``/v1/rounds/{round_id}/{what}`` on this server."""
        return f"{self.url}/v1/rounds/{round_id}/{what}"


@dataclass(frozen=True)
class OutsourcedSettings:
    """The parsed ``[outsourced]`` section.

    Attributes:
        servers: The compute servers, in index order.
        deadline: No submission is accepted after this moment (aware, UTC).
        max_rows: Rows per contributor.
        tokens: Path of the enrolment-token hash file.
        max_contributors: Contributors the round's field is sized for, if set; else the number
            of enrolment tokens.
    """

    servers: tuple[ServerEntry, ...]
    deadline: datetime.datetime
    max_rows: int = 1
    tokens: Path = Path("tokens.sha256")
    max_contributors: int | None = None

    def server(self, index: int) -> ServerEntry:
        """The server with this index, or a :class:`ConfigError` naming the valid ones."""
        if not 0 <= index < len(self.servers):
            raise ConfigError(f"server index {index} is out of range: [outsourced] lists "
                              f"{len(self.servers)} servers (0 to {len(self.servers) - 1})")
        return self.servers[index]

    def token_hashes(self) -> list[str]:
        """The enrolment-token hashes of the tokens file (hex SHA-256, one per line).

        Raises:
            ConfigError: The file is missing, or a line is not a SHA-256 hex digest.
        """
        try:
            text = self.tokens.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"[outsourced] tokens: file {self.tokens} not found; the operator "
                              "makes it with `smpc-bench enrol`") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"[outsourced] tokens: cannot read {self.tokens}: {error}") from None
        hashes: list[str] = []
        for number, line in enumerate(text.splitlines(), start=1):
            entry = line.split("#", 1)[0].strip().lower()
            if not entry:
                continue
            if not _HEX64.fullmatch(entry):
                raise ConfigError(f"{self.tokens}, line {number}: expected a SHA-256 hash (64 hex "
                                  "digits) of an enrolment token; this file must hold hashes "
                                  "only, never the tokens themselves")
            hashes.append(entry)
        if len(set(hashes)) != len(hashes):
            raise ConfigError(f"{self.tokens}: the same token hash is listed twice")
        if not hashes:
            raise ConfigError(f"{self.tokens}: no token hashes; make them with `smpc-bench enrol`")
        return hashes

    def deadline_text(self) -> str:
        """The deadline as ``2026-12-31T23:00:00Z``."""
        return self.deadline.strftime("%Y-%m-%dT%H:%M:%SZ")


def _where(index: int, entry: dict[str, Any]) -> str:
    name = entry.get("name")
    return f"[[outsourced.servers]] {index}" + (f" ({name})" if name else "")


def _required_text(table: dict[str, Any], key: str, where: str) -> str:
    value = table.get(key)
    if value is None:
        raise ConfigError(f"{where}: missing required setting {key!r}")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key} must be a non-empty text in quotes, got {value!r}")
    return value.strip()


def _relative(value: str, base: Path | None) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() or base is None else base / path


def _parse_url(text: str, where: str) -> tuple[str, str, int]:
    parts = urlsplit(text)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigError(f"{where}: url {text!r} must look like https://host:port, e.g. "
                          "https://bench.statistics.example:8441")
    if parts.query or parts.fragment or parts.username:
        raise ConfigError(f"{where}: url {text!r} must not have a query, fragment or user name")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ConfigError(f"{where}: url {text!r} has an invalid port") from None
    return text.rstrip("/"), parts.hostname, port


def _parse_server(entry: Any, index: int, base: Path | None) -> ServerEntry:
    if not isinstance(entry, dict):
        raise ConfigError(f"outsourced.servers[{index}] must be a [[outsourced.servers]] table")
    where = _where(index, entry)
    unknown = set(entry) - _SERVER_KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown setting(s) {sorted(unknown)}; allowed are "
                          f"{sorted(_SERVER_KEYS)}")
    name = _required_text(entry, "name", where)
    url, host, port = _parse_url(_required_text(entry, "url", where), where)
    address = _required_text(entry, "address", where)
    parse_address(address, where)
    return ServerEntry(index, name, url, host, port, address,
                       _relative(_required_text(entry, "public_key", where), base),
                       _relative(_required_text(entry, "certificate", where), base))


def _parse_deadline(value: Any) -> datetime.datetime:
    problem = ("[outsourced] deadline must be a date and time with a time zone, e.g. "
               f"deadline = \"2026-12-31T23:00:00Z\"; got {value!r}")
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ConfigError(problem) from None
    if not isinstance(value, datetime.datetime) or value.tzinfo is None \
            or value.utcoffset() is None:
        raise ConfigError(problem + " (without a zone the servers could disagree on it)")
    return value.astimezone(datetime.UTC)


def _positive_int(table: dict[str, Any], key: str, default: int | None) -> int | None:
    value = table.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"[outsourced] {key} must be a whole number of at least 1, got "
                          f"{value!r}")
    return value


def parse_outsourced(table: Any, *, base: Path | None = None) -> OutsourcedSettings:
    """Validate the ``[outsourced]`` table of a parsed consortium file.

    Args:
        table: ``document["outsourced"]``.
        base: Folder that relative paths are relative to (the consortium file's).

    Raises:
        ConfigError: Naming the setting that is wrong and why.
    """
    if not isinstance(table, dict):
        raise ConfigError("[outsourced] must be a table (an [outsourced] section)")
    unknown = set(table) - _KEYS
    if unknown:
        raise ConfigError(f"[outsourced]: unknown setting(s) {sorted(unknown)}; allowed are "
                          f"{sorted(_KEYS)}")
    if "deadline" not in table:
        raise ConfigError("[outsourced]: missing required setting 'deadline' (when intake "
                          "closes, e.g. deadline = \"2026-12-31T23:00:00Z\")")
    deadline = _parse_deadline(table["deadline"])
    entries = table.get("servers")
    if not isinstance(entries, list) or not entries:
        raise ConfigError("[outsourced]: no compute servers; add 3 or 5 [[outsourced.servers]] "
                          "tables")
    servers = tuple(_parse_server(entry, i, base) for i, entry in enumerate(entries))
    if len(servers) not in SERVER_COUNTS:
        raise ConfigError(f"[outsourced]: {len(servers)} servers listed; an outsourced round has "
                          "3 or 5 compute servers (an honest majority of 2 or 3 must hold)")
    for key in ("name", "url", "address"):
        values = [getattr(s, key).casefold() for s in servers]
        if len(set(values)) != len(values):
            raise ConfigError(f"[outsourced]: every server needs its own {key}; got "
                              f"{[getattr(s, key) for s in servers]}")
    tokens = table.get("tokens", "tokens.sha256")
    if not isinstance(tokens, str) or not tokens.strip():
        raise ConfigError(f"[outsourced] tokens must be a file path in quotes, got {tokens!r}")
    max_rows = _positive_int(table, "max_rows", 1)
    assert max_rows is not None
    return OutsourcedSettings(servers, deadline, max_rows, _relative(tokens.strip(), base),
                              _positive_int(table, "max_contributors", None))


