"""The three pipelines end to end: prepare_corpus -> count_ngrams -> two_point_mi.

Ground truth: Markov-chain tokens written to the warehouse give the exact two-point MI at
small d and the shift-baseline floor at large d. Also: resume after a kill, streaming equals
in-memory counting, and bad input exits with status 2 and a message, never a wrong number.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from l2m_analysis.cli import run_cli
from l2m_analysis.corpus.markov import (
    exact_two_point_mi,
    sample_markov_chain,
    sticky_transition_matrix,
)
from l2m_analysis.warehouse import Warehouse
from pipelines import count_ngrams, prepare_corpus, two_point_mi

N_STATES, N_DOCS, DOC_LENGTH = 40, 16, 6000
DISTANCES = ["1", "2", "4", "8", "64", "256", "1024"]


def write_markov_run(path, run_id: str, rng_seed: int = 5) -> np.ndarray:
    """A corpus run whose tokens come from a known Markov chain; returns its matrix."""
    rng = np.random.default_rng(rng_seed)
    transition = sticky_transition_matrix(N_STATES, 0.6, rng, concentration=0.5)
    streams = sample_markov_chain(transition, N_DOCS, DOC_LENGTH, rng)
    with Warehouse.open(path) as wh:
        wh.start_run("corpus", run_id=run_id, dataset="markov", config={"vocab_size": N_STATES})
        for first in range(0, N_DOCS, 4):  # batches of whole documents, 2 samples each
            docs = np.arange(first, first + 4)
            n = 4 * DOC_LENGTH
            frame = pl.DataFrame({
                "doc_id": np.repeat(docs, DOC_LENGTH),
                "sample_id": np.repeat(np.arange(first * 2, first * 2 + 8), DOC_LENGTH // 2),
                "chunk_index": np.tile(np.repeat([0, 1], DOC_LENGTH // 2), 4),
                "position": np.tile(np.arange(DOC_LENGTH // 2), 8),
                "token_id": streams[first : first + 4].ravel(),
            })  # fmt: skip
            assert frame.height == n
            wh.append_batch("tokens", run_id, f"docs-{first:09d}-{first + 3:09d}", frame)
        wh.finish_run(run_id)
    return transition


def run(module, *args: str) -> int:
    return run_cli(module.main, list(args))


def test_markov_ground_truth_through_the_pipelines(tmp_path) -> None:
    db = str(tmp_path / "w.duckdb")
    transition = write_markov_run(db, "markov")
    assert (
        run(count_ngrams, "--warehouse", db, "--run-id", "markov", "--distances", *DISTANCES) == 0
    )
    assert run(two_point_mi, "--warehouse", db, "--run-id", "markov") == 0
    with Warehouse.open(db) as wh:
        mi = wh.query("SELECT * FROM mi_estimates WHERE run_id = 'markov' ORDER BY distance")
        ent = wh.query("SELECT quantity, count(*) AS n FROM entropies GROUP BY 1 ORDER BY 1")
    assert dict(ent.iter_rows()) == {"adjacent_pair": 1, "pair_distance": 14, "unigram": 1}
    real = mi.filter(pl.col("estimator") == "grassberger")
    floor = mi.filter(pl.col("estimator") == "grassberger_shuffled")
    distances = [int(d) for d in DISTANCES]
    assert real["distance"].to_list() == distances == floor["distance"].to_list()
    exact = dict(zip(distances, exact_two_point_mi(transition, distances), strict=True))
    small = [d for d in distances if exact[d] > 0.1]  # the exact value within the error bars
    large = [d for d in distances if exact[d] < 1e-8]  # on the baseline's bias floor, above 0
    assert small == [1, 2, 4] and large == [64, 256, 1024], exact  # both checks below run
    rows = {r["distance"]: r for r in real.iter_rows(named=True)}
    for d in small:
        assert abs(rows[d]["value"] - exact[d]) < 2 * rows[d]["stderr"], rows[d]
        assert rows[d]["stderr"] < 0.05 * exact[d]  # and the error bars are tight
    for d in large:
        base = floor.filter(pl.col("distance") == d)["value"][0]
        assert rows[d]["value"] > 0.005 and abs(rows[d]["value"] - base) < 0.002, (rows[d], base)
    assert real["n"][0] == N_DOCS * (DOC_LENGTH - 1)  # pairs never cross documents


def test_streaming_blocks_give_the_same_counts(tmp_path) -> None:
    db = str(tmp_path / "w.duckdb")
    for run_id in ("whole", "streamed"):
        write_markov_run(db, run_id)
    common = ["--warehouse", db, "--distances", "1", "16", "512"]
    assert run(count_ngrams, *common, "--run-id", "whole") == 0
    assert run(count_ngrams, *common, "--run-id", "streamed", "--block-tokens", "30000",
               "--buckets", "3", "--engine", "duckdb") == 0  # fmt: skip
    with Warehouse.open(db) as wh:

        def table(run_id: str, name: str) -> pl.DataFrame:
            cols = (
                '"order", count, n_items' if name == "ngram_counts" else "distance, count, n_items"
            )
            where = "" if name == "ngram_counts" else "AND NOT shuffled"
            return wh.query(f"SELECT {cols} FROM {name} WHERE run_id = ? {where} ORDER BY ALL",
                            [run_id])  # fmt: skip

        for name in ("ngram_counts", "pair_counts"):
            assert table("whole", name).equals(table("streamed", name))
        assert not (tmp_path / "w_spill").exists() or not any((tmp_path / "w_spill").iterdir())


def books_folder(tmp_path, n_docs: int = 3):
    folder = tmp_path / "books"
    folder.mkdir()
    for i in range(n_docs):
        text = " ".join(f"Book {i} sentence {j} tells a story." for j in range(120))
        (folder / f"book{i}.txt").write_text(text)
    (folder / "tiny.txt").write_text("Too short.")
    return folder


def test_prepare_corpus_report_resume_and_counts(tmp_path, capsys, monkeypatch) -> None:
    db, source = str(tmp_path / "w.duckdb"), str(books_folder(tmp_path))
    args = ["--warehouse", db, "--source", source, "--min-tokens", "100", "--batch-tokens", "500"]
    clean_db = str(tmp_path / "clean.duckdb")
    assert run(prepare_corpus, *args[2:], "--warehouse", clean_db, "--run-id", "c") == 0
    out = capsys.readouterr().out
    assert "documents read: 4 (kept 3)" in out
    assert "documents dropped, shorter than min_tokens: 1" in out
    assert "samples kept:" in out and "undecodable byte sequences replaced by U+FFFD: 0" in out

    calls = {"n": 0}
    original = Warehouse.append_batch

    def killed_after_one(self, *a, **k):  # the run dies after its first committed batch
        if calls["n"] == 1:
            raise KeyboardInterrupt
        calls["n"] += 1
        return original(self, *a, **k)

    monkeypatch.setattr(Warehouse, "append_batch", killed_after_one)
    assert run(prepare_corpus, *args, "--run-id", "r") == 130
    monkeypatch.setattr(Warehouse, "append_batch", original)
    assert run(prepare_corpus, *args, "--run-id", "r") == 0
    assert "already committed earlier" in capsys.readouterr().out
    query = "SELECT doc_id, sample_id, chunk_index, position, token_id FROM tokens ORDER BY ALL"
    with Warehouse.open(db) as wh, Warehouse.open(clean_db) as clean:
        assert wh.query(query).equals(clean.query(query))  # resumed == clean, no duplicates
        run_row = wh.require_run("r")
        assert run_row["kind"] == "corpus" and run_row["status"] == "complete"
        assert run_row["tokenizer"].startswith("gpt-neox-20b sha256:")
        assert json.loads(run_row["config"])["vocab_size"] == 50277
        starts = wh.query("SELECT token_id FROM tokens WHERE position = 0")["token_id"]
        assert set(starts.to_list()) <= {12323, 7225}  # "Book" / " Book": sentence starts

    # documents far shorter than d = 100000: that distance is skipped, not a wrong number
    assert run(count_ngrams, "--warehouse", db, "--run-id", "r", "--distances", "1", "100000") == 0
    assert "every document shorter than d" in capsys.readouterr().out
    assert run(two_point_mi, "--warehouse", db, "--run-id", "r") == 0
    out = capsys.readouterr().out
    assert "d = 100000: no token pairs" in out
    with Warehouse.open(db) as wh:
        assert wh.query("SELECT DISTINCT distance FROM mi_estimates")["distance"].to_list() == [1]
        diff = wh.query("SELECT value, stderr FROM mi_estimates "
                        "WHERE estimator = 'grassberger_minus_baseline'").row(0)  # fmt: skip
    assert f"{diff[0]:.4f} ± {diff[1]:.4f}" in out  # the stored difference, with its stderr


@pytest.mark.parametrize(
    ("files", "extra", "message"),
    [
        ({}, [], "empty corpus"),
        ({"a.txt": "Short text. Only two sentences."}, [], "no samples"),
        ({"c.jsonl": '{"body": "x"}\n'}, [], "no text column 'text'"),
    ],
)
def test_prepare_corpus_bad_input(tmp_path, capsys, files, extra, message) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    db = str(tmp_path / "w.duckdb")
    assert run(prepare_corpus, "--warehouse", db, "--source", str(folder), *extra) == 2
    assert message in capsys.readouterr().err


def test_count_ngrams_refuses_an_overflowing_vocabulary(tmp_path, capsys) -> None:
    db = str(tmp_path / "w.duckdb")
    with Warehouse.open(db) as wh:
        wh.start_run("corpus", run_id="huge", config={"vocab_size": 2**32})
        wh.append_batch("tokens", "huge", "docs-0", pl.DataFrame({
            "doc_id": [0, 0], "sample_id": [0, 0], "chunk_index": [0, 0], "position": [0, 1],
            "token_id": [1, 2]}))  # fmt: skip
    assert run(count_ngrams, "--warehouse", db, "--run-id", "huge") == 2
    assert "overflows the 64-bit pair key" in capsys.readouterr().err
    assert run(count_ngrams, "--warehouse", db, "--run-id", "nope") == 2
    assert run(two_point_mi, "--warehouse", db, "--run-id", "huge") == 2
    assert "no 1-gram counts" in capsys.readouterr().err


def test_prepare_corpus_limits(tmp_path, capsys) -> None:
    db, source = str(tmp_path / "w.duckdb"), str(books_folder(tmp_path))
    common = ["--warehouse", db, "--source", source, "--min-tokens", "100"]
    assert run(prepare_corpus, *common, "--run-id", "t", "--max-tokens", "1000") == 0
    assert "stopped at --max-tokens" in capsys.readouterr().out
    assert run(prepare_corpus, *common, "--run-id", "d", "--max-docs", "1") == 0
    with Warehouse.open(db) as wh:
        per_run = wh.query("SELECT run_id, count(*) AS n, count(DISTINCT doc_id) AS docs "
                           "FROM tokens GROUP BY 1 ORDER BY 1")  # fmt: skip
    rows = {r["run_id"]: r for r in per_run.iter_rows(named=True)}
    assert 900 <= rows["t"]["n"] <= 1000  # whole samples only, never over the limit
    assert rows["d"]["docs"] == 1


def test_the_subtracted_rows_carry_the_jackknife_stderr_of_the_difference() -> None:
    """I_d − I_d^shuffled at each d: its stderr is the jackknife's of the difference where the
    step computed one, else √(σ² + σ_shuffled²) (hand numbers)."""
    from l2m_analysis.steps.two_point_mi import SUBTRACTED_ESTIMATOR, with_subtracted

    rows = pl.DataFrame({
        "run_id": "r", "source": "s", "quantity": "two_point",
        "estimator": ["grassberger", "grassberger_shuffled"] * 2, "distance": [1, 1, 2, 2],
        "value": [0.5, 0.1, 0.3, 0.1], "stderr": [0.03, 0.04, 0.03, 0.04], "n": [9, 9, 8, 8],
    })  # fmt: skip
    derived = with_subtracted(rows).filter(estimator=SUBTRACTED_ESTIMATOR).sort("distance")
    assert derived["value"].to_list() == pytest.approx([0.4, 0.2])
    assert derived["stderr"].to_list() == pytest.approx([0.05, 0.05])
    jack = rows.with_columns(stderr_difference=pl.Series([0.011, 0.5, 0.022, 0.5]))
    got = with_subtracted(jack)
    assert "stderr_difference" not in got.columns and got.height == 6
    sub = got.filter(estimator=SUBTRACTED_ESTIMATOR).sort("distance")
    assert sub["stderr"].to_list() == pytest.approx([0.011, 0.022])
    assert got.filter(estimator="grassberger")["stderr"].to_list() == [0.03, 0.03]
