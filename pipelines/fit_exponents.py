"""Fit the scaling exponents of every MI series in the warehouse.

Reads ``mi_estimates``; for each (run, quantity, estimator, ratio) series fits
  bipartite:  I = A·L^β (OLS of log I on log L) and I = a·log L + b, and says which law the data
              prefer; β's 95% interval is the curve bootstrap (samples, or whole documents when
              the samples come from a corpus, resampled and every point recomputed), the
              regression's t-interval kept in the row's detail (t_exponent_lo/hi). The β an
              interval is about: the OLS slope over the fitted L; a known source's exact β is
              the same fit of its exact curve at the same L (docs/estimators.md)
  two_point:  I = A·d^(−α) + C with 0 ≤ C < min I (Eq. A.18), α with a bootstrap interval;
              a series with a shuffle baseline also as I_d − I_d^shuffled (estimator
              <e>_minus_baseline), the α reports quote (docs/estimators.md)
and, for the 2-gram corrected `direct` curve, β under Ĥ_G(Y1, Y2) of 1/8, 1/4, 1/2 and all of
the corpus and under its extrapolation (queries/adjacent_pair_convergence.sql; every point moves
by 0.8·ΔĤ_G, Eq. A.14), with the warning "Ĥ_G not converged" when it still rose from 1/2 to all;
writes the ``fits`` table — replacing the fits of exactly the series fitted now; every other
series keeps its fit — and prints a table (or JSON) that flags uninformative fits and the points
a fit could not use.

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

from l2m_analysis.cli import make_parser, nonnegative_int, positive_int, run_cli
from l2m_analysis.fits.describe import h2gram
from l2m_analysis.fits.series import SERIES_KEYS
from l2m_analysis.steps.fit_exponents import fit_exponents
from l2m_analysis.warehouse import Warehouse


def build_parser():
    parser = make_parser("pipelines.fit_exponents", __doc__)
    parser.add_argument(
        "--quantity", choices=["bipartite", "two_point"], help="fit only this quantity"
    )
    parser.add_argument("--source", help="fit only this source (corpus or distribution family)")
    parser.add_argument(
        "--min-points",
        type=positive_int,
        default=3,
        help="skip series with fewer points (default 3)",
    )
    parser.add_argument(
        "--unweighted",
        action="store_true",
        help="ignore the two-point estimates' standard errors (default: weight by them when "
        "present); bipartite β is always OLS",
    )
    parser.add_argument(
        "--bootstrap",
        type=nonnegative_int,
        default=200,
        help="bootstrap resamples: of the two-point α fit, and of the samples behind a scored "
        "run's bipartite curve (default 200; 0: none)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the fits as JSON instead of a table"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with Warehouse.open(args.warehouse, create=False) as wh:
        result = fit_exponents(
            wh, run_id=args.run_id, quantity=args.quantity, source=args.source,
            min_points=args.min_points, weighted=not args.unweighted, n_boot=args.bootstrap,
        )  # fmt: skip
        models = dict(wh.query("SELECT run_id, model FROM runs WHERE kind = 'llm'").iter_rows())
    if args.json:
        print(json.dumps(fits_json(result.rows, result.skipped), indent=2, default=str))
    else:
        print_fits(result.rows, result.skipped, models)
    return 0


def fits_json(rows: pl.DataFrame, skipped: list[dict[str, object]]) -> dict[str, object]:
    """The fits as plain JSON: ``detail`` as an object (never a string of JSON)."""
    fits = [{**r, "detail": json.loads(r["detail"] or "{}")} for r in rows.to_dicts()]
    return {"fits": fits, "skipped": skipped, "replaced_series": _series_count(rows)}


def _series_count(rows: pl.DataFrame) -> int:
    return rows.select(SERIES_KEYS).unique().height if rows.height else 0


def print_fits(
    rows: pl.DataFrame, skipped: list[dict[str, object]], models: dict[str, str] | None = None
) -> None:
    """One line per series in 80 columns, under a heading per (source, run): β (power law, with
    the power-vs-log verdict) or α (decay, with the bias floor C), warnings beneath."""
    console = Console(highlight=False)
    shown = rows.filter(pl.col("law").is_in(["power", "decay"]))
    if shown.is_empty():
        console.print("nothing was fitted, so no stored fit was changed")
    else:
        console.print("[bold]Fitted exponents[/] (MI in nats; 95% intervals)")
    group = None
    ordered = shown.sort(["source", "run_id", "quantity", "estimator", "ratio"], nulls_last=True)
    for r in ordered.iter_rows(named=True):
        if (r["source"], r["run_id"], r["quantity"]) != group:
            group = (r["source"], r["run_id"], r["quantity"])
            console.print(f"\n[bold]{r['source']}[/] {r['quantity']} [dim](run {r['run_id']})[/]")
            if r["run_id"] in (models or {}):
                console.print(f"  [dim]q = {models[r['run_id']]} (a weaker q underestimates β, "
                              "Appx. A.VI)[/]")  # fmt: skip
            console.print(f"[dim]  {'estimator':<19} {'L/ℓ':>3}  {'exponent':<10} "
                          f"{'95% CI':<16} {'n':>3} {'R²':>6}  verdict[/]")  # fmt: skip
        symbol = "β" if r["law"] == "power" else "α"
        interval = f"[{_bound(r['exponent_lo'], '−∞')}, {_bound(r['exponent_hi'], '∞')}]"
        r2 = "" if r["r2"] is None else f"{r['r2']:.3f}"
        console.print(
            f"  {r['estimator']:<19.19} {r['ratio'] or '':>3}  {symbol} = {r['exponent']:<6.3f} "
            f"{interval:<16} {r['n_points']:>3} {r2:>6}  {_verdict(r)}",
            markup=False,
        )
        notes = list(r.get("warnings") or [])
        boot = json.loads(r["detail"] or "{}")
        if "t_exponent_lo" in boot and r["law"] == "power":
            lo, hi = boot["t_exponent_lo"], boot["t_exponent_hi"]
            docs = boot.get("bootstrap_documents")
            unit = f"{docs} documents" if docs else f"{boot['bootstrap_samples']} samples"
            notes.insert(0, f"95% CI: curve bootstrap over {unit}; regression t-interval "
                         f"[{_bound(lo, '−∞')}, {_bound(hi, '∞')}]")  # fmt: skip
        if (convergence := h2gram(r)) is not None:
            notes.append(convergence)
        if r.get("n_dropped"):
            notes.append(f"{r['n_dropped']} points not used: {r.get('drop_reason') or '?'}")
        for note in notes:
            console.print(f"    [yellow]! {note}[/]")
    for s in skipped:
        ratio = f" L/ℓ={s['ratio']}" if s.get("ratio") else ""
        console.print(
            f"[yellow]skipped[/] {s['source']} {s['quantity']} {s['estimator']}{ratio}: "
            f"{s['reason']} (an earlier fit of it, if any, is kept)"
        )


def _verdict(r: dict) -> str:
    if r["law"] == "decay":
        return f"C = {r['offset_c']:.3g}"
    delta = json.loads(r["detail"] or "{}").get("delta_aic")
    if not r["preferred_law"]:
        return ""
    return f"{r['preferred_law']} ({delta:+.1f})" if delta is not None else r["preferred_law"]


def _bound(value: float | None, open_end: str) -> str:
    """An interval end; the fits table stores an open (infinite) end as NULL."""
    return open_end if value is None or not math.isfinite(value) else f"{value:.3f}"


if __name__ == "__main__":
    sys.exit(run_cli(main))
