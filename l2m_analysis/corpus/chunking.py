"""Sentence-aware chunking (Appendix E: samples "start at the beginning of some sentence").

Sentence splitter: an offline regular expression (no model, no download), documented here and
tested in tests/test_corpus_chunking.py. A sentence starts

* at the first non-whitespace character of the document;
* after a paragraph break (a blank line);
* after ``.``, ``!``, ``?`` (optionally followed by closing quotes/brackets) and whitespace,
  when the next visible character is an uppercase letter, a digit or an opening quote/bracket,
  unless the period ends a known abbreviation (``Mr.``, ``Dr.``, ``St.``, ``e.g.``, ...) or a
  single capital initial (``J. Smith``, ``U.S. Army``).

It misses sentences that start in lowercase and may split after an unknown abbreviation that
precedes a capitalized word; a sample then starts one sentence off, which chunking tolerates.

Chunking: the document's tokens are cut only at sentence starts; a sample begins at a sentence
start and runs to the first sentence start at least ``min_tokens`` later (so every sample has
>= min_tokens tokens, "around" min_tokens as in the paper). Samples are consecutive slices of
the document's tokenization; tokens before the first sentence start (whitespace) and a final
remainder shorter than ``min_tokens`` are dropped and counted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from l2m_analysis.errors import InputError

ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof st jr sr rev hon gen col capt lt sgt maj gov pres mt ft vs etc no nos "
    "vol vols fig figs cf e.g i.e viz messrs mme mlle mm op ch chap sec art ed eds p pp ca approx "
    "dept inc ltd co corp jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
_SENTENCE_END = re.compile(
    r"(?P<word>[A-Za-z]+(?:\.[A-Za-z]+)*)?(?P<punct>[.!?]+)[\"'”’)\]]*\s+(?=[\"'“‘(\[]*[A-Z0-9])"
)
_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*(?=\S)")
_FIRST_VISIBLE = re.compile(r"\S")


def sentence_starts(text: str) -> np.ndarray:
    """Character offsets where sentences start, ascending, shape (S,), int64."""
    first = _FIRST_VISIBLE.search(text)
    if first is None:
        return np.zeros(0, dtype=np.int64)
    ends = [
        m.end()
        for m in _SENTENCE_END.finditer(text)
        if not (m.group("punct") == "." and _is_abbreviation(m.group("word")))
    ]
    paragraphs = [m.end() for m in _PARAGRAPH.finditer(text)]
    return np.unique(np.asarray([first.start(), *ends, *paragraphs], dtype=np.int64))


def _is_abbreviation(word: str | None) -> bool:
    """True for "Mr", "e.g", "U.S" (an inner period) and single capital initials ("J")."""
    if not word:
        return False
    if len(word) == 1 and word.isupper():
        return True
    return "." in word or word.lower() in ABBREVIATIONS


@dataclass(frozen=True)
class ChunkPlan:
    """Samples of one document as token ranges [starts[i], ends[i]), shape (n_samples,) each.

    head_dropped: tokens before the first sentence start. tail_dropped: tokens after the last
    sample (a remainder shorter than min_tokens; the whole document if it is too short)."""

    starts: np.ndarray
    ends: np.ndarray
    head_dropped: int
    tail_dropped: int

    @property
    def n_samples(self) -> int:
        return int(self.starts.size)

    @property
    def n_tokens(self) -> int:
        return int(np.sum(self.ends - self.starts))


def sentence_token_starts(char_starts: np.ndarray, token_ends: np.ndarray) -> np.ndarray:
    """Sentence start characters -> index of the token holding that character, unique."""
    idx = np.searchsorted(token_ends, char_starts, side="right")
    return np.unique(idx[idx < token_ends.size])


def plan_chunks(sentence_tokens: np.ndarray, n_tokens: int, min_tokens: int) -> ChunkPlan:
    """Greedy samples of >= min_tokens tokens, each starting at a sentence-start token index."""
    if min_tokens < 1:
        raise InputError(f"min_tokens must be >= 1, got {min_tokens}", "use e.g. 4096")
    cuts = np.unique(np.append(sentence_tokens[sentence_tokens < n_tokens], n_tokens))
    if cuts.size < 2:
        return ChunkPlan(np.zeros(0, np.int64), np.zeros(0, np.int64), n_tokens, 0)
    starts, ends = [], []
    start = int(cuts[0])
    while True:  # one step per sample, not per token
        j = int(np.searchsorted(cuts, start + min_tokens, side="left"))
        if j >= cuts.size:
            break
        starts.append(start)
        ends.append(int(cuts[j]))
        start = int(cuts[j])
    last = ends[-1] if ends else int(cuts[0])
    return ChunkPlan(
        np.asarray(starts, dtype=np.int64),
        np.asarray(ends, dtype=np.int64),
        head_dropped=int(cuts[0]),
        tail_dropped=n_tokens - last,
    )


def chunk_document(text: str, token_ends: np.ndarray, min_tokens: int) -> ChunkPlan:
    """Plan the samples of one tokenized document (token_ends from ``encode_with_offsets``)."""
    tokens = sentence_token_starts(sentence_starts(text), token_ends)
    return plan_chunks(tokens, int(token_ends.size), min_tokens)
