"""What the report reads: one frame per table or named query it draws (nats), read once."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from l2m_analysis.gaussian.sampling import PAPER_COPIES
from l2m_analysis.l2m_condition.capacity_curve import capacity_frame
from l2m_analysis.l2m_condition.history_state import history_state_frame
from l2m_analysis.models.presets import PRESETS

# The presets of the L²M chart and table, at L = 4 … 65 536 (the exact Gaussian's lengths).
L2M_MODELS = ("gpt2-125m", "mamba-130m", "mamba2-130m", "gpt2-tiny", "mamba-tiny", "mamba2-tiny")
L2M_LENGTHS = tuple(4**k for k in range(1, 9))
QUERIES = (
    "fitted_exponents",
    "two_point_mi",
    "position_nll",
    "position_kl",
    "training_position_curves",
    "training_average_kl",
    "training_average_nll",
    "trained_q_bipartite_mi",
)


@dataclass(frozen=True)
class ReportFrames:
    """The report's inputs: the tables ``runs``, ``mi_estimates`` and ``fits``, the output of
    each named query in ``QUERIES`` (``queries/<name>.sql``, by name), the history-state sizes
    of ``L2M_MODELS`` (``history_state_frame``), where they were read from, and the capacity
    curve of D numbers at 64 numbers per token (``capacity_frame``; None: not drawn)."""

    runs: pl.DataFrame
    mi_estimates: pl.DataFrame
    fits: pl.DataFrame
    queries: dict[str, pl.DataFrame]
    history_states: pl.DataFrame
    warehouse: str = ""
    capacities: pl.DataFrame | None = None

    def runs_of(self, kind: str) -> list[str]:
        """The run ids of ``kind`` (runs.kind: llm, oracle, corpus, gaussian_exact, …); the
        llm runs whose q is a model trained here are left out (``trained_q_runs``: they have a
        figure of their own)."""
        runs = sorted(self.runs.filter(pl.col("kind") == kind)["run_id"])
        return [r for r in runs if r not in self.trained_q_runs()] if kind == "llm" else runs

    def trained_q_runs(self) -> list[str]:
        """The scoring runs whose q is a model trained by pipelines.train."""
        q = self.queries.get("trained_q_bipartite_mi", pl.DataFrame({"run_id": [], "q_kind": []}))
        return sorted(set(q.filter(q_kind="trained")["run_id"]))

    def estimates(self, run_id: str) -> pl.DataFrame:
        """The run's rows of ``mi_estimates``."""
        return self.mi_estimates.filter(pl.col("run_id") == run_id)

    def model(self, run_id: str) -> str:
        """The run's model (runs.model), '?' when unknown."""
        found = self.runs.filter(run_id=run_id)["model"].drop_nulls()
        return found[0] if found.len() else "?"

    def fit(self, runs, estimators, law: str, ratio: int | None = 2, **keys) -> dict | None:
        """The first ``fits`` row of ``law`` at ``ratio`` (and ``keys``, e.g. source=) of the
        run(s) ``runs`` and estimator(s) ``estimators``, tried in the order given; or None."""
        runs = [runs] if isinstance(runs, str) else runs
        estimators = [estimators] if isinstance(estimators, str) else estimators
        rows = self.fits.filter(law=law, **keys).filter(pl.col("ratio").eq_missing(ratio))
        for run in runs:
            for estimator in estimators:
                found = rows.filter(run_id=run, estimator=estimator)
                if found.height:
                    return found.row(0, named=True)
        return None


def read_frames(wh) -> ReportFrames:
    """Everything the report draws, read from the open ``Warehouse`` ``wh``."""
    return ReportFrames(
        runs=wh.query("SELECT * FROM runs ORDER BY created_at"),
        mi_estimates=wh.query("SELECT * FROM mi_estimates"),
        fits=wh.query("SELECT * FROM fits"),
        queries={name: wh.query_file(name) for name in QUERIES},
        history_states=history_state_frame([PRESETS[m] for m in L2M_MODELS], list(L2M_LENGTHS)),
        warehouse=str(wh.path),
        capacities=capacity_frame([PRESETS[m] for m in L2M_MODELS], PAPER_COPIES),
    )
