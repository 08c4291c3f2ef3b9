"""Each firm's private position (rank, percentile, band), delivered to that firm only.

Computed obliviously: all-pairs counting for peer rounds, a shuffle-sort for many rows.
"""
