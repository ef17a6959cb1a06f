"""The HTML report: one self-contained file, escaped text, and every chart drawn by real
headless Chromium with the network off and no console errors.

Chromium is required: without /usr/bin/chromium these tests FAIL and say `make browser`.
"""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

from l2m_analysis import charts
from l2m_analysis.charts import (
    ReportSection,
    browser,
    build_report_html,
    exponents_table,
)
from l2m_analysis.charts._report_assets import javascript_bundle
from l2m_analysis.charts.render import vegalite_version
from l2m_analysis.errors import InputError
from tests.test_charts import DATA, synthetic_positions, synthetic_states

EVIL = '</script><b id="injected">x</b>'


def _read(name: str) -> pl.DataFrame:
    return pl.read_parquet(DATA / f"{name}.parquet")


@pytest.fixture(scope="module")
def frames() -> dict[str, pl.DataFrame]:
    names = (
        "table_mi_estimates",
        "table_fits",
        "query_two_point_mi",
        "query_position_nll",
        "query_fitted_exponents",
        "table_runs",
        "query_average_metrics",
    )
    return {n: _read(n) for n in names}


def every_chart(f: dict[str, pl.DataFrame]) -> list[ReportSection]:
    """One section per builder, on the real fixtures (hand-made frames where none exist)."""
    mi, fits = f["table_mi_estimates"], f["table_fits"]
    sub = "oracle-gaussian-subvolume"
    exact_fit = fits.filter(
        (pl.col("run_id") == "gaussian-exact")
        & (pl.col("source") == "gaussian_subvolume")
        & (pl.col("estimator") == "exact")
        & (pl.col("ratio") == 2)
        & (pl.col("law") == "power")
    )
    exact_mi = mi.filter(
        (pl.col("run_id") == "gaussian-exact") & (pl.col("source") == "gaussian_subvolume")
    )
    kl = synthetic_positions(seq_lens=(256,)).with_columns(
        pl.when(pl.col("model") == "mamba-130m")
        .then(pl.lit(EVIL))
        .otherwise("model")
        .alias("model")
    )
    averages = pl.DataFrame(
        {
            "model": ["gpt2", "gpt2", "mamba", "mamba"],
            "train_length": [256, 4096, 256, 4096],
            "avg_kl": [0.05, 0.05, 0.055, 0.14],
        }
    )
    return [
        ReportSection(
            "Fig. 2 b: bipartite MI <oracle>",
            charts.bipartite_mi_chart(mi, fits, run_id=sub),
            caption=f"caption with {EVIL} & friends",
        ),
        ReportSection("Fig. A.1: estimators", charts.estimator_comparison_chart(mi, run_id=sub)),
        ReportSection("Fig. A.3: ratios", charts.ratio_chart(mi, fits, run_id=sub)),
        ReportSection(
            "Fig. A.4: two-point", charts.two_point_mi_chart(f["query_two_point_mi"], fits)
        ),
        ReportSection(
            "Fig. 3: Gaussian families",
            charts.gaussian_families_chart(mi, fits, run_id="gaussian-exact"),
        ),
        ReportSection(
            "Fig. 5: position NLL", charts.position_metric_chart(f["query_position_nll"])
        ),
        ReportSection("Fig. 4 c: position KL", charts.position_metric_chart(kl)),
        ReportSection("Fig. 4 a: average KL", charts.average_metric_chart(averages)),
        ReportSection(
            "Average NLL (real)", charts.average_metric_chart(f["query_average_metrics"])
        ),
        ReportSection(
            "Section 5: L2M", charts.l2m_chart(synthetic_states(), exact_mi, fit=exact_fit)
        ),
    ]


# Marks each chart must at least draw (data points, lines, bands), by section index.
MIN_MARKS = [6 + 2 + 2, 12, 9 + 3 + 3, 4 * 14 - 4, 32 + 4, 2 * 2, 2 * 2, 4 + 2, 2, 12]


@pytest.fixture(scope="module")
def report_files(frames, tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("report")
    sections = every_chart(frames)
    files = {}
    for mode in ("interactive", "static"):
        html = build_report_html(
            sections,
            title="L²M report <test> & co",
            exponents=frames["query_fitted_exponents"],
            runs=frames["table_runs"].with_columns(pl.lit(EVIL).alias("model")),
            intro=f"intro {EVIL}",
            mode=mode,
            generated_at="2026-12-01 00:00",
        )
        path = out / f"report-{mode}.html"
        path.write_text(html, encoding="utf-8")
        files[mode] = path
    return files


def _chromium_or_fail() -> str:
    try:
        return browser.find_chromium()
    except browser.BrowserMissing as err:
        pytest.fail(f"{err} — this test needs real Chromium: run `make browser`")


def test_missing_chromium_fails_with_the_make_browser_hint(monkeypatch):
    monkeypatch.setattr(browser, "CANDIDATES", ("/nonexistent/chromium",))
    with pytest.raises(browser.BrowserMissing) as err:
        browser.find_chromium()
    assert "make browser" in str(err.value)


@pytest.mark.parametrize("mode", ["interactive", "static"])
def test_every_chart_renders_in_offline_chromium(report_files, mode):
    _chromium_or_fail()
    page = browser.open_in_chromium(report_files[mode])
    assert page.done, "the page never finished embedding its charts"
    assert page.page_errors == ""
    assert page.console == [], "console output (errors, CSP violations):\n" + "\n".join(
        page.console
    )
    assert len(page.charts) == len(MIN_MARKS)
    for chart, least in zip(page.charts, MIN_MARKS, strict=True):
        assert chart.rendered == "true", chart
        assert chart.svgs >= 1, chart
        assert chart.marks >= least, chart
    assert '<b id="injected"' not in page.dom  # escaped text never became an element


def test_the_browser_check_catches_a_broken_chart(report_files, tmp_path):
    _chromium_or_fail()
    html = report_files["interactive"].read_text(encoding="utf-8")
    broken = re.sub(
        r'(<script type="application/json" id="spec-1">).*?(</script>)',
        r'\1{"mark": "point", "encoding": \2',
        html,
        count=1,
        flags=re.S,
    )
    assert broken != html
    bad = tmp_path / "broken.html"
    bad.write_text(broken, encoding="utf-8")
    page = browser.open_in_chromium(bad)
    rendered = [c.rendered for c in page.charts]
    assert rendered[1] == "failed" and rendered.count("true") == len(MIN_MARKS) - 1
    assert "chart-1: bad spec" in page.page_errors
    # a page that tries to fetch anything is stopped by its CSP, and the console says so
    head, tail = html.rsplit("</body>", 1)  # the bundle's code also holds "</body>"
    fetching = head + '<img src="https://cdn.example.org/pixel.png" alt=""></body>' + tail
    (tmp_path / "fetching.html").write_text(fetching, encoding="utf-8")
    page = browser.open_in_chromium(tmp_path / "fetching.html")
    assert any("cdn.example.org" in line for line in page.console), page.console
    assert "blocked by the page's security policy: https://cdn.example.org" in page.page_errors
    # a page whose JavaScript bundle is gone draws nothing and says so
    bundle = javascript_bundle(vegalite_version())
    assert len(bundle) > 100_000 and html.count(bundle) == 1
    no_js = html.replace(bundle, "")
    bare = tmp_path / "no-js.html"
    bare.write_text(no_js, encoding="utf-8")
    page = browser.open_in_chromium(bare)
    assert all(c.rendered == "failed" and c.marks == 0 for c in page.charts)
    assert "did not load" in page.page_errors


def test_report_is_self_contained_and_escaped(report_files):
    for mode, path in report_files.items():
        html = path.read_text(encoding="utf-8")
        assert "Content-Security-Policy" in html and "default-src 'none'" in html
        assert not re.search(r'<(script|img|link|iframe)[^>]+(src|href)\s*=\s*"?(https?:)?//', html)
        assert "@import" not in html and not re.search(r"url\(\s*['\"]?https?:", html)
        assert EVIL not in html  # captions, intro, run records, series names: all escaped
        assert "&lt;/script&gt;&lt;b id=&quot;injected&quot;&gt;" in html
        assert "<title>L²M report &lt;test&gt; &amp; co</title>" in html
        assert "Fig. 2 b: bipartite MI &lt;oracle&gt;" in html
        assert html.count('class="l2m-chart"') == len(MIN_MARKS)
        if mode == "interactive":
            assert html.count('<script type="application/json"') == len(MIN_MARKS)
            assert "vegaEmbed" in html
        else:
            assert "<script" not in html


def test_exponents_and_runs_tables(frames, report_files):
    fitted = frames["query_fitted_exponents"]
    table = exponents_table(fitted)
    assert table.height == fitted.height
    row = table.filter(
        (pl.col("source") == "gaussian_subvolume")
        & (pl.col("estimator") == "exact")
        & (pl.col("L/ℓ") == "2")
    ).row(0, named=True)
    assert row["exponent"] == "β = 0.805" and row["95 % CI"] == "[0.794, 0.815]"
    delta = fitted.filter(
        (pl.col("source") == "gaussian_subvolume")
        & (pl.col("estimator") == "exact")
        & (pl.col("ratio") == 2)
    )["delta_aic"][0]
    assert row["verdict"].startswith("power law") and f"{delta:+.1f}" in row["verdict"]
    decay = table.filter(pl.col("quantity") == "two_point", pl.col("estimator") == "grassberger")
    assert decay["exponent"][0].startswith("α = 1.416") and "C = 1.14" in decay["verdict"][0]
    spans_zero = table.filter(pl.col("95 % CI").str.contains(r"\[-"))
    assert spans_zero.height and spans_zero["warnings"].str.contains("interval includes 0").all()
    # fits rows with the coming columns: warnings, n_dropped, drop_reason
    fits = frames["table_fits"].with_columns(
        pl.lit(["few distances"]).alias("warnings"),
        pl.lit(2).alias("n_dropped"),
        pl.lit("below floor").alias("drop_reason"),
    )
    warned = exponents_table(fits)
    assert warned.height == fits.filter(pl.col("law").is_in(["power", "decay"])).height
    assert (
        warned["warnings"].str.contains("few distances; 2 points dropped \\(below floor\\)").all()
    )
    html = report_files["interactive"].read_text(encoding="utf-8")
    runs = frames["table_runs"]
    assert html.count("<summary>config</summary>") == runs.height
    for run_id in runs["run_id"]:
        assert f">{run_id}</td>" in html
    with pytest.raises(InputError, match="lacks columns"):
        exponents_table(pl.DataFrame({"estimator": ["x"]}))


def test_report_refuses_what_is_not_a_chart():
    with pytest.raises(InputError, match="not an Altair chart"):
        build_report_html([("title", "not a chart")])
    with pytest.raises(InputError, match="mode="):
        build_report_html([], mode="pdf")
