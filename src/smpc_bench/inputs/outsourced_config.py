"""An outsourced round's settings derived from its consortium: the round id, field and threshold.

The ``[outsourced]`` section itself is parsed by :mod:`smpc_bench.inputs.outsourced_section`
(its types are re-exported here); this module works on a whole
:class:`~smpc_bench.inputs.consortium.Consortium`.

The **round id** binds everything a contributor's shares depend on: the agreed round spec (as
peer mode hashes it, with the positions settings), the servers (names, urls, public-key
fingerprints), the deadline, the row limit and the number of contributors the field is sized
for.  Every upload names it, and every sealed share is bound to it
(:mod:`smpc_bench.outsourced.envelope`).
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from smpc_bench.inputs.config_values import ConfigError
from smpc_bench.inputs.outsourced_section import (
    SERVER_COUNTS,
    OutsourcedSettings,
    ServerEntry,
    parse_outsourced,
)
from smpc_bench.inputs.public_keys import KeyFileError, load_public_key, public_key_fingerprint
from smpc_bench.spec.sizing import Sizing, round_prime, size_for
from smpc_bench.spec.threshold import check_threshold, default_threshold

if TYPE_CHECKING:
    from smpc_bench.inputs.consortium import Consortium

__all__ = [
    "SERVER_COUNTS",
    "OutsourcedSettings",
    "ServerEntry",
    "max_contributors",
    "parse_outsourced",
    "require_outsourced",
    "round_field",
    "round_id",
    "round_threshold",
]


def require_outsourced(consortium: Consortium) -> OutsourcedSettings:
    """The consortium's ``[outsourced]`` settings; a :class:`ConfigError` if it has none."""
    settings = consortium.outsourced
    if settings is None:
        where = f"{consortium.source}: " if consortium.source else ""
        raise ConfigError(f"{where}this consortium has no [outsourced] section; outsourced "
                          "rounds (submit, serve, keygen --server) need one")
    return settings


def _prefixed(consortium: Consortium, error: ConfigError) -> ConfigError:
    text = str(error)
    if consortium.source is not None and not text.startswith(str(consortium.source)):
        text = f"{consortium.source}: {text}"
    return ConfigError(text)


def round_threshold(consortium: Consortium) -> int:
    """The Shamir degree ``t`` of the round: ``[security] threshold``, else ``(m - 1) // 2``."""
    servers = len(require_outsourced(consortium).servers)
    configured = consortium.spec.threshold
    if configured is None:
        return default_threshold(servers)
    try:
        check_threshold(configured, servers)
    except ValueError as error:
        raise _prefixed(consortium, ConfigError(
            f"security.threshold: {str(error).replace('firms', 'servers')}")) from None
    return configured


def max_contributors(consortium: Consortium) -> int:
    """How many contributors the round's field is sized for.

    ``[outsourced] max_contributors`` if set (at least the number of enrolment tokens), else the
    number of enrolment tokens.
    """
    settings = require_outsourced(consortium)
    try:
        enrolled = len(settings.token_hashes())
    except ConfigError as error:
        if settings.max_contributors is None:
            raise _prefixed(consortium, error) from None
        return settings.max_contributors
    if settings.max_contributors is None:
        return enrolled
    if settings.max_contributors < enrolled:
        raise _prefixed(consortium, ConfigError(
            f"[outsourced] max_contributors is {settings.max_contributors} but {settings.tokens} "
            f"holds {enrolled} tokens; raise max_contributors"))
    return settings.max_contributors


def round_id(consortium: Consortium) -> str:
    """The round id: SHA-256 (hex) of the spec hash and the canonical outsourced settings.

    Reads the servers' public keys (their fingerprints are part of the id) and, unless
    ``max_contributors`` is set, the tokens file.

    Raises:
        ConfigError: Not an outsourced consortium, or a key or the tokens file is unusable.
    """
    settings = require_outsourced(consortium)
    servers = []
    for server in settings.servers:
        try:
            fingerprint = public_key_fingerprint(load_public_key(server.public_key))
        except KeyFileError as error:
            raise _prefixed(consortium, ConfigError(
                f"[[outsourced.servers]] {server.index} ({server.name}) public_key: {error}"
            )) from None
        servers.append({"name": server.name, "url": server.url,
                        "public_key_sha256": fingerprint})
    document = {
        "version": 1,
        "positions": consortium.positions.terms(),
        "servers": servers,
        "threshold": round_threshold(consortium),
        "deadline": settings.deadline_text(),
        "max_rows": settings.max_rows,
        "max_contributors": max_contributors(consortium),
    }
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(consortium.spec.digest().encode() + canonical.encode()).hexdigest()


def round_field(consortium: Consortium) -> tuple[Sizing, int]:
    """The round's sizing and public prime, fixed before any contributor splits a value.

    Sized as peer mode sizes a round (moments if a statistic needs a variance, the dominance
    rule's comparison if it is on) for ``max_contributors * max_rows`` rows.

    Returns:
        ``(sizing, prime)``; the prime is MPyC's for ``SecInt(sizing.field_bits)``.
    """
    settings = require_outsourced(consortium)
    spec = consortium.spec
    rows = max_contributors(consortium) * settings.max_rows
    moments = any(m.kind in ("variance", "stdev") for m in spec.all_metrics)
    sizing = size_for(spec.kpis, rows, moments=moments,
                      dominance=[spec.kpis[k] for k in spec.dominance_kpis],
                      max_firm_share=spec.max_firm_share)
    return sizing, round_prime(sizing)
