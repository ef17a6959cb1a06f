"""The stderr-weighted decay fit: I_d = A·d^(−α) + C by least chi-square in I (Eq. A.17).

With standard errors σ the fit minimizes the data's own chi-square,

    χ²(A, α, C) = Σ ((I − C − A·d^−α) / σ)²,    A ≥ 0, C ≥ 0,

so no log of I is taken and points with I ≤ 0 (noise around a small floor) are kept. At fixed α
the model is linear in (A, C): the bounded two-parameter least squares is closed-form, so the
profile of α is exact and the point estimate is its minimum (grid, zoom, bounded Brent). The
intervals are profiles of the same χ² (``profile.py``), so the estimate always lies inside its
own interval. A's interval, and bootstrap intervals of α and C, by a wild bootstrap of the
linear residuals (Rademacher signs), every replicate refitted.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import OptimizeResult, minimize_scalar

from l2m_analysis.fits.common import gaussian_ic
from l2m_analysis.fits.profile import curvature_se, exponent_interval, f_threshold, grid_min, hull

# Exponents searched for the best fit: dense over [−3, 6], sparse out to 100 (d^−α ≈ 0 there).
ALPHA_GRID = np.unique(np.concatenate([np.linspace(-3.0, 6.0, 901), np.geomspace(6.0, 100.0, 41)]))


def fit_chi2(
    d: np.ndarray, y: np.ndarray, s: np.ndarray, n_boot: int, seed: int, alpha: float
) -> dict:
    """Least-chi-square fit of y (n,) nats with stderr s (n,) on d (n,) -> the decay estimate
    (see ``decay.py``); y may be ≤ 0."""

    def prof(al):
        return linear_fit(al, d, y, s)[0]

    a0, lo, hi = grid_min(prof, ALPHA_GRID, ())
    opt = minimize_scalar(
        lambda t: float(prof(np.array(t))),  # 0-d in, 0-d out
        bounds=(float(lo), float(hi)),
        method="bounded",
        options={"xatol": 1e-14},
    )
    a_hat = float(opt.x if opt.fun < prof(a0) else a0)
    sse, amp, c = (float(v) for v in linear_fit(np.array(a_hat), d, y, s))
    fitted = amp * d**-a_hat + c
    a_lo, a_hi, c_lo, c_hi = _intervals(d, y, s, a_hat, c, sse, alpha)
    boot = _wild_bootstrap(d, y, s, fitted, n_boot, seed) if n_boot else None
    w = 1.0 / s**2
    tss = float((w * (y - np.average(y, weights=w)) ** 2).sum())
    aic, bic = gaussian_ic(sse, w, k=3)
    return dict(
        exponent=a_hat,
        amplitude=amp,
        offset=c,
        exponent_lo=a_lo,
        exponent_hi=a_hi,
        offset_lo=min(c_lo, c),
        offset_hi=max(c_hi, c),
        r2=1.0 - sse / tss if tss > 0 else np.nan,  # weighted R² on the linear scale
        aic=aic,
        bic=bic,
        method="least chi-square Σ((I − C − A·d^−α)/σ)², A ≥ 0, C ≥ 0 (Eq. A.17)",
        interval_method="profile likelihood (F) on the chi-square; "
        "amplitude: wild bootstrap percentile (linear residuals)",
        boot=boot,
        result=OptimizeResult(
            x=np.array([amp, a_hat, c]), fun=sse, fitted=fitted, resid=y - fitted
        ),
    )


def linear_fit(alpha, d: np.ndarray, y: np.ndarray, s: np.ndarray):
    """Best A ≥ 0, C ≥ 0 at each α: alpha batch + (G,) or 0-d, y batch + (n,) or (n,); d, s (n,).

    Returns χ², A, C, each of shape batch + (G,). The χ² is computed from the residuals (never
    below the true minimum by rounding)."""
    alpha = np.asarray(alpha, dtype=float)
    if alpha.ndim == 0:
        return tuple(v[0] for v in linear_fit(alpha[None], d, y, s))
    g, d_ref = _powers(d, alpha)  # batch + (G, n), batch + (G,)
    yy, w = np.asarray(y, dtype=float)[..., None, :], 1.0 / s**2

    def chi2(a, c):
        with np.errstate(invalid="ignore", over="ignore"):
            return (w * (yy - a[..., None] * g - c[..., None]) ** 2).sum(-1)

    with np.errstate(over="ignore", invalid="ignore"):  # an absurd α: d^−α overflows, fits nothing
        sums = w.sum(), (w * g).sum(-1), (w * g * g).sum(-1), (w * yy).sum(-1), (w * g * yy).sum(-1)
        x2, amp, off = _bounded_ls(*sums, chi2)
        return x2, amp * d_ref**alpha, off


def _grid_linear_fit(gw: np.ndarray, g: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """χ² of ``linear_fit`` on a fixed α grid from sums (fast, for locating the minimum only):
    g (G, n) = d^−α, gw = w·g; y batch + (n,) -> batch + (G,)."""
    sw, sg, sgg = w.sum(), gw.sum(-1), (gw * g).sum(-1)
    sy, syy, sgy = (w * y).sum(-1)[..., None], (w * y * y).sum(-1)[..., None], y @ gw.T

    def chi2(a, c):
        return syy - 2 * a * sgy - 2 * c * sy + a * a * sgg + 2 * a * c * sg + c * c * sw

    return _bounded_ls(sw, sg, sgg, sy, sgy, chi2)[0]


def _bounded_ls(sw, sg, sgg, sy, sgy, chi2):
    """min over A ≥ 0, C ≥ 0 of the quadratic χ²(A, C) with sums Σw, Σwg, Σwg², Σwy, Σwgy:
    the interior solution when feasible, else the better edge (A = 0 or C = 0) -> χ², A, C."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        det = sw * sgg - sg**2
        a_in, c_in = (sw * sgy - sg * sy) / det, (sgg * sy - sg * sgy) / det
        a_edge = np.where(sgg > 0, np.maximum(sgy / sgg, 0.0), 0.0)  # on C = 0
        shape = np.broadcast_shapes(np.shape(a_in), np.shape(a_edge), np.shape(sy))
        a_in, c_in, a_edge = (np.broadcast_to(v, shape) for v in (a_in, c_in, a_edge))
        c_edge = np.broadcast_to(np.maximum(sy / sw, 0.0), shape)  # on A = 0
        zero = np.zeros(shape)
        ok = (det > 0) & (a_in >= 0) & (c_in >= 0) & np.isfinite(a_in) & np.isfinite(c_in)
        cand = np.stack(
            [
                chi2(np.where(ok, a_in, 0.0), np.where(ok, c_in, 0.0)),
                chi2(a_edge, zero),
                chi2(zero, c_edge),
            ]
        )
    cand = np.where(np.isfinite(cand), cand, np.inf)
    cand[0] = np.where(ok, cand[0], np.inf)
    k = np.argmin(cand, axis=0)
    amp = np.choose(k, [a_in, a_edge, zero])
    off = np.choose(k, [c_in, zero, c_edge])
    return np.take_along_axis(cand, k[None], 0)[0], amp, off


def offset_chi2(alpha, c, d: np.ndarray, y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """χ² minimized over A ≥ 0 at each (α, C); alpha, c broadcast -> their shape."""
    alpha, c = np.broadcast_arrays(np.asarray(alpha, dtype=float), np.asarray(c, dtype=float))
    g, c = _powers(d, alpha)[0], c[..., None]
    w, z = 1.0 / s**2, y - c
    wgg = (w * g * g).sum(-1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        amp = np.where(wgg > 0, np.maximum((w * g * z).sum(-1, keepdims=True) / wgg, 0.0), 0.0)
        v = (w * (z - amp * g) ** 2).sum(-1)
    return np.where(np.isfinite(v), v, np.inf)


def _grid_offset_chi2(gw: np.ndarray, g: np.ndarray, c: np.ndarray, y, w) -> np.ndarray:
    """``offset_chi2`` on the α grid (g, gw: (G, n)) for offsets c (K,), from sums -> (K, G)."""
    sgg, sgz = (gw * g).sum(-1), y @ gw.T - c[:, None] * gw.sum(-1)
    amp = np.where(sgg > 0, np.maximum(sgz / np.where(sgg > 0, sgg, 1.0), 0.0), 0.0)
    szz = (w * y * y).sum() - 2 * c * (w * y).sum() + c * c * w.sum()
    return szz[:, None] - 2 * amp * sgz + amp * amp * sgg


def _intervals(d, y, s, a_hat, c_hat, sse_min, alpha) -> tuple[float, float, float, float]:
    """(α_lo, α_hi, C_lo, C_hi) at level 1 − alpha from profiles of the χ²."""
    n = y.size
    thr = f_threshold(sse_min, n, alpha)

    def alpha_profile(al: np.ndarray) -> np.ndarray:  # exact: min over (A, C) in closed form
        return linear_fit(al, d, y, s)[0]

    half = max(4.0 * curvature_se(alpha_profile, a_hat, sse_min, n - 3), 1e-3)
    a_lo, a_hi = exponent_interval(alpha_profile, thr, a_hat, half)

    w, g = 1.0 / s**2, _alpha_grid_powers(d)

    def c_profile(c: np.ndarray) -> np.ndarray:  # min over α (and A), shape of c
        c1 = np.atleast_1d(c)
        first = _grid_offset_chi2(w * g, g, c1, y, w)
        al, _, _ = grid_min(
            lambda al: offset_chi2(al, c1[:, None], d, y, s), ALPHA_GRID, c1.shape, values=first
        )
        return offset_chi2(al, c1, d, y, s).reshape(np.shape(c))

    # above max I + √(thr/Σw) even A = 0 misses every point by more than the threshold allows
    c_top = y.max() + 1.01 * np.sqrt(thr / (1.0 / s**2).sum())
    grid = np.unique(np.concatenate([np.linspace(0.0, c_top, 401), [c_hat]]))
    c_lo, c_hi = hull(c_profile, grid, c_profile(grid), thr)
    return a_lo, a_hi, c_lo, c_hi


def _powers(d: np.ndarray, alpha: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(d/d_ref)^−α (alpha.shape + (n,)), all ≤ 1, and d_ref (alpha.shape): d_ref = min d for
    α > 0, max d otherwise, so that no α overflows; the amplitude of d^−α is A·d_ref^α."""
    d_ref = np.where(alpha > 0, d.min(), d.max())
    return (d / d_ref[..., None]) ** -alpha[..., None], d_ref


def _alpha_grid_powers(d: np.ndarray) -> np.ndarray:
    """(d/d_ref)^−α on ``ALPHA_GRID`` -> (G, n) (``_powers``)."""
    return _powers(d, ALPHA_GRID)[0]


def _wild_bootstrap(d, y, s, fitted, n_boot, seed):
    """Refit n_boot replicates fitted + resid·(±1) -> α, A, C arrays (n_boot,)."""
    signs = np.random.default_rng(seed).choice(np.array([-1.0, 1.0]), size=(n_boot, y.size))
    yb = fitted + (y - fitted) * signs  # (B, n)
    w, g = 1.0 / s**2, _alpha_grid_powers(d)
    first = _grid_linear_fit(w * g, g, yb, w)
    a_b, _, _ = grid_min(
        lambda al: linear_fit(al, d, yb, s)[0], ALPHA_GRID, (n_boot,), values=first
    )
    _, amp_b, c_b = linear_fit(a_b[:, None], d, yb, s)
    return a_b, amp_b[:, 0], c_b[:, 0]
