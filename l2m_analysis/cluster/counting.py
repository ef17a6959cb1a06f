"""Counting a corpus on a Dask cluster: the block plan, kernels and spill format of in-process
counting, and identical tables (real series and shuffle baseline).

This module plans and checks: the blocks (``plan_counting``, whole documents each), one task
per (block, series group) (``BlockSeries``; task arguments are paths and ids, never arrays),
whether a block fits a worker's memory (``check_worker_memory``), and it turns workers that
die again and again into a clear error. Two ways bring every partial count of a key together:

* ``disk`` (the default, ``counting_disk``): numpy hash buckets in the counting task, written
  to a scratch folder that every worker can read, merged one bucket per task;
* ``tasks`` / ``p2p`` (``counting_frames``): a Dask DataFrame ``shuffle(on="key")``.

Why ``disk`` by default: on the benchmark's 21 M tokens the DataFrame shuffle took 2x the
in-process time on one worker (hashing and regrouping ~10⁸ pandas rows, then re-sorting them),
and its in-memory form grows with the corpus (``python -m benchmarks.dask_scaling``, which
measures both; docs/scaling.md).

Memory of a count task ≈ block tokens × (``BYTES_PER_TOKEN`` + ``BYTES_PER_SERIES_TOKEN`` ×
series it holds); docs/scaling.md says how to choose --block-tokens and --split-out.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from l2m_analysis.cluster.block_series import BlockSeries
from l2m_analysis.cluster.connect import worker_limits
from l2m_analysis.cluster.counting_disk import count_through_disk
from l2m_analysis.cluster.counting_frames import frame_shuffle_graph, series_tables
from l2m_analysis.corpus.block_counting import (
    COUNT_STAGE,
    CountOptions,
    CountPlan,
    check_whole_documents,
    plan_counting,
)
from l2m_analysis.corpus.corpus_counts import CorpusCounts, assemble
from l2m_analysis.corpus.counting import check_engine
from l2m_analysis.corpus.series import check_baseline, check_distances, series_list
from l2m_analysis.errors import InputError, L2MError

BYTES_PER_TOKEN = 120  # peak bytes per block token of a counting task, one series
BYTES_PER_SERIES_TOKEN = 40  # partial counts, per block token and series held at once
WORKER_BASELINE_BYTES = 300 * 2**20  # a worker process before it counts anything
SHUFFLE_METHODS = ("auto", "disk", "tasks", "p2p")


def series_groups(
    n_series: int, block_rows: int, n_blocks: int, task_bytes: float | None, threads: int
) -> list[range]:
    """Consecutive groups of series indices, one task per group and block: as many series
    as fit ``task_bytes`` (None: no limit), but split when there are fewer blocks than worker
    threads (a task reads its block: splitting a block's series costs a read per group)."""
    fit = n_series
    if task_bytes is not None:
        fit = int((task_bytes / block_rows - BYTES_PER_TOKEN) // BYTES_PER_SERIES_TOKEN)
    wanted_groups = max(math.ceil(n_series / max(fit, 1)), math.ceil(threads / n_blocks))
    size = max(1, math.ceil(n_series / min(wanted_groups, n_series)))
    return [range(a, min(a + size, n_series)) for a in range(0, n_series, size)]


def count_token_files_on_dask(
    client: Any,
    files: Sequence[tuple[Path, int]],
    vocab_size: int,
    distances: Sequence[int],
    options: CountOptions,
    *,
    split_out: int | None = None,
    shuffle_method: str = "auto",
    on_step: Callable[[str], None] | None = None,
) -> CorpusCounts:
    """``block_counting.count_token_files`` on the cluster of ``client``: identical tables.

    shuffle_method: ``disk`` (the default ``auto``: numpy hash buckets through
    ``options.spill_dir``, which every worker must be able to read; a temporary folder when
    None), or a Dask DataFrame shuffle, ``tasks`` (in worker memory) or ``p2p`` (disk-backed).
    split_out: hash buckets (disk) or output partitions (tasks, p2p); default: at least
    ``options.buckets`` and one per block (disk), one per task (tasks, p2p). on_step: as for
    ``count_token_files``: stage "count" per series of each block, "merge" per bucket
    (``merge_buckets`` of them; none for tasks and p2p).
    """
    if sum(n for _, n in files) == 0:
        raise InputError("no tokens to count (empty corpus)", "prepare a corpus with tokens first")
    check_engine(options.engine)
    check_baseline(options.baseline)
    method = "disk" if shuffle_method == "auto" else shuffle_method
    if method not in SHUFFLE_METHODS:
        raise InputError(f"unknown shuffle method {shuffle_method!r}",
                         f"use one of {', '.join(SHUFFLE_METHODS)}")  # fmt: skip
    if split_out is not None and split_out < 1:
        raise InputError(f"split_out must be >= 1, got {split_out}", "use e.g. 16")
    plan = plan_counting(files, distances, options)
    paths = [str(path) for path, _ in files]
    check_whole_documents(paths, plan.blocks)
    block_rows = max(sum(files[i][1] for i in block) for block in plan.blocks)
    task_bytes = check_worker_memory(client, block_rows)
    series = series_list(check_distances(distances), with_baseline=options.seed is not None)
    threads = sum(t for _, t in worker_limits(client))
    groups = (
        [range(k, k + 1) for k in range(len(series))]  # disk: a block is read once anyway
        if method == "disk"
        else series_groups(len(series), block_rows, len(plan.blocks), task_bytes, threads)
    )
    tasks = [
        BlockSeries(tuple(paths[i] for i in block), b, tuple(series[k] for k in group),
                    tuple(group), vocab_size, options.engine, options.baseline, options.seed)
        for b, block in enumerate(plan.blocks) for group in groups
    ]  # fmt: skip
    step = on_step or (lambda _stage: None)
    if method == "disk":
        n_buckets = merge_buckets(options, plan, split_out)
        explain = functools.partial(explained, block_rows=block_rows)
        tables = count_through_disk(client, tasks, series, options.spill_dir, n_buckets,
                                    options.engine, step, explain)  # fmt: skip
    else:
        graph = frame_shuffle_graph(tasks, len(plan.blocks), split_out or len(tasks), method,
                                    options.engine)  # fmt: skip
        tables = series_tables(compute_or_explain(client, graph, block_rows), series)
        for _ in range(plan.count_steps):
            step(COUNT_STAGE)
    return assemble(tables, n_tokens=plan.n_tokens)


def merge_buckets(options: CountOptions, plan: CountPlan, split_out: int | None) -> int:
    """Hash buckets of the ``disk`` method (merge tasks): ``split_out``, else at least
    ``options.buckets`` and one per block, so a bucket of a series holds about as many
    partial counts as one block of it."""
    return split_out or max(options.buckets, len(plan.blocks))


def check_worker_memory(client: Any, block_rows: int) -> float | None:
    """The memory one task may use on the tightest worker (None: no limit); refuses a plan
    whose largest block cannot be counted even one series per task (a worker runs one task
    per thread at once, and pauses at 80 % of its limit)."""
    need_per_task = (BYTES_PER_TOKEN + BYTES_PER_SERIES_TOKEN) * block_rows
    budgets = []
    for limit, threads in worker_limits(client):
        if not limit:
            continue
        budget = (0.8 * limit - WORKER_BASELINE_BYTES) / threads
        if budget < need_per_task:
            fits = max(1, int(budget / (BYTES_PER_TOKEN + BYTES_PER_SERIES_TOKEN)))
            raise InputError(
                f"a counting block of {block_rows:,} tokens needs about "
                f"{need_per_task / 2**30:.2f} GiB per task and a worker runs {threads} at "
                f"once, but its --memory-limit is {limit / 2**30:.2f} GiB",
                f"raise --memory-limit to at least "
                f"{math.ceil((WORKER_BASELINE_BYTES + threads * need_per_task) / 0.8 / 2**20)}"
                f"MiB, or lower --block-tokens to about {fits:,} (or --threads-per-worker)",
            )
        budgets.append(budget)
    return min(budgets) if budgets else None


def killed_error(err: Exception, block_rows: int) -> L2MError:
    """Workers killed again and again (KilledWorker) -> a clear error with the fix."""
    return L2MError(
        f"Dask workers died repeatedly while counting ({err}); blocks of up to "
        f"{block_rows:,} tokens need about "
        f"{(BYTES_PER_TOKEN + BYTES_PER_SERIES_TOKEN) * block_rows / 2**30:.2f} GiB per task "
        "and more with several series",
        "raise --memory-limit, lower --block-tokens or --threads-per-worker, then rerun "
        "(committed series are kept)",
    )


def explained(futures: Any, block_rows: int) -> Iterator:
    """Iterate ``futures`` (e.g. ``as_completed``); KilledWorker becomes ``killed_error``."""
    from distributed import KilledWorker

    try:
        for future in futures:
            if future.status == "error":
                future.result()  # raises the task's error
            yield future
    except KilledWorker as err:
        raise killed_error(err, block_rows) from err


def compute_or_explain(client: Any, collection: Any, block_rows: int) -> Any:
    """``client.compute(collection)``; workers killed again and again become a clear error."""
    from distributed import KilledWorker

    try:
        return client.compute(collection).result()
    except KilledWorker as err:
        raise killed_error(err, block_rows) from err
