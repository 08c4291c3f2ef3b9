"""A compute server's store of one round: SQLite, one file per round, WAL, batched commits.

Tables (the compute phase reads and writes them by these names)::

    meta(key TEXT PRIMARY KEY, value TEXT)              round_id, server_index, created
    tokens(token_hash TEXT PRIMARY KEY)                 enrolment-token hashes
    submissions(submission_id TEXT PRIMARY KEY, token_hash TEXT, received REAL, rows INTEGER,
                result_public_key TEXT, sealed BLOB, body_sha256 TEXT,
                superseded INTEGER DEFAULT 0)           every accepted submission
    results(token_hash TEXT PRIMARY KEY, submission_id TEXT, sealed BLOB)   written by compute
    outcome(id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT)               written by compute
    compute_state(key TEXT PRIMARY KEY, value TEXT)                         for restartable compute

Every accepted submission is kept, superseded ones too: their ids stay known, so a replayed id
is recognised for as long as the round's file exists.  The latest submission per token (in order
of acceptance) has ``superseded = 0``; :meth:`SubmissionStore.latest` returns those.

Durability: WAL with ``synchronous = FULL``, so a commit is on disk before it returns and an
upload is acknowledged only after the commit that holds it (:class:`BatchWriter`).  A killed
server loses nothing it acknowledged; SQLite recovers the WAL on the next open.  Many uploads
share one commit (group commit), which is what makes a high intake rate possible with an fsync
per commit.  The file must be on a local disk (WAL needs shared memory; not NFS).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "MAX_SUBMISSIONS_PER_TOKEN",
    "BatchWriter",
    "NewSubmission",
    "StoreCounts",
    "StoreError",
    "StoreOutcome",
    "StoredResult",
    "StoredSubmission",
    "SubmissionStore",
]

#: A token may submit this often (each new submission replaces the previous one); more is
#: refused, so that one member cannot fill a server's disk.
MAX_SUBMISSIONS_PER_TOKEN = 20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS tokens(token_hash TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS submissions(
    submission_id TEXT PRIMARY KEY, token_hash TEXT, received REAL, rows INTEGER,
    result_public_key TEXT, sealed BLOB, body_sha256 TEXT, superseded INTEGER DEFAULT 0);
CREATE INDEX IF NOT EXISTS submissions_by_token ON submissions(token_hash, superseded);
CREATE TABLE IF NOT EXISTS results(token_hash TEXT PRIMARY KEY, submission_id TEXT, sealed BLOB);
CREATE TABLE IF NOT EXISTS outcome(id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT);
CREATE TABLE IF NOT EXISTS compute_state(key TEXT PRIMARY KEY, value TEXT);
"""


class StoreError(RuntimeError):
    """The store cannot be used: another round's file, or a database error."""


class StoreOutcome(enum.Enum):
    """What happened to one submission handed to :meth:`SubmissionStore.store`."""

    #: New and stored (HTTP 201); it replaces the token's previous submission.
    STORED = 201
    #: The same submission (id, token and body) was stored before (HTTP 200: a retry).
    DUPLICATE = 200
    #: The id is known with another body or token (HTTP 409: a replay).
    CONFLICT = 409
    #: The token has used up :data:`MAX_SUBMISSIONS_PER_TOKEN` (HTTP 429).
    LIMIT = 429


@dataclass(frozen=True)
class NewSubmission:
    """An upload that passed every check and is to be stored.

    Attributes:
        submission_id: 32 hex digits, the same at every server.
        token_hash: Hex SHA-256 of the contributor's enrolment token.
        rows: Rows in the submission.
        result_public_key: PEM of the contributor's X25519 result key.
        sealed: The sealed shares, as received.
        body_sha256: Hex SHA-256 of the canonical body (tells a retry from a replay).
        received: Unix time of arrival.
    """

    submission_id: str
    token_hash: str
    rows: int
    result_public_key: str
    sealed: bytes
    body_sha256: str
    received: float


@dataclass(frozen=True)
class StoredSubmission:
    """A row of ``submissions``."""

    submission_id: str
    token_hash: str
    received: float
    rows: int
    result_public_key: str
    sealed: bytes
    body_sha256: str
    superseded: bool


@dataclass(frozen=True)
class StoredResult:
    """A row of ``results``: one contributor's result share sealed to its result key."""

    token_hash: str
    submission_id: str
    sealed: bytes


@dataclass(frozen=True)
class StoreCounts:
    """Totals for the status page (no identities).

    Attributes:
        accepted: Stored submissions, replaced ones included.
        contributors: Tokens with a stored submission.
        rows: Rows of the latest submission per token, summed.
    """

    accepted: int
    contributors: int
    rows: int


_COLUMNS = ("submission_id, token_hash, received, rows, result_public_key, sealed, body_sha256, "
            "superseded")


def _row(record: tuple[Any, ...]) -> StoredSubmission:
    sid, token, received, rows, key, sealed, body, superseded = record
    return StoredSubmission(str(sid), str(token), float(received), int(rows), str(key),
                            bytes(sealed), str(body), bool(superseded))


class SubmissionStore:
    """One connection to a round's database; not shared between threads.

    Args:
        path: The database file (created with its tables if missing).
        round_id: If given, the file must belong to this round (recorded when new).
        server_index: If given, the file must belong to this server (recorded when new).
        busy_timeout: Seconds to wait for another connection's write lock.

    Raises:
        StoreError: The file belongs to another round or server, or is not a database.
    """

    def __init__(self, path: str | Path, *, round_id: str | None = None,
                 server_index: int | None = None, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.executescript(_SCHEMA)
            self._claim(round_id, server_index)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path}: not usable as a round database ({error})") from None

    def _claim(self, round_id: str | None, server_index: int | None) -> None:
        wanted = {"round_id": round_id, "server_index": None if server_index is None
                  else str(server_index)}
        meta = self.meta()
        for key, value in wanted.items():
            if value is None:
                continue
            if key in meta and meta[key] != value:
                raise StoreError(f"{self.path} holds {key} {meta[key]}, not {value}: it belongs "
                                 "to another round or server; use a new database file")
        with self.transaction():
            for key, value in wanted.items():
                if value is not None:
                    self._db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, value))
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('created', ?)",
                             (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on an exception)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def __enter__(self) -> SubmissionStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ meta and tokens

    def meta(self) -> dict[str, str]:
        """The ``meta`` table."""
        return {str(k): str(v) for k, v in self._db.execute("SELECT key, value FROM meta")}

    def add_tokens(self, token_hashes: Iterable[str]) -> None:
        """Record enrolment-token hashes (known ones are kept)."""
        with self.transaction() as db:
            db.executemany("INSERT OR IGNORE INTO tokens VALUES (?)",
                           ((h,) for h in token_hashes))

    def token_hashes(self) -> set[str]:
        """Every recorded enrolment-token hash."""
        return {str(h) for (h,) in self._db.execute("SELECT token_hash FROM tokens")}

    # ------------------------------------------------------------------ submissions

    def store(self, items: Sequence[NewSubmission],
              max_per_token: int = MAX_SUBMISSIONS_PER_TOKEN) -> list[StoreOutcome]:
        """Store submissions in one transaction, in order; say what happened to each.

        A known id is a :attr:`StoreOutcome.DUPLICATE` if token and body are the same, else a
        :attr:`StoreOutcome.CONFLICT`; a new one supersedes the token's previous submission.
        """
        outcomes: list[StoreOutcome] = []
        with self.transaction() as db:
            for item in items:
                known = db.execute("SELECT token_hash, body_sha256 FROM submissions WHERE "
                                   "submission_id = ?", (item.submission_id,)).fetchone()
                if known is not None:
                    same = known[0] == item.token_hash and known[1] == item.body_sha256
                    outcomes.append(StoreOutcome.DUPLICATE if same else StoreOutcome.CONFLICT)
                    continue
                (count,) = db.execute("SELECT COUNT(*) FROM submissions WHERE token_hash = ?",
                                      (item.token_hash,)).fetchone()
                if count >= max_per_token:
                    outcomes.append(StoreOutcome.LIMIT)
                    continue
                db.execute("UPDATE submissions SET superseded = 1 WHERE token_hash = ? AND "
                           "superseded = 0", (item.token_hash,))
                db.execute(f"INSERT INTO submissions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                           (item.submission_id, item.token_hash, item.received, item.rows,
                            item.result_public_key, item.sealed, item.body_sha256))
                outcomes.append(StoreOutcome.STORED)
        return outcomes

    def submission(self, submission_id: str) -> StoredSubmission | None:
        """The stored submission with this id, if any."""
        record = self._db.execute(f"SELECT {_COLUMNS} FROM submissions WHERE submission_id = ?",
                                  (submission_id,)).fetchone()
        return None if record is None else _row(record)

    def latest(self) -> list[StoredSubmission]:
        """The latest submission of every token, ordered by submission id."""
        return [_row(r) for r in self._db.execute(
            f"SELECT {_COLUMNS} FROM submissions WHERE superseded = 0 ORDER BY submission_id")]

    def latest_for(self, token_hash: str) -> StoredSubmission | None:
        """The latest submission of one token, if any."""
        record = self._db.execute(f"SELECT {_COLUMNS} FROM submissions WHERE token_hash = ? AND "
                                  "superseded = 0", (token_hash,)).fetchone()
        return None if record is None else _row(record)

    def submission_ids(self) -> set[str]:
        """Every stored submission id (replaced ones too)."""
        return {str(s) for (s,) in self._db.execute("SELECT submission_id FROM submissions")}

    def counts(self) -> StoreCounts:
        """Totals for the status page."""
        accepted, contributors, rows = self._db.execute(
            "SELECT COUNT(*), COALESCE(SUM(superseded = 0), 0), "
            "COALESCE(SUM(CASE WHEN superseded = 0 THEN rows ELSE 0 END), 0) FROM submissions"
        ).fetchone()
        return StoreCounts(int(accepted), int(contributors), int(rows))

    # ------------------------------------------------------------------ compute's tables

    def put_results(self, rows: Iterable[tuple[str, str, bytes]], *,
                    replace_all: bool = True) -> None:
        """Store result shares ``(token_hash, submission_id, sealed)`` in one transaction.

        Args:
            rows: One per contributor whose submission counted.
            replace_all: Replace the whole table (default); False adds or replaces only these
                contributors' rows (for compute writing in chunks).
        """
        with self.transaction() as db:
            if replace_all:
                db.execute("DELETE FROM results")
            db.executemany("INSERT OR REPLACE INTO results VALUES (?, ?, ?)", rows)

    def result_for(self, token_hash: str) -> StoredResult | None:
        """This contributor's sealed result share, if compute stored one."""
        record = self._db.execute("SELECT token_hash, submission_id, sealed FROM results WHERE "
                                  "token_hash = ?", (token_hash,)).fetchone()
        if record is None:
            return None
        return StoredResult(str(record[0]), str(record[1]), bytes(record[2]))

    def results_count(self) -> int:
        """Number of stored result shares."""
        return int(self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0])

    def set_outcome(self, json_text: str) -> None:
        """Store (or replace) the round's public outcome JSON."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO outcome VALUES (1, ?)", (json_text,))

    def outcome(self) -> str | None:
        """The round's public outcome JSON, once compute stored it."""
        record = self._db.execute("SELECT json FROM outcome WHERE id = 1").fetchone()
        return None if record is None else str(record[0])

    def set_state(self, key: str, value: str) -> None:
        """Set one ``compute_state`` entry."""
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO compute_state VALUES (?, ?)", (key, value))

    def state(self) -> dict[str, str]:
        """The ``compute_state`` table."""
        return {str(k): str(v)
                for k, v in self._db.execute("SELECT key, value FROM compute_state")}

    def size_bytes(self) -> int:
        """Bytes on disk: the database file and its write-ahead log."""
        total = 0
        for suffix in ("", "-wal"):
            with contextlib.suppress(FileNotFoundError):
                total += Path(f"{self.path}{suffix}").stat().st_size
        return total


class BatchWriter:
    """Store submissions from many coroutines with few commits, answering each after its commit.

    One background task collects waiting submissions and stores them in one transaction in a
    dedicated writer thread (SQLite has one writer anyway); while that commit runs, the next
    batch gathers.  :meth:`submit` returns only after the commit holding its submission.

    Args:
        path: The database file.
        round_id: The round the file belongs to.
        server_index: The server the file belongs to.
        max_batch: Most submissions per commit.
        max_delay: Seconds the first submission of a batch waits for company.
    """

    def __init__(self, path: str | Path, *, round_id: str, server_index: int,
                 max_batch: int = 500, max_delay: float = 0.002) -> None:
        self.path = Path(path)
        self.round_id = round_id
        self.server_index = server_index
        self.max_batch = max_batch
        self.max_delay = max_delay
        self.commits = 0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
        self._queue: asyncio.Queue[tuple[NewSubmission, asyncio.Future[StoreOutcome]] | None] \
            = asyncio.Queue()
        self._store: SubmissionStore | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    async def start(self) -> None:
        """Open the database in the writer thread and start collecting."""
        loop = asyncio.get_running_loop()
        self._store = await loop.run_in_executor(
            self._executor, lambda: SubmissionStore(self.path, round_id=self.round_id,
                                                    server_index=self.server_index))
        self._task = asyncio.create_task(self._run(), name="store-writer")

    @property
    def pending(self) -> int:
        """Submissions waiting for their commit."""
        return self._queue.qsize()

    async def submit(self, item: NewSubmission) -> StoreOutcome:
        """Store one submission; returns once it is committed (or refused).

        Raises:
            StoreError: The writer is closed or the database failed.
        """
        if self._closed or self._task is None:
            raise StoreError("the store is closed (the server is shutting down)")
        future: asyncio.Future[StoreOutcome] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping:
            first = await self._queue.get()
            if first is None:
                break
            batch = [first]
            if self._queue.qsize() < self.max_batch:
                await asyncio.sleep(self.max_delay)
            while len(batch) < self.max_batch and not self._queue.empty():
                entry = self._queue.get_nowait()
                if entry is None:
                    stopping = True
                    break
                batch.append(entry)
            store = self._store
            assert store is not None
            items = [item for item, _ in batch]
            try:
                outcomes = await loop.run_in_executor(self._executor, store.store, items)
            except Exception as error:  # noqa: BLE001 - every waiting upload must hear of it
                failure = StoreError(f"the database could not store the upload: {error}")
                for _, future in batch:
                    if not future.done():
                        future.set_exception(failure)
                continue
            self.commits += 1
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)

    async def close(self) -> None:
        """Store what is waiting, then stop and close the database."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            await self._queue.put(None)
            await self._task
        store = self._store
        if store is not None:
            await asyncio.get_running_loop().run_in_executor(self._executor, store.close)
        self._executor.shutdown(wait=True)
