"""Tokenizers from local files: the embedded GPT-NeoX-20B, a tokenizer.json, a folder."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest

from l2m_analysis.assets import neox_tokenizer_path
from l2m_analysis.corpus.gutenberg import embedded_books
from l2m_analysis.corpus.samples import CorpusReport, prepare_document
from l2m_analysis.corpus.sources import Document
from l2m_analysis.corpus.tokenizer import load_tokenizer, piece_boundaries
from l2m_analysis.errors import InputError


@pytest.fixture(scope="module")
def neox():
    return load_tokenizer("neox")


def test_neox_hello_world_and_identity(neox) -> None:
    assert neox.encode("Hello world").tolist() == [12092, 1533]  # as in Pythia / GPT-NeoX
    ident = neox.identity
    assert ident.name == "gpt-neox-20b" and ident.vocab_size == 50277
    assert ident.sha256 == hashlib.sha256(neox_tokenizer_path().read_bytes()).hexdigest()
    assert ident.label == f"gpt-neox-20b sha256:{ident.sha256}"


def test_piecewise_encoding_equals_whole_document(neox) -> None:
    text = embedded_books()[0].text[:60_000]  # Sherlock Holmes: many pieces of 8192 characters
    cuts = piece_boundaries(text)
    assert cuts[0] == 0 and cuts[-1] == len(text) and len(cuts) > 5
    assert all(text[c].isspace() and not text[c - 1].isspace() for c in cuts[1:-1])
    ids, ends = neox.encode_with_offsets(text)
    whole = neox.backend.encode(text, add_special_tokens=False).ids
    assert ids.tolist() == whole
    assert np.all(np.diff(ends) >= 0) and ends[-1] == len(text)


def test_tokenizer_json_file_and_folder(tmp_path) -> None:
    folder = tmp_path / "my-tok"
    folder.mkdir()
    shutil.copy(neox_tokenizer_path(), folder / "tokenizer.json")
    by_folder = load_tokenizer(folder)
    by_file = load_tokenizer(folder / "tokenizer.json")
    assert by_folder.identity.name == by_file.identity.name == "my-tok"
    assert by_folder.identity.sha256 == by_file.identity.sha256
    assert by_folder.encode("Hello world").tolist() == [12092, 1533]


def test_bad_tokenizer_paths(tmp_path) -> None:
    with pytest.raises(InputError, match="neither 'neox', a tokenizer.json"):
        load_tokenizer(tmp_path / "missing.json")
    broken = tmp_path / "tokenizer.json"
    broken.write_text("{not json")
    with pytest.raises(InputError, match="cannot load tokenizer"):
        load_tokenizer(broken)
    empty = tmp_path / "empty-folder"
    empty.mkdir()
    with pytest.raises(InputError, match="cannot load a tokenizer"):
        load_tokenizer(empty)


def test_prepared_document_rows_and_report(neox) -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(61))  # 7 tokens each
    prepared = prepare_document(Document(7, "d", text, n_replaced=2), neox, min_tokens=40)
    frame = prepared.tokens_frame(first_sample_id=100)
    plan = prepared.plan
    assert frame["sample_id"].unique().sort().to_list() == list(range(100, 100 + plan.n_samples))
    assert frame["doc_id"].unique().to_list() == [7]
    first_rows = frame.filter(frame["position"] == 0)
    assert first_rows["token_id"].to_list() == prepared.ids[plan.starts].tolist()
    for start in plan.starts:  # every sample starts at a sentence ("Sent" + "ence")
        assert neox.backend.decode(prepared.ids[start : start + 2].tolist()).strip() == "Sentence"
    assert frame.group_by("sample_id").len()["len"].min() >= 40
    report = CorpusReport()
    report.add(prepared, plan.n_samples)
    report.add(prepare_document(Document(8, "e", "  "), neox, 40), 0)
    report.add(prepare_document(Document(9, "f", "Too short."), neox, 40), 0)
    assert report.samples == plan.n_samples and report.tokens == plan.n_tokens
    assert report.dropped_documents == {"empty": 1, "shorter than min_tokens": 1}
    assert report.replaced_bytes == 2
    text_report = "\n".join(report.lines())
    assert "final remainder shorter than min_tokens" in text_report
