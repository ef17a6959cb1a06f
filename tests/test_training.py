"""Training: the analytic KL loss of Eq. (E.35) against exact ground truth and Monte Carlo,
learning beyond the unconditional baseline, the schedule, configs and checkpoints."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from l2m_analysis.errors import InputError
from l2m_analysis.gaussian.conditionals import gaussian_kl as numpy_kl
from l2m_analysis.models.build import build_model
from l2m_analysis.training import losses, records
from l2m_analysis.training.checkpoint import (
    TrainState,
    load_checkpoint,
    save_checkpoint,
)
from l2m_analysis.training.config import make_config
from l2m_analysis.training.loop import train
from l2m_analysis.training.schedule import cosine_with_warmup, lr_factor, make_optimizer
from l2m_analysis.training.tasks import EVAL_STREAM, GaussianTask
from l2m_analysis.training.text_data import (
    check_tokenizer,
    check_vocabulary,
    corpus_windows,
    split_holdout,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def small_task(layers: int = 2, copies: int = 4) -> GaussianTask:
    return GaussianTask("subvolume", layers, copies, seed=0, boundary_rule="magnitude")


class ExactModel(torch.nn.Module):
    """q = p: returns the exact conditional moments of the sample it is shown (ground truth)."""

    def __init__(self, task: GaussianTask, tokens: np.ndarray) -> None:
        super().__init__()
        mean, std = task.exact_moments(tokens)
        self.mean = torch.as_tensor(mean, dtype=torch.float32)
        self.std = torch.as_tensor(np.broadcast_to(std, mean.shape).copy(), dtype=torch.float32)

    def forward(self, inputs):
        return self.mean[: len(inputs)], self.std[: len(inputs)]


class MarginalModel(torch.nn.Module):
    """q = N(0, 1) per variable: the unconditional model (every marginal is standard)."""

    def forward(self, inputs):
        return torch.zeros_like(inputs), torch.ones_like(inputs)


def test_torch_kl_matches_the_numpy_closed_form() -> None:
    rng = np.random.default_rng(0)
    mq, mp = rng.normal(size=(2, 50))
    sq, sp = rng.uniform(0.2, 2.0, size=(2, 50))
    ours = losses.gaussian_kl(*(torch.tensor(a) for a in (mq, sq, mp, sp))).numpy()
    assert np.allclose(ours, numpy_kl(mp, sp, mq, sq))


def test_kl_loss_is_zero_for_the_exact_model_and_the_baseline_for_the_marginal() -> None:
    task = small_task()
    tokens = task.samples(EVAL_STREAM, range(400))
    assert float(task.loss(ExactModel(task, tokens), tokens, "cpu")) == pytest.approx(0, abs=1e-6)
    metrics = task.metrics(MarginalModel(), tokens, "cpu")
    kl, se = metrics["kl"].mean(0), metrics["kl"].std(0, ddof=1) / np.sqrt(400)
    baseline = task.baseline_kl()
    assert baseline[0] == pytest.approx(0, abs=1e-12) and baseline[1:].min() > 0
    assert np.all(np.abs(kl - baseline) < 4 * se + 1e-9)


def test_analytic_kl_equals_monte_carlo_kl_within_its_error() -> None:
    task = small_task()
    model = build_model(make_config("gpt2-tiny", "gaussian", 16, copies=4).model_spec(), seed=1)
    tokens = task.samples(EVAL_STREAM, range(600))
    metrics = task.metrics(model.eval(), tokens, "cpu")
    diff = metrics["mc_kl"] - metrics["kl"]  # paired: same samples
    se = diff.std(0, ddof=1) / np.sqrt(len(diff))
    assert np.all(np.abs(diff.mean(0)) < 4.5 * se)  # every position
    total = diff.mean(1)
    assert abs(total.mean()) < 4 * total.std(ddof=1) / np.sqrt(len(total))
    # the training loss of Eq. (E.35) is the mean of the per-position KL
    loss = float(task.loss(model, tokens[:8], "cpu").detach())
    assert loss == pytest.approx(metrics["kl"][:8].mean(), rel=1e-5)


def test_a_tiny_model_beats_the_unconditional_baseline_at_later_positions(tmp_path: Path) -> None:
    config = make_config("gpt2-tiny", "gaussian", 16, "test", copies=4, max_steps=300,
                         checkpoint_every=300, log_every=50)  # fmt: skip
    task = records.make_task(config)
    model = build_model(config.model_spec(), config.seed)
    optimizer = make_optimizer(model, config.lr, config.weight_decay, (0.9, 0.999))
    scheduler = cosine_with_warmup(optimizer, config.warmup_steps, config.total_schedule)
    held_out = task.samples(EVAL_STREAM, range(256), seed=99)
    curve = []
    train(config, task, model, optimizer, scheduler, TrainState(), tmp_path, held_out[:8],
          lambda rows, _: curve.extend(rows))  # fmt: skip
    kl = task.metrics(model.eval(), held_out, "cpu")["kl"]
    baseline = task.baseline_kl()
    late = slice(8, 16)  # positions with a long past
    se = kl[:, late].mean(1).std(ddof=1) / np.sqrt(len(kl))
    assert kl[:, late].mean() < baseline[late].mean() - 5 * se
    assert np.mean(kl.mean(0)[late] < baseline[late]) >= 0.75
    train_rows = [r for r in curve if r.split == "train"]
    assert [r.step for r in train_rows] == [50, 100, 150, 200, 250, 300]
    assert train_rows[-1].loss < train_rows[0].loss


def test_cosine_schedule_warms_up_then_decays_to_zero() -> None:
    assert lr_factor(0, 10, 100) == pytest.approx(0.1)
    assert lr_factor(9, 10, 100) == pytest.approx(1.0)
    assert lr_factor(10, 10, 100) == pytest.approx(1.0)
    assert lr_factor(55, 10, 100) == pytest.approx(0.5)
    assert lr_factor(100, 10, 100) == pytest.approx(0.0)
    assert lr_factor(500, 10, 100) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"model": "gpt9"}, "unknown model preset"),
        ({"length": 100}, "must be 4^l"),
        ({"optimizer_preset": "fast"}, "unknown optimizer preset"),
        ({"data": "text"}, "corpus run"),
        ({"data": "images"}, "unknown data kind"),
    ],
)
def test_bad_configs_are_clear_errors(kwargs: dict, needle: str) -> None:
    args = {"model": "gpt2-tiny", "data": "gaussian", "length": 64, **kwargs}
    with pytest.raises(InputError) as err:
        make_config(**args)
    assert needle in str(err.value) and err.value.fix


def test_paper_preset_has_the_papers_values() -> None:
    gaussian = make_config("mamba-130m", "gaussian", 1024, "paper")
    text = make_config("gpt2-125m", "text", 4096, "paper", corpus_run="pg19")
    for c in (gaussian, text):
        assert (c.lr, c.weight_decay, c.warmup_steps) == (5e-5, 0.01, 2000)
    assert (gaussian.batch_size, gaussian.max_steps, gaussian.copies) == (4, 500_000, 64)
    assert (text.batch_size, text.total_schedule) == (8, 500_000)


def test_checkpoint_round_trip_and_refusal_under_another_config(tmp_path: Path) -> None:
    config = make_config("mamba-tiny", "gaussian", 4, "test", copies=2)
    model = build_model(config.model_spec(), 0)
    optimizer = make_optimizer(model, config.lr, config.weight_decay, (0.9, 0.999))
    scheduler = cosine_with_warmup(optimizer, config.warmup_steps, config.total_schedule)
    state = TrainState(step=7, tokens=112, elapsed_s=1.5, loss_sum=0.3, loss_count=2)
    path = save_checkpoint(tmp_path, config, state, model, optimizer, scheduler)
    other = build_model(config.model_spec(), 5)
    assert load_checkpoint(path, config, other) == state
    for a, b in zip(model.state_dict().values(), other.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    changed = make_config("mamba-tiny", "gaussian", 4, "test", copies=2, lr=1e-4)
    with pytest.raises(InputError) as err:
        load_checkpoint(path, changed, other)
    assert "another config" in str(err.value) and "lr: 0.003 there, 0.0001 here" in str(err.value)
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="cannot read checkpoint"):
        load_checkpoint(path, config, other)


def test_text_windows_holdout_and_vocabulary() -> None:
    import polars as pl

    tokens = pl.DataFrame({
        "sample_id": [0] * 10 + [1] * 3 + [2] * 7,
        "position": list(range(10)) + list(range(3)) + list(range(7)),
        "token_id": list(range(20)),
    })  # fmt: skip
    owners, rows = corpus_windows(tokens, 4)
    assert owners.tolist() == [0, 2] and rows.tolist() == [[0, 1, 2, 3], [13, 14, 15, 16]]
    owners, rows = corpus_windows(tokens, 4, "all")
    assert owners.tolist() == [0, 0, 2] and rows[1].tolist() == [4, 5, 6, 7]
    train_rows, held = split_holdout(owners, rows, 2)
    assert len(held) == 3 and len(train_rows) == 0
    with pytest.raises(InputError, match="another tokenizer"):
        check_vocabulary(rows, 10, "c")
    check_tokenizer("gpt-neox-20b sha256:abc", "gpt-neox-20b", "c")
    with pytest.raises(InputError, match="tokenized with 'words sha256"):
        check_tokenizer("words sha256:abc", "gpt-neox-20b", "c")
