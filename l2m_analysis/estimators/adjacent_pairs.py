"""Ĥ_G(Y1, Y2): the adjacent-pair entropy behind the 2-gram correction (Appendix A.III, nats).

Eq. (A.14) replaces the model's cross entropy of the first two Y tokens by 4/5 of Ĥ_G(Y1, Y2)
plus 1/5 of the model's own. Appendix A.III estimates Ĥ_G by "iterating over the dataset": it is
a property of the text, not of the few samples scored. So a scored run that names the corpus it
was drawn from (``config.corpus_run_id``) takes the Grassberger entropy of ALL that corpus's
adjacent pairs (``ngram_counts`` order 2, written by ``count_ngrams``), after checking that both
used the same tokenizer. Only when the run names no corpus, or the corpus has no 2-gram counts,
do the run's own whole samples serve, with a warning (a few samples give a much lower Ĥ_G: on
the embedded books 10.13 nats from 20 samples of 2048 tokens against 11.33 from all 1.52 M
tokens, docs/estimators.md; each nat too low lowers I_direct by 0.8 nats at every L).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np

from l2m_analysis.corpus.series import contiguous_groups
from l2m_analysis.errors import InputError
from l2m_analysis.estimators.entropy import EntropyEstimate, entropy_grassberger
from l2m_analysis.estimators.entropy_convergence import (
    EntropyConvergence,
    adjacent_pair_convergence,
)
from l2m_analysis.sql import run_query, sql_to_polars


@dataclass(frozen=True)
class TwoGramEntropy:
    """Ĥ_G(Y1, Y2) in nats, what it was counted from (``data_run_id``: the corpus or the run
    itself; ``basis``: ``corpus`` or ``samples``) and why, when not the corpus (``warning``)."""

    estimate: EntropyEstimate
    data_run_id: str
    basis: str
    warning: str | None = None


def sample_adjacent_pair_entropy(con: duckdb.DuckDBPyConnection, run_id: str) -> EntropyEstimate:
    """Ĥ_G of the adjacent pairs inside the run's own whole samples (``queries/
    adjacent_pair_counts.sql``); raises when it has none (continuous tokens)."""
    table = run_query(con, "adjacent_pair_counts", run_id)
    if table.is_empty():
        raise InputError(
            f"no adjacent pairs of discrete tokens in the no_split rows of run {run_id!r}",
            "score whole samples (condition no_split); continuous-token runs (token_id = -1) "
            "have no 2-gram entropy and get no `direct` estimate",
        )
    return entropy_grassberger(table["count"].to_numpy(), table["n_items"].to_numpy())


def corpus_adjacent_pair_entropy(
    con: duckdb.DuckDBPyConnection, corpus_run_id: str
) -> EntropyEstimate | None:
    """Ĥ_G of every adjacent pair of a counted corpus (ngram_counts, order 2); None if uncounted."""
    table = sql_to_polars(
        con,
        'SELECT count, n_items FROM ngram_counts WHERE run_id = ? AND "order" = 2 AND count > 0',
        [corpus_run_id],
    )
    if table.is_empty():
        return None
    return entropy_grassberger(table["count"].to_numpy(), table["n_items"].to_numpy())


def two_gram_entropy(
    con: duckdb.DuckDBPyConnection,
    run: dict[str, Any],
    named: str | None,
    corpus: dict[str, Any] | None,
) -> TwoGramEntropy:
    """Ĥ_G for the 2-gram correction of the scored ``run`` (a ``runs`` row); ``named``: the
    corpus run its config names (``corpus_run_id``; None when it names none); ``corpus``: that
    run's row (None when it is not in the warehouse)."""
    run_id = run["run_id"]
    if named is None:
        why = f"run {run_id} names no corpus run (config.corpus_run_id)"
    elif corpus is None:
        raise InputError(
            f"run {run_id!r} was scored from corpus run {named!r}, which is not in the warehouse",
            f"prepare it again (python -m pipelines.prepare_corpus --run-id {named} ...) or fix "
            "the scoring run's corpus_run_id",
        )
    else:
        check_same_tokenizer(run, corpus)
        estimate = corpus_adjacent_pair_entropy(con, named)
        if estimate is not None:
            return TwoGramEntropy(estimate, named, "corpus")
        why = (
            f"corpus run {named} has no 2-gram counts (python -m pipelines.count_ngrams "
            f"--run-id {named} --distances 1 writes them)"
        )
    warning = (
        f"warning: {why}; the 2-gram correction uses Ĥ_G of the run's own samples, which is "
        "biased low for a few samples and lowers every `direct` estimate (Appendix A.III)"
    )
    return TwoGramEntropy(sample_adjacent_pair_entropy(con, run_id), run_id, "samples", warning)


def two_gram_convergence(
    con: duckdb.DuckDBPyConnection, h: TwoGramEntropy, seed: int = 0
) -> EntropyConvergence | None:
    """Ĥ_G(Y1, Y2) of nested fractions (1/8, 1/4, 1/2, all) of the data ``h`` was counted from:
    the corpus's ``tokens`` (whole samples drawn, pairs within a document as ``count_ngrams``
    counts them, so all of it equals ``h``), or the run's own whole samples. None when those
    tokens are not in the warehouse (counts without their tokens) or hold no pair."""
    if h.basis == "corpus":
        sql = ("SELECT doc_id, chunk_index, position, token_id, sample_id FROM tokens "
               "WHERE run_id = ? ORDER BY doc_id, chunk_index, position")  # fmt: skip
    else:
        sql = ("SELECT sample_id AS doc_id, 0 AS chunk_index, position, token_id, sample_id "
               "FROM stg_whole_samples WHERE run_id = ? AND token_id >= 0 "
               "ORDER BY sample_id, position")  # fmt: skip
    t = sql_to_polars(con, sql, [h.data_run_id])
    groups = contiguous_groups(*(t[c].to_numpy() for c in ("doc_id", "chunk_index", "position")))
    if t.height < 2 or not (groups[1:] == groups[:-1]).any():
        return None
    return adjacent_pair_convergence(
        t["token_id"].to_numpy(), groups, t["sample_id"].to_numpy().astype(np.int64), seed=seed
    )


def check_same_tokenizer(run: dict[str, Any], corpus: dict[str, Any]) -> None:
    """Refuse a corpus tokenized with another tokenizer than the scored run's model uses."""
    mine, theirs = run.get("tokenizer"), corpus.get("tokenizer")
    if mine and theirs and _sha(mine) != _sha(theirs):
        raise InputError(
            f"run {run['run_id']!r} used tokenizer {mine!r} but its corpus run "
            f"{corpus['run_id']!r} was tokenized with {theirs!r}: their 2-gram counts do not "
            "describe the same tokens",
            "prepare the corpus with the model's tokenizer (prepare_corpus --tokenizer "
            "<model folder>) and score that corpus run",
        )


def _sha(label: str) -> str:
    """The sha256 of a tokenizer label ``<name> sha256:<hex>`` (else the whole label)."""
    return label.rsplit("sha256:", 1)[-1]
