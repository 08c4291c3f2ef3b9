"""The exit codes of every ``smpc-bench`` command and party program, in one place.

Scripts that drive a round (a firm's scheduler, an operator's cron job) branch on these, so they
are part of the interface: documented in the README and never reused for something else.
"""

from __future__ import annotations

__all__ = [
    "BAD_INPUT",
    "ERROR",
    "OK",
    "PARTY_LOST",
    "PARTY_STALLED",
    "PEER_REFUSED",
    "RUN_TIMEOUT",
    "USAGE",
]

#: The command did what was asked.
OK = 0
#: Any other failure (the message on stderr says what and what to do).
ERROR = 1
#: Wrong command-line arguments (argparse's own code).
USAGE = 2
#: The round did not finish within its overall time limit (the watchdog ended it).
RUN_TIMEOUT = 3
#: Another party (or compute server) is missing: it disconnected, crashed, or never answered
#: within the connect or phase timeout.
PARTY_LOST = 4
#: Another party stopped making progress (asleep, stopped, cut off) for the progress timeout.
PARTY_STALLED = 5
#: A peer was refused: another round, another spec, or a certificate that does not match.
PEER_REFUSED = 6
#: The consortium file or the firm's data file cannot be used (the message names file and place).
BAD_INPUT = 7
