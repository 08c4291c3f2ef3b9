"""Fixtures of the benchmark suite: the MPyC runtime at m=1 and secret-shared tables per size.

Run the suite with ``pytest benchmarks --benchmark-only`` (the default ``testpaths`` is ``tests/``).
The in-process benchmarks use MPyC with one party (no ``-M``): MPyC then evaluates
synchronously, so the time measured is the local compute of the protocol core; opening is free.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# The helper modules beside this file (also under --import-mode=importlib).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from core_cases import Case, make_plain  # noqa: E402

from smpc_bench.core.secure_table import SecureTable  # noqa: E402
from smpc_bench.spec.encoding import DEFAULT_RADIX_BITS, encode_digits


@pytest.fixture(scope="session")
def mpc() -> Any:
    """The MPyC runtime with one party (local simulation), accelerations installed."""
    from smpc_bench.engine import driver

    return driver.runtime()


@pytest.fixture(scope="session")
def case_for(mpc: Any) -> Callable[[int, int, bool], Case]:
    """``(n, K, moments) -> Case``, made once each (sharing is not what these benchmarks time)."""
    cache: dict[tuple[int, int, bool], Case] = {}

    def factory(n: int, kpis: int, moments: bool) -> Case:
        key = (n, kpis, moments)
        if key not in cache:
            plain = make_plain(n, kpis, moments=moments)
            sectype = mpc.SecInt(plain.sizing.field_bits)
            digits = sectype.array(
                encode_digits(plain.offsets, plain.sizing.value_bits, DEFAULT_RADIX_BITS))
            valid = sectype.array(np.ones(plain.offsets.shape, dtype=np.int64))
            table = SecureTable.from_digits(plain.specs, plain.sizing, digits, valid)
            cache[key] = Case(plain, digits, valid, table)
        return cache[key]

    return factory
