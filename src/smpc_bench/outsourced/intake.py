"""The intake service of one compute server (aiohttp): submissions in, results out, a status page.

Endpoints (``{round_id}`` must be this round's id, else 403)::

    POST /v1/rounds/{round_id}/submissions   a contributor's sealed shares (Bearer token)
    GET  /v1/rounds/{round_id}/status        JSON: submissions and rows so far, deadline, health
    GET  /v1/rounds/{round_id}/outcome       the public outcome, once compute stored it (else 404)
    GET  /v1/rounds/{round_id}/result        the caller's own sealed result share (Bearer token)
    GET  /                                   a small HTML status page for the operator

A submission is stored only after every check passed, in this order: the round in the path
(403), the token (401), the deadline (403), the body size, refused from ``Content-Length``
before the body is read and while reading otherwise (413), the JSON fields (400; another round
403), the sealed shares open with this server's key for this round, server and submission id
(400), and their shapes and range (400).  Then the store decides: 201 stored, 200 the same
submission again (a retry), 409 a replayed submission id with another body, 429 too many
submissions from one token.  Errors are JSON ``{"error": "..."}``; each rejection is logged as
one line with its reason (never a token or a share) and counted on the status page.

Why aiohttp: it runs on asyncio like MPyC, serves TLS from a plain :class:`ssl.SSLContext` (so
the server's own self-signed certificate is all it needs), and lets the handler refuse an
oversized body before reading it.  The service never talks to the other servers.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import html
import json
import logging
import re
import ssl
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import x25519

from smpc_bench.inputs.consortium import Consortium
from smpc_bench.inputs.outsourced_config import require_outsourced, round_field, round_id
from smpc_bench.outsourced.envelope import OVERHEAD, SUBMISSION, SealError, open_sealed
from smpc_bench.outsourced.keys import KeyFileError, public_key_from_pem
from smpc_bench.outsourced.payload import PayloadError, PayloadShape, unpack_shares
from smpc_bench.outsourced.store import (
    BatchWriter,
    NewSubmission,
    StoreError,
    StoreOutcome,
    SubmissionStore,
)
from smpc_bench.outsourced.tokens import is_well_formed, token_hash

__all__ = [
    "BODY_FIELDS",
    "Intake",
    "IntakeSettings",
    "Reply",
    "body_digest",
    "import_folder",
    "make_app",
    "max_body_bytes",
    "run_intake",
    "server_ssl_context",
    "settings_for",
]

LOG = logging.getLogger("smpc_bench.intake")
#: The fields of a submission body (besides nothing else).
BODY_FIELDS = ("version", "round_id", "server_index", "submission_id", "rows",
               "result_public_key", "sealed")
_SUBMISSION_ID = re.compile(r"[0-9a-f]{32}")
_INTAKE: web.AppKey[Intake] = web.AppKey("intake")


def max_body_bytes(shape: PayloadShape, max_rows: int) -> int:
    """The body-size cap: the largest valid body (base64 of the sealed shares) plus head room."""
    sealed = shape.max_bytes(max_rows) + OVERHEAD
    return 16 * 1024 + (sealed * 4 + 2) // 3


def body_digest(body: dict[str, Any]) -> str:
    """SHA-256 (hex) of a body's fields: equal for a retry, different for a replay.

    The canonical JSON of every field but ``sealed``, a NUL, then the ``sealed`` text (hashed
    as it is: JSON-encoding tens of kilobytes of base64 for each upload would cost more).
    """
    small = json.dumps({k: body.get(k) for k in BODY_FIELDS if k != "sealed"}, sort_keys=True,
                       separators=(",", ":"))
    digest = hashlib.sha256(small.encode())
    digest.update(b"\0")
    digest.update(str(body.get("sealed")).encode("ascii", "replace"))
    return digest.hexdigest()


@dataclass(frozen=True)
class IntakeSettings:
    """Everything one server's intake checks against.

    Attributes:
        round_id: This round's id.
        round_name: The round's display name.
        server_index: This server's index.
        server_name: This server's name.
        deadline: Unix time after which no submission is accepted.
        max_rows: Rows per contributor.
        shape: The payload shape (KPIs, digit width, prime).
        private_key: This server's HPKE private key (opens the shares to check them).
        token_hashes: The enrolled tokens' hashes.
        kpis: ``(name, title)`` per KPI, for the status page.
    """

    round_id: str
    round_name: str
    server_index: int
    server_name: str
    deadline: float
    max_rows: int
    shape: PayloadShape
    private_key: x25519.X25519PrivateKey
    token_hashes: frozenset[str]
    kpis: tuple[tuple[str, str], ...] = ()

    @property
    def max_body(self) -> int:
        """The body-size cap in bytes."""
        return max_body_bytes(self.shape, self.max_rows)

    @property
    def deadline_text(self) -> str:
        """The deadline as ``2026-12-31T23:00:00Z``."""
        return datetime.datetime.fromtimestamp(self.deadline, datetime.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")


def settings_for(consortium: Consortium, server_index: int,
                 private_key: x25519.X25519PrivateKey) -> IntakeSettings:
    """The intake settings of server ``server_index`` of an outsourced consortium.

    Raises:
        ConfigError: Not an outsourced consortium, an unknown server, or unusable round files.
    """
    outsourced = require_outsourced(consortium)
    server = outsourced.server(server_index)
    spec = consortium.spec
    sizing, prime = round_field(consortium)
    return IntakeSettings(
        round_id=round_id(consortium), round_name=spec.name, server_index=server.index,
        server_name=server.name, deadline=outsourced.deadline.timestamp(),
        max_rows=outsourced.max_rows,
        shape=PayloadShape.for_round(len(spec.kpis), sizing, spec.radix_bits, prime),
        private_key=private_key, token_hashes=frozenset(outsourced.token_hashes()),
        kpis=tuple((k.name, consortium.title(k.name)) for k in spec.kpis))


@dataclass
class Reply:
    """An HTTP status and JSON document (or its stored JSON text, sent as it is)."""

    status: int
    document: dict[str, Any] = field(default_factory=dict)
    close: bool = False
    json_text: str | None = None

    def response(self) -> web.Response:
        """As an aiohttp response."""
        if self.json_text is not None:
            response = web.Response(text=self.json_text, status=self.status,
                                    content_type="application/json")
        else:
            response = web.json_response(self.document, status=self.status)
        if self.close:
            response.force_close()
        return response


class Intake:
    """The checks, the store and the counters of one server's intake (no HTTP in here).

    Args:
        settings: What uploads are checked against.
        writer: Stores accepted submissions (batched commits).
        reader: A connection for the status, outcome and result reads.
        clock: Current Unix time (tests pass a clock past the deadline).
    """

    def __init__(self, settings: IntakeSettings, writer: BatchWriter, reader: SubmissionStore,
                 *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.writer = writer
        self.reader = reader
        self.clock = clock
        self.started = time.time()
        self.rejected: Counter[str] = Counter()
        self.accepted = 0
        self.retries = 0
        self._counts_cache: tuple[float, dict[str, int]] | None = None

    @classmethod
    async def open(cls, settings: IntakeSettings, database: Path, *,
                   clock: Callable[[], float] = time.time) -> Intake:
        """Open (or create) the round's database and start its writer."""
        reader = SubmissionStore(database, round_id=settings.round_id,
                                 server_index=settings.server_index)
        reader.add_tokens(settings.token_hashes)
        writer = BatchWriter(database, round_id=settings.round_id,
                             server_index=settings.server_index)
        await writer.start()
        return cls(settings, writer, reader, clock=clock)

    async def close(self) -> None:
        """Commit what is waiting and close the database."""
        await self.writer.close()
        self.reader.close()

    # ------------------------------------------------------------------ checks

    def reject(self, status: int, reason: str, message: str, *, close: bool = False,
               what: str = "upload") -> Reply:
        """Count and log one refused request (the reason, never a token or data)."""
        self.rejected[reason] += 1
        LOG.warning("refused %s: %d %s: %s", what, status, reason, message)
        return Reply(status, {"error": message}, close=close)

    def check_round(self, round_id: str, what: str = "upload") -> Reply | None:
        """403 unless ``round_id`` is this round's."""
        if round_id != self.settings.round_id:
            return self.reject(403, "other round", f"this server takes part in round "
                               f"{self.settings.round_id}, not {round_id[:80]}: check that your "
                               "consortium file is the current one", what=what)
        return None

    def authorize(self, header: str | None, what: str = "upload") -> str | Reply:
        """The token hash of a ``Bearer`` header, or a 401 reply."""
        scheme, _, token = (header or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return self.reject(401, "no token", "an enrolment token is required "
                               "(Authorization: Bearer <token>)", what=what)
        hashed = token_hash(token)
        if not is_well_formed(token) or hashed not in self.settings.token_hashes:
            return self.reject(401, "unknown token", "this enrolment token is not enrolled in "
                               "this round: check the token you received from the operator",
                               what=what)
        return hashed

    def check_open(self) -> Reply | None:
        """403 after the deadline."""
        if self.clock() > self.settings.deadline:
            return self.reject(403, "after deadline", f"the round closed at "
                               f"{self.settings.deadline_text}; no more submissions are accepted")
        return None

    def _parse(self, token_digest: str, body: bytes) -> NewSubmission | Reply:
        settings = self.settings
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return self.reject(400, "malformed", "the body is not JSON (was it truncated?)")
        if not isinstance(document, dict):
            return self.reject(400, "malformed", "the body must be a JSON object")
        missing = [k for k in BODY_FIELDS if k not in document]
        extra = sorted(set(document) - set(BODY_FIELDS))
        if missing or extra:
            return self.reject(400, "malformed", f"the body must have exactly the fields "
                               f"{', '.join(BODY_FIELDS)} (missing {missing}, unknown {extra})")
        if document["version"] != 1:
            return self.reject(400, "malformed", f"submission format version "
                               f"{document['version']!r} is not supported (this server reads 1)")
        if document["round_id"] != settings.round_id:
            return self.reject(403, "other round", "the submission is for another round than "
                               "this server's; check that your consortium file is the current one")
        if document["server_index"] != settings.server_index \
                or isinstance(document["server_index"], bool):
            return self.reject(400, "other server", f"the shares are sealed for server "
                               f"{document['server_index']!r}, but this is server "
                               f"{settings.server_index}")
        submission_id = document["submission_id"]
        if not isinstance(submission_id, str) or not _SUBMISSION_ID.fullmatch(submission_id):
            return self.reject(400, "malformed", "submission_id must be 32 lower-case hex digits")
        rows = document["rows"]
        if isinstance(rows, bool) or not isinstance(rows, int) \
                or not 1 <= rows <= settings.max_rows:
            return self.reject(400, "malformed", f"rows must be a whole number from 1 to "
                               f"{settings.max_rows} (the round's limit per contributor)")
        key_text = document["result_public_key"]
        try:
            if not isinstance(key_text, str) or len(key_text) > 1000:
                raise KeyFileError("not PEM text")
            public_key_from_pem(key_text)
        except KeyFileError:
            return self.reject(400, "malformed", "result_public_key must be the PEM of an "
                               "X25519 public key")
        sealed_text = document["sealed"]
        try:
            if not isinstance(sealed_text, str):
                raise ValueError
            sealed = base64.b64decode(sealed_text, validate=True)
        except (ValueError, binascii.Error):
            return self.reject(400, "malformed", "sealed must be base64 text")
        try:
            plaintext = open_sealed(settings.private_key, sealed, purpose=SUBMISSION,
                                    round_id=settings.round_id, server_index=settings.server_index,
                                    submission_id=submission_id)
        except SealError as error:
            return self.reject(400, "does not open", f"the sealed shares do not open with this "
                               f"server's key ({error}); submit again from the original file")
        try:
            unpack_shares(plaintext, settings.shape, rows, as_int=False)
        except PayloadError as error:
            return self.reject(400, "bad shares", f"the shares do not fit the round: {error}")
        return NewSubmission(submission_id, token_digest, rows, key_text, sealed,
                             body_digest(document), self.clock())

    async def accept(self, token_digest: str, body: bytes) -> Reply:
        """Check one body from an authorised token and store it; the reply to send."""
        parsed = self._parse(token_digest, body)
        if isinstance(parsed, Reply):
            return parsed
        try:
            outcome = await self.writer.submit(parsed)
        except StoreError as error:
            LOG.error("storage failure: %s", error)
            self.rejected["storage error"] += 1
            return Reply(503, {"error": "the server could not store the upload right now; "
                               "try again later"})
        done = {"submission_id": parsed.submission_id, "server_index": self.settings.server_index}
        if outcome is StoreOutcome.STORED:
            self.accepted += 1
            return Reply(201, {**done, "stored": True})
        if outcome is StoreOutcome.DUPLICATE:
            self.retries += 1
            return Reply(200, {**done, "stored": True, "already_stored": True})
        if outcome is StoreOutcome.CONFLICT:
            return self.reject(409, "replayed id", "this submission id was already used with "
                               "other content; a new submission needs a new id")
        return self.reject(429, "too many submissions", "this token has submitted too often; "
                           "ask the operator")

    # ------------------------------------------------------------------ reads

    def _counts(self) -> dict[str, int]:
        now = time.monotonic()
        if self._counts_cache is None or now - self._counts_cache[0] > 1.0:
            counts = self.reader.counts()
            self._counts_cache = (now, {"accepted": counts.accepted,
                                        "contributors": counts.contributors,
                                        "rows": counts.rows})
        return self._counts_cache[1]

    def status(self) -> dict[str, Any]:
        """The status document: totals only, never who submitted what."""
        settings = self.settings
        counts = self._counts()
        left = settings.deadline - self.clock()
        outcome_ready = self.reader.outcome() is not None
        return {
            "round": settings.round_name,
            "round_id": settings.round_id,
            "server": {"index": settings.server_index, "name": settings.server_name},
            "deadline": settings.deadline_text,
            "open": left > 0,
            "seconds_left": max(0, int(left)),
            "enrolled": len(settings.token_hashes),
            "submissions": {
                "contributors": counts["contributors"],
                "rows": counts["rows"],
                "accepted_uploads": counts["accepted"],
                "replaced": counts["accepted"] - counts["contributors"],
                "retries_since_start": self.retries,
            },
            # The values are secret: which cells are filled is known only after compute.
            "kpis": [{"name": name, "title": title, "rows_submitted": counts["rows"]}
                     for name, title in settings.kpis],
            "refused_since_start": dict(sorted(self.rejected.items())),
            "health": {
                "status": "ok",
                "uptime_seconds": int(time.time() - self.started),
                "database_bytes": self.reader.size_bytes(),
                "commits_since_start": self.writer.commits,
                "waiting_writes": self.writer.pending,
                "outcome_ready": outcome_ready,
                "results_stored": self.reader.results_count(),
            },
        }

    def outcome(self) -> Reply:
        """The public outcome, or 404 before compute."""
        text = self.reader.outcome()
        if text is None:
            return Reply(404, {"error": "no outcome yet: the servers compute it after the "
                                        f"deadline ({self.settings.deadline_text})"})
        # Every contributor asks for the same document: send the stored text as it is.
        return Reply(200, json_text=text)

    def result(self, token_digest: str) -> Reply:
        """The caller's own sealed result share, or 404 with the reason."""
        stored = self.reader.result_for(token_digest)
        if stored is not None:
            return Reply(200, {"submission_id": stored.submission_id,
                               "server_index": self.settings.server_index,
                               "sealed": base64.b64encode(stored.sealed).decode("ascii")})
        if self.reader.outcome() is None and self.reader.results_count() == 0:
            return Reply(404, {"error": "results are not ready: the servers compute them after "
                                        f"the deadline ({self.settings.deadline_text})"})
        if self.reader.latest_for(token_digest) is None:
            return Reply(404, {"error": "this server holds no submission from your token, so "
                                        "there is no result for you"})
        return Reply(404, {"error": "your submission did not count in the computation (it did "
                                    "not reach every server with the same submission id), so "
                                    "there is no result for you"})


# ---------------------------------------------------------------------- HTTP


async def _read_capped(request: web.Request, limit: int) -> bytes | None:
    """The body, or None as soon as it exceeds ``limit`` bytes."""
    data = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)


async def _post_submission(request: web.Request) -> web.Response:
    intake = request.app[_INTAKE]
    reply = intake.check_round(request.match_info["round_id"])
    if reply is not None:
        return reply.response()
    token = intake.authorize(request.headers.get("Authorization"))
    if isinstance(token, Reply):
        return token.response()
    reply = intake.check_open()
    if reply is not None:
        return reply.response()
    limit = intake.settings.max_body
    too_large = f"the upload exceeds this round's limit of {limit:,} bytes"
    if request.content_length is not None and request.content_length > limit:
        # Refused before reading; close, so that the body is not drained either.
        return intake.reject(413, "too large", too_large, close=True).response()
    body = await _read_capped(request, limit)
    if body is None:
        return intake.reject(413, "too large", too_large, close=True).response()
    return (await intake.accept(token, body)).response()


async def _get_status(request: web.Request) -> web.Response:
    intake = request.app[_INTAKE]
    reply = intake.check_round(request.match_info["round_id"], "status request")
    return (reply or Reply(200, intake.status())).response()


async def _get_outcome(request: web.Request) -> web.Response:
    intake = request.app[_INTAKE]
    reply = intake.check_round(request.match_info["round_id"], "outcome request")
    return (reply or intake.outcome()).response()


async def _get_result(request: web.Request) -> web.Response:
    intake = request.app[_INTAKE]
    reply = intake.check_round(request.match_info["round_id"], "result request")
    if reply is not None:
        return reply.response()
    token = intake.authorize(request.headers.get("Authorization"), "result request")
    if isinstance(token, Reply):
        return token.response()
    return intake.result(token).response()


def _html_status(status: dict[str, Any]) -> str:
    e = html.escape
    sub = status["submissions"]
    health = status["health"]
    state = "open" if status["open"] else "closed"
    left = status["seconds_left"]
    rows = "".join(f"<tr><td>{e(k['title'])}</td><td>{k['rows_submitted']:,}</td></tr>"
                   for k in status["kpis"])
    refused = "".join(f"<tr><td>{e(reason)}</td><td>{count:,}</td></tr>"
                      for reason, count in status["refused_since_start"].items()) \
        or "<tr><td colspan=2>none</td></tr>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="30">
<title>{e(status['round'])}: intake of {e(status['server']['name'])}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46em;margin:2em auto;color:#222}}
table{{border-collapse:collapse;margin:.5em 0 1.5em}}td,th{{padding:.2em .8em;text-align:left;
border-bottom:1px solid #ddd}}td+td{{text-align:right}}.k{{color:#666}}</style></head><body>
<h1>{e(status['round'])}</h1>
<p>Compute server {status['server']['index']}: {e(status['server']['name'])}.
Intake is <b>{state}</b>; deadline {e(status['deadline'])}
({left // 86400} d {left % 86400 // 3600} h {left % 3600 // 60} min left).</p>
<table><tr><th>Submissions</th><th></th></tr>
<tr><td>contributors so far</td>
<td>{sub['contributors']:,} of {status['enrolled']:,} enrolled</td></tr>
<tr><td>rows so far</td><td>{sub['rows']:,}</td></tr>
<tr><td>replaced by a newer submission</td><td>{sub['replaced']:,}</td></tr></table>
<table><tr><th>KPI</th><th>rows submitted</th></tr>{rows}</table>
<p class="k">Values are secret shares: which cells are filled is known only after the
computation, so the count per KPI is the number of rows submitted.</p>
<table><tr><th>Refused uploads (since start)</th><th></th></tr>{refused}</table>
<table><tr><th>Health</th><th></th></tr>
<tr><td>status</td><td>{e(health['status'])}</td></tr>
<tr><td>database size</td><td>{health['database_bytes'] / 1e6:,.1f} MB</td></tr>
<tr><td>up for</td><td>{health['uptime_seconds'] // 60:,} min</td></tr>
<tr><td>outcome published</td><td>{'yes' if health['outcome_ready'] else 'no'}</td></tr></table>
<p class="k">Round id {e(status['round_id'])}</p></body></html>
"""


async def _get_page(request: web.Request) -> web.Response:
    status = request.app[_INTAKE].status()
    return web.Response(text=_html_status(status), content_type="text/html")


def make_app(intake: Intake) -> web.Application:
    """The aiohttp application serving ``intake``."""
    app = web.Application(client_max_size=intake.settings.max_body)
    app[_INTAKE] = intake
    app.router.add_post("/v1/rounds/{round_id}/submissions", _post_submission)
    app.router.add_get("/v1/rounds/{round_id}/status", _get_status)
    app.router.add_get("/v1/rounds/{round_id}/outcome", _get_outcome)
    app.router.add_get("/v1/rounds/{round_id}/result", _get_result)
    app.router.add_get("/", _get_page)
    return app


def server_ssl_context(certificate: Path, key: Path) -> ssl.SSLContext:
    """TLS 1.2+ server context with the server's own certificate and key."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(certificate), str(key))
    return context


async def run_intake(intake: Intake, *, host: str, port: int, ssl_context: ssl.SSLContext | None,
                     stop: Any, ready: Callable[[int], None] | None = None) -> None:
    """Serve until ``stop`` (an :class:`asyncio.Event`) is set, then shut down gracefully.

    In-flight uploads finish (their commits included) before the database is closed.

    Args:
        intake: The intake to serve.
        host: Address to listen on.
        port: Port to listen on (0: any free port, reported to ``ready``).
        ssl_context: TLS context, or None for plain HTTP (explicit local tests only).
        stop: The event that ends serving.
        ready: Called with the bound port once the server listens.
    """
    runner = web.AppRunner(make_app(intake), handle_signals=False, access_log=None,
                           shutdown_timeout=10.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, ssl_context=ssl_context, backlog=1024)
        await site.start()
        if ready is not None:
            addresses = runner.addresses
            ready(int(addresses[0][1]) if addresses else port)
        await stop.wait()
    finally:
        await runner.cleanup()
        await intake.close()


async def import_folder(intake: Intake, folder: Path) -> list[tuple[Path, Reply]]:
    """Load the sealed files of ``submit --out`` meant for this server, with every check.

    Each file ``*.server<I>.json`` holds a submission body plus the contributor's ``token``.
    The deadline is not applied (the operator decides which files arrived in time); files are
    refused once the computation has started.
    """
    replies: list[tuple[Path, Reply]] = []
    if intake.reader.outcome() is not None or intake.reader.state():
        raise StoreError("the computation has started for this round; no more submissions "
                         "can be imported")
    for path in sorted(folder.glob(f"*.server{intake.settings.server_index}.json")):
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            token = document.pop("token")
            if not isinstance(token, str):
                raise TypeError
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            replies.append((path, intake.reject(400, "malformed", "not a sealed submission "
                                                "file of smpc-bench submit --out")))
            continue
        authorised = intake.authorize(f"Bearer {token}")
        if isinstance(authorised, Reply):
            replies.append((path, authorised))
            continue
        replies.append((path, await intake.accept(authorised, json.dumps(document).encode())))
    return replies
