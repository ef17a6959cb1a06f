"""A batch written twice at the same time — a Dask task run twice after a worker died, or by
work stealing — ends as exactly one committed file whose record matches it; the loser commits
nothing and leaves nothing behind. Real processes race on a real warehouse."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import polars as pl

from l2m_analysis.warehouse import Warehouse
from l2m_analysis.warehouse.bulk import append_batch
from l2m_analysis.warehouse.check import check
from l2m_analysis.warehouse.files import file_sha256

ROUNDS, WRITERS = 40, 4


def _write(root: str, value: float, barrier, results) -> None:
    """One writer: every round, the same batch key as the others, its own payload."""
    rows = pl.DataFrame({"sample_id": list(range(200)), "condition": ["no_split"] * 200,
                         "split_at": [0] * 200, "position": list(range(200)),
                         "token_id": [1] * 200, "logprob": [value] * 200})  # fmt: skip
    for r in range(ROUNDS):
        key = f"batch-{r:03d}"
        barrier.wait()  # all writers start the round together
        results.put((key, value, append_batch(Path(root), "token_logprobs", "race", key, rows)))


def test_the_same_batch_written_at_once_with_different_payloads_is_one_file(tmp_path) -> None:
    with Warehouse.open(tmp_path / "l2m.duckdb") as wh:
        wh.start_run("planted", run_id="race", config={})
        root = wh.root
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    barrier = ctx.Barrier(WRITERS)
    procs = [ctx.Process(target=_write, args=(str(root), -float(w + 1), barrier, results))
             for w in range(WRITERS)]  # fmt: skip
    for p in procs:
        p.start()
    outcomes = [results.get(timeout=120) for _ in range(ROUNDS * WRITERS)]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with Warehouse.open(tmp_path / "l2m.duckdb", create=False) as wh:
        records = {r.key: r for r in wh.batches("token_logprobs", "race")}
        stored = wh.query("SELECT sample_id, min(logprob) AS lo, max(logprob) AS hi, count(*) AS n "
                          "FROM token_logprobs WHERE run_id = 'race' GROUP BY ALL")  # fmt: skip
    assert len(records) == ROUNDS
    for r in range(ROUNDS):
        key = f"batch-{r:03d}"
        winners = [v for k, v, won in outcomes if k == key and won]
        assert len(winners) == 1, (key, winners)  # exactly one writer committed it
        path = root / "token_logprobs" / "run_id=race" / f"{records[key].name}.parquet"
        assert file_sha256(path) == records[key].sha256  # the record describes the data
        assert pl.read_parquet(path)["logprob"].unique().to_list() == winners  # the winner's
    assert stored.height == 200 and (stored["n"] == ROUNDS).all()
    report = check(root, tmp_age_s=0)
    assert report.ok, report.problems  # no pending record, no temporary file left behind
    assert not list((root / "token_logprobs" / "run_id=race").glob("*.tmp"))
