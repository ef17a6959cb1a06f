"""Verify every committed file of the warehouse; with --repair, fix what can be fixed.

Steps:
  1. opens the warehouse (rebuilding its catalog when it is missing, unreadable, stale, or was
     copied or moved: the catalog holds only views);
  2. checks every commit record: the file exists with the recorded size and sha256 (so its rows
     are the committed rows); finds files without a record, interrupted commits and stray
     temporary files of stopped writers;
  3. prints files and rows per table, every problem, and the command that re-produces each
     damaged or missing file (recorded when it was committed);
  4. with --repair: completes interrupted commits, removes stale temporaries and pending
     records, and moves damaged and unrecorded files to <data>/_quarantine/ (nothing is
     deleted); rerun the printed commands to write those batches again.
Exit code 0 when every file is sound, 2 when problems remain.

Examples:
  python -m pipelines.check_warehouse
  python -m pipelines.check_warehouse --warehouse copy/l2m.duckdb --repair
"""

from __future__ import annotations

import shlex
import sys
from collections import defaultdict
from collections.abc import Sequence

from rich.console import Console

from l2m_analysis.cli import EXIT_USER_ERROR, make_parser, run_cli
from l2m_analysis.warehouse import Warehouse
from l2m_analysis.warehouse.check import KINDS, REPAIRABLE, check, repair


def build_parser():
    parser = make_parser("pipelines.check_warehouse", __doc__, run_id=False)
    parser.add_argument(
        "--repair",
        action="store_true",
        help="complete interrupted commits, remove stale temporaries, quarantine damaged files",
    )
    parser.add_argument(
        "--tmp-age",
        type=float,
        default=3600.0,
        help="seconds after which a writer's temporary file counts as stale (default 3600)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False, soft_wrap=True)
    with Warehouse.open(args.warehouse, create=False) as wh:
        report = check(wh.root, args.tmp_age)
        console.print(f"warehouse {wh.path}; data in {wh.root}")
        for table, n in report.files.items():
            console.print(f"  {table:<17} {n:>6} files {report.rows[table]:>12,} rows verified")
        for p in report.problems:
            where = f"{p.table}/{p.path.parent.name}/{p.path.name}"
            detail = f" ({p.detail})" if p.detail else ""
            console.print(f"[yellow]{p.kind}[/]: {where} — {KINDS[p.kind]}{detail}")
        if args.repair and report.problems:
            for line in repair(wh.root, report):
                console.print(f"repaired: {line}")
        to_rerun = defaultdict(int)
        for p in report.problems:
            if p.kind in ("missing", "damaged", "unrecorded"):
                to_rerun[p.producer or "the pipeline that wrote this run (not recorded)"] += 1
    if not report.problems:
        console.print("[green]every committed file is sound[/]")
        return 0
    for command, n in to_rerun.items():
        where = f" --warehouse {shlex.quote(str(wh.path))}" if command.startswith("python") else ""
        console.print(f"re-produce {n} file(s): {command}{where}")
    left = [p for p in report.problems if not (args.repair and p.kind in REPAIRABLE)]
    if not left and not to_rerun:
        return 0
    if not args.repair and any(p.kind in REPAIRABLE for p in report.problems):
        console.print("fix: rerun with --repair, then the command(s) above")
    return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(run_cli(main))
