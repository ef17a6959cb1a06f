"""A training run killed with kill -9 and resumed ends exactly where an uninterrupted one does:
same training curve, bitwise-equal weights, same evaluation. A real process is killed; the
uninterrupted run and the resume run in this process (importing transformers costs ~10 s per
process here), all on a real warehouse."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import torch

from l2m_analysis.cli import run_cli
from l2m_analysis.warehouse import Warehouse
from pipelines import evaluate, train

ROOT = Path(__file__).resolve().parents[1]
RUN = "resume-me"
OPTIONS = ["--model", "gpt2-tiny", "--data", "gaussian", "--length", "16", "--copies", "4",
           "--preset", "test", "--steps", "240", "--checkpoint-every", "40", "--log-every", "10",
           "--eval-every", "80", "--eval-samples", "8", "--run-id", RUN]  # fmt: skip


def command(warehouse: Path) -> list[str]:
    return [sys.executable, "-m", "pipelines.train", "--warehouse", str(warehouse), *OPTIONS]


def run_to_end(warehouse: Path) -> None:
    assert run_cli(train.main, command(warehouse)[3:]) == 0


def checkpoint(warehouse: Path) -> Path:
    return warehouse.parent / "l2m_checkpoints" / RUN / "latest.pt"


def kill_after_first_checkpoint(warehouse: Path) -> None:
    proc = subprocess.Popen(command(warehouse), cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 240
    while not checkpoint(warehouse).exists() and proc.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, f"finished before the kill: {proc.stderr.read()}"


def curve(warehouse: Path) -> pl.DataFrame:
    with Warehouse.open(warehouse, create=False) as wh:
        return wh.query(
            "SELECT step, tokens, split, loss, lr, grad_norm FROM training_curve "
            "WHERE run_id = ? ORDER BY step, split", [RUN],
        )  # fmt: skip


def positions(warehouse: Path) -> pl.DataFrame:
    assert run_cli(evaluate.main, ["--warehouse", str(warehouse), "--samples", "32",
                                   "--no-baseline"]) == 0  # fmt: skip
    with Warehouse.open(warehouse, create=False) as wh:
        return wh.query("SELECT * FROM position_metrics WHERE run_id = ? ORDER BY position",
                        [f"eval-{RUN}"])  # fmt: skip


@pytest.mark.slow  # kill -9 of a training subprocess
def test_kill_9_and_resume_gives_the_uninterrupted_result(tmp_path: Path) -> None:
    straight = tmp_path / "a" / "l2m.duckdb"
    resumed = tmp_path / "b" / "l2m.duckdb"
    run_to_end(straight)
    kill_after_first_checkpoint(resumed)
    with Warehouse.open(resumed, create=False) as wh:
        assert wh.require_run(RUN)["status"] == "running"
        partial = wh.query("SELECT max(step) AS s FROM training_curve")["s"][0]
    assert partial is not None and partial < 240
    run_to_end(resumed)  # the same command resumes from the checkpoint
    a, b = curve(straight), curve(resumed)
    assert a.height == b.height == 24 + 3  # train rows every 10 steps, eval every 80
    assert a.equals(b), "the resumed training curve differs"
    weights_a = torch.load(checkpoint(straight), weights_only=True)["model"]
    weights_b = torch.load(checkpoint(resumed), weights_only=True)["model"]
    for name, tensor in weights_a.items():
        assert torch.equal(tensor, weights_b[name]), name
    pa, pb = positions(straight), positions(resumed)
    assert pa["samples_digest"].to_list() == pb["samples_digest"].to_list()
    for column in ("kl", "nll"):
        assert (pa[column] - pb[column]).abs().max() <= 1e-6


def test_a_checkpoint_of_another_config_is_refused(tmp_path: Path, capsys) -> None:
    warehouse = tmp_path / "l2m.duckdb"
    base = ["--warehouse", str(warehouse), "--model", "gpt2-tiny", "--length", "4", "--copies",
            "2", "--preset", "test", "--steps", "5"]  # fmt: skip
    assert run_cli(train.main, [*base, "--run-id", "one"]) == 0
    folder = warehouse.parent / "l2m_checkpoints" / "one"
    capsys.readouterr()
    code = run_cli(train.main, [*base, "--lr", "0.01", "--run-id", "two",
                                "--checkpoint-dir", str(folder)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "written by a run with another config" in err and "lr: 0.003" in err
    assert "fix:" in err
    # evaluating a run from another run's checkpoint is refused the same way
    code = run_cli(evaluate.main, ["--warehouse", str(warehouse), "--train-run", "two",
                                   "--checkpoint-dir", str(folder)])  # fmt: skip
    assert code == 2 and "another config" in capsys.readouterr().err
