"""Open a stored submission on its compute server: this server's shares of one contributor's rows.

A contributor sealed to each server (HPKE, :mod:`smpc_bench.outsourced.envelope`) that server's
Shamir shares of the one-hot digits and validity flags of its rows
(:mod:`smpc_bench.outsourced.payload`).  :func:`open_submission` opens and checks one envelope
and returns the shares in the table layout, ``(K, rows, D, 2**radix_bits)`` and ``(K, rows)``;
nothing about the values is learned here (one server's shares are uniformly random).  Whether
the *encoded* values are well formed (one-hot digits, 0/1 flags) is checked later, inside the
MPC, where a malformed cell is rejected and counted; what is refused here is what no
contributor's program makes: an envelope that does not open, a file that is not such an
archive, wrong shapes, or numbers outside the field.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from cryptography.hazmat.primitives.asymmetric import x25519

from smpc_bench.outsourced.envelope import SUBMISSION, SealError, open_sealed
from smpc_bench.outsourced.payload import PayloadError, PayloadShape, unpack_shares

__all__ = ["ShareLayout", "UnreadableSubmission", "open_submission"]


class UnreadableSubmission(ValueError):
    """This server cannot use a stored submission; the message says why, for the contributor."""


@dataclass(frozen=True)
class ShareLayout:
    """What every submission of the round must look like.

    Attributes:
        kpis: Number of KPIs ``K``.
        levels: One-hot digits per value ``D``.
        radix_bits: Bits per digit (``2**radix_bits`` entries per one-hot digit).
        max_rows: Rows a contributor may submit.
        prime: The round's prime; every share lies in ``[0, prime)``.
    """

    kpis: int
    levels: int
    radix_bits: int
    max_rows: int
    prime: int

    @property
    def payload(self) -> PayloadShape:
        """The archive's shape (:mod:`smpc_bench.outsourced.payload`)."""
        return PayloadShape(self.kpis, self.levels << self.radix_bits, self.prime)


def open_submission(private_key: x25519.X25519PrivateKey, sealed: bytes, *, round_id: str,
                    server_index: int, submission_id: str, rows: int, layout: ShareLayout
                    ) -> tuple[np.ndarray, np.ndarray]:
    """This server's shares of one submission, checked and in the table layout.

    Args:
        private_key: This server's HPKE private key.
        sealed: The stored envelope.
        round_id: The round id (bound into the envelope).
        server_index: This server's index (bound into the envelope).
        submission_id: The submission's id (bound into the envelope).
        rows: The row count the submission declared.
        layout: The round's share layout.

    Returns:
        ``(digits, valid)``: ``(K, rows, D, 2**radix_bits)`` and ``(K, rows)``, uint64 below
        ``2**64`` (else object arrays of ints), every entry in ``[0, prime)``.

    Raises:
        UnreadableSubmission: Saying what is wrong (never anything about the values).
    """
    if not 1 <= rows <= layout.max_rows:
        raise UnreadableSubmission(f"the submission declares {rows} rows; this round takes 1 "
                                   f"to {layout.max_rows}")
    try:
        plain = open_sealed(private_key, sealed, purpose=SUBMISSION, round_id=round_id,
                            server_index=server_index, submission_id=submission_id)
    except SealError as error:
        raise UnreadableSubmission(f"your sealed shares do not open ({error})") from None
    try:
        digits, valid = unpack_shares(plain, layout.payload, rows)
    except PayloadError as error:
        raise UnreadableSubmission(f"your shares are not usable ({error})") from None
    width = 1 << layout.radix_bits
    return digits.reshape(layout.kpis, rows, layout.levels, width), valid
