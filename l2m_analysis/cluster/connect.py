"""``--scheduler``: run in process, on a local Dask cluster, or on an existing one.

* ``local`` (default): no Dask; the in-process path.
* ``dask-local``: a ``distributed.LocalCluster`` of ``workers`` worker processes with
  ``threads_per_worker`` threads and ``memory_limit`` each, listening on 127.0.0.1 only; closed
  when the step ends.
* ``tcp://HOST:PORT`` (or ``scheduler_file``, the JSON file ``dask scheduler --scheduler-file``
  writes): an existing cluster; the step leaves it running.

An unreachable scheduler, a missing scheduler file or a cluster without workers is refused
within ``CONNECT_TIMEOUT_S`` with the fix, never a hang.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask
from dask.utils import parse_bytes

from l2m_analysis.errors import InputError

LOCAL, DASK_LOCAL = "local", "dask-local"
CONNECT_TIMEOUT_S = 8
START_HINT = (
    "start one: `dask scheduler --host 127.0.0.1 --scheduler-file sched.json` and "
    "`dask worker --scheduler-file sched.json`, then pass --scheduler-file sched.json; or use "
    "--scheduler dask-local (a cluster on this machine) or --scheduler local (no Dask)"
)


@dataclass(frozen=True)
class SchedulerChoice:
    """Where a step runs (see the module docstring). ``memory_limit``: per worker, e.g. "4GiB"
    or "auto" (the machine's memory shared by the workers)."""

    scheduler: str = LOCAL
    scheduler_file: Path | None = None
    workers: int | None = None
    threads_per_worker: int | None = None
    memory_limit: str = "auto"

    @property
    def in_process(self) -> bool:
        return self.scheduler == LOCAL and self.scheduler_file is None

    def __post_init__(self) -> None:
        if self.scheduler not in (LOCAL, DASK_LOCAL) and "://" not in self.scheduler:
            raise InputError(
                f"--scheduler {self.scheduler!r} is neither local, dask-local nor an address",
                "give tcp://HOST:PORT (the address `dask scheduler` prints), dask-local or local",
            )
        if self.scheduler_file is not None and self.scheduler != LOCAL:
            raise InputError(
                "--scheduler and --scheduler-file both name a cluster",
                "pass only one of them",
            )
        if self.memory_limit != "auto":
            memory_bytes(self.memory_limit)

    def to_args(self) -> list[str]:
        """The same choice as command-line options (run_all passes it to its steps)."""
        out = ["--scheduler", self.scheduler]
        if self.scheduler_file is not None:
            out += ["--scheduler-file", str(self.scheduler_file)]
        if self.workers is not None:
            out += ["--workers", str(self.workers)]
        if self.threads_per_worker is not None:
            out += ["--threads-per-worker", str(self.threads_per_worker)]
        return out + ["--memory-limit", self.memory_limit]


def memory_bytes(text: str) -> int:
    """ "4GiB", "500MB", "2e9" -> bytes; a clear error for anything else."""
    try:
        value = int(parse_bytes(text))
    except (ValueError, TypeError):
        value = -1
    if value <= 0:
        raise InputError(
            f"--memory-limit {text!r} is not a memory size", "write e.g. 4GiB, 500MB or auto"
        )
    return value


@contextlib.contextmanager
def open_cluster(choice: SchedulerChoice, notify: Callable[[str], None] = print) -> Iterator[Any]:
    """A ``distributed.Client`` for ``choice`` (None for ``local``); ``notify`` gets the
    dashboard link. A cluster this function started is closed on exit."""
    if choice.in_process:
        yield None
        return
    from distributed import Client, LocalCluster

    cluster = None
    if choice.scheduler == DASK_LOCAL:
        # worker processes may start processes of their own (vLLM's engine): not daemonic
        with dask.config.set({"distributed.worker.daemon": False}):
            cluster = LocalCluster(
                n_workers=choice.workers or 2, threads_per_worker=choice.threads_per_worker or 1,
                memory_limit=choice.memory_limit, processes=True, host="127.0.0.1",
                dashboard_address="127.0.0.1:0", silence_logs=logging.ERROR,
            )  # fmt: skip
        client = Client(cluster)
    else:
        client = _connect(choice)
    try:
        _wait_for_workers(client)
        notify(describe(client))
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _connect(choice: SchedulerChoice) -> Any:
    from distributed import Client

    if choice.scheduler_file is not None:
        if not Path(choice.scheduler_file).is_file():
            raise InputError(f"scheduler file {choice.scheduler_file} does not exist", START_HINT)
        where = f"the scheduler named in {choice.scheduler_file}"
        kwargs: dict[str, Any] = {"scheduler_file": str(choice.scheduler_file)}
    else:
        where = f"the Dask scheduler at {choice.scheduler}"
        kwargs = {"address": choice.scheduler}
    try:
        return Client(timeout=CONNECT_TIMEOUT_S, **kwargs)
    except (OSError, TimeoutError, ValueError) as err:
        raise InputError(
            f"cannot reach {where} within {CONNECT_TIMEOUT_S} s ({err})",
            f"check that it runs and the address is right; {START_HINT}",
        ) from err


def _wait_for_workers(client: Any) -> None:
    try:
        client.wait_for_workers(1, timeout=CONNECT_TIMEOUT_S)
    except TimeoutError as err:
        client.close()
        raise InputError(
            f"the Dask scheduler at {client.scheduler.address} has no workers",
            "start workers: `dask worker <address>` (or --scheduler-file), or use --scheduler "
            "dask-local",
        ) from err


def describe(client: Any) -> str:
    """One line: workers, threads, memory and the dashboard link."""
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    threads = sum(w["nthreads"] for w in workers)
    memory = sum(w.get("memory_limit") or 0 for w in workers)
    gpus = sum(w.get("resources", {}).get("GPU", 0) for w in workers)
    return (
        f"Dask: {len(workers)} worker{'s' * (len(workers) != 1)}, {threads} thread"
        + "s" * (threads != 1)
        + (f", {memory / 2**30:.1f} GiB" if memory else "")
        + (f", {gpus:g} GPUs" if gpus else "")
        + f"; dashboard {client.dashboard_link}"
    )


def worker_limits(client: Any) -> list[tuple[int, int]]:
    """(memory_limit bytes or 0 for none, nthreads) of every worker."""
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    return [(int(w.get("memory_limit") or 0), int(w["nthreads"])) for w in workers]


def has_gpu_workers(client: Any) -> bool:
    """True when any worker declares a ``GPU`` resource (``--resources GPU=1``, dask-cuda)."""
    workers = client.scheduler_info(n_workers=-1)["workers"].values()
    return any(w.get("resources", {}).get("GPU", 0) > 0 for w in workers)
