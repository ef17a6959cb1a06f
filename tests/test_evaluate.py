"""Evaluation end to end on a real warehouse: one token row per (sample, position) bound to the
digest-named samples, position-wise KL/NLL and averages from those rows equal to the Python path
(to 1e-9), the exact-p reference run, the exact baseline, text NLL, a kill -9 mid-write and its
resume, the named queries (also through the DuckDB CLI), and the pipelines' errors for bad
input."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import torch

from l2m_analysis.cli import run_cli
from l2m_analysis.models.build import build_model, configure_torch
from l2m_analysis.sql import QUERIES_DIR
from l2m_analysis.training import evaluation, records
from l2m_analysis.training.checkpoint import LATEST, default_checkpoint_dir, load_checkpoint
from l2m_analysis.training.tasks import EVAL_STREAM, digest_array
from l2m_analysis.warehouse import Warehouse
from pipelines import evaluate, prepare_corpus, train
from tests.reference import evaluation_averages, evaluation_position_table

ROOT = Path(__file__).resolve().parents[1]
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
        config, _ = records.stored_config(wh, "g-gpt2")
        task = records.make_task(config, wh)
    samples = task.samples(EVAL_STREAM, range(48), seed=evaluate.DEFAULT_EVAL_SEED)
    expected = digest_array(samples, f"{task.label} seed={evaluate.DEFAULT_EVAL_SEED} n=48")
    assert set(rows["samples_digest"]) == {expected}


def python_path(path: Path, train_run: str, n_samples: int) -> dict[str, np.ndarray]:
    """The per-sample metrics the Python path computes for an evaluation of ``train_run``."""
    with Warehouse.open(path, create=False) as wh:
        config, _ = records.stored_config(wh, train_run)
        task = records.make_task(config, wh)
        folder = default_checkpoint_dir(wh.path, train_run)
    model = build_model(config.model_spec(), config.seed)
    load_checkpoint(folder / LATEST, config, model)
    model.eval()
    samples = records.held_out_samples(task, n_samples, seed=evaluate.DEFAULT_EVAL_SEED)
    metrics = evaluation.evaluate_in_batches(lambda s: task.metrics(model, s, "cpu"), samples, 32)
    return metrics


def assert_curves_match(sql: pl.DataFrame, python: pl.DataFrame, columns: list[str]) -> None:
    """Two per-position frames, aligned on position, equal to 1e-9 (NULLs where both are)."""
    joined = python.join(sql.sort("position"), on="position", suffix="_sql")
    assert joined.height == python.height == sql.height
    for column in columns:
        a, b = joined[column], joined[f"{column}_sql"]
        assert a.is_null().to_list() == b.is_null().to_list(), column
        diff = (a.cast(pl.Float64) - b.cast(pl.Float64)).abs().max()
        assert diff is None or diff <= 1e-9, (column, diff)


def test_the_queries_reproduce_the_python_path_to_1e_9(warehouse: Path) -> None:
    for train_run in ("g-gpt2", "g-mamba2", "t-gpt2"):
        metrics = python_path(warehouse, train_run, 48)
        table = evaluation_position_table(metrics)
        eval_id = f"eval-{train_run}"
        with Warehouse.open(warehouse, create=False) as wh:
            curves = wh.query_file("training_position_curves", {"run_id": eval_id})
            nll = wh.query_file("position_nll", {"run_id": eval_id})
            kl = wh.query_file("position_kl", {"run_id": eval_id})
            average = wh.query_file("average_metrics", {"run_id": eval_id}).row(0, named=True)
        gaussian = "kl" in metrics
        assert_curves_match(curves, table, ["kl", "kl_stderr", "nll", "nll_stderr"])
        assert_curves_match(nll, table, ["nll", "nll_stderr", "n"])
        averages = evaluation_averages(metrics)
        assert abs(average["avg_nll"] - averages["nll"]) <= 1e-9
        assert abs(average["avg_nll_stderr"] - averages["nll_stderr"]) <= 1e-9
        if gaussian:
            assert_curves_match(kl, table, ["kl", "kl_stderr", "n"])
            assert set(kl["kl_method"]) == {"analytic"}
            assert abs(average["avg_kl"] - averages["kl"]) <= 1e-9
            assert abs(average["avg_kl_stderr"] - averages["kl_stderr"]) <= 1e-9
            # the Monte-Carlo KL against the exact-p run: a float64 log p against the model's
            # float32 forward, so equal to the Python path's float32 one within float32 noise
            assert_mc = (kl["mc_kl"] - table["mc_kl"]).abs().max()
            assert assert_mc < 1e-5 and set(kl["reference_run_id"]) == {f"{eval_id}-exact-p"}
            assert set(kl["n_token_mismatch"]) == {0}
            assert abs(average["avg_mc_kl"] - averages["kl"]) < 5 * averages["mc_kl_stderr"]
        else:
            assert kl.height == 0 and average["avg_kl"] is None


def test_averages_compare_models_on_the_same_samples(warehouse: Path) -> None:
    with Warehouse.open(warehouse, create=False) as wh:
        table = wh.query_file("training_average_kl")
    assert sorted(table["model"]) == ["gpt2-tiny", "mamba2-tiny"]
    assert set(table["models_on_same_samples"]) == {2}  # both saw the same samples
    assert table["baseline_avg_kl"].is_not_null().all()
    assert (table["avg_kl_stderr"] > 0).all() and (table["avg_nll_stderr"] > 0).all()


def test_one_token_row_per_sample_and_position(warehouse: Path) -> None:
    rows = query(warehouse, "SELECT run_id, condition, count(*) AS n, count(DISTINCT (sample_id, "
                 "position)) AS keys, min(sample_id) AS lo, max(sample_id) AS hi, "
                 "min(token_id) AS min_id FROM token_logprobs WHERE run_id LIKE 'eval-%' "
                 "GROUP BY ALL ORDER BY run_id")  # fmt: skip
    expected = {"eval-g-gpt2": 48 * 16, "eval-g-gpt2-exact-p": 48 * 16, "eval-g-mamba2": 48 * 16,
                "eval-g-mamba2-exact-p": 48 * 16, "eval-t-gpt2": 26 * 32}  # fmt: skip
    assert dict(zip(rows["run_id"], rows["n"], strict=True)) == expected
    assert (rows["keys"] == rows["n"]).all() and set(rows["condition"]) == {"no_split"}
    assert (rows["lo"] == 0).all()
    text = rows.filter(pl.col("run_id") == "eval-t-gpt2")
    assert text["min_id"][0] >= 0 and text["hi"][0] == 25  # 26 held-out windows, ids 0..25
    kl = query(warehouse, "SELECT run_id, count(*) AS n FROM token_kl GROUP BY 1 ORDER BY 1")
    assert kl.to_dicts() == [{"run_id": "eval-g-gpt2", "n": 768},
                             {"run_id": "eval-g-mamba2", "n": 768}]  # fmt: skip
    # the text rows are the held-out windows' tokens, named by their corpus samples
    with Warehouse.open(warehouse, create=False) as wh:
        config = wh.query("SELECT config FROM runs WHERE run_id = 'eval-t-gpt2'")["config"][0]
        owners = json.loads(config)["corpus_sample_ids"]
        first = wh.query("SELECT token_id FROM tokens WHERE run_id = ? AND sample_id = ? "
                         "ORDER BY position LIMIT 32", [CORPUS, owners[3]])["token_id"]  # fmt: skip
        scored = wh.query("SELECT token_id FROM token_logprobs WHERE run_id = 'eval-t-gpt2' "
                          "AND sample_id = 3 ORDER BY position")["token_id"]  # fmt: skip
    assert len(owners) == 26 and all(o % 10 == 0 for o in owners)
    assert scored.to_list() == first.to_list()


def test_the_baseline_is_exact(warehouse: Path) -> None:
    curves = query(warehouse, "SELECT * FROM stg_evaluations WHERE arch = 'baseline'")
    with Warehouse.open(warehouse, create=False) as wh:
        config, _ = records.stored_config(wh, "g-gpt2")
        task = records.make_task(config, wh)
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
    tokens = query(warehouse, "SELECT run_id, count(*) AS n FROM token_logprobs WHERE run_id "
                   "LIKE 'eval-g-gpt2%' GROUP BY 1")  # fmt: skip
    assert set(tokens["n"]) == {16 * 16} and tokens.height == 2  # model and its exact p
    # the same options again: nothing to write, nothing duplicated
    assert run_cli(evaluate.main, ["--warehouse", str(warehouse), "--train-run", "g-gpt2",
                                   "--samples", "16"]) == 0  # fmt: skip
    again = query(warehouse, "SELECT count(*) AS n FROM token_logprobs WHERE run_id LIKE "
                  "'eval-g-gpt2%'")["n"][0]  # fmt: skip
    assert again == 2 * 16 * 16


def token_rows_of(path: Path, run_id: str) -> pl.DataFrame:
    return query(path, "SELECT sample_id, position, token_id, logprob FROM token_logprobs "
                 "WHERE run_id = ? ORDER BY sample_id, position", [run_id])  # fmt: skip


@pytest.mark.slow  # kill -9 of an evaluation subprocess
def test_an_evaluation_killed_mid_write_resumes_without_duplicates(warehouse: Path) -> None:
    # one sample per committed block: 200 blocks of three files each
    options = ["--warehouse", str(warehouse), "--train-run", "g-mamba2", "--samples", "200",
               "--rows-per-file", "16", "--no-baseline"]  # fmt: skip
    assert run_cli(evaluate.main, [*options, "--run-id", "straight"]) == 0
    killed = [*options, "--run-id", "killed"]
    folder = warehouse.parent / f"{warehouse.stem}_parquet" / "token_logprobs" / "run_id=killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipelines.evaluate", *killed],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 240
    while len(list(folder.glob("*.parquet"))) < 3 and proc.poll() is None:
        assert time.monotonic() < deadline, "no block was committed"
        time.sleep(0.002)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"finished before the kill: {proc.stderr.read()}"
    partial = query(warehouse, "SELECT count(*) AS n FROM token_logprobs WHERE run_id = 'killed'")
    assert 0 < partial["n"][0] < 200 * 16
    assert run_cli(evaluate.main, killed) == 0  # the same command resumes
    for suffix in ("", "-exact-p"):
        a, b = (
            token_rows_of(warehouse, f"straight{suffix}"),
            token_rows_of(warehouse, f"killed{suffix}"),
        )
        assert b.height == 200 * 16 and b.select("sample_id", "position").is_unique().all()
        assert a.equals(b), suffix
    counts = query(warehouse, "SELECT count(*) AS n, count(DISTINCT (sample_id, position)) AS k "
                   "FROM token_kl WHERE run_id = 'killed'")  # fmt: skip
    assert counts.row(0) == (200 * 16, 200 * 16)
    with Warehouse.open(warehouse, create=False) as wh:
        curves = [wh.query_file("position_kl", {"run_id": r}) for r in ("straight", "killed")]
    assert_curves_match(curves[1], curves[0], ["kl", "kl_stderr", "mc_kl", "n"])


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
