"""Bipartite mutual information of scored runs: direct (Eq. 6) and vCLUB (Eq. 7), in nats.

For every run with split/marginal log-probs in token_logprobs (or only --run-id):
  1. checks its token_logprobs (columns, NaN or positive log-probs, conditions, duplicates);
  2. discrete runs: the Grassberger entropy Ĥ_G of adjacent token pairs goes to `entropies`
     (quantity adjacent_pair, estimator grassberger, data_run_id = what was counted): the
     2-gram correction of Appendix A.III (Eq. A.14) needs it. It is counted over the whole
     corpus the run was scored from (config.corpus_run_id, same tokenizer required); only when
     the run names none, or that corpus has no 2-gram counts, over the run's own samples, with
     a warning. Continuous (Gaussian) runs get no correction. Its convergence goes beside it
     (quantity adjacent_pair_subsample): Ĥ_G of 1/8, 1/4, 1/2 and all of that data (whole
     samples, seeded) and its extrapolation to N → ∞, with a warning when the rise from 1/2 to
     all exceeds 2 stderrs (each nat still missing lowers every `direct` point by 0.8 nats);
  3. runs queries/bipartite_mi.sql and replaces the run's mi_estimates rows of quantity
     bipartite and estimators direct, direct_uncorrected, vclub ('exact' rows are kept),
     one row per split ℓ, ratio L/ℓ in {2, 3, 4}, with the standard error over samples (for
     `direct` plus 4/5 of se(Ĥ_G), a term common to every point: column stderr_common);
  4. language-model runs: the model-free cross-check of Appendix A.II (Eq. A.6), K(X) + K(Y)
     − K(XY) with LZMA2 on the same windows decoded to text (estimator compression_lzma; it
     overestimates β), and its baseline on the same windows with the tokens shuffled i.i.d.
     (compression_lzma_iid: MI 0, so its value is the compressor's own redundancy); windows
     where the text's value is within 1.96 se of the baseline are flagged (not subtracted);
and prints the estimates. The work is l2m_analysis.steps.bipartite_mi; with --scheduler other than
local, step 3 runs on a Dask cluster (per-sample sums over each file, merged with Chan's parallel
mean/variance) and gives the same rows as the SQL.

Examples:
  python -m pipelines.bipartite_mi
  python -m pipelines.bipartite_mi --run-id oracle-gaussian-subvolume
  python -m pipelines.bipartite_mi --run-id llm-pg19 --scheduler-file sched.json   # on Dask
  duckdb warehouse/l2m.duckdb < queries/bipartite_mi.sql      # the same numbers, by hand
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import polars as pl
from rich.console import Console

from l2m_analysis.cli import add_scheduler_options, make_parser, run_cli, scheduler_choice, table
from l2m_analysis.cli import console as make_console
from l2m_analysis.cluster.connect import open_cluster
from l2m_analysis.estimators.compression import iid_baseline_flags
from l2m_analysis.fits.h2gram_sensitivity import SHIFT_PER_NAT
from l2m_analysis.progress import Stages
from l2m_analysis.steps.bipartite_mi import bipartite_mi
from l2m_analysis.warehouse import Warehouse


def build_parser():
    """--warehouse, --run-id (default: every run with split or marginal log-probs)."""
    parser = make_parser("pipelines.bipartite_mi", __doc__)
    add_scheduler_options(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = make_console()
    with Warehouse.open(args.warehouse, create=False) as wh:
        with open_cluster(scheduler_choice(args), console.print) as client, Stages(console) as bars:
            advance = bars.add("bipartite MI", None)
            written = bipartite_mi(wh, args.run_id, client=client, notify=console.print,
                                   on_run=lambda _: advance())  # fmt: skip
    estimates = pl.concat([w.estimates for w in written], how="diagonal_relaxed")
    print_estimates(estimates, console, {w.run_id: w.model for w in written if w.model})
    for w in written:
        print_convergence(w.run_id, w.convergence, console)
    return 0


def print_convergence(run_id: str, steps: pl.DataFrame, console: Console) -> None:
    """Ĥ_G(Y1, Y2) from each fraction of its data and extrapolated, nats; nothing if none."""
    if steps.is_empty():
        return
    columns = [("data", "left"), ("pairs", "right"), ("Ĥ_G", "right"), ("± stderr", "right"),
               ("shift of direct", "right")]  # fmt: skip
    out = table(f"Convergence of Ĥ_G(Y1, Y2) of {run_id} (nats; from {steps['data_run_id'][0]})",
                columns)  # fmt: skip
    total = steps.filter(pl.col("estimator") == "grassberger")["n"].max()
    used = steps.filter(pl.col("estimator") == "grassberger").sort("n")["value"][-1]
    for r in steps.iter_rows(named=True):
        extrapolated = r["estimator"] != "grassberger"
        label = "N → ∞ (Aitken)" if extrapolated else f"{r['n'] / total:.3f} of it"
        stderr = "" if r["stderr"] is None else f"{r['stderr']:.4f}"
        out.add_row(label, "" if extrapolated else f"{r['n']:,}", f"{r['value']:.4f}", stderr,
                    f"{SHIFT_PER_NAT * (r['value'] - used):+.4f}")  # fmt: skip
    console.print(out)


def print_estimates(
    estimates: pl.DataFrame, console: Console, models: dict[str, str] | None = None
) -> None:
    """The bipartite MI estimates, one table per run, nats; ``models``: q of LLM runs."""
    columns = [("estimator", "left"), ("L/ℓ", "right"), ("ℓ", "right"), ("L", "right"),
               ("I", "right"), ("± stderr", "right"), ("samples", "right")]  # fmt: skip
    for run_id in sorted(estimates["run_id"].unique().to_list()):
        q = (models or {}).get(run_id)
        title = f"Bipartite mutual information of {run_id} (nats)" + (
            f"; q = {q}: a weaker q underestimates β (Appendix A.VI)" if q else ""
        )
        out = table(title, columns)
        rows = estimates.filter(pl.col("run_id") == run_id)
        for r in rows.sort("estimator", "ratio", "split_at").iter_rows(named=True):
            stderr = f"{r['stderr']:.4f}" if r["stderr"] is not None else ""
            out.add_row(r["estimator"], str(r["ratio"]), str(r["split_at"]), str(r["length"]),
                        f"{r['value']:.4f}", stderr, str(r["n"]))  # fmt: skip
        console.print(out)
        for line in iid_baseline_flags(rows):  # lzma at the compressor's redundancy
            console.print(f"[yellow]{run_id}: {line}[/]")


if __name__ == "__main__":
    sys.exit(run_cli(main))
