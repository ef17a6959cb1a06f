"""What every fit shares: input checks, the ``fits``-row base class, JSON-safe scalars.

``FitBase`` holds the fields common to every result and maps a result onto the columns of the
``fits`` rows (``fits.series.FITS_SCHEMA``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from l2m_analysis.errors import InputError

ROW_COLUMNS = ("exponent", "exponent_lo", "exponent_hi", "amplitude", "offset_c")
SHARED_COLUMNS = ("r2", "aic", "bic", "n_points", "x_min", "x_max")
# The fewest points each law accepts (decay: three parameters and one degree of freedom).
MIN_POINTS = {"power": 3, "log": 3, "decay": 4}


@dataclass(frozen=True)
class FitBase:
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
        row |= {c: json_scalar(getattr(self, self._COLUMNS.get(c, ""), None)) for c in ROW_COLUMNS}
        row |= {c: json_scalar(getattr(self, c)) for c in SHARED_COLUMNS}
        used = set(row) | set(self._COLUMNS.values()) | {"result"}
        row["detail"] = {
            f.name: json_scalar(getattr(self, f.name)) for f in fields(self) if f.name not in used
        }
        return row


def base_fields(x, r2, aic, bic, alpha, s) -> dict:
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


def check_curve(x, y, stderr, min_points: int, positive_y: str | None):
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


def gaussian_ic(ssr: float, w: np.ndarray, k: int) -> tuple[float, float]:
    """AIC, BIC of a (weighted) Gaussian least-squares fit; statsmodels' llf and k convention.

    ssr: Σ w·residual²; w (n,): the weights; residual scale estimated (not counted in k)."""
    n = w.size
    if not np.isfinite(ssr):
        return np.inf, np.inf
    llf = -n / 2 * (np.log(2 * np.pi * max(ssr, 1e-300) / n) + 1) + 0.5 * np.sum(np.log(w))
    return float(2 * k - 2 * llf), float(k * np.log(n) - 2 * llf)


def json_scalar(v):
    """JSON-safe scalar: numpy -> Python, non-finite -> None."""
    if v is None or isinstance(v, (bool, str, int)):
        return v
    v = float(v)
    return v if np.isfinite(v) else None
