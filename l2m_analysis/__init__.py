"""l2m-analysis: mutual-information scaling of language and the L2M condition.

Units: every entropy, mutual information, log-probability, NLL and KL is in nats.
"""

__version__ = "0.1.0"
