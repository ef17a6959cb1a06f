"""The bipartite_mi step: direct (Eq. 6, with and without the 2-gram correction of Eq. A.14),
vCLUB (Eq. 7) and, for language-model runs, the lzma compression estimate (Eq. A.6) of scored
runs, into ``mi_estimates``.

Per run: validate its ``token_logprobs``; for discrete tokens write Ĥ_G(Y1, Y2) to
``entropies`` (from the corpus the run was scored from, ``estimators.adjacent_pairs``) with its
convergence (quantity ``adjacent_pair_subsample``: Ĥ_G of 1/8, 1/4, 1/2 and all of that data,
and as estimator ``grassberger_extrapolated`` its Aitken limit; a warning when it has not converged,
``estimators.entropy_convergence``); run
``queries/bipartite_mi.sql`` — or, on a Dask cluster, the same arithmetic over the run's files
(``cluster.bipartite``) — and replace the run's rows of these estimators ('exact' rows stay).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from l2m_analysis.corpus.tokenizer import load_tokenizer
from l2m_analysis.errors import InputError
from l2m_analysis.estimators.adjacent_pairs import two_gram_convergence, two_gram_entropy
from l2m_analysis.estimators.bipartite import ESTIMATORS, bipartite_mi_sql
from l2m_analysis.estimators.compression import ESTIMATOR as COMPRESSION
from l2m_analysis.estimators.compression import IID_ESTIMATOR, compression_with_iid_baseline
from l2m_analysis.estimators.logprob_checks import validate_token_logprobs_sql
from l2m_analysis.scoring.samples import CorpusChoice, windows_from_tokens
from l2m_analysis.warehouse import Warehouse

SCORERS = (
    "score a run first: python -m pipelines.score_oracle (Gaussian oracle) or another scoring "
    "step that writes no_split, marginal and split rows; python -m pipelines.run_all does it all"
)


@dataclass(frozen=True)
class RunEstimates:
    """The ``mi_estimates`` rows written for one run, q (the model) of an LLM run, and the
    ``entropies`` rows of Ĥ_G's convergence (empty for continuous tokens)."""

    run_id: str
    estimates: pl.DataFrame
    model: str | None
    convergence: pl.DataFrame = field(default_factory=pl.DataFrame)


def bipartite_mi(
    wh: Warehouse,
    run_id: str | None = None,
    *,
    client: Any = None,
    notify: Callable[[str], None] = print,
    on_run: Callable[[str], None] | None = None,
) -> list[RunEstimates]:
    """Estimate every scored run (or only ``run_id``); ``notify`` gets warnings, ``on_run``
    is called after each run (progress)."""
    run_ids = wh.scored_runs(("marginal", "split"), run_id, SCORERS)
    out = []
    for rid in run_ids:
        run = wh.require_run(rid)
        estimates, convergence = estimate_run(wh, rid, client, notify)
        model = run["model"] if run["kind"] == "llm" else None
        out.append(RunEstimates(rid, estimates, model, convergence))
        if on_run is not None:
            on_run(rid)
    return out


def estimate_run(
    wh: Warehouse, run_id: str, client: Any, notify
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One run: checks, Ĥ_G and its convergence, the estimators, the compression estimate;
    returns the ``mi_estimates`` rows and the convergence's ``entropies`` rows."""
    validate_token_logprobs_sql(wh.con, run_id)
    run = wh.require_run(run_id)
    ratios = recorded_ratios(wh, run_id)
    source = run["dataset"] or run["kind"]
    discrete = wh.query(
        "SELECT min(token_id) >= 0 AS discrete FROM token_logprobs WHERE run_id = ?", [run_id]
    )["discrete"][0]
    if not discrete:
        notify(f"{run_id}: continuous tokens, no 2-gram correction and no `direct` rows")
    rows, steps = write_two_gram_entropy(wh, run, source, notify, discrete=bool(discrete))
    if client is None:
        estimates = bipartite_mi_sql(wh.con, run_id)
    else:
        estimates = _on_dask(wh, run_id, ratios, client, rows[0] if rows else None)
    estimates = estimates.with_columns(source=pl.lit(source))
    if estimates.is_empty():
        notify(f"[yellow]{run_id}: no sample has every position ℓ..L-1 in two conditions; "
               "no estimates[/]")  # fmt: skip
    compressed = compression_rows(wh, run, estimates)  # Appendix A.II, model-free
    if compressed.height:
        estimates = pl.concat([estimates, compressed.with_columns(source=pl.lit(source))],
                              how="diagonal_relaxed")  # fmt: skip
    recomputed = [  # stale rows of these estimators go too; 'exact' rows are not touched
        {"run_id": run_id, "source": source, "quantity": "bipartite", "estimator": e}
        for e in (*ESTIMATORS, COMPRESSION, IID_ESTIMATOR)
    ]
    wh.replace_partitions("mi_estimates", estimates, recomputed=recomputed)
    return estimates, pl.DataFrame(steps)


def write_two_gram_entropy(
    wh: Warehouse, run: dict, source: str, notify, *, discrete: bool = True
) -> tuple[list[dict], list[dict]]:
    """Replace the run's ``entropies`` rows of Ĥ_G(Y1, Y2) and of its convergence (none for
    continuous tokens: ``discrete`` False clears stale ones); returns both lists of rows."""
    run_id = run["run_id"]
    partition = {"run_id": run_id, "source": source, "quantity": "adjacent_pair",
                 "estimator": "grassberger"}  # fmt: skip
    rows, steps = [], []
    if discrete:
        named = wh.run_config(run_id).get("corpus_run_id")
        corpus = wh.require_run(named) if named and wh.has_run(named) else None
        h = two_gram_entropy(wh.con, run, named, corpus)  # Eq. (A.12), Appendix A.III
        if h.warning:
            notify(f"[yellow]{run_id}: {h.warning}[/]")
        rows = [{**partition, "shuffled": False, "value": h.estimate.value,
                 "stderr": h.estimate.stderr, "n": h.estimate.n,
                 "data_run_id": h.data_run_id}]  # fmt: skip
        steps = convergence_rows(two_gram_convergence(wh.con, h), partition, h, notify)
    recomputed = [partition, *convergence_partitions(partition)]
    wh.replace_partitions("entropies", pl.DataFrame(rows + steps), recomputed=recomputed)
    return rows, steps


def convergence_partitions(partition: dict) -> list[dict]:
    """The ``entropies`` partitions of Ĥ_G's convergence beside ``partition`` (Ĥ_G's own)."""
    quantity = {**partition, "quantity": "adjacent_pair_subsample"}
    return [quantity, {**quantity, "estimator": "grassberger_extrapolated"}]


def convergence_rows(conv, partition: dict, h, notify) -> list[dict]:
    """``entropies`` rows of an ``EntropyConvergence``: one per fraction (n = pairs used) and
    the extrapolated limit (no stderr) when there is one; its warning goes to ``notify``."""
    if conv is None:
        notify(f"[yellow]{partition['run_id']}: the tokens behind Ĥ_G(Y1, Y2) "
               f"({h.data_run_id}) are not in the warehouse: no convergence check[/]")  # fmt: skip
        return []
    if conv.warning:
        notify(f"[yellow]{partition['run_id']}: {conv.warning}[/]")
    subsample, limit = convergence_partitions(partition)
    out = [{**subsample, "shuffled": False, "value": e.value, "stderr": e.stderr, "n": e.n,
            "data_run_id": h.data_run_id} for e in conv.estimates]  # fmt: skip
    if conv.extrapolated is not None:
        out.append({**limit, "shuffled": False, "value": conv.extrapolated, "stderr": None,
                    "n": conv.final.n, "data_run_id": h.data_run_id})  # fmt: skip
    return out


def recorded_ratios(wh: Warehouse, run_id: str) -> list[int]:
    """The ratios L/ℓ the run recorded when it was scored (config ``ratios``; the SQL reads the
    same, stg_run_ratios); raises naming the fix when it recorded none."""
    ratios = wh.run_config(run_id).get("ratios")
    if not ratios:
        raise InputError(
            f"run {run_id!r} records no ratios L/ℓ in its config (scored before runs recorded "
            "them, or written by hand)",
            "score it again with python -m pipelines.score_logprobs (or score_oracle) and "
            "--ratios, e.g. --ratios 2 3 4",
        )
    return sorted(int(r) for r in ratios)


def _on_dask(
    wh: Warehouse, run_id: str, ratios: list[int], client: Any, entropy: dict | None
) -> pl.DataFrame:
    """``cluster.bipartite`` over the run's files: the rows the SQL gives."""
    from l2m_analysis.cluster.bipartite import bipartite_mi_on_dask

    splits = wh.query(
        "SELECT DISTINCT split_at FROM token_logprobs WHERE run_id = ? "
        "AND condition IN ('marginal', 'split') ORDER BY split_at",
        [run_id],
    )["split_at"].to_list()
    windows = tuple((s, r) for s in splits for r in ratios)
    files = [str(path) for path, _ in wh.batch_files("token_logprobs", run_id)]
    h, se = (entropy["value"], entropy["stderr"]) if entropy else (None, None)
    return bipartite_mi_on_dask(client, run_id, files, windows, h, se)


def compression_rows(wh: Warehouse, run: dict, estimates: pl.DataFrame) -> pl.DataFrame:
    """Eq. (A.6) on the run's own windows, decoded with its model's tokenizer: for language-
    model runs whose config names the model folder and the corpus samples (else no rows)."""
    config = wh.run_config(run["run_id"])
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
    out = compression_with_iid_baseline(
        windows.tokens, tokenizer.backend.decode, splits, config["ratios"]
    )  # lzma, and on i.i.d. tokens
    return out.with_columns(run_id=pl.lit(run["run_id"]), quantity=pl.lit("bipartite"))
