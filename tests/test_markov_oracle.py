"""The discrete oracle: exact log-probs of a Markov chain scored through the real plan, driver,
warehouse and bipartite_mi pipeline recover the exact bipartite MI, the exact vCLUB limit, and
show what the 2-gram correction is for (a deliberately wrong BOS start)."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from l2m_analysis.cli import run_cli
from l2m_analysis.corpus.markov import (
    adjacent_pair_entropy,
    exact_bipartite_mi,
    exact_vclub_limit,
    sample_markov_chain,
    sticky_transition_matrix,
)
from l2m_analysis.scoring import ScoringPlan, derangement, score_run
from l2m_analysis.scoring.markov_oracle import MarkovOracle
from l2m_analysis.scoring.samples import choose_samples, windows_from_tokens
from l2m_analysis.warehouse import Warehouse
from pipelines import bipartite_mi, count_ngrams, fit_exponents

K, DOCS, DOC_LENGTH, LENGTH = 6, 400, 96, 64
SPLITS = (2, 4, 8, 16, 32)
TOKENIZER = "markov-chain-K6 sha256:" + "0" * 64
TRANSITION = sticky_transition_matrix(K, 0.6, np.random.default_rng(7))
WRONG_START = np.array([0.02, 0.02, 0.02, 0.02, 0.02, 0.9])  # KL(π‖ρ) ≈ 1.6 nats


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """A chain corpus (one sample per document), its counts, and two runs scored by the oracle:
    with the stationary start (q = p) and with a wrong one."""
    path = tmp_path_factory.mktemp("markov") / "l2m.duckdb"
    docs = sample_markov_chain(TRANSITION, DOCS, DOC_LENGTH, np.random.default_rng(3))
    doc = np.repeat(np.arange(DOCS), DOC_LENGTH)
    tokens = pl.DataFrame({
        "doc_id": doc, "sample_id": doc, "chunk_index": np.zeros(doc.size, np.int32),
        "position": np.tile(np.arange(DOC_LENGTH, dtype=np.int32), DOCS),
        "token_id": docs.reshape(-1),
    })  # fmt: skip
    with Warehouse.open(path) as wh:
        wh.start_run("corpus", run_id="chain", tokenizer=TOKENIZER, dataset="markov-K6",
                     config={"vocab_size": K})  # fmt: skip
        wh.append_batch("tokens", "chain", "docs-all", tokens)
        wh.finish_run("chain")
    assert run_cli(count_ngrams.main, ["--warehouse", str(path), "--run-id", "chain",
                                       "--distances", "1"]) == 0  # fmt: skip
    lengths = tokens.group_by("sample_id", "doc_id").agg(n_tokens=pl.len())
    choice = choose_samples(lengths, LENGTH, DOCS, seed=0, corpus_run="chain")
    windows = windows_from_tokens(tokens, choice, LENGTH)
    plan = ScoringPlan(DOCS, SPLITS, batch_size=100)
    partners = derangement(windows.doc_ids, seed=1)
    with Warehouse.open(path) as wh:
        for run_id, oracle in (("exact-start", MarkovOracle(TRANSITION)),
                               ("wrong-start", MarkovOracle(TRANSITION, WRONG_START))):  # fmt: skip
            wh.start_run("llm", run_id=run_id, model=oracle.name, tokenizer=TOKENIZER,
                         dataset="markov-K6",
                         config={"corpus_run_id": "chain",
                                 "ratios": list(plan.ratios)})  # fmt: skip
            score_run(wh, run_id, oracle, windows, plan, partners, show_progress=False)
            wh.finish_run(run_id)
    assert run_cli(bipartite_mi.main, ["--warehouse", str(path)]) == 0
    with Warehouse.open(path, create=False) as wh:
        estimates = wh.query("SELECT * FROM mi_estimates WHERE quantity = 'bipartite'")
        entropy = wh.query("SELECT * FROM entropies WHERE quantity = 'adjacent_pair'")
        convergence = wh.query_file("adjacent_pair_convergence")
    return estimates, entropy, convergence, path


def rows(estimates: pl.DataFrame, run_id: str, estimator: str) -> pl.DataFrame:
    out = estimates.filter((pl.col("run_id") == run_id) & (pl.col("estimator") == estimator))
    assert out.height == 13, out  # ℓ = 2..16 at L/ℓ = 2, 3, 4 and ℓ = 32 at L/ℓ = 2 inside L = 64
    return out


def within(rows_: pl.DataFrame, truth: float, k: float = 3.0) -> bool:
    return bool((abs(rows_["value"] - truth) <= k * rows_["stderr"]).all())


def test_the_corpus_gives_the_correction_its_entropy(scored) -> None:
    _, entropy, *_ = scored
    scored_rows = entropy.filter(pl.col("run_id") != "chain")
    assert set(scored_rows["data_run_id"]) == {"chain"}  # counted over the corpus, not samples
    assert scored_rows["value"].to_list() == pytest.approx([adjacent_pair_entropy(TRANSITION)] * 2,
                                                           abs=0.01)  # fmt: skip


def test_the_convergence_of_the_corpus_entropy_is_recorded(scored) -> None:
    _, entropy, convergence, _ = scored
    for run_id in ("exact-start", "wrong-start"):
        steps = convergence.filter(run_id=run_id, extrapolated=False).sort("fraction")
        assert steps["fraction"].to_list() == pytest.approx([0.125, 0.25, 0.5, 1.0], abs=0.01)
        assert set(steps["data_run_id"]) == {"chain"}  # whole documents of the corpus
        used = entropy.filter(run_id=run_id)["value"][0]
        assert steps["h_2gram"][-1] == pytest.approx(used)  # all of it: the ngram_counts value
        assert steps["shift_direct"][-1] == pytest.approx(0.0)
        # K = 6 with 38k pairs is well sampled: Ĥ_G hardly moves after 1/8 of the corpus
        assert abs(steps["h_2gram"][0] - used) < 0.02


def test_the_text_beta_of_direct_carries_the_h2gram_convergence(scored, capsys) -> None:
    path = scored[3]
    argv = ["--run-id", "wrong-start", "--quantity", "bipartite", "--bootstrap", "0"]
    assert run_cli(fit_exponents.main, ["--warehouse", str(path), *argv]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "β under each" in out  # printed beside the text β of `direct`
    with Warehouse.open(path, create=False) as wh:
        fits = wh.query("SELECT * FROM fits WHERE run_id = 'wrong-start' AND law = 'power'")
    for row in fits.iter_rows(named=True):
        entries = json.loads(row["detail"]).get("h2gram_convergence")
        if row["estimator"] != "direct":
            assert entries is None
            continue
        assert [e["fraction"] for e in entries][:4] == pytest.approx([0.125, 0.25, 0.5, 1.0],
                                                                     abs=0.01)  # fmt: skip
        assert entries[3]["beta"] == pytest.approx(row["exponent"])
        assert "Ĥ_G not converged" not in row["warnings"]  # K = 6: converged


def test_q_equal_p_recovers_the_exact_values(scored) -> None:
    estimates, *_ = scored
    exact = exact_bipartite_mi(TRANSITION)
    assert exact > 0.2
    for estimator in ("direct", "direct_uncorrected"):
        assert within(rows(estimates, "exact-start", estimator), exact), estimator
    vclub = rows(estimates, "exact-start", "vclub")
    assert within(vclub, exact_vclub_limit(TRANSITION)) and (vclub["value"] > exact).all()


def test_the_2_gram_correction_removes_most_of_a_wrong_start(scored) -> None:
    estimates, *_ = scored
    exact, kl = exact_bipartite_mi(TRANSITION), MarkovOracle(TRANSITION, WRONG_START).kl_start()
    assert kl > 0.1
    uncorrected = rows(estimates, "wrong-start", "direct_uncorrected")
    corrected = rows(estimates, "wrong-start", "direct")
    assert within(uncorrected, exact + kl)  # Eq. (6): biased by KL(π‖ρ)
    assert within(corrected, exact + kl / 5)  # Eq. (A.14): 4/5 of that bias removed
    both = uncorrected.join(corrected, on=["split_at", "ratio"], suffix="_corrected")
    closer = (both["value_corrected"] - exact).abs() < (both["value"] - exact).abs()
    assert closer.all()  # at every ℓ and L/ℓ the correction moves toward the exact value
    vclub = rows(estimates, "wrong-start", "vclub")  # vCLUB never looks at the start
    assert within(vclub, exact_vclub_limit(TRANSITION))


def test_windowed_plan_equals_the_full_length_plan_where_both_score(tmp_path) -> None:
    docs = sample_markov_chain(TRANSITION, 8, LENGTH, np.random.default_rng(5))
    windows = windows_from_tokens(
        pl.DataFrame({"sample_id": np.repeat(np.arange(8), LENGTH),
                      "position": np.tile(np.arange(LENGTH), 8), "token_id": docs.reshape(-1)}),
        choose_samples(pl.DataFrame({"sample_id": np.arange(8), "doc_id": np.arange(8),
                                     "n_tokens": [LENGTH] * 8}), LENGTH, 8, 0, "c"),
        LENGTH,
    )  # fmt: skip
    partners = derangement(windows.doc_ids, seed=2)
    windowed = ScoringPlan(8, SPLITS, batch_size=3)
    full = ScoringPlan(8, SPLITS, batch_size=3, ratios=tuple(range(2, LENGTH + 1)))
    assert windowed.tokens_forwarded(LENGTH) < full.tokens_forwarded(LENGTH)
    with Warehouse.open(tmp_path / "l2m.duckdb") as wh:
        for run_id, plan in (("windowed", windowed), ("full", full)):
            wh.start_run("llm", run_id=run_id, config={})
            score_run(wh, run_id, MarkovOracle(TRANSITION, WRONG_START), windows, plan, partners,
                      show_progress=False)  # fmt: skip
        joined = wh.query(
            "SELECT w.logprob AS a, f.logprob AS b FROM token_logprobs w JOIN token_logprobs f "
            "USING (sample_id, condition, split_at, position) "
            "WHERE w.run_id = 'windowed' AND f.run_id = 'full'"
        )
        n_windowed = wh.query("SELECT count(*) AS n FROM token_logprobs WHERE run_id = 'windowed'")
    assert joined.height == n_windowed["n"][0] > 0  # every windowed row is in the full plan
    assert (joined["a"] == joined["b"]).all()
