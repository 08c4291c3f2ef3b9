"""Render a report (see :mod:`smpc_bench.report.build`) as one self-contained HTML page.

The page needs no network and no other file: styles are inline and every plot is an embedded
base64 PNG (from :mod:`smpc_bench.report.plots`).  All text from the configuration and the data is
HTML-escaped.
"""

from __future__ import annotations

import base64
from html import escape
from typing import Any

from smpc_bench.report.formatting import format_difference, format_value
from smpc_bench.report.plots import kpi_plot_png

__all__ = ["render_html", "statistic_label"]

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:0;
background:#f6f7f9;color:#1d2733;line-height:1.45}
main{max-width:920px;margin:0 auto;padding:24px 20px 48px}
h1{font-size:1.6rem;margin:0 0 4px}h2{font-size:1.2rem;margin:0 0 2px}
.sub{color:#5a6675;margin:0 0 16px}
.card{background:#fff;border:1px solid #dde2e8;border-radius:8px;padding:16px 18px;
margin:16px 0}
.note{background:#fff8e1;border-color:#f0d48a}
.private{border-left:4px solid #d62728}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #edf0f3;vertical-align:top}
th{color:#5a6675;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.supp{color:#8a6d1f}.better{color:#1a7f37}.worse{color:#b42318}
img{max-width:100%;height:auto;display:block;margin:8px 0}
.you{color:#d62728;font-weight:600}.nowrap{white-space:nowrap}
footer{color:#5a6675;font-size:.85rem}
"""


def statistic_label(name: str, item: dict[str, Any]) -> str:
    """``"p25"`` -> ``"25th percentile (Q1)"``, ``"mean"`` -> ``"Mean"``."""
    if item["kind"] != "quantile":
        kind = str(item["kind"])
        return {"count": "Contributions", "stdev": "Standard deviation"}.get(
            kind, kind.capitalize())
    percent = item["percent"]
    whole = int(percent) if float(percent).is_integer() else percent
    suffix = "th" if 10 <= int(percent) % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(
        int(percent) % 10, "th")
    names: dict[float, str] = {50: "Median", 25: "25th percentile (Q1)",
                               75: "75th percentile (Q3)"}
    text = names.get(whole, f"{whole}{suffix} percentile")
    method = item["method"]
    return text if method == "inclusive" else f"{text}, {method} method"


def _value(value: float | None, kpi: dict[str, Any]) -> str:
    return escape(format_value(value, kpi["unit"], kpi["decimals"]))


def _statistics_table(kpi: dict[str, Any]) -> str:
    rows = []
    for name, item in kpi["statistics"].items():
        if item["kind"] == "count":
            shown = str(kpi["count"])
        elif item["status"] == "released":
            shown = _value(item["value_float"], kpi)
        else:
            shown = f'<span class="supp">{escape(item["status"])}: {escape(item["reason"])}</span>'
        rows.append(f"<tr><td>{escape(statistic_label(name, item))}</td>"
                    f'<td class="num">{shown}</td></tr>')
    return ("<table><thead><tr><th>Industry statistic</th><th>Value</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>")


def _gap_text(gap: dict[str, Any] | None, what: str, kpi: dict[str, Any]) -> str:
    if gap is None:
        return "-"
    if gap["position"] == "at":
        return f"exactly at the {what}"
    size = format_difference(abs(gap["difference_float"]), kpi["unit"], kpi["decimals"])
    verdict = "better" if gap["better"] else "worse"
    return (f'<span class="{verdict}">{escape(size)} {gap["position"]} the {what} '
            f"({verdict})</span>")


def _shared_rank_note(report: dict[str, Any]) -> str | None:
    """The reason rank and percentile are missing, if it is the same for every KPI."""
    reasons = [kpi["own"]["unavailable"].get("rank") for kpi in report["kpis"]]
    return reasons[0] if reasons and reasons[0] and len(set(reasons)) == 1 else None


def _own_table(kpi: dict[str, Any], shared_note: str | None) -> str:
    own = kpi["own"]
    several = len(own["rows"]) > 1
    rows = []
    for entry in own["rows"]:
        rank = _rank_text(entry)
        percentile = "-" if entry["percentile_float"] is None else \
            f"{entry['percentile_float']:.0f}"
        band = escape(entry["band_label"] or "-")
        label = f"<td>{escape(entry['label'])}</td>" if several else ""
        value = "missing in your file" if entry["missing"] else _value(entry["value_float"], kpi)
        rows.append(
            f'<tr>{label}<td class="num you">{value}</td>'
            f"<td>{_gap_text(entry['gaps']['median'], 'median', kpi)}</td>"
            f"<td>{_gap_text(entry['gaps']['top_quartile'], 'top quartile', kpi)}</td>"
            f'<td>{band}</td><td class="nowrap">{rank}</td><td>{percentile}</td></tr>')
    head = ("<th>Row</th>" if several else "") + (
        "<th>Your value</th><th>Gap to median</th><th>Gap to top quartile</th><th>Band</th>"
        "<th>Rank</th><th>Percentile</th>")
    by_reason: dict[str, list[str]] = {}
    for key, reason in own["unavailable"].items():
        if not (key in ("rank", "percentile") and reason == shared_note):
            by_reason.setdefault(reason, []).append(key.replace("_", " "))
    notes = "".join(f"<li>{escape(', '.join(keys))}: {escape(reason)}</li>"
                    for reason, keys in by_reason.items())
    missing = f'<ul class="sub">{notes}</ul>' if notes else ""
    top = "Q3" if kpi["higher_is_better"] else "Q1"
    kinds = {entry["band_kind"] for entry in own["rows"]} - {None}
    part = "tenth" if kinds == {"decile"} else "quarter"
    return (f'<div class="private"><table><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>{missing}"
            f'<p class="sub">Top quartile: the threshold of the best 25% ({top} here, since '
            f"{'higher' if kpi['higher_is_better'] else 'lower'} is better). Band: which "
            f"{part} of the industry your value falls in. Rank 1 is the best.</p></div>")


def _plot(kpi: dict[str, Any]) -> str:
    png = kpi_plot_png(kpi)
    if png is None:
        return ('<p class="supp">No distribution to draw: none of its statistics was '
                "released for this KPI.</p>")
    data = base64.b64encode(png).decode("ascii")
    alt = f"Distribution of {kpi['title']} in the industry with your position marked"
    return f'<img src="data:image/png;base64,{data}" alt="{escape(alt)}">'


def _kpi_section(kpi: dict[str, Any], shared_note: str | None) -> str:
    unit = f" ({escape(kpi['unit'])})" if kpi["unit"] else ""
    direction = "higher is better" if kpi["higher_is_better"] else "lower is better"
    description = f"<p>{escape(kpi['description'])}</p>" if kpi["description"] else ""
    return (f'<section class="card" id="kpi-{escape(kpi["name"])}">'
            f"<h2>{escape(kpi['title'])}{unit}</h2>"
            f'<p class="sub">{kpi["count"]} valid contributions; {direction}; agreed range '
            f"{escape(kpi['lower'])} to {escape(kpi['upper'])}</p>{description}"
            f"{_plot(kpi)}<h3>Your position (only you see this)</h3>{_own_table(kpi, shared_note)}"
            f"<h3>Industry statistics (every member sees these)</h3>"
            f"{_statistics_table(kpi)}</section>")


def _rank_text(entry: dict[str, Any] | None) -> str:
    if entry is None or entry["rank"] is None:
        return "-"
    return f"{entry['rank']} of {entry['rank_of']}"


def _summary(report: dict[str, Any]) -> str:
    rows = []
    for kpi in report["kpis"]:
        median = next((item for item in kpi["statistics"].values()
                       if item["kind"] == "quantile" and item["percent"] == 50
                       and item["status"] == "released"), None)
        entries = kpi["own"]["rows"]
        first = entries[0] if entries else None
        yours = "-" if first is None or first["missing"] else _value(first["value_float"], kpi)
        if len(entries) > 1:
            yours += f" <span class='sub'>(+{len(entries) - 1} more)</span>"
        rows.append(
            f'<tr><td><a href="#kpi-{escape(kpi["name"])}">{escape(kpi["title"])}</a></td>'
            f'<td class="num you">{yours}</td>'
            f'<td class="num">{_value(median["value_float"], kpi) if median else "suppressed"}</td>'
            f"<td>{_gap_text(first['gaps']['median'] if first else None, 'median', kpi)}</td>"
            f'<td class="nowrap">{_rank_text(first)}</td></tr>')
    shared = _shared_rank_note(report)
    note = f'<p class="sub">Rank and percentile: {escape(shared)}.</p>' if shared else ""
    return ('<section class="card"><h2>At a glance</h2><table><thead><tr><th>KPI</th>'
            "<th>You</th><th>Industry median</th><th>You vs. median</th><th>Your rank</th>"
            "</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{note}</section>")


def _footer(report: dict[str, Any]) -> str:
    info = report["round"]
    total = next((t["seconds"] for t in info["timings"] if t["phase"] == "total"), None)
    took = f" The secure computation took {total:.1f} s." if total is not None else ""
    return (
        '<footer class="card"><h2>How these numbers were made</h2>'
        f"<p>{info['parties']} firms computed these statistics together with secure multi-party "
        "computation (MPyC, Shamir secret sharing): no firm, and no one else, saw another "
        "firm's figures; each firm learned only the statistics above and its own position."
        f"{took}</p><p>{escape(info['disclosure_rule'])}</p>"
        "<p>Assumptions: the firms follow the protocol (they may be curious, but do not cheat), "
        "and fewer than half of them collude. A firm that enters wrong figures can distort the "
        "statistics; values outside the agreed ranges are rejected inside the computation.</p>"
        f"<p>Round configuration hash (SHA-256): <code>{escape(info['spec_sha256'])}</code>. "
        f"Generated {escape(report['generated_at'])} by {escape(report['generator'])}.</p>"
        "</footer>")


def render_html(report: dict[str, Any]) -> str:
    """The whole page as text."""
    info = report["round"]
    warning = ""
    if info["local_simulation"]:
        warning = ('<div class="card note"><strong>Local simulation:</strong> one process '
                   "played every party; nothing was secret. For testing only.</div>")
    shared = _shared_rank_note(report)
    sections = "".join(_kpi_section(kpi, shared) for kpi in report["kpis"])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(info['name'])}: report for {escape(info['firm'])}</title>"
        f"<style>{_STYLE}</style></head><body><main>"
        f"<h1>{escape(info['name'])}</h1>"
        f'<p class="sub">Benchmark report for <strong>{escape(info["firm"])}</strong> '
        f"&middot; {info['parties']} participating firms &middot; "
        f"{escape(report['generated_at'][:10])}</p>{warning}"
        '<div class="card note">This report is private to your firm: the red parts show your '
        "own figures and position, which no other participant has seen. Please do not "
        "forward it.</div>"
        f"{_summary(report)}{sections}{_footer(report)}</main></body></html>\n"
    )
