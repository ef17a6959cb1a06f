"""The report's α headline quotes the shuffle-subtracted fit when it exists (it wins on the
power-law chain, benchmarks.calibration.alpha), else the bias-floor fit."""

from __future__ import annotations

import polars as pl

from l2m_analysis.fits.series import FITS_SCHEMA
from l2m_analysis.report.frames import ReportFrames
from l2m_analysis.report.headline import two_point_alpha


def frames(estimators: dict[str, float]) -> ReportFrames:
    fits = pl.DataFrame(
        [{**dict.fromkeys(FITS_SCHEMA), "run_id": "books", "source": "books",
          "quantity": "two_point", "estimator": e, "law": "decay", "exponent": a,
          "exponent_lo": a - 0.1, "exponent_hi": a + 0.1, "offset_c": 1.1, "warnings": []}
         for e, a in estimators.items()],
        schema=FITS_SCHEMA, orient="row",
    )  # fmt: skip
    runs = pl.DataFrame({"run_id": ["books"], "kind": ["corpus"], "model": [None]})
    return ReportFrames(runs, pl.DataFrame(), fits, {}, pl.DataFrame())


def test_alpha_headline_prefers_the_subtracted_fit():
    both = two_point_alpha(frames({"grassberger": -1.4, "grassberger_minus_baseline": 0.16}))
    assert len(both) == 1 and "0.160" in str(both[0]) and "shuffled" in str(both[0])
    raw_only = two_point_alpha(frames({"grassberger": 0.05}))
    assert "0.050" in str(raw_only[0]) and "bias floor" in str(raw_only[0])
