"""Scoring backends (the Gaussian oracle, HF transformers, vLLM, a Markov-chain oracle) and the
driver that streams their log-probabilities into ``token_logprobs``. See ``backend.py`` for the
interface and ``plan.py`` for what is scored."""

from l2m_analysis.scoring.backend import CONTINUOUS_TOKEN_ID, ScoreRequest, ScoringBackend
from l2m_analysis.scoring.driver import ScoringSummary, TokenWindows, score_run
from l2m_analysis.scoring.oracle import GaussianOracle
from l2m_analysis.scoring.plan import ScoringPlan, default_splits, derangement

__all__ = [
    "CONTINUOUS_TOKEN_ID",
    "GaussianOracle",
    "ScoreRequest",
    "ScoringBackend",
    "ScoringPlan",
    "ScoringSummary",
    "TokenWindows",
    "default_splits",
    "derangement",
    "score_run",
]
