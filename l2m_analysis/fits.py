"""Scaling-law fits that carry their uncertainty: power law, decay with offset, log law.

* ``fit_power_law``: bipartite MI I = A·L^β, OLS (or WLS) in log-log space.
* ``fit_decay_with_offset``: two-point MI I_d = A·d^(−α) + C, C the systematic bias, fitted in
  log-log space after subtracting C (Eq. A.17, A.18); profile-likelihood intervals.
* ``fit_log_law``: I = a·log L + b, OLS (or WLS) on the linear scale.
* ``compare_laws``: AIC/BIC of the power and log laws on the same response (log I).

Every result is a frozen dataclass; ``.to_row()`` gives the columns of the ``fits`` table
(``warehouse/schema.py``); the run/source/quantity/estimator keys are the caller's to add.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

import numpy as np
import statsmodels.api as sm
from scipy.optimize import least_squares, minimize_scalar
from scipy.stats import f as f_dist
from scipy.stats import t as t_dist

from l2m_analysis.errors import InputError

# Fractions f = C / min(I) searched for the decay offset: dense over [0, 0.99], then
# geometrically closer to (never at) 1, where log(I_min − C) diverges.
_F_GRID = np.unique(np.concatenate([np.linspace(0.0, 0.99, 100), 1.0 - np.logspace(-2, -9, 36)]))


_ROW_COLUMNS = ("exponent", "exponent_lo", "exponent_hi", "amplitude", "offset_c")
_SHARED_COLUMNS = ("r2", "aic", "bic", "n_points", "x_min", "x_max")


@dataclass(frozen=True)
class _FitBase:
    """Shared fields; x_min/x_max: the fitted range of L or d; ci_level = 1 − alpha."""

    n_points: int
    x_min: float
    x_max: float
    r2: float
    aic: float
    bic: float
    ci_level: float
    weighted: bool
    method: str

    _LAW: ClassVar[str] = ""
    _COLUMNS: ClassVar[dict[str, str]] = {}  # fits column -> attribute

    def to_row(self) -> dict:
        """One ``fits`` row: law, exponent(_lo/_hi), amplitude, offset_c, r2, aic, bic,
        n_points, x_min, x_max and ``detail`` (every other field; JSON-able, NaN -> None)."""
        row = {"law": self._LAW}
        row |= {c: _num(getattr(self, self._COLUMNS.get(c, ""), None)) for c in _ROW_COLUMNS}
        row |= {c: _num(getattr(self, c)) for c in _SHARED_COLUMNS}
        used = set(row) | set(self._COLUMNS.values()) | {"result"}
        row["detail"] = {
            f.name: _num(getattr(self, f.name)) for f in fields(self) if f.name not in used
        }
        return row


@dataclass(frozen=True)
class PowerLawFit(_FitBase):
    """I = A·L^β. exponent = β (stderr, [lo, hi] at ``ci_level``), amplitude = A in nats.

    r2, aic, bic: of the regression of log I on log L (weighted when ``weighted``).
    """

    exponent: float
    exponent_stderr: float
    exponent_lo: float
    exponent_hi: float
    amplitude: float
    amplitude_lo: float
    amplitude_hi: float
    result: Any = field(repr=False, compare=False)

    _LAW = "power"
    _COLUMNS = {c: c for c in _ROW_COLUMNS[:4]}


@dataclass(frozen=True)
class DecayFit(_FitBase):
    """I_d = A·d^(−α) + C, 0 ≤ C < min I. exponent = α; amplitude = A, offset = C in nats.

    Intervals at ``ci_level`` by ``interval_method``; bootstrap_* from the wild bootstrap (None
    when n_boot = 0). r2/aic/bic: the regression of log(I − C) on log d at the best C, with C
    counted as a parameter (k = 3).
    """

    exponent: float
    exponent_stderr: float
    exponent_lo: float
    exponent_hi: float
    amplitude: float
    amplitude_lo: float
    amplitude_hi: float
    offset: float
    offset_lo: float
    offset_hi: float
    interval_method: str
    n_boot: int
    seed: int
    bootstrap_exponent_sd: float | None
    bootstrap_exponent_lo: float | None
    bootstrap_exponent_hi: float | None
    bootstrap_offset_lo: float | None
    bootstrap_offset_hi: float | None
    result: Any = field(repr=False, compare=False)

    _LAW = "decay"
    _COLUMNS = {**{c: c for c in _ROW_COLUMNS[:4]}, "offset_c": "offset"}


@dataclass(frozen=True)
class LogLawFit(_FitBase):
    """I = a·log L + b (nats), fitted on the linear scale; r2/aic/bic on that scale."""

    slope: float
    slope_stderr: float
    slope_lo: float
    slope_hi: float
    intercept: float
    intercept_stderr: float
    result: Any = field(repr=False, compare=False)

    _LAW = "log"
    _COLUMNS = {"amplitude": "slope", "offset_c": "intercept"}


@dataclass(frozen=True)
class LawComparison:
    """Power law vs log law on the same data; aic_*/bic_* are on the log I scale.

    delta_aic = aic_log − aic_power (> 0: the power law is preferred). log_slope/log_intercept:
    the log law refitted by least squares on log I (what aic_log scores); aic_log = inf when
    no a, b with a·log L + b > 0 at every L fits.
    """

    power: PowerLawFit
    log: LogLawFit
    aic_power: float
    aic_log: float
    bic_power: float
    bic_log: float
    delta_aic: float
    preferred: str
    log_slope: float
    log_intercept: float

    def to_rows(self) -> list[dict]:
        """Two ``fits`` rows (power, log) with aic/bic on the log I scale and preferred_law."""
        rows = [self.power.to_row(), self.log.to_row()]
        for row, aic, bic in zip(
            rows, (self.aic_power, self.aic_log), (self.bic_power, self.bic_log), strict=True
        ):
            row.update(aic=_num(aic), bic=_num(bic), preferred_law=self.preferred)
            row["detail"].update(aic_scale="log I", delta_aic=_num(self.delta_aic))
        rows[1]["detail"].update(
            log_scale_slope=_num(self.log_slope), log_scale_intercept=_num(self.log_intercept)
        )
        return rows


def fit_power_law(x, y, stderr=None, alpha: float = 0.05) -> PowerLawFit:
    """Fit I = A·L^β by OLS of log I on log L; WLS with weights (I/σ)² when ``stderr`` is given.

    The weights are the delta method, var(log I) ≈ (σ/I)². β's interval is statsmodels'
    t-interval at level 1 − alpha (residual scale estimated from the data, also under WLS).
    """
    x, y, s = _check(x, y, stderr, min_points=3, positive_y="power law")
    lx, ly = np.log(x), np.log(y)
    design = sm.add_constant(lx)
    res = (sm.OLS(ly, design) if s is None else sm.WLS(ly, design, weights=(y / s) ** 2)).fit()
    ci = res.conf_int(alpha)
    return PowerLawFit(
        **_base(x, res.rsquared, res.aic, res.bic, alpha, s),
        method="OLS of log I on log L" if s is None else "WLS of log I on log L, weights (I/σ)²",
        exponent=float(res.params[1]),
        exponent_stderr=float(res.bse[1]),
        exponent_lo=float(ci[1, 0]),
        exponent_hi=float(ci[1, 1]),
        amplitude=float(np.exp(res.params[0])),
        amplitude_lo=float(np.exp(ci[0, 0])),
        amplitude_hi=float(np.exp(ci[0, 1])),
        result=res,
    )


def fit_log_law(x, y, stderr=None, alpha: float = 0.05) -> LogLawFit:
    """Fit I = a·log L + b by OLS (WLS with weights 1/σ² when ``stderr`` is given)."""
    x, y, s = _check(x, y, stderr, min_points=3, positive_y=None)
    design = sm.add_constant(np.log(x))
    res = (sm.OLS(y, design) if s is None else sm.WLS(y, design, weights=1.0 / s**2)).fit()
    ci = res.conf_int(alpha)
    return LogLawFit(
        **_base(x, res.rsquared, res.aic, res.bic, alpha, s),
        method="OLS of I on log L" if s is None else "WLS of I on log L, weights 1/σ²",
        slope=float(res.params[1]),
        slope_stderr=float(res.bse[1]),
        slope_lo=float(ci[1, 0]),
        slope_hi=float(ci[1, 1]),
        intercept=float(res.params[0]),
        intercept_stderr=float(res.bse[0]),
        result=res,
    )


def compare_laws(x, y, stderr=None) -> LawComparison:
    """Tell an L^β family from a log L family by AIC on the same response, log I.

    Why log I: the power law is linear there, its noise is multiplicative (entropy-difference
    MI estimates have errors that scale with I), and one response is needed for AIC to compare.
    Both laws are least-squares fits of log I with two parameters (the log law's prediction is
    log(a·log L + b), refitted on that scale from the linear fit), so ΔAIC = n·log(SSR_log /
    SSR_power) and AIC and BIC agree on ``preferred``. Weights (I/σ)² when ``stderr`` is given.
    """
    x, y, s = _check(x, y, stderr, min_points=3, positive_y="law comparison")
    power, loglaw = fit_power_law(x, y, s), fit_log_law(x, y, s)
    lx, ly = np.log(x), np.log(y)
    w = np.ones_like(y) if s is None else (y / s) ** 2
    a, b, ssr_log = _log_law_on_log_scale(lx, ly, w, loglaw.slope, loglaw.intercept)
    ssr_pow = float(np.sum(w * power.result.resid**2))
    aic_p, bic_p = _gaussian_ic(ssr_pow, w, k=2)
    aic_l, bic_l = _gaussian_ic(ssr_log, w, k=2)
    return LawComparison(
        power=power,
        log=loglaw,
        aic_power=aic_p,
        aic_log=aic_l,
        bic_power=bic_p,
        bic_log=bic_l,
        delta_aic=aic_l - aic_p,
        preferred="power" if aic_p <= aic_l else "log",
        log_slope=a,
        log_intercept=b,
    )


def fit_decay_with_offset(
    d, y, stderr=None, n_boot: int = 200, seed: int = 0, alpha: float = 0.05
) -> DecayFit:
    """Fit I_d = A·d^(−α) + C with 0 ≤ C < min I by least squares of log(I − C) (Eq. A.18).

    C is profiled: for each C, (log A, α) is the closed-form OLS of log(I − C) on log d; the
    profile SSE is scanned on a grid of C/min(I) in [0, 1), zoomed, and polished by bounded
    Brent (``minimize_scalar``). With ``stderr``: weights (m/σ)² with m = A·d^(−α) the fitted
    I − C (two reweighting passes), the delta method for var(log(I − C)).

    Intervals for α and C (level 1 − alpha): profile likelihood, {θ : SSE_prof(θ) ≤ SSE_min·
    (1 + F(1−alpha; 1, n−3)/(n−3))}, the other parameters re-minimized (weights fixed at the
    best fit). exponent_stderr = half-width / t(n−3). A's interval, and bootstrap intervals
    for α and C in ``detail``: wild bootstrap in log space (Rademacher signs on residuals;
    ``n_boot`` replicates, ``seed``; 0 skips it), every replicate refitted including C.
    Unweighted intervals assume noise ∝ I − C; with noise ∝ I pass ``stderr``. Needs n >= 4.
    """
    d, y, s = _check(d, y, stderr, min_points=4, positive_y="decay fit")
    if isinstance(n_boot, bool) or int(n_boot) != n_boot or n_boot < 0:
        raise InputError(f"n_boot must be an integer >= 0, got {n_boot!r}", "use e.g. 200")
    lx, n, ymin = np.log(d), y.size, y.min()

    def prof(f):
        return _profile(f * ymin, lx, y, s)[0]

    f, lo, hi = _minimize_fraction(prof, ())
    opt = minimize_scalar(
        lambda t: float(prof(np.array([t]))[0]),
        bounds=(float(lo), float(hi)),
        method="bounded",
        options={"xatol": 1e-14},
    )
    c = float((opt.x if opt.fun < prof(np.array([f]))[0] else f) * ymin)
    sse_min, slope, icpt, w = (v[0] for v in _profile(np.array([c]), lx, y, s))
    res = sm.WLS(np.log(y - c), sm.add_constant(lx), weights=w).fit()
    # floor: noise-free data (SSE ~ 0) still gets a (tiny) non-empty interval
    thr = sse_min * (1.0 + f_dist.ppf(1.0 - alpha, 1, n - 3) / (n - 3)) + 1e-12 * n
    c_grid = np.linspace(0.0, 1.0 - 1e-9, 2001) * ymin
    c_lo, c_hi = _accepted_range(c_grid, _wline(lx, np.log(y - c_grid[:, None]), w)[0], thr)
    a_lo, a_hi = _exponent_interval(lx, y, w, thr, -float(slope), float(res.bse[1]))
    boot = dict.fromkeys(["sd", "lo", "hi", "c_lo", "c_hi"])
    amp_lo = amp_hi = np.nan
    if n_boot:
        a_b, amp_b, c_b = _wild_bootstrap(lx, y, s, c, icpt + slope * lx, int(n_boot), seed)
        q = [50 * alpha, 100 - 50 * alpha]
        amp_lo, amp_hi = np.percentile(amp_b, q)
        values = [np.std(a_b, ddof=1), *np.percentile(a_b, q), *np.percentile(c_b, q)]
        boot = dict(zip(boot, map(float, values), strict=True))
    amp = float(np.exp(icpt))
    llf = float(res.llf)
    return DecayFit(
        **_base(d, res.rsquared, 2 * 3 - 2 * llf, 3 * np.log(n) - 2 * llf, alpha, s),
        method="profile over C, (weighted) OLS of log(I − C) on log d (Eq. A.18)",
        exponent=-float(slope),
        exponent_stderr=float((a_hi - a_lo) / (2 * t_dist.ppf(1 - alpha / 2, n - 3))),
        exponent_lo=a_lo,
        exponent_hi=a_hi,
        amplitude=amp,
        amplitude_lo=float(min(amp_lo, amp)) if n_boot else np.nan,
        amplitude_hi=float(max(amp_hi, amp)) if n_boot else np.nan,
        offset=c,
        offset_lo=min(c_lo, c),
        offset_hi=max(c_hi, c),
        interval_method="profile likelihood (F); amplitude: wild bootstrap percentile",
        n_boot=int(n_boot),
        seed=int(seed),
        bootstrap_exponent_sd=boot["sd"],
        bootstrap_exponent_lo=boot["lo"],
        bootstrap_exponent_hi=boot["hi"],
        bootstrap_offset_lo=boot["c_lo"],
        bootstrap_offset_hi=boot["c_hi"],
        result=res,
    )


def _wline(lx, ly, w, slope=None):
    """Weighted least-squares line of ly (..., n) on lx (n,), slope fixed when given.

    Returns sse, slope, intercept, each of shape (...).
    """
    sw = w.sum(-1)
    xm, ym = (w * lx).sum(-1) / sw, (w * ly).sum(-1) / sw
    if slope is None:
        dx = lx - xm[..., None]
        slope = (w * dx * (ly - ym[..., None])).sum(-1) / (w * dx * dx).sum(-1)
    slope = np.broadcast_to(slope, ym.shape)
    icpt = ym - slope * xm
    return (w * (ly - icpt[..., None] - slope[..., None] * lx) ** 2).sum(-1), slope, icpt


def _profile(c, lx, y, s, n_reweight: int = 2):
    """Fit log(y − c) on lx for many offsets: c (..., G), y (..., n) -> sse, slope, icpt (..., G)
    and weights (..., G, n); IRLS weights (fitted(y − c)/σ)² when s is given."""
    ly = np.log(y[..., None, :] - c[..., :, None])  # (..., G, n)
    w = np.ones_like(ly) if s is None else (np.exp(ly) / s) ** 2
    sse, slope, icpt = _wline(lx, ly, w)
    for _ in range(0 if s is None else n_reweight):
        w = (np.exp(icpt[..., None] + slope[..., None] * lx) / s) ** 2
        sse, slope, icpt = _wline(lx, ly, w)
    return sse, slope, icpt, w


def _minimize_fraction(sse_of, batch: tuple, passes: int = 6):
    """Minimize sse_of(f) over f in [0, 1) for a batch of curves; f: batch + (G,) -> batch + (G,).

    Grid ``_F_GRID``, then ``passes`` zooms of the bracket (5x each). Returns f, lo, hi (batch).
    """
    grid = np.broadcast_to(_F_GRID, batch + _F_GRID.shape)
    i = np.argmin(sse_of(grid), axis=-1)[..., None]
    lo, hi = _F_GRID[np.maximum(i - 1, 0)], _F_GRID[np.minimum(i + 1, _F_GRID.size - 1)]
    for _ in range(passes):
        local = lo + (hi - lo) * np.linspace(0.0, 1.0, 11)  # batch + (11,)
        j = np.argmin(sse_of(local), axis=-1)[..., None]
        f = np.take_along_axis(local, j, -1)
        lo = np.take_along_axis(local, np.maximum(j - 1, 0), -1)
        hi = np.take_along_axis(local, np.minimum(j + 1, 10), -1)
    return f[..., 0], lo[..., 0], hi[..., 0]


def _accepted_range(grid, sse, thr) -> tuple[float, float]:
    """Hull of {grid : sse <= thr} with edges linearly interpolated; open ends -> ±inf."""
    ok = np.flatnonzero(sse <= thr)
    if ok.size == 0:  # only from rounding at the minimum: the best grid point
        ok = np.array([np.argmin(sse)])
    i, j = ok[0], ok[-1]

    def edge(a, b):  # a accepted, b rejected neighbour
        return grid[a] + (grid[b] - grid[a]) * (thr - sse[a]) / (sse[b] - sse[a])

    lo = grid[0] if i == 0 else edge(i, i - 1)
    hi = grid[-1] if j == grid.size - 1 else edge(j, j + 1)
    return float(lo), float(hi)


def _exponent_interval(lx, y, w, thr, a_hat, se) -> tuple[float, float]:
    """Profile interval for α: for each α on a widening grid, min over C and log A."""
    ymin, half = y.min(), max(4.0 * se, 1e-4)
    for _ in range(8):
        al = a_hat + half * np.linspace(-1.0, 1.0, 201)

        def sse_of(f, al=al):  # f: (201, G)
            return _wline(lx, np.log(y - f[..., None] * ymin), w, slope=-al[:, None])[0]

        f, _, _ = _minimize_fraction(sse_of, al.shape)
        sse = sse_of(f[:, None])[:, 0]
        if sse[0] > thr and sse[-1] > thr:
            return _accepted_range(al, sse, thr)
        half *= 3.0
    lo, hi = _accepted_range(al, sse, thr)
    return (-np.inf if sse[0] <= thr else lo), (np.inf if sse[-1] <= thr else hi)


def _wild_bootstrap(lx, y, s, c, fitted, n_boot, seed):
    """Refit n_boot wild-bootstrap replicates of log(y − c) -> α, A, C arrays (n_boot,)."""
    resid = np.log(y - c) - fitted
    signs = np.random.default_rng(seed).choice(np.array([-1.0, 1.0]), size=(n_boot, y.size))
    yb = c + np.exp(fitted + resid * signs)  # (B, n)
    ymin = yb.min(axis=1, keepdims=True)
    f, _, _ = _minimize_fraction(lambda f: _profile(f * ymin, lx, yb, s)[0], (n_boot,))
    c_b = f * ymin[:, 0]
    _, slope, icpt, _ = _profile(c_b[:, None], lx, yb, s)
    return -slope[:, 0], np.exp(icpt[:, 0]), c_b


def _log_law_on_log_scale(lx, ly, w, a0, b0):
    """Least squares of log I on log(a·log L + b) from feasible starts -> (a, b, ssr)."""

    def resid(theta):
        pred = theta[0] * lx + theta[1]
        safe = np.log(np.where(pred > 0, pred, 1.0))
        return np.sqrt(w) * np.where(pred > 0, ly - safe, 1e6)

    best = (np.nan, np.nan, np.inf)
    for start in ((a0, b0), (0.0, float(np.exp(np.average(ly, weights=w))))):
        if np.all(start[0] * lx + start[1] > 0):
            sol = least_squares(resid, np.asarray(start, dtype=float), method="trf")
            if np.all(sol.x[0] * lx + sol.x[1] > 0) and 2 * sol.cost < best[2]:
                best = (float(sol.x[0]), float(sol.x[1]), float(2 * sol.cost))
    return best


def _gaussian_ic(ssr: float, w: np.ndarray, k: int) -> tuple[float, float]:
    """AIC, BIC of a (weighted) Gaussian least-squares fit; statsmodels' llf and k convention."""
    n = w.size
    if not np.isfinite(ssr):
        return np.inf, np.inf
    llf = -n / 2 * (np.log(2 * np.pi * max(ssr, 1e-300) / n) + 1) + 0.5 * np.sum(np.log(w))
    return float(2 * k - 2 * llf), float(k * np.log(n) - 2 * llf)


def _base(x, r2, aic, bic, alpha, s) -> dict:
    return dict(
        n_points=int(x.size),
        x_min=float(x.min()),
        x_max=float(x.max()),
        r2=float(r2),
        aic=float(aic),
        bic=float(bic),
        ci_level=1.0 - alpha,
        weighted=s is not None,
    )


def _check(x, y, stderr, min_points: int, positive_y: str | None):
    """Validate a curve -> float64 (x, y, stderr or None); InputError naming the problem."""
    arrays = {"x": x, "y": y} if stderr is None else {"x": x, "y": y, "stderr": stderr}
    out = {}
    for name, v in arrays.items():
        a = np.asarray(v, dtype=np.float64) if np.asarray(v).dtype.kind in "iuf" else None
        if a is None or a.ndim != 1:
            raise InputError(f"{name} must be a 1-D numeric array", f"pass {name} as a sequence")
        if np.any(np.isnan(a)) or np.any(np.isinf(a)):
            raise InputError(f"{name} contains NaN or inf", f"drop those points from {name}")
        out[name] = a
    lengths = {k: v.size for k, v in out.items()}
    if len(set(lengths.values())) != 1:
        raise InputError(f"mismatched lengths {lengths}", "pass one value per point")
    if np.any(out["x"] <= 0):
        raise InputError("x has non-positive values (log x undefined)", "use lengths/distances > 0")
    if np.unique(out["x"]).size < 2:
        raise InputError("x has a single distinct value", "fit needs at least two lengths")
    if positive_y and np.any(out["y"] <= 0):
        raise InputError(
            f"y has non-positive values, {positive_y} needs y > 0 (log y)",
            "drop points with I <= 0 (e.g. bias-dominated tails) before fitting",
        )
    if stderr is not None and np.any(out["stderr"] <= 0):
        raise InputError("stderr has non-positive values", "weights need stderr > 0")
    if out["x"].size < min_points:
        raise InputError(
            f"{out['x'].size} points, need at least {min_points} for this fit",
            "measure more lengths/distances",
        )
    return out["x"], out["y"], out.get("stderr")


def _num(v):
    """JSON-safe scalar: numpy -> Python, non-finite -> None."""
    if v is None or isinstance(v, (bool, str, int)):
        return v
    v = float(v)
    return v if np.isfinite(v) else None
