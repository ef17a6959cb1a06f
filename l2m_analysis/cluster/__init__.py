"""Where work runs: in process (the default), or on a Dask cluster (``distributed``).

``connect.open_cluster`` turns the pipelines' ``--scheduler`` options into a
``distributed.Client`` (a ``LocalCluster`` of worker processes, or an existing scheduler by
address or scheduler file), or None for in-process work. The modules beside it run the same
library functions as the in-process path, as Dask tasks: ``counting`` (n-gram and pair counts of
a block plan in ``block_series`` tasks; ``counting_disk`` hash-buckets them through a shared
scratch folder, the default, ``counting_frames`` through a Dask DataFrame shuffle),
``bipartite`` (per-sample sums of ``token_logprobs`` merged with Chan's parallel mean/variance)
and ``scoring`` (the scoring plan's batches, one task each, backends loaded once per worker
process). docs/scaling.md says how to
size blocks, buckets and workers.
"""
