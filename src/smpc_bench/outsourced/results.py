"""A contributor's results of an outsourced round: fetch, recombine on its own machine, report.

:func:`fetch_result` does what ``smpc-bench fetch-result`` promises a firm:

1. reads the contributor's folder (``result.key``, ``receipt.json``, as ``smpc-bench submit``
   left them) and its data file, checked to be the data it submitted;
2. asks every server (HTTPS, trusting exactly its pinned certificate) for the public outcome and
   for this contributor's result share (Bearer token), all servers at once;
3. opens each share with the result key (HPKE, bound to the round, the server and the
   submission), and recombines the position records from ``t + 1`` servers of the same compute
   run (:func:`smpc_bench.positions.delivery.recombine_shares`), checking against a second set of
   ``t + 1`` servers when more answered: no server ever sees the result;
4. checks that every server published the same statistics, and writes ``report.json``,
   ``report.csv`` and ``report.html`` exactly as a peer firm gets them
   (:func:`smpc_bench.report.build.build_report`).

A contributor whose submission did not count is told why (the servers' reasons).
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
from cryptography.hazmat.primitives.asymmetric import x25519

from smpc_bench.inputs.consortium import Consortium
from smpc_bench.inputs.firm_data import TableCheck
from smpc_bench.inputs.outsourced_config import ServerEntry
from smpc_bench.outsourced.envelope import RESULT, SealError, open_sealed
from smpc_bench.outsourced.submission import (
    ContributionError,
    ContributionFolder,
    RoundContext,
    client_contexts,
    data_digest,
    read_rows,
)
from smpc_bench.spec.outcome import Released, RoundOutcome
from smpc_bench.spec.round_spec import RoundSpec

__all__ = [
    "FetchError",
    "FetchedResult",
    "ServerAnswer",
    "combine",
    "fetch_answers",
    "fetch_result",
    "outcome_from_document",
    "public_part",
    "ssl_contexts",
]

#: Keys of the outcome document that every server must publish identically.
PUBLIC_KEYS = ("round", "spec_sha256", "rows_per_party", "min_contributions", "max_firm_share",
               "kpis", "mode", "round_id", "servers", "threshold", "prime", "contributors",
               "rows", "rows_per_contributor")


class FetchError(RuntimeError):
    """The contributor's result cannot be had (yet); the message says why and what to do."""


@dataclass
class ServerAnswer:
    """What one server answered.

    Attributes:
        index: The server's index.
        name: Its name.
        outcome: Its public outcome document, if it has one.
        result: Its sealed result answer (``submission_id``, ``server_index``, ``sealed``).
        outcome_error: Why there is no outcome (the server's message, or unreachable).
        result_error: Why there is no result.
        result_status: The HTTP status of the result request, if any answer came.
    """

    index: int
    name: str
    outcome: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    outcome_error: str = ""
    result_error: str = ""
    result_status: int | None = None


@dataclass
class FetchedResult:
    """A contributor's recombined result.

    Attributes:
        outcome: The round's public outcome as this contributor's :class:`RoundOutcome`
            (``private`` holds the recombined records, if positions were released).
        document: The public outcome document (as the servers published it).
        check: The contributor's rows (as submitted).
        servers: The servers whose shares were combined.
        run: The compute run the shares came from.
        report: The report (``report.json`` content), once built.
        written: The report files written.
    """

    outcome: RoundOutcome
    document: dict[str, Any]
    check: TableCheck
    servers: list[int]
    run: str
    report: dict[str, Any] | None = None
    written: list[Path] = field(default_factory=list)


def public_part(document: dict[str, Any]) -> dict[str, Any]:
    """The part of an outcome document every server publishes identically."""
    return {key: document.get(key) for key in PUBLIC_KEYS}


def _released(metric_kind: str, item: dict[str, Any]) -> Released:
    text = item.get("value")
    if text is None:
        return None
    if metric_kind == "stdev":  # a square root: published as the float's exact repr
        return float(text)
    return Fraction(text)


def outcome_from_document(spec: RoundSpec, document: dict[str, Any]) -> RoundOutcome:
    """Read a published outcome back into a :class:`RoundOutcome` for the contributor's report.

    Raises:
        FetchError: The document is for another spec, or not an outcome document.
    """
    if document.get("spec_sha256") != spec.digest():
        raise FetchError("the servers' outcome is for another round specification than your "
                         "consortium file: use the round's consortium file")
    try:
        kpis = document["kpis"]
        if [entry["name"] for entry in kpis] != [kpi.name for kpi in spec.kpis]:
            raise KeyError("kpis")
        released: dict[str, list[Released]] = {m.name: [None] * len(spec.kpis)
                                               for m in spec.all_metrics}
        suppressed: dict[tuple[str, str], str] = {}
        for k, (kpi, entry) in enumerate(zip(spec.kpis, kpis, strict=True)):
            for metric in spec.metrics[k]:
                item = entry["statistics"][metric.name]
                released[metric.name][k] = _released(metric.kind, item)
                if item.get("suppressed"):
                    suppressed[(kpi.name, metric.name)] = str(item["suppressed"])
        contributors = int(document["contributors"])
        return RoundOutcome(  # every contributor is a "party"; this report is nobody's index
            spec, 0, max(1, contributors), [],
            [int(e["count"]) for e in kpis], [int(e["rejected"]) for e in kpis], released,
            suppressed, [(str(t["phase"]), float(t["seconds"])) for t in document["timings"]],
            int(document.get("bytes_sent", 0)),
            [bool(e["enough_firms"]) for e in kpis],
            None, [None if e["no_dominant_firm"] is None else bool(e["no_dominant_firm"])
                   for e in kpis])
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as error:
        raise FetchError(f"the servers' outcome is not readable ({error!r})") from None


async def _get(session: aiohttp.ClientSession, url: str, *, token: str | None,
               ssl_context: ssl.SSLContext | None, attempts: int, timeout: float
               ) -> tuple[int | None, Any, str]:
    """GET a JSON document, retrying connection failures and 5xx answers.

    Returns:
        ``(status, document, error text)``; status None if no answer came.
    """
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    error = ""
    delay = 0.5
    for attempt in range(1, attempts + 1):
        try:
            async with session.get(url, headers=headers,
                                   ssl=ssl_context if ssl_context is not None else False,
                                   timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                text = await response.text()
                try:
                    document = json.loads(text)
                except ValueError:
                    document = None
                if response.status < 500:
                    message = (str(document.get("error", "")) if isinstance(document, dict)
                               else text[:200])
                    return response.status, document, message
                error = f"HTTP {response.status}"
        except aiohttp.ClientConnectorCertificateError as failure:
            return None, None, ("its TLS certificate is not the one pinned in the round's files "
                                f"({failure.certificate_error})")
        except (aiohttp.ClientError, TimeoutError) as failure:
            error = str(failure) or type(failure).__name__
        if attempt < attempts:
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(2 * delay, 10.0)
    return None, None, f"not reached after {attempts} attempt(s): {error}"


async def _ask(session: aiohttp.ClientSession, server: ServerEntry, rid: str, token: str, *,
               ssl_context: ssl.SSLContext | None, attempts: int, timeout: float
               ) -> ServerAnswer:
    answer = ServerAnswer(server.index, server.name)
    outcome, result = await asyncio.gather(
        _get(session, server.endpoint(rid, "outcome"), token=None, ssl_context=ssl_context,
             attempts=attempts, timeout=timeout),
        _get(session, server.endpoint(rid, "result"), token=token, ssl_context=ssl_context,
             attempts=attempts, timeout=timeout))
    status, document, message = outcome
    if status == 200 and isinstance(document, dict):
        answer.outcome = document
    else:
        answer.outcome_error = message or f"HTTP {status}"
    status, document, message = result
    answer.result_status = status
    if status == 200 and isinstance(document, dict):
        answer.result = document
    else:
        answer.result_error = message or f"HTTP {status}"
    return answer


def ssl_contexts(context: RoundContext, *, allow_http: bool = False
                 ) -> list[ssl.SSLContext | None]:
    """One TLS context per server, trusting exactly its pinned certificate (None: plain HTTP).

    Reuse them for many requests: a connection pool keeps connections per context, so a new
    context per request would cost a TLS handshake per request.

    Raises:
        ConfigError: A server's URL is plain HTTP and ``allow_http`` is off, or its
            certificate is unusable.
    """
    return client_contexts(context.settings, allow_http=allow_http, what="results")


async def fetch_answers(context: RoundContext, token: str, *, attempts: int = 3,
                        timeout: float = 30.0, allow_http: bool = False,
                        session: aiohttp.ClientSession | None = None,
                        contexts: Sequence[ssl.SSLContext | None] | None = None
                        ) -> list[ServerAnswer]:
    """Ask every server at once for the outcome and this contributor's result share.

    Args:
        context: The round.
        token: The contributor's enrolment token.
        attempts: Requests per server at most.
        timeout: Seconds per request.
        allow_http: Allow plain-HTTP server URLs (local tests only).
        session: An HTTP session to use (default: a new one).
        contexts: From :func:`ssl_contexts` (default: made here).

    Raises:
        ConfigError: A server's URL is plain HTTP and ``allow_http`` is off, or its
            certificate is unusable.
    """
    if contexts is None:
        contexts = ssl_contexts(context, allow_http=allow_http)
    own = session is None
    session = session or aiohttp.ClientSession()
    try:
        return list(await asyncio.gather(*(
            _ask(session, server, context.round_id, token, ssl_context=contexts[server.index],
                 attempts=attempts, timeout=timeout)
            for server in context.settings.servers)))
    finally:
        if own:
            await session.close()


def _opened_share(answer: ServerAnswer, key: x25519.X25519PrivateKey, context: RoundContext,
                  submission_id: str) -> dict[str, Any]:
    """The plaintext of one server's result share, checked."""
    result = answer.result or {}
    where = f"server {answer.index} ({answer.name})"
    if result.get("submission_id") != submission_id or result.get("server_index") != \
            answer.index:
        raise FetchError(f"{where} answered with a result for another submission or server")
    try:
        sealed = base64.b64decode(str(result.get("sealed", "")), validate=True)
        plain = open_sealed(key, sealed, purpose=RESULT, round_id=context.round_id,
                            server_index=answer.index, submission_id=submission_id)
        document = json.loads(plain)
        shape = [int(s) for s in document["shape"]]
        shares = document["shares"]
        if (document["round_id"] != context.round_id or int(document["server_index"])
                != answer.index or int(document["prime"]) != context.prime
                or len(shares) != (int(np.prod(shape)) if shape else 0)):
            raise ValueError("the result does not belong to this round, server or field")
    except SealError as error:
        raise FetchError(f"{where}: your result share does not open with your result key "
                         f"({error})") from None
    except (ValueError, KeyError, TypeError) as error:
        raise FetchError(f"{where}: unreadable result share ({error})") from None
    return dict(document)


def _recombine(context: RoundContext, shares: dict[int, dict[str, Any]]) -> np.ndarray:
    """The records from ``t + 1`` servers' shares, checked against another ``t + 1``."""
    from smpc_bench.engine.fields import prime_field
    from smpc_bench.positions.delivery import recombine_shares

    field_type = prime_field(context.prime)
    arrays = {j: np.array([int(v) for v in doc["shares"]], dtype=object).reshape(doc["shape"])
              for j, doc in shares.items()}
    servers = sorted(arrays)
    needed = context.threshold + 1
    first: np.ndarray = recombine_shares(field_type, {j: arrays[j] for j in servers[:needed]})
    if len(servers) > needed:
        second = recombine_shares(field_type, {j: arrays[j] for j in servers[-needed:]})
        if not np.array_equal(first, second):
            raise FetchError("the servers' shares of your result do not fit together: a server "
                             "sent a wrong share; tell the round's operator")
    return first


def _check_outcomes(answers: Sequence[ServerAnswer]) -> dict[str, Any]:
    documents = [a.outcome for a in answers if a.outcome is not None]
    if not documents:
        reasons = "; ".join(f"server {a.index} ({a.name}): {a.outcome_error}" for a in answers)
        raise FetchError(f"no server has published the outcome yet ({reasons}); try again "
                         "once the servers have computed the round")
    first = public_part(documents[0])
    if any(public_part(d) != first for d in documents[1:]):
        raise FetchError("the servers published different outcomes; tell the round's operator "
                         "(do not trust any of them)")
    return documents[0]


def combine(context: RoundContext, answers: Sequence[ServerAnswer],
            key: x25519.X25519PrivateKey, submission_id: str, check: TableCheck
            ) -> FetchedResult:
    """Turn the servers' answers into this contributor's outcome and position records.

    Raises:
        FetchError: The submission did not count (with the servers' reasons), too few servers
            have its result of one compute run, or the answers do not fit together.
    """
    consortium = context.consortium
    with_results = [a for a in answers if a.result is not None]
    needed = context.threshold + 1
    if len(with_results) < needed:
        lines = "; ".join(f"server {a.index} ({a.name}): {a.result_error}"
                          for a in answers if a.result is None)
        raise FetchError(f"your result is available from {len(with_results)} of "
                         f"{len(answers)} servers, {needed} are needed: {lines}")
    opened = {a.index: _opened_share(a, key, context, submission_id) for a in with_results}
    runs: dict[str, dict[int, dict[str, Any]]] = {}
    for index, document in opened.items():
        runs.setdefault(str(document["run"]), {})[index] = document
    run, shares = max(runs.items(), key=lambda item: len(item[1]))
    if len(shares) < needed:
        raise FetchError(f"the servers hold results of different computations ({len(runs)} "
                         f"runs); {needed} servers of one run are needed: try again once every "
                         "server has finished its computation")
    layouts = {(tuple(d["kpis"]), tuple(d["fields"]), tuple(d["shape"]))
               for d in shares.values()}
    if len(layouts) != 1:
        raise FetchError("the servers' result shares have different layouts; tell the "
                         "round's operator")
    document = _check_outcomes(answers)
    outcome = outcome_from_document(consortium.spec, document)
    kpis = [int(k) for k in next(iter(shares.values()))["kpis"]]
    if kpis:
        records = _recombine(context, shares)
        if records.shape[1] != len(check.rows):
            raise FetchError(f"your result has {records.shape[1]} rows but your data file "
                             f"{len(check.rows)}: give the file you submitted")
        outcome = replace(outcome, private={"kpis": kpis, "records": records})
    return FetchedResult(outcome, document, check, sorted(shares), run)


def _not_counted(answers: Sequence[ServerAnswer]) -> str | None:
    """The servers' reason if none has a result but some have answered (404) for it."""
    if any(a.result is not None for a in answers):
        return None
    refused = [a for a in answers if a.result_status == 404 and a.outcome is not None]
    if not refused:
        return None
    lines = [f"server {a.index} ({a.name}): {a.result_error}" for a in refused
             if a.result_error]
    return "; ".join(lines) or "the servers hold no counted submission of yours"


def fetch_result(consortium: Consortium, folder: Path, token: str, data: str | Path, *,
                 report_dir: Path | None = None, firm: str = "your firm", attempts: int = 3,
                 timeout: float = 30.0, allow_http: bool = False) -> FetchedResult:
    """Fetch, recombine and report one contributor's result (see the module docstring).

    Args:
        consortium: The round's consortium file.
        folder: The contributor's folder (``submit --state``).
        token: The contributor's enrolment token.
        data: The data file the contributor submitted (its own figures for the report).
        report_dir: Where to write ``report.json``/``.csv``/``.html`` (None: do not write).
        firm: The firm's name in the report.
        attempts: Requests per server at most.
        timeout: Seconds per request.
        allow_http: Allow plain-HTTP server URLs (local tests only).

    Raises:
        ConfigError: The consortium file or a server certificate is unusable.
        InputError: The data file has problems.
        ContributionError: The folder has no usable receipt or result key.
        FetchError: The submission did not count (with the reason), or the result is not
            ready or does not fit together.
    """
    context = RoundContext.load(consortium)
    state = ContributionFolder(folder)
    receipt = state.receipt()
    if receipt is None:
        raise ContributionError(f"{state.receipt_path} not found: give the folder `smpc-bench "
                                "submit` used (--state)")
    if receipt.get("round_id") != context.round_id:
        raise ContributionError(f"{state.folder} holds a contribution to another round (id "
                                f"{str(receipt.get('round_id'))[:12]}...)")
    if not state.result_key_path.is_file():
        raise ContributionError(f"{state.result_key_path} not found: without the result key "
                                "your result cannot be opened")
    key = state.result_key()
    check = read_rows(consortium, data)
    if receipt.get("data_digest") not in (None, data_digest(key, check.rows)):
        raise ContributionError(f"{data} is not the data you submitted (it changed since): give "
                                "the file you submitted, so that your report compares your "
                                "own figures")
    submission_id = str(receipt["submission_id"])
    answers = asyncio.run(fetch_answers(context, token, attempts=attempts, timeout=timeout,
                                        allow_http=allow_http))
    reason = _not_counted(answers)
    if reason is not None:
        raise FetchError(f"no result for you: your submission did not count in this round. "
                         f"The servers say: {reason}")
    fetched = combine(context, answers, key, submission_id, check)
    build_and_write(fetched, consortium, report_dir, firm)
    return fetched


def build_and_write(fetched: FetchedResult, consortium: Consortium, report_dir: Path | None,
                    firm: str) -> None:
    """Build the contributor's report (as a peer firm gets it) and write it if asked."""
    from smpc_bench.positions.delivery import report_positions
    from smpc_bench.report.build import build_report, write_report

    positions = report_positions(fetched.outcome, consortium.positions, len(fetched.check.rows))
    fetched.report = build_report(fetched.outcome, consortium, fetched.check.rows,
                                  fetched.check.labels, firm=firm, positions=positions)
    if report_dir is not None:
        fetched.written = write_report(fetched.report, report_dir, consortium.output.formats)
