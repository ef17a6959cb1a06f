"""Write the offline HTML report of everything in the warehouse, plus PNG and SVG per chart.

Steps:
  1. reads the warehouse (the named queries fitted_exponents, two_point_mi, position_nll,
     position_kl; the tables runs, mi_estimates, fits);
  2. draws every chart the data allow (l2m_analysis.charts.sections): the Gaussian families
     (Fig. 3), each scored run's bipartite MI with its fitted law, estimators and ratios
     (Fig. 2, A.1, A.3), each corpus's two-point MI (Fig. 2, A.4), position-wise NLL/KL;
  3. writes <out>/l2m-report.html — one self-contained file that opens offline (the Vega
     JavaScript inlined, or static SVG with --static; no CDN, no network) with the table of
     fitted exponents (intervals, verdicts, warnings), every chart and the run records — and
     <out>/charts/<name>.png and .svg; prints the report's path.

Examples:
  python -m pipelines.report
  python -m pipelines.report --out /tmp/report --static
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from l2m_analysis import charts
from l2m_analysis.charts.sections import ReportFrames, report_sections, slug
from l2m_analysis.cli import make_parser, run_cli
from l2m_analysis.errors import WarehouseError
from l2m_analysis.l2m_condition.history_state import history_state_frame
from l2m_analysis.models.presets import PRESETS
from l2m_analysis.warehouse import Warehouse

REPORT_NAME = "l2m-report.html"
L2M_MODELS = ("gpt2-125m", "mamba-130m", "mamba2-130m", "gpt2-tiny", "mamba-tiny", "mamba2-tiny")


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
    console = Console(highlight=False, soft_wrap=True)
    with Warehouse.open(args.warehouse, create=False) as wh:
        frames = ReportFrames(
            runs=wh.query("SELECT * FROM runs ORDER BY created_at"),
            mi_estimates=wh.query("SELECT * FROM mi_estimates"),
            fits=wh.query("SELECT * FROM fits"),
            two_point=wh.query_file("two_point_mi"),
            position_nll=wh.query_file("position_nll"),
            position_kl=wh.query_file("position_kl"),
            training_average_kl=wh.query_file("training_average_kl"),
            training_curves=wh.query_file("training_position_curves"),
            history_states=history_state_frame(
                [PRESETS[m] for m in L2M_MODELS], [4**k for k in range(1, 9)]
            ),
        )
        exponents = wh.query_file("fitted_exponents")
    sections = report_sections(frames)
    if not sections:
        raise WarehouseError(
            "the warehouse holds nothing to chart yet",
            "run the main job first: python -m pipelines.run_all",
        )
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.no_images:
        images = args.out / "charts"
        images.mkdir(exist_ok=True)
        for section in sections:
            for suffix in (".png", ".svg"):
                charts.save_chart(section.chart, images / f"{slug(section.title)}{suffix}")
    report = charts.write_report_html(
        args.out / REPORT_NAME,
        sections,
        exponents=exponents if exponents.height else None,
        runs=frames.runs,
        intro=f"Every result in {wh.path}, in nats. Each chart's caption says what it shows.",
        mode="static" if args.static else "interactive",
    )
    console.print(f"{len(sections)} charts; report: {Path(report).resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
