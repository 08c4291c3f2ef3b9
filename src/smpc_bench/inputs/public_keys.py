"""Read the published keys of an outsourced round: servers' and contributors' X25519 public keys.

Reading (and fingerprinting) a public key is all a contributor, the round id and the servers need
of a key they did not make; making keys is :mod:`smpc_bench.outsourced.keys`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519

__all__ = ["KeyFileError", "load_public_key", "public_key_fingerprint", "public_key_from_pem"]


class KeyFileError(ValueError):
    """A key or certificate file is missing, unreadable or of the wrong kind."""


def public_key_from_pem(text: str | bytes) -> x25519.X25519PublicKey:
    """Parse an X25519 public key from PEM (SubjectPublicKeyInfo).

    Raises:
        KeyFileError: Not a PEM X25519 public key.
    """
    data = text.encode("ascii", "replace") if isinstance(text, str) else text
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as error:
        raise KeyFileError(f"not a PEM public key ({error})") from None
    if not isinstance(key, x25519.X25519PublicKey):
        raise KeyFileError("the public key is not an X25519 key")
    return key


def load_public_key(path: Path) -> x25519.X25519PublicKey:
    """Read an X25519 public key (PEM) from ``path``.

    Raises:
        KeyFileError: Missing or not an X25519 public key.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise KeyFileError(f"{path} not found; the server makes it with `smpc-bench keygen "
                           "--server I`") from None
    except OSError as error:
        raise KeyFileError(f"cannot read {path}: {error}") from None
    try:
        return public_key_from_pem(data)
    except KeyFileError as error:
        raise KeyFileError(f"{path}: {error}") from None


def public_key_fingerprint(key: x25519.X25519PublicKey) -> str:
    """SHA-256 (hex) of the raw 32-byte public key."""
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()
