"""Per-prediction explanations: additive feature contributions plus a base value."""

from modelport.runtimes.explain.base import Explainer, Explanation, feature_matrix
from modelport.runtimes.explain.choose import explainer_for
from modelport.runtimes.explain.sampling import SamplingBudget

__all__ = ["Explainer", "Explanation", "SamplingBudget", "explainer_for", "feature_matrix"]
