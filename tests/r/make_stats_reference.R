# Reference values for the comparisons and reliability tests.
# Run from the repository root after tests/r/make_reliability_data.py:
#   Rscript tests/r/make_stats_reference.R
# Writes tests/data/r_reference/stats.json. Needs Debian r-cran-psych and r-cran-jsonlite.
suppressMessages({library(psych); library(jsonlite)})
out <- list(r_version = R.version.string, psych_version = as.character(packageVersion("psych")))

a <- c(72, 75, 80, 64, 90, 85, 77, 69, 81, 88, 70)
b <- c(65, 70, 62, 74, 60, 58, 71, 66)
tt <- t.test(a, b, var.equal = FALSE)
out$welch <- list(a = a, b = b, estimate = unname(tt$estimate[1] - tt$estimate[2]),
                  low = tt$conf.int[1], high = tt$conf.int[2], df = unname(tt$parameter),
                  p = tt$p.value)

p <- c(0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216, 0.222, 0.251, 0.269,
       0.275, 0.34, 0.341, 0.384, 0.569, 0.594, 0.696, 0.762, 0.94, 0.942, 0.975, 0.986)
out$p_adjust <- list(p = p, BH = p.adjust(p, "BH"), holm = p.adjust(p, "holm"))

x <- read.csv("tests/data/r_reference/reliability_data.csv")
al <- suppressWarnings(alpha(x))
al_list <- suppressWarnings(alpha(na.omit(x)))
fe <- al$feldt
out$alpha_pairwise <- list(alpha = al$total$raw_alpha, low = fe$lower.ci[[1]],
                           high = fe$upper.ci[[1]], drop = al$alpha.drop$raw_alpha,
                           r_drop = al$item.stats$r.drop, n = nrow(x))
out$alpha_listwise <- list(alpha = al_list$total$raw_alpha, low = al_list$feldt$lower.ci[[1]],
                           high = al_list$feldt$upper.ci[[1]], n = nrow(na.omit(x)))
f1 <- fa(x, nfactors = 1, fm = "minres")
lam <- as.numeric(f1$loadings)
om <- suppressWarnings(suppressMessages(omega(x, nfactors = 1, plot = FALSE)))
out$omega <- list(loadings = lam, omega_total = om$omega.tot,
                  omega_from_loadings = sum(lam)^2 / (sum(lam)^2 + sum(1 - lam^2)))
writeLines(toJSON(out, digits = I(15), auto_unbox = TRUE, pretty = TRUE),
           "tests/data/r_reference/stats.json")
