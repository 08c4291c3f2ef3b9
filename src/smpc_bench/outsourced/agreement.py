"""Which submissions count: the compute servers agree on exactly the same set before any MPC.

Every server holds, per enrolment token, the latest submission it accepted.  A contribution
counts only if *every* server holds the same one (same submission id, row count and result
key): the servers' shares of it are then shares of one sharing, and every server loads it at the
same table position.  One missing or different anywhere counts nowhere, and each server that
holds it records why, for the contributor's result request.

The exchange is cheap when the stores agree, as they should: each server sends one digest of its
sorted list; only if the digests differ does it send a digest per bucket of tokens (by the first
two hex digits of the token hash), and then the entries of the buckets that differ somewhere.
Token hashes, submission ids and row counts are what every server of the round already sees;
no share and no value is exchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Entry", "Verdict", "agree_on_entries", "bucket_of", "digest", "judge", "table_order"]

#: Exchanges one picklable value with every server: ``transfer(mine) -> [value of server j]``.
Transfer = Callable[[Any], Awaitable[list[Any]]]


@dataclass(frozen=True, order=True)
class Entry:
    """One latest submission as a server holds it (what the servers compare).

    Attributes:
        token_hash: The contributor's enrolment-token hash (hex).
        submission_id: The submission's id (hex, the same at every server it reached).
        rows: Rows in the submission.
        key_sha256: SHA-256 (hex) of the contributor's result public key as submitted.
    """

    token_hash: str
    submission_id: str
    rows: int
    key_sha256: str

    def as_tuple(self) -> tuple[str, str, int, str]:
        """Plain tuple, for the exchange between servers."""
        return (self.token_hash, self.submission_id, self.rows, self.key_sha256)


@dataclass
class Verdict:
    """The agreed outcome of the comparison, identical at every server.

    Attributes:
        counted: The entries every server holds identically, in :func:`table_order` (the
            order of the rows in the secure table).
        reasons: For every other token some server holds: why it does not count.
    """

    counted: list[Entry]
    reasons: dict[str, str]


def table_order(entry: Entry) -> tuple[str, str]:
    """Sort key of the counted entries: by submission id (random), ties by token hash."""
    return (entry.submission_id, entry.token_hash)


def digest(entries: Iterable[Entry]) -> str:
    """SHA-256 (hex) of the sorted entries."""
    hasher = hashlib.sha256()
    for entry in sorted(entries):
        hasher.update(repr(entry.as_tuple()).encode() + b"\n")
    return hasher.hexdigest()


def bucket_of(entry: Entry) -> str:
    """The bucket of an entry: the first two hex digits of its token hash."""
    return entry.token_hash[:2]


def _buckets(entries: Iterable[Entry]) -> dict[str, list[Entry]]:
    buckets: dict[str, list[Entry]] = {}
    for entry in entries:
        buckets.setdefault(bucket_of(entry), []).append(entry)
    return buckets


def _reason(held: Sequence[Entry | None], servers: Sequence[str]) -> str:
    """Plain words for a contributor whose submission is missing or different somewhere."""
    m = len(held)
    present = [entry for entry in held if entry is not None]
    missing = [servers[j] for j, entry in enumerate(held) if entry is None]
    if len({entry.as_tuple() for entry in present}) > 1:
        return (f"the {m} servers hold different submissions from you (a newer one reached only "
                "some of them), so none of them counts: a contribution counts only if every "
                "server received the same one")
    return (f"your submission reached only {len(present)} of {m} servers (missing at "
            f"{', '.join(missing)}), so it does not count: a contribution counts only if every "
            "server received it")


def judge(lists: Sequence[Sequence[Entry]], servers: Sequence[str]) -> Verdict:
    """Compare the servers' entries (the whole lists, or the buckets that differ).

    Args:
        lists: Per server, its entries (at most one per token).
        servers: The servers' names, for the reasons.

    Returns:
        The counted entries (identical at every server) and a reason for every other token.
    """
    by_token: dict[str, list[Entry | None]] = {}
    for j, entries in enumerate(lists):
        for entry in entries:
            by_token.setdefault(entry.token_hash, [None] * len(lists))[j] = entry
    counted, reasons = [], {}
    for token, held in by_token.items():
        first = held[0]
        if first is not None and all(entry == first for entry in held):
            counted.append(first)
        else:
            reasons[token] = _reason(held, servers)
    counted.sort(key=table_order)
    return Verdict(counted, reasons)


def _from_tuples(rows: Iterable[Sequence[Any]]) -> list[Entry]:
    return [Entry(str(t), str(s), int(r), str(k)) for t, s, r, k in rows]


async def agree_on_entries(entries: Sequence[Entry], transfer: Transfer,
                           servers: Sequence[str]) -> Verdict:
    """Agree with every other server on the counted entries (see the module docstring).

    Every server calls this at the same point of the run; the number of exchanges (one, two
    or three) depends only on values all servers see, so they stay in step.

    Args:
        entries: This server's entries, at most one per token.
        transfer: Sends a value to every server and returns each server's value (MPyC's
            ``mpc.transfer``).
        servers: The servers' names, in index order.

    Returns:
        The same :class:`Verdict` at every server.
    """
    own = sorted(entries)
    whole = await transfer((digest(own), len(own)))
    if all(item == whole[0] for item in whole):
        return Verdict(sorted(own, key=table_order), {})
    mine = _buckets(own)
    digests = await transfer({name: digest(items) for name, items in mine.items()})
    names = set().union(*(set(d) for d in digests))
    differing = sorted(name for name in names
                       if len({d.get(name) for d in digests}) > 1)
    theirs = await transfer([entry.as_tuple() for name in differing
                             for entry in mine.get(name, [])])
    verdict = judge([_from_tuples(items) for items in theirs], servers)
    agreed = [entry for name, items in mine.items() if name not in differing for entry in items]
    counted = sorted(agreed + verdict.counted, key=table_order)
    return Verdict(counted, verdict.reasons)
