"""Conventions shared by every ``python -m pipelines.<name>`` command.

* ``--warehouse PATH`` (default: ``$L2M_WAREHOUSE`` or ``warehouse/l2m.duckdb``)
* ``--run-id ID`` where a step reads or writes one run
* ``--help`` that explains every option
* exit codes: 0 success, 2 a problem the user can fix (message on stderr, no traceback),
  130 interrupted (a rerun resumes).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb
from rich import box
from rich.console import Console
from rich.table import Table

from l2m_analysis.cluster.connect import LOCAL, SchedulerChoice
from l2m_analysis.errors import L2MError
from l2m_analysis.warehouse.errors import from_duckdb_error
from l2m_analysis.warehouse.files import producing
from l2m_analysis.warehouse.location import (
    DEFAULT_WAREHOUSE,
    WAREHOUSE_ENV,
)

EXIT_OK = 0
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


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


def console() -> Console:
    """The console every pipeline prints to: the terminal's width (80 when not a terminal)."""
    return Console(highlight=False)


def table(title: str, columns: Sequence[tuple[str, str]]) -> Table:
    """A compact table for an 80-column terminal: ``columns`` are (name, "left"/"right")."""
    out = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, padding=(0, 1))
    for name, justify in columns:
        out.add_column(name, justify=justify)
    return out


RUN_ID_HELP = "run to read or write (default: a new run, or every run when reading)"


def plus_minus(value: float | None, stderr: float | None, digits: int = 4) -> str:
    """A table cell ``value±stderr``: '-' without a value, the value alone without a stderr."""
    if value is None:
        return "-"
    return f"{value:.{digits}f}" + (f"±{stderr:.{digits}f}" if stderr is not None else "")


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
        help="the warehouse's catalog file; its data live in <name>_parquet/ beside it "
        f"(default: ${WAREHOUSE_ENV} or {DEFAULT_WAREHOUSE})",
    )
    if run_id:
        parser.add_argument("--run-id", default=None, help=run_id_help)
    return parser


def add_scheduler_options(parser: argparse.ArgumentParser) -> None:
    """--scheduler, --scheduler-file, --workers, --threads-per-worker, --memory-limit: where
    the step runs (``l2m_analysis.cluster.connect``; docs/scaling.md)."""
    group = parser.add_argument_group("where the work runs (docs/scaling.md)")
    group.add_argument(
        "--scheduler",
        default=LOCAL,
        help="local (default: in this process), dask-local (a Dask LocalCluster of worker "
        "processes on this machine) or tcp://HOST:PORT of a running `dask scheduler`",
    )
    group.add_argument(
        "--scheduler-file",
        type=Path,
        default=None,
        help="the JSON file `dask scheduler --scheduler-file F` wrote (instead of an address)",
    )
    group.add_argument(
        "--workers", type=positive_int, default=None, help="dask-local: worker processes (2)"
    )
    group.add_argument(
        "--threads-per-worker",
        type=positive_int,
        default=None,
        help="dask-local: threads per worker (default 1)",
    )
    group.add_argument(
        "--memory-limit",
        default="auto",
        help="dask-local: memory per worker, e.g. 4GiB (default auto: the machine's memory "
        "shared by the workers)",
    )


def scheduler_choice(args: argparse.Namespace) -> SchedulerChoice:
    """The ``SchedulerChoice`` of parsed ``add_scheduler_options`` arguments."""
    return SchedulerChoice(args.scheduler, args.scheduler_file, args.workers,
                           args.threads_per_worker, args.memory_limit)  # fmt: skip


def command_line(module: str, argv: Sequence[str] | None) -> str:
    """``python -m <module> <argv>`` as a user would type it, without ``--warehouse`` (a copied
    warehouse re-produces its files into itself: the reader adds its own --warehouse)."""
    args, skip = [], False
    for arg in list(argv) if argv is not None else sys.argv[1:]:
        if skip:
            skip = False
        elif arg == "--warehouse":
            skip = True
        elif not arg.startswith("--warehouse="):
            args.append(arg)
    return f"python -m {module} {shlex.join(args)}".rstrip()


def _module_name(main: Callable) -> str:
    """The importable name of ``main``'s module (``__main__`` under ``python -m``)."""
    spec = getattr(sys.modules.get(main.__module__), "__spec__", None)
    return spec.name if spec is not None else main.__module__


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Call ``main`` and turn user errors and Ctrl-C into exit codes with a clear message.

    Files the command commits record it as their producer (``check_warehouse`` names it).
    """
    try:
        with producing(command_line(_module_name(main), argv)):
            return main(argv)
    except L2MError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USER_ERROR
    except duckdb.Error as err:
        known = from_duckdb_error(err)
        if known is None:
            raise
        print(f"error: {known}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(
            "interrupted: committed batches are kept; rerun the same command to resume",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
