"""Property tests (hypothesis) of counting and chunking on random inputs.

Counting (corpus/counting.py, corpus_counts.py, streaming.py): the observations of every series
equal the number of tokens / pairs that fit inside the documents; numpy, Polars and DuckDB give
identical count-of-counts; counts never cross a document; split-and-merge and streaming equal
counting at once. Chunking (corpus/chunking.py): samples are consecutive, start at sentence
starts, hold >= min_tokens tokens and end at the first cut that allows it; sentence starts sit on
visible characters.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from l2m_analysis.corpus.chunking import plan_chunks, sentence_starts
from l2m_analysis.corpus.corpus_counts import count_corpus
from l2m_analysis.corpus.counting import (
    ENGINES,
    add_count_of_counts,
    count_of_counts,
    key_counts,
    merge_key_counts,
    n_observations,
    pairs_at_distance,
)
from l2m_analysis.corpus.streaming import StreamingCounter

SETTINGS = settings(max_examples=50, deadline=None)
FEWER = settings(max_examples=25, deadline=None)  # each example runs every engine / spills


@st.composite
def corpora(draw, max_vocab: int = 12):
    """(vocab size, documents as token lists (some empty), sorted distances)."""
    vocab = draw(st.integers(1, max_vocab))
    docs = draw(
        st.lists(st.lists(st.integers(0, vocab - 1), max_size=60), min_size=1, max_size=8).filter(
            lambda ds: sum(map(len, ds)) > 0
        )
    )
    distances = draw(st.lists(st.integers(1, 70), min_size=1, max_size=4, unique=True))
    return vocab, docs, tuple(sorted(distances))


def flat(docs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    tokens = np.asarray([t for d in docs for t in d], dtype=np.int64)
    groups = np.repeat(np.arange(len(docs)), [len(d) for d in docs])
    return tokens, groups


def series(counts, distance: int | None = None, order: int | None = None, shuffled=False):
    if order is not None:
        return counts.ngrams.filter(pl.col("order") == order).select("count", "n_items")
    table = counts.pairs.filter((pl.col("distance") == distance) & (pl.col("shuffled") == shuffled))
    return table.select("count", "n_items")


def as_dict(cc: pl.DataFrame) -> dict[int, int]:
    return dict(zip(cc["count"].to_list(), cc["n_items"].to_list(), strict=True))


def reference(docs: list[list[int]], d: int) -> dict[int, int]:
    pairs = Counter((doc[i], doc[i + d]) for doc in docs for i in range(len(doc) - d))
    return dict(Counter(pairs.values()))


@SETTINGS
@given(corpora(), st.sampled_from(ENGINES))
def test_observations_are_the_pairs_inside_documents(corpus, engine) -> None:
    vocab, docs, distances = corpus
    tokens, groups = flat(docs)
    counts = count_corpus(tokens, groups, vocab, distances, engine=engine, threads=1)
    assert n_observations(series(counts, order=1)) == tokens.size
    assert n_observations(series(counts, order=2)) == sum(max(len(d) - 1, 0) for d in docs)
    for d in distances:
        n_pairs = sum(max(len(doc) - d, 0) for doc in docs)
        assert n_observations(series(counts, d)) == n_pairs  # Σ count·n_items = pairs
        assert n_observations(series(counts, d, shuffled=True)) == n_pairs  # same for baseline
        assert as_dict(series(counts, d)) == reference(docs, d)
    assert counts.n_tokens == tokens.size


@FEWER
@given(corpora(), st.sampled_from(["shift", "permute"]), st.integers(0, 2**31))
def test_every_engine_gives_identical_counts(corpus, baseline, seed) -> None:
    vocab, docs, distances = corpus
    tokens, groups = flat(docs)
    runs = [
        count_corpus(tokens, groups, vocab, distances, engine=e, baseline=baseline,
                     shuffle_seed=seed, threads=1)
        for e in ENGINES
    ]  # fmt: skip
    for other in runs[1:]:
        assert other.pairs.equals(runs[0].pairs) and other.ngrams.equals(runs[0].ngrams)


@pytest.mark.slow  # hypothesis, many corpora
@SETTINGS
@given(corpora(max_vocab=6))
def test_counts_never_cross_a_document(corpus) -> None:
    """Each document gets its own alphabet: a pair across documents would form a key that no
    document holds, so the corpus's counts would not be the sum of the documents' counts."""
    vocab, docs, distances = corpus
    own = [[t + i * vocab for t in doc] for i, doc in enumerate(docs)]
    tokens, groups = flat(own)
    total_vocab = vocab * len(docs)
    whole = count_corpus(tokens, groups, total_vocab, distances, shuffle_seed=None)
    parts = [
        count_corpus(*flat([doc]), total_vocab, distances, shuffle_seed=None) for doc in own if doc
    ]
    for d in distances:
        x, y = pairs_at_distance(tokens, groups, d)
        assert np.array_equal(x // vocab, y // vocab)
        summed = add_count_of_counts([series(p, d) for p in parts])
        assert series(whole, d).equals(summed)
    for order in (1, 2):
        assert series(whole, order=order).equals(
            add_count_of_counts([series(p, order=order) for p in parts])
        )


@SETTINGS
@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=300),
    st.lists(st.integers(0, 300), max_size=4),
    st.sampled_from(ENGINES),
)
def test_partial_key_counts_merge_to_the_whole(keys, cuts, engine) -> None:
    keys = np.asarray(keys, dtype=np.int64)
    pieces = np.split(keys, sorted(c % (keys.size + 1) for c in cuts))
    parts = pl.concat([key_counts(p, engine) for p in pieces])
    whole = count_of_counts(keys, engine)
    assert merge_key_counts(parts, engine).equals(whole)
    assert n_observations(whole) == keys.size
    assert as_dict(whole) == dict(Counter(Counter(keys.tolist()).values()))
    kept = keys[keys != 40]
    assert as_dict(count_of_counts(keys, engine, ignore=40)) == as_dict(count_of_counts(kept))


@pytest.mark.slow  # hypothesis, many corpora
@FEWER
@given(corpora(), st.lists(st.booleans(), min_size=8, max_size=8), st.sampled_from(ENGINES))
def test_streamed_blocks_equal_counting_at_once(corpus, breaks, engine) -> None:
    vocab, docs, distances = corpus
    tokens, groups = flat(docs)
    at_once = count_corpus(tokens, groups, vocab, distances, shuffle_seed=None, threads=1)
    with tempfile.TemporaryDirectory() as scratch:
        counter = StreamingCounter(vocab, Path(scratch) / "spill", distances, engine=engine,
                                   shuffle_seed=None, n_buckets=3, threads=1)  # fmt: skip
        block: list[int] = []
        for i in range(len(docs)):  # whole documents per block, a block ends where breaks say
            block.append(i)
            if breaks[i] or i == len(docs) - 1:
                rows = np.isin(groups, block)
                counter.add_block(tokens[rows], groups[rows])
                block = []
        streamed = counter.result()
    assert streamed.pairs.equals(at_once.pairs) and streamed.ngrams.equals(at_once.ngrams)


# ----------------------------------------------------------------------------- chunking
@SETTINGS
@given(
    st.integers(0, 200),
    st.lists(st.integers(0, 210), max_size=40),
    st.integers(1, 50),
)
def test_samples_are_consecutive_sentence_aligned_and_long_enough(n_tokens, starts, min_tokens):
    sentences = np.unique(np.asarray(starts, dtype=np.int64))
    plan = plan_chunks(sentences, n_tokens, min_tokens)
    inside = sentences[sentences < n_tokens]
    cuts = set(inside.tolist()) | {n_tokens}
    assert np.array_equal(plan.starts[1:], plan.ends[:-1])  # consecutive slices
    assert set(plan.starts.tolist()) <= set(inside.tolist())  # each starts at a sentence
    assert set(plan.ends.tolist()) <= cuts
    assert np.all(plan.ends - plan.starts >= min_tokens)
    for start, end in zip(plan.starts, plan.ends, strict=True):  # the first cut that is enough
        assert not any(start + min_tokens <= c < end for c in cuts)
    first = int(inside[0]) if inside.size else n_tokens
    assert plan.head_dropped == first
    assert plan.head_dropped + plan.n_tokens + plan.tail_dropped == n_tokens
    if inside.size:
        assert plan.tail_dropped < min_tokens  # else one more sample would fit
        assert plan.n_samples == 0 or plan.starts[0] == first


@SETTINGS
@given(st.text(alphabet="ab AZ1.!?\n\t\"'()", max_size=120))
def test_sentence_starts_sit_on_visible_characters(text) -> None:
    starts = sentence_starts(text)
    assert np.all(np.diff(starts) > 0)
    assert all(0 <= s < len(text) and not text[s].isspace() for s in starts.tolist())
    visible = [i for i, ch in enumerate(text) if not ch.isspace()]
    assert starts.tolist()[:1] == visible[:1]  # the first visible character starts one
