"""One-parameter profile-likelihood intervals and batched grid minimization (decay fits).

An interval at level 1 − alpha is {θ : profile(θ) ≤ thr} with thr = SSE_min·(1 + F(1 − alpha;
1, n − k)/(n − k)), the F-test of one fixed parameter against the k-parameter fit (the same
criterion as lmfit's ``f_compare``). A profile maps an array of θ to an array of sums of squares
of the same shape; the sums of squares are the fit's own (log space or chi-square).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import brentq
from scipy.stats import f as f_dist

Profile = Callable[[np.ndarray], np.ndarray]


def f_threshold(sse_min: float, n: int, alpha: float, k: int = 3) -> float:
    """The profile level that bounds the interval; a floor keeps exact data's interval non-empty."""
    return sse_min * (1.0 + f_dist.ppf(1.0 - alpha, 1, n - k) / (n - k)) + 1e-12 * n


def grid_min(
    fun: Profile, grid: np.ndarray, batch: tuple, passes: int = 6, values: np.ndarray | None = None
):
    """Minimize fun over a 1-D ``grid`` for a batch; fun: batch + (G,) -> batch + (G,).

    ``values``: fun on the grid (batch + (G,)) when the caller has a faster way to get them. The
    best grid point's bracket is zoomed ``passes`` times (11 points, 5x each). Returns the
    minimizer and its final bracket (lo, hi), each of shape batch.
    """
    if values is None:
        values = fun(np.broadcast_to(grid, batch + grid.shape))
    i = np.argmin(values, axis=-1)[..., None]
    lo, hi = grid[np.maximum(i - 1, 0)], grid[np.minimum(i + 1, grid.size - 1)]
    x = grid[i]
    for _ in range(passes):
        local = lo + (hi - lo) * np.linspace(0.0, 1.0, 11)  # batch + (11,)
        j = np.argmin(fun(local), axis=-1)[..., None]
        x = np.take_along_axis(local, j, -1)
        lo = np.take_along_axis(local, np.maximum(j - 1, 0), -1)
        hi = np.take_along_axis(local, np.minimum(j + 1, 10), -1)
    return x[..., 0], lo[..., 0], hi[..., 0]


def exponent_interval(profile: Profile, thr: float, a_hat: float, half: float):
    """Hull of {α : profile ≤ thr} on a grid around α̂ that widens (x3, up to 8 times) until both
    ends are rejected; each finite edge refined by Brent's method. An end still accepted at the
    widest grid is ±inf."""
    for _ in range(8):
        grid = a_hat + half * np.linspace(-1.0, 1.0, 201)
        sse = profile(grid)
        if sse[0] > thr and sse[-1] > thr:
            return hull(profile, grid, sse, thr)
        half *= 3.0
    lo, hi = hull(profile, grid, sse, thr)
    return (-np.inf if sse[0] <= thr else lo), (np.inf if sse[-1] <= thr else hi)


def hull(profile: Profile, grid: np.ndarray, sse: np.ndarray, thr: float) -> tuple[float, float]:
    """Hull of {grid : sse ≤ thr}, each inner edge found by Brent's method between the last
    accepted grid point and its rejected neighbour; an edge at the grid's end stays there."""
    ok = np.flatnonzero(sse <= thr)
    if ok.size == 0:  # only from rounding at the minimum: the best grid point
        ok = np.array([np.argmin(sse)])
    i, j = ok[0], ok[-1]

    def edge(inside: float, outside: float) -> float:
        f_in, f_out = (
            float(profile(np.array(inside))) - thr,
            float(profile(np.array(outside))) - thr,
        )
        if not (f_in <= 0.0 < f_out):  # grid rounding: keep the accepted point
            return float(inside)
        return float(
            brentq(lambda t: float(profile(np.array(t))) - thr, inside, outside, xtol=1e-12)
        )

    lo = grid[0] if i == 0 else edge(grid[i], grid[i - 1])
    hi = grid[-1] if j == grid.size - 1 else edge(grid[j], grid[j + 1])
    return float(lo), float(hi)


def curvature_se(profile: Profile, a_hat: float, sse_min: float, dof: int) -> float:
    """Rough standard error of α from the profile's curvature: √(2·s²/S''), s² = SSE_min/dof.

    Only sets the first grid of ``exponent_interval``; 0.5 when the profile is flat there."""
    h = 1e-4 * max(1.0, abs(a_hat))
    s = profile(np.array([a_hat - h, a_hat, a_hat + h]))
    curv = (s[0] - 2.0 * s[1] + s[2]) / h**2
    if not np.isfinite(curv) or curv <= 0.0:
        return 0.5
    return float(np.sqrt(2.0 * max(sse_min, 1e-300) / max(dof, 1) / curv))
