"""The prepare_corpus step: read documents, tokenize, cut sentence-aligned samples, and append
them to ``tokens`` in batches of whole documents (key ``tokens_batch_key(first, last)``).

A killed run resumes: documents inside committed batches (``docs_of_batch_key``) are skipped
without tokenizing them again, and their samples are counted from the warehouse.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from l2m_analysis.corpus.gutenberg import EMBEDDED_NAME
from l2m_analysis.corpus.samples import CorpusReport, PreparedDocument, prepare_document
from l2m_analysis.corpus.sources import EMBEDDED, detect_format, iter_documents
from l2m_analysis.errors import InputError
from l2m_analysis.progress import Stages
from l2m_analysis.warehouse import Warehouse

SPLITTER = "regex-v1"  # l2m_analysis.corpus.chunking; bump when its rules change
TABLE = "tokens"
_BATCH_KEY = re.compile(r"^docs-(\d+)-(\d+)$")


def tokens_batch_key(first_doc: int, last_doc: int) -> str:
    """The ``tokens`` batch holding documents first_doc..last_doc."""
    return f"docs-{first_doc:09d}-{last_doc:09d}"


def docs_of_batch_key(key: str) -> range:
    """The documents of a ``tokens`` batch key (empty for a key of another producer)."""
    match = _BATCH_KEY.match(key)
    return range(int(match.group(1)), int(match.group(2)) + 1) if match else range(0)


@dataclass(frozen=True)
class CorpusRequest:
    """What to read and how to cut it (the prepare_corpus options)."""

    source: str = EMBEDDED
    format: str = "auto"
    text_column: str = "text"
    split: str | None = None
    min_tokens: int = 4096
    max_docs: int | None = None
    max_tokens: int | None = None
    batch_tokens: int = 1_000_000


@dataclass(frozen=True)
class PreparedCorpus:
    """The run written, its dataset name, the tally of what was kept and dropped, and why the
    run failed (a mostly binary source, no sample at all), if it did."""

    run_id: str
    dataset: str
    report: CorpusReport
    failure: InputError | None = None


def prepare_corpus(
    wh: Warehouse,
    request: CorpusRequest,
    tokenizer,
    *,
    run_id: str | None = None,
    stages: Stages | None = None,
) -> PreparedCorpus:
    """Register (or resume) the corpus run, write its tokens and finish it (status failed, with
    ``failure`` set, when the source is unusable)."""
    fmt = detect_format(request.source) if request.format == "auto" else request.format
    source = EMBEDDED if fmt == EMBEDDED else str(Path(request.source).expanduser().resolve())
    dataset = EMBEDDED_NAME if fmt == EMBEDDED else Path(source).name
    config = {"source": source, "format": fmt, "text_column": request.text_column,
              "split": request.split, "tokenizer": tokenizer.identity.label,
              "vocab_size": tokenizer.identity.vocab_size,
              "min_tokens": request.min_tokens, "max_docs": request.max_docs,
              "max_tokens": request.max_tokens, "batch_tokens": request.batch_tokens,
              "sentence_splitter": SPLITTER}  # fmt: skip
    run_id = wh.start_run("corpus", run_id=run_id, tokenizer=tokenizer.identity.label,
                          dataset=dataset, config=config)  # fmt: skip
    if stages is not None:
        stages.note(f"run {run_id}: {dataset}, tokenizer {tokenizer.identity.label}")
    report = write_tokens(wh, run_id, request, fmt, tokenizer, stages or Stages.quiet())
    problem = report.failure(request.source, request.min_tokens)  # mostly binary, or no samples
    wh.finish_run(run_id, status="failed" if problem is not None else "complete")
    return PreparedCorpus(run_id, dataset, report, problem)


def committed_docs(wh: Warehouse, run_id: str) -> tuple[set[int], pl.DataFrame]:
    """Doc ids inside committed batches, and [doc_id, samples, tokens] of those documents."""
    done: set[int] = set()
    for key in wh.committed_batches(TABLE, run_id):
        done.update(docs_of_batch_key(key))
    stats = wh.query(
        "SELECT doc_id, count(DISTINCT sample_id) AS samples, count(*) AS tokens "
        "FROM tokens WHERE run_id = ? GROUP BY doc_id",
        [run_id],
    )
    return done, stats


def write_tokens(wh, run_id, request: CorpusRequest, fmt, tokenizer, stages) -> CorpusReport:
    """Read, tokenize, cut and append; returns the tally."""
    done, stats = committed_docs(wh, run_id)
    per_doc = {r["doc_id"]: r for r in stats.iter_rows(named=True)}
    report = CorpusReport()
    budget = request.max_tokens
    next_sample, pending, pending_tokens = 0, [], 0

    def flush() -> None:
        nonlocal pending, pending_tokens
        if pending:
            first, last = pending[0][0].doc.doc_id, pending[-1][0].doc.doc_id
            frames = [p.tokens_frame(s, k) for p, s, k in pending]
            wh.append_batch(TABLE, run_id, tokens_batch_key(first, last), pl.concat(frames))
        pending, pending_tokens = [], 0

    documents = iter_documents(request.source, fmt, text_column=request.text_column,
                               split=request.split)  # fmt: skip
    advance = stages.add("documents", request.max_docs)
    for doc in documents:
        if request.max_docs is not None and doc.doc_id >= request.max_docs:
            report.stopped_by = "--max-docs"
            break
        if budget is not None and budget < request.min_tokens:  # no further sample fits
            report.stopped_by = "--max-tokens"
            break
        if doc.is_binary:  # skipped and counted, never tokenized
            report.add_binary(doc)
        elif doc.doc_id in done:  # resumed: its batch is committed
            row = per_doc.get(doc.doc_id, {"samples": 0, "tokens": 0})
            report.add_resumed(doc, row["samples"], row["tokens"])
            next_sample += row["samples"]
            budget = None if budget is None else budget - row["tokens"]
        else:
            prepared: PreparedDocument = prepare_document(doc, tokenizer, request.min_tokens)
            kept = 0 if prepared.drop_reason else prepared.samples_within(budget)
            report.add(prepared, kept)
            if kept:
                n_tokens = int(sum(prepared.plan.ends[:kept] - prepared.plan.starts[:kept]))
                pending.append((prepared, next_sample, kept))
                pending_tokens += n_tokens
                next_sample += kept
                budget = None if budget is None else budget - n_tokens
            if pending_tokens >= request.batch_tokens:
                flush()
        advance(note=f"{report.tokens:,} tokens")
    flush()
    if report.documents == 0:
        raise InputError(f"no documents in {request.source} (empty corpus)", "check --source")
    return report
