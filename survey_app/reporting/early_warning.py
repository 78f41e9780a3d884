"""Early warning: each unit's overall score month by month, watched two ways (`analysis.monitoring`).

* against its group: a funnel plot of the month's scores, each unit with limits from its own n;
* against itself: an EWMA chart on its own monthly series, with limits that account for each month's n.

A month is a calendar month in the city's time zone; a unit's score for a month is the mean of its
respondents' overall composites (the published overall index's estimator) over the scored answers of
every campaign of the same questionnaire, each coded with its own version. A month with fewer than
`campaign_report.DEFAULT_RULE.min_n` answers (Minping's own rule: a month's point is a warning, not a
published score, so no scheme's rule applies) has no score. The group is every unit answering the
questionnaire, whoever may see it; only the member's units are listed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import numpy as np

import analysis
from survey_app import campaigns, units
from survey_app.localtime import local
from survey_app.questionnaires import versions
from survey_app.questionnaires.format import Questionnaire
from survey_app.reporting import campaign_report
from survey_app.tables import Response

SCORED = campaign_report.COUNTED


@dataclass(frozen=True)
class UnitTrend:
    """One unit's monthly series for one questionnaire; arrays over `QuestionnaireTrends.months`."""

    code: str
    name: str
    name_en: str
    n: tuple[int, ...]
    estimate: np.ndarray  # NaN below the minimum n
    low: np.ndarray
    high: np.ndarray
    se: np.ndarray
    chart: analysis.EWMAChart
    funnel: tuple[int, ...]  # `analysis.Funnel.signal` per month (0 without a score)

    @property
    def latest_signal(self) -> tuple[str, ...]:
        """Why the unit is listed now: "ewma" (its own chart below its lower limit in the last month),
        "funnel" (below the group's 99.8 % limit in the last month); () when neither."""
        why = []
        if self.chart.signal.size and self.chart.signal[-1] < 0:
            why.append("ewma")
        if self.funnel and self.funnel[-1] <= -2:
            why.append("funnel")
        return tuple(why)


@dataclass(frozen=True)
class QuestionnaireTrends:
    slug: str
    title: Any  # the newest version's title
    months: tuple[str, ...]  # "YYYY-MM", oldest first
    centre: np.ndarray  # the group's score per month
    units: tuple[UnitTrend, ...]  # the member's units, worst signal first, then by code

    @property
    def flagged(self) -> tuple[UnitTrend, ...]:
        return tuple(u for u in self.units if u.latest_signal)


async def trends(visible: AbstractSet[int] | None) -> list[QuestionnaireTrends]:
    """Monthly trends of every questionnaire used by a campaign covering the member's units."""
    by_questionnaire: dict[str, list[campaigns.CampaignInfo]] = defaultdict(list)
    questionnaires: dict[str, Questionnaire] = {}
    for campaign in await campaigns.in_scope(visible):
        q = await versions.get(campaign.questionnaire_id)
        by_questionnaire[q.slug].append(campaign)
        if q.slug not in questionnaires or q.version > questionnaires[q.slug].version:
            questionnaires[q.slug] = q
    out = []
    for slug, chosen in sorted(by_questionnaire.items()):
        values: dict[tuple[int, str], list[float]] = defaultdict(list)
        for campaign in chosen:
            q = await versions.get(campaign.questionnaire_id)
            rows = await (
                Response.select(Response.unit, Response.answers, Response.submitted_at)
                .where((Response.campaign == campaign.id) & Response.status.is_in(list(SCORED)))
                .order_by(Response.id)
                .output(load_json=True)
            )
            if not rows:
                continue
            dimensions, weights = campaign_report.dimension_spec(q)
            coded = campaign_report.coded_answers(q, [r["answers"] for r in rows])
            overall = analysis.respondent_composites(coded, dimensions, weights)[:, -1]
            for row, y in zip(rows, overall, strict=True):
                if not np.isnan(y):
                    values[row["unit"], local(row["submitted_at"]).strftime("%Y-%m")].append(float(y))
        if values:
            out.append(await _trends(slug, questionnaires[slug].title, values, visible))
    return out


async def _trends(
    slug: str, title: Any, values: dict[tuple[int, str], list[float]], visible: AbstractSet[int] | None
) -> QuestionnaireTrends:
    months = tuple(sorted({month for _, month in values}))
    unit_ids = sorted({unit for unit, _ in values})
    centre = np.array(
        [np.mean([y for (_, m), ys in values.items() if m == month for y in ys]) for month in months], dtype=float
    )
    n = np.array([[len(values.get((u, m), ())) for m in months] for u in unit_ids])
    mean = np.full(n.shape, np.nan)
    se = np.full(n.shape, np.nan)
    for i, u in enumerate(unit_ids):
        for t, m in enumerate(months):
            ys = np.asarray(values.get((u, m), ()), dtype=float)
            if ys.size >= campaign_report.DEFAULT_RULE.min_n:
                mean[i, t] = ys.mean()
                se[i, t] = ys.std(ddof=1) / np.sqrt(ys.size)
    low, high = analysis.bounded_bounds(mean, se, n - 1, n, confidence=campaign_report.CONFIDENCE)
    funnels = [analysis.funnel(mean[:, t], se[:, t], float(centre[t])).signal for t in range(len(months))]
    info = await units.by_ids(unit_ids)
    shown = []
    for i, u in enumerate(unit_ids):
        if visible is not None and u not in visible:
            continue
        shown.append(
            UnitTrend(
                info[u].code,
                info[u].name,
                info[u].name_en,
                tuple(int(k) for k in n[i]),
                mean[i],
                low[i],
                high[i],
                se[i],
                analysis.ewma_chart(mean[i], se[i]),
                tuple(int(f[i]) for f in funnels),
            )
        )
    shown.sort(key=lambda t: (not t.latest_signal, t.code))
    return QuestionnaireTrends(slug, title, months, centre, tuple(shown))
