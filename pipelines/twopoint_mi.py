"""Two-point mutual information I_d of a counted corpus run, with its shuffle baseline, in nats.

Steps (Section 4.3.2, Appendix A.VII):
  1. Grassberger entropies (Eq. 8-9, A.12-A.13) from the run's count-of-counts: Ĥ(X) = Ĥ(Y) of
     single tokens (quantity unigram), Ĥ of adjacent pairs (quantity adjacent_pair, used by the
     2-gram correction of Eq. A.14), Ĥ(XY_d) per distance (quantity pair_distance, shuffled
     false for the real pairs, true for the baseline); all written to `entropies`;
  2. I_d = Ĥ(X) + Ĥ(Y) − Ĥ(XY_d) (Eq. A.16) per distance to `mi_estimates` (quantity two_point,
     estimator grassberger), and the same for the baseline (estimator grassberger_shuffled):
     its value is the estimator's bias floor, which I_d approaches at large d;
  3. prints I_d ± stderr next to the baseline. stderr is the conservative sum of the three
     entropies' standard errors (estimators.two_point).
Distances with no pair (every document shorter than d) are reported and skipped.
The fit I_d = A·d^(−α) + C (Eq. A.18) is python -m pipelines.fit_exponents --quantity two_point.

Examples:
  python -m pipelines.twopoint_mi --run-id books
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import polars as pl
from rich.console import Console

from l2m_analysis.cli import make_parser, run_cli
from l2m_analysis.cli import table as cli_table
from l2m_analysis.errors import InputError, WarehouseError
from l2m_analysis.estimators.entropy import EntropyEstimate, entropy_grassberger
from l2m_analysis.estimators.two_point import two_point_mi
from l2m_analysis.warehouse import Warehouse

ESTIMATOR = "grassberger"
BASELINE_ESTIMATOR = "grassberger_shuffled"


def build_parser():
    parser = make_parser(
        "pipelines.twopoint_mi", __doc__, run_id_help="the counted corpus run (required)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.run_id is None:
        raise InputError("--run-id is required", "pass the run counted by count_ngrams")
    console = Console()
    with Warehouse.open(args.warehouse, create=False) as wh:
        run = wh.require_run(args.run_id)
        source = run["dataset"] or run["kind"]
        entropies, estimates, skipped = estimate(wh, args.run_id, source)
        base = {"run_id": args.run_id, "source": source}
        wh.replace_partitions("entropies", entropies, recomputed=[
            {**base, "quantity": q, "estimator": ESTIMATOR}
            for q in ("unigram", "adjacent_pair", "pair_distance")
        ])  # fmt: skip
        wh.replace_partitions("mi_estimates", estimates, recomputed=[
            {**base, "quantity": "two_point", "estimator": e}
            for e in (ESTIMATOR, BASELINE_ESTIMATOR)
        ])  # fmt: skip
    for d in skipped:
        console.print(f"[yellow]d = {d}: no token pairs (every document shorter than d), skipped")
    print_estimates(estimates, args.run_id, console)
    console.print(
        f"next: python -m pipelines.fit_exponents --quantity two_point   (run {args.run_id})"
    )
    return 0


def _entropy(cc: pl.DataFrame) -> EntropyEstimate:
    return entropy_grassberger(cc["count"].to_numpy(), cc["n_items"].to_numpy())


def estimate(wh: Warehouse, run_id: str, source: str):
    """Steps 1-2 -> (entropies rows, mi_estimates rows, distances skipped)."""
    ngrams = wh.query("SELECT * FROM ngram_counts WHERE run_id = ?", [run_id])
    pairs = wh.query("SELECT * FROM pair_counts WHERE run_id = ?", [run_id])
    hint = f"python -m pipelines.count_ngrams --run-id {run_id}"
    if ngrams.filter(pl.col("order") == 1).is_empty():
        raise WarehouseError(f"run {run_id!r} has no 1-gram counts", f"count it first: {hint}")
    h_x = _entropy(ngrams.filter(pl.col("order") == 1))  # Eq. (8): Ĥ(X) = Ĥ(Y)
    rows = [_entropy_row(run_id, source, "unigram", None, False, h_x)]
    if not ngrams.filter(pl.col("order") == 2).is_empty():
        h_2 = _entropy(ngrams.filter(pl.col("order") == 2))
        rows.append(_entropy_row(run_id, source, "adjacent_pair", None, False, h_2))
    distances = counted_distances(wh, run_id)
    estimates, skipped = [], []
    for d in distances:
        real = pairs.filter((pl.col("distance") == d) & ~pl.col("shuffled"))
        if real.is_empty():
            skipped.append(d)
            continue
        for shuffled, name in ((False, ESTIMATOR), (True, BASELINE_ESTIMATOR)):
            cc = pairs.filter((pl.col("distance") == d) & (pl.col("shuffled") == shuffled))
            if cc.is_empty():
                continue
            h_xy = _entropy(cc)
            mi = two_point_mi(h_x, h_x, h_xy, d)  # Eq. (A.16)
            rows.append(_entropy_row(run_id, source, "pair_distance", d, shuffled, h_xy))
            estimates.append({"run_id": run_id, "source": source, "quantity": "two_point",
                              "estimator": name, "distance": d, "value": mi.value,
                              "stderr": mi.stderr, "n": mi.n})  # fmt: skip
    if not estimates:
        raise WarehouseError(
            f"run {run_id!r} has no token pairs at any counted distance",
            f"count smaller distances: {hint} --distances 1 2 4 8",
        )
    return pl.DataFrame(rows), pl.DataFrame(estimates), skipped


def counted_distances(wh: Warehouse, run_id: str) -> list[int]:
    """Every distance d count_ngrams counted for the run (its batches' ``distance`` meta),
    including those where no pair exists (an empty batch)."""
    metas = [record.meta for record in wh.batches("pair_counts", run_id)]
    return sorted({int(m["distance"]) for m in metas if "distance" in m})


def _entropy_row(run_id, source, quantity, distance, shuffled, h: EntropyEstimate) -> dict:
    return {"run_id": run_id, "source": source, "quantity": quantity, "distance": distance,
            "shuffled": shuffled, "estimator": ESTIMATOR, "value": h.value,
            "stderr": h.stderr, "n": h.n}  # fmt: skip


def print_estimates(estimates: pl.DataFrame, run_id: str, console: Console) -> None:
    table = cli_table(
        f"two-point MI of run {run_id} (nats)",
        [(c, "right") for c in ("d", "I_d ± stderr", "baseline (bias floor)", "I_d − baseline",
                                "pairs")],
    )  # fmt: skip
    real = estimates.filter(pl.col("estimator") == ESTIMATOR).sort("distance")
    base = {r["distance"]: r for r in estimates.filter(pl.col("estimator") == BASELINE_ESTIMATOR)
            .iter_rows(named=True)}  # fmt: skip
    for r in real.iter_rows(named=True):
        b = base.get(r["distance"])
        table.add_row(
            str(r["distance"]), f"{r['value']:.4f} ± {r['stderr']:.4f}",
            f"{b['value']:.4f}" if b else "-",
            f"{r['value'] - b['value']:.4f}" if b else "-", f"{r['n']:,}",
        )  # fmt: skip
    console.print(table)


if __name__ == "__main__":
    sys.exit(run_cli(main))
