"""Firm reports: JSON against its schema, tidy CSV, own position, plots and the HTML page."""

from __future__ import annotations

import base64
import csv
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import jsonschema
import pytest

from smpc_bench.inputs.consortium import parse_config
from smpc_bench.report.build import CSV_COLUMNS, build_report, csv_rows, report_schema, write_report
from smpc_bench.report.html_page import render_html
from smpc_bench.report.plots import kpi_plot_png
from smpc_bench.spec.outcome import PrivatePosition, RoundOutcome

CONSORTIUM = parse_config({
    "consortium": {"name": "Bakery <test> round"},
    "disclosure": {"min_contributions": 3},
    "kpis": [
        {"name": "margin", "title": "Gross margin", "unit": "%", "lower": 0, "upper": 100,
         "decimals": 1, "statistics": ["count", "mean", "p10", "q1", "median", "q3", "p90"]},
        {"name": "waste", "unit": "%", "lower": 0, "upper": 50, "decimals": 1,
         "higher_is_better": False, "statistics": ["count", "mean", "q1", "median", "q3"]},
        {"name": "revenue", "unit": "EUR", "lower": 0, "upper": 5000000,
         "statistics": ["count", "mean", "median"]},
    ],
    "parties": [{"name": "Alfa & Co"}, {"name": "Beta"}, {"name": "Gamma"}],
})
F = Fraction


def _outcome() -> RoundOutcome:
    spec = CONSORTIUM.spec
    released = {
        "count": [7, 6, 2],
        "mean": [F(5951, 100), F(37, 5), None],
        "p10": [F(552, 10), None, None],
        "p25": [F(574, 10), F(59, 10), None],
        "median": [F(597, 10), F(715, 100), None],
        "p75": [F(615, 10), F(8675, 1000), None],
        "p90": [F(6336, 100), None, None],
    }
    return RoundOutcome(
        spec, party=0, parties=3, rows_per_party=[3, 2, 2], counts=[7, 6, 2],
        rejected=[0, 0, 0], released=released,
        suppressed={("revenue", "mean"): "fewer than 3 firms contributed a valid value",
                    ("revenue", "median"): "fewer than 3 firms contributed a valid value"},
        timings=[("connecting", 0.1), ("total", 1.5)], bytes_sent=1234,
        enough_firms=[True, True, False])


OWN_ROWS = [["61.5", "6.1", "1250000"], ["58.9", None, None], ["63.2", "9.0", "400000"]]
LABELS = ["Centrum", "Noord", "Station <b>"]
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def report() -> dict:
    return build_report(_outcome(), CONSORTIUM, OWN_ROWS, LABELS, generated_at=WHEN)


def test_report_follows_its_schema(report: dict) -> None:
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(json.dumps(report)), schema,
                        format_checker=jsonschema.FormatChecker())


def test_schema_rejects_a_broken_report(report: dict) -> None:
    broken = json.loads(json.dumps(report))
    broken["kpis"][0]["statistics"]["median"]["status"] = "maybe"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, report_schema())
    del broken["kpis"][0]["own"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, report_schema())


def test_round_facts(report: dict) -> None:
    info = report["round"]
    assert info["firm"] == "Alfa & Co" and info["party"] == 0 and info["parties"] == 3
    assert info["spec_sha256"] == CONSORTIUM.spec.digest()
    assert "at least 3 different firms" in info["disclosure_rule"]
    assert report["generated_at"] == "2026-01-02T03:04:05Z"


def test_released_and_suppressed_statistics(report: dict) -> None:
    margin, _, revenue = report["kpis"]
    assert margin["title"] == "Gross margin" and margin["count"] == 7
    assert margin["statistics"]["median"] == {
        "kind": "quantile", "percent": 50.0, "method": "inclusive", "value": "59.7",
        "value_float": 59.7, "status": "released", "reason": None}
    assert margin["statistics"]["mean"]["value"] == "59.51"
    assert revenue["statistics"]["median"]["status"] == "suppressed"
    assert "fewer than 3 firms" in revenue["statistics"]["median"]["reason"]
    assert revenue["statistics"]["count"]["value"] == "2"
    assert revenue["enough_firms"] is False


def test_own_gaps_and_bands_are_computed_locally(report: dict) -> None:
    margin, waste, revenue = report["kpis"]
    centrum, noord, station = margin["own"]["rows"]
    assert centrum["value"] == "61.5"
    assert centrum["gaps"]["median"]["difference"] == "1.8"
    assert centrum["gaps"]["median"]["position"] == "above"
    assert centrum["gaps"]["median"]["better"] is True
    assert centrum["gaps"]["top_quartile"]["statistic"] == "p75"
    assert centrum["gaps"]["top_quartile"]["position"] == "at"
    assert centrum["band"] == 4 and centrum["band_label"] == "top quartile (best 25%)"
    assert noord["band"] == 2 and noord["gaps"]["median"]["better"] is False
    assert station["band"] == 4
    # Lower is better: the top-quartile threshold is Q1, and a low value is good.
    low = waste["own"]["rows"][0]
    assert low["gaps"]["top_quartile"]["statistic"] == "p25"
    assert low["gaps"]["median"]["difference"] == "-1.05"
    assert low["gaps"]["median"]["better"] is True
    assert low["band"] == 2 and low["band_label"] == "second quartile from the top"
    assert waste["own"]["rows"][1]["missing"] is True
    assert waste["own"]["rows"][1]["gaps"]["median"] is None
    # Without ranks from the MPC, rank and percentile are stated as unavailable.
    assert margin["own"]["rows"][0]["rank"] is None
    assert set(margin["own"]["unavailable"]) == {"rank", "percentile"}
    assert margin["own"]["computed_in_mpc"] == []
    assert "gap_to_median" in revenue["own"]["unavailable"]
    assert revenue["own"]["rows"][0]["band"] is None


def test_positions_from_the_mpc_are_used() -> None:
    positions = [[PrivatePosition(2, 7, F(250, 3), 4, definition="test rule"), None, None],
                 [None] * 3, [None] * 3]
    report = build_report(_outcome(), CONSORTIUM, OWN_ROWS, LABELS, positions=positions)
    jsonschema.validate(report, report_schema())
    entry = report["kpis"][0]["own"]["rows"][0]
    assert (entry["rank"], entry["rank_of"], entry["percentile"]) == (2, 7, "250/3")
    assert entry["band_basis"] == "secure computation"
    assert report["kpis"][0]["own"]["computed_in_mpc"] == ["rank", "percentile", "band"]
    assert report["kpis"][0]["own"]["definitions"]["rank_percentile_band"] == "test rule"


def test_csv_is_tidy(report: dict, tmp_path: Path) -> None:
    write_report(report, tmp_path, ["csv"])
    with (tmp_path / "report.csv").open(encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    assert tuple(rows[0]) == CSV_COLUMNS
    keys = [(r["kpi"], r["scope"], r["label"], r["statistic"]) for r in rows]
    assert len(keys) == len(set(keys)), "one row per KPI, scope, row label and statistic"
    median = next(r for r in rows if r["kpi"] == "margin" and r["statistic"] == "median")
    assert (median["value"], median["status"], median["scope"]) == ("59.7", "released",
                                                                    "industry")
    gap = next(r for r in rows if r["kpi"] == "margin" and r["label"] == "Centrum"
               and r["statistic"] == "gap_to_median")
    assert (gap["value"], gap["note"]) == ("1.8", "above median (better)")
    assert any(r["status"] == "suppressed" and r["kpi"] == "revenue" for r in rows)
    assert len(csv_rows(report)) == len(rows)


def test_plot_is_a_png_and_none_without_statistics(report: dict) -> None:
    png = kpi_plot_png(report["kpis"][0])
    assert png is not None and png.startswith(b"\x89PNG")
    assert kpi_plot_png(report["kpis"][2]) is None


def test_html_is_self_contained_and_escaped(report: dict) -> None:
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>")
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', page)
    assert len(images) == 2  # margin and waste; revenue has nothing to draw
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)
    assert not re.search(r'(src|href)="(https?:)?//', page), "no external resources"
    assert "Bakery &lt;test&gt; round" in page and "Station &lt;b&gt;" in page
    assert "Alfa &amp; Co" in page
    assert "fewer than 3 firms" in page


def test_write_all_formats(report: dict, tmp_path: Path) -> None:
    written = write_report(report, tmp_path / "out")
    assert [p.name for p in written] == ["report.json", "report.csv", "report.html"]
    assert json.loads(written[0].read_text(encoding="utf-8")) == report


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def test_html_renders_in_headless_chromium(report: dict, tmp_path: Path) -> None:
    from matplotlib.image import imread

    if CHROMIUM is None:
        if os.environ.get("CI"):  # .ci/run installs it: a skip in CI would check nothing
            pytest.fail("headless Chromium is missing in CI (.ci/run installs it with apt-get)")
        pytest.skip("headless Chromium not installed (Debian: apt-get install chromium); "
                    "HTML rendering not checked")

    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    # The network switches keep a closed machine's Chromium from retrying Google's hosts.
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              "--disable-quic", "--no-first-run", "--disable-background-networking",
              "--disable-component-update", "--disable-sync",
              "--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    assert "Gross margin" in dom and dom.count("data:image/png;base64,") == 2
    shot = tmp_path / "shot.png"
    subprocess.run([*common, "--window-size=1000,1400", f"--screenshot={shot}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    pixels = imread(shot)[:, :, :3]
    red = (pixels[:, :, 0] > 0.75) & (pixels[:, :, 1] < 0.3) & (pixels[:, :, 2] < 0.3)
    assert red.sum() > 50, "the red 'you are here' markers should be visible"
    assert pixels.std() > 0.05, "the page should not be blank"


def test_reasons_when_positions_are_missing() -> None:
    coarse = [[PrivatePosition(None, 7, None, 3, definition="bands"), None, None],
              [None] * 3, [None] * 3]
    report = build_report(_outcome(), CONSORTIUM, OWN_ROWS, LABELS, positions=coarse)
    jsonschema.validate(report, report_schema())
    margin, waste, revenue = (k["own"] for k in report["kpis"])
    assert "only bands" in margin["unavailable"]["rank"]
    assert margin["computed_in_mpc"] == ["band"] and margin["rows"][0]["band"] == 3
    assert waste["unavailable"]["rank"] == "no valid value of yours for this KPI"
    assert "not released: fewer than 3 firms" in revenue["unavailable"]["rank"]
    page = render_html(report)
    assert "rank, percentile: not released: fewer than 3 firms" in page
