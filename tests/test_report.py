"""The main job ends by writing the offline HTML report: it opens in headless Chromium with the
network off, every chart draws its marks, nothing reaches the console, and each chart has its
PNG and SVG beside it."""

from __future__ import annotations

import re

from l2m_analysis.charts import browser


def test_the_main_job_prints_the_reports_path(main_job) -> None:
    assert main_job.report.is_file()
    printed = " ".join(main_job.stdout.split())
    assert f"report: {main_job.report}" in printed


def test_every_chart_of_the_report_renders_offline(main_job) -> None:
    browser.find_chromium()  # fails with "make browser" when Chromium is missing
    page = browser.open_in_chromium(main_job.report)
    assert page.done and page.page_errors == "" and page.console == [], page.console
    assert len(page.charts) >= 9  # Fig. 3, three per oracle run, two-point MI, NLL
    for chart in page.charts:
        assert chart.rendered == "true" and chart.svgs >= 1 and chart.marks >= 2, chart
    html = main_job.report.read_text()
    assert "gaussian-exact" in html and "corpus-embedded-neox" in html  # the run records
    assert re.search(r"β = 0\.8\d\d", html) or re.search(r"0\.80\d", html)  # the exponents


def test_each_chart_has_a_png_and_an_svg(main_job) -> None:
    images = main_job.report.parent / "charts"
    pngs = sorted(images.glob("*.png"))
    assert len(pngs) >= 9
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
        svg = png.with_suffix(".svg").read_text()
        assert svg.count("<path") + svg.count("<circle") > 10, png.name
