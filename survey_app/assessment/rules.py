"""The sample-size rule a campaign's pages state and score by: the one its assessment scheme scores it by.

A campaign scored by an assessment period follows that period's scheme (its `min_n` and `small_n`), so
the worker's dashboard, the campaign and unit reports, the quality page and the downloads warn and
suppress at the same count at which the league leaves a unit unscored, and name the scheme. A campaign
no period scores follows Minping's own rule (`campaign_report.DEFAULT_RULE`).
"""

from __future__ import annotations

from survey_app.assessment import periods
from survey_app.reporting.campaign_report import DEFAULT_RULE, SampleRule


async def of_campaigns(slugs: list[str]) -> dict[str, SampleRule]:
    """Each campaign's rule: that of the newest period scoring it, else Minping's own."""
    found = dict.fromkeys(slugs, DEFAULT_RULE)
    for period, _snapshots in sorted(await periods.listing(), key=lambda p: p[0].created_at):
        for slug in period.sources.values():
            if slug in found:
                scheme = period.scheme
                found[slug] = SampleRule(scheme.min_n, scheme.small_n, scheme.title, scheme.version, period.slug)
    return found


async def of_campaign(slug: str) -> SampleRule:
    """One campaign's rule (see `of_campaigns`)."""
    return (await of_campaigns([slug]))[slug]
