"""Calibration of every estimator on sources with exact answers: bias and interval coverage.

``python -m benchmarks.calibration --seeds 50`` runs each study in ``STUDIES``
(``__main__.py``); each study module exposes ``STUDY`` (its name) and ``run(seeds, quick)``,
which returns rows of ``common.ROW_KEYS``. ``--markdown`` prints the rows of
docs/validation.md.
"""
