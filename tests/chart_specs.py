"""What the chart tests share: the real fixture frames (tests/data/charts, exported from the main
job) and helpers that find a named layer and its data rows in a Vega-Lite spec."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl

from l2m_analysis.report.frames import L2M_LENGTHS, L2M_MODELS, QUERIES, ReportFrames

DATA = Path(__file__).parent / "data" / "charts"


def read(name: str) -> pl.DataFrame:
    return pl.read_parquet(DATA / f"{name}.parquet")


def run_rows(run_id: str) -> pl.DataFrame:
    """The mi_estimates rows of one run, as a report or notebook passes them."""
    return read("table_mi_estimates").filter(run_id=run_id)


def fixture_frames(**replace: pl.DataFrame) -> ReportFrames:
    """ReportFrames of the fixture warehouse; ``replace``: tables or queries to swap in."""
    from l2m_analysis.l2m_condition.history_state import history_state_frame
    from l2m_analysis.models.presets import PRESETS

    queries = {q: replace.pop(q, read(f"query_{q}")) for q in QUERIES}
    tables = {t: replace.pop(t, read(f"table_{t}")) for t in ("runs", "mi_estimates", "fits")}
    states = history_state_frame([PRESETS[m] for m in L2M_MODELS], list(L2M_LENGTHS))
    return ReportFrames(**tables, queries=queries, history_states=states, warehouse="fixtures")


def synthetic_positions(seq_lens=(256, 1024), mismatch: int = 0) -> pl.DataFrame:
    """A per-position KL frame in the layout of queries/position_kl.sql, two models."""
    rng = np.random.default_rng(3)
    frames = []
    for length in seq_lens:
        for model, growth in (("gpt2-124M", 0.0), ("mamba-130m", 0.5)):
            pos = np.arange(length)
            frames.append(pl.DataFrame({
                "run_id": f"{model}-L{length}", "reference_run_id": "oracle", "model": model,
                "seq_len": length, "position": pos.astype(np.int32),
                "kl": 0.05 + growth * 0.01 * np.log1p(pos) + rng.normal(0, 0.002, length),
                "kl_stderr": np.full(length, 0.002), "n": 64,
                "n_token_mismatch": np.where(pos < mismatch, 1, 0),
            }))  # fmt: skip
    return pl.concat(frames)


def units(spec: dict, data=None, out=None) -> list[tuple[dict, list[dict]]]:
    """Every unit (single-mark) spec in ``spec`` with the rows its data resolves to."""
    out = [] if out is None else out
    datasets = spec.get("datasets", {}) if data is None else data[0]
    own = spec.get("data", data[1] if data else None)
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for sub in spec.get(key, []):
            units(sub, (datasets, own), out)
    if "spec" in spec:  # facet
        units(spec["spec"], (datasets, own), out)
    if "mark" in spec:
        rows = []
        if own is not None:
            rows = datasets[own["name"]] if "name" in own else own.get("values", [])
        out.append((spec, rows))
    return out


def named(spec: dict, name: str) -> list[tuple[dict, list[dict]]]:
    """The unit specs named ``name`` (Altair suffixes repeats in concatenations: points_0)."""
    return [(u, r) for u, r in units(spec) if re.fullmatch(rf"{name}(_\d+)?", u.get("name", ""))]


def one(spec: dict, name: str) -> tuple[dict, list[dict]]:
    found = named(spec, name)
    assert len(found) == 1, f"expected one layer {name!r}, found {len(found)}"
    return found[0]


def subtitle_text(spec: dict) -> str:
    sub = spec.get("title", {}).get("subtitle", [])
    return " | ".join([sub] if isinstance(sub, str) else sub)


def mark_type(unit: dict) -> str:
    return unit["mark"] if isinstance(unit["mark"], str) else unit["mark"]["type"]
