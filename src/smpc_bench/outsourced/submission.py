"""A contributor's side of an outsourced round: check, encode, split, seal, upload.

:func:`submit_contribution` does what ``smpc-bench submit`` promises a firm:

1. reads and checks its CSV/Excel file exactly as ``smpc-bench check`` does
   (:func:`smpc_bench.inputs.firm_data.read_table`, then
   :func:`~smpc_bench.inputs.firm_data.check_frame`);
2. encodes the rows as a peer party does (:func:`smpc_bench.spec.encoding.encode_rows`, one-hot
   digits by :func:`~smpc_bench.spec.encoding.encode_digits`), so the checks inside the MPC apply
   unchanged;
3. splits them into Shamir shares over the round's prime
   (:func:`smpc_bench.outsourced.splitting.split_contribution`), one set per server;
4. seals each server's set to that server's public key
   (:func:`smpc_bench.outsourced.envelope.seal_for`), bound to the round, the server and a
   random submission id shared by all servers;
5. uploads to every server at once over HTTPS, trusting exactly each server's pinned
   certificate, retrying with backoff (a retry sends the same bytes, so the server answers
   "already stored"), or with ``out`` writes the sealed files for the operator instead.

The contributor's folder (default ``./smpc-bench-contribution/``) keeps ``result.key`` (the
X25519 private key the servers seal this firm's results to; mode 0600, never uploaded),
``receipt.json`` (round id, submission id, each server's answer) and ``sealed/`` (the sealed
bodies, so that a later run completes an upload that reached only some servers with the same
submission id).
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import hashlib
import hmac
import json
import os
import random
import secrets
import ssl
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import x25519

from smpc_bench.inputs.consortium import ConfigError, Consortium
from smpc_bench.inputs.firm_data import TableCheck, check_frame, read_table
from smpc_bench.inputs.outsourced_config import (
    OutsourcedSettings,
    ServerEntry,
    require_outsourced,
    round_field,
    round_id,
    round_threshold,
)
from smpc_bench.outsourced.envelope import SUBMISSION, seal_for
from smpc_bench.outsourced.keys import (
    KeyFileError,
    generate_result_key,
    load_private_key,
    load_public_key,
    public_key_pem,
)
from smpc_bench.outsourced.payload import PayloadShape, pack_shares
from smpc_bench.outsourced.splitting import split_contribution
from smpc_bench.outsourced.tokens import is_well_formed
from smpc_bench.spec.encoding import encode_digits, encode_rows
from smpc_bench.spec.kpi import InputError
from smpc_bench.spec.sizing import Sizing

__all__ = [
    "DEFAULT_FOLDER",
    "ContributionError",
    "ContributionFolder",
    "RoundContext",
    "ServerReply",
    "SubmitReport",
    "client_contexts",
    "client_ssl_context",
    "data_digest",
    "new_submission_id",
    "read_rows",
    "seal_submission",
    "submit_contribution",
    "upload",
    "upload_all",
    "write_sealed_files",
]

#: The contributor's folder when ``--state`` is not given.
DEFAULT_FOLDER = "smpc-bench-contribution"


class ContributionError(RuntimeError):
    """The contribution cannot go ahead (the message says why and what to do)."""


@dataclass(frozen=True)
class RoundContext:
    """What a contributor needs of a round, read once from the consortium file.

    Attributes:
        consortium: The parsed consortium file.
        settings: Its ``[outsourced]`` section.
        round_id: The round id.
        sizing: The round's sizing.
        prime: The round's prime.
        threshold: The Shamir degree.
        shape: The payload shape.
        public_keys: Each server's HPKE public key.
    """

    consortium: Consortium
    settings: OutsourcedSettings
    round_id: str
    sizing: Sizing
    prime: int
    threshold: int
    shape: PayloadShape
    public_keys: tuple[x25519.X25519PublicKey, ...]

    @classmethod
    def load(cls, consortium: Consortium) -> RoundContext:
        """Read the round's keys and fix its field.

        Raises:
            ConfigError: Not an outsourced consortium, or a server key or the tokens file is
                unusable.
        """
        settings = require_outsourced(consortium)
        identifier = round_id(consortium)
        sizing, prime = round_field(consortium)
        keys = []
        for server in settings.servers:
            try:
                keys.append(load_public_key(server.public_key))
            except KeyFileError as error:
                raise ConfigError(f"server {server.index} ({server.name}): {error}") from None
        shape = PayloadShape.for_round(len(consortium.spec.kpis), sizing,
                                       consortium.spec.radix_bits, prime)
        return cls(consortium, settings, identifier, sizing, prime, round_threshold(consortium),
                   shape, tuple(keys))


def read_rows(consortium: Consortium, data: str | Path) -> TableCheck:
    """Read and check the firm's file exactly as ``smpc-bench check`` does.

    Raises:
        InputError: The file has problems (all of them listed), or more rows than the round
            allows per contributor.
    """
    check = check_frame(read_table(data), consortium.spec.kpis, source=str(data),
                        label_column=consortium.output.label_column)
    check.raise_if_invalid()
    limit = require_outsourced(consortium).max_rows
    if len(check.rows) > limit:
        raise InputError(f"{data}: {len(check.rows)} rows, but this round takes at most {limit} "
                         f"row{'s' if limit != 1 else ''} per contributor ([outsourced] max_rows)")
    return check


def new_submission_id() -> str:
    """A random submission id: 32 hex digits (128 bits)."""
    return secrets.token_hex(16)


def data_digest(result_key: x25519.X25519PrivateKey, rows: Sequence[Sequence[object]]) -> str:
    """A keyed digest of the cleaned rows: tells a rerun with the same data from new data.

    Keyed with the result key, so the receipt says nothing about the figures without it.
    """
    raw = result_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                   serialization.NoEncryption())
    canonical = json.dumps([[None if c is None else str(c) for c in row] for row in rows])
    return hmac.new(raw, canonical.encode(), hashlib.sha256).hexdigest()


def seal_submission(context: RoundContext, rows: Sequence[Sequence[object]],
                    result_public_key: x25519.X25519PublicKey, submission_id: str
                    ) -> list[bytes]:
    """Encode, split and seal the rows; one JSON body per server.

    Raises:
        InputError: A value cannot be encoded (the check should have caught it).
    """
    spec = context.consortium.spec
    offsets, valid = encode_rows(spec.kpis, rows)
    digits = encode_digits(offsets, context.sizing.value_bits, spec.radix_bits)
    digits = digits.reshape(digits.shape[0], -1)
    shares = split_contribution(digits, valid, context.prime, len(context.settings.servers),
                                context.threshold)
    pem = public_key_pem(result_public_key)
    bodies = []
    for index, (digit_shares, valid_shares) in enumerate(shares):
        sealed = seal_for(context.public_keys[index],
                          pack_shares(digit_shares, valid_shares, context.prime),
                          purpose=SUBMISSION, round_id=context.round_id, server_index=index,
                          submission_id=submission_id)
        body = {"version": 1, "round_id": context.round_id, "server_index": index,
                "submission_id": submission_id, "rows": int(np.shape(valid)[1]),
                "result_public_key": pem, "sealed": base64.b64encode(sealed).decode("ascii")}
        bodies.append(json.dumps(body, separators=(",", ":")).encode())
    return bodies


@dataclass
class ServerReply:
    """What one server answered (or that it could not be reached).

    Attributes:
        index: The server's index.
        name: Its name.
        url: Its URL.
        state: ``stored``, ``already stored``, ``written`` (to a file), ``refused`` or
            ``unreachable``.
        http_status: The HTTP status, if any answer came.
        message: What the server said, or why it could not be reached.
        attempts: Requests sent.
    """

    index: int
    name: str
    url: str
    state: str
    http_status: int | None = None
    message: str = ""
    attempts: int = 0

    @property
    def ok(self) -> bool:
        """Whether this server holds (or will be handed) the submission."""
        return self.state in ("stored", "already stored", "written")

    def line(self) -> str:
        """One line for the contributor."""
        head = f"server {self.index} ({self.name}, {self.url}): "
        if self.state == "stored":
            return head + "stored"
        if self.state == "already stored":
            return head + "stored (already held this submission)"
        if self.state == "written":
            return head + f"sealed file written: {self.message}"
        if self.state == "refused":
            return head + f"REFUSED ({self.http_status}): {self.message}"
        return head + f"NOT REACHED after {self.attempts} attempt(s): {self.message}"


def client_ssl_context(server: ServerEntry) -> ssl.SSLContext:
    """A TLS context that trusts exactly this server's pinned certificate and checks its host.

    Raises:
        ConfigError: The certificate file is missing or unreadable.
    """
    try:
        context = ssl.create_default_context(cafile=str(server.certificate))
    except (FileNotFoundError, ssl.SSLError, OSError) as error:
        raise ConfigError(f"server {server.index} ({server.name}): cannot use its certificate "
                          f"{server.certificate}: {error}") from None
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


_RETRY_STATUS = {500, 502, 503, 504}


async def upload(session: aiohttp.ClientSession, server: ServerEntry, round_id: str, token: str,
                 body: bytes, *, ssl_context: ssl.SSLContext | None, attempts: int = 5,
                 first_delay: float = 0.5, timeout: float = 30.0) -> ServerReply:
    """POST one body to one server, retrying what can be retried.

    Connection failures, timeouts and 5xx answers are retried with exponential backoff and
    jitter; the body is the same every time, so a retry of a stored upload is answered 200.

    Args:
        session: The HTTP session.
        server: The server.
        round_id: The round id (in the URL).
        token: The enrolment token.
        body: The JSON body for this server.
        ssl_context: From :func:`client_ssl_context`; None only for a plain-HTTP URL.
        attempts: Requests at most.
        first_delay: Seconds before the first retry (doubled each time, at most 30).
        timeout: Seconds per request.
    """
    reply = ServerReply(server.index, server.name, server.url, "unreachable")
    url = server.endpoint(round_id, "submissions")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    delay = first_delay
    for attempt in range(1, attempts + 1):
        reply.attempts = attempt
        try:
            async with session.post(url, data=body, headers=headers,
                                    ssl=ssl_context if ssl_context is not None else False,
                                    timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                text = await response.text()
                reply.http_status = response.status
                try:
                    document = json.loads(text)
                except ValueError:
                    document = {}
                message = str(document.get("error", text[:200])) if isinstance(document, dict) \
                    else text[:200]
                if response.status == 201:
                    reply.state, reply.message = "stored", ""
                    return reply
                if response.status == 200:
                    reply.state, reply.message = "already stored", ""
                    return reply
                reply.message = message
                if response.status not in _RETRY_STATUS:
                    reply.state = "refused"
                    return reply
        except aiohttp.ClientConnectorCertificateError as error:
            reply.state = "refused"
            reply.message = (f"its TLS certificate is not the one pinned in the round's files "
                             f"({server.certificate}): {error.certificate_error}")
            return reply
        except (aiohttp.ClientError, TimeoutError) as error:
            reply.message = str(error) or type(error).__name__
        if attempt < attempts:
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, 30.0)
    reply.state = "unreachable"
    return reply


def client_contexts(settings: OutsourcedSettings, *, allow_http: bool = False,
                    what: str = "submissions") -> list[ssl.SSLContext | None]:
    """One pinned TLS context per server (None for a plain-HTTP url, if allowed).

    Reuse them for many requests: a connection pool keeps connections per context, so a new
    context per request would cost a TLS handshake per request.  ``what`` names what travels
    to or from the servers, in the refusal of a plain-HTTP url.

    Raises:
        ConfigError: A server's URL is plain HTTP and ``allow_http`` is off, or its
            certificate is unusable.
    """
    contexts: list[ssl.SSLContext | None] = []
    for server in settings.servers:
        if server.uses_tls:
            contexts.append(client_ssl_context(server))
        elif allow_http:
            contexts.append(None)
        else:
            raise ConfigError(f"server {server.index} ({server.name}) has a plain http:// url; "
                              f"{what} travel only over https (--insecure-http is for local "
                              "tests only)")
    return contexts


async def upload_all(context: RoundContext, token: str, bodies: Sequence[bytes], *,
                     attempts: int = 5, first_delay: float = 0.5, timeout: float = 30.0,
                     allow_http: bool = False, session: aiohttp.ClientSession | None = None,
                     contexts: Sequence[ssl.SSLContext | None] | None = None
                     ) -> list[ServerReply]:
    """Upload each server's body to it, all servers at once.

    Args:
        context: The round.
        token: The enrolment token.
        bodies: One body per server.
        attempts: Requests per server at most.
        first_delay: Seconds before the first retry.
        timeout: Seconds per request.
        allow_http: Accept plain-HTTP urls (local tests only).
        session: An HTTP session to use (default: a new one).
        contexts: The TLS contexts from :func:`client_contexts` (reused, connections pool).

    Raises:
        ConfigError: See :func:`client_contexts`.
    """
    if contexts is None:
        contexts = client_contexts(context.settings, allow_http=allow_http)
    own = session is None
    session = session or aiohttp.ClientSession()
    try:
        return list(await asyncio.gather(*(
            upload(session, server, context.round_id, token, bodies[server.index],
                   ssl_context=contexts[server.index], attempts=attempts,
                   first_delay=first_delay, timeout=timeout)
            for server in context.settings.servers)))
    finally:
        if own:
            await session.close()


def write_sealed_files(folder: Path, bodies: Sequence[bytes], token: str, submission_id: str
                       ) -> list[Path]:
    """Write one sealed file per server (``<id>.server<i>.json``) for ``serve --import``.

    Each file holds the body and the enrolment token (the server authorises the file by it), so
    hand the files only to the servers' operators.
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, body in enumerate(bodies):
        document = json.loads(body)
        document["token"] = token
        path = folder / f"{submission_id}.server{index}.json"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(document, file)
        paths.append(path)
    return paths


class ContributionFolder:
    """The contributor's folder: result key, receipt and the sealed bodies of the submission."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.result_key_path = self.folder / "result.key"
        self.receipt_path = self.folder / "receipt.json"
        self.sealed_dir = self.folder / "sealed"

    def receipt(self) -> dict[str, Any] | None:
        """The receipt, if the folder has one.

        Raises:
            ContributionError: The receipt is unreadable.
        """
        try:
            document = json.loads(self.receipt_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as error:
            raise ContributionError(f"{self.receipt_path} is unreadable ({error}); move the "
                                    "folder away or choose another with --state") from None
        if not isinstance(document, dict):
            raise ContributionError(f"{self.receipt_path} is not a receipt")
        return document

    def save_receipt(self, document: dict[str, Any]) -> None:
        """Write the receipt atomically (a crash leaves the old or the new one)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.receipt_path.with_suffix(".json.partial")
        partial.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, self.receipt_path)

    def result_key(self) -> x25519.X25519PrivateKey:
        """The result key, made on first use.

        Raises:
            ContributionError: The key file exists but is unusable.
        """
        if not self.result_key_path.exists():
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            return generate_result_key(self.result_key_path)
        try:
            return load_private_key(self.result_key_path)
        except KeyFileError as error:
            raise ContributionError(f"{error}; restore it from a backup (without it your "
                                    "results cannot be opened)") from None

    def save_bodies(self, submission_id: str, bodies: Sequence[bytes]) -> None:
        """Keep the sealed bodies (sealed to the servers; nothing readable in them)."""
        self.sealed_dir.mkdir(parents=True, exist_ok=True)
        for path in self.sealed_dir.glob("*.json"):
            path.unlink()
        for index, body in enumerate(bodies):
            (self.sealed_dir / f"{submission_id}.server{index}.json").write_bytes(body)

    def bodies(self, submission_id: str, servers: int) -> list[bytes] | None:
        """The kept bodies of this submission, if all are there."""
        paths = [self.sealed_dir / f"{submission_id}.server{i}.json" for i in range(servers)]
        if not all(p.is_file() for p in paths):
            return None
        return [p.read_bytes() for p in paths]


@dataclass
class SubmitReport:
    """What :func:`submit_contribution` did.

    Attributes:
        round_id: The round id.
        submission_id: The submission id (the same at every server).
        rows: Rows submitted.
        resumed: Whether an earlier submission of the same data was completed or repeated.
        replaced: The id of an earlier submission (other data) that this one replaces, if any.
        servers: Each server's answer.
        files: Sealed files written (``out``).
        folder: The contributor's folder.
    """

    round_id: str
    submission_id: str
    rows: int
    resumed: bool
    replaced: str | None
    servers: list[ServerReply]
    files: list[str]
    folder: str

    @property
    def complete(self) -> bool:
        """Whether every server holds the submission (or its file was written)."""
        return all(reply.ok for reply in self.servers)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON data."""
        document = asdict(self)
        document["complete"] = self.complete
        return document


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def submit_contribution(consortium: Consortium, data: str | Path, token: str, *,
                        folder: Path = Path(DEFAULT_FOLDER), out: Path | None = None,
                        attempts: int = 5, first_delay: float = 0.5, timeout: float = 30.0,
                        allow_http: bool = False) -> SubmitReport:
    """Check, seal and upload (or write) one firm's contribution.

    A rerun with the same data resends the kept bodies under the same submission id, so that
    servers that already hold it answer "already stored" and the others store it; a run with
    other data makes a new submission, which replaces the earlier one at every server.

    Raises:
        ConfigError: The consortium file or a server's key or certificate is unusable.
        InputError: The data file has problems, or the token is malformed.
        ContributionError: The contributor's folder belongs to another round or is unusable.
    """
    if not is_well_formed(token):
        raise InputError("the enrolment token does not look right: it is 43 characters of "
                         "letters, digits, '-' and '_' as the operator sent it")
    context = RoundContext.load(consortium)
    check = read_rows(consortium, data)
    state = ContributionFolder(folder)
    receipt = state.receipt()
    if receipt is not None and receipt.get("round_id") != context.round_id:
        raise ContributionError(
            f"{state.folder} holds a contribution to another round ({receipt.get('round')!r}, "
            f"id {str(receipt.get('round_id'))[:12]}...); choose another folder with --state")
    key = state.result_key()
    digest = data_digest(key, check.rows)
    servers = len(context.settings.servers)
    bodies = None
    replaced = None
    if receipt is not None and receipt.get("data_digest") == digest:
        submission_id = str(receipt["submission_id"])
        bodies = state.bodies(submission_id, servers)
    if bodies is None:
        if receipt is not None:
            replaced = str(receipt.get("submission_id"))
        submission_id = new_submission_id()
        bodies = seal_submission(context, check.rows, key.public_key(), submission_id)
        state.save_bodies(submission_id, bodies)
    document: dict[str, Any] = {
        "round": consortium.spec.name, "round_id": context.round_id,
        "submission_id": submission_id, "rows": len(check.rows), "labels": check.labels,
        "data_digest": digest, "servers": [], "complete": False,
        "created": _now() if receipt is None or replaced is not None
        else receipt.get("created", _now()),
    }
    state.save_receipt(document)  # before any upload: a crash can be resumed with the same id
    files: list[str] = []
    if out is not None:
        paths = write_sealed_files(out, bodies, token, submission_id)
        files = [str(p) for p in paths]
        replies = [ServerReply(s.index, s.name, s.url, "written", message=str(p))
                   for s, p in zip(context.settings.servers, paths, strict=True)]
    else:
        replies = asyncio.run(upload_all(context, token, bodies, attempts=attempts,
                                         first_delay=first_delay, timeout=timeout,
                                         allow_http=allow_http))
    report = SubmitReport(context.round_id, submission_id, len(check.rows),
                          replaced is None and receipt is not None, replaced, replies, files,
                          str(state.folder))
    document.update(servers=[{**asdict(r), "at": _now()} for r in replies],
                    complete=report.complete)
    state.save_receipt(document)
    return report
