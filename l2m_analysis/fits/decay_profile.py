"""Profile-likelihood intervals of the decay fit I_d = A·d^(−α) + C, 0 ≤ C < min I (Eq. A.18).

The profile of α is min over (A, C) of the fit's sum of squares at fixed α; the profile of C is
min over (A, α) at fixed C. An interval is {θ : profile(θ) ≤ SSE_min·(1 + F(1−alpha; 1, n−3)
/(n−3))}. Which sum of squares depends on the noise model:

* with standard errors σ: Σ((I − C − A·d^−α)/σ)², the chi-square of the data themselves. (Log
  space with delta-method weights approximates it only near the best fit: far from it the
  weights (A·d^−α/σ)² vanish and a wrong α looks acceptable.)
* without: Σ(log(I − C) + α·log d − log A)², the paper's log-space fit (noise ∝ I − C).

A is profiled in closed form; C (a fraction of min I) and α by a zoomed grid search.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.stats import f as f_dist

# Fractions f = C / min(I) searched for the decay offset: dense over [0, 0.99], then
# geometrically closer to (never at) 1, where log(I_min − C) diverges.
F_GRID = np.unique(np.concatenate([np.linspace(0.0, 0.99, 100), 1.0 - np.logspace(-2, -9, 36)]))


def profile_sse(alpha, c, d: np.ndarray, y: np.ndarray, s: np.ndarray | None) -> np.ndarray:
    """Sum of squares minimized over A ≥ 0 at each (α, C); alpha, c broadcast -> their shape.

    d, y, s: shape (n,); I and σ in nats."""
    alpha, c = np.asarray(alpha, dtype=float)[..., None], np.asarray(c, dtype=float)[..., None]
    if s is None:  # log space: the best log A is the mean residual
        r = np.log(y - c) + alpha * np.log(d)
        return ((r - r.mean(-1, keepdims=True)) ** 2).sum(-1)
    with np.errstate(over="ignore"):
        g = d**-alpha
    w, z = 1.0 / s**2, y - c
    wgz, wgg, wzz = (w * g * z).sum(-1), (w * g * g).sum(-1), (w * z * z).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        gain = np.where((wgz > 0) & (wgg > 0), wgz**2 / wgg, 0.0)  # A = wgz / wgg when > 0
        sse = wzz - gain
    return np.where(np.isfinite(sse), sse, np.inf)  # an absurd α (d^−α overflows) fits nothing


def minimize_fraction(sse_of: Callable, batch: tuple, passes: int = 6):
    """Minimize sse_of(f) over f in [0, 1) for a batch of curves; f: batch + (G,) -> batch + (G,).

    Grid ``F_GRID``, then ``passes`` zooms of the bracket (5x each). Returns f, lo, hi (batch).
    """
    grid = np.broadcast_to(F_GRID, batch + F_GRID.shape)
    i = np.argmin(sse_of(grid), axis=-1)[..., None]
    lo, hi = F_GRID[np.maximum(i - 1, 0)], F_GRID[np.minimum(i + 1, F_GRID.size - 1)]
    for _ in range(passes):
        local = lo + (hi - lo) * np.linspace(0.0, 1.0, 11)  # batch + (11,)
        j = np.argmin(sse_of(local), axis=-1)[..., None]
        f = np.take_along_axis(local, j, -1)
        lo = np.take_along_axis(local, np.maximum(j - 1, 0), -1)
        hi = np.take_along_axis(local, np.minimum(j + 1, 10), -1)
    return f[..., 0], lo[..., 0], hi[..., 0]


def profile_intervals(
    d: np.ndarray, y: np.ndarray, s: np.ndarray | None, a_hat: float, c_hat: float,
    a_se: float, alpha: float = 0.05,
) -> tuple[float, float, float, float]:  # fmt: skip
    """(α_lo, α_hi, C_lo, C_hi) at level 1 − alpha around the fit (a_hat, c_hat); a_se sets
    the first α grid. An interval open at an end is ±inf there (α) or the range end (C)."""
    n, ymin = y.size, y.min()

    def alpha_profile(al: np.ndarray) -> np.ndarray:  # min over C (and A), shape of al
        f, _, _ = minimize_fraction(
            lambda f: profile_sse(al[..., None], f * ymin, d, y, s), al.shape
        )
        return profile_sse(al, f * ymin, d, y, s)

    half = max(4.0 * a_se, 1e-3)
    best = minimize_scalar(
        lambda a: float(alpha_profile(np.array(a))), bracket=(a_hat - half, a_hat + half)
    )
    sse_min = min(float(best.fun), float(profile_sse(a_hat, c_hat, d, y, s)))
    # floor: noise-free data (SSE ~ 0) still gets a (tiny) non-empty interval
    thr = sse_min * (1.0 + f_dist.ppf(1.0 - alpha, 1, n - 3) / (n - 3)) + 1e-12 * n
    a_lo, a_hi = _exponent_interval(alpha_profile, thr, a_hat, half)
    c_lo, c_hi = _offset_interval(d, y, s, thr, c_hat, a_lo, a_hi, a_hat)
    return a_lo, a_hi, c_lo, c_hi


def _exponent_interval(alpha_profile: Callable, thr: float, a_hat: float, half: float):
    """Hull of {α : profile ≤ thr} on a grid around α̂ that widens until both ends fail."""
    for _ in range(8):
        al = a_hat + half * np.linspace(-1.0, 1.0, 201)
        sse = alpha_profile(al)
        if sse[0] > thr and sse[-1] > thr:
            return accepted_range(al, sse, thr)
        half *= 3.0
    lo, hi = accepted_range(al, sse, thr)
    return (-np.inf if sse[0] <= thr else lo), (np.inf if sse[-1] <= thr else hi)


def _offset_interval(d, y, s, thr, c_hat, a_lo, a_hi, a_hat) -> tuple[float, float]:
    """Hull of {C : min over α of the sum of squares ≤ thr}, α searched over the α interval
    (widened), each edge refined by Brent's method between its grid neighbours."""
    ymin = y.min()
    lo = a_lo if np.isfinite(a_lo) else a_hat - 50.0
    hi = a_hi if np.isfinite(a_hi) else a_hat + 50.0
    lo, hi = lo - 0.5 * (hi - lo), hi + 0.5 * (hi - lo)

    def c_profile(c: np.ndarray) -> np.ndarray:  # min over α (and A), shape of c
        def sse_of(f):
            return profile_sse(lo + (hi - lo) * f, c[..., None], d, y, s)

        f, _, _ = minimize_fraction(sse_of, c.shape)
        return profile_sse(lo + (hi - lo) * f, c, d, y, s)

    grid = np.unique(np.concatenate([np.linspace(0.0, 1.0, 401)[:-1], F_GRID, [c_hat / ymin]]))
    grid = grid * ymin
    ok = np.flatnonzero(c_profile(grid) <= thr)
    if ok.size == 0:  # only from rounding at the minimum
        return c_hat, c_hat
    i, j = ok[0], ok[-1]

    def edge(inside, outside):
        return brentq(lambda c: float(c_profile(np.array(c))) - thr, inside, outside, xtol=1e-15)

    c_lo = grid[0] if i == 0 else edge(grid[i], grid[i - 1])
    c_hi = grid[-1] if j == grid.size - 1 else edge(grid[j], grid[j + 1])
    return float(c_lo), float(c_hi)


def accepted_range(grid, sse, thr) -> tuple[float, float]:
    """Hull of {grid : sse <= thr} with edges linearly interpolated."""
    ok = np.flatnonzero(sse <= thr)
    if ok.size == 0:  # only from rounding at the minimum: the best grid point
        ok = np.array([np.argmin(sse)])
    i, j = ok[0], ok[-1]

    def edge(a, b):  # a accepted, b rejected neighbour
        return grid[a] + (grid[b] - grid[a]) * (thr - sse[a]) / (sse[b] - sse[a])

    lo = grid[0] if i == 0 else edge(i, i - 1)
    hi = grid[-1] if j == grid.size - 1 else edge(j, j + 1)
    return float(lo), float(hi)
