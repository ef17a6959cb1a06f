"""One library call per pipeline: what ``python -m pipelines.<name>`` does, minus the arguments
and the printing.

Each module is named after its pipeline and composes the warehouse (I/O) with the pure
library functions (corpus, estimators, scoring), in process or on a Dask cluster (``client``
from ``cluster.connect``). Batch-key formats live here, each in one place, beside the step that
writes them.
"""
