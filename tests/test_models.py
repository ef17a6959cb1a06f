"""Models: presets, the continuous-token and text heads, and the history-state sizes checked
against the caches transformers returns (Section 5.1, Appendix C)."""

from __future__ import annotations

import pytest
import torch

from l2m_analysis.errors import InputError
from l2m_analysis.l2m_condition.history_state import (
    cache_elements,
    history_dim,
    measured_cache_elements,
    per_token_growth,
)
from l2m_analysis.models import PRESETS, ModelSpec, build_model, get_preset
from l2m_analysis.models.backbone import kernel_path
from l2m_analysis.models.heads import MIN_STD
from l2m_analysis.models.presets import PAPER_PRESETS, TINY_PRESETS

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_unknown_preset_is_a_clear_error() -> None:
    with pytest.raises(InputError) as err:
        get_preset("gpt5-huge")
    assert "gpt2-tiny" in err.value.fix and "mamba-130m" in err.value.fix


@pytest.mark.parametrize("name", TINY_PRESETS)
def test_continuous_model_gives_positive_stds_of_every_copy(name: str) -> None:
    model = build_model(ModelSpec(name, "gaussian", 16, copies=4), seed=0)
    x = torch.randn(3, 16, 4) * 50  # far outside the training range
    mean, std = model(x)
    assert mean.shape == std.shape == (3, 16, 4)
    assert torch.isfinite(mean).all() and (std >= MIN_STD).all()
    # causal: changing a later token leaves earlier outputs unchanged
    y = x.clone()
    y[:, 10:] = 0
    mean2, _ = model(y)
    assert torch.allclose(mean[:, :10], mean2[:, :10], atol=1e-5)
    assert not torch.allclose(mean[:, 10:], mean2[:, 10:])


def test_text_model_ties_head_to_embedding_and_is_seeded() -> None:
    a = build_model(ModelSpec("mamba2-tiny", "text", 8, vocab_size=100), seed=3)
    b = build_model(ModelSpec("mamba2-tiny", "text", 8, vocab_size=100), seed=3)
    assert a.lm_head.weight is a.backbone.get_input_embeddings().weight
    ids = torch.randint(0, 100, (2, 8))
    assert a(ids).shape == (2, 8, 100)
    assert torch.equal(a(ids), b(ids))


def test_kernel_path_on_cpu_is_the_reference_path() -> None:
    assert "reference" in kernel_path("mamba", "cpu") and "CPU" in kernel_path("mamba2", "cpu")
    assert "attention" in kernel_path("gpt2", "cpu")


@pytest.mark.parametrize("name", TINY_PRESETS)
@pytest.mark.parametrize("n_past", [1, 5, 17])
def test_history_state_equals_the_returned_cache(name: str, n_past: int) -> None:
    preset = PRESETS[name]
    assert measured_cache_elements(preset, n_past) == cache_elements(preset, n_past)


@pytest.mark.parametrize("name", PAPER_PRESETS)
def test_paper_sizes_match_their_cache_per_layer(name: str) -> None:
    preset = PRESETS[name]
    assert measured_cache_elements(preset, 3, layers=1) == cache_elements(preset, 3)


def test_transformer_state_grows_and_ssm_state_is_constant() -> None:
    gpt2, mamba, mamba2 = (PRESETS[n] for n in ("gpt2-125m", "mamba-130m", "mamba2-130m"))
    assert history_dim(gpt2, 2048) == 2 * 12 * 768 * 2048 == 2048 * per_token_growth(gpt2)
    assert history_dim(mamba, 1) == history_dim(mamba, 10**6) == 24 * 1536 * (16 + 3)
    assert history_dim(mamba2, 1) == 24 * (24 * 64 * 128 + (1536 + 2 * 128) * 3)
    # the stored conv window holds one column more than the history needs
    assert cache_elements(mamba, 7) - history_dim(mamba, 7) == 24 * 1536
