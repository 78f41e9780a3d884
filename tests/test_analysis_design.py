"""Design-based estimates against R.

Reference values: tests/data/r_reference/design.json, written by tests/r/make_reference.R with
R 4.2.2 and survey 4.1.1 (Debian r-cran-survey) from the deterministic data in
design_data.csv (tests/r/make_design_data.py). CI needs neither R nor the generator.
"""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import Design, kish_n_eff, post_stratify, rake, trim_weights
from analysis.weighting import RakeWarning

REF_DIR = Path(__file__).parent / "data" / "r_reference"
REF = json.loads((REF_DIR / "design.json").read_text())
with open(REF_DIR / "design_data.csv", newline="") as fh:
    ROWS = list(csv.DictReader(fh))
COL = {k: np.array([r[k] for r in ROWS]) for k in ROWS[0]}
W = COL["w"].astype(float)
Y = COL["y"].astype(float)
SAT = COL["sat"].astype(float)
Y_NA = np.array([np.nan if v == "NA" else float(v) for v in COL["y_na"]])
TOTALS = REF["totals"]


def _margins():
    return {name: (COL[name], TOTALS[name]) for name in ("age", "sex", "district")}


def _designs():
    strata = Design(weights=W, strata=COL["district"])
    cluster = Design(weights=W, strata=COL["district"], clusters=COL["cluster"], fpc=COL["fpc_cl"].astype(float))
    tight = rake(cluster, _margins(), epsilon=1e-9, max_iter=100)
    return {
        "weights_only": Design(weights=W),
        "strata": strata,
        "strata_cluster_fpc": cluster,
        "strata_fpc_noweights": Design(strata=COL["district"], fpc=COL["fpc_el"].astype(float)),
        "cluster_only": Design(weights=W, clusters=COL["cluster"]),
        "post_strata": post_stratify(strata, COL["agesex"], TOTALS["agesex"]),
        "post_cluster": post_stratify(cluster, COL["agesex"], TOTALS["agesex"]),
        "rake_default": rake(strata, _margins()),
        "rake_tight": tight,
        "trim": trim_weights(tight, upper=150)[0],
        "trim_strict": trim_weights(tight, upper=150, strict=True)[0],
    }


DESIGNS = _designs()


def _r(name, key):
    return float(np.ravel(REF["designs"][name][key])[0])


@pytest.mark.parametrize("name", sorted(REF["designs"]))
def test_weights_and_df_match_r(name):
    d, ref = DESIGNS[name], REF["designs"][name]
    np.testing.assert_allclose(d.w[:5], ref["weights_head"], rtol=1e-12)
    assert d.w.sum() == pytest.approx(ref["weights_sum"], rel=1e-12)
    assert d.df == ref["degf"]


@pytest.mark.parametrize("name", sorted(REF["designs"]))
@pytest.mark.parametrize("stat", ["mean", "total"])
def test_mean_and_total_match_r_svymean_svytotal(name, stat):
    est = getattr(DESIGNS[name], stat)(Y)
    assert est.estimate == pytest.approx(_r(name, stat), rel=1e-12)
    assert est.se == pytest.approx(_r(name, f"{stat}_se"), rel=1e-9)
    assert est.deff == pytest.approx(_r(name, f"{stat}_deff"), rel=1e-9)
    z = 1.959963984540054
    assert (est.low, est.high) == pytest.approx((est.estimate - z * est.se, est.estimate + z * est.se), rel=1e-12)


@pytest.mark.parametrize("name", sorted(REF["designs"]))
def test_missing_values_are_a_domain_as_in_r_na_rm(name):
    est = DESIGNS[name].mean(Y_NA)
    assert est.estimate == pytest.approx(_r(name, "mean_na"), rel=1e-12)
    assert est.se == pytest.approx(_r(name, "mean_na_se"), rel=1e-9)
    assert est.n == int(np.sum(~np.isnan(Y_NA)))


@pytest.mark.parametrize("name", sorted(REF["designs"]))
def test_proportion_matches_r_svyciprop_logit(name):
    est = DESIGNS[name].proportion(SAT)
    # R fits the logit by IRLS (svyglm), so its estimate carries ~1e-11 of fit tolerance
    assert est.estimate == pytest.approx(_r(name, "prop"), rel=1e-9)
    assert est.low == pytest.approx(_r(name, "prop_low"), rel=1e-9)
    assert est.high == pytest.approx(_r(name, "prop_high"), rel=1e-9)


def test_rake_reports_convergence_and_hits_margins():
    report = DESIGNS["rake_tight"].calibration[-1].report
    assert report.converged and report.max_margin_error < 1e-6
    for labels, totals in _margins().values():
        for level, total in totals.items():
            assert DESIGNS["rake_tight"].w[labels == level].sum() == pytest.approx(total)


def test_rake_warns_when_it_runs_out_of_passes():
    with pytest.warns(RakeWarning):
        d = rake(DESIGNS["strata"], _margins(), epsilon=1e-12, max_iter=2)
    assert not d.calibration[-1].report.converged and d.calibration[-1].report.iterations == 2


def test_kish_n_eff_r24():
    """R24: w = [1, 2, 3, 4] → n_eff = 100/30."""
    assert kish_n_eff(np.array([1.0, 2.0, 3.0, 4.0])) == pytest.approx(100 / 30)
    assert DESIGNS["weights_only"].mean(Y).n_eff == pytest.approx(kish_n_eff(W))


def test_srs_with_fpc_has_deff_one():
    """analysis.md B.2: R reports DEff = 1 for SRS with fpc, not (1 - f)."""
    d = Design(fpc=np.full(Y.size, 5000.0))
    assert d.mean(Y).deff == pytest.approx(1.0, rel=1e-12)


def test_post_stratify_rejects_unknown_cells():
    with pytest.raises(ValueError, match="no population total"):
        post_stratify(DESIGNS["strata"], COL["agesex"], {"18-39|m": 1.0})


def test_lonely_psu_fails_by_default():
    with pytest.raises(ValueError, match="only one PSU"):
        Design(weights=np.ones(3), strata=np.array(["a", "a", "b"]))
    d = Design(weights=np.ones(3), strata=np.array(["a", "a", "b"]), lonely_psu="remove")
    assert d.mean(np.array([1.0, 3.0, 5.0])).se > 0


def test_trim_weights_reports_and_keeps_total():
    d, report = trim_weights(DESIGNS["strata"], max_ratio=1.3)
    assert d.w.sum() == pytest.approx(W.sum())
    assert report.trimmed_share > 0 and report.cap == pytest.approx(1.3 * W.mean())


@settings(derandomize=True, max_examples=30, deadline=None)
@given(st.integers(0, 2**31), st.floats(0.01, 1000.0))
def test_weight_scale_and_row_order_invariance(seed, scale):
    rng = np.random.default_rng(seed)
    perm = rng.permutation(Y.size)
    a = Design(weights=W, strata=COL["district"], clusters=COL["cluster"]).mean(Y)
    b = Design(weights=W[perm] * scale, strata=COL["district"][perm], clusters=COL["cluster"][perm]).mean(Y[perm])
    assert b.estimate == pytest.approx(a.estimate, rel=1e-10)
    assert b.se == pytest.approx(a.se, rel=1e-8)
    assert b.low <= b.estimate <= b.high
