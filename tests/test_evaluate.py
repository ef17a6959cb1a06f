"""Evaluation end to end on a real warehouse: position-wise KL/NLL with standard errors bound to
their samples, averages that equal the reported ones, the exact baseline, text NLL, the named
queries (also through the DuckDB CLI), and the pipelines' errors for bad input."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from l2m_analysis.cli import run_cli
from l2m_analysis.models.build import configure_torch
from l2m_analysis.sql import QUERIES_DIR
from l2m_analysis.training import runs
from l2m_analysis.training.tasks import EVAL_STREAM, digest_array
from l2m_analysis.warehouse import Warehouse
from pipelines import evaluate, prepare_corpus, train

CORPUS = "books-tiny"
NEW_QUERIES = ("training_average_kl", "training_position_curves", "training_average_nll")
GAUSSIAN = ["--data", "gaussian", "--length", "16", "--copies", "4", "--preset", "test",
            "--steps", "20"]  # fmt: skip


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """Two Gaussian models and one text model, trained briefly and evaluated."""
    before = torch.get_num_threads()
    configure_torch(1)
    path = tmp_path_factory.mktemp("evaluate") / "l2m.duckdb"
    wh = ["--warehouse", str(path)]
    steps = [
        (prepare_corpus, ["--run-id", CORPUS, "--max-tokens", "20000", "--min-tokens", "64"]),
        (train, ["--model", "gpt2-tiny", *GAUSSIAN, "--run-id", "g-gpt2"]),
        (train, ["--model", "mamba2-tiny", *GAUSSIAN, "--run-id", "g-mamba2"]),
        (train, ["--model", "gpt2-tiny", "--data", "text", "--corpus-run", CORPUS, "--length",
                 "32", "--preset", "test", "--steps", "4", "--run-id", "t-gpt2"]),
        (evaluate, ["--samples", "48"]),
    ]  # fmt: skip
    for module, args in steps:
        assert run_cli(module.main, [*wh, *args]) == 0, module.__name__
    yield path
    torch.set_num_threads(before)


def query(path: Path, sql: str, params=None) -> pl.DataFrame:
    with Warehouse.open(path, create=False) as wh:
        return wh.query(sql, params)


def test_position_metrics_hold_kl_nll_stderr_and_the_samples(warehouse: Path) -> None:
    rows = query(warehouse, "SELECT * FROM position_metrics WHERE run_id = 'eval-g-gpt2' "
                 "ORDER BY position")  # fmt: skip
    assert rows["position"].to_list() == list(range(16))
    assert set(rows["train_length"]) == {16} and set(rows["seq_len"]) == {16}
    assert set(rows["n"]) == {48} and (rows["kl_stderr"][1:] > 0).all()
    # position 0 has no past: p and q are the same for every sample, so its KL has no spread
    assert rows["kl_stderr"][0] == pytest.approx(0, abs=1e-9)
    assert rows["kl"].is_not_null().all() and (rows["kl"] >= 0).all()
    # the digest names exactly the samples: regenerate them and compare
    with Warehouse.open(warehouse, create=False) as wh:
        config, _ = runs.stored_config(wh, "g-gpt2")
        task = runs.make_task(config, wh)
    samples = task.samples(EVAL_STREAM, range(48), seed=evaluate.DEFAULT_EVAL_SEED)
    expected = digest_array(samples, f"{task.label} seed={evaluate.DEFAULT_EVAL_SEED} n=48")
    assert set(rows["samples_digest"]) == {expected}


def test_averages_over_positions_equal_the_reported_averages(warehouse: Path) -> None:
    with Warehouse.open(warehouse, create=False) as wh:
        table = wh.query_file("training_average_kl")
        for r in table.iter_rows(named=True):
            stored = json.loads(wh.require_run(r["run_id"])["config"])["averages"]
            assert r["avg_kl"] == pytest.approx(stored["kl"], rel=1e-12)
            assert r["avg_nll"] == pytest.approx(stored["nll"], rel=1e-12)
            assert r["avg_kl_stderr"] == stored["kl_stderr"] > 0
            # the Monte-Carlo check agrees with the analytic KL
            assert abs(stored["mc_kl"] - stored["kl"]) < 5 * stored["mc_kl_stderr"]
    assert sorted(table["model"]) == ["gpt2-tiny", "mamba2-tiny"]
    assert set(table["models_on_same_samples"]) == {2}  # both saw the same samples
    assert table["baseline_avg_kl"].is_not_null().all()


def test_the_baseline_is_exact(warehouse: Path) -> None:
    curves = query(warehouse, "SELECT * FROM stg_evaluations WHERE arch = 'baseline'")
    with Warehouse.open(warehouse, create=False) as wh:
        config, _ = runs.stored_config(wh, "g-gpt2")
        task = runs.make_task(config, wh)
    assert np.allclose(curves.sort("position")["kl"].to_numpy(), task.baseline_kl())
    assert np.allclose(curves["nll"].to_numpy(), 0.5 * np.log(2 * np.pi) + 0.5)


def test_text_evaluation_has_nll_only_and_table_f1(warehouse: Path) -> None:
    with Warehouse.open(warehouse, create=False) as wh:
        table = wh.query_file("training_average_nll")
        curves = wh.query_file("training_position_curves").filter(data="text")
    assert table["model"].to_list() == ["gpt2-tiny"] and table["train_length"].to_list() == [32]
    assert 0 < table["avg_nll"][0] < np.log(50432) + 1
    assert curves.height == 32 and curves["kl"].is_null().all()
    assert curves["nll"].is_not_null().all()


def test_rerunning_evaluate_replaces_its_rows(warehouse: Path) -> None:
    before = query(warehouse, "SELECT count(*) AS n FROM position_metrics")["n"][0]
    assert run_cli(evaluate.main, ["--warehouse", str(warehouse), "--train-run", "g-gpt2",
                                   "--samples", "16"]) == 0  # fmt: skip
    rows = query(warehouse, "SELECT n FROM position_metrics WHERE run_id = 'eval-g-gpt2'")
    assert set(rows["n"]) == {16}
    assert query(warehouse, "SELECT count(*) AS n FROM position_metrics")["n"][0] == before


def duckdb_cli() -> str:
    beside = Path(sys.executable).parent / "duckdb"
    return str(beside) if beside.exists() else shutil.which("duckdb")


@pytest.mark.parametrize("name", NEW_QUERIES)
def test_queries_run_unchanged_in_the_duckdb_cli(warehouse: Path, name: str) -> None:
    file = QUERIES_DIR / f"{name}.sql"
    header = "\n".join(line for line in file.read_text().splitlines() if line.startswith("--"))
    assert "Reads:" in header and "Answer:" in header
    out = subprocess.run([duckdb_cli(), "-readonly", "-csv", str(warehouse)], stdin=file.open(),
                         capture_output=True, text=True, timeout=120)  # fmt: skip
    assert out.returncode == 0 and "Error" not in out.stderr, out.stderr
    from_cli = pl.read_csv(io.StringIO(out.stdout), infer_schema=False)
    with Warehouse.open(warehouse, create=False) as wh:
        from_python = wh.query_file(name)
    assert from_cli.columns == from_python.columns and from_cli.height == from_python.height > 0


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--model", "gpt9-tiny"], "unknown model preset"),
        (["--model", "gpt2-tiny", "--length", "100"], "must be 4^l"),
        (["--model", "gpt2-tiny", "--preset", "fast"], "unknown optimizer preset"),
        (
            [
                "--model",
                "gpt2-tiny",
                "--data",
                "text",
                "--corpus-run",
                CORPUS,
                "--vocab-size",
                "1000",
            ],
            "another tokenizer",
        ),  # fmt: skip
        (
            [
                "--model",
                "gpt2-tiny",
                "--data",
                "text",
                "--corpus-run",
                CORPUS,
                "--tokenizer",
                "llama-3",
            ],
            "tokenized with 'gpt-neox-20b",
        ),  # fmt: skip
        (["--model", "gpt2-tiny", "--data", "text", "--corpus-run", "g-gpt2"], "not a corpus"),
    ],
)
def test_bad_input_is_a_clear_error(warehouse: Path, capsys, args: list[str], needle: str) -> None:
    code = run_cli(train.main, ["--warehouse", str(warehouse), *args, "--run-id", "bad"])
    err = capsys.readouterr().err
    assert code == 2 and needle in err and "fix:" in err and "Traceback" not in err
