"""Enrolment tokens: one secret per contributor, so that only members submit.

The operator makes the tokens (``smpc-bench enrol``) and hands each member its own; the servers
receive only the hashes.  A token is 32 random bytes in URL-safe base64 without padding; its hash
is the hex SHA-256 of the token's UTF-8 text.  Tokens are compared only through their hashes.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

__all__ = ["TOKEN_BYTES", "hashes_equal", "is_well_formed", "new_token", "token_hash",
           "write_enrolment"]

#: Random bytes per token.
TOKEN_BYTES = 32
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token() -> str:
    """A fresh enrolment token (43 URL-safe base64 characters, about 256 random bits).

    Never one that starts with ``-``: given as ``--token -x...`` on a command line it would be
    read as an option (one token in 64 would be), so such draws are drawn again.
    """
    while True:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        if not token.startswith("-"):
            return token


def token_hash(token: str) -> str:
    """The hex SHA-256 of the token's UTF-8 text: what the servers store and compare."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_well_formed(token: str) -> bool:
    """Whether ``token`` has the shape of an enrolment token (no check that it is enrolled)."""
    return _TOKEN.fullmatch(token) is not None


def hashes_equal(first: str, second: str) -> bool:
    """Constant-time comparison of two hex hashes."""
    return hmac.compare_digest(first.encode("ascii"), second.encode("ascii"))


def write_enrolment(folder: Path, count: int, labels: Sequence[str] = ()
                    ) -> tuple[Path, Path]:
    """Make ``count`` tokens; write ``tokens.csv`` (label, token) and ``tokens.sha256``.

    ``tokens.csv`` is for the operator, who hands each member its token privately (mode 0600);
    ``tokens.sha256`` (hashes only, in random order so that its order says nothing about the
    labels) goes to every server and with the round's files to the contributors.

    Args:
        folder: Where to write (created if needed).
        count: Number of tokens.
        labels: One label per token (e.g. member names); default ``member-0001`` and so on.

    Returns:
        ``(tokens.csv, tokens.sha256)``.

    Raises:
        FileExistsError: Either file exists already.
        ValueError: ``count`` below 1, or labels given for a different count.
    """
    if count < 1:
        raise ValueError("the number of tokens must be at least 1")
    if labels and len(labels) != count:
        raise ValueError(f"{len(labels)} names given for {count} tokens")
    names = list(labels) or [f"member-{i + 1:04d}" for i in range(count)]
    folder.mkdir(parents=True, exist_ok=True)
    secret_file, hash_file = folder / "tokens.csv", folder / "tokens.sha256"
    existing = [str(p) for p in (secret_file, hash_file) if p.exists()]
    if existing:
        raise FileExistsError(f"{', '.join(existing)} already exist(s); enrolment files are "
                              "never overwritten (choose another --out folder)")
    tokens = [new_token() for _ in range(count)]
    descriptor = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["contributor", "token"])
        writer.writerows(zip(names, tokens, strict=True))
    hashes = sorted(token_hash(token) for token in tokens)
    hash_file.write_text("".join(f"{h}\n" for h in hashes), encoding="ascii")
    return secret_file, hash_file
