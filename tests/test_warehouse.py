"""The warehouse: atomic batches, kill-and-resume, views, schema version, bad input."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import polars as pl
import pytest

from l2m_analysis.errors import InputError, WarehouseError
from l2m_analysis.warehouse import Warehouse


def logprob_batch(pair_id: int, n: int = 4) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "pair_id": [pair_id] * n,
            "condition": ["no_split"] * n,
            "split_at": [0] * n,
            "position": list(range(n)),
            "token_id": list(range(n)),
            "logprob": [-1.0 - i for i in range(n)],
        }
    )


@pytest.fixture
def wh(tmp_path: Path):
    with Warehouse.open(tmp_path / "l2m.duckdb") as warehouse:
        yield warehouse


def test_empty_views_have_the_schema(wh: Warehouse) -> None:
    df = wh.query("SELECT * FROM token_logprobs")
    assert df.is_empty()
    assert df.columns == [
        "run_id",
        "pair_id",
        "condition",
        "split_at",
        "position",
        "token_id",
        "logprob",
    ]


def test_append_is_idempotent_per_batch_key(wh: Warehouse) -> None:
    run = wh.start_run("planted", config={"n": 1})
    assert wh.append_batch("token_logprobs", run, "pairs-0", logprob_batch(0))
    assert not wh.append_batch("token_logprobs", run, "pairs-0", logprob_batch(0))
    assert wh.append_batch("token_logprobs", run, "pairs-1", logprob_batch(1))
    counts = wh.query("SELECT pair_id, count(*) AS n FROM token_logprobs GROUP BY 1 ORDER BY 1")
    assert counts.to_dicts() == [{"pair_id": 0, "n": 4}, {"pair_id": 1, "n": 4}]
    assert wh.committed_batches("token_logprobs", run) == {"pairs-0", "pairs-1"}


def test_batch_files_lists_committed_files_in_key_order(wh: Warehouse) -> None:
    run = wh.start_run("planted", config={"n": 1})
    wh.append_batch("token_logprobs", run, "pairs-1", logprob_batch(1, n=3))
    wh.append_batch("token_logprobs", run, "pairs-0", logprob_batch(0, n=5))
    files = wh.batch_files("token_logprobs", run)
    assert [n for _, n in files] == [5, 3]  # pairs-0 first, whatever the write order
    assert [pl.read_parquet(path)["pair_id"][0] for path, _ in files] == [0, 1]
    assert wh.batch_files("token_logprobs", "no-such-run") == []


PRODUCER = textwrap.dedent(
    """
    import os, signal, sys
    import polars as pl
    from l2m_analysis.warehouse import Warehouse
    path, kill_after = sys.argv[1], int(sys.argv[2])
    wh = Warehouse.open(path)
    run = wh.start_run("planted", run_id="resume-me", config={"pairs": 10})
    done = wh.committed_batches("token_logprobs", run)
    written = 0
    for pair in range(10):
        key = f"pair-{pair}"
        if key in done:
            continue
        df = pl.DataFrame({"pair_id": [pair] * 3, "condition": ["no_split"] * 3,
                           "split_at": [0] * 3, "position": [0, 1, 2],
                           "token_id": [1, 2, 3], "logprob": [-1.0, -2.0, -3.0]})
        wh.append_batch("token_logprobs", run, key, df)
        written += 1
        if written == kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no close: a real crash
    wh.finish_run(run)
    wh.close()
    """
)


def test_kill_and_resume_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "l2m.duckdb"
    killed = subprocess.run([sys.executable, "-c", PRODUCER, str(path), "4"])
    assert killed.returncode == -9
    # A crash between rename and record leaves an unrecorded file; a crash mid-write a .tmp.
    part = tmp_path / "l2m_parquet" / "token_logprobs" / "run_id=resume-me"
    (part / "orphan.parquet").write_bytes((next(part.glob("*.parquet"))).read_bytes())
    (part / "half-written.parquet.tmp").write_bytes(b"garbage")

    with Warehouse.open(path) as wh:
        assert len(wh.committed_batches("token_logprobs", "resume-me")) == 4
        assert wh.query("SELECT count(*) AS n FROM token_logprobs")["n"][0] == 12
        assert not (part / "orphan.parquet").exists()
        assert not (part / "half-written.parquet.tmp").exists()

    resumed = subprocess.run([sys.executable, "-c", PRODUCER, str(path), "0"])
    assert resumed.returncode == 0
    with Warehouse.open(path) as wh:
        rows = wh.query("SELECT pair_id, position, count(*) AS n FROM token_logprobs GROUP BY ALL")
        assert rows.height == 30 and rows["n"].max() == 1
        assert wh.require_run("resume-me")["status"] == "complete"


def test_duckdb_cli_style_access_sees_the_views(tmp_path: Path) -> None:
    path = tmp_path / "l2m.duckdb"
    with Warehouse.open(path) as wh:
        run = wh.start_run("planted")
        wh.append_batch("token_logprobs", run, "b", logprob_batch(7))
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT sum(logprob) FROM token_logprobs").fetchone()[0] == -10.0
    con.close()


def test_replace_rows_is_idempotent(wh: Warehouse) -> None:
    row = {
        "run_id": "r1",
        "source": "s",
        "quantity": "bipartite",
        "estimator": "exact",
        "length": 4,
        "value": 1.5,
    }
    for _ in range(3):
        wh.replace_rows("mi_estimates", pl.DataFrame([row]), where={"run_id": "r1"})
    assert wh.query("SELECT count(*) AS n FROM mi_estimates")["n"][0] == 1


def test_resume_with_other_config_is_refused(wh: Warehouse) -> None:
    wh.start_run("planted", run_id="r", config={"a": 1})
    assert wh.start_run("planted", run_id="r", config={"a": 1}) == "r"
    with pytest.raises(WarehouseError, match="different config"):
        wh.start_run("planted", run_id="r", config={"a": 2})


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (logprob_batch(0).drop("logprob"), r"missing columns \['logprob'\]"),
        (logprob_batch(0).with_columns(extra=pl.lit(1)), r"unexpected columns \['extra'\]"),
        (logprob_batch(0).with_columns(position=pl.lit("x")), "wrong type"),
        (logprob_batch(0).with_columns(run_id=pl.lit("other")), "holds rows of runs"),
    ],
)
def test_bad_batches_name_the_problem(wh: Warehouse, frame: pl.DataFrame, message: str) -> None:
    run = wh.start_run("planted")
    with pytest.raises(InputError, match=message):
        wh.append_batch("token_logprobs", run, "b", frame)
    assert wh.committed_batches("token_logprobs", run) == set()


def test_unknown_run_lists_known_ones(wh: Warehouse) -> None:
    wh.start_run("planted", run_id="known-run")
    with pytest.raises(WarehouseError, match="known-run"):
        wh.require_run("nope")


def test_invalid_run_id_and_table(wh: Warehouse) -> None:
    with pytest.raises(InputError, match="invalid run id"):
        wh.start_run("planted", run_id="../escape")
    with pytest.raises(InputError, match="not a Parquet table"):
        wh.append_batch("runs", "r", "b", logprob_batch(0))


def test_missing_warehouse_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="pipelines.run_all"):
        Warehouse.open(tmp_path / "absent.duckdb", create=False)


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l2m.duckdb"
    Warehouse.open(path).close()
    con = duckdb.connect(str(path))
    con.execute("UPDATE _meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(WarehouseError, match="newer than this toolkit"):
        Warehouse.open(path)


def test_foreign_duckdb_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (a INT)")
    con.close()
    with pytest.raises(WarehouseError, match="not an l2m-analysis warehouse"):
        Warehouse.open(path)


def test_env_var_sets_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("L2M_WAREHOUSE", os.fspath(tmp_path / "env.duckdb"))
    with Warehouse.open() as wh:
        assert wh.path == (tmp_path / "env.duckdb").resolve()
