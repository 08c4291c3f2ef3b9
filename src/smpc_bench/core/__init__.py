"""The protocol core: a :class:`~smpc_bench.core.secure_table.SecureTable` in, secure results out.

Nothing here opens a value except :mod:`smpc_bench.core.reveal`, which callers use to release the
declared outputs; masked openings inside sub-protocols (comparisons, input screening) are
recorded by :mod:`smpc_bench.costs`.
"""
