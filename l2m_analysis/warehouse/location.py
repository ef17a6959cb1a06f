"""Where a warehouse lives: the catalog file the user names and the folders beside it.

``--warehouse warehouse/l2m.duckdb`` (default ``$L2M_WAREHOUSE`` or ``warehouse/l2m.duckdb``) names
the catalog; the data are in ``warehouse/l2m_parquet/``, marked by ``_warehouse.json``; training
runs keep their checkpoint in ``warehouse/l2m_checkpoints/<run>/latest.pt`` and a completed text
run its Hugging Face model folder in ``warehouse/l2m_checkpoints/<run>/hf/``.
"""

from __future__ import annotations

import os
from pathlib import Path

from l2m_analysis.errors import WarehouseError

DEFAULT_WAREHOUSE = Path("warehouse") / "l2m.duckdb"
WAREHOUSE_ENV = "L2M_WAREHOUSE"
MARKER = "_warehouse.json"
FORMAT = "l2m-analysis warehouse"
CHECKPOINT_FILE = "latest.pt"  # a training run's checkpoint, in its checkpoint folder
MODEL_FOLDER = "hf"  # a completed text run's Hugging Face folder, in its checkpoint folder


def default_warehouse_path() -> Path:
    """The warehouse file used when ``--warehouse`` is not given."""
    return Path(os.environ.get(WAREHOUSE_ENV, str(DEFAULT_WAREHOUSE)))


def resolve_catalog(path: str | Path | None) -> Path:
    """The absolute catalog path for ``path`` (default: see above); refuses a directory."""
    path = Path(path) if path is not None else default_warehouse_path()
    path = Path(os.path.abspath(path.expanduser()))
    if path.is_dir():
        inside = sorted(p.name for p in path.glob("*.duckdb"))
        hint = f"e.g. --warehouse {path / (inside[0] if inside else DEFAULT_WAREHOUSE.name)}"
        raise WarehouseError(
            f"--warehouse {path} is a directory; the warehouse is named by its .duckdb file",
            f"pass the catalog file, {hint}",
        )
    return path


def data_root_for(catalog: Path) -> Path:
    """The data folder of the catalog ``<dir>/<stem>.duckdb``: ``<dir>/<stem>_parquet``."""
    return catalog.parent / f"{catalog.stem}_parquet"


def checkpoint_dir_for(catalog: Path, run_id: str) -> Path:
    """A training run's default checkpoint folder: ``<dir>/<stem>_checkpoints/<run_id>``."""
    catalog = Path(catalog)
    return catalog.parent / f"{catalog.stem}_checkpoints" / run_id
