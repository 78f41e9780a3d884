"""Data quality of one campaign: who answered against the targets, how items were answered, how
reliable each dimension is, and which responses look careless.

Speeders and straight-liners are computed here from the stored answers and durations with
`analysis.quality` (signals for a reviewer, stored nowhere); they are computed over the whole
campaign, so a response is a speeder against the campaign's median whoever looks. Item figures and
Cronbach's α use the responses that count in the scores, of the units the member may see.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import numpy as np

import analysis
from survey_app import campaigns
from survey_app.questionnaires import versions
from survey_app.questionnaires.format import Questionnaire, Text
from survey_app.reporting import campaign_report
from survey_app.reporting.unit_report import SCORED
from survey_app.tables import CampaignUnit, Channel, Response, ResponseStatus

# Every response but a superseded one was a real submission and can show a careless pattern.
SUBMITTED = tuple(s.value for s in ResponseStatus if s != ResponseStatus.superseded)


@dataclass(frozen=True)
class UnitQuality:
    id: int
    code: str
    name: str
    name_en: str
    target: int | None
    by_status: dict[str, int]
    by_channel: dict[str, int]  # responses that count, per channel
    speeders: int
    straight_lining: int

    @property
    def scored(self) -> int:
        return sum(self.by_status.get(s, 0) for s in SCORED)

    @property
    def response_rate(self) -> float | None:
        return self.scored / self.target if self.target else None


@dataclass(frozen=True)
class ItemQuality:
    key: str
    label: Text
    asked: int  # responses to which the item was shown (conditions met)
    unanswered: int  # of those, no answer at all
    dont_know: int
    valid: int

    @property
    def nonresponse(self) -> float | None:
        return self.unanswered / self.asked if self.asked else None

    @property
    def dont_know_share(self) -> float | None:
        answers = self.valid + self.dont_know
        return self.dont_know / answers if answers else None


@dataclass(frozen=True)
class DimensionReliability:
    key: str
    label: Text
    items: int
    alpha: analysis.Reliability | None  # None: fewer than the minimum n, or no variance to measure


@dataclass(frozen=True)
class CampaignQuality:
    campaign_slug: str
    campaign_title: str
    questionnaire_slug: str
    questionnaire_version: int
    rule: campaign_report.SampleRule
    units: tuple[UnitQuality, ...]
    items: tuple[ItemQuality, ...]
    dimensions: tuple[DimensionReliability, ...]
    median_duration: float | None  # seconds, over the campaign's submitted responses

    @property
    def below_min_n(self) -> tuple[UnitQuality, ...]:
        return tuple(u for u in self.units if u.scored < self.rule.min_n)

    @property
    def totals(self) -> UnitQuality:
        """The visible units together, as one row."""
        status: Counter[str] = Counter()
        channel: Counter[str] = Counter()
        for u in self.units:
            status.update(u.by_status)
            channel.update(u.by_channel)
        targets = [u.target for u in self.units]
        return UnitQuality(
            0,
            "",
            "",
            "",
            sum(t for t in targets if t) if all(targets) else None,
            dict(status),
            dict(channel),
            sum(u.speeders for u in self.units),
            sum(u.straight_lining for u in self.units),
        )


async def build(
    campaign_slug: str, visible: AbstractSet[int] | None, rule: campaign_report.SampleRule
) -> CampaignQuality | None:
    """The quality page over the member's units of the campaign by its `rule`, or None when there are none."""
    campaign = await campaigns.by_slug(campaign_slug)
    if campaign is None:
        return None
    questionnaire = await versions.get(campaign.questionnaire_id)
    covered = (
        await CampaignUnit.select(
            CampaignUnit.target,
            CampaignUnit.unit.id.as_alias("id"),
            CampaignUnit.unit.code.as_alias("code"),
            CampaignUnit.unit.name.as_alias("name"),
            CampaignUnit.unit.name_en.as_alias("name_en"),
        )
        .where(CampaignUnit.campaign == campaign.id)
        .order_by(CampaignUnit.unit.code)
    )
    shown = [u for u in covered if visible is None or u["id"] in visible]
    if not shown:
        return None
    rows = await (
        Response.select(Response.unit, Response.answers, Response.channel, Response.status, Response.duration_s)
        .where(Response.campaign == campaign.id)
        .order_by(Response.id)
        .output(load_json=True)
    )
    fast, flat, median = _signals(questionnaire, rows)
    ids = {u["id"] for u in shown}
    scored = [r for r in rows if r["unit"] in ids and r["status"] in SCORED]
    return CampaignQuality(
        campaign_slug=campaign.slug,
        campaign_title=campaign.title,
        questionnaire_slug=questionnaire.slug,
        questionnaire_version=questionnaire.version,
        rule=rule,
        units=tuple(_unit(u, [r for r in rows if r["unit"] == u["id"]], fast, flat) for u in shown),
        items=_items(questionnaire, scored),
        dimensions=_reliability(questionnaire, scored, rule.min_n),
        median_duration=median,
    )


def _signals(q: Questionnaire, rows: list[dict[str, Any]]) -> tuple[Counter[int], Counter[int], float | None]:
    """Speeders and straight-liners per unit, over every submitted response of the campaign."""
    submitted = [r for r in rows if r["status"] in SUBMITTED]
    durations = np.array([np.nan if r["duration_s"] is None else r["duration_s"] for r in submitted], dtype=float)
    rank = campaign_report.coded_answers(q, [r["answers"] for r in submitted]).rank
    fast = analysis.speeders(durations) if submitted else np.zeros(0, dtype=bool)
    flat = analysis.straight_lining(rank) if submitted else np.zeros(0, dtype=bool)
    known = durations[~np.isnan(durations)]
    median = float(np.median(known)) if known.size else None
    units = [r["unit"] for r in submitted]
    return (
        Counter(u for u, hit in zip(units, fast, strict=True) if hit),
        Counter(u for u, hit in zip(units, flat, strict=True) if hit),
        median,
    )


def _unit(info: dict[str, Any], rows: list[dict[str, Any]], fast: Counter[int], flat: Counter[int]) -> UnitQuality:
    status = Counter(r["status"] for r in rows)
    channel = Counter(r["channel"] for r in rows if r["status"] in SCORED)
    return UnitQuality(
        id=info["id"],
        code=info["code"],
        name=info["name"],
        name_en=info["name_en"],
        target=info["target"],
        by_status={s.value: status[s.value] for s in ResponseStatus if status[s.value]},
        by_channel={c.value: channel[c.value] for c in Channel if channel[c.value]},
        speeders=fast[info["id"]],
        straight_lining=flat[info["id"]],
    )


def _items(q: Questionnaire, rows: list[dict[str, Any]]) -> tuple[ItemQuality, ...]:
    coded = campaign_report.coded_answers(q, [r["answers"] for r in rows])
    out = []
    for col, item in enumerate(q.rating_items()):
        asked = [q.is_shown(item, r["answers"]) for r in rows]
        missing = coded.code[:, col] == 0
        out.append(
            ItemQuality(
                key=item.id,
                label=item.text,
                asked=sum(asked),
                unanswered=int(np.sum(missing & np.array(asked, dtype=bool))) if rows else 0,
                dont_know=int(coded.dont_know[:, col].sum()),
                valid=int((~np.isnan(coded.rank[:, col])).sum()),
            )
        )
    return tuple(out)


def _reliability(q: Questionnaire, rows: list[dict[str, Any]], min_n: int) -> tuple[DimensionReliability, ...]:
    """Cronbach's α (Feldt interval, pairwise missing) of every dimension with two items or more."""
    coded = campaign_report.coded_answers(q, [r["answers"] for r in rows])
    dimensions, _ = campaign_report.dimension_spec(q)
    titles = {d.id: d.title for d in q.dimensions} | {"all": campaign_report.OVERALL_LABEL}
    out = []
    for name, columns, _ in dimensions:
        if len(columns) < 2:
            continue
        ranks = coded.rank[:, columns]
        answered = ranks[~np.isnan(ranks).all(axis=1)]
        alpha = None
        if answered.shape[0] >= min_n:
            with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
                warnings.simplefilter("ignore", RuntimeWarning)  # a constant item: α is NaN, shown as "—"
                result = analysis.cronbach_alpha(answered, confidence=campaign_report.CONFIDENCE)
            if np.isfinite([result.alpha, result.low, result.high]).all():
                alpha = result
        out.append(DimensionReliability(name, titles.get(name, name), len(columns), alpha))
    return tuple(out)
