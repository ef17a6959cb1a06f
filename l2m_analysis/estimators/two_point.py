"""Two-point mutual information I_d = H(X) + H(Y) − H(XY) of tokens d apart, in nats.

Entropies come from Grassberger's estimator (``estimators.entropy``). In the corpus the paper
takes Ĥ(X) = Ĥ(Y) from 1-gram counts, so the same counts may be passed for X and Y.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from l2m_analysis.errors import InputError
from l2m_analysis.estimators.entropy import EntropyEstimate, entropy_grassberger

STDERR_TRIANGLE = "triangle_bound"  # σ_X + σ_Y + σ_XY
STDERR_JOINT = "joint_delta"  # delta method on the identity-level joint table


@dataclass(frozen=True)
class TwoPointMI:
    """Two-point MI at one distance. value, stderr: nats. n: observations of the pair (X, Y).

    stderr_method: "triangle_bound" (from the three entropy stderrs) or "joint_delta" (from
    the identity-level joint table); see ``two_point_mi`` and ``mi_stderr_from_joint``.
    """

    distance: int
    value: float
    stderr: float
    n: int
    h_x: EntropyEstimate
    h_y: EntropyEstimate
    h_xy: EntropyEstimate
    stderr_method: str = STDERR_TRIANGLE


def two_point_mi(
    h_x: EntropyEstimate,
    h_y: EntropyEstimate,
    h_xy: EntropyEstimate,
    distance: int,
    *,
    stderr: float | None = None,
) -> TwoPointMI:
    """I_d = Ĥ(X) + Ĥ(Y) − Ĥ(XY) in nats from three entropy estimates.

    stderr: when not given, σ_X + σ_Y + σ_XY. By Minkowski's inequality this bounds the
    standard deviation of the sum whatever the (unknown, strong) correlations between the three
    estimates, so it is conservative: for nearly independent X, Y the true spread is far
    smaller (first-order fluctuations cancel). Pass ``stderr`` (e.g. ``mi_stderr_from_joint``)
    when the identity-level joint table is at hand; ``two_point_mi_from_counts`` does that.
    """
    distance = _check_distance(distance)
    value = h_x.value + h_y.value - h_xy.value  # Eq. (10), (A.16)
    method = STDERR_TRIANGLE
    if stderr is None:
        stderr = h_x.stderr + h_y.stderr + h_xy.stderr
    else:
        if not np.isfinite(stderr) or stderr < 0:
            raise InputError(f"stderr must be finite and >= 0, got {stderr}", "check its source")
        method = STDERR_JOINT
    return TwoPointMI(
        distance=distance,
        value=float(value),
        stderr=float(stderr),
        n=h_xy.n,
        h_x=h_x,
        h_y=h_y,
        h_xy=h_xy,
        stderr_method=method,
    )


def two_point_mi_from_counts(
    x_counts,
    y_counts,
    xy_counts,
    distance: int,
    *,
    x_multiplicity=None,
    y_multiplicity=None,
    xy_multiplicity=None,
) -> TwoPointMI:
    """Grassberger two-point MI (nats) from count tables.

    x_counts, y_counts: counts per token (or count-of-counts with ``*_multiplicity``); may be
    the same array twice (the paper's Ĥ(X) = Ĥ(Y) from 1-gram counts).
    xy_counts: counts per ordered pair, or count-of-counts with ``xy_multiplicity``, or a 2-D
    contingency table ``(K_x, K_y)``. Only the 2-D table identifies which pair is which, so only
    then is the stderr the joint delta-method one; otherwise it is the triangle bound.
    """
    h_x = entropy_grassberger(x_counts, x_multiplicity)
    h_y = entropy_grassberger(y_counts, y_multiplicity)
    h_xy = entropy_grassberger(xy_counts, xy_multiplicity)
    stderr = None
    if xy_multiplicity is None and np.ndim(xy_counts) == 2:
        stderr = mi_stderr_from_joint(xy_counts)
    return two_point_mi(h_x, h_y, h_xy, distance, stderr=stderr)


def mi_stderr_from_joint(joint) -> float:
    """Standard error (nats) of an MI estimate from a 2-D contingency table ``(K_x, K_y)``.

    First order (delta method for the plug-in MI): Var₁ = (Σ p_xy r_xy² − I²)/N with
    r_xy = log(p_xy / (p_x p_y)). It vanishes at independence, where the spread is second
    order: 2N·Î ~ χ² with (k_x − 1)(k_y − 1) degrees of freedom, Var₂ = (k_x−1)(k_y−1)/(2N²)
    (k = occupied rows/columns). We report sqrt(Var₁ + Var₂), valid at both ends.
    """
    table = np.asarray(joint)
    if table.ndim != 2:
        raise InputError(f"joint table must be 2-D, got shape {table.shape}", "pass (K_x, K_y)")
    if table.dtype.kind not in "iuf" or np.any(~np.isfinite(table)) or np.any(table < 0):
        raise InputError("joint table must hold finite non-negative counts", "check the counts")
    t = table.astype(np.float64)
    n_total = t.sum()
    if n_total <= 0:
        raise InputError("joint table is empty (N == 0)", "count some pairs first")
    p_xy = t / n_total
    p_x = p_xy.sum(axis=1, keepdims=True)  # (K_x, 1)
    p_y = p_xy.sum(axis=0, keepdims=True)  # (1, K_y)
    nz = p_xy > 0
    r = np.log(p_xy[nz] / (p_x @ p_y)[nz])
    mi = np.sum(p_xy[nz] * r)
    var1 = max(np.sum(p_xy[nz] * (r - mi) ** 2) / n_total, 0.0)
    k_x, k_y = int(np.sum(p_x > 0)), int(np.sum(p_y > 0))
    var2 = (k_x - 1) * (k_y - 1) / (2.0 * n_total**2)
    return float(np.sqrt(var1 + var2))


def _check_distance(distance) -> int:
    try:
        ok = not isinstance(distance, bool) and float(distance).is_integer() and distance >= 1
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(
            f"distance must be a positive integer, got {distance!r}",
            "pass the token separation d >= 1",
        )
    return int(distance)
