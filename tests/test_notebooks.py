"""Every notebook runs headless (nbclient) against the main job's warehouse: no cell errors, and
every chart it draws has data rows. Notebooks are stored without outputs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# Altair's HTML output embeds its Vega-Lite spec as the argument of the embedding function
_SPEC = re.compile(r"\}\)\((\{.*\}), \{\"mode\": \"vega-lite\"\}\);", re.S)


def chart_specs(nb) -> list[dict]:
    specs = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html", "")
            specs += [json.loads(m) for m in _SPEC.findall(html)]
    return specs


def data_rows(spec: dict) -> int:
    return sum(len(rows) for rows in spec.get("datasets", {}).values())


def test_there_is_a_notebook_per_paper_section() -> None:
    assert [p.stem for p in NOTEBOOKS] == [
        "01_text_mutual_information", "02_gaussian_families", "03_architectures_l2m"
    ]  # fmt: skip


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") and not c.get("execution_count")
               for c in nb.cells if c.cell_type == "code")  # fmt: skip


@pytest.mark.slow  # the main job's warehouse (tests/conftest.py) and a kernel per notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_against_the_main_jobs_warehouse(path: Path, main_job, monkeypatch) -> None:
    monkeypatch.setenv("L2M_WAREHOUSE", str(main_job.catalog))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()  # fmt: skip
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    specs = chart_specs(nb)
    assert specs, f"{path.name} drew no chart"
    assert all(data_rows(s) > 0 for s in specs), [data_rows(s) for s in specs]
    assert os.environ["L2M_WAREHOUSE"] == str(main_job.catalog)
