# Reference values for tests/test_analysis_design.py and test_analysis_weighting.py.
# Run from the repository root after tests/r/make_design_data.py:
#   Rscript tests/r/make_reference.R
# Writes tests/data/r_reference/design.json. Needs Debian r-cran-survey and r-cran-jsonlite.
suppressMessages({library(survey); library(jsonlite)})
options(survey.lonely.psu = "fail")
dat <- read.csv("tests/data/r_reference/design_data.csv", stringsAsFactors = FALSE)

age_tot <- c("18-39" = 18000, "40-59" = 17000, "60+" = 15000)
sex_tot <- c("m" = 24500, "f" = 25500)
dis_tot <- c("d1" = 9000, "d2" = 12000, "d3" = 11000, "d4" = 18000)
agesex_tot <- c()
for (a in names(age_tot)) for (s in names(sex_tot))
  agesex_tot[paste(a, s, sep = "|")] <- age_tot[[a]] * sex_tot[[s]] / 50000
pop_frame <- function(v, name) { d <- data.frame(names(v), as.numeric(v)); names(d) <- c(name, "Freq"); d }

designs <- list(
  weights_only = svydesign(ids = ~1, weights = ~w, data = dat),
  strata = svydesign(ids = ~1, strata = ~district, weights = ~w, data = dat),
  strata_cluster_fpc = svydesign(ids = ~cluster, strata = ~district, weights = ~w,
                                 fpc = ~fpc_cl, data = dat),
  strata_fpc_noweights = svydesign(ids = ~1, strata = ~district, fpc = ~fpc_el, data = dat),
  cluster_only = svydesign(ids = ~cluster, weights = ~w, data = dat)
)
designs$post_strata <- postStratify(designs$strata, ~agesex, pop_frame(agesex_tot, "agesex"))
designs$post_cluster <- postStratify(designs$strata_cluster_fpc, ~agesex,
                                     pop_frame(agesex_tot, "agesex"))
margins <- list(~age, ~sex, ~district)
pops <- list(pop_frame(age_tot, "age"), pop_frame(sex_tot, "sex"), pop_frame(dis_tot, "district"))
designs$rake_default <- rake(designs$strata, margins, pops)
designs$rake_tight <- rake(designs$strata_cluster_fpc, margins, pops,
                           control = list(maxit = 100, epsilon = 1e-9))
designs$trim <- trimWeights(designs$rake_tight, upper = 150)
designs$trim_strict <- trimWeights(designs$rake_tight, upper = 150, strict = TRUE)

out <- list(
  r_version = R.version.string,
  survey_version = as.character(packageVersion("survey")),
  totals = list(age = as.list(age_tot), sex = as.list(sex_tot), district = as.list(dis_tot),
                agesex = as.list(agesex_tot)),
  designs = list()
)
for (name in names(designs)) {
  d <- designs[[name]]
  m <- svymean(~y, d, deff = TRUE)
  t <- svytotal(~y, d, deff = TRUE)
  mna <- svymean(~y_na, d, na.rm = TRUE, deff = TRUE)
  p <- svyciprop(~I(sat == 1), d, method = "logit")
  out$designs[[name]] <- list(
    degf = degf(d),
    weights_head = unname(weights(d)[1:5]),
    weights_sum = sum(weights(d)),
    mean = unname(coef(m)), mean_se = unname(SE(m)), mean_deff = unname(deff(m)),
    total = unname(coef(t)), total_se = unname(SE(t)), total_deff = unname(deff(t)),
    mean_na = unname(coef(mna)), mean_na_se = unname(SE(mna)),
    prop = as.numeric(p), prop_low = as.numeric(attr(p, "ci")[1]),
    prop_high = as.numeric(attr(p, "ci")[2])
  )
}
writeLines(toJSON(out, digits = I(15), auto_unbox = TRUE, pretty = TRUE),
           "tests/data/r_reference/design.json")
