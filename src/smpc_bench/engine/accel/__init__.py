"""Switch on smpc-bench's exactly equivalent speed-ups of MPyC's local arithmetic.

They replace local computations only (random share generation, interpolation, matrix
products, field-array construction, pseudorandom numbers) with versions that give bit-for-bit
the same results, so parties with and without them interoperate.  Set
``SMPC_BENCH_NO_ACCEL=1`` to run MPyC's own code instead (for comparisons and debugging).
"""

from __future__ import annotations

import os

__all__ = ["enabled", "install", "uninstall"]


def enabled() -> bool:
    """Whether the environment allows the speed-ups (``SMPC_BENCH_NO_ACCEL`` unset or 0)."""
    return os.environ.get("SMPC_BENCH_NO_ACCEL", "0") in ("", "0")


def install() -> None:
    """Install all speed-ups unless disabled by the environment (idempotent)."""
    # Imported here: importing ``mpyc`` parses ``sys.argv``, and the submodules import it.
    from smpc_bench.engine.accel import field_arrays as fast_arrays
    from smpc_bench.engine.accel import matmul as fast_matmul
    from smpc_bench.engine.accel import prf as fast_prf
    from smpc_bench.engine.accel import sharing as fast_sharing

    if enabled():
        fast_sharing.install()
        fast_matmul.install()
        fast_arrays.install()
        fast_prf.install()


def uninstall() -> None:
    """Restore MPyC's own functions."""
    from smpc_bench.engine.accel import field_arrays as fast_arrays
    from smpc_bench.engine.accel import matmul as fast_matmul
    from smpc_bench.engine.accel import prf as fast_prf
    from smpc_bench.engine.accel import sharing as fast_sharing

    fast_sharing.uninstall()
    fast_matmul.uninstall()
    fast_arrays.uninstall()
    fast_prf.uninstall()
