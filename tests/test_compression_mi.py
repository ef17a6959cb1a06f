"""The compression estimate of Eq. (A.6) on texts with known answers: a sample whose second half
repeats its first carries about K(first half) nats; independent halves carry far less."""

from __future__ import annotations

import numpy as np

from l2m_analysis.estimators.compression import compressed_nats, compression_estimates

LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz "))


def decode(ids) -> str:
    return "".join(LETTERS[np.asarray(ids, dtype=int)])


def test_repeated_halves_share_their_whole_content_and_independent_ones_nothing() -> None:
    rng = np.random.default_rng(0)
    half = rng.integers(0, LETTERS.size, (20, 256))
    repeated = np.concatenate([half, half], axis=1)  # Y = X
    independent = rng.integers(0, LETTERS.size, (20, 512))
    k_half = np.mean([compressed_nats(decode(h)) for h in half])
    same = compression_estimates(repeated, decode, [256], [2]).row(0, named=True)
    other = compression_estimates(independent, decode, [256], [2]).row(0, named=True)
    assert same["value"] > 0.8 * k_half and same["n"] == 20
    # independent halves: only what the compressor learns of the alphabet on X and reuses on Y
    # (measured 206 nats of K(X) = 1142): the inefficiency Eq. (A.7) attributes to the code
    assert 0 < other["value"] < 0.25 * k_half and same["value"] > 3 * other["value"]
    assert same["length"] == 512 and same["estimator"] == "compression_lzma"


def test_only_windows_inside_the_sample_are_estimated() -> None:
    windows = np.random.default_rng(1).integers(0, LETTERS.size, (5, 64))
    got = compression_estimates(windows, decode, [8, 16, 32], [2, 3, 4])
    assert sorted(zip(got["split_at"], got["ratio"], strict=True)) == [
        (8, 2), (8, 3), (8, 4), (16, 2), (16, 3), (16, 4), (32, 2)
    ]  # fmt: skip
    assert (got["stderr"] >= 0).all() and (got["value"] > 0).all()


def test_the_iid_baseline_is_the_compressors_redundancy_and_flags_what_it_explains() -> None:
    from l2m_analysis.estimators.compression import (
        compression_with_iid_baseline,
        iid_baseline_flags,
        iid_windows,
    )

    rng = np.random.default_rng(2)
    half = rng.integers(0, LETTERS.size, (12, 128))
    repeated = np.concatenate([half, half], axis=1)  # I(X; Y) = H(X): large
    shuffled = iid_windows(repeated, seed=3)
    assert shuffled.shape == repeated.shape
    assert np.array_equal(np.sort(shuffled, axis=None), np.sort(repeated, axis=None))  # unigrams
    rows = compression_with_iid_baseline(repeated, decode, [128], [2], seed=3)
    by = {r["estimator"]: r for r in rows.iter_rows(named=True)}
    text, iid = by["compression_lzma"], by["compression_lzma_iid"]
    # i.i.d. tokens share nothing: what lzma reports on them is its own redundancy (> 0)
    assert 0 < iid["value"] < 0.25 * text["value"]
    assert iid_baseline_flags(rows) == []  # the repeated text is far above its baseline
    independent = rng.integers(0, LETTERS.size, (12, 256))  # already i.i.d.: MI 0 too
    flat = compression_with_iid_baseline(independent, decode, [128], [2], seed=3)
    flags = iid_baseline_flags(flat.with_columns(run_id=np.array(["r"] * flat.height)))
    assert len(flags) == 1 and "redundancy, not MI" in flags[0] and "L = 256" in flags[0]
