"""Minping analysis: defensible satisfaction scores from answer arrays (numpy/scipy only)."""

from .coding import LINEAR_5, POINTS_100_20, CodedItems, IndexMapping, code_items, linear_mapping
from .intervals import PROPORTION_METHODS, Estimate, mean_ci, proportion_ci
from .scores import Score, ScoreTable, UnitScores, score_units

__all__ = [
    "LINEAR_5",
    "POINTS_100_20",
    "PROPORTION_METHODS",
    "CodedItems",
    "Estimate",
    "IndexMapping",
    "Score",
    "ScoreTable",
    "UnitScores",
    "code_items",
    "linear_mapping",
    "mean_ci",
    "proportion_ci",
    "score_units",
]
