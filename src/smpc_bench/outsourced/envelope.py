r"""Seal a message to one key with HPKE (RFC 9180), bound to its round, server and submission.

The suite is DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM in base mode: DAP's mandatory
suite, from ``cryptography.hazmat.primitives.hpke`` (no home-made crypto).  That API has no
associated-data argument, so the context goes into HPKE's ``info``, which feeds the key schedule:
a ciphertext made for another purpose, round, server or submission derives another key and does
not open (AES-GCM's tag fails), exactly as a tampered or truncated ciphertext does not::

    info = b"smpc-bench/v1/" + purpose + b"\0" + round_id + b"\0" + server_index + b"\0"
           + submission_id

with ``round_id`` and ``submission_id`` as their hex text and ``server_index`` in decimal.
``purpose`` is :data:`SUBMISSION` for a contributor's shares sealed to a server, and
:data:`RESULT` for a server's result share sealed to a contributor.
"""

from __future__ import annotations

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import x25519

__all__ = ["OVERHEAD", "RESULT", "SUBMISSION", "SUITE", "SealError", "info_for", "open_sealed",
           "seal_for"]

#: The HPKE suite of every envelope.
SUITE = hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)
#: Bytes a sealed message is longer than its plaintext: the 32-byte encapsulated key and the
#: 16-byte AES-GCM tag.
OVERHEAD = hpke.KEM.X25519.enc_length() + 16
#: Purpose of a contributor's shares sealed to a compute server.
SUBMISSION = b"submission"
#: Purpose of a server's share of a contributor's private result, sealed to that contributor.
RESULT = b"result"
_PURPOSES = (SUBMISSION, RESULT)


class SealError(ValueError):
    """A sealed message does not open: tampered, truncated, or made for another context/key."""


def info_for(*, purpose: bytes, round_id: str, server_index: int, submission_id: str) -> bytes:
    """The HPKE ``info`` binding a message to its purpose, round, server and submission."""
    if purpose not in _PURPOSES:
        raise ValueError(f"purpose must be one of {_PURPOSES}, not {purpose!r}")
    if isinstance(server_index, bool) or not isinstance(server_index, int) or server_index < 0:
        raise ValueError(f"server_index must be a whole number of at least 0, not "
                         f"{server_index!r}")
    for what, text in (("round_id", round_id), ("submission_id", submission_id)):
        if not text or "\0" in text or not text.isascii():
            raise ValueError(f"{what} must be non-empty ASCII text without NUL, not {text!r}")
    return b"\0".join([b"smpc-bench/v1/" + purpose, round_id.encode("ascii"),
                       str(server_index).encode("ascii"), submission_id.encode("ascii")])


def seal_for(public_key: x25519.X25519PublicKey, plaintext: bytes, *, purpose: bytes,
             round_id: str, server_index: int, submission_id: str) -> bytes:
    """Seal ``plaintext`` so that only the holder of ``public_key``'s private key opens it.

    Args:
        public_key: The recipient's X25519 public key.
        plaintext: The message.
        purpose: :data:`SUBMISSION` or :data:`RESULT`.
        round_id: The round id (hex).
        server_index: The compute server the message is for (SUBMISSION) or from (RESULT).
        submission_id: The submission's id (hex).

    Returns:
        ``enc || ciphertext`` (:data:`OVERHEAD` bytes longer than ``plaintext``).
    """
    info = info_for(purpose=purpose, round_id=round_id, server_index=server_index,
                    submission_id=submission_id)
    return SUITE.encrypt(plaintext, public_key, info=info)


def open_sealed(private_key: x25519.X25519PrivateKey, sealed: bytes, *, purpose: bytes,
                round_id: str, server_index: int, submission_id: str) -> bytes:
    """Open a message made by :func:`seal_for` with the same context.

    Raises:
        SealError: The message was tampered with or truncated, or was sealed to another key or
            for another purpose, round, server or submission (HPKE cannot tell which).
    """
    info = info_for(purpose=purpose, round_id=round_id, server_index=server_index,
                    submission_id=submission_id)
    if len(sealed) < OVERHEAD:
        raise SealError(f"the sealed message is {len(sealed)} bytes, shorter than any HPKE "
                        f"message ({OVERHEAD} bytes): it was truncated")
    try:
        return SUITE.decrypt(sealed, private_key, info=info)
    except (InvalidTag, ValueError) as error:
        raise SealError("the sealed message does not open with this key: it was changed in "
                        "transit or made for another round, server, submission or key"
                        ) from error
