"""Why a party's run failed: one exception type per documented exit code.

Apart from :mod:`smpc_bench.engine.driver` (which re-exports them) so that the connection
watcher it arms, :mod:`smpc_bench.engine.liveness`, raises them without importing the driver
back.
"""

from __future__ import annotations

from smpc_bench.spec import exit_codes

__all__ = ["PartyError", "PartyLostError", "PartyStalledError", "PartyTimeoutError",
           "PeerRefusedError"]


class PartyError(RuntimeError):
    """A party could not complete its part of an MPyC run.

    Attributes:
        exit_code: The process exit code for this failure (:mod:`smpc_bench.spec.exit_codes`).
    """

    exit_code: int = exit_codes.ERROR


class PartyLostError(PartyError):
    """Another party disconnected, crashed or stopped with an error during the run.

    Attributes:
        parties: Indices of the parties that are gone.
        phase: The phase this party was in when it noticed.
    """

    exit_code = exit_codes.PARTY_LOST

    def __init__(self, message: str, parties: tuple[int, ...] = (), phase: str = "") -> None:
        """Keep the one-line message, the parties concerned and the phase."""
        super().__init__(message)
        self.parties = parties
        self.phase = phase


class PartyStalledError(PartyLostError):
    """Another party sent nothing (no data, no heartbeat) for the progress timeout."""

    exit_code = exit_codes.PARTY_STALLED


class PeerRefusedError(PartyLostError):
    """A peer was refused: another round or spec, a wrong address, a wrong certificate."""

    exit_code = exit_codes.PEER_REFUSED


class PartyTimeoutError(PartyError):
    """The other parties did not answer within the time allowed for a phase.

    Attributes:
        phase: Name of the phase that timed out.
        timeout: The time allowed, in seconds.
        party: Index of the party that gave up, or None if unknown.
    """

    # Nobody answered: for a script driving the round, that is a missing party, the same as
    # one that disconnected (whichever of the two a party notices first depends on timing).
    exit_code = exit_codes.PARTY_LOST

    def __init__(self, phase: str, timeout: float, party: int | None = None) -> None:
        """Build the message from the phase name, the timeout and the party index."""
        self.phase = phase
        self.timeout = timeout
        self.party = party
        who = "this party" if party is None else f"party {party}"
        super().__init__(
            f"{who}: no answer from the other parties within {timeout:g} s while {phase!r}; "
            "a party may have crashed or be unreachable"
        )
