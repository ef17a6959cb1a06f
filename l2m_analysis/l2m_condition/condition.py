"""The L²M condition as a number: the length beyond which a model's history state can no
longer hold the bipartite MI of the data (Theorems 5.2 and 5.4).

Theorem 5.2 bounds the bipartite MI a model can capture at ℓ = L/2 by its history state:
    I^{BP,q}_{L/2;L} ≤ C · dim(z_{L/2}) + log M                                   (Eq. 11)
and the data's I^BP_{L/2;L} ≈ A · L^β (the fitted power law, ratio L/ℓ = 2). The crossing
length L* is the smallest L with A · L^β > C · dim(z_{L/2}) + log M: beyond it the model cannot
be MI-capable (Definition 5.3) at that size. Constants we assume, stated in every table:
* C, nats per state dimension. The discrete-state proof gives C ≤ bits per number · ln 2:
  32 ln 2 = 22.18 nats for FP32 (the paper trains in FP32) — a hard ceiling; C = 1 nat per
  dimension is a rough "effective" capacity. Both are shown by default.
* log M: ln(vocabulary size) for text; for continuous tokens of c numbers, C · c (the same
  per-number bound applied to the current token x_ℓ).
For GPT-2 dim(z_{L/2}) grows ∝ L, faster than L^β for β < 1: no crossing ("never"). For Mamba
and Mamba2 dim(z) is constant D and L* = ((C·D + log M)/A)^{1/β}.

L* is a bound, not a prediction: it moves with the unknown C, and a model may fail well before
it. For the Gaussian families the bound has an exact counterpart without C: the most MI any
linear summary of D numbers of the past keeps about the future, −½ Σ_{k≤D} log(1 − ρ_k²) over
the canonical correlations ρ_k (``gaussian.capacity``; column ``linear_capacity``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from l2m_analysis.gaussian.capacity import (
    CAPACITY_MAX_LAYERS,
    canonical_correlations,
    canonical_information,
    linear_summary_mi,
)
from l2m_analysis.gaussian.exact import covariance_dense
from l2m_analysis.l2m_condition.history_state import history_dim
from l2m_analysis.models.presets import ModelPreset

FP32_NATS_PER_DIM = 32 * math.log(2)
DEFAULT_NATS_PER_DIM = (FP32_NATS_PER_DIM, 1.0)
MAX_LOG2_LENGTH = 200  # search L up to 2^200 tokens


@dataclass(frozen=True)
class MILaw:
    """I^BP_{L/2;L} = amplitude · L^beta, nats per token of ``copies`` numbers (1 for text)."""

    label: str  # e.g. "gaussian_subvolume ×64 (exact)"
    data: str  # gaussian | text
    amplitude: float
    beta: float
    copies: int = 1
    vocab_size: int | None = None  # text
    fitted_range: tuple[float, float] | None = None  # L range of the fitted points
    family: str | None = None  # the Gaussian family (gaussian.construction.FAMILIES)

    def value(self, length: float) -> float:
        return self.amplitude * length**self.beta


def token_term(law: MILaw, nats_per_dim: float, vocab_size: int) -> float:
    """The log M of Eq. (11) for the law's tokens."""
    if law.data == "text":
        return math.log(law.vocab_size or vocab_size)
    return nats_per_dim * law.copies


def capacity(preset: ModelPreset, length: float, nats_per_dim: float, log_m: float) -> float:
    """C · dim(z_{L/2}) + log M, nats (Theorem 5.2 at ℓ = L/2; n_past = L/2)."""
    return nats_per_dim * history_dim(preset, max(1, int(length // 2))) + log_m


def crossing_length(
    preset: ModelPreset, law: MILaw, nats_per_dim: float, vocab_size: int = 50432
) -> float | None:
    """Smallest L (tokens) where the law's I^BP exceeds the model's capacity; None: never
    (up to 2^MAX_LOG2_LENGTH)."""
    log_m = token_term(law, nats_per_dim, vocab_size)
    if preset.arch != "gpt2":  # constant state: closed form
        return ((nats_per_dim * history_dim(preset, 1) + log_m) / law.amplitude) ** (1 / law.beta)

    def exceeds(log2_l: float) -> bool:
        return law.value(2.0**log2_l) > capacity(preset, 2.0**log2_l, nats_per_dim, log_m)

    grid = [k / 4 for k in range(4, 4 * MAX_LOG2_LENGTH + 1)]
    first = next((x for x in grid if exceeds(x)), None)
    if first is None:
        return None
    lo, hi = first - 0.25, first
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if exceeds(mid) else (mid, hi)
    return 2.0**hi


def needed_nats_per_dim(
    preset: ModelPreset, law: MILaw, length: int, vocab_size: int = 50432
) -> float:
    """The C at which Eq. (11) holds with equality at ``length``: the nats each history-state
    dimension must carry for the model to hold I^BP_{L/2;L} (larger = closer to failing)."""
    dim = history_dim(preset, max(1, length // 2))
    if law.data == "text":
        return max(0.0, law.value(length) - math.log(law.vocab_size or vocab_size)) / dim
    return law.value(length) / (dim + law.copies)


def l2m_rows(
    presets: list[ModelPreset],
    laws: list[MILaw],
    nats_per_dim: tuple[float, ...] = DEFAULT_NATS_PER_DIM,
    at_length: int = 4096,
    vocab_size: int = 50432,
) -> list[dict]:
    """One row per (law, model): dim(z_{L/2}) at ``at_length``, its growth per token, the law's
    I^BP there, the nats per dimension needed there, L* for each C in ``nats_per_dim`` (a bound:
    the L beyond which C·dim(z) + log M < A·L^β), and for Gaussian laws, at
    L_c = min(at_length, 4^CAPACITY_MAX_LAYERS) (column capacity_length), the exact I^BP and the
    linear capacity of dim(z_{L_c/2}) numbers (None for text)."""
    rows = []
    cap_length = min(at_length, 4**CAPACITY_MAX_LAYERS)
    for law in laws:
        rho = None if law.family is None else _canonical(law.family, cap_length)
        for p in presets:
            row = {
                "law": law.label, "beta": law.beta, "amplitude": law.amplitude, "model": p.name,
                "arch": p.arch, "state_growth_per_token": 2 * p.layers * p.hidden
                if p.arch == "gpt2" else 0,
                "dim_z_half": history_dim(p, at_length // 2), "at_length": at_length,
                "i_bp": law.value(at_length),
            }  # fmt: skip
            row["needed_nats_per_dim"] = needed_nats_per_dim(p, law, at_length, vocab_size)
            for c in nats_per_dim:
                row[f"crossing_C{c:.4g}"] = crossing_length(p, law, c, vocab_size)
            row["capacity_length"] = None if rho is None else cap_length
            row["exact_i_bp"] = None if rho is None else law.copies * float(
                canonical_information(rho).sum())  # fmt: skip
            row["linear_capacity"] = None if rho is None else linear_summary_mi(
                rho, history_dim(p, cap_length // 2), law.copies)  # fmt: skip
            rows.append(row)
    return rows


@functools.lru_cache(maxsize=8)
def _canonical(family: str, length: int) -> np.ndarray | None:
    """ρ_k of one copy of a Gaussian family at X = [0, L/2), Y = [L/2, L) of the sample of
    4^⌈log_4 L⌉ tokens (the whole sample when L is a power of 4, as the exact curve); None: L
    odd."""
    if length % 2:
        return None
    layers = max(1, math.ceil(math.log(length, 4) - 1e-12))
    return canonical_correlations(covariance_dense(family, layers), length // 2, length)


def widest_gaussian_laws(fits: pl.DataFrame) -> pl.DataFrame:
    """One fit per Gaussian family and estimator: the one over the widest range of L.

    The exact law of a family is fitted both on ``gaussian_mi``'s lengths (L = 4 … 65 536) and
    on the few lengths an oracle run scored; the narrow one adds nothing. fits: rows of
    ``queries/fitted_bipartite_laws.sql`` (family: NULL for text); text rows are all kept, in
    their order."""
    ranked = fits.with_row_index("_row").with_columns(_span=pl.col("x_max") / pl.col("x_min"))
    gaussian = pl.col("family").is_not_null()
    widest = (
        ranked.filter(gaussian)
        .sort("_span", descending=True, maintain_order=True)
        .unique(["family", "estimator"], keep="first", maintain_order=True)
    )
    kept = pl.concat([widest, ranked.filter(~gaussian)]).sort("_row")
    return kept.drop("_row", "_span")


def laws_from_fits(fits: pl.DataFrame, copies: int, vocab_size: int) -> list[MILaw]:
    """Fitted power laws of I^BP at ratio 2 (rows of ``queries/fitted_bipartite_laws.sql``:
    source, estimator, amplitude, exponent, x_min, x_max, model, copies, family) -> MILaws, one
    per Gaussian family and estimator (``widest_gaussian_laws``) and per text series. Gaussian
    laws are per token of their run's ``copies``; MI adds over independent copies, so they are
    rescaled to ``copies`` numbers."""
    laws = []
    for r in widest_gaussian_laws(fits).iter_rows(named=True):
        gaussian = r["family"] is not None
        scale = copies / r["copies"] if gaussian else 1.0
        label = f"{r['source']} {r['estimator']}"
        if not gaussian and r.get("model"):  # a weaker q underestimates β (Appendix A.VI)
            label += f" (q = {r['model']})"
        if gaussian and scale != 1:
            label = f"{r['source']}×{copies} {r['estimator']}"
        laws.append(MILaw(
            label, "gaussian" if gaussian else "text", r["amplitude"] * scale, r["exponent"],
            copies=copies if gaussian else 1, vocab_size=None if gaussian else vocab_size,
            fitted_range=(r["x_min"], r["x_max"]),
            family=r["family"].removeprefix("gaussian_") if gaussian else None,
        ))  # fmt: skip
    return laws
