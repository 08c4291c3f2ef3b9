"""The round database: replays, retries, last submission wins, durability, batched writers."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from smpc_bench.outsourced.store import (
    MAX_SUBMISSIONS_PER_TOKEN,
    BatchWriter,
    NewSubmission,
    StoreError,
    StoreOutcome,
    SubmissionStore,
)

ROUND = "r" * 64


def item(number: int, token: str = "t1", body: str = "b") -> NewSubmission:
    return NewSubmission(f"{number:032x}", token, 1, "PEM", bytes([number % 256]) * 10,
                         f"{body}{number}", float(number))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SubmissionStore]:
    with SubmissionStore(tmp_path / "round.sqlite", round_id=ROUND, server_index=0) as opened:
        yield opened


def test_tables_are_the_agreed_ones_in_wal_mode(store: SubmissionStore) -> None:
    db = sqlite3.connect(store.path)
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"meta", "tokens", "submissions", "results", "outcome", "compute_state"}
    columns = [row[1] for row in db.execute("PRAGMA table_info(submissions)")]
    assert columns == ["submission_id", "token_hash", "received", "rows", "result_public_key",
                       "sealed", "body_sha256", "superseded"]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    meta = store.meta()
    assert meta["round_id"] == ROUND and meta["server_index"] == "0" and "created" in meta
    db.close()


def test_another_rounds_file_is_refused(store: SubmissionStore) -> None:
    with pytest.raises(StoreError, match="another round"):
        SubmissionStore(store.path, round_id="x" * 64, server_index=0)
    with pytest.raises(StoreError, match="server_index"):
        SubmissionStore(store.path, round_id=ROUND, server_index=1)
    SubmissionStore(store.path).close()  # a reader that does not claim is fine


def test_retry_replay_and_last_submission_wins(store: SubmissionStore) -> None:
    assert store.store([item(1)]) == [StoreOutcome.STORED]
    assert store.store([item(1)]) == [StoreOutcome.DUPLICATE]  # the same upload again
    assert store.store([item(1, body="other")]) == [StoreOutcome.CONFLICT]  # replayed id
    assert store.store([item(1, token="t2")]) == [StoreOutcome.CONFLICT]  # someone else's id
    assert store.store([item(2), item(3, token="t2")]) == [StoreOutcome.STORED] * 2
    latest = store.latest()
    assert [(s.submission_id, s.token_hash) for s in latest] == [(f"{2:032x}", "t1"),
                                                                 (f"{3:032x}", "t2")]
    first = store.submission(f"{1:032x}")
    assert first is not None and first.superseded and first.sealed == bytes([1]) * 10
    # A retry of the replaced submission is still recognised, and it stays replaced.
    assert store.store([item(1)]) == [StoreOutcome.DUPLICATE]
    assert store.latest_for("t1").submission_id == f"{2:032x}"  # type: ignore[union-attr]
    counts = store.counts()
    assert (counts.accepted, counts.contributors, counts.rows) == (3, 2, 2)


def test_one_transaction_decides_in_order(store: SubmissionStore) -> None:
    outcomes = store.store([item(5), item(5), item(5, body="x"), item(6)])
    assert outcomes == [StoreOutcome.STORED, StoreOutcome.DUPLICATE, StoreOutcome.CONFLICT,
                        StoreOutcome.STORED]
    assert [s.submission_id for s in store.latest()] == [f"{6:032x}"]


def test_submissions_per_token_are_limited(store: SubmissionStore) -> None:
    items = [item(i) for i in range(MAX_SUBMISSIONS_PER_TOKEN + 1)]
    outcomes = store.store(items)
    assert outcomes[-1] is StoreOutcome.LIMIT and set(outcomes[:-1]) == {StoreOutcome.STORED}


def test_results_outcome_and_compute_state(store: SubmissionStore) -> None:
    assert store.outcome() is None and store.result_for("t1") is None
    store.put_results([("t1", "s1", b"one"), ("t2", "s2", b"two")])
    store.put_results([("t3", "s3", b"three")], replace_all=False)
    assert store.result_for("t1").sealed == b"one"  # type: ignore[union-attr]
    assert store.results_count() == 3
    store.put_results([("t2", "s2", b"again")])  # replaces the table
    assert store.result_for("t1") is None and store.results_count() == 1
    store.set_outcome('{"kpis": []}')
    store.set_outcome('{"kpis": [1]}')
    assert store.outcome() == '{"kpis": [1]}'
    store.set_state("phase", "agreed")
    assert store.state() == {"phase": "agreed"}


def test_batched_writer_many_concurrent_uploads_few_commits(tmp_path: Path) -> None:
    path = tmp_path / "round.sqlite"

    async def main() -> tuple[list[StoreOutcome], int]:
        writer = BatchWriter(path, round_id=ROUND, server_index=0)
        await writer.start()
        items = [item(i, token=f"token{i % 150}") for i in range(300)]
        outcomes = list(await asyncio.gather(*(writer.submit(x) for x in items)))
        outcomes += [await writer.submit(item(7, token="token7"))]  # a retry, after its commit
        await writer.close()
        with pytest.raises(StoreError, match="closed"):
            await writer.submit(item(999))
        return outcomes, writer.commits

    outcomes, commits = asyncio.run(main())
    assert outcomes[:300] == [StoreOutcome.STORED] * 300
    assert outcomes[300] is StoreOutcome.DUPLICATE
    assert commits <= 10  # the 300 uploads shared a few commits
    with SubmissionStore(path) as reopened:
        assert len(reopened.submission_ids()) == 300
        latest = reopened.latest()
        assert len(latest) == 150  # two per token: the later one wins
        assert all(int(s.submission_id, 16) >= 150 for s in latest)


def test_acknowledged_means_committed_even_without_a_clean_close(tmp_path: Path) -> None:
    path = tmp_path / "round.sqlite"

    async def main() -> None:
        writer = BatchWriter(path, round_id=ROUND, server_index=0)
        await writer.start()
        await asyncio.gather(*(writer.submit(item(i, token=f"t{i}")) for i in range(50)))
        # No close(): the next connection (as after a crash) must see every acknowledged row.
        with SubmissionStore(path) as other:
            assert len(other.latest()) == 50
        await writer.close()

    asyncio.run(main())


def test_compute_and_intake_write_at_the_same_time(tmp_path: Path) -> None:
    path = tmp_path / "round.sqlite"
    SubmissionStore(path, round_id=ROUND, server_index=0).close()
    failures: list[BaseException] = []

    def compute() -> None:
        try:
            with SubmissionStore(path) as other:
                for round_ in range(30):
                    other.put_results([(f"t{i}", f"s{i}", b"r") for i in range(50)])
                    other.set_state("step", str(round_))
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    async def intake() -> list[StoreOutcome]:
        writer = BatchWriter(path, round_id=ROUND, server_index=0, max_batch=20)
        await writer.start()
        thread = threading.Thread(target=compute)
        thread.start()
        outcomes = []
        for chunk in range(10):
            outcomes += await asyncio.gather(*(writer.submit(item(chunk * 40 + i, token=f"k{i}"))
                                               for i in range(40)))
        thread.join()
        await writer.close()
        return outcomes

    outcomes = asyncio.run(intake())
    assert not failures and outcomes == [StoreOutcome.STORED] * 400
    with SubmissionStore(path) as reopened:
        assert len(reopened.submission_ids()) == 400 and reopened.results_count() == 50
        assert reopened.state() == {"step": "29"}
