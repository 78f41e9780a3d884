"""Minping analysis: defensible satisfaction scores from answer arrays (numpy/scipy only)."""

from .ahp import AHPResult, ahp_group, ahp_weights
from .coding import LINEAR_5, POINTS_100_20, CodedItems, IndexMapping, code_items, linear_mapping
from .combination import COMBINED_METHOD, combine_independent, t_standard_errors
from .comparisons import (
    ChiSquareResult,
    KruskalDunn,
    MeanDifference,
    benjamini_hochberg,
    chi_square,
    diff_means_ci,
    diff_proportions_ci,
    kruskal_dunn,
    p_adjust,
)
from .design import Design, DesignEstimate, kish_n_eff
from .intervals import PROPORTION_METHODS, Estimate, mean_ci, proportion_ci
from .ipa import QUADRANTS, IPAResult, ipa
from .nps import NPSResult, nps
from .quality import (
    Bursts,
    burst_scan,
    identical_vectors,
    speeders,
    straight_lining,
    suspicious,
)
from .reliability import Reliability, cronbach_alpha, mcdonald_omega, one_factor_loadings
from .scores import Score, ScoreTable, UnitScores, score_units
from .smallarea import (
    RankIntervals,
    Shrinkage,
    indistinguishable_groups,
    rank_intervals,
    shrink_means,
    shrink_rates,
)
from .suppression import Suppressed, suppress_cells
from .weighting import RakeReport, RakeWarning, TrimReport, post_stratify, rake, trim_weights

__all__ = [
    "COMBINED_METHOD",
    "combine_independent",
    "t_standard_errors",
    "IPAResult",
    "QUADRANTS",
    "ipa",
    "NPSResult",
    "nps",
    "Bursts",
    "burst_scan",
    "identical_vectors",
    "speeders",
    "straight_lining",
    "suspicious",
    "AHPResult",
    "RankIntervals",
    "Shrinkage",
    "Suppressed",
    "ahp_group",
    "ahp_weights",
    "indistinguishable_groups",
    "rank_intervals",
    "shrink_means",
    "shrink_rates",
    "suppress_cells",
    "ChiSquareResult",
    "KruskalDunn",
    "MeanDifference",
    "Reliability",
    "benjamini_hochberg",
    "chi_square",
    "cronbach_alpha",
    "diff_means_ci",
    "diff_proportions_ci",
    "kruskal_dunn",
    "mcdonald_omega",
    "one_factor_loadings",
    "p_adjust",
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
