"""DuckDB errors that mean a damaged or missing warehouse file, told as problem and fix."""

from __future__ import annotations

import re

import duckdb

from l2m_analysis.errors import WarehouseError

_FILE = re.compile(r"""["']?(/[^"'\s]+\.parquet)["']?""")
_SIGNS = ("parquet", "no files found", "magic bytes", "no such file", "protocol", "corrupt",
          "decompress", "checksum", "invalid data", "footer")  # fmt: skip
# what a damaged file raises: I/O errors, and bare errors from the Parquet reader's decoders
# ("TProtocolException: Invalid data", "don't know what type", ...); other kinds only when
# their message names a Parquet-reading problem
_READ_ERRORS = (duckdb.IOException, duckdb.SerializationException)


def from_duckdb_error(err: duckdb.Error) -> WarehouseError | None:
    """A WarehouseError when ``err`` comes from reading a damaged or missing warehouse file
    (a Parquet file that fails to decode, vanished, or lost its footer), else None."""
    text = str(err)
    damaged = type(err) is duckdb.Error or isinstance(err, _READ_ERRORS)
    if not damaged and not any(sign in text.lower() for sign in _SIGNS):
        return None  # errors of the query text itself are bugs: they keep their traceback
    found = _FILE.search(text)
    where = f" ({found.group(1)})" if found else ""
    return WarehouseError(
        f"a file of the warehouse cannot be read{where}: {text.splitlines()[0]}",
        "python -m pipelines.check_warehouse --warehouse <catalog> names every damaged or "
        "missing file and the command that re-produces it; --repair sets them aside so that "
        "rerunning that command writes them again",
    )
