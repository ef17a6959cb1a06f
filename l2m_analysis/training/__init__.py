"""Training and evaluation of GPT-2, Mamba and Mamba2 (Section 6, Appendix E).

``config`` (TrainConfig, presets), ``tasks`` (Gaussian and text batches, losses, metrics),
``text_data`` (windows from the corpus token store), ``losses`` (Eqs. E.35–E.38, units),
``schedule`` (AdamW, cosine with warmup), ``checkpoint`` (exact resume), ``loop`` (the training
loop), ``evaluation`` (position-wise KL/NLL with standard errors).
"""
