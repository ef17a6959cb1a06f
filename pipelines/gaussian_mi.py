"""Exact bipartite and two-point MI of the Gaussian families of Appendix B (Fig. 3), in nats.

For each family (subvolume: I_BP ~ L^β; log: I_BP ~ log L) and L = 4^l, l = 1..--layers, writes
to mi_estimates (run kind gaussian_exact):
  bipartite  exact        whole sample split at ℓ = round(L/ratio), ratios --ratios
  bipartite  exact_vclub  what vCLUB (Eq. 7) converges to with q = p (≥ I_BP), l <= --vclub-layers
  two_point  exact        the pair at maximum separation, distance d = L − 1 (Fig. 3b)
  two_point  exact_pair_average   mean over all pairs at distance d = 1, 4, 16, ..., L/4 of the
                          longest sample
and the entropy rate H(Z)/L to entropies (quantity entropy_rate, n = L). Values are per token of
--copies stacked copies (default 1; the paper's models see 64, i.e. 64 × these values; the source
is then gaussian_<family>_x64). Rerunning replaces the run's rows. See docs/gaussian.md.

Examples:
  python -m pipelines.gaussian_mi                       # both families, l = 1..8 (L ≤ 65536)
  python -m pipelines.gaussian_mi --layers 6 --ratios 2 --families subvolume
  python -m pipelines.gaussian_mi --copies 64 --boundary-rule weighted_average
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Sequence

import numpy as np
import polars as pl
from rich.console import Console
from rich.progress import Progress

from l2m_analysis.cli import make_parser, run_cli
from l2m_analysis.cli import table as cli_table
from l2m_analysis.errors import InputError
from l2m_analysis.estimators.bipartite import RATIOS
from l2m_analysis.gaussian import curves
from l2m_analysis.gaussian.construction import (
    BOUNDARY_RULES,
    DEFAULT_BOUNDARY_RULE,
    FAMILIES,
    MAX_LAYERS,
    family_source,
)
from l2m_analysis.warehouse import Warehouse

DEFAULT_RUN_ID = "gaussian-exact"
DEFAULTS = {"layers": 8, "ratios": list(RATIOS), "copies": 1, "vclub_layers": 5}


def build_parser():
    parser = make_parser("pipelines.gaussian_mi", __doc__)
    parser.add_argument(
        "--layers",
        type=int,
        default=DEFAULTS["layers"],
        help="largest number of layers l (L = 4^l); default 8 (L = 65536)",
    )
    parser.add_argument(
        "--families",
        nargs="+",
        choices=list(FAMILIES),
        default=list(FAMILIES),
        help="families to compute (default: both)",
    )
    parser.add_argument(
        "--ratios",
        nargs="+",
        type=int,
        default=DEFAULTS["ratios"],
        help="ratios L/ℓ of the bipartite split (default 2 3 4)",
    )
    parser.add_argument(
        "--copies",
        type=int,
        default=DEFAULTS["copies"],
        help="values per token of this many stacked copies (Eq. E.34; default 1)",
    )
    parser.add_argument(
        "--boundary-rule",
        choices=BOUNDARY_RULES,
        default=DEFAULT_BOUNDARY_RULE,
        help="reading of Eq. (B.23) (default magnitude; see docs/gaussian.md)",
    )
    parser.add_argument(
        "--vclub-layers",
        type=int,
        default=DEFAULTS["vclub_layers"],
        help="exact_vclub rows up to this l (dense method; 0: none; default 5)",
    )
    parser.add_argument(
        "--distances",
        nargs="+",
        type=int,
        default=None,
        help="distances d of the exact_pair_average rows (default 1 4 16 ... L/4)",
    )
    return parser


def run_config(args) -> dict:
    return {
        "layers": args.layers,
        "families": sorted(args.families),
        "ratios": sorted(args.ratios),
        "copies": args.copies,
        "boundary_rule": args.boundary_rule,
        "vclub_layers": args.vclub_layers,
        "distances": args.distances,
    }


def default_run_id(config: dict) -> str:
    """``gaussian-exact`` for the default options, else ``gaussian-exact-<hash of options>``."""
    default = {
        **DEFAULTS,
        "families": sorted(FAMILIES),
        "boundary_rule": DEFAULT_BOUNDARY_RULE,
        "distances": None,
    }
    if config == {k: default[k] for k in config}:
        return DEFAULT_RUN_ID
    digest = hashlib.sha1(json.dumps(config, sort_keys=True).encode()).hexdigest()[:8]
    return f"{DEFAULT_RUN_ID}-{digest}"


def check_args(args) -> None:
    if not 1 <= args.layers <= MAX_LAYERS:
        raise InputError(
            f"--layers must be in [1, {MAX_LAYERS}], got {args.layers}",
            "use e.g. --layers 8 (L = 65536)",
        )
    if args.copies < 1:
        raise InputError(f"--copies must be >= 1, got {args.copies}", "use 1 or 64")
    if any(r < 2 for r in args.ratios):
        raise InputError(f"--ratios must be >= 2, got {args.ratios}", "use e.g. --ratios 2 3 4")
    if args.distances and any(not 1 <= d < 4**args.layers for d in args.distances):
        raise InputError(
            f"--distances must be in [1, {4**args.layers - 1}], got {args.distances}",
            "two-point MI needs two positions inside a sample of L = 4^layers",
        )
    if not 0 <= args.vclub_layers <= 6:
        raise InputError(
            f"--vclub-layers must be in [0, 6], got {args.vclub_layers}",
            "the vCLUB limit uses the dense covariance (L <= 4096)",
        )


def family_frames(family: str, args, progress: Progress, task) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All mi_estimates rows and the entropies rows of one family."""
    layers = list(range(1, args.layers + 1))
    opts = {"boundary_rule": args.boundary_rule, "copies": args.copies}
    parts = []
    steps = [
        ("bipartite", lambda: curves.bipartite_curve(family, layers, args.ratios, **opts)),
        ("two-point", lambda: curves.two_point_max_separation(family, layers, **opts)),
        (
            "pair average",
            lambda: curves.two_point_pair_average(family, args.layers, args.distances, **opts),
        ),
        (
            "vCLUB limit",
            lambda: curves.vclub_bound_curve(
                family, layers[: args.vclub_layers], args.ratios, **opts
            ),
        ),
    ]
    for name, compute in steps:
        progress.update(task, description=f"{family}: {name}")
        if name != "vCLUB limit" or args.vclub_layers > 0:
            parts.append(compute())
        progress.advance(task)
    progress.update(task, description=f"{family}: entropy rate")
    entropy = curves.entropy_rates(family, layers, **opts)
    progress.advance(task)
    return pl.concat(parts), entropy


def exact_partitions(run_id: str, source: str) -> list[dict]:
    """The mi_estimates partitions one family's computation recomputes."""
    kinds = [("bipartite", "exact"), ("bipartite", "exact_vclub"), ("two_point", "exact"),
             ("two_point", "exact_pair_average")]  # fmt: skip
    return [{"run_id": run_id, "source": source, "quantity": q, "estimator": e} for q, e in kinds]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    check_args(args)
    config = run_config(args)
    started = time.perf_counter()
    console = Console()
    with Warehouse.open(args.warehouse) as wh:
        sources = [family_source(f, args.copies) for f in args.families]
        run_id = wh.start_run(
            "gaussian_exact",
            run_id=args.run_id or default_run_id(config),
            dataset=",".join(sources),
            config=config,
        )
        written = []
        with Progress(console=console) as progress:
            task = progress.add_task("exact Gaussian MI", total=5 * len(args.families))
            for family, source in zip(args.families, sources, strict=True):
                mi, entropy = family_frames(family, args, progress, task)
                mi = mi.with_columns(run_id=pl.lit(run_id))
                recomputed = exact_partitions(run_id, source)
                wh.replace_partitions("mi_estimates", mi, recomputed=recomputed)
                wh.replace_partitions("entropies", entropy.with_columns(run_id=pl.lit(run_id)))
                written.append(mi)
        wh.finish_run(run_id)
    print_summary(pl.concat(written), console)
    console.print(
        f"run {run_id}: {sum(f.height for f in written)} rows in mi_estimates, "
        f"{time.perf_counter() - started:.1f} s"
    )
    return 0


def print_summary(rows: pl.DataFrame, console: Console) -> None:
    """I_BP at the first ratio, its local exponent log(I_l / I_{l-1}) / log 4, and the two-point
    MI at maximum separation, per family and L (nats)."""
    table = cli_table(
        "Exact MI of the Gaussian families (nats)",
        [(c, "left" if c == "source" else "right")
         for c in ["source", "L", "ℓ", "I_BP", "local β", "I_TP(d = L−1)"]],
    )  # fmt: skip
    for source in rows["source"].unique(maintain_order=True).to_list():
        part = rows.filter(pl.col("source") == source)
        ratio = part.filter(pl.col("quantity") == "bipartite")["ratio"].min()
        bip = part.filter((pl.col("estimator") == "exact") & (pl.col("ratio") == ratio)).sort(
            "length"
        )
        tp = part.filter((pl.col("quantity") == "two_point") & (pl.col("estimator") == "exact"))
        tp_by_d = dict(zip(tp["distance"].to_list(), tp["value"].to_list(), strict=True))
        values = bip["value"].to_numpy()
        local = np.concatenate([[np.nan], np.log(values[1:] / values[:-1]) / np.log(4)])
        for r, beta in zip(bip.iter_rows(named=True), local, strict=True):
            console_beta = "" if np.isnan(beta) else f"{beta:.3f}"
            table.add_row(
                source,
                str(r["length"]),
                str(r["split_at"]),
                f"{r['value']:.4f}",
                console_beta,
                f"{tp_by_d.get(r['length'] - 1, float('nan')):.3e}",
            )
    console.print(table)


if __name__ == "__main__":
    sys.exit(run_cli(main))
