"""Evaluation of explainers on a model's test set (faithfulness metrics), with a resumable disk store.

See :func:`core.evaluation.runner.evaluate` and ``python -m core.evaluate``.
"""

from core.evaluation.runner import EXPLAINER_NAMES, METRIC_PARAMS, METRICS, evaluate
from core.evaluation.store import EvaluationStore

__all__ = ["EXPLAINER_NAMES", "METRICS", "METRIC_PARAMS", "EvaluationStore", "evaluate"]
