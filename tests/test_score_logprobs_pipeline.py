"""pipelines.score_logprobs end to end on a real (tiny, random-weight) Llama with its own trained
BPE tokenizer, through the hf backend: a corpus prepared with the model's tokenizer is scored,
its bipartite MI estimated; a run killed with SIGKILL resumes to the same rows and numbers;
every bad input is refused before a model is loaded or a row written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from l2m_analysis.cli import run_cli
from l2m_analysis.corpus.gutenberg import embedded_books
from l2m_analysis.errors import InputError
from l2m_analysis.scoring import ScoringPlan, TokenWindows, derangement, score_run
from l2m_analysis.scoring.backend import ScoringBackend
from l2m_analysis.warehouse import Warehouse
from pipelines import bipartite_mi, count_ngrams, prepare_corpus, score_logprobs

ROOT = Path(__file__).resolve().parents[1]
LENGTH, SAMPLES = 64, 12
SCORE = ["--corpus-run", "books", "--backend", "hf", "--samples", str(SAMPLES),
         "--length", str(LENGTH), "--batch-size", "3"]  # fmt: skip


def save_model(folder: Path, vocab_size: int | None = None) -> Path:
    """A 2-layer Llama (head_dim 64) with a byte-level BPE tokenizer trained on the books."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM

    folder.mkdir(parents=True)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # fmt: skip
    tokenizer.train_from_iterator([b.text[:20000] for b in embedded_books()], trainer)
    tokenizer.save(str(folder / "tokenizer.json"))
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=vocab_size or tokenizer.get_vocab_size(), hidden_size=128,
                         intermediate_size=256, num_hidden_layers=2, num_attention_heads=2,
                         num_key_value_heads=2, head_dim=64, max_position_embeddings=128,
                         bos_token_id=0, eos_token_id=0)  # fmt: skip
    LlamaForCausalLM(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """(warehouse, model folder) with the corpus run "books" tokenized by the model's tokenizer."""
    root = tmp_path_factory.mktemp("llm")
    model = save_model(root / "tiny-llama")
    texts = root / "texts"
    texts.mkdir()
    for i, book in enumerate(embedded_books()):  # four documents
        (texts / f"book{i}.txt").write_text(book.text[20000:60000])
    catalog = root / "l2m.duckdb"
    assert run_cli(prepare_corpus.main, ["--warehouse", str(catalog), "--run-id", "books",
                                         "--source", str(texts), "--tokenizer", str(model),
                                         "--min-tokens", "128"]) == 0  # fmt: skip
    assert run_cli(count_ngrams.main, ["--warehouse", str(catalog), "--run-id", "books",
                                       "--distances", "1"]) == 0  # Ĥ_G of the corpus  # fmt: skip
    return catalog, model


def command(catalog: Path, model: Path, run_id: str, *extra: str) -> list[str]:
    return ["--warehouse", str(catalog), "--model", str(model), "--run-id", run_id, *SCORE, *extra]


def estimates(catalog: Path, run_id: str) -> pl.DataFrame:
    with Warehouse.open(catalog, create=False) as wh:
        return wh.query(
            "SELECT estimator, length, split_at, ratio, value, stderr, n FROM mi_estimates "
            "WHERE run_id = ? ORDER BY ALL", [run_id],
        ).filter(~pl.col("estimator").str.starts_with("compression_lzma"))  # fmt: skip


def test_a_corpus_is_scored_and_its_bipartite_mi_estimated(setup, capsys) -> None:
    catalog, model = setup
    assert run_cli(score_logprobs.main, command(catalog, model, "whole")) == 0
    assert "next: python -m pipelines.bipartite_mi --run-id whole" in capsys.readouterr().out
    assert run_cli(bipartite_mi.main, ["--warehouse", str(catalog), "--run-id", "whole"]) == 0
    with Warehouse.open(catalog, create=False) as wh:
        run = wh.require_run("whole")
        counts = wh.query("SELECT condition, count(*) AS n FROM token_logprobs "
                          "WHERE run_id = 'whole' GROUP BY 1 ORDER BY 1")  # fmt: skip
        entropy = wh.query("SELECT data_run_id FROM entropies WHERE run_id = 'whole' "
                           "AND quantity = 'adjacent_pair'")  # fmt: skip
    config, summary = json.loads(run["config"]), json.loads(run["summary"])
    assert config["corpus_run_id"] == "books" and config["backend"] == "hf"
    assert config["model"]["bos_id"] == 0 and len(config["corpus_sample_ids"]) == SAMPLES
    assert summary["tokens_per_second"] > 0 and summary["tokens_forwarded"] > 0
    plan = ScoringPlan(SAMPLES, tuple(config["splits"]))
    assert summary["tokens_per_sample"] == plan.tokens_forwarded(LENGTH)
    assert counts.rows()[1] == ("no_split", SAMPLES * LENGTH)
    assert entropy["data_run_id"].to_list() == ["books"]  # Ĥ_G from the corpus
    got = estimates(catalog, "whole")
    assert set(got["estimator"]) == {"direct", "direct_uncorrected", "vclub"}
    with Warehouse.open(catalog, create=False) as wh:
        lzma = wh.query("SELECT estimator, split_at, ratio, value FROM mi_estimates WHERE "
                        "run_id = 'whole' AND estimator LIKE 'compression_lzma%'")  # fmt: skip
    text, iid = (lzma.filter(estimator=e) for e in ("compression_lzma", "compression_lzma_iid"))
    assert text.height == iid.height > 0  # every lzma window has its i.i.d. baseline
    assert (got["n"] == SAMPLES).all()


KILLER = """
import sys
from l2m_analysis.cli import run_cli
from pipelines import score_logprobs
sys.exit(run_cli(score_logprobs.main, sys.argv[1:]))
"""


@pytest.mark.slow  # SIGKILL of a scoring subprocess
def test_a_killed_run_resumes_to_the_same_rows_and_numbers(setup) -> None:
    catalog, model = setup
    if not estimates(catalog, "whole").height:  # the uninterrupted reference
        run_cli(score_logprobs.main, command(catalog, model, "whole"))
        run_cli(bipartite_mi.main, ["--warehouse", str(catalog), "--run-id", "whole"])
    argv = command(catalog, model, "killed")
    proc = subprocess.Popen([sys.executable, "-c", KILLER, *argv], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        with Warehouse.open(catalog, create=False) as wh:
            done = len(wh.committed_batches("token_logprobs", "killed"))
        if done >= 8:  # some batches in, most not
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.1)
    assert proc.wait(timeout=60) == -signal.SIGKILL, "the run ended before it could be killed"
    assert run_cli(score_logprobs.main, command(catalog, model, "killed")) == 0  # resume
    assert run_cli(bipartite_mi.main, ["--warehouse", str(catalog), "--run-id", "killed"]) == 0
    with Warehouse.open(catalog, create=False) as wh:
        rows = wh.query(
            "SELECT run_id, count(*) AS n, count(DISTINCT (sample_id, condition, split_at, "
            "position)) AS k FROM token_logprobs WHERE run_id IN ('whole', 'killed') GROUP BY 1"
        )
    (n_whole,) = rows.filter(pl.col("run_id") == "whole")["n"]
    assert (rows["n"] == n_whole).all() and (rows["k"] == n_whole).all()  # no duplicates
    assert_frame_equal(estimates(catalog, "killed"), estimates(catalog, "whole"), rel_tol=1e-9)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (["--length", "200"], "exceed model tiny-llama's context of 128"),
        (["--samples", "100000"], "samples of at least 64 tokens"),
        (["--model", "/no/such/model"], "does not exist"),
        (["--corpus-run", "nope"], "unknown run id 'nope'"),
        (["--splits", "40"], "leave no window"),
    ],
)
def test_bad_input_is_refused_before_anything_is_loaded(setup, change, message, capsys) -> None:
    catalog, model = setup
    argv = command(catalog, model, "bad")
    for i in range(0, len(change), 2):
        if change[i] in argv:
            argv[argv.index(change[i]) + 1] = change[i + 1]
        else:
            argv += change[i : i + 2]
    assert run_cli(score_logprobs.main, argv) == 2
    err = capsys.readouterr().err
    assert message in err and "fix:" in err, err
    with Warehouse.open(catalog, create=False) as wh:
        assert not wh.has_run("bad")  # nothing was written


def test_a_corpus_tokenized_otherwise_or_a_smaller_vocabulary_is_refused(setup, tmp_path, capsys):
    catalog, model = setup
    neox = ["--warehouse", str(catalog), "--run-id", "neox-books", "--max-docs", "1"]
    assert run_cli(prepare_corpus.main, [*neox, "--min-tokens", "128"]) == 0
    argv = command(catalog, model, "bad")
    argv[argv.index("--corpus-run") + 1] = "neox-books"
    assert run_cli(score_logprobs.main, argv) == 2
    assert "was tokenized with" in capsys.readouterr().err  # GPT-NeoX ids are not the model's
    small = save_model(tmp_path / "small-vocab", vocab_size=200)  # same tokenizer, ids >= 200
    assert run_cli(score_logprobs.main, command(catalog, small, "bad")) == 2
    assert "has a vocabulary of 200" in capsys.readouterr().err


class Broken(ScoringBackend):
    """A backend that returns what a broken model would: NaN, or logits instead of log-probs."""

    def __init__(self, value: float) -> None:
        self.value, self.name = value, f"broken({value})"

    def score(self, requests):
        return [np.full(len(r.continuation), self.value) for r in requests]


@pytest.mark.parametrize(("value", "message"), [(np.nan, "NaN"), (3.0, "positive log-probs")])
def test_nan_or_positive_log_probs_of_a_backend_write_nothing(tmp_path, value, message) -> None:
    windows = TokenWindows(np.arange(4 * 16).reshape(4, 16) % 7, np.arange(4))
    with Warehouse.open(tmp_path / "l2m.duckdb") as wh:
        wh.start_run("llm", run_id="broken")
        with pytest.raises(InputError, match=message):
            score_run(wh, "broken", Broken(value), windows, ScoringPlan(4, (4,), batch_size=2),
                      derangement(windows.doc_ids, 0), show_progress=False)  # fmt: skip
        assert wh.committed_batches("token_logprobs", "broken") == set()
