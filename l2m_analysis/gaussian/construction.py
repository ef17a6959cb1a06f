"""The two hierarchical Gaussian families of Appendix B: parameters and the layer recursion.

A sample of layer ``l`` has ``L = 4**l`` unit-variance Gaussian variables. Layer 0 is a single
standard normal (so layer 1 is ``Z = M X`` with four independent normals, Eq. B.20). Layer
``k ≥ 1`` is built from ``L_{k-1}`` rows ``X_i`` of four independent entries:

* ``subvolume`` family (Eq. B.21): three independent copies of layer ``k-1`` and one fresh noise,
  ``X_i = (Y_i^(1), Y_i^(2), Y_i^(3), W_i)``;
* ``log`` family (Eq. B.24): one copy and three fresh noises, ``X_i = (Y_i, W_i1, W_i2, W_i3)``.

Each row is mixed by ``M`` (Eq. B.19), the rows are flattened (Eq. B.22) into ``Z~``, and every
boundary pair ``(4i+3, 4i+4)`` gets a 2x2 coordinate transformation that sets its correlation to
a target (Eq. B.23). The noise count is exactly ``L`` at every layer, so ``Z = T ξ`` with a square
invertible ``T`` and ``Σ = T Tᵀ``.

The boundary rule: read literally, Eq. (B.23) targets ``(2/5)(c_L + c_R) + 1/5`` with
``c_L = c_R = -1/4`` (every two rows of ``M`` have inner product -1/4), i.e. correlation 0; the
``log`` family's bipartite MI then stays constant instead of growing as log L. The rules
offered (see docs/gaussian.md for the numerical comparison):

* ``magnitude`` (default): ``(2/5)(|c_L| + |c_R|) + 1/5 = 2/5``; the printed constants with the
  neighbours' correlation strengths. Reproduces I_BP ~ L^β (subvolume) and ~ log L (log).
* ``weighted_average``: ``(2/5)(c_L + c_R) + (1/5) c`` with ``c`` the pair's own correlation
  (weights 2/5, 2/5, 1/5 sum to one). Also reproduces both laws, with a smaller log slope.
* ``paper_literal``: ``(2/5)(c_L + c_R) + 1/5`` exactly as printed (= 0).
* ``none``: no boundary transformation (the pure tree of copies).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from l2m_analysis.errors import InputError

GAMMA = np.sqrt(5.0) / 4.0  # γ of Eq. (B.19)
RHO = 0.25  # ρ of Eq. (B.19)
# Eq. (B.19): the change-of-coordinate matrix; unit row norms, every two rows have product -1/4
MIX = np.array(
    [
        [GAMMA, GAMMA, GAMMA, RHO],
        [-GAMMA, GAMMA, -GAMMA, RHO],
        [-GAMMA, -GAMMA, GAMMA, RHO],
        [GAMMA, -GAMMA, -GAMMA, RHO],
    ]
)
MIX_INV = np.linalg.inv(MIX)
LOG_ABS_DET_MIX = float(np.linalg.slogdet(MIX)[1])

BOUNDARY_RULES = ("magnitude", "weighted_average", "paper_literal", "none")
DEFAULT_BOUNDARY_RULE = "magnitude"
MAX_LAYERS = 10  # L = 4^10 ≈ 10^6 variables; far beyond what any experiment needs


@dataclass(frozen=True)
class GaussianFamily:
    """One family of Appendix B. ``copy_columns``: the columns of a row ``X_i`` that hold copies
    of the previous layer (the other columns are fresh standard noise)."""

    name: str  # "subvolume" | "log"
    source: str  # the `source` written to mi_estimates: "gaussian_subvolume" | "gaussian_log"
    copy_columns: tuple[int, ...]

    @property
    def n_copies(self) -> int:
        return len(self.copy_columns)

    @property
    def noise_columns(self) -> tuple[int, ...]:
        return tuple(j for j in range(4) if j not in self.copy_columns)

    @property
    def copy_cross(self) -> np.ndarray:
        """P = Σ_{j copy} m_j m_jᵀ (4, 4): Cov(Z~_i, Z~_i') = Σ_prev[i,i']·P + δ_ii'·Q."""
        m = MIX[:, list(self.copy_columns)]
        return m @ m.T

    @property
    def noise_cross(self) -> np.ndarray:
        """Q = Σ_{j noise} m_j m_jᵀ (4, 4)."""
        m = MIX[:, list(self.noise_columns)]
        return m @ m.T


FAMILIES: dict[str, GaussianFamily] = {
    "subvolume": GaussianFamily("subvolume", "gaussian_subvolume", (0, 1, 2)),  # Eq. (B.21)
    "log": GaussianFamily("log", "gaussian_log", (0,)),  # Eq. (B.24)
}


def get_family(name: str | GaussianFamily) -> GaussianFamily:
    """The family called ``name`` ("subvolume" or "log"); InputError naming both otherwise."""
    if isinstance(name, GaussianFamily):
        return name
    if name not in FAMILIES:
        raise InputError(f"unknown Gaussian family {name!r}", f"use one of: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def check_layers(layers: int) -> int:
    """Validate the number of layers l (L = 4**l); returns it as int."""
    if not isinstance(layers, int | np.integer) or not 0 <= int(layers) <= MAX_LAYERS:
        raise InputError(
            f"layers must be an integer in [0, {MAX_LAYERS}], got {layers!r}",
            "pass the number of layers l of the family (sequence length L = 4**l), e.g. 4",
        )
    return int(layers)


def check_boundary_rule(rule: str) -> str:
    if rule not in BOUNDARY_RULES:
        raise InputError(
            f"unknown boundary rule {rule!r}",
            f"use one of: {', '.join(BOUNDARY_RULES)} (see docs/gaussian.md)",
        )
    return rule


def family_source(family: str | GaussianFamily, copies: int = 1) -> str:
    """The `source` name of a family in the warehouse; ``_x{copies}`` when values are per token
    of ``copies`` stacked independent copies (Eq. E.34), so they are never mixed up."""
    base = get_family(family).source
    return base if copies == 1 else f"{base}_x{copies}"


def sequence_length(layers: int) -> int:
    return 4 ** check_layers(layers)


# Within-row correlations of Z~ are (M Mᵀ)[k, k'] = -1/4 in both families: c_L and c_R of (B.23).
_ROW_CORR = MIX @ MIX.T
NEIGHBOUR_LEFT = float(_ROW_CORR[2, 3])  # corr(Z_{i,3}, Z_{i,4}) in the paper's 1-based names
NEIGHBOUR_RIGHT = float(_ROW_CORR[0, 1])  # corr(Z_{i+1,1}, Z_{i+1,2})


def boundary_target(rule: str, current: np.ndarray) -> np.ndarray:
    """Eq. (B.23): the correlation each boundary pair is set to, given its current one."""
    c_l, c_r = NEIGHBOUR_LEFT, NEIGHBOUR_RIGHT
    current = np.asarray(current, dtype=float)
    if rule == "magnitude":
        return np.full_like(current, 0.4 * (abs(c_l) + abs(c_r)) + 0.2)
    if rule == "weighted_average":
        return 0.4 * (c_l + c_r) + 0.2 * current
    if rule == "paper_literal":
        return np.full_like(current, 0.4 * (c_l + c_r) + 0.2)
    if rule == "none":
        return current.copy()
    raise InputError(f"unknown boundary rule {rule!r}", f"use one of: {', '.join(BOUNDARY_RULES)}")


def pair_transform(current: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The symmetric 2x2 map [[α, β], [β, α]] = C'^(1/2) C^(-1/2) taking two unit-variance
    variables with correlation ``current`` to unit variances and correlation ``target``.

    It is the unique symmetric positive-definite such map (C and C' share eigenvectors (1, ±1)).
    Returns (α, β), each shaped like ``current``.
    """
    e_plus = np.sqrt((1.0 + target) / (1.0 + current))
    e_minus = np.sqrt((1.0 - target) / (1.0 - current))
    return 0.5 * (e_plus + e_minus), 0.5 * (e_plus - e_minus)


def pair_params_from_superdiagonal(
    family: GaussianFamily, rule: str, prev_superdiagonal: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boundary-pair parameters of a layer from the previous layer's Σ[i, i+1] (L_prev - 1,).

    The pair ``(4i+3, 4i+4)`` has pre-transform correlation Σ_prev[i, i+1]·P[3, 0] (rows i and
    i+1 share only the copies). Returns (current, α, β), each (L_prev - 1,).
    """
    current = np.asarray(prev_superdiagonal, dtype=float) * family.copy_cross[3, 0]
    alpha, beta = pair_transform(current, boundary_target(rule, current))
    return current, alpha, beta


def pair_weights(
    alpha: np.ndarray, beta: np.ndarray, length: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per position p of a layer of ``length`` variables: Z_p = a_p Z~_p + b_p Z~_partner(p).

    Returns (a, b, partner), each (length,); positions outside any pair get a=1, b=0,
    partner=p.
    """
    a = np.ones(length)
    b = np.zeros(length)
    partner = np.arange(length)
    left = 4 * np.arange(alpha.size) + 3
    right = left + 1
    a[left], b[left], partner[left] = alpha, beta, right
    a[right], b[right], partner[right] = alpha, beta, left
    return a, b, partner
