"""pipelines.runs lists runs and deletes one with confirmation; a failed run that committed no
data can be rerun with the fixed options under the same id."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl

from l2m_analysis.cli import run_cli
from l2m_analysis.warehouse import Warehouse
from pipelines import prepare_corpus, runs

ROOT = Path(__file__).resolve().parents[1]


def test_a_failed_run_without_data_can_be_rerun_with_the_fix(tmp_path: Path, capsys) -> None:
    wh = ["--warehouse", str(tmp_path / "l2m.duckdb"), "--run-id", "mine"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run_cli(prepare_corpus.main, [*wh, "--source", str(empty)]) == 2  # empty folder
    assert "empty corpus" in capsys.readouterr().err
    text = tmp_path / "text"
    text.mkdir()
    (text / "a.txt").write_text("A sentence that is long enough to keep. " * 400)
    assert run_cli(prepare_corpus.main, [*wh, "--source", str(text), "--min-tokens", "64"]) == 0
    out = capsys.readouterr()
    assert "restarted with new options" in out.err
    with Warehouse.open(tmp_path / "l2m.duckdb", create=False) as w:
        assert w.require_run("mine")["status"] == "complete"
        assert w.query("SELECT count(*) AS n FROM tokens")["n"][0] > 0


def test_list_and_delete_with_confirmation(tmp_path: Path, capsys) -> None:
    path = tmp_path / "l2m.duckdb"
    with Warehouse.open(path) as wh:
        for run in ("books", "scored"):
            config = {"corpus_run_id": "books"} if run == "scored" else {}
            wh.start_run("planted", run_id=run, config=config)
            counts = pl.DataFrame({"order": [1], "count": [2], "n_items": [3]})
            wh.append_batch("ngram_counts", run, "order-1", counts)
    assert run_cli(runs.main, ["--warehouse", str(path)]) == 0
    listed = capsys.readouterr().out
    assert "books" in listed and "scored" in listed and "1 ngram_counts" in listed
    refused = subprocess.run(  # stdin is not a terminal: confirmation needs --yes
        [sys.executable, "-m", "pipelines.runs", "--warehouse", str(path), "--delete", "books"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert (
        refused.returncode == 2 and "--yes" in refused.stderr and "Traceback" not in refused.stderr
    )
    assert run_cli(runs.main, ["--warehouse", str(path), "--delete", "books", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "runs that name books: scored" in out and "deleted run books: 1 ngram_counts" in out
    with Warehouse.open(path, create=False) as wh:
        assert wh.query("SELECT run_id FROM runs")["run_id"].to_list() == ["scored"]
        assert wh.query("SELECT DISTINCT run_id FROM ngram_counts")["run_id"].to_list() == [
            "scored"
        ]
    assert run_cli(runs.main, ["--warehouse", str(path), "--delete", "nope", "--yes"]) == 2
    assert "unknown run id 'nope'" in capsys.readouterr().err
