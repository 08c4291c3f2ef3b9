"""MPyC's command line for one party of a peer round, from the consortium file and the flags.

``--party`` becomes MPyC's ``-I``, the configured addresses ``-P host:port``, the configured
threshold ``-T`` (an explicit ``-T`` must agree with it); MPyC's own flags pass through.
"""

from __future__ import annotations

from collections.abc import Sequence

from smpc_bench.inputs.consortium import ConfigError, Consortium, is_loopback
from smpc_bench.spec.threshold import check_threshold

__all__ = ["flag_value", "mpyc_flags", "party_count", "remote_addresses"]


def flag_value(flags: Sequence[str], short: str, long: str | None = None) -> str | None:
    """The value of an MPyC flag given as ``-M 3``, ``-M3`` or ``--long=3``, else None."""
    for i, flag in enumerate(flags):
        if flag == short or (long is not None and flag == long):
            return flags[i + 1] if i + 1 < len(flags) else ""
        if flag.startswith(short) and not flag.startswith("--"):
            return flag[len(short):]
        if long is not None and flag.startswith(long + "="):
            return flag.split("=", 1)[1]
    return None


def party_count(flags: Sequence[str]) -> int | None:
    """The number of parties MPyC will run with: ``-M m`` or one ``-P`` per party.

    None with an MPyC party file (``-C``), which this does not read.
    """
    local = flag_value(flags, "-M")
    if local is not None:
        return int(local) if local.isdigit() else None
    if flag_value(flags, "-C") is not None:
        return None
    return sum(1 for flag in flags if flag.startswith("-P")) or None


def remote_addresses(flags: Sequence[str]) -> list[str]:
    """The party addresses MPyC will use that are not on this machine (loopback).

    ``-M`` alone runs every party on ``localhost``; the addresses of an MPyC party file
    (``-C``) are not read here, so such a file counts as remote.
    """
    if flag_value(flags, "-C", "--config") is not None:
        return [f"the addresses in MPyC's party file ({flag_value(flags, '-C', '--config')})"]
    addresses = []
    for i, flag in enumerate(flags):
        if flag == "-P" and i + 1 < len(flags):
            addresses.append(flags[i + 1])
        elif flag.startswith("-P") and len(flag) > 2:
            addresses.append(flag[2:])
    remote = []
    for address in addresses:
        host = address.rsplit(":", 1)[0]  # as MPyC splits it (host:port, or host alone)
        if host and not is_loopback(host):  # an empty host is this party itself (MPyC)
            remote.append(address)
    return remote


def _threshold_flags(consortium: Consortium, flags: list[str]) -> list[str]:
    """Add ``-T`` for the configured threshold, refusing one MPyC cannot run securely."""
    configured = consortium.spec.threshold
    given_text = flag_value(flags, "-T", "--threshold")
    given: int | None = None
    if given_text is not None:
        if not given_text.strip().isdigit():
            raise ConfigError(f"-T {given_text}: the threshold must be a whole number")
        given = int(given_text)
        if configured is not None and given != configured:
            raise ConfigError(f"-T {given} and the configuration's threshold = {configured} "
                              "disagree; give only one (every firm must use the same threshold)")
    threshold = configured if given is None else given
    parties = party_count(flags)
    if threshold is None or parties == 1:  # MPyC's default, or a simulation without sharing
        return flags
    try:
        check_threshold(threshold, parties)
    except ValueError as error:
        where = "-T" if given is not None else "security.threshold in the configuration"
        raise ConfigError(f"{where}: {error}") from None
    return flags if given is not None else [*flags, "-T", str(threshold)]


def mpyc_flags(consortium: Consortium, party: str | None, flags: Sequence[str],
               *, tls: bool, quiet: bool = False) -> tuple[list[str], int | None]:
    """MPyC's command line for this party: ``--party`` as ``-I``, addresses as ``-P``.

    The configured threshold becomes ``-T`` (an explicit ``-T`` must agree with it); MPyC's
    ``--no-prss`` passes through and makes the round draw its randomness interactively
    whatever the number of parties (see :mod:`smpc_bench.spec.threshold`).

    Args:
        consortium: The configuration.
        party: The ``--party`` value (index or firm name), if given.
        flags: MPyC flags given on the command line (passed through).
        tls: Whether to add ``--ssl``.
        quiet: Whether to add ``--no-log`` (MPyC's own log lines).

    Returns:
        ``(flags, party index)``; the index is None when MPyC will decide (e.g. ``-M`` alone).
    """
    result = list(flags)
    index_text = flag_value(result, "-I", "--index")
    index = None if index_text is None else int(index_text)
    if party is not None:
        chosen = consortium.party_index(party)
        if index is not None and index != chosen:
            raise ConfigError(f"--party {party} and -I {index} disagree; give only one")
        if index is None:
            result += ["-I", str(chosen)]
        index = chosen
    local = flag_value(result, "-M") is not None or flag_value(result, "-C") is not None
    if not local and flag_value(result, "-P") is None:
        if not consortium.parties:
            raise ConfigError("the configuration lists no [[parties]]: give every party's "
                              "address with -P host:port (once per party, in order)")
        lacking = [p.name for p in consortium.parties if not p.address]
        if lacking:
            raise ConfigError(f"no address configured for {', '.join(lacking)}: set "
                              "address = \"host:port\" under [[parties]] or pass -P for "
                              "every party")
        for entry in consortium.parties:
            result += ["-P", entry.address]
    if index is None and (not local or (flag_value(result, "-M") or "1") not in ("1", "")):
        raise ConfigError("say which party you are: --party I (your index in [[parties]], "
                          "from 0) or your firm's name")
    result = _threshold_flags(consortium, result)
    if tls and "--ssl" not in result:
        result.append("--ssl")
    if quiet and "--no-log" not in result:
        result.append("--no-log")
    return result, index
