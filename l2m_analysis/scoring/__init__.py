"""Scoring backends (the Gaussian oracle now; HF transformers / vLLM later) and the driver that
streams their log-probabilities into ``token_logprobs``. See ``backend.py`` for the interface."""

from l2m_analysis.scoring.backend import CONTINUOUS_TOKEN_ID, ScoreRequest, ScoringBackend
from l2m_analysis.scoring.driver import ScoringPlan, ScoringSummary, score_run
from l2m_analysis.scoring.oracle import GaussianOracle

__all__ = [
    "CONTINUOUS_TOKEN_ID",
    "GaussianOracle",
    "ScoreRequest",
    "ScoringBackend",
    "ScoringPlan",
    "ScoringSummary",
    "score_run",
]
