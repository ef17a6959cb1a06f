"""Fits as text: exponents with their intervals, the law verdict and the warning tags.

The one place that words a ``fits`` row (a dict of the table, or of
``queries/fitted_exponents.sql``): chart legends, the report's headline and its tables all
call these. Numbers are in nats; intervals are 95 %.
"""

from __future__ import annotations

import math

from l2m_analysis.fits.bands import detail

# What each warning of fits.diagnostics means: the hover text of its tag.
WARNING_TEXT = {
    "interval spans 0": "the exponent's 95 % interval includes 0: the data do not tell growth "
    "or decay from a constant",
    "open interval": "an end of the exponent's interval is infinite",
    "R² < 0.5": "the law explains less than half of the variance of the points",
    "few points": "the fit used the fewest points its law accepts: at most one degree of "
    "freedom is left",
    "rising tail": "the largest distances rise with d: the estimator's bias drifts, the decay "
    "fit is not informative there",
    "Ĥ_G not converged": "the adjacent-pair entropy of the 2-gram correction still rose from half "
    "to all of the corpus by more than 2 stderrs: it is biased low, and so is every corrected "
    "point (0.8 nats per nat); β under each Ĥ_G is in the fit's detail",
}


def fmt(value: object, spec: str = ".3f", missing: str = "–") -> str:
    """A number in ``spec``; None, NaN and ±inf are ``missing``."""
    if not isinstance(value, int | float) or not math.isfinite(value):
        return missing
    return format(value, spec)


def interval(lo: object, hi: object, spec: str = ".3f") -> str:
    """'[0.794, 0.815]'; an open (NULL) end prints as −∞ / ∞."""
    return f"[{fmt(lo, spec, '−∞')}, {fmt(hi, spec, '∞')}]"


def exponent(row: dict, spec: str = ".3f") -> str:
    """'β = 0.805 [0.794, 0.815]' (power law), 'α = …' (decay; or a fitted_exponents row with
    exponent_name 'alpha'), 'log law, a = …' (the log law's slope a, nats per log L)."""
    if row.get("law") == "log":
        d = detail(row)
        slope = interval(d.get("slope_lo"), d.get("slope_hi"), ".4f")
        return f"log law, a = {fmt(row['amplitude'], '.4f')} {slope}"
    symbol = "α" if row.get("law") == "decay" or row.get("exponent_name") == "alpha" else "β"
    ends = interval(row["exponent_lo"], row["exponent_hi"], spec)
    return f"{symbol} = {fmt(row['exponent'], spec)} {ends}"


def verdict(row: dict) -> str:
    """'power law (ΔAIC +60.8)', 'log law (ΔAIC −25.0)', 'decay, C = 1.16 nats' or ''."""
    if row.get("law") == "decay" or row.get("exponent_name") == "alpha":
        return f"decay, C = {fmt(row.get('offset_c'), '.3g')} nats"
    law = row.get("preferred_law")
    delta = row.get("delta_aic", detail(row).get("delta_aic"))  # AIC(log law) − AIC(power law)
    aic = "" if delta is None else f" (ΔAIC {delta:+.1f})".replace("-", "−")
    return f"{law} law{aic}" if law else ""


def bootstrap(row: dict) -> str | None:
    """'curve bootstrap [0.628, 0.770]' when the row carries one beside its own interval; when
    the row's interval IS the curve bootstrap (fits.curve_bootstrap), 'curve bootstrap;
    t-interval [0.525, 0.686]' (the regression's, for comparison)."""
    d = detail(row)
    if row.get("law") != "power" or not {"bootstrap_exponent_lo", "t_exponent_lo"} & set(d):
        return None
    if "t_exponent_lo" in d:
        return f"curve bootstrap; t-interval {interval(d['t_exponent_lo'], d['t_exponent_hi'])}"
    lo, hi = d.get("bootstrap_exponent_lo"), d.get("bootstrap_exponent_hi")
    return "curve bootstrap " + interval(lo, hi)


def h2gram(row: dict, spec: str = ".3f") -> str | None:
    """'Ĥ_G(Y1,Y2) not converged, from 0.13, 0.25, 0.5, all of the data: 10.84, … nats, β under
    each: 0.694, …; Ĥ_G extrapolated 11.57 nats: β 0.689' when the row carries the Ĥ_G
    convergence (`direct` power fits, ``fits.h2gram_sensitivity``), else None."""
    entries = detail(row).get("h2gram_convergence")
    if not entries:
        return None
    measured = [e for e in entries if e["fraction"] is not None]
    shares = ", ".join("all" if e["fraction"] >= 0.999 else f"{e['fraction']:.2g}"
                       for e in measured)  # fmt: skip
    betas = ", ".join(fmt(e["beta"], spec) for e in measured)
    hs = ", ".join(fmt(e["h_2gram"], ".2f") for e in measured)
    state = "not converged" if "Ĥ_G not converged" in (row.get("warnings") or []) else "converged"
    text = f"Ĥ_G(Y1,Y2) {state}, from {shares} of the data: {hs} nats, β under each: {betas}"
    for e in entries:
        if e["fraction"] is None:
            text += f"; Ĥ_G extrapolated {fmt(e['h_2gram'], '.2f')} nats: β {fmt(e['beta'], spec)}"
    return text


def tags(row: dict) -> list[tuple[str, str]]:
    """(short tag, full text) for each warning of the row and its dropped points."""
    out = [(w, WARNING_TEXT.get(w, w)) for w in row.get("warnings") or []]
    if row.get("n_dropped"):
        out.append((f"{row['n_dropped']} dropped", row.get("drop_reason") or "points not fitted"))
    return out


def warning_text(row: dict) -> str:
    """The row's warnings in one line, dropped points with their reason; '' when none."""
    return "; ".join(
        tag if text == WARNING_TEXT.get(tag) else f"{tag} ({text})" for tag, text in tags(row)
    )
