"""The sample-size rule a campaign's pages state: the one its assessment scheme scores it by.

A campaign scored by an assessment period follows that period's scheme (its `min_n` and `small_n`), so
the worker's dashboard warns at the same count at which the league leaves a unit unscored, and names the
scheme. A campaign no period scores follows Minping's own reporting rule (reporting/campaign_report.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from survey_app.assessment import periods
from survey_app.questionnaires.format import Text
from survey_app.reporting import campaign_report


@dataclass(frozen=True)
class SampleRule:
    min_n: int  # fewer valid answers: no score
    small_n: int  # fewer: a score flagged as a small sample
    scheme: Text | None = None  # the scheme's title; None for Minping's own rule
    version: int | None = None
    period: str = ""  # the slug of the period that scores the campaign


DEFAULT = SampleRule(campaign_report.MIN_N, campaign_report.SMALL_N)


async def of_campaigns(slugs: list[str]) -> dict[str, SampleRule]:
    """Each campaign's rule: that of the newest period scoring it, else Minping's own."""
    found = dict.fromkeys(slugs, DEFAULT)
    for period, _snapshots in sorted(await periods.listing(), key=lambda p: p[0].created_at):
        rule = SampleRule(period.scheme.min_n, period.scheme.small_n, period.scheme.title, period.scheme.version)
        for slug in period.sources.values():
            if slug in found:
                found[slug] = SampleRule(rule.min_n, rule.small_n, rule.scheme, rule.version, period.slug)
    return found
