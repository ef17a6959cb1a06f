"""From a document to rows of the ``tokens`` table: tokenize, chunk, and keep the tally.

``prepare_document`` tokenizes one document and plans its samples (``chunking.py``);
``PreparedDocument.tokens_frame`` lays the kept samples out as ``tokens`` rows
[doc_id, sample_id, chunk_index, position, token_id] (position: 0-based within the sample).
``CorpusReport`` counts what was kept and what was dropped, and why, and says when the whole
source is unusable (``CorpusReport.failure``): mostly binary, or no sample at all.

Binary documents (``Document.is_binary``: more than ``sources.BINARY_RATE`` = 1% of their bytes
undecodable or NUL/C0 control characters) are never tokenized: they are skipped, counted and
named with what they look like (``binary_kind``). A source is refused as MOSTLY BINARY when more
than half of the documents read, or more than half of their bytes, are binary (a single binary
file given as --source is therefore refused).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import polars as pl

from l2m_analysis.corpus.chunking import ChunkPlan, chunk_document
from l2m_analysis.corpus.sources import BINARY_RATE, Document
from l2m_analysis.corpus.tokenizer import TextTokenizer
from l2m_analysis.errors import InputError

TOKENS_SCHEMA = {
    "doc_id": pl.Int64,
    "sample_id": pl.Int64,
    "chunk_index": pl.Int32,
    "position": pl.Int32,
    "token_id": pl.Int64,
}

BINARY_EXAMPLES = 5  # binary documents named in the report and in the refusal
_ANY_TEXT = (
    "point --source at the corpus's text files (.txt, .jsonl, .parquet or a datasets folder; "
    ".gz, .bz2 and .xz files are decompressed transparently)"
)
_MAGIC = (  # (leading bytes, what it is, the fix beyond _ANY_TEXT or "")
    (b"\x7fELF", "an ELF executable", ""),
    (b"MZ", "a Windows executable", ""),
    (b"\x1f\x8b", "gzip data", "name it *.gz (read transparently) or decompress it (gunzip)"),
    (b"BZh", "bzip2 data", "name it *.bz2 (read transparently) or decompress it (bunzip2)"),
    (b"\xfd7zXZ\x00", "xz data", "name it *.xz (read transparently) or decompress it (unxz)"),
    (b"\x28\xb5\x2f\xfd", "zstd data", "decompress it first (zstd -d)"),
    (b"PK\x03\x04", "a zip archive", "unzip it and point --source at the extracted text files"),
    (b"%PDF", "a PDF file", "extract its text first (e.g. pdftotext) and pass the .txt"),
    (b"PAR1", "a Parquet file", "name it *.parquet or pass --format parquet"),
    (b"\xff\xfe", "UTF-16 text", "convert it to UTF-8: iconv -f UTF-16 -t UTF-8"),
    (b"\xfe\xff", "UTF-16 text", "convert it to UTF-8: iconv -f UTF-16 -t UTF-8"),
)


def binary_kind(doc: Document) -> tuple[str, str]:
    """(what a binary document looks like, how to fix it or "" when the fix is only to point
    --source at the text files), from its leading bytes."""
    head = doc.head or doc.text[:16].encode("utf-8", "surrogatepass")
    for magic, what, fix in _MAGIC:
        if head.startswith(magic):
            return what, fix
    if doc.n_control <= BINARY_RATE * doc.size:  # undecodable bytes, but no control bytes
        return "text not in UTF-8", "convert it to UTF-8, e.g. iconv -f latin1 -t utf-8"
    return "binary data", ""


@dataclass(frozen=True)
class PreparedDocument:
    """A tokenized document and its sample plan. ids: all its tokens, shape (N,)."""

    doc: Document
    ids: np.ndarray
    plan: ChunkPlan

    @property
    def drop_reason(self) -> str | None:
        if self.doc.is_binary:
            return "binary"
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
    """Tokenize ``doc`` and plan samples of >= min_tokens tokens at sentence starts. A binary
    document is not tokenized: no ids, no samples, drop_reason "binary"."""
    if doc.is_binary:
        none = np.zeros(0, dtype=np.int64)
        return PreparedDocument(doc, none, ChunkPlan(none, none, 0, 0))
    ids, ends = tokenizer.encode_with_offsets(doc.text)
    return PreparedDocument(doc, ids, chunk_document(doc.text, ends, min_tokens))


@dataclass
class CorpusReport:
    """What prepare_corpus kept and dropped. Token counts are tokenizer tokens; bytes are the
    documents' bytes as stored (decompressed)."""

    documents: int = 0
    documents_kept: int = 0
    dropped_documents: dict[str, int] = field(default_factory=dict)
    samples: int = 0
    tokens: int = 0
    tokens_dropped: dict[str, int] = field(default_factory=dict)
    replaced_bytes: int = 0
    resumed_documents: int = 0
    stopped_by: str | None = None  # the limit that ended reading early, if any
    bytes_read: int = 0
    binary_documents: int = 0
    binary_bytes: int = 0
    binary_examples: list[tuple[str, str, str, float]] = field(default_factory=list)  # (name,
    # what it looks like, fix, binary rate) of the first BINARY_EXAMPLES binary documents

    def _drop(self, reason: str, tokens: int) -> None:
        self.tokens_dropped[reason] = self.tokens_dropped.get(reason, 0) + tokens

    def add(self, prepared: PreparedDocument, kept_samples: int) -> None:
        """Tally one document of which the first ``kept_samples`` samples were written."""
        if prepared.doc.is_binary:
            self.add_binary(prepared.doc)
            return
        self.documents += 1
        self.bytes_read += prepared.doc.size
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

    def add_binary(self, doc: Document) -> None:
        """Tally a binary document: skipped, never tokenized; the first few are named."""
        self.documents += 1
        self.bytes_read += doc.size
        self.binary_documents += 1
        self.binary_bytes += doc.size
        if len(self.binary_examples) < BINARY_EXAMPLES:
            self.binary_examples.append((doc.name, *binary_kind(doc), doc.binary_rate))

    def add_resumed(self, doc: Document, samples: int, tokens: int) -> None:
        """Tally a document whose ``samples`` samples (``tokens`` tokens) an earlier, killed run
        already committed."""
        self.documents += 1
        self.bytes_read += doc.size
        self.resumed_documents += 1
        self.documents_kept += int(samples > 0)
        self.samples += samples
        self.tokens += tokens

    @property
    def mostly_binary(self) -> bool:
        """More than half of the documents read, or of their bytes, are binary."""
        return 2 * self.binary_documents > self.documents or 2 * self.binary_bytes > max(
            self.bytes_read, 1
        )

    def _binary_names(self) -> str:
        names = ", ".join(f"{name} ({what})" for name, what, *_ in self.binary_examples)
        more = self.binary_documents - len(self.binary_examples)
        return names + (f" and {more:,} more" if more > 0 else "")

    def failure(self, source: str, min_tokens: int) -> InputError | None:
        """Why the run must fail, if it must: a mostly binary source, or no sample at all."""
        if self.binary_documents and self.mostly_binary:
            named = self.documents > 1
            fixes = [f"{n}: {f}" if named else f for n, _, f, _ in self.binary_examples if f]
            fix = "; ".join([*dict.fromkeys(fixes), _ANY_TEXT])
            if self.documents == 1:
                _, what, _, rate = self.binary_examples[0]
                return InputError(
                    f"{source} is not text: it looks like {what} ({rate:.0%} of its "
                    f"{self.bytes_read:,} bytes are undecodable UTF-8 or control characters; "
                    f"text has at most {BINARY_RATE:.0%})",
                    fix,
                )
            return InputError(
                f"{source} is mostly binary, not text: {self.binary_documents:,} of "
                f"{self.documents:,} documents ({self.binary_bytes:,} of {self.bytes_read:,} "
                f"bytes) are skipped as binary (undecodable UTF-8 or control bytes over "
                f"{BINARY_RATE:.0%}): {self._binary_names()}",
                fix,
            )
        if self.samples == 0:
            return InputError(
                f"no samples: {self.documents} documents read, none with >= {min_tokens} "
                "tokens after sentence alignment (empty or too short corpus)",
                "lower --min-tokens, or check --source / --format / --text-column",
            )
        return None

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
        binary = f"documents skipped as binary: {self.binary_documents:,}"
        if self.binary_documents:
            binary += (
                f" ({self.binary_bytes:,} bytes; over {BINARY_RATE:.0%} undecodable or control "
                f"bytes): {self._binary_names()}"
            )
        out.append(binary)
        if self.stopped_by:
            out.append(f"stopped at {self.stopped_by}: later documents were not read")
        return out
