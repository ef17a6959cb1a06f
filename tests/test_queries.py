"""Every file in queries/ runs unchanged, as the DuckDB CLI would run it, against a warehouse the
pipelines built; the summary queries give the numbers the tables hold."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from l2m_analysis.cli import run_cli
from l2m_analysis.sql import QUERIES_DIR, STAGING_DIR
from l2m_analysis.steps.bipartite_mi import write_two_gram_entropy
from l2m_analysis.warehouse import Warehouse
from pipelines import (
    bipartite_mi,
    count_ngrams,
    evaluate,
    fit_exponents,
    gaussian_mi,
    prepare_corpus,
    score_oracle,
    train,
    two_point_mi,
)

QUERY_FILES = sorted(QUERIES_DIR.glob("*.sql")) + sorted(STAGING_DIR.glob("*.sql"))
CORPUS_RUN = "books-small"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """A small warehouse with every kind of run, built by the pipelines themselves."""
    path = tmp_path_factory.mktemp("queries") / "l2m.duckdb"
    wh = ["--warehouse", str(path)]
    steps = [
        (gaussian_mi, ["--layers", "3", "--vclub-layers", "2"]),
        (score_oracle, ["--run-id", "oracle", "--layers", "2", "--samples", "12", "--copies", "2"]),
        (bipartite_mi, []),
        (prepare_corpus, ["--run-id", CORPUS_RUN, "--max-tokens", "30000", "--min-tokens", "512"]),
        (count_ngrams, ["--run-id", CORPUS_RUN, "--distances", "1", "2", "4", "8", "16"]),
        (two_point_mi, ["--run-id", CORPUS_RUN]),
        (fit_exponents, ["--bootstrap", "20"]),
        (train, ["--model", "gpt2-tiny", "--data", "gaussian", "--length", "16", "--copies", "4",
                 "--preset", "test", "--run-id", "train-g"]),
        (train, ["--model", "gpt2-tiny", "--data", "text", "--corpus-run", CORPUS_RUN,
                 "--length", "32", "--preset", "test", "--run-id", "train-t"]),
        (evaluate, ["--train-run", "train-g", "train-t", "--samples", "16"]),
    ]  # fmt: skip
    for module, args in steps:
        assert run_cli(module.main, [*wh, *args]) == 0, module.__name__
    with Warehouse.open(path) as w:
        # a "model" whose log q is the oracle's log p minus 0.1 nats, with the oracle as its
        # reference (position_kl), and a run of discrete tokens (adjacent_pair_counts)
        exact = w.query("SELECT * FROM token_logprobs WHERE run_id = 'oracle'")
        w.start_run("planted", run_id="model-q", model="q", config={"reference_run_id": "oracle"})
        w.append_batch("token_logprobs", "model-q", "all",
                       exact.with_columns(pl.lit("model-q").alias("run_id"),
                                          pl.col("logprob") - 0.1))  # fmt: skip
        w.start_run("planted", run_id="discrete")
        discrete = exact.filter(pl.col("condition") == "no_split").with_columns(
            pl.lit("discrete").alias("run_id"),
            (pl.col("position") % 3).alias("token_id"),
            -pl.col("logprob").abs(),
        )
        w.append_batch("token_logprobs", "discrete", "all", discrete)
        # its Ĥ_G(Y1, Y2) and the convergence of it (adjacent_pair_convergence)
        write_two_gram_entropy(w, w.require_run("discrete"), "planted", lambda _: None)
        # a corpus scored with the trained text model as q (trained_q_bipartite_mi)
        w.start_run(
            "llm",
            run_id="q-train-t",
            model="train-t",
            config={
                "model": {"name": "train-t"},
                "corpus_run_id": CORPUS_RUN,
                "corpus_sample_ids": [0, 1, 2],
            },  # as score_logprobs records them
        )
        w.replace_partitions("mi_estimates", pl.DataFrame({
            "run_id": "q-train-t", "source": "books", "quantity": "bipartite",
            "estimator": "vclub", "length": [4, 8], "split_at": [2, 4], "ratio": 2,
            "value": [0.1, 0.2], "stderr": 0.05, "n": 8,
        }))  # fmt: skip
    return path


def test_trained_q_joins_the_training_run_behind_the_scorer(warehouse: Path) -> None:
    rows = run_file(warehouse, QUERIES_DIR / "trained_q_bipartite_mi.sql")
    assert rows.select("q", "q_kind", "preset", "arch", "train_length").unique().to_dicts() == [
        {"q": "train-t", "q_kind": "trained", "preset": "gpt2-tiny", "arch": "gpt2",
         "train_length": 32}
    ]  # fmt: skip
    assert rows["value"].to_list() == [0.1, 0.2] and set(rows["corpus_run_id"]) == {CORPUS_RUN}


def run_file(warehouse: Path, file: Path) -> pl.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.sql(file.read_text()).pl()


@pytest.mark.parametrize("file", QUERY_FILES, ids=lambda f: f.stem)
def test_every_query_is_documented_and_runs_unchanged(warehouse: Path, file: Path) -> None:
    header = [line for line in file.read_text().splitlines() if line.startswith("--")]
    text = "\n".join(header)
    assert "Reads:" in text and "Answer:" in text, f"{file.name}: say what it reads and answers"
    result = run_file(warehouse, file)
    assert result.height > 0, file.name


def duckdb_cli() -> str:
    """The `duckdb` command of this environment (package duckdb-cli, a core dependency)."""
    beside = Path(sys.executable).parent / "duckdb"
    found = str(beside) if beside.exists() else shutil.which("duckdb")
    if found is None:
        pytest.fail("no `duckdb` command: pip install 'duckdb-cli>=1.5,<2' (or make install)")
    return found


@pytest.mark.parametrize("file", QUERY_FILES, ids=lambda f: f.stem)
def test_every_query_runs_in_the_duckdb_cli(warehouse: Path, file: Path) -> None:
    # exactly what a user types: duckdb -readonly warehouse/l2m.duckdb < queries/<name>.sql
    out = subprocess.run(
        [duckdb_cli(), "-readonly", "-csv", str(warehouse)],
        stdin=file.open(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0 and "Error" not in out.stderr, out.stderr
    from_cli = pl.read_csv(io.StringIO(out.stdout), infer_schema=False, null_values="NULL")
    from_python = run_file(warehouse, file)
    assert from_cli.columns == from_python.columns
    assert from_cli.height == from_python.height > 0
    # the same values, column by column (in one row order: staging views have no ORDER BY)
    kept = [c for c, t in from_python.schema.items() if t.is_numeric() or t == pl.String]
    numeric = [c for c in kept if from_python.schema[c].is_numeric()]
    cli_rows = from_cli.select(kept).with_columns(pl.col(numeric).cast(pl.Float64)).sort(kept)
    py_rows = from_python.select(kept).with_columns(pl.col(numeric).cast(pl.Float64)).sort(kept)
    for name in kept:
        if name in numeric:
            got, want = cli_rows[name].to_numpy(), py_rows[name].to_numpy()
            assert np.allclose(got, want, rtol=1e-9, equal_nan=True), name
        else:
            assert cli_rows[name].to_list() == py_rows[name].to_list(), name


def test_two_point_mi_pairs_each_distance_with_its_floor(warehouse: Path) -> None:
    curve = run_file(warehouse, QUERIES_DIR / "two_point_mi.sql")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        stored = con.sql(
            "SELECT distance, estimator, value FROM mi_estimates WHERE quantity = 'two_point' "
            f"AND run_id = '{CORPUS_RUN}'"
        ).pl()
    assert curve.filter(run_id=CORPUS_RUN)["distance"].to_list() == [1, 2, 4, 8, 16]
    for row in curve.filter(run_id=CORPUS_RUN).iter_rows(named=True):
        at_d = stored.filter(distance=row["distance"])
        mi = at_d.filter(estimator="grassberger")["value"].item()
        floor = at_d.filter(estimator="grassberger_shuffled")["value"].item()
        assert row["mi"] == mi and row["floor"] == floor
        assert row["above_floor"] == pytest.approx(mi - floor)
    # Gaussian two-point rows are exact values, not corpus estimates: not in this curve
    assert set(curve["run_id"]) == {CORPUS_RUN}


def test_fitted_exponents_has_one_row_per_series(warehouse: Path) -> None:
    table = run_file(warehouse, QUERIES_DIR / "fitted_exponents.sql")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        fits = con.sql("SELECT * FROM fits").pl()
    assert table.height == fits.filter(pl.col("law") != "log").height
    bipartite = table.filter(quantity="bipartite")
    assert set(bipartite["exponent_name"]) == {"beta"}
    assert (bipartite["delta_aic"] > 0).to_list() == (
        bipartite["preferred_law"] == "power"
    ).to_list()
    two_point = table.filter(quantity="two_point")
    assert set(two_point["exponent_name"]) == {"alpha"} and two_point["delta_aic"].is_null().all()
    assert (table["exponent_lo"] <= table["exponent"]).all()
    assert (table["exponent"] <= table["exponent_hi"]).all()


def test_corpus_summary_counts_what_the_parquet_holds(warehouse: Path) -> None:
    summary = run_file(warehouse, QUERIES_DIR / "corpus_summary.sql").row(0, named=True)
    files = sorted((warehouse.parent / "l2m_parquet" / "tokens").rglob("run_id=*/*.parquet"))
    tokens = pl.concat([pl.read_parquet(f) for f in files])
    lengths = tokens.group_by("sample_id").len()["len"].to_numpy()
    assert summary["run_id"] == CORPUS_RUN and summary["status"] == "complete"
    assert summary["tokens"] == tokens.height <= 30000
    assert summary["samples"] == lengths.size and summary["min_sample_tokens"] >= 512
    assert summary["mean_sample_tokens"] == pytest.approx(np.mean(lengths))
    assert summary["documents"] == tokens["doc_id"].n_unique()
    assert summary["distinct_tokens"] == tokens["token_id"].n_unique()
    assert summary["tokenizer"].startswith("gpt-neox-20b sha256:")


def test_every_query_is_listed_in_the_readme() -> None:
    readme = (QUERIES_DIR.parent / "README.md").read_text()
    missing = [f.stem for f in QUERY_FILES if f"`{f.stem}`" not in readme]
    assert not missing, f"add these queries to the README's table: {missing}"
