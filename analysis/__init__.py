"""Minping analysis: defensible satisfaction scores from answer arrays (numpy/scipy only)."""

from .coding import LINEAR_5, POINTS_100_20, CodedItems, IndexMapping, code_items, linear_mapping
from .design import Design, DesignEstimate, kish_n_eff
from .intervals import PROPORTION_METHODS, Estimate, mean_ci, proportion_ci
from .scores import Score, ScoreTable, UnitScores, score_units
from .weighting import RakeReport, RakeWarning, TrimReport, post_stratify, rake, trim_weights

__all__ = [
    "LINEAR_5",
    "POINTS_100_20",
    "PROPORTION_METHODS",
    "CodedItems",
    "Design",
    "DesignEstimate",
    "RakeReport",
    "RakeWarning",
    "TrimReport",
    "Estimate",
    "IndexMapping",
    "Score",
    "ScoreTable",
    "UnitScores",
    "code_items",
    "kish_n_eff",
    "linear_mapping",
    "mean_ci",
    "post_stratify",
    "proportion_ci",
    "rake",
    "score_units",
    "trim_weights",
]
