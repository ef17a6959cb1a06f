"""Corpora, tokenization and counting for two-point mutual information (Section 4.3.2, A.VII).

Modules (one idea each):
  sources        readers: .txt folders, Gutenberg files, JSONL, Parquet, datasets save_to_disk
                 folders, and the embedded default (four public-domain books); .gz/.bz2/.xz
                 read transparently; binary documents measured (undecodable + control bytes)
  gutenberg      split Project Gutenberg files into books, strip headers and licences
  tokenizer      local tokenizers only (embedded GPT-NeoX-20B by default), identity = sha256
  chunking       offline regex sentence splitter; samples start at sentences, >= N tokens
  samples        document -> `tokens` rows, and the kept/dropped report (binary documents
                 skipped and named; a mostly binary source refused)
  counting       pair keys x*V + y and count-of-counts with numpy / Polars / DuckDB engines
  series         which key arrays a d-sweep counts (1-grams, 2-grams, pairs, shuffle baseline)
  corpus_counts  count every series of one in-memory block (thread pool)
  streaming      corpora larger than memory: blocks, hash-bucketed spill, bucket-wise merge
  block_counting a prepared run's `tokens` Parquet files -> blocks -> in memory or streamed
  markov         ground truth: Markov chains with exact two-point MI from matrix powers
"""
