"""Named model sizes: tiny presets for tests and CPU, and the paper's sizes (Section 6, App. E).

A preset fixes the backbone's widths and depth; the input (token embedding or the MLP of
continuous tokens), the head and the context length come from the run (``models/build.py``).
The paper's sizes follow the Hugging Face configs the authors started from: GPT-2 small and
medium (``gpt2``, ``gpt2-medium``), ``state-spaces/mamba-{130m,370m,790m}-hf`` and, for Mamba2
(which the paper trained with the official code), ``state-spaces/mamba2-{130m,370m,780m}``.
Parameter counts in the names are those of the released text models (embeddings included).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from l2m_analysis.errors import InputError

ARCHITECTURES = ("gpt2", "mamba", "mamba2")


@dataclass(frozen=True)
class ModelPreset:
    """Backbone shape of one architecture and size.

    hidden: model width d; layers: blocks; heads: GPT-2 attention heads (head_dim = hidden/heads);
    state_size: SSM state N per channel (Mamba) or per head (Mamba2); expand: d_inner/d;
    conv_kernel: causal conv width K; head_dim, n_groups, chunk_size: Mamba2 only.
    """

    name: str
    arch: str
    hidden: int
    layers: int
    heads: int = 0
    state_size: int = 16
    expand: int = 2
    conv_kernel: int = 4
    head_dim: int = 64
    n_groups: int = 1
    chunk_size: int = 256
    note: str = ""

    @property
    def intermediate(self) -> int:
        """d_inner = expand · hidden (Mamba, Mamba2)."""
        return self.expand * self.hidden

    @property
    def ssm_heads(self) -> int:
        """Mamba2 heads: d_inner / head_dim."""
        return self.intermediate // self.head_dim

    def to_dict(self) -> dict:
        return asdict(self)


def _tiny(arch: str, layers: int, **kw) -> ModelPreset:
    return ModelPreset(f"{arch}-tiny", arch, hidden=64, layers=layers, note="tests and CPU", **kw)


PRESETS: dict[str, ModelPreset] = {
    p.name: p
    for p in (
        # tiny: width 64; the SSMs get twice GPT-2's blocks, as the paper pairs 12-layer GPT-2
        # with 24-layer Mamba at equal size
        _tiny("gpt2", 2, heads=4),
        _tiny("mamba", 4, state_size=16),
        _tiny("mamba2", 4, state_size=16, head_dim=16, chunk_size=64),
        ModelPreset("gpt2-125m", "gpt2", 768, 12, heads=12, note="GPT2 (125M), Fig. 5a"),
        ModelPreset("gpt2-medium", "gpt2", 1024, 24, heads=16, note="GPT2-medium (355M), Fig. 5b"),
        ModelPreset("mamba-130m", "mamba", 768, 24, note="Mamba-130M"),
        ModelPreset("mamba-370m", "mamba", 1024, 48, note="Mamba-370M"),
        ModelPreset("mamba-790m", "mamba", 1536, 48, note="Mamba-790M"),
        ModelPreset("mamba2-130m", "mamba2", 768, 24, state_size=128, note="Mamba2-130M"),
        ModelPreset("mamba2-370m", "mamba2", 1024, 48, state_size=128, note="Mamba2-370M"),
        ModelPreset("mamba2-780m", "mamba2", 1536, 48, state_size=128, note="Mamba2-780M"),
    )
}

TINY_PRESETS = tuple(name for name in PRESETS if name.endswith("-tiny"))
PAPER_PRESETS = tuple(name for name in PRESETS if not name.endswith("-tiny"))


def get_preset(name: str) -> ModelPreset:
    """The preset called ``name``; a clear error listing the known ones otherwise."""
    preset = PRESETS.get(name)
    if preset is None:
        raise InputError(
            f"unknown model preset {name!r}",
            f"use one of: {', '.join(PRESETS)} (tiny presets for CPU and tests)",
        )
    return preset
