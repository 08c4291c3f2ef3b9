"""The plaintext a contributor seals to each server: its shares of digits and validity flags.

One ``np.savez`` archive (read back with ``allow_pickle=False``: nothing in it is ever
unpickled) holding two arrays of this server's Shamir shares over the round's prime:

* ``digits``: ``(K, rows * width)`` with ``width = levels * 2**radix_bits``: per KPI, the rows'
  one-hot digits (:func:`smpc_bench.spec.encoding.encode_digits`, shape ``(K, rows, levels,
  2**radix_bits)``) flattened row after row;
* ``valid``: ``(K, rows)``, the validity flags.

Both are ``uint64`` when the prime is below ``2**64``.  A larger prime (a round whose field must
hold a variance or the dominance comparison) adds a last axis of ``ceil(bits / 64)``
little-endian 64-bit limbs: ``(K, rows * width, limbs)`` and ``(K, rows, limbs)``.
:func:`unpack_shares` checks every shape and that every share is below the prime; the digits'
0/1 property and the ranges are checked inside the MPC, as in peer mode.
"""

from __future__ import annotations

import functools
import io
import math
import zipfile
from dataclasses import dataclass

import numpy as np

from smpc_bench.spec.encoding import digit_layout
from smpc_bench.spec.sizing import Sizing

__all__ = ["PayloadError", "PayloadShape", "limbs_for", "pack_shares", "unpack_shares"]


class PayloadError(ValueError):
    """The opened shares are not what the round expects (shape, type or range)."""


def limbs_for(prime: int) -> int:
    """64-bit limbs per share: 1 below ``2**64`` (stored without a limb axis)."""
    return max(1, (prime.bit_length() + 63) // 64)


@dataclass(frozen=True)
class PayloadShape:
    """What one contributor's shares look like in a round.

    Attributes:
        kpis: Number of KPIs ``K``.
        width: Digit columns per row: ``levels * 2**radix_bits``.
        prime: The round's prime.
    """

    kpis: int
    width: int
    prime: int

    @classmethod
    def for_round(cls, kpis: int, sizing: Sizing, radix_bits: int, prime: int) -> PayloadShape:
        """The shape for a round's KPI count, sizing, radix and prime."""
        levels = len(digit_layout(sizing.value_bits, radix_bits))
        return cls(kpis, levels << radix_bits, prime)

    def max_bytes(self, rows: int) -> int:
        """An upper bound on :func:`pack_shares`'s output for ``rows`` rows."""
        values = self.kpis * rows * (self.width + 1) * limbs_for(self.prime)
        return 8 * values + 4096  # two .npy headers and the zip directory


def _to_limbs(array: np.ndarray, limbs: int) -> np.ndarray:
    values = np.asarray(array, dtype=object)
    out = np.zeros((*values.shape, limbs), dtype=np.uint64)
    mask = (1 << 64) - 1
    for j in range(limbs):
        out[..., j] = ((values >> (64 * j)) & mask).astype(np.uint64)
    return out


def _from_limbs(array: np.ndarray) -> np.ndarray:
    result = np.zeros(array.shape[:-1], dtype=object)
    for j in range(array.shape[-1]):
        result += array[..., j].astype(object) << (64 * j)
    return result


def pack_shares(digits: np.ndarray, valid: np.ndarray, prime: int) -> bytes:
    """The archive of one server's shares (see the module docstring for the layout).

    Args:
        digits: Shares ``(K, rows * width)`` (or ``(K, rows, levels, 2**radix)``, flattened
            here), ints below ``prime``.
        valid: Shares ``(K, rows)``.
        prime: The round's prime.
    """
    digits = np.asarray(digits)
    digits = digits.reshape(digits.shape[0], -1)
    valid = np.asarray(valid)
    limbs = limbs_for(prime)
    buffer = io.BytesIO()
    if limbs == 1:
        np.savez(buffer, digits=digits.astype(np.uint64), valid=valid.astype(np.uint64))
    else:
        np.savez(buffer, digits=_to_limbs(digits, limbs), valid=_to_limbs(valid, limbs))
    return buffer.getvalue()


def _below(limbs: np.ndarray, prime: int) -> bool:
    """Whether every value (little-endian 64-bit limbs on the last axis) is below ``prime``.

    Compared from the top limb down in ``uint64`` arithmetic, looking at the lower limbs only
    of the few values whose upper limbs equal the prime's.
    """
    count = limbs.shape[-1]
    flat = limbs.reshape(-1, count)
    for j in reversed(range(count)):
        bound = np.uint64((prime >> (64 * j)) & ((1 << 64) - 1))
        top = flat[:, j]
        largest = top.max()
        if largest != bound:
            return bool(largest < bound)
        flat = flat[top == bound]
    return False  # some value equals the prime


@functools.lru_cache(maxsize=64)
def _npy_header(shape: tuple[int, ...]) -> bytes:
    """The exact ``.npy`` header ``np.savez`` writes for a C-ordered ``uint64`` array."""
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(shape, dtype="<u8"))
    return buffer.getvalue()[: -8 * math.prod(shape) or None]


def _read_canonical(data: bytes, shapes: dict[str, tuple[int, ...]]
                    ) -> dict[str, np.ndarray] | None:
    """Read an archive as :func:`pack_shares` writes it, without numpy's general header parser.

    Returns None when the archive is not exactly of that form (the caller then reads it with
    :func:`numpy.load` to say what is wrong).
    """
    arrays = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if sorted(archive.namelist()) != sorted(f"{name}.npy" for name in shapes):
                return None
            for name, shape in shapes.items():
                raw = archive.read(f"{name}.npy")
                header = _npy_header(shape)
                if not raw.startswith(header) or len(raw) != len(header) + 8 * math.prod(shape):
                    return None
                arrays[name] = np.frombuffer(raw, dtype="<u8", offset=len(header)).reshape(
                    shape).astype(np.uint64)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError):
        return None
    return arrays


def _check(array: np.ndarray, name: str, shape: tuple[int, ...], prime: int,
           as_int: bool) -> np.ndarray:
    if array.dtype != np.uint64:
        raise PayloadError(f"{name}: expected 64-bit unsigned shares, got {array.dtype}")
    limbs = limbs_for(prime)
    expected = shape if limbs == 1 else (*shape, limbs)
    if array.shape != expected:
        raise PayloadError(f"{name}: expected shape {expected}, got {array.shape}")
    if limbs == 1:
        if array.size and int(array.max()) >= prime:
            raise PayloadError(f"{name}: a share is not below the round's prime")
        return array
    if array.size and not _below(array, prime):
        raise PayloadError(f"{name}: a share is not below the round's prime")
    return _from_limbs(array) if as_int else array


def unpack_shares(data: bytes, shape: PayloadShape, rows: int, *, as_int: bool = True
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Read and check an archive made by :func:`pack_shares`.

    Args:
        data: The opened plaintext.
        shape: The round's payload shape.
        rows: The rows the submission declares.
        as_int: For primes of ``2**64`` and more, return object arrays of ints (default);
            False leaves the checked ``uint64`` limb arrays (what intake needs: a check only).

    Returns:
        ``(digits (K, rows * width), valid (K, rows))``: ``uint64`` for primes below ``2**64``,
        else object arrays of ints (or limb arrays, see ``as_int``).

    Raises:
        PayloadError: Not such an archive, other arrays, shapes or types, or a share not below
            the prime.
    """
    limbs = () if limbs_for(shape.prime) == 1 else (limbs_for(shape.prime),)
    fast = _read_canonical(data, {"digits": (shape.kpis, rows * shape.width, *limbs),
                                  "valid": (shape.kpis, rows, *limbs)})
    if fast is not None:
        return (_check(fast["digits"], "digits", (shape.kpis, rows * shape.width), shape.prime,
                       as_int),
                _check(fast["valid"], "valid", (shape.kpis, rows), shape.prime, as_int))
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            names = set(archive.files)
            if names != {"digits", "valid"}:
                raise PayloadError(f"expected the arrays digits and valid, got {sorted(names)}")
            digits, valid = archive["digits"], archive["valid"]
    except PayloadError:
        raise
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise PayloadError(f"the shares are not a readable array archive ({error})") from None
    return (_check(digits, "digits", (shape.kpis, rows * shape.width), shape.prime, as_int),
            _check(valid, "valid", (shape.kpis, rows), shape.prime, as_int))
