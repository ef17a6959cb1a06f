"""The L²M condition (Section 5) as a report: history-state sizes against the fitted I^BP ~ L^β.

  1. dim(z_ℓ) of every model preset (Definition 5.1, Appendix C): GPT-2's key-value cache grows
     as 2·n_layer·d_model per token; Mamba's and Mamba2's SSM + conv states are constant —
     computed from the config and checked against the cache tensors transformers returns;
  2. reads the fitted bipartite power laws I^BP_{L/2;L} = A·L^β from the warehouse (fits, law
     power, ratio 2; default estimators exact and direct, series whose preferred law is power:
     the exact Gaussian β of pipelines.gaussian_mi and the text β of the scoring runs);
     Gaussian laws of one copy are scaled to tokens of --copies copies (MI adds over copies);
  3. prints, per law and model, dim(z_{L/2}) at --at-length, the nats per state dimension
     needed there, and the bound L* beyond which Theorem 5.2's ceiling C·dim(z_{L/2}) + log M
     falls below A·L^β (Theorem 5.4), for each C of --nats-per-dim: a bound, not a prediction
     (it moves with the unknown C, and a model may fail long before it);
  4. for Gaussian laws, beside C·dim(z): the exact I_BP and the linear capacity, the most MI a
     linear summary of dim(z_{L/2}) numbers of the past can carry, −½ Σ_{k≤D} log(1 − ρ_k²)
     over the canonical correlations ρ_k (gaussian.capacity), at L = min(--at-length, 1024)
     (the dense covariance; larger L takes minutes).
Nothing is written to the warehouse.

Examples:
  python -m pipelines.l2m_condition
  python -m pipelines.l2m_condition --models gpt2-125m mamba-130m --nats-per-dim 22.18 1 0.1
  python -m pipelines.l2m_condition --json
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import polars as pl
from rich.console import Console
from rich.table import Table

from l2m_analysis.cli import make_parser, positive_int, run_cli
from l2m_analysis.cli import table as cli_table
from l2m_analysis.errors import InputError, WarehouseError
from l2m_analysis.gaussian.capacity import CAPACITY_MAX_LAYERS
from l2m_analysis.l2m_condition.condition import (
    DEFAULT_NATS_PER_DIM,
    MILaw,
    l2m_rows,
    laws_from_fits,
)
from l2m_analysis.l2m_condition.history_state import (
    cache_elements,
    history_dim,
    measured_cache_elements,
)
from l2m_analysis.models.build import configure_torch
from l2m_analysis.models.presets import PRESETS, get_preset
from l2m_analysis.training.config import NEOX_VOCAB
from l2m_analysis.warehouse import Warehouse

CHECK_LENGTHS = (1, 16)
FIT_HINT = (
    "python -m pipelines.gaussian_mi (exact Gaussian) and python -m pipelines.fit_exponents, "
    "or python -m pipelines.run_all"
)


def build_parser():
    parser = make_parser("pipelines.l2m_condition", __doc__, run_id=False)
    parser.add_argument("--models", nargs="+", default=list(PRESETS), help="model presets")
    parser.add_argument(
        "--nats-per-dim", nargs="+", type=float, default=list(DEFAULT_NATS_PER_DIM),
        help="C of Eq. (11), nats per state dimension (default 22.18 = 32 ln 2 for FP32, and 1)",
    )  # fmt: skip
    parser.add_argument(
        "--at-length", type=positive_int, default=4096, help="L of the dim(z) column"
    )
    parser.add_argument(
        "--copies", type=positive_int, default=64, help="numbers per Gaussian token (Eq. E.34)"
    )
    parser.add_argument("--source", nargs="+", default=None, help="only these fitted sources")
    parser.add_argument(
        "--estimators", nargs="+", default=["exact", "direct"], help="fitted estimators to use"
    )
    parser.add_argument("--vocab-size", type=positive_int, default=NEOX_VOCAB, help="text M")
    parser.add_argument("--no-check", action="store_true", help="skip the cache-tensor check")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    return parser


def fitted_laws(wh: Warehouse, args) -> list[MILaw]:
    """Power-law fits of I^BP at ratio 2 whose preferred law is power, as MILaws."""
    fits = wh.query_file("fitted_bipartite_laws")
    fits = fits.filter(pl.col("estimator").is_in(args.estimators))
    if args.source:
        fits = fits.filter(pl.col("source").is_in(args.source))
    laws = laws_from_fits(fits, args.copies, args.vocab_size)
    if not laws:
        raise WarehouseError(f"no fitted bipartite power law (ratio 2) in {wh.path}", FIT_HINT)
    return laws


def state_table(presets, at_length: int, check: bool) -> Table:
    table = cli_table(
        "History state dim(z_ℓ) (Definition 5.1, Appendix C), numbers",
        [(c, "left" if c in ("model", "arch") else "right")
         for c in ["model", "arch", "+/token", "ℓ=1", f"ℓ={at_length // 2}", "cache",
                   "checked"]],
    )  # fmt: skip
    for p in presets:
        checked = "-"
        if check:
            layers = None if p.name.endswith("-tiny") else 1
            for n in CHECK_LENGTHS:
                measured = measured_cache_elements(p, n, layers=layers)
                if measured != cache_elements(p, n):
                    raise InputError(
                        f"{p.name}: transformers' cache holds {measured} numbers after {n} "
                        f"tokens, the formula says {cache_elements(p, n)}",
                        "the cache layout changed: update l2m_condition/history_state.py",
                    )
            checked = "✓ ℓ=" + ",".join(map(str, CHECK_LENGTHS))
        growth = _n(2 * p.layers * p.hidden) if p.arch == "gpt2" else "0"
        table.add_row(p.name, p.arch, growth, _n(history_dim(p, 1)),
                      _n(history_dim(p, at_length // 2)), _n(cache_elements(p, at_length // 2)),
                      checked)  # fmt: skip
    return table


def _n(value: float) -> str:
    """A count in at most 8 characters: 12,345 or 3.77e+07."""
    return f"{value:,}" if value < 1e6 else f"{value:.3g}"


def _nats(value) -> str:
    return "-" if value is None else f"{value:.4g}"


def _length(value) -> str:
    return "never" if value is None else f"{value:.3g}"


def condition_tables(rows: list[dict], nats_per_dim: list[float], at_length: int) -> list[Table]:
    """One table per fitted law: for each model, where dim(z_{L/2}) stops keeping up."""
    cap = min(at_length, 4**CAPACITY_MAX_LAYERS)
    columns = ["model", "I_BP", "dim(z_L/2)", "nats/dim", f"linear cap. L={cap}",
               f"exact I_BP L={cap}"]  # fmt: skip
    columns += [f"L* bound (C={c:.4g})" for c in nats_per_dim]
    tables = []
    for law in dict.fromkeys(r["law"] for r in rows):
        table = cli_table(
            f"L²M condition for {law} (I_BP, dim(z_L/2) and the nats per dimension they need "
            f"at L = {at_length}; linear cap.: the most MI a linear summary of dim(z_L/2) "
            "numbers can carry; L* bound: beyond it C·dim(z) + log M < A·L^β)",
            [(c, "left" if c == "model" else "right") for c in columns],
        )
        for r in (r for r in rows if r["law"] == law):
            table.add_row(
                r["model"], f"{r['i_bp']:.4g}", _n(r["dim_z_half"]),
                f"{r['needed_nats_per_dim']:.3g}", _nats(r["linear_capacity"]),
                _nats(r["exact_i_bp"]),
                *[_length(r[f"crossing_C{c:.4g}"]) for c in nats_per_dim],
            )  # fmt: skip
        tables.append(table)
    return tables


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_torch(1)
    presets = [get_preset(name) for name in args.models]
    with Warehouse.open(args.warehouse, create=False) as wh:
        laws = fitted_laws(wh, args)
    rows = l2m_rows(presets, laws, tuple(args.nats_per_dim), args.at_length, args.vocab_size)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    console = Console(highlight=False)
    console.print(state_table(presets, args.at_length, not args.no_check))
    for table in condition_tables(rows, args.nats_per_dim, args.at_length):
        console.print(table)
    for law in laws:
        low, high = law.fitted_range or (float("nan"), float("nan"))
        console.print(
            f"law {law.label}: I_BP(L/2; L) = {law.amplitude:.4g} · L^{law.beta:.4f} nats per "
            f"token, fitted on L = {low:g} .. {high:g}"
        )
    console.print(
        "Constants: Theorem 5.2 at ℓ = L/2, I ≤ C·dim(z_L/2) + log M; C = 22.18 nats = 32 ln 2 "
        "(FP32 numbers, the proof's ceiling) and C = 1; log M = ln(vocabulary) for text, C × "
        f"{args.copies} for Gaussian tokens. 'never': the state grows ∝ L, faster than L^β "
        "(β < 1). 'nats/dim needed': C at which the bound is tight at L = "
        f"{args.at_length}. L* is where that bound is crossed: a model can fail before it, and "
        "it moves with C. 'linear cap.' needs no C: the exact MI the best linear summary of "
        "dim(z) numbers keeps (Gaussian laws; less than exact I_BP: no linear state of that "
        "size holds the law's MI)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
