"""Compressed and binary corpus input: .gz/.bz2/.xz read like the plain text; binary documents
(random bytes, a real ELF executable, mislabelled gzip data, Latin-1) are skipped and counted;
a mostly binary source is refused with exit 2, a fix line and no traceback."""

from __future__ import annotations

import bz2
import gzip
import lzma
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from l2m_analysis.cli import run_cli
from l2m_analysis.corpus.samples import CorpusReport, binary_kind, prepare_document
from l2m_analysis.corpus.sources import (
    BINARY_MIN_BAD,
    BINARY_RATE,
    Document,
    detect_format,
    iter_documents,
    split_compression,
)
from l2m_analysis.corpus.tokenizer import load_tokenizer
from l2m_analysis.errors import InputError
from l2m_analysis.warehouse import Warehouse
from pipelines import prepare_corpus

ROOT = Path(__file__).resolve().parents[1]
COMPRESS = {".gz": gzip.compress, ".bz2": bz2.compress, ".xz": lzma.compress}
ELF = Path("/bin/ls") if Path("/bin/ls").is_file() else Path(sys.executable).resolve()


def story(i: int, sentences: int = 150) -> str:
    return " ".join(f"Story {i} has sentence {j} about a café." for j in range(sentences))


def noise(n: int, seed: int = 0) -> bytes:
    """Random bytes (seeded: a random prefix could otherwise spell a file signature)."""
    return np.random.default_rng(seed).bytes(n)


def elf_bytes(limit: int | None = None) -> bytes:
    raw = ELF.read_bytes()
    assert raw[:4] == b"\x7fELF"  # a real executable of this machine
    return raw[:limit]


@pytest.fixture(scope="module")
def neox():
    return load_tokenizer("neox")


def prepare(tmp_path: Path, source: Path, *extra: str, run_id: str = "r") -> int:
    db = str(tmp_path / "w.duckdb")
    args = ["--warehouse", db, "--source", str(source), "--run-id", run_id, "--min-tokens", "50"]
    return run_cli(prepare_corpus.main, [*args, *extra])


def tokens_of(tmp_path: Path, run_id: str):
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        return wh.query(
            "SELECT doc_id, sample_id, chunk_index, position, token_id FROM tokens "
            "WHERE run_id = ? ORDER BY ALL",
            [run_id],
        )


# ----------------------------------------------------------------------------- the rule
def test_binary_rule_is_a_rate_over_the_documents_bytes() -> None:
    assert (BINARY_RATE, BINARY_MIN_BAD) == (0.01, 10)
    clean = "a" * 10_000
    at_limit = Document(0, "x", "\x00" * 100 + clean[100:])  # exactly 1%: still text
    over = Document(0, "x", "\x00" * 101 + clean[101:])
    assert at_limit.binary_rate == 0.01 and not at_limit.is_binary
    assert over.is_binary
    layout = Document(0, "x", "\t\n\r\f" * 2500)  # tab, newline, CR, form feed are text
    assert layout.n_control == 0 and not layout.is_binary
    controls = "".join(chr(c) for c in range(32) if chr(c) not in "\t\n\r\f")
    assert Document(0, "x", controls).n_control == 28  # NUL, \v, ESC, ... count
    undecodable = Document(0, "x", "x" * 990, n_replaced=11, n_bytes=1001)
    assert undecodable.is_binary and not Document(0, "x", "x" * 990, n_replaced=10).is_binary
    short = Document(0, "r", "Two \ufffd.", n_replaced=1, n_bytes=8)  # one stray byte
    assert short.binary_rate > BINARY_RATE and not short.is_binary
    assert not Document(0, "e", "").is_binary and Document(0, "e", "").binary_rate == 0.0


def test_random_bytes_and_an_elf_executable_are_binary(tmp_path) -> None:
    (tmp_path / "noise.bin").write_bytes(noise(20_000))
    shutil.copy(ELF, tmp_path / "tool")
    (random_doc,) = iter_documents(tmp_path / "noise.bin")
    (tool,) = iter_documents(tmp_path / "tool")
    assert random_doc.is_binary and random_doc.binary_rate > 0.3 and random_doc.size == 20_000
    assert tool.is_binary and tool.size == ELF.stat().st_size
    assert binary_kind(random_doc)[0] == "binary data"
    assert binary_kind(tool)[0] == "an ELF executable"
    (tmp_path / "fine.txt").write_text(story(0))
    (text,) = iter_documents(tmp_path / "fine.txt")
    assert not text.is_binary and text.binary_rate == 0.0


def test_binary_documents_are_never_tokenized() -> None:
    class Refusing:
        def encode_with_offsets(self, text):
            raise AssertionError("a binary document reached the tokenizer")

    doc = Document(3, "noise", noise(5000).decode("utf-8", "replace"), n_bytes=5000)
    prepared = prepare_document(doc, Refusing(), min_tokens=10)
    assert prepared.drop_reason == "binary" and prepared.ids.size == 0
    report = CorpusReport()
    report.add(prepared, 0)
    assert (report.documents, report.binary_documents, report.tokens) == (1, 1, 0)


@pytest.mark.parametrize(
    ("head", "what", "fix"),
    [
        (gzip.compress(b"hello " * 500), "gzip data", "name it *.gz"),
        (bz2.compress(noise(2000)), "bzip2 data", "name it *.bz2"),
        (lzma.compress(noise(2000)), "xz data", "name it *.xz"),
        ("Hello, world. ".encode("utf-16") * 100, "UTF-16 text", "iconv -f UTF-16"),
        (story(1).encode("latin-1"), "text not in UTF-8", "iconv -f latin1"),
    ],
)
def test_binary_kind_names_what_the_bytes_are(tmp_path, head, what, fix) -> None:
    (tmp_path / "doc.txt").write_bytes(head)
    (doc,) = iter_documents(tmp_path / "doc.txt")
    assert doc.is_binary
    assert binary_kind(doc)[0] == what and fix in binary_kind(doc)[1]


# ----------------------------------------------------------------------------- compression
@pytest.mark.parametrize("ext", [".gz", ".bz2", ".xz"])
def test_compressed_text_reads_and_tokenizes_like_the_plain_text(tmp_path, neox, ext) -> None:
    text = story(2)
    (tmp_path / "plain.txt").write_text(text)
    (tmp_path / f"packed.txt{ext}").write_bytes(COMPRESS[ext](text.encode()))
    assert split_compression(tmp_path / f"packed.txt{ext}") == (".txt", ext)
    assert detect_format(tmp_path / f"packed.txt{ext}") == "txt"
    (plain,) = iter_documents(tmp_path / "plain.txt")
    (packed,) = iter_documents(tmp_path / f"packed.txt{ext}")
    assert packed.text == plain.text and packed.size == len(text.encode())
    assert not packed.is_binary
    a, b = prepare_document(plain, neox, 50), prepare_document(packed, neox, 50)
    assert np.array_equal(a.ids, b.ids) and np.array_equal(a.plan.starts, b.plan.starts)
    folder = tmp_path / "mixed"  # a folder holds plain and compressed files alike
    folder.mkdir()
    shutil.copy(tmp_path / "plain.txt", folder / "a.txt")
    shutil.copy(tmp_path / f"packed.txt{ext}", folder / f"b.txt{ext}")
    (folder / f"c.md{ext}").write_bytes(COMPRESS[ext](b"not a corpus file"))
    docs = list(iter_documents(folder))
    assert [d.name for d in docs] == ["a.txt", f"b.txt{ext}"]
    assert docs[0].text == docs[1].text == text


@pytest.mark.parametrize("ext", [".gz", ".bz2", ".xz"])
def test_compressed_jsonl_and_parquet_are_detected_and_read(tmp_path, ext) -> None:
    folder = tmp_path / "j"
    folder.mkdir()
    (folder / f"part.jsonl{ext}").write_bytes(
        COMPRESS[ext](b'{"text": "One."}\n{"text": "Two."}\n')
    )
    assert (
        detect_format(folder) == "jsonl" and detect_format(folder / f"part.jsonl{ext}") == "jsonl"
    )
    assert [d.text for d in iter_documents(folder)] == ["One.", "Two."]
    plain = tmp_path / "p.parquet"
    pq.write_table(pa.table({"text": ["A.", "B.", None]}), plain)
    packed = tmp_path / f"p.parquet{ext}"
    packed.write_bytes(COMPRESS[ext](plain.read_bytes()))
    assert detect_format(packed) == "parquet"
    assert [d.text for d in iter_documents(packed)] == ["A.", "B.", ""]


def test_corrupt_compressed_file_names_the_file_and_the_check(tmp_path) -> None:
    bad = tmp_path / "cut.txt.gz"
    bad.write_bytes(gzip.compress(story(3).encode())[:200])  # truncated download
    with pytest.raises(InputError, match="(?s)cannot read .*cut.txt.gz.*gzip -t"):
        list(iter_documents(bad))
    (tmp_path / "fake.jsonl.xz").write_bytes(b"plain bytes, not xz")
    with pytest.raises(InputError, match="(?s)fake.jsonl.xz.*not valid .xz data"):
        list(iter_documents(tmp_path / "fake.jsonl.xz"))


def test_prepare_corpus_same_tokens_from_gzip(tmp_path) -> None:
    (tmp_path / "plain.txt").write_text(story(4))
    (tmp_path / "packed.txt.gz").write_bytes(gzip.compress(story(4).encode()))
    assert prepare(tmp_path, tmp_path / "plain.txt", run_id="plain") == 0
    assert prepare(tmp_path, tmp_path / "packed.txt.gz", run_id="packed") == 0
    plain, packed = tokens_of(tmp_path, "plain"), tokens_of(tmp_path, "packed")
    assert plain.height > 500 and plain.equals(packed)


# ----------------------------------------------------------------------------- mixed sources
def test_jsonl_and_gutenberg_skip_binary_documents(tmp_path) -> None:
    lines = b'{"text": "One."}\n' + noise(3000).replace(b"\n", b" ") + b'\n{"text": "Two."}\n'
    (tmp_path / "c.jsonl").write_bytes(lines)
    docs = list(iter_documents(tmp_path / "c.jsonl"))
    assert [d.is_binary for d in docs] == [False, True, False]
    assert [d.text for d in docs if not d.is_binary] == ["One.", "Two."]
    pg = tmp_path / "pg"
    pg.mkdir()
    (pg / "a.txt").write_text(
        "header\n*** START OF THE PROJECT GUTENBERG EBOOK A ***\nBook A.\n"
        "*** END OF THE PROJECT GUTENBERG EBOOK A ***\n"
    )
    (pg / "b.txt").write_bytes(elf_bytes(4096))  # no START marker: skipped, not an error
    docs = list(iter_documents(pg, "gutenberg"))
    assert [(d.name, d.is_binary) for d in docs] == [("a.txt:A", False), ("b.txt", True)]


def test_folder_mixing_binary_and_text_keeps_the_text(tmp_path, capsys) -> None:
    text_only, mixed = tmp_path / "text", tmp_path / "mixed"
    text_only.mkdir()
    mixed.mkdir()
    for i in range(4):
        (text_only / f"book{i}.txt").write_text(story(i))
        (mixed / f"book{i}.txt").write_text(story(i))
    (mixed / "a_noise.txt").write_bytes(noise(3000, seed=1))  # sorted first: doc ids shift
    (mixed / "tool.txt").write_bytes(elf_bytes(4096))
    (mixed / "zipped.txt").write_bytes(gzip.compress(noise(2000, seed=2)))
    assert prepare(tmp_path, text_only, run_id="text") == 0
    capsys.readouterr()
    assert prepare(tmp_path, mixed, run_id="mixed") == 0
    out = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert "documents read: 7 (kept 4)" in out
    assert "documents skipped as binary: 3" in out
    for name in ("a_noise.txt (binary data)", "tool.txt (an ELF executable)", "zipped.txt (gzip"):
        assert name in out
    text, kept = tokens_of(tmp_path, "text"), tokens_of(tmp_path, "mixed")
    assert kept["doc_id"].unique().sort().to_list() == [1, 2, 3, 4]  # 0, 5, 6 are binary
    assert kept["token_id"].to_list() == text["token_id"].to_list()  # same tokens, same order


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"only.bin": "noise"}, ["not text", "binary data"]),
        ({"a.txt": "story", "b.txt": "noise", "c.txt": "elf"}, ["2 of 3 documents", "b.txt"]),
        ({"a.txt": "story", "big.txt": "elf"}, ["1 of 2 documents", "big.txt"]),  # bytes rule
    ],
)
def test_mostly_binary_source_is_refused(tmp_path, capsys, files, expected) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    content = {"noise": lambda: noise(30_000), "elf": elf_bytes, "story": lambda: b"Hi. " * 999}
    for name, kind in files.items():
        (folder / name).write_bytes(content[kind]())
    source = folder / "only.bin" if len(files) == 1 else folder
    assert prepare(tmp_path, source) == 2
    err = capsys.readouterr().err
    assert "error:" in err and "\n  fix: point --source at the corpus's text files" in err
    assert all(text in err for text in expected), err
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        assert wh.require_run("r")["status"] == "failed"


@pytest.mark.slow  # a subprocess
def test_binary_only_source_exits_2_with_a_fix_and_no_traceback(tmp_path) -> None:
    shutil.copy(ELF, tmp_path / "program")
    out = subprocess.run(
        [sys.executable, "-m", "pipelines.prepare_corpus", "--warehouse",
         str(tmp_path / "w.duckdb"), "--source", str(tmp_path / "program")],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "program is not text: it looks like an ELF executable" in out.stderr
    assert "\n  fix: " in out.stderr and "Traceback" not in out.stderr
