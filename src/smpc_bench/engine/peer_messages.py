"""Why a watched run stopped, and the one line each party prints about it.

The texts of :mod:`smpc_bench.engine.liveness`, kept apart: a :class:`Failure` record, the
message a party shows (:func:`failure_message`), and the reason of a refusal from either side
(:func:`refusal_text` for the party that refused, :func:`refused_text` for the refused one).
Every line names the parties concerned (index and firm), the phase, and what to do; none
mentions internal names.  Text that came from a peer is cleaned (:func:`clean`) before it is
shown: one line of printable characters, bounded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Failure", "Who", "clean", "failure_message", "refusal_text", "refused_text"]

#: ``who(index)``: ``"party 2 (Bakkerij Gamma)"``; ``"a peer"`` for None.
Who = Callable[[int | None], str]
#: Longest text taken from a peer's abort or refuse frame.
MAX_TEXT = 600


@dataclass(frozen=True)
class Failure:
    """Why a run stopped.

    Attributes:
        kind: ``lost``, ``stalled``, ``refused`` or ``error`` (a party stopped with an error).
        parties: The parties concerned (lost, silent, refused, or the one that failed).
        text: For ``refused`` and ``error``: the account of the party that saw it.
        reporter: The peer that told this party (an abort frame), or None: seen here.
        silence: For ``stalled``: seconds without a word.
    """

    kind: str
    parties: tuple[int, ...] = ()
    text: str = ""
    reporter: int | None = None
    silence: float = 0.0


def clean(text: object, limit: int = MAX_TEXT) -> str:
    """A peer's text, safe to print: one line, printable characters only, bounded.

    Text longer than ``limit`` is cut at the last space before it and ends in "...", so that a
    reader sees it was shortened.
    """
    value = str(text)
    if len(value) > limit:
        cut = value.rfind(" ", 0, limit - 3)
        value = value[:cut if cut > limit // 2 else limit - 3] + "..."
    return "".join(c if c.isprintable() else " " for c in value)


def refusal_text(reason: dict[str, Any], *, peer: int | None, me: int, address: str,
                 accepting: bool, who: Who) -> str:
    """Why this party (``me``) refused ``peer`` (the one at fault, from here)."""
    code, peer_name = reason.get("reason"), who(peer)
    if code == "parties":
        return (f"{peer_name} runs a round of {reason['theirs']} parties, ours has "
                f"{reason['ours']}: every party must use the same consortium file")
    if code == "address":
        if accepting:
            return (f"{peer_name} tried to reach {who(reason['expected'])} at the address of "
                    f"this party, {who(me)}: check the addresses under "
                    "[[parties]] (a mistyped port?)")
        return (f"the address of {who(reason['expected'])} ({address}) is "
                f"answered by {who(reason['found'])}: check the addresses under "
                "[[parties]] (a mistyped port?)")
    if code == "spec":
        return (f"the round spec of {peer_name} differs from ours (hash "
                f"{clean(reason['theirs'], 12)} vs {reason['ours'][:12]}): every party "
                "must use the same consortium file, unchanged")
    if code == "duplicate":
        return (f"a second process claims to be {peer_name} while one is connected already (an "
                "earlier run still alive?): stop every process of the round and start it "
                "again")
    if code == "certificate":
        return (f"{peer_name} presented a TLS certificate for {clean(reason['found'], 80)!r}, "
                f"not {reason['expected']!r} as its [[parties]] entry says: each firm must "
                "use its own certificate, made with `smpc-bench keygen --config`")
    if code == "local-only":
        return (f"refused a connection from {address}: this round runs without TLS "
                "and accepts connections from this machine only")
    if code == "index":
        return (f"{peer_name} introduced itself as {peer_name} but announced index "
                f"{reason['found']} to MPyC (a modified or broken program?)")
    return (f"the peer at {address} is not a party of an smpc-bench round of this "
            "version (another program, another smpc-bench version, or a mistyped address)")


def refused_text(reason: dict[str, Any], *, peer: int | None, me: int, parties: int,
                 round_tag: str, who: Who) -> str:
    """Why ``peer`` refused this party (``me``), as its refuse frame says."""
    code, peer_name, my_name = reason.get("reason"), who(peer), who(me)

    def number(key: str) -> int | None:
        value = reason.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    if code == "parties":
        return (f"{peer_name} runs a round of {number('ours')} parties, ours has {parties}: every "
                "party must use the same consortium file")
    if code == "address":
        return (f"{peer_name} was reached instead of {who(number('expected'))}, or refused "
                f"this party's index: check the addresses under [[parties]] (a mistyped "
                "port?)")
    if code == "spec":
        return (f"the round spec of {peer_name} differs from ours (hash "
                f"{clean(reason.get('ours', ''), 12)} vs {round_tag[:12]}): "
                "every party must use the same consortium file, unchanged")
    if code == "duplicate":
        return (f"{peer_name} already has a connection from a process claiming to be this party, "
                f"{my_name} (an earlier run still alive?): stop every process of the round and "
                "start it again")
    if code == "certificate":
        return (f"{peer_name} refused this party's TLS certificate: it is for "
                f"{clean(reason.get('found', ''), 80)!r}, but {peer_name} expects "
                f"{clean(reason.get('expected', ''), 80)!r}: use the certificate made for "
                "this firm (`smpc-bench keygen --config`)")
    if code == "local-only":
        return (f"{peer_name} accepts connections from its own machine only (its round runs "
                "without TLS): set up TLS to connect across machines")
    if code == "index":
        return f"{peer_name} refused this party: its MPyC index did not match its hello"
    return (f"{peer_name} refused this party as not a party of an smpc-bench round of its "
            "version: every party must run the same smpc-bench version")


def failure_message(failure: Failure, phase: str, who: Who) -> str:
    """The one line a party prints when the run stopped (``phase``: where it was)."""
    names = ", ".join(who(p) for p in failure.parties) or "another party"
    by = ("" if failure.reporter is None or failure.reporter in failure.parties
          else f", reported by {who(failure.reporter)}")
    if failure.kind == "stalled":
        return (f"{names} sent nothing for {failure.silence:.0f} s while {phase!r}{by} "
                "(asleep, stopped or cut off from the network); the round is stopped at "
                "every party. Check that its computer is awake and online, then start the "
                "round again at every party (a slow machine or link may need a larger "
                "progress_timeout under [network] in the consortium file)")
    if failure.kind == "refused":
        return f"{failure.text} (while {phase!r}{by}); the round is stopped at every party"
    if failure.kind == "error":
        detail = f" ({failure.text})" if failure.text else ""
        return (f"{names} stopped with an error while {phase!r}{by}{detail}; the round is "
                "stopped at every party: its operator should look at its log, then start "
                "the round again at every party")
    again = "they are" if len(failure.parties) > 1 else "it is"
    return (f"{names} disconnected while {phase!r}{by} (crashed, stopped, or lost its network "
            f"connection); the round is stopped at every party: start it again at every "
            f"party once {again} running again")
