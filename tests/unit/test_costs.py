"""Unit tests of smpc_bench.costs that need no MPyC run: counters, formatting, round clocks."""

import asyncio
import struct

import numpy as np
import pytest

from smpc_bench import costs
from smpc_bench.costs.lockstep import MARKER_PC, _frame, _LockStep
from smpc_bench.costs.rounds import _RoundClock, _then_hold
from smpc_bench.costs.tracking import Costs, _elements


def test_costs_totals_and_flat_counters():
    cost = Costs(parties=3, party=1, rounds=7, messages={0: 4, 2: 5}, bytes={0: 100, 2: 150},
                 reshares=2, reshared_elements=20, openings=3, library_openings=1)
    assert cost.messages_sent == 9
    assert cost.bytes_sent == 250
    flat = cost.as_dict()
    assert flat["rounds"] == 7 and flat["messages_sent"] == 9 and flat["bytes_sent"] == 250
    assert flat["reshared_elements"] == 20 and flat["library_openings"] == 1
    assert "bytes_sent" not in cost.deterministic()
    assert cost.deterministic()["messages_sent"] == 9


def test_elements_of_scalars_arrays_and_lists():
    assert _elements(5) == 1
    assert _elements(np.zeros((3, 4))) == 12
    assert _elements([np.zeros((2, 2)), 7, [1, 2]]) == 7
    assert _elements([]) == 0


def test_format_costs_mentions_rounds_traffic_and_openings():
    cost = Costs(parties=3, party=0, rounds=12, messages={1: 3, 2: 3}, bytes={1: 2000, 2: 1000},
                 comparisons=2, compared_elements=10, openings=5, library_openings=2)
    text = costs.format_costs(cost)
    assert "rounds 12" in text
    assert "to party 1: 3 messages, 2,000 bytes" in text
    assert "comparisons 2 (10 elements" in text
    assert "openings 5" in text and "3 masked inside sub-protocols" in text
    assert "not counted" in costs.format_costs(Costs())


def _run(coro):
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro(loop))
    finally:
        loop.close()


def test_round_clock_counts_the_longest_chain_of_held_results():
    async def main(loop):
        clock = _RoundClock(loop)

        async def step():
            await clock.hold()

        async def chain(k):
            for _ in range(k):
                await step()

        # Three independent chains of lengths 1, 4 and 2 in parallel: 4 rounds, not 7.
        await asyncio.gather(chain(1), chain(4), chain(2))
        return clock.rounds

    assert _run(main) == 4


def test_round_clock_waits_for_local_work_before_a_boundary():
    async def main(loop):
        clock = _RoundClock(loop)
        log = []

        async def busy():
            for _ in range(50):  # many scheduling steps, all in round 0
                log.append(("busy", clock.rounds))
                await asyncio.sleep(0)

        async def held():
            await clock.hold()
            log.append(("held", clock.rounds))

        await asyncio.gather(busy(), held())
        return log

    log = _run(main)
    assert all(r == 0 for kind, r in log if kind == "busy")
    assert ("held", 1) in log


@pytest.mark.parametrize("annotated, rounds", [(False, 0), (True, 1)])
def test_then_hold_skips_bodies_that_return_before_their_first_yield(annotated, rounds):
    async def main(loop):
        clock = _RoundClock(loop)

        async def body():
            return 42

        result = await _then_hold(body(), clock, annotated)
        return result, clock.rounds

    assert _run(main) == (42, rounds)


def test_then_hold_holds_after_the_body_and_forwards_its_result():
    async def main(loop):
        clock = _RoundClock(loop)

        async def body():
            await asyncio.sleep(0)
            return "done"

        result = await _then_hold(body(), clock, False)
        return result, clock.rounds

    assert _run(main) == ("done", 1)


class _Transport:
    def __init__(self):
        self.frames = []

    def write(self, data):
        self.frames.append(bytes(data))


class _Protocol:
    def __init__(self, peer):
        self.peer_pid = peer
        self.transport = _Transport()
        self.buffers = {}
        self.bytes = bytearray()


def _control_frames(protocol):
    out = []
    for frame in protocol.transport.frames:
        pc, size = struct.unpack_from("<qI", frame)
        if pc == MARKER_PC:
            out.append(struct.unpack("<Bq", frame[12:12 + size]))
    return out


def test_lockstep_holds_frames_back_until_the_peer_starts_and_rounds_end_together():
    async def main(loop):
        lock = _LockStep()
        lock.loop = loop
        peer = _Protocol(1)
        lock.protocols = {1: peer}
        lock.block, lock.tracking = 1, True
        lock.control(1, 1)  # START goes out at once
        lock.write(1, _frame(7, b"x"))  # held: the peer has not started the block
        assert _control_frames(peer) == [(1, 1)] and len(peer.transport.frames) == 1
        lock.marker(peer, struct.pack("<Bq", 1, 1))  # the peer's START (a control frame)
        assert peer.transport.frames[-1] == _frame(7, b"x")
        lock.incoming(peer, 9, b"payload")  # a frame of the peer's round 0: queued
        assert 9 not in peer.buffers
        await asyncio.sleep(0.01)  # a timer: the ready queue runs empty, round 0 ends here
        assert lock.round == 0 and (2, 0) in _control_frames(peer)  # we ended round 0
        lock.marker(peer, struct.pack("<Bq", 2, 0))  # the peer ended it too
        await asyncio.sleep(0.01)
        assert lock.round == 1 and peer.buffers[9] == b"payload"
        lock.tracking = False
        return lock.exit()

    assert _run(main) == 1
