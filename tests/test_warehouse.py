"""The warehouse API: atomic batches, kill-and-resume, exact partition replacement, runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from l2m_analysis.errors import InputError, WarehouseError
from l2m_analysis.warehouse import Warehouse
from l2m_analysis.warehouse.files import file_name
from l2m_analysis.warehouse.location import MARKER


def logprob_batch(sample_id: int, n: int = 4) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "sample_id": [sample_id] * n,
            "condition": ["no_split"] * n,
            "split_at": [0] * n,
            "position": list(range(n)),
            "token_id": list(range(n)),
            "logprob": [-1.0 - i for i in range(n)],
        }
    )


def estimate(run_id: str, estimator: str, length: int, value: float, source: str = "s") -> dict:
    return {"run_id": run_id, "source": source, "quantity": "bipartite", "estimator": estimator,
            "length": length, "split_at": length // 2, "ratio": 2, "value": value}  # fmt: skip


@pytest.fixture
def wh(tmp_path: Path):
    with Warehouse.open(tmp_path / "l2m.duckdb") as warehouse:
        yield warehouse


def test_empty_views_have_the_schema(wh: Warehouse) -> None:
    df = wh.query("SELECT * FROM token_logprobs")
    assert df.is_empty()
    assert df.columns == [
        "run_id", "sample_id", "condition", "split_at", "position", "token_id", "logprob",
    ]  # fmt: skip
    assert wh.query("SELECT * FROM fits").schema["warnings"] == pl.List(pl.String)


def test_append_is_idempotent_per_batch_key(wh: Warehouse) -> None:
    run = wh.start_run("planted", config={"n": 1})
    assert wh.append_batch("token_logprobs", run, "samples-0", logprob_batch(0))
    assert not wh.append_batch("token_logprobs", run, "samples-0", logprob_batch(0))
    assert wh.append_batch("token_logprobs", run, "samples-1", logprob_batch(1), meta={"k": 1})
    counts = wh.query("SELECT sample_id, count(*) AS n FROM token_logprobs GROUP BY 1 ORDER BY 1")
    assert counts.to_dicts() == [{"sample_id": 0, "n": 4}, {"sample_id": 1, "n": 4}]
    assert wh.committed_batches("token_logprobs", run) == {"samples-0", "samples-1"}
    records = {r.key: r for r in wh.batches("token_logprobs", run)}
    assert records["samples-1"].meta == {"k": 1} and records["samples-1"].n_rows == 4


def test_batch_files_lists_committed_files_in_key_order(wh: Warehouse) -> None:
    run = wh.start_run("planted", config={"n": 1})
    wh.append_batch("token_logprobs", run, "samples-1", logprob_batch(1, n=3))
    wh.append_batch("token_logprobs", run, "samples-0", logprob_batch(0, n=5))
    files = wh.batch_files("token_logprobs", run)
    assert [n for _, n in files] == [5, 3]  # samples-0 first, whatever the write order
    assert [pl.read_parquet(path)["sample_id"][0] for path, _ in files] == [0, 1]
    assert wh.batch_files("token_logprobs", "no-such-run") == []


def test_replace_partitions_replaces_exactly_the_partitions_given(wh: Warehouse) -> None:
    rows = [
        estimate("r1", "direct", 4, 1.0),
        estimate("r1", "vclub", 4, 2.0),
        estimate("r2", "direct", 4, 3.0),
        estimate("r1", "direct", 4, 9.0, source="t"),
    ]
    wh.replace_partitions("mi_estimates", pl.DataFrame(rows))
    for _ in range(3):  # a rerun replaces, never duplicates
        wh.replace_partitions("mi_estimates", pl.DataFrame([estimate("r1", "direct", 8, 1.5)]))
    got = wh.query("SELECT run_id, source, estimator, length, value FROM mi_estimates ORDER BY ALL")
    assert got.rows() == [
        ("r1", "s", "direct", 8, 1.5),  # r1/s/direct replaced: the length-4 row is gone
        ("r1", "s", "vclub", 4, 2.0),  # every other partition untouched
        ("r1", "t", "direct", 4, 9.0),
        ("r2", "s", "direct", 4, 3.0),
    ]
    gone = {"run_id": "r1", "source": "s", "quantity": "bipartite", "estimator": "vclub"}
    wh.replace_partitions("mi_estimates", pl.DataFrame(), recomputed=[gone])
    assert wh.query("SELECT count(*) AS n FROM mi_estimates WHERE estimator = 'vclub'")["n"][0] == 0
    assert wh.query("SELECT count(*) AS n FROM mi_estimates")["n"][0] == 3


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    writes=st.lists(
        st.tuples(st.sampled_from(["r1", "r2"]), st.sampled_from(["direct", "vclub", "exact"]),
                  st.integers(1, 3)),
        min_size=1, max_size=8,
    )
)  # fmt: skip
def test_replace_partitions_matches_a_dictionary_model(tmp_path_factory, writes) -> None:
    """Property: after any sequence of partition writes, the table holds, per partition, the
    rows of the last write of that partition — as a dict keyed by partition would."""
    model: dict[tuple[str, str], list[float]] = {}
    with Warehouse.open(tmp_path_factory.mktemp("prop") / "l2m.duckdb") as wh:
        for i, (run, estimator, n_rows) in enumerate(writes):
            values = [float(10 * i + k) for k in range(n_rows)]
            frame = pl.DataFrame([estimate(run, estimator, 4 * (k + 1), v)
                                  for k, v in enumerate(values)])  # fmt: skip
            wh.replace_partitions("mi_estimates", frame)
            model[(run, estimator)] = values
        got = wh.query("SELECT run_id, estimator, value FROM mi_estimates")
    want = sorted((r, e, v) for (r, e), vs in model.items() for v in vs)
    assert sorted(got.rows()) == want


def test_resume_with_other_config_is_refused_once_data_exist(wh: Warehouse) -> None:
    wh.start_run("planted", run_id="r", config={"a": 1})
    assert wh.start_run("planted", run_id="r", config={"a": 1}) == "r"
    # no committed data yet: a failed start may be retried with the fixed options
    assert wh.start_run("planted", run_id="r", config={"a": 2}) == "r"
    assert json.loads(wh.require_run("r")["config"]) == {"a": 2}
    wh.append_batch("token_logprobs", "r", "b", logprob_batch(0))
    with pytest.raises(WarehouseError, match="different config") as err:
        wh.start_run("planted", run_id="r", config={"a": 3})
    assert "pipelines.runs --delete r" in str(err.value)


def test_finish_run_keeps_the_creation_time(wh: Warehouse) -> None:
    wh.start_run("planted", run_id="r")
    created = wh.require_run("r")["created_at"]
    wh.finish_run("r", status="failed")
    row = wh.require_run("r")
    assert row["status"] == "failed" and row["created_at"] == created
    assert row["updated_at"] >= created
    assert wh.query("SELECT count(*) AS n FROM runs")["n"][0] == 1


def test_delete_run_removes_every_file_of_the_run_only(wh: Warehouse) -> None:
    for run in ("keep", "drop"):
        wh.start_run("planted", run_id=run)
        wh.append_batch("token_logprobs", run, "b", logprob_batch(0))
        wh.replace_partitions("mi_estimates", pl.DataFrame([estimate(run, "direct", 4, 1.0)]))
    deleted = wh.delete_run("drop")
    assert deleted["token_logprobs"] == 4 and deleted["mi_estimates"] == 1 and deleted["runs"] == 1
    assert wh.query("SELECT DISTINCT run_id FROM token_logprobs")["run_id"].to_list() == ["keep"]
    assert wh.query("SELECT run_id FROM runs")["run_id"].to_list() == ["keep"]
    assert not list(wh.root.rglob("run_id=drop"))  # data and commit records
    with pytest.raises(WarehouseError, match="unknown run id 'drop'"):
        wh.require_run("drop")


PRODUCER = textwrap.dedent(
    """
    import os, signal, sys
    import polars as pl
    from l2m_analysis.warehouse import Warehouse
    path, kill_after = sys.argv[1], int(sys.argv[2])
    wh = Warehouse.open(path)
    run = wh.start_run("planted", run_id="resume-me", config={"samples": 10})
    done = wh.committed_batches("token_logprobs", run)
    written = 0
    for sample in range(10):
        key = f"sample-{sample}"
        if key in done:
            continue
        df = pl.DataFrame({"sample_id": [sample] * 3, "condition": ["no_split"] * 3,
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
    # a writer killed mid-commit leaves a temporary file and a pending record: both invisible
    part = tmp_path / "l2m_parquet" / "token_logprobs" / "run_id=resume-me"
    (part / f"{file_name('sample-4')}.parquet.999-dead.tmp").write_bytes(b"garbage")
    records = tmp_path / "l2m_parquet" / "_commits" / "token_logprobs" / "run_id=resume-me"
    (records / f"{file_name('sample-4')}.json.pending").write_text("{}")

    with Warehouse.open(path) as wh:
        assert len(wh.committed_batches("token_logprobs", "resume-me")) == 4
        assert wh.query("SELECT count(*) AS n FROM token_logprobs")["n"][0] == 12

    resumed = subprocess.run([sys.executable, "-c", PRODUCER, str(path), "0"])
    assert resumed.returncode == 0
    with Warehouse.open(path) as wh:
        rows = wh.query(
            "SELECT sample_id, position, count(*) AS n FROM token_logprobs GROUP BY ALL"
        )
        assert rows.height == 30 and rows["n"].max() == 1
        assert wh.require_run("resume-me")["status"] == "complete"


def test_duckdb_file_holds_views_of_the_committed_files(tmp_path: Path) -> None:
    path = tmp_path / "l2m.duckdb"
    with Warehouse.open(path) as wh:
        run = wh.start_run("planted")
        wh.append_batch("token_logprobs", run, "b", logprob_batch(7))
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT sum(logprob) FROM token_logprobs").fetchall()[0][0] == -10.0
    assert con.execute("SELECT count(*) FROM duckdb_tables()").fetchall()[0][0] == 0
    con.close()
    with Warehouse.open(path) as wh:  # a batch committed after the catalog was built
        wh.append_batch("token_logprobs", run, "c", logprob_batch(8))
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM token_logprobs").fetchall()[0][0] == 8


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
    with pytest.raises(InputError, match="not a bulk table"):
        wh.append_batch("runs", "r", "b", logprob_batch(0))
    with pytest.raises(InputError, match="not a result table"):
        wh.replace_partitions("tokens", logprob_batch(0))


def test_missing_warehouse_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="pipelines.run_all"):
        Warehouse.open(tmp_path / "absent.duckdb", create=False)
    assert not (tmp_path / "absent_parquet").exists()  # a reader creates nothing


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "l2m.duckdb"
    Warehouse.open(path).close()
    marker = tmp_path / "l2m_parquet" / MARKER
    marker.write_text(json.dumps({**json.loads(marker.read_text()), "schema_version": 999}))
    with pytest.raises(WarehouseError, match="newer than this toolkit"):
        Warehouse.open(path)


def test_foreign_duckdb_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t (a INT)")
    con.close()
    before = path.read_bytes()
    with pytest.raises(WarehouseError, match="not an l2m-analysis warehouse"):
        Warehouse.open(path)
    assert path.read_bytes() == before and not (tmp_path / "other_parquet").exists()


def test_env_var_sets_default_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("L2M_WAREHOUSE", os.fspath(tmp_path / "env.duckdb"))
    with Warehouse.open() as wh:
        assert wh.path == tmp_path / "env.duckdb"
