"""List the warehouse's runs, or delete one run with everything it wrote.

Without options: one line per run — id, kind, status, when, and the rows it holds per table.
--delete RUN removes every file of that run in every table (token log-probs, tokens, counts,
entropies, MI estimates, fits, metrics) and its runs row, after asking for confirmation
(--yes skips the question; needed when stdin is not a terminal). Runs whose config names the
deleted run (corpus_run_id, reference_run_id) are listed, since their next step will need it.

Examples:
  python -m pipelines.runs
  python -m pipelines.runs --delete corpus-20261201-101500-ab12
  python -m pipelines.runs --delete broken-run --yes
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.console import Console

from l2m_analysis.cli import EXIT_USER_ERROR, make_parser, run_cli
from l2m_analysis.errors import InputError
from l2m_analysis.warehouse import Warehouse
from l2m_analysis.warehouse.schema import TABLES

ROWS_SQL = " UNION ALL ".join(
    f"SELECT run_id, '{t}' AS table_name, count(*) AS n FROM {t} GROUP BY run_id"
    for t in TABLES
    if t != "runs"
)


def build_parser():
    parser = make_parser("pipelines.runs", __doc__, run_id=False)
    parser.add_argument("--delete", metavar="RUN", help="delete this run and all it wrote")
    parser.add_argument("--yes", action="store_true", help="do not ask before deleting")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console(highlight=False, soft_wrap=True)
    with Warehouse.open(args.warehouse, create=False) as wh:
        if args.delete:
            return delete(wh, args.delete, args.yes, console)
        runs = wh.query("SELECT run_id, kind, status, updated_at FROM runs ORDER BY created_at")
        rows = wh.query(ROWS_SQL)
    if runs.is_empty():
        console.print("no runs yet: run a producer, e.g. python -m pipelines.run_all")
    for r in runs.iter_rows(named=True):
        held = rows.filter(rows["run_id"] == r["run_id"]).sort("table_name")
        what = ", ".join(f"{n:,} {t}" for t, n in zip(held["table_name"], held["n"], strict=True))
        console.print(f"{r['run_id']}  [dim]{r['kind']}, {r['status']}, "
                      f"{r['updated_at']:%Y-%m-%d %H:%M}[/]")  # fmt: skip
        console.print(f"    {what or 'no rows'}")
    return 0


def delete(wh: Warehouse, run_id: str, yes: bool, console: Console) -> int:
    wh.require_run(run_id)
    dependants = wh.query(
        "SELECT run_id FROM runs WHERE json_extract_string(config, '$.corpus_run_id') = ? "
        "OR json_extract_string(config, '$.reference_run_id') = ?",
        [run_id, run_id],
    )["run_id"].to_list()
    if dependants:
        console.print(f"[yellow]runs that name {run_id}: {', '.join(dependants)}[/]")
    if not yes:
        if not sys.stdin.isatty():
            raise InputError(
                f"deleting run {run_id!r} needs confirmation", "rerun with --yes to confirm"
            )
        answer = input(f"delete run {run_id} and every row it wrote? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            console.print("nothing deleted")
            return EXIT_USER_ERROR
    deleted = wh.delete_run(run_id)
    total = ", ".join(f"{n:,} {t}" for t, n in deleted.items() if n)
    console.print(f"deleted run {run_id}: {total or 'no rows'}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
