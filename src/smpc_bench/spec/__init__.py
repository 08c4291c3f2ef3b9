"""What a round computes and agrees on, as pure values.

KPI definitions and their exact encoding, statistics (metrics) and quantile methods, secure-type
sizing from the declared bounds, the agreed round spec and its hash, the threshold rule and the
disclosure rules' texts and release plan.

Pure values: nothing here imports MPyC, reads files or opens a connection, so the local ``check``
command and the report builder can use it without loading any MPC code.
"""
