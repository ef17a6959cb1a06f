"""Bipartite mutual information of scored runs: direct (Eq. 6) and vCLUB (Eq. 7), in nats.

For every run with split/marginal log-probs in token_logprobs (or only --run-id):
  1. checks its token_logprobs (columns, NaN or positive log-probs, conditions, duplicates);
  2. discrete runs: the Grassberger entropy Ĥ_G of adjacent token pairs goes to `entropies`
     (quantity adjacent_pair, estimator grassberger, data_run_id = what was counted): the
     2-gram correction of Appendix A.III (Eq. A.14) needs it. It is counted over the whole
     corpus the run was scored from (config.corpus_run_id, same tokenizer required); only when
     the run names none, or that corpus has no 2-gram counts, over the run's own samples, with
     a warning. Continuous (Gaussian) runs get no correction;
  3. runs queries/bipartite_mi.sql and replaces the run's mi_estimates rows of quantity
     bipartite and estimators direct, direct_uncorrected, vclub ('exact' rows are kept),
     one row per split ℓ, ratio L/ℓ in {2, 3, 4}, with the standard error over samples (for
     `direct` plus 4/5 of se(Ĥ_G), a term common to every point: column stderr_common);
  4. language-model runs: the model-free cross-check of Appendix A.II (Eq. A.6), K(X) + K(Y)
     − K(XY) with LZMA2 on the same windows decoded to text (estimator compression_lzma; it
     overestimates β);
and prints the estimates.

Examples:
  python -m pipelines.bipartite_mi
  python -m pipelines.bipartite_mi --run-id oracle-gaussian-subvolume
  duckdb warehouse/l2m.duckdb < queries/bipartite_mi.sql      # the same numbers, by hand
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.progress import track

from l2m_analysis.cli import console as make_console
from l2m_analysis.cli import make_parser, run_cli, table
from l2m_analysis.corpus.tokenizer import load_tokenizer
from l2m_analysis.estimators.adjacent_pairs import corpus_run_of, two_gram_entropy
from l2m_analysis.estimators.bipartite import ESTIMATORS, bipartite_mi_sql
from l2m_analysis.estimators.compression import ESTIMATOR as COMPRESSION
from l2m_analysis.estimators.compression import compression_estimates
from l2m_analysis.estimators.logprob_checks import validate_token_logprobs_sql
from l2m_analysis.scoring.samples import CorpusChoice, windows_from_tokens
from l2m_analysis.warehouse import Warehouse

SCORERS = (
    "score a run first: python -m pipelines.score_oracle (Gaussian oracle) or another scoring "
    "step that writes no_split, marginal and split rows; python -m pipelines.run_all does it all"
)


def build_parser():
    """--warehouse, --run-id (default: every run with split or marginal log-probs)."""
    return make_parser("pipelines.bipartite_mi", __doc__)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = make_console()
    with Warehouse.open(args.warehouse, create=False) as wh:
        run_ids = wh.scored_runs(("marginal", "split"), args.run_id, SCORERS)
        written = []
        for run_id in track(run_ids, description="bipartite MI", console=console):
            written.append(estimate_run(wh, run_id, console))
        models = dict(wh.query("SELECT run_id, model FROM runs WHERE kind = 'llm'").iter_rows())
    print_estimates(pl.concat(written, how="diagonal_relaxed"), console, models)
    return 0


def estimate_run(wh: Warehouse, run_id: str, console: Console) -> pl.DataFrame:
    """Steps 1-3 for one run; returns the mi_estimates rows written."""
    validate_token_logprobs_sql(wh.con, run_id)
    run = wh.require_run(run_id)
    source = run["dataset"] or run["kind"]
    discrete = wh.query(
        "SELECT min(token_id) >= 0 AS discrete FROM token_logprobs WHERE run_id = ?", [run_id]
    )["discrete"][0]
    entropy_partition = {"run_id": run_id, "source": source, "quantity": "adjacent_pair",
                         "estimator": "grassberger"}  # fmt: skip
    rows = []
    if discrete:
        named = corpus_run_of(run)
        corpus = wh.require_run(named) if named and wh.has_run(named) else None
        h = two_gram_entropy(wh.con, run, corpus)  # Eq. (A.12), Appendix A.III
        if h.warning:
            console.print(f"[yellow]{run_id}: {h.warning}[/]")
        rows = [{**entropy_partition, "shuffled": False, "value": h.estimate.value,
                 "stderr": h.estimate.stderr, "n": h.estimate.n,
                 "data_run_id": h.data_run_id}]  # fmt: skip
    else:
        console.print(f"{run_id}: continuous tokens, no 2-gram correction and no `direct` rows")
    wh.replace_partitions("entropies", pl.DataFrame(rows), recomputed=[entropy_partition])
    estimates = bipartite_mi_sql(wh.con, run_id).with_columns(source=pl.lit(source))
    if estimates.is_empty():
        console.print(
            f"[yellow]{run_id}: no sample has every position ℓ..L-1 in two conditions; "
            "no estimates[/]"
        )
    compressed = compression_rows(wh, run, estimates)  # Appendix A.II, model-free
    if compressed.height:
        estimates = pl.concat([estimates, compressed.with_columns(source=pl.lit(source))],
                              how="diagonal_relaxed")  # fmt: skip
    recomputed = [  # stale rows of these estimators go too; 'exact' rows are not touched
        {"run_id": run_id, "source": source, "quantity": "bipartite", "estimator": e}
        for e in (*ESTIMATORS, COMPRESSION)
    ]
    wh.replace_partitions("mi_estimates", estimates, recomputed=recomputed)
    return estimates


def compression_rows(wh: Warehouse, run: dict, estimates: pl.DataFrame) -> pl.DataFrame:
    """Eq. (A.6) on the run's own windows, decoded with its model's tokenizer: for language-
    model runs whose config names the model folder and the corpus samples (else no rows)."""
    config = json.loads(run["config"] or "{}")
    folder, ids = config.get("model_dir"), config.get("corpus_sample_ids")
    if not folder or not ids or not Path(folder, "tokenizer.json").is_file():
        return pl.DataFrame()
    tokenizer = load_tokenizer(folder)
    wh.con.register("_chosen", pl.DataFrame({"sample_id": ids}))
    tokens = wh.query(
        "SELECT sample_id, position, token_id FROM tokens JOIN _chosen USING (sample_id) "
        "WHERE run_id = ? AND position < ?",
        [config["corpus_run_id"], config["length"]],
    )
    lengths = pl.DataFrame({"sample_id": ids, "doc_id": [0] * len(ids)})
    choice = CorpusChoice(lengths["sample_id"].to_numpy(), lengths["doc_id"].to_numpy())
    windows = windows_from_tokens(tokens, choice, config["length"])
    splits = sorted(set(estimates["split_at"].to_list()))
    out = compression_estimates(windows.tokens, tokenizer.backend.decode, splits, config["ratios"])
    return out.with_columns(run_id=pl.lit(run["run_id"]), quantity=pl.lit("bipartite"))


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


if __name__ == "__main__":
    sys.exit(run_cli(main))
