"""The L²M condition report: crossing lengths against Eq. (11) and the pipeline on a warehouse
with the exact Gaussian law fitted by pipelines.fit_exponents."""

from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest

from l2m_analysis.cli import run_cli
from l2m_analysis.l2m_condition.condition import (
    MILaw,
    capacity,
    crossing_length,
    needed_nats_per_dim,
    token_term,
    widest_gaussian_laws,
)
from l2m_analysis.l2m_condition.history_state import history_dim
from l2m_analysis.models.presets import PRESETS
from pipelines import fit_exponents, gaussian_mi, l2m_condition

LAW = MILaw("g", "gaussian", amplitude=6.6, beta=0.8, copies=64)
TEXT = MILaw("t", "text", amplitude=0.4, beta=0.8, vocab_size=50432)


@pytest.mark.parametrize("law", [LAW, TEXT], ids=["gaussian", "text"])
@pytest.mark.parametrize("name", ["mamba-tiny", "mamba-130m", "mamba2-370m"])
def test_ssm_crossing_is_where_the_bound_becomes_tight(law: MILaw, name: str) -> None:
    preset = PRESETS[name]
    for c in (22.18, 1.0, 0.01):
        length = crossing_length(preset, law, c)
        log_m = token_term(law, c, 50432)
        assert law.value(length) == pytest.approx(capacity(preset, length, c, log_m), rel=1e-9)
        assert law.value(0.99 * length) < capacity(preset, 0.99 * length, c, log_m)
    # C = the nats per dimension needed at L makes L the crossing
    needed = needed_nats_per_dim(preset, law, 4096)
    assert crossing_length(preset, law, needed) == pytest.approx(4096, rel=1e-9)


def test_transformers_never_cross_a_sublinear_law_but_do_cross_a_superlinear_one() -> None:
    gpt2 = PRESETS["gpt2-125m"]
    assert crossing_length(gpt2, LAW, 22.18) is None and crossing_length(gpt2, TEXT, 1e-3) is None
    steep = MILaw("steep", "text", amplitude=1.0, beta=1.5, vocab_size=50432)
    length = crossing_length(gpt2, steep, 1.0)
    tight = capacity(gpt2, length, 1.0, math.log(50432))
    assert steep.value(length) == pytest.approx(tight, rel=1e-6)


def test_bigger_ssms_cross_later() -> None:
    lengths = [crossing_length(PRESETS[n], LAW, 1.0) for n in ("mamba-130m", "mamba-370m",
                                                                "mamba-790m")]  # fmt: skip
    assert lengths == sorted(lengths)
    assert history_dim(PRESETS["mamba-130m"], 1) < history_dim(PRESETS["mamba-370m"], 1)


def test_pipeline_reads_the_exact_gaussian_beta(tmp_path: Path, capsys) -> None:
    wh = ["--warehouse", str(tmp_path / "l2m.duckdb")]
    assert run_cli(l2m_condition.main, wh) == 2  # nothing fitted yet
    err = capsys.readouterr().err
    assert "no warehouse" in err or "no fitted bipartite power law" in err
    assert run_cli(gaussian_mi.main, [*wh, "--layers", "5", "--vclub-layers", "0",
                                      "--families", "subvolume"]) == 0  # fmt: skip
    assert run_cli(fit_exponents.main, [*wh, "--quantity", "bipartite"]) == 0
    capsys.readouterr()
    models = ["--models", "gpt2-tiny", "mamba-tiny", "mamba2-tiny", "mamba-130m"]
    assert run_cli(l2m_condition.main, [*wh, *models, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["law"] for r in rows} == {"gaussian_subvolume×64 exact"}
    by_model = {r["model"]: r for r in rows}
    assert 0.75 < by_model["mamba-tiny"]["beta"] < 0.85  # log_4 3 = 0.79 (docs/gaussian.md)
    assert by_model["gpt2-tiny"]["crossing_C22.18"] is None
    assert by_model["mamba-tiny"]["crossing_C1"] < by_model["mamba-130m"]["crossing_C1"]
    assert run_cli(l2m_condition.main, [*wh, *models]) == 0  # the table, with the cache check
    out = capsys.readouterr().out
    assert "✓ ℓ=1,16" in out and "never" in out and "Constants:" in out


def test_one_gaussian_law_per_family_the_widest_and_every_text_law() -> None:
    fits = pl.DataFrame({
        "source": ["gaussian_subvolume_x64", "books", "gaussian_subvolume", "gaussian_log",
                   "books"],
        "estimator": ["exact", "direct", "exact", "exact", "direct"],
        "run_id": ["oracle", "llm-a", "gaussian-exact", "gaussian-exact", "llm-b"],
        "x_min": [8.0, 4.0, 4.0, 4.0, 4.0],
        "x_max": [128.0, 256.0, 65536.0, 65536.0, 2048.0],
        "copies": [64, None, 1, 1, None],
        "family": ["gaussian_subvolume", None, "gaussian_subvolume", "gaussian_log", None],
    })  # fmt: skip
    kept = widest_gaussian_laws(fits)
    assert kept["run_id"].to_list() == ["llm-a", "gaussian-exact", "gaussian-exact", "llm-b"]
    assert kept.columns == fits.columns


@pytest.mark.parametrize("model", ["mamba-130m", "mamba2-130m"])
def test_the_reports_crossing_is_the_l2m_condition_tables(model: str) -> None:
    """The report's headline L* and pipelines.l2m_condition's table use the same law (64 numbers
    per Gaussian token, the paper's), the same C and the same bound: the same L* (to the
    headline's grid step of 2^(1/64))."""
    from l2m_analysis.gaussian.sampling import PAPER_COPIES
    from l2m_analysis.report.frames import ReportFrames
    from l2m_analysis.report.headline import C, crossings

    fit = {"run_id": "g", "source": "gaussian_subvolume", "estimator": "exact", "law": "power",
           "ratio": 2, "amplitude": 0.1, "exponent": 0.8, "exponent_lo": 0.79, "exponent_hi": 0.81,
           "x_min": 4.0, "x_max": 65536.0, "detail": "{}"}  # fmt: skip
    runs = pl.DataFrame({"run_id": ["g"], "kind": ["gaussian_exact"], "model": [None]})
    frames = ReportFrames(runs, pl.DataFrame(), pl.DataFrame([fit]), {}, pl.DataFrame())
    (found,) = crossings(frames, [model])
    law = MILaw("g", "gaussian", 0.1 * PAPER_COPIES, 0.8, copies=PAPER_COPIES)
    expected = crossing_length(PRESETS[model], law, C)
    assert found.at == pytest.approx(expected, rel=2 ** (1 / 64) - 1)
