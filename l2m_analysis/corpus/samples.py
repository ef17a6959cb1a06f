"""From a document to rows of the ``tokens`` table: tokenize, chunk, and keep the tally.

``prepare_document`` tokenizes one document and plans its samples (``chunking.py``);
``PreparedDocument.tokens_frame`` lays the kept samples out as ``tokens`` rows
[doc_id, sample_id, chunk_index, position, token_id] (position: 0-based within the sample).
``CorpusReport`` counts what was kept and what was dropped, and why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from l2m_analysis.corpus.chunking import ChunkPlan, chunk_document
from l2m_analysis.corpus.sources import Document
from l2m_analysis.corpus.tokenizer import TextTokenizer

TOKENS_SCHEMA = {
    "doc_id": pl.Int64,
    "sample_id": pl.Int64,
    "chunk_index": pl.Int32,
    "position": pl.Int32,
    "token_id": pl.Int64,
}


@dataclass(frozen=True)
class PreparedDocument:
    """A tokenized document and its sample plan. ids: all its tokens, shape (N,)."""

    doc: Document
    ids: np.ndarray
    plan: ChunkPlan

    @property
    def drop_reason(self) -> str | None:
        if not self.doc.text.strip():
            return "empty"
        if self.plan.n_samples == 0:
            return "shorter than min_tokens"
        return None

    def samples_within(self, token_budget: int | None) -> int:
        """How many of its samples fit in ``token_budget`` tokens (None: all)."""
        if token_budget is None:
            return self.plan.n_samples
        lengths = np.cumsum(self.plan.ends - self.plan.starts)
        return int(np.searchsorted(lengths, token_budget, side="right"))

    def tokens_frame(self, first_sample_id: int, n_samples: int | None = None) -> pl.DataFrame:
        """The first ``n_samples`` samples (default all) as ``tokens`` rows."""
        n = self.plan.n_samples if n_samples is None else n_samples
        starts, ends = self.plan.starts[:n], self.plan.ends[:n]
        if n == 0:
            return pl.DataFrame(schema=TOKENS_SCHEMA)
        lengths = ends - starts
        chunk = np.repeat(np.arange(n), lengths)
        offsets = np.repeat(starts - starts[0], lengths)
        return pl.DataFrame(
            {
                "doc_id": np.full(int(lengths.sum()), self.doc.doc_id),
                "sample_id": first_sample_id + chunk,
                "chunk_index": chunk,
                "position": np.arange(int(lengths.sum())) - offsets,
                "token_id": self.ids[starts[0] : ends[-1]],  # samples are consecutive slices
            },
            schema=TOKENS_SCHEMA,
        )


def prepare_document(doc: Document, tokenizer: TextTokenizer, min_tokens: int) -> PreparedDocument:
    """Tokenize ``doc`` and plan samples of >= min_tokens tokens at sentence starts."""
    ids, ends = tokenizer.encode_with_offsets(doc.text)
    return PreparedDocument(doc, ids, chunk_document(doc.text, ends, min_tokens))


@dataclass
class CorpusReport:
    """What prepare_corpus kept and dropped. Token counts are tokenizer tokens."""

    documents: int = 0
    documents_kept: int = 0
    dropped_documents: dict[str, int] = field(default_factory=dict)
    samples: int = 0
    tokens: int = 0
    tokens_dropped: dict[str, int] = field(default_factory=dict)
    replaced_bytes: int = 0
    resumed_documents: int = 0
    stopped_by: str | None = None  # the limit that ended reading early, if any

    def _drop(self, reason: str, tokens: int) -> None:
        self.tokens_dropped[reason] = self.tokens_dropped.get(reason, 0) + tokens

    def add(self, prepared: PreparedDocument, kept_samples: int) -> None:
        """Tally one document of which the first ``kept_samples`` samples were written."""
        self.documents += 1
        self.replaced_bytes += prepared.doc.n_replaced
        plan = prepared.plan
        reason = prepared.drop_reason or ("over --max-tokens" if kept_samples == 0 else None)
        if reason is not None:
            self.dropped_documents[reason] = self.dropped_documents.get(reason, 0) + 1
            self._drop(f"document {reason}", int(prepared.ids.size))
            return
        self.documents_kept += 1
        kept_tokens = int(np.sum(plan.ends[:kept_samples] - plan.starts[:kept_samples]))
        self.samples += kept_samples
        self.tokens += kept_tokens
        self._drop("before the first sentence start", plan.head_dropped)
        self._drop("final remainder shorter than min_tokens", plan.tail_dropped)
        self._drop("over --max-tokens", plan.n_tokens - kept_tokens)

    def lines(self) -> list[str]:
        out = [
            f"documents read: {self.documents:,} (kept {self.documents_kept:,}"
            + (
                f"; {self.resumed_documents:,} already committed earlier"
                if self.resumed_documents
                else ""
            )
            + ")",
            f"samples kept: {self.samples:,}; tokens kept: {self.tokens:,}",
        ]
        out += [f"documents dropped, {r}: {n:,}" for r, n in sorted(self.dropped_documents.items())]
        out += [f"tokens dropped, {r}: {n:,}" for r, n in sorted(self.tokens_dropped.items()) if n]
        out.append(f"undecodable byte sequences replaced by U+FFFD: {self.replaced_bytes:,}")
        if self.stopped_by:
            out.append(f"stopped at {self.stopped_by}: later documents were not read")
        return out
