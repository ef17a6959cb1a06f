"""Conventions shared by every ``python -m pipelines.<name>`` command.

* ``--warehouse PATH`` (default: ``$L2M_WAREHOUSE`` or ``warehouse/l2m.duckdb``)
* ``--run-id ID`` where a step reads or writes one run
* ``--help`` that explains every option
* exit codes: 0 success, 2 a problem the user can fix (message on stderr, no traceback),
  130 interrupted (a rerun resumes).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from l2m_analysis.errors import L2MError

DEFAULT_WAREHOUSE = Path("warehouse") / "l2m.duckdb"
WAREHOUSE_ENV = "L2M_WAREHOUSE"

EXIT_OK = 0
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def default_warehouse_path() -> Path:
    """The warehouse file used when ``--warehouse`` is not given."""
    return Path(os.environ.get(WAREHOUSE_ENV, str(DEFAULT_WAREHOUSE)))


def positive_int(text: str) -> int:
    """argparse ``type`` for counts that must be >= 1 (sizes, lengths, batch sizes)."""
    return _int_at_least(text, 1)


def nonnegative_int(text: str) -> int:
    """argparse ``type`` for counts that may be 0 (e.g. bootstrap resamples, seeds)."""
    return _int_at_least(text, 0)


def _int_at_least(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number >= {low}\n  fix: pass an integer >= {low}"
        )
    return value


RUN_ID_HELP = "run to read or write (default: a new run, or every run when reading)"


def make_parser(
    prog: str, description: str, *, run_id: bool = True, run_id_help: str = RUN_ID_HELP
) -> argparse.ArgumentParser:
    """An argument parser with the options every pipeline shares (``run_id_help``: what
    --run-id means for this pipeline)."""
    parser = argparse.ArgumentParser(
        prog=f"python -m {prog}",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--warehouse",
        type=Path,
        default=None,
        help=f"DuckDB warehouse file (default: ${WAREHOUSE_ENV} or {DEFAULT_WAREHOUSE})",
    )
    if run_id:
        parser.add_argument("--run-id", default=None, help=run_id_help)
    return parser


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Call ``main`` and turn user errors and Ctrl-C into exit codes with a clear message."""
    try:
        return main(argv)
    except L2MError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(
            "interrupted: committed batches are kept; rerun the same command to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
