"""Write the offline HTML report of everything in the warehouse, plus PNG and SVG per chart.

Steps:
  1. reads the warehouse: the tables runs, mi_estimates and fits, and the named queries the
     charts draw (l2m_analysis.report.frames);
  2. writes <out>/l2m-report.html — one self-contained file that opens offline (the Vega
     JavaScript inlined, or static SVG with --static; no CDN, no network): the answers first
     (text β per estimator with its q, α, the Gaussian check, the L²M verdict per
     architecture, each with its 95 % interval and a link to its chart), then one section per
     paper question (Fig. 2, 3, 4/5, L²M) with its charts and a compact table, the run
     records and every fitted exponent — and <out>/charts/<name>.png and .svg; prints its path.

Examples:
  python -m pipelines.report
  python -m pipelines.report --out /tmp/report --static
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from l2m_analysis.cli import make_parser, run_cli
from l2m_analysis.errors import WarehouseError
from l2m_analysis.report import read_frames, write_report
from l2m_analysis.warehouse import Warehouse


def build_parser():
    parser = make_parser("pipelines.report", __doc__, run_id=False)
    parser.add_argument(
        "--out", type=Path, default=Path("reports"), help="output folder (default reports/)"
    )
    parser.add_argument(
        "--static",
        action="store_true",
        help="inline static SVG instead of the Vega JavaScript (no tooltips, no script)",
    )
    parser.add_argument(
        "--no-images", action="store_true", help="write only the HTML report, no PNG/SVG files"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with Warehouse.open(args.warehouse, create=False) as wh:
        frames = read_frames(wh)
    if frames.mi_estimates.is_empty() and frames.queries["training_position_curves"].is_empty():
        raise WarehouseError(
            "the warehouse holds nothing to chart yet",
            "run the main job first: python -m pipelines.run_all",
        )
    mode = "static" if args.static else "interactive"
    path = write_report(frames, args.out, images=not args.no_images, mode=mode)
    Console(highlight=False, soft_wrap=True).print(f"report: {path.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
