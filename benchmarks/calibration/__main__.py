"""``python -m benchmarks.calibration [--seeds N] [--quick] [--study NAME ...] [--markdown]``.

Runs the calibration studies (each a module of this package, listed in ``STUDIES``) and prints
one row per estimator × known-answer source: exact value, mean estimate, bias ± its standard
error and, for interval studies, the coverage of the nominal 95 % intervals with its binomial
95 % CI (Clopper-Pearson). ``--markdown`` prints the rows of docs/validation.md.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

from rich.console import Console
from rich.table import Table

from benchmarks.calibration.common import markdown_rows, nominal_within

# the study modules of this package, in the order they run
STUDIES: list[str] = ["beta", "two_point", "alpha", "entropy", "toy", "lzma_iid", "capacity"]
COMMAND = "python -m benchmarks.calibration"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50, help="replicates per study (default 50)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--study", nargs="+", choices=STUDIES or None, help="run only these")
    parser.add_argument("--markdown", action="store_true", help="print docs/validation.md rows")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console()
    rows: list[dict] = []
    for name in args.study or STUDIES:
        module = importlib.import_module(f"benchmarks.calibration.{name}")
        start = time.perf_counter()
        found = module.run(args.seeds, args.quick)
        console.print(f"{module.STUDY}: {len(found)} rows in {time.perf_counter() - start:.0f} s")
        rows += found
    table = Table(title=f"Calibration ({args.seeds} seeds{', quick' if args.quick else ''})")
    for col in ("study", "estimator", "source", "target", "exact", "mean", "bias ± se",
                "coverage [95% CI]", "nominal?"):  # fmt: skip
        table.add_column(col)
    for r in rows:
        cov = "–" if r["coverage"] is None else (
            f"{r['coverage']:.3f} [{r['coverage_lo']:.3f}, {r['coverage_hi']:.3f}]")  # fmt: skip
        ok = nominal_within(r)
        table.add_row(r["study"], r["estimator"], r["source"], r["target"], f"{r['exact']:.4g}",
                      f"{r['mean_estimate']:.4g}", f"{r['bias']:.3g} ± {r['bias_se']:.2g}", cov,
                      "–" if ok is None else ("yes" if ok else "NO"))  # fmt: skip
    console.print(table)
    if args.markdown:
        print(markdown_rows(rows, f"{COMMAND} --seeds {args.seeds}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
