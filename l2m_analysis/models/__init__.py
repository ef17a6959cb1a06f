"""GPT-2, Mamba and Mamba2 for continuous (Gaussian) and text tokens (Section 6, Appendix E).

``presets`` (named sizes), ``backbone`` (transformers models, kernel path), ``heads`` (the
continuous-token MLPs and the LM head), ``build`` (a run's model from a ``ModelSpec``).
"""

from l2m_analysis.models.build import DATA_KINDS, ModelSpec, build_model, parameter_count
from l2m_analysis.models.presets import ARCHITECTURES, PRESETS, ModelPreset, get_preset

__all__ = [
    "ARCHITECTURES",
    "DATA_KINDS",
    "PRESETS",
    "ModelPreset",
    "ModelSpec",
    "build_model",
    "get_preset",
    "parameter_count",
]
