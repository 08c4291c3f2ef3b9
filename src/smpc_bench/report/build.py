"""A firm's report of a round: ``report.json``, ``report.csv`` and ``report.html``.

The report holds what the firm learned (the released statistics, identical for every firm, and
what was suppressed and why) and, under ``own``, the firm's own position, which only this firm
sees.  ``report.json`` follows the JSON Schema in ``schema.json`` (shipped with the
package, see :func:`report_schema`); ``report.csv`` is the same content as a tidy table, one
row per KPI and statistic; ``report.html`` is one self-contained page with a plot per KPI.

Build the report with :func:`build_report` and write it with :func:`write_report`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from smpc_bench import __version__
from smpc_bench.inputs.consortium import REPORT_FORMATS, Consortium
from smpc_bench.report.atomic import write_texts_atomic
from smpc_bench.report.own_section import own_section
from smpc_bench.spec.disclosure import rules_text
from smpc_bench.spec.metrics import Metric
from smpc_bench.spec.outcome import PrivatePosition, RoundOutcome, exact_text, kpi_verdicts

__all__ = ["CSV_COLUMNS", "SCHEMA_VERSION", "build_report", "csv_rows", "firm_folder",
           "report_schema", "write_report"]

#: Version of the report layout; bumped on incompatible changes.
SCHEMA_VERSION = 1
#: Columns of ``report.csv``.
CSV_COLUMNS = ("round", "firm", "kpi", "unit", "scope", "label", "statistic", "value",
               "value_float", "status", "note")


def firm_folder(index: int, firm: str) -> str:
    """Report folder name of a firm: ``firm_folder(0, "Bakkerij Alfa")`` -> ``0-bakkerij-alfa``."""
    slug = re.sub(r"[^a-z0-9]+", "-", firm.casefold()).strip("-") or "party"
    return f"{index}-{slug}"


def report_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) that every ``report.json`` follows."""
    text = resources.files("smpc_bench.report").joinpath("schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def _statistic(metric: Metric, value: Any, reason: str | None, count: int) -> dict[str, Any]:
    status = "suppressed" if reason else "released" if value is not None else "undefined"
    if status == "undefined":
        reason = "no valid contributions" if count == 0 else "not defined for this data"
    return {
        "kind": metric.kind,
        "percent": None if metric.fraction is None else float(metric.fraction * 100),
        "method": metric.method,
        "value": exact_text(value),
        "value_float": None if value is None else float(value),
        "status": status,
        "reason": reason,
    }


def _positions_reason(outcome: RoundOutcome, k: int) -> str:
    if outcome.enough_firms and not outcome.enough_firms[k]:
        return (f"not released: fewer than {outcome.spec.min_contributions} firms contributed "
                "a valid value (the disclosure rule)")
    return ""


def build_report(
    outcome: RoundOutcome,
    consortium: Consortium,
    own_rows: Sequence[Sequence[object]],
    labels: Sequence[str],
    *,
    firm: str | None = None,
    positions: Sequence[Sequence[PrivatePosition | None]] | None = None,
    generated_at: datetime | None = None,
) -> dict[str, Any]:
    """Everything this firm learned from a round, as plain data (see ``schema.json``).

    Args:
        outcome: What the round released (from :func:`smpc_bench.peer.round.statistics_round`).
        consortium: The configuration (titles, units, disclosure rule).
        own_rows: The firm's own rows, one cell per KPI (None = missing).
        labels: A name per own row (shop names or ``"line N"``).
        firm: The firm's display name (default: from the configuration, by party index).
        positions: Per KPI, per own row, the private position from the MPC, if computed.
        generated_at: Timestamp (default: now, UTC).
    """
    spec = outcome.spec
    if firm is None:
        firm = consortium.parties[outcome.party].name if outcome.party < len(
            consortium.parties) else f"party {outcome.party}"
    kpis = []
    for k, kpi in enumerate(spec.kpis):
        released = {m.name: outcome.released[m.name][k] for m in spec.metrics[k]}
        statistics = {
            m.name: _statistic(m, released[m.name] if m.kind != "count" else outcome.counts[k],
                               outcome.suppressed.get((kpi.name, m.name)), outcome.counts[k])
            for m in spec.metrics[k]
        }
        own_values = [(label, None if row[k] is None else kpi.rounded(row[k]))
                      for label, row in zip(labels, own_rows, strict=True)]
        kpis.append({
            "name": kpi.name,
            "title": consortium.title(kpi.name),
            "description": consortium.descriptions.get(kpi.name, ""),
            "unit": kpi.unit,
            "decimals": kpi.decimals,
            "lower": exact_text(kpi.decode(0)),
            "upper": exact_text(kpi.decode(kpi.span)),
            "higher_is_better": kpi.higher_is_better,
            **kpi_verdicts(outcome, k),
            "statistics": statistics,
            "own": own_section(kpi, spec.metrics[k], released, own_values,
                               positions[k] if positions is not None else None,
                               _positions_reason(outcome, k)),
        })
    when = generated_at or datetime.now(UTC)
    return {
        "schema_version": SCHEMA_VERSION,
        "generator": f"smpc-bench {__version__}",
        "generated_at": when.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "round": {
            "name": spec.name,
            "spec_sha256": spec.digest(),
            "party": outcome.party,
            "parties": outcome.parties,
            "firm": firm,
            "rows_per_party": outcome.rows_per_party,
            "min_contributions": spec.min_contributions,
            "max_firm_share": float(spec.max_firm_share),
            "disclosure_rule": rules_text(spec),
            "local_simulation": outcome.parties == 1,
            "timings": [{"phase": name, "seconds": round(sec, 4)}
                        for name, sec in outcome.timings],
            "bytes_sent": outcome.bytes_sent,
        },
        "kpis": kpis,
    }


def _own_rows(report: dict[str, Any], kpi: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    unavailable = kpi["own"]["unavailable"]
    for entry in kpi["own"]["rows"]:
        def row(statistic: str, value: Any, value_float: Any, note: str = "",
                entry: dict[str, Any] = entry) -> dict[str, Any]:
            missing = value is None
            return {"scope": "own", "label": entry["label"], "statistic": statistic,
                    "value": "" if missing else value,
                    "value_float": "" if value_float is None else value_float,
                    "status": "unavailable" if missing else "private", "note": note}
        rows.append(row("value", entry["value"], entry["value_float"],
                        "missing in your file" if entry["missing"] else ""))
        rows.append(row("rank", entry["rank"], entry["rank"], unavailable.get("rank") or (
            f"of {entry['rank_of']}" if entry["rank_of"] else "")))
        rows.append(row("percentile", entry["percentile"], entry["percentile_float"],
                        unavailable.get("percentile", "")))
        rows.append(row("band", entry["band"], entry["band"],
                        entry["band_label"] or unavailable.get("band", "")))
        for name in ("median", "top_quartile"):
            gap = entry["gaps"][name]
            note = unavailable.get(f"gap_to_{name}", "") if gap is None else (
                f"{gap['position']} {gap['statistic']}"
                + ("" if gap["better"] is None else " (better)" if gap["better"]
                   else " (worse)"))
            rows.append(row(f"gap_to_{name}", None if gap is None else gap["difference"],
                            None if gap is None else gap["difference_float"], note))
    return rows


def csv_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report as tidy rows (:data:`CSV_COLUMNS`): one per KPI and statistic."""
    rows: list[dict[str, Any]] = []
    for kpi in report["kpis"]:
        common = {"round": report["round"]["name"], "firm": report["round"]["firm"],
                  "kpi": kpi["name"], "unit": kpi["unit"]}
        for name, item in kpi["statistics"].items():
            rows.append({**common, "scope": "industry", "label": "", "statistic": name,
                         "value": item["value"] or "",
                         "value_float": "" if item["value_float"] is None
                         else item["value_float"],
                         "status": item["status"], "note": item["reason"] or ""})
        rows.extend({**common, **row} for row in _own_rows(report, kpi))
    return rows


def _csv_text(report: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(report))
    return buffer.getvalue()


def write_report(report: dict[str, Any], directory: str | Path,
                 formats: Sequence[str] = REPORT_FORMATS) -> list[Path]:
    """Write ``report.json``/``.csv``/``.html`` into ``directory`` (created if needed).

    Every text is rendered first, then each file replaces its previous version atomically
    (:mod:`smpc_bench.report.atomic`): a failure leaves the previous report as it was, and no
    reader ever sees a part of a file.

    Returns:
        The files written.
    """
    folder = Path(directory)
    texts: dict[Path, str] = {}
    for fmt in formats:
        path = folder / f"report.{fmt}"
        if fmt == "json":
            text = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
        elif fmt == "csv":
            text = _csv_text(report)
        elif fmt == "html":
            from smpc_bench.report.html_page import render_html  # matplotlib only when needed

            text = render_html(report)
        else:
            raise ValueError(f"unknown report format {fmt!r}; choose from {REPORT_FORMATS}")
        texts[path] = text
    folder.mkdir(parents=True, exist_ok=True)
    return write_texts_atomic(texts)
