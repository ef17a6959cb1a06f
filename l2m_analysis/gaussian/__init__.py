"""The hierarchical Gaussian families of Appendix B: exact MI, sampling, exact conditionals.

See docs/gaussian.md. Modules: ``construction`` (parameters, boundary rules), ``exact`` (dense
Σ, reference method), ``structured`` (O(L) layer recursion for L up to 4^8 and beyond),
``diagonals`` (Σ's diagonals, two-point MI), ``sampling`` (Z = T ξ), ``conditionals``
(p(z_p | past)), ``curves`` (the exact rows for the warehouse).
"""

from l2m_analysis.gaussian.conditionals import ExactConditionals, gaussian_kl
from l2m_analysis.gaussian.construction import (
    BOUNDARY_RULES,
    DEFAULT_BOUNDARY_RULE,
    FAMILIES,
    family_source,
    get_family,
)
from l2m_analysis.gaussian.exact import (
    bipartite_mi_dense,
    covariance_dense,
    exact_vclub_bound,
    vclub_bound_from_covariance,
)
from l2m_analysis.gaussian.sampling import (
    PAPER_COPIES,
    GaussianSampleSource,
    HierarchicalGaussian,
    with_bos,
)
from l2m_analysis.gaussian.structured import bipartite_mi_structured, prefix_logdets

__all__ = [
    "BOUNDARY_RULES",
    "DEFAULT_BOUNDARY_RULE",
    "FAMILIES",
    "PAPER_COPIES",
    "ExactConditionals",
    "GaussianSampleSource",
    "HierarchicalGaussian",
    "bipartite_mi_dense",
    "bipartite_mi_structured",
    "covariance_dense",
    "exact_vclub_bound",
    "family_source",
    "gaussian_kl",
    "get_family",
    "prefix_logdets",
    "vclub_bound_from_covariance",
    "with_bos",
]
