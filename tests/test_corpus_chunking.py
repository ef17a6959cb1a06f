"""Sentence splitting, sentence-aligned chunking, and the Gutenberg split of the embedded file."""

from __future__ import annotations

import numpy as np
import pytest

from l2m_analysis.assets import embedded_corpus_path
from l2m_analysis.corpus.chunking import (
    chunk_document,
    plan_chunks,
    sentence_starts,
    sentence_token_starts,
)
from l2m_analysis.corpus.gutenberg import embedded_books, split_gutenberg
from l2m_analysis.errors import InputError


def starts_as_text(text: str) -> list[str]:
    return [text[i : i + 12] for i in sentence_starts(text)]


def test_sentence_starts_rules() -> None:
    text = (
        '  Mr. Holmes said hello. "Who is it?" asked J. Watson. The U.S. Army came.\n\n'
        "chapter ii\nIt was 1880. e.g. this. Dr. Who! Yes... 42 men left (at dawn). Done"
    )
    assert starts_as_text(text) == [
        "Mr. Holmes s",  # the first visible character
        '"Who is it?"',  # after '.', before an opening quote; not before "asked" (lowercase)
        "The U.S. Arm",  # not after the initial "J."; not inside "U.S."
        "chapter ii\nI",  # a paragraph break starts a sentence even in lowercase
        "Dr. Who! Yes",  # not before "e.g." (lowercase), not after "Dr."
        "Yes... 42 me",  # after '!'
        "42 men left ",  # a digit may start a sentence
        "Done",  # after a closing bracket and '.'
    ]
    assert sentence_starts("   \n ").size == 0


def test_chunks_start_at_sentences_and_meet_the_minimum() -> None:
    sentences = np.array([0, 3, 10, 12, 30, 31, 45, 60])
    plan = plan_chunks(sentences, n_tokens=68, min_tokens=10)
    assert plan.starts.tolist() == [0, 10, 30, 45]
    assert plan.ends.tolist() == [10, 30, 45, 60]
    assert set(plan.starts) <= set(sentences)
    assert np.all(plan.ends - plan.starts >= 10)
    assert (plan.head_dropped, plan.tail_dropped, plan.n_tokens) == (0, 8, 60)
    assert plan_chunks(sentences, 70, 10).ends.tolist() == [10, 30, 45, 60, 70]
    # the document end closes the last sample when it is long enough
    assert plan_chunks(np.array([5, 8]), 20, 10).ends.tolist() == [20]
    assert plan_chunks(np.array([5, 8]), 20, 10).head_dropped == 5
    short = plan_chunks(np.array([0, 4]), 9, 10)  # shorter than min_tokens: dropped, counted
    assert short.n_samples == 0 and short.tail_dropped == 9
    with pytest.raises(InputError):
        plan_chunks(sentences, 68, 0)


def test_sentence_characters_map_to_the_token_that_holds_them() -> None:
    # tokens end at characters 3, 4, 9, 10 -> chars 0..2 token 0, 3 token 1, 4..8 token 2, ...
    ends = np.array([3, 4, 9, 10])
    assert sentence_token_starts(np.array([0, 3, 5, 9, 10]), ends).tolist() == [0, 1, 2, 3]


def test_chunk_document_with_whitespace_tokens() -> None:
    text = "One two. Three four five. Six seven eight nine. Ten."
    words = text.split(" ")
    ends = np.cumsum([len(w) + (i > 0) for i, w in enumerate(words)])  # " word" tokens
    plan = chunk_document(text, ends, min_tokens=3)
    first_words = [words[s] for s in plan.starts]
    assert first_words == ["One", "Six"]  # "One two." alone is shorter than 3 tokens
    assert (plan.ends - plan.starts).tolist() == [5, 4]
    assert plan.tail_dropped == 1  # "Ten." is shorter than 3 tokens


def test_gutenberg_split_of_the_embedded_file() -> None:
    books = embedded_books()
    assert [b.title for b in books] == [
        "THE ADVENTURES OF SHERLOCK HOLMES",
        "HISTORY OF THE UNITED STATES",
        "MANUAL OF SURGERY",
        "WAR AND PEACE",
    ]
    for book in books:
        assert "*** START" not in book.text and "*** END" not in book.text
        assert "Project Gutenberg" not in book.text[-300:]  # footer and licence gone
        assert "Character set encoding" not in book.text  # header gone
    raw = embedded_corpus_path().read_text(errors="replace")
    assert "Wiktionary" in raw and all("Wiktionary" not in b.text for b in books)  # word list
    assert books[0].text.lstrip().startswith("(Additional editing by Jose Menendez)")
    assert books[3].text.rstrip().endswith("a dependence of\nwhich we are not conscious.")


def test_gutenberg_errors() -> None:
    with pytest.raises(InputError, match="no .*START OF THE PROJECT GUTENBERG"):
        split_gutenberg("just text")
    with pytest.raises(InputError, match="no END marker"):
        split_gutenberg("*** START OF THIS PROJECT GUTENBERG EBOOK X ***\nbody\n")
    two = (
        "header\n*** START OF THE PROJECT GUTENBERG EBOOK A ***\nBook A.\n"
        "*** END OF THE PROJECT GUTENBERG EBOOK A ***\nlicence\n"
        "*** START OF THIS PROJECT GUTENBERG EBOOK B ***\nBook B.\n"
        "End of the Project Gutenberg EBook of B\n*** END OF THIS PROJECT GUTENBERG EBOOK B ***\n"
    )
    assert [(b.title, b.text) for b in split_gutenberg(two)] == [("A", "Book A."), ("B", "Book B.")]
