"""Evaluation: metrics, the sweep runner behind ``depthstyle eval``, and its report."""

from depthstyle.evaluation.runner import EvalItem, EvalSetting, Evaluator, default_sweep, find_items

__all__ = ["EvalItem", "EvalSetting", "Evaluator", "default_sweep", "find_items"]
