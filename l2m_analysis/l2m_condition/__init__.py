"""History states and the L²M condition (Section 5, Appendix C): ``history_state`` (dim(z_ℓ)
per architecture, from the config and from the caches transformers returns), ``condition``
(the crossing length of Theorems 5.2/5.4 against a fitted I^BP ~ L^β)."""
