"""Fit the scaling exponents of every MI series in the warehouse.

Reads ``mi_estimates``; for each (run, quantity, estimator, ratio) series fits
  bipartite:  I = A·L^β (log-log OLS/WLS) and I = a·log L + b, and says which law the data prefer
  two_point:  I = A·d^(−α) + C with 0 ≤ C < min I (Eq. A.18), α with a bootstrap interval
writes the ``fits`` table (replacing earlier fits of the same runs) and prints a table.

Examples:
  python -m pipelines.fit_exponents
  python -m pipelines.fit_exponents --quantity bipartite --json
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence

import polars as pl
from rich.console import Console
from rich.table import Table

from l2m_analysis.cli import make_parser, run_cli
from l2m_analysis.errors import WarehouseError
from l2m_analysis.exponents import fit_mi_series
from l2m_analysis.warehouse import Warehouse

PRODUCERS = (
    "python -m pipelines.gaussian_mi (exact Gaussian curves), "
    "python -m pipelines.bipartite_mi (bipartite MI of scored log-probs) or "
    "python -m pipelines.twopoint_mi (two-point MI of a corpus); "
    "python -m pipelines.run_all runs them all"
)


def build_parser():
    parser = make_parser("pipelines.fit_exponents", __doc__)
    parser.add_argument(
        "--quantity", choices=["bipartite", "two_point"], help="fit only this quantity"
    )
    parser.add_argument("--source", help="fit only this source (corpus or distribution family)")
    parser.add_argument(
        "--min-points", type=int, default=3, help="skip series with fewer points (default 3)"
    )
    parser.add_argument(
        "--unweighted",
        action="store_true",
        help="ignore the estimates' standard errors (default: weight by them when present)",
    )
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=200,
        help="bootstrap resamples for the two-point α interval (default 200)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the fits as JSON instead of a table"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with Warehouse.open(args.warehouse, create=False) as wh:
        if args.run_id:
            wh.require_run(args.run_id)
        filters = {"run_id": args.run_id, "quantity": args.quantity, "source": args.source}
        where = " AND ".join(f"{k} = ?" for k, v in filters.items() if v) or "true"
        estimates = wh.query(
            f"SELECT * FROM mi_estimates WHERE {where}", [v for v in filters.values() if v]
        )
        if estimates.is_empty():
            raise WarehouseError(
                f"no MI estimates to fit in {wh.path}"
                + (
                    f" for {', '.join(f'{k}={v}' for k, v in filters.items() if v)}"
                    if any(filters.values())
                    else ""
                ),
                f"run {PRODUCERS}",
            )
        result = fit_mi_series(
            estimates,
            min_points=args.min_points,
            weighted=not args.unweighted,
            n_boot=args.bootstrap,
        )
        for run_id in estimates["run_id"].unique().to_list():
            wh.replace_rows(
                "fits", result.rows.filter(pl.col("run_id") == run_id), where={"run_id": run_id}
            )
    if args.json:
        print(json.dumps({"fits": result.rows.to_dicts(), "skipped": result.skipped}, indent=2))
    else:
        print_fits(result.rows, result.skipped)
    return 0


def print_fits(rows: pl.DataFrame, skipped: list[dict[str, object]]) -> None:
    """One line per series: β (power law; with the power-vs-log verdict) or α (decay, with C)."""
    table = Table(title="Fitted exponents (MI in nats; 95% intervals)")
    for col in ["source", "quantity", "estimator", "L/ℓ", "exponent", "95% CI", "R²", "n",
                "C (bias floor)", "preferred (AIC log − AIC power)", "run"]:  # fmt: skip
        table.add_column(col)
    shown = rows.filter(pl.col("law").is_in(["power", "decay"]))
    for r in shown.sort(["quantity", "source", "estimator", "ratio"]).iter_rows(named=True):
        symbol = "β" if r["law"] == "power" else "α"
        detail = json.loads(r["detail"] or "{}")
        delta = detail.get("delta_aic")
        verdict = r["preferred_law"] or ""
        if r["law"] == "power" and delta is not None:
            verdict = f"{verdict} ({delta:+.1f})" if verdict else ""
        table.add_row(
            r["source"], r["quantity"], r["estimator"], str(r["ratio"] or ""),
            f"{symbol} = {r['exponent']:.3f}",
            f"[{_bound(r['exponent_lo'], '−∞')}, {_bound(r['exponent_hi'], '∞')}]",
            "" if r["r2"] is None else f"{r['r2']:.4f}", str(r["n_points"]),
            f"{r['offset_c']:.3g}" if r["law"] == "decay" else "", verdict, r["run_id"],
        )  # fmt: skip
    console = Console(width=220)
    console.print(table)
    for s in skipped:
        console.print(f"skipped {s['source']} {s['quantity']} {s['estimator']}: {s['reason']}")


def _bound(value: float | None, open_end: str) -> str:
    """An interval end; the fits table stores an open (infinite) end as NULL."""
    return open_end if value is None or not math.isfinite(value) else f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(run_cli(main))
