"""The 2-gram correction (Appendix A.III, Eq. A.14) takes Ĥ_G(Y1, Y2) from the whole corpus the
run was scored from, checks the tokenizer, propagates se(Ĥ_G)·4/5 as a term common to every
point, and falls back to the run's own samples only with a warning."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import pipelines.bipartite_mi as bipartite_pipeline
from l2m_analysis.cli import run_cli
from l2m_analysis.estimators.bipartite import bipartite_mi_sql
from l2m_analysis.estimators.entropy import entropy_grassberger
from l2m_analysis.warehouse import Warehouse
from tests.reference import adjacent_pair_count_of_counts, bipartite_mi_polars
from tests.test_bipartite_sql import discrete_table

TOKENIZER = "toy-tokenizer sha256:" + "a" * 64
# the corpus's adjacent pairs as count-of-counts: 40 pairs seen once, 12 twice, 3 five times
CORPUS_COUNTS = {"count": [1, 2, 5], "n_items": [40, 12, 3]}


def make_warehouse(tmp_path, *, scored_tokenizer=TOKENIZER, corpus="books", counted=True):
    path = tmp_path / "l2m.duckdb"
    with Warehouse.open(path) as wh:
        wh.start_run("corpus", run_id="books", tokenizer=TOKENIZER, dataset="books", config={})
        if counted:
            counts = pl.DataFrame({"order": [2, 2, 2], **CORPUS_COUNTS})
            wh.append_batch("ngram_counts", "books", "order-2", counts, meta={"order": 2})
        wh.start_run("llm", run_id="scored", tokenizer=scored_tokenizer, dataset="books",
                     config={"corpus_run_id": corpus, "ratios": [2, 3, 4]})  # fmt: skip
        wh.append_batch("token_logprobs", "scored", "all", discrete_table("scored"))
    return path


def stored(path):
    with Warehouse.open(path, create=False) as wh:
        entropy = wh.query(
            "SELECT * FROM entropies WHERE run_id = 'scored' AND quantity = 'adjacent_pair'"
        )
        mi = wh.query(
            "SELECT * EXCLUDE (source, distance) FROM mi_estimates ORDER BY estimator, ratio, "
            "split_at"
        )
    return entropy, mi


def test_the_corpus_entropy_is_used_with_its_common_error(tmp_path, capsys) -> None:
    path = make_warehouse(tmp_path)
    assert run_cli(bipartite_pipeline.main, ["--warehouse", str(path)]) == 0
    assert "warning" not in capsys.readouterr().out
    corpus = entropy_grassberger(
        np.array(CORPUS_COUNTS["count"]), np.array(CORPUS_COUNTS["n_items"])
    )
    cc = adjacent_pair_count_of_counts(discrete_table("scored"))
    samples = entropy_grassberger(cc["count"].to_numpy(), cc["n_items"].to_numpy())
    assert abs(corpus.value - samples.value) > 1.0  # the two choices differ a lot here
    entropy, mi = stored(path)
    (row,) = entropy.to_dicts()
    assert row["value"] == pytest.approx(corpus.value) and row["data_run_id"] == "books"
    want = bipartite_mi_polars(discrete_table("scored"), corpus.value, corpus.stderr)
    assert_frame_equal(mi, want.sort("estimator", "ratio", "split_at"), abs_tol=1e-12)
    direct = mi.filter(pl.col("estimator") == "direct")
    assert direct["stderr_common"].to_list() == pytest.approx([0.8 * corpus.stderr] * direct.height)
    # every direct point carries the common term: stderr >= 4/5·se(Ĥ_G) even where pairs agree
    assert (direct["stderr"] >= 0.8 * corpus.stderr - 1e-15).all()
    assert mi.filter(pl.col("estimator") != "direct")["stderr_common"].is_null().all()


def test_one_more_nat_of_entropy_raises_every_direct_point_by_four_fifths(tmp_path) -> None:
    path = make_warehouse(tmp_path)
    assert run_cli(bipartite_pipeline.main, ["--warehouse", str(path)]) == 0
    entropy, mi = stored(path)
    before = mi.filter(pl.col("estimator") == "direct")
    with Warehouse.open(path) as wh:  # Eq. (A.14): −4·Ĥ_G/5 in the marginal, so +0.8 in I
        row = entropy.row(0, named=True)
        wh.replace_partitions("entropies", pl.DataFrame([{**row, "value": row["value"] + 1}]))
        moved = bipartite_mi_sql(wh.con, "scored").filter(pl.col("estimator") == "direct")
    assert moved.height == before.height > 0
    assert (moved["value"] - before["value"]).to_list() == pytest.approx([0.8] * before.height)


def test_another_tokenizer_is_refused(tmp_path, capsys) -> None:
    path = make_warehouse(tmp_path, scored_tokenizer="other sha256:" + "b" * 64)
    assert run_cli(bipartite_pipeline.main, ["--warehouse", str(path)]) == 2
    err = capsys.readouterr().err
    assert "was tokenized with" in err and "fix:" in err and "--tokenizer" in err


def test_a_missing_corpus_run_is_refused(tmp_path, capsys) -> None:
    path = make_warehouse(tmp_path, corpus="gone")
    assert run_cli(bipartite_pipeline.main, ["--warehouse", str(path)]) == 2
    assert "corpus run 'gone', which is not in the warehouse" in capsys.readouterr().err


def test_an_uncounted_corpus_falls_back_to_the_samples_with_a_warning(tmp_path, capsys) -> None:
    path = make_warehouse(tmp_path, counted=False)
    assert run_cli(bipartite_pipeline.main, ["--warehouse", str(path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "corpus run books has no 2-gram counts" in out and "count_ngrams --run-id books" in out
    entropy, _ = stored(path)
    assert entropy["data_run_id"].to_list() == ["scored"]
    assert not math.isnan(entropy["value"][0])
