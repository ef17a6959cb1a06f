"""Readers beside writers, with real processes: a writer streams batches while other processes
query through the toolkit, the DuckDB CLI, and connections held open for seconds (read-only and
read-write). Everybody finishes; readers only ever see whole batches; nothing is lost or
duplicated. (docs/warehouse.md, "Concurrency".)"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from l2m_analysis.warehouse import Warehouse
from tests.test_queries import duckdb_cli

pytestmark = pytest.mark.slow  # real reader and writer processes

BATCHES, ROWS = 40, 50

WRITER = textwrap.dedent(
    f"""
    import sys, time
    import polars as pl
    from l2m_analysis.warehouse import Warehouse
    wh = Warehouse.open(sys.argv[1])
    run = wh.start_run("planted", run_id=sys.argv[2], config={{}})
    for b in range({BATCHES}):
        rows = pl.DataFrame({{"sample_id": [b] * {ROWS}, "condition": ["no_split"] * {ROWS},
                             "split_at": [0] * {ROWS}, "position": list(range({ROWS})),
                             "token_id": [1] * {ROWS}, "logprob": [-1.0] * {ROWS}}})
        wh.append_batch("token_logprobs", run, f"batch-{{b:03d}}", rows)
        if b % 10 == 9:  # a result table rewritten while readers read it
            est = pl.DataFrame([{{"run_id": run, "source": "s", "quantity": "bipartite",
                                 "estimator": "direct", "length": 4, "value": float(b)}}])
            wh.replace_partitions("mi_estimates", est)
        time.sleep(0.05)
    wh.finish_run(run)
    print("writer done")
    """
)

READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from l2m_analysis.warehouse import Warehouse
    path, stop, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    seen = []
    while True:
        finished = stop.exists()
        with Warehouse.open(path, create=False) as wh:
            n, keys = wh.query("SELECT count(*) AS n, count(DISTINCT (run_id, sample_id, position))"
                               " AS k FROM token_logprobs").row(0)
            mi = wh.query("SELECT count(*) AS n FROM mi_estimates")["n"][0]
        seen.append([n, keys, mi])
        if finished:
            break
        time.sleep(0.2)
    out.write_text(json.dumps(seen))
    """
)

HOLDER = textwrap.dedent(
    """
    import sys, time
    import duckdb
    con = duckdb.connect(sys.argv[1], read_only=sys.argv[2] == "ro")
    first = con.execute("SELECT count(*) FROM token_logprobs").fetchall()[0][0]
    time.sleep(float(sys.argv[3]))
    last = con.execute("SELECT count(*) FROM token_logprobs").fetchall()[0][0]
    con.close()
    print(first, last)
    """
)


def test_readers_and_writers_never_block_each_other(tmp_path: Path) -> None:
    catalog = tmp_path / "l2m.duckdb"
    Warehouse.open(catalog).close()
    stop = tmp_path / "writers-done"
    reader_out = tmp_path / "reader.json"
    py = sys.executable
    holders = [  # connections held for seconds by notebooks / CLI sessions
        subprocess.Popen([py, "-c", HOLDER, str(catalog), "ro", "3"], stdout=subprocess.PIPE),
        subprocess.Popen([py, "-c", HOLDER, str(catalog), "ro", "2"], stdout=subprocess.PIPE),
    ]
    time.sleep(1.0)  # the holders have the catalog open before the writers start
    reader = subprocess.Popen([py, "-c", READER, str(catalog), str(stop), str(reader_out)])
    writers = [
        subprocess.Popen([py, "-c", WRITER, str(catalog), run], stdout=subprocess.PIPE)
        for run in ("w1", "w2")  # two writers at once need no shared lock either
    ]
    cli_counts = []
    while any(w.poll() is None for w in writers):
        out = subprocess.run(
            [duckdb_cli(), "-readonly", "-csv", "-noheader", str(catalog),
             "SELECT count(*) FROM token_logprobs"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        cli_counts.append(int(out.stdout.strip()))
        time.sleep(0.3)
    stop.touch()
    for w in writers:
        out, _ = w.communicate(timeout=120)
        assert w.returncode == 0 and b"writer done" in out
    assert reader.wait(timeout=120) == 0
    for h in holders:
        out, _ = h.communicate(timeout=120)
        assert h.returncode == 0
        first, last = map(int, out.split())
        assert first <= last  # a long-held connection sees new commits too

    total = 2 * BATCHES * ROWS
    seen = json.loads(reader_out.read_text())
    assert len(seen) >= 3 and seen[-1] == [total, total, 2]
    for n, keys, mi in seen:
        assert n == keys and n % ROWS == 0  # whole batches only, never a duplicate
        assert mi in (0, 1, 2)  # a replaced partition is never seen twice or half
    assert [s[0] for s in seen] == sorted(s[0] for s in seen)  # nothing ever disappears
    assert len(cli_counts) >= 3 and all(c % ROWS == 0 for c in cli_counts)
    assert cli_counts == sorted(cli_counts)
    with Warehouse.open(catalog, create=False) as wh:
        rows = wh.query("SELECT run_id, count(*) AS n FROM token_logprobs GROUP BY 1 ORDER BY 1")
        assert rows.rows() == [("w1", BATCHES * ROWS), ("w2", BATCHES * ROWS)]
        assert (
            wh.query("SELECT value FROM mi_estimates ORDER BY run_id")["value"].to_list()
            == [float(BATCHES - 1)] * 2
        )


def test_a_session_holding_the_catalog_read_write_does_not_stop_writers(tmp_path: Path) -> None:
    catalog = tmp_path / "l2m.duckdb"
    Warehouse.open(catalog).close()
    holder = duckdb.connect(str(catalog))  # e.g. `duckdb warehouse/l2m.duckdb` without -readonly
    try:
        writer = subprocess.run(
            [sys.executable, "-c", WRITER, str(catalog), "w"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert writer.returncode == 0, writer.stderr
        assert holder.execute("SELECT count(*) FROM token_logprobs").fetchall()[0][0] == (
            BATCHES * ROWS
        )
    finally:
        holder.close()
