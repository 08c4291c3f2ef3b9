"""Each firm's private position (rank, percentile, band), computed obliviously and delivered to
that firm only: all-pairs counting for peer rounds, a shuffle-sort for many rows.
"""
