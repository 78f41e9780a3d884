"""One unit in one campaign: its scores, why they are what they are (the gap to the other units by
dimension, and every choice question against the other units), their change since the previous
period, the importance–performance picture, answer distributions, who answered how, what was left
out and why, and residents' comments grouped by the dimension they complained about.

Scores come from `campaign_report.build` (the same numbers as the campaign report); everything statistical
comes from `analysis`. Only responses that count (counted, included) feed the figures; the others
are shown as counts with their reasons.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

import analysis
from survey_app import campaigns, privacy, units
from survey_app.localtime import local
from survey_app.questionnaires import versions
from survey_app.questionnaires.format import Item, Questionnaire, Text
from survey_app.reporting import campaign_report
from survey_app.tables import Channel, Response, ResponseStatus

SCORED = (ResponseStatus.counted.value, ResponseStatus.included.value)
LEFT_OUT = (ResponseStatus.quarantined.value, ResponseStatus.excluded.value)
OVERALL_ITEM = "overall"  # an item with this id is the overall measure of the IPA
SIGNIFICANCE = 0.05
TEXT_TYPES = ("text", "longtext")
CHOICE_TYPES = ("yesno", "choice", "multi")


@dataclass(frozen=True)
class LevelCount:
    label: Text
    count: int


@dataclass(frozen=True)
class Distribution:
    """How one item was answered in the unit: counts per level (best first) and "don't know"."""

    key: str
    label: Text
    levels: tuple[LevelCount, ...]
    dont_know: int
    dont_know_label: Text

    @property
    def valid(self) -> int:
        return sum(level.count for level in self.levels)

    @property
    def answers(self) -> int:
        return self.valid + self.dont_know


@dataclass(frozen=True)
class IPAPoint:
    key: str
    label: Text
    importance: float
    importance_low: float
    importance_high: float
    performance: float
    performance_low: float
    performance_high: float
    n: int
    quadrant: int  # index into analysis.QUADRANTS


@dataclass(frozen=True)
class IPAChart:
    points: tuple[IPAPoint, ...]
    importance_cut: float
    performance_cut: float
    against: str  # "item" (the overall item) or "composite" (the overall index)
    method: str


@dataclass(frozen=True)
class Change:
    """One line of the period comparison: index change with Welch's test; rate change with Newcombe."""

    level: str  # overall | dimension | item
    key: str
    label: Text
    n_now: int
    n_before: int
    now: float | None
    before: float | None
    difference: analysis.MeanDifference | None  # None: too few answers in a period
    p_adjusted: float | None  # Benjamini–Hochberg over the page's tests
    rate_now: float | None = None
    rate_before: float | None = None
    rate_difference: analysis.Estimate | None = None

    @property
    def significant(self) -> bool:
        return self.p_adjusted is not None and self.p_adjusted < SIGNIFICANCE

    @property
    def rate_significant(self) -> bool:
        d = self.rate_difference
        return d is not None and not (d.low <= 0 <= d.high)


@dataclass(frozen=True)
class Comparison:
    previous_slug: str
    previous_title: str
    previous_version: int
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class LeftOut:
    """Responses kept out of the scores, grouped by status, flags and the assessor's reason."""

    status: str
    flags: tuple[str, ...]
    reason: str
    count: int


@dataclass(frozen=True)
class Comment:
    label: Text
    text: str  # masked
    hour: datetime | None  # local time, truncated to the hour


@dataclass(frozen=True)
class OptionShare:
    """One option of a choice item: the unit's share and the other units' share, both with intervals."""

    value: Any
    label: Text
    count: int
    share: analysis.Estimate  # of the unit's respondents who answered the item
    rest: analysis.Estimate  # of the other units' respondents who answered it
    difference: analysis.Estimate  # unit minus rest, Newcombe
    different: bool  # the difference's interval excludes 0


@dataclass(frozen=True)
class ChoiceReport:
    """A yes/no, choice or multi item in the unit against the other units of the campaign."""

    key: str
    label: Text
    type: str
    follow_up: bool  # asked only after some answers to a rating item (e.g. "what are you unhappy with")
    n: int
    n_rest: int
    options: tuple[OptionShare, ...]


@dataclass(frozen=True)
class GapLine:
    """One dimension's share of the unit's gap to the other units, in index points."""

    key: str
    label: Text
    weight: float
    unit: analysis.Estimate
    rest: analysis.Estimate
    contribution: float
    low: float
    high: float


@dataclass(frozen=True)
class Gap:
    """The unit's overall index minus the other units', split by dimension (`analysis.decompose_gap`)."""

    unit: analysis.Estimate
    rest: analysis.Estimate
    gap: float
    low: float
    high: float
    residual: float
    lines: tuple[GapLine, ...]
    worst: GapLine | None  # the dimension that costs the unit most points, if any costs it points

    @property
    def below(self) -> bool:
        """The unit scores below the other units (its score is "low" for the page's order)."""
        return self.gap < 0


@dataclass(frozen=True)
class CommentGroup:
    """Comments of residents who named one dimension among their reasons (key None: none named)."""

    key: str | None
    label: Text | None
    comments: tuple[Comment, ...]


@dataclass(frozen=True)
class UnitPage:
    report: campaign_report.Report  # the campaign report restricted to this unit
    unit: campaign_report.UnitReport
    questionnaire_title: Text
    target: int | None
    scored: int
    by_status: dict[str, int]
    by_channel: dict[str, int]  # scored responses per channel
    distributions: tuple[Distribution, ...]
    ipa: IPAChart | None
    comparison: Comparison | None
    left_out: tuple[LeftOut, ...]
    comments: tuple[Comment, ...]
    comments_withheld: bool  # too few responses to show comments without identifying anyone
    gap: Gap | None = None  # None: no other unit scored, or the unit has no score
    choices: tuple[ChoiceReport, ...] = ()  # follow-up reasons first when the unit scores below the others
    comment_groups: tuple[CommentGroup, ...] = ()

    @property
    def response_rate(self) -> float | None:
        return self.scored / self.target if self.target else None

    def line(self, level: str, key: str) -> campaign_report.Line | None:
        return next((x for x in self.unit.lines if x.level == level and x.key == key), None)


async def build(
    campaign_slug: str, unit_code: str, visible: AbstractSet[int] | None, rule: campaign_report.SampleRule
) -> UnitPage | None:
    """The unit page by the campaign's `rule` (scores, distributions, comparisons and comments are shown
    from its `min_n`), or None when the campaign, the unit or the member's view of it does not exist."""
    unit = await units.by_code(unit_code)
    if unit is None or (visible is not None and unit.id not in visible):
        return None
    try:
        report = await campaign_report.build(campaign_slug, rule=rule)
    except campaign_report.ReportError:
        return None
    unit_report = next((u for u in report.units if u.id == unit.id), None)
    campaign = await campaigns.by_slug(campaign_slug)
    if unit_report is None or campaign is None:
        return None
    questionnaire = await versions.get(campaign.questionnaire_id)
    rows = await _rows(campaign.id, unit.id)
    scored = [r for r in rows if r["status"] in SCORED]
    coded = campaign_report.coded_answers(questionnaire, [r["answers"] for r in scored])
    enough = len(scored) >= rule.min_n
    others = await _other_units_answers(campaign.id, unit.id)
    gap = _gap(rule, questionnaire, [r["answers"] for r in scored], others) if enough else None
    comments = _comments(questionnaire, scored) if enough else ()
    return UnitPage(
        report=campaign_report.restrict(report, {unit.id}) or report,
        unit=unit_report,
        questionnaire_title=questionnaire.title,
        target=await campaigns.target(campaign.id, unit.id),
        scored=len(scored),
        by_status={s.value: n for s in ResponseStatus if (n := sum(r["status"] == s.value for r in rows))},
        by_channel=_channels(scored),
        distributions=_distributions(questionnaire, coded),
        ipa=_ipa(questionnaire, coded, unit_report) if enough else None,
        comparison=await _comparison(campaign.id, unit.id, questionnaire, coded, rule.min_n),
        left_out=_left_out(rows),
        comments=tuple(c for _, c in comments),
        comments_withheld=not enough,
        gap=gap,
        choices=_choices(questionnaire, [r["answers"] for r in scored], others, gap is not None and gap.below)
        if enough
        else (),
        comment_groups=_comment_groups(questionnaire, comments),
    )


async def _other_units_answers(campaign_id: int, unit_id: int) -> list[dict[str, Any]]:
    """The scored answers of the campaign's other units: the group the unit is compared with."""
    rows = await (
        Response.select(Response.answers)
        .where((Response.campaign == campaign_id) & (Response.unit != unit_id) & Response.status.is_in(list(SCORED)))
        .order_by(Response.id)
        .output(load_json=True)
    )
    return [r["answers"] for r in rows]


def _gap(
    rule: campaign_report.SampleRule, q: Questionnaire, mine: list[dict[str, Any]], others: list[dict[str, Any]]
) -> Gap | None:
    """Score the unit and the other units as two groups (by the page's `rule`), then split the overall gap
    by dimension."""
    if not others:
        return None
    coded = campaign_report.coded_answers(q, mine + others)
    dimensions, weights = campaign_report.dimension_spec(q)
    group = np.repeat(np.array([0, 1]), [len(mine), len(others)])
    scores = analysis.score_units(
        coded,
        group,
        2,
        dimensions=dimensions,
        dimension_weights=weights,
        confidence=campaign_report.CONFIDENCE,
        min_n=rule.min_n,
        small_n=rule.small_n,
    )
    unit_overall, rest_overall = scores.overall_score(0).index, scores.overall_score(1).index
    if np.isnan(unit_overall.estimate) or np.isnan(rest_overall.estimate):
        return None
    unit_dims = [scores.dimension(0, d).index for d in range(len(dimensions))]
    rest_dims = [scores.dimension(1, d).index for d in range(len(dimensions))]
    result = analysis.decompose_gap(
        np.array([e.estimate for e in unit_dims]),
        _se(unit_dims),
        np.array([e.estimate for e in rest_dims]),
        _se(rest_dims),
        np.array(weights, dtype=float),
        (unit_overall.estimate, float(_se([unit_overall])[0]), rest_overall.estimate, float(_se([rest_overall])[0])),
        campaign_report.CONFIDENCE,
    )
    titles: dict[str, Text] = {d.id: d.title for d in q.dimensions} | {"all": campaign_report.OVERALL_LABEL}
    total = float(np.sum(weights))
    lines = tuple(
        GapLine(
            name,
            titles.get(name, name),
            float(weights[d] / total),
            unit_dims[d],
            rest_dims[d],
            float(result.contribution[d]),
            float(result.low[d]),
            float(result.high[d]),
        )
        for d, (name, _, _) in enumerate(dimensions)
    )
    return Gap(
        unit_overall,
        rest_overall,
        result.gap,
        result.gap_low,
        result.gap_high,
        result.residual,
        lines,
        lines[result.worst] if result.worst >= 0 else None,
    )


def _se(estimates: list[analysis.Estimate]) -> np.ndarray:
    """Standard errors behind the (logit-t) index intervals of `score_units`."""
    return analysis.bounded_standard_errors(
        np.array([e.estimate for e in estimates]),
        np.array([e.low for e in estimates]),
        np.array([e.high for e in estimates]),
        np.array([e.n - 1 for e in estimates], dtype=float),
        confidence=campaign_report.CONFIDENCE,
    )


def _chosen(item_type: str, answer: Any) -> list[Any] | None:
    """The values an answer holds (None: the item was not answered)."""
    if answer is None or answer == [] or answer == "":
        return None
    if item_type == "multi":
        return list(answer) if isinstance(answer, list) else None
    if item_type == "yesno":
        return [answer] if isinstance(answer, bool) else None
    return [answer]


def _choice_counts(item: Item, values: list[Any], answers: list[dict[str, Any]]) -> tuple[np.ndarray, int]:
    counts = np.zeros(len(values))
    n = 0
    for answer in answers:
        chosen = _chosen(item.type, answer.get(item.id))
        if chosen is None:
            continue
        n += 1
        for k, value in enumerate(values):
            counts[k] += any(type(value) is type(c) and value == c for c in chosen)
    return counts, n


def _choices(
    q: Questionnaire, mine: list[dict[str, Any]], others: list[dict[str, Any]], below: bool
) -> tuple[ChoiceReport, ...]:
    """Every yes/no, choice and multi item (demographics aside) against the other units.

    When the unit scores below the other units, the follow-up questions (asked only after a low
    rating: "what are you unhappy with") come first: they are the residents' own answer to "why"."""
    out = []
    for item in q.items:
        if item.type not in CHOICE_TYPES or item.demographic is not None:
            continue
        labels = q.labels_of(item)
        values = list(labels)
        counts, n = _choice_counts(item, values, mine)
        rest_counts, n_rest = _choice_counts(item, values, others)
        result = analysis.compare_shares(counts, n, rest_counts, n_rest, campaign_report.CONFIDENCE)
        options = tuple(
            OptionShare(
                value,
                labels[value],
                int(counts[k]),
                analysis.Estimate(
                    float(result.unit[k]), float(result.unit_low[k]), float(result.unit_high[k]), n, "wilson"
                ),
                analysis.Estimate(
                    float(result.rest[k]), float(result.rest_low[k]), float(result.rest_high[k]), n_rest, "wilson"
                ),
                analysis.Estimate(
                    float(result.diff[k]), float(result.diff_low[k]), float(result.diff_high[k]), n + n_rest, "newcombe"
                ),
                bool(result.different[k]),
            )
            for k, value in enumerate(values)
        )
        follow_up = item.show_if is not None and q.item(item.show_if.item).type == "rating"
        out.append(ChoiceReport(item.id, item.text, item.type, follow_up, n, n_rest, options))
    if below:
        out.sort(key=lambda c: not c.follow_up)  # stable: the questionnaire's order otherwise
    return tuple(out)


async def _rows(campaign_id: int, unit_id: int) -> list[dict[str, Any]]:
    return await (
        Response.select(
            Response.answers,
            Response.channel,
            Response.status,
            Response.flags,
            Response.review_reason,
            Response.submitted_at,
        )
        .where((Response.campaign == campaign_id) & (Response.unit == unit_id))
        .order_by(Response.id)
        .output(load_json=True)
    )


def _channels(rows: list[dict[str, Any]]) -> dict[str, int]:
    count = Counter(r["channel"] for r in rows)
    return {c.value: count[c.value] for c in Channel if count[c.value]}


def _distributions(q: Questionnaire, coded: analysis.CodedItems) -> tuple[Distribution, ...]:
    out = []
    for col, item in enumerate(q.rating_items()):
        scale = q.scales[item.scale or ""]
        counts = np.bincount(coded.code[:, col], minlength=coded.n_levels + 2)
        levels = tuple(LevelCount(level.label, int(counts[rank + 1])) for rank, level in enumerate(scale.levels))
        out.append(Distribution(item.id, item.text, levels, int(counts[coded.n_levels + 1]), scale.dont_know_label))
    return tuple(out)


def _ipa(q: Questionnaire, coded: analysis.CodedItems, unit: campaign_report.UnitReport) -> IPAChart | None:
    """Derived importance (correlation with the overall item, or with the overall index when the
    questionnaire has no overall item) against performance, with both intervals."""
    items = q.rating_items()
    ids = [i.id for i in items]
    if OVERALL_ITEM in ids:
        overall = coded.index[:, ids.index(OVERALL_ITEM)]
        against = "item"
    else:
        dimensions, weights = campaign_report.dimension_spec(q)
        overall = analysis.respondent_composites(coded, dimensions, weights)[:, -1]
        against = "composite"
    columns = [n for n, i in enumerate(items) if i.id != OVERALL_ITEM]
    if len(columns) < 2:
        return None
    result = analysis.ipa(coded.index[:, columns], overall, names=[ids[n] for n in columns])
    scores = {line.key: line.score for line in unit.lines if line.level == "item"}
    points = []
    for j, n in enumerate(columns):
        index = scores[ids[n]].index
        if not result.quadrant[j] or np.isnan(index.estimate):
            continue  # too few pairs or no spread, or a suppressed item score
        points.append(
            IPAPoint(
                key=ids[n],
                label=items[n].text,
                importance=float(result.importance[j]),
                importance_low=float(result.low[j]),
                importance_high=float(result.high[j]),
                performance=float(result.performance[j]),
                performance_low=index.low,
                performance_high=index.high,
                n=int(result.n[j]),
                quadrant=analysis.QUADRANTS.index(result.quadrant[j]),
            )
        )
    if not points:
        return None
    return IPAChart(tuple(points), result.importance_cut, result.performance_cut, against, result.method)


async def _comparison(
    campaign_id: int, unit_id: int, q: Questionnaire, coded: analysis.CodedItems, min_n: int
) -> Comparison | None:
    previous = await campaigns.previous_for_unit(campaign_id, unit_id)
    if previous is None:
        return None
    q_before = await versions.get(previous.questionnaire_id)
    rows = [r for r in await _rows(previous.id, unit_id) if r["status"] in SCORED]
    before = campaign_report.coded_answers(q_before, [r["answers"] for r in rows])
    changes = _composite_changes(q, coded, q_before, before, min_n) + _item_changes(q, coded, q_before, before, min_n)
    adjusted = analysis.benjamini_hochberg([np.nan if c.difference is None else c.difference.pvalue for c in changes])
    changes = [
        dataclasses.replace(c, p_adjusted=None if np.isnan(p) else float(p))
        for c, p in zip(changes, adjusted, strict=True)
    ]
    return Comparison(previous.slug, previous.title, q_before.version, tuple(changes))


def _welch(now: np.ndarray, before: np.ndarray, min_n: int) -> analysis.MeanDifference | None:
    """Welch's test when each period has at least the minimum n (fewer answers are not published)."""
    now, before = now[~np.isnan(now)], before[~np.isnan(before)]
    if min(now.size, before.size) < min_n:
        return None
    return analysis.diff_means_ci(now, before, confidence=campaign_report.CONFIDENCE)


def _mean(x: np.ndarray, min_n: int) -> float | None:
    x = x[~np.isnan(x)]
    return float(x.mean()) if x.size >= min_n else None


def _composite_changes(
    q: Questionnaire, coded: analysis.CodedItems, q_before: Questionnaire, before: analysis.CodedItems, min_n: int
) -> list[Change]:
    now_dims, now_weights = campaign_report.dimension_spec(q)
    before_dims, before_weights = campaign_report.dimension_spec(q_before)
    now_x = analysis.respondent_composites(coded, now_dims, now_weights)
    before_x = analysis.respondent_composites(before, before_dims, before_weights)
    pairs: list[tuple[str, str, Text, np.ndarray, np.ndarray]] = [
        ("overall", "overall", campaign_report.OVERALL_LABEL, now_x[:, -1], before_x[:, -1])
    ]
    titles = {d.id: d.title for d in q.dimensions}
    before_names = [d[0] for d in before_dims]
    for d, (name, _, _) in enumerate(now_dims):
        if name in before_names and name in titles:
            pairs.append(("dimension", name, titles[name], now_x[:, d], before_x[:, before_names.index(name)]))
    return [
        Change(
            level,
            key,
            label,
            int((~np.isnan(a)).sum()),
            int((~np.isnan(b)).sum()),
            _mean(a, min_n),
            _mean(b, min_n),
            _welch(a, b, min_n),
            None,
        )
        for level, key, label, a, b in pairs
    ]


def _item_changes(
    q: Questionnaire, coded: analysis.CodedItems, q_before: Questionnaire, before: analysis.CodedItems, min_n: int
) -> list[Change]:
    before_ids = [i.id for i in q_before.rating_items()]
    out = []
    for col, item in enumerate(q.rating_items()):
        if item.id not in before_ids:
            continue
        b = before_ids.index(item.id)
        a_index, b_index = coded.index[:, col], before.index[:, b]
        x1, n1 = np.nansum(coded.satisfied[:, col]), (~np.isnan(coded.satisfied[:, col])).sum()
        x2, n2 = np.nansum(before.satisfied[:, b]), (~np.isnan(before.satisfied[:, b])).sum()
        enough = min(n1, n2) >= min_n
        out.append(
            Change(
                "item",
                item.id,
                item.text,
                int(n1),
                int(n2),
                _mean(a_index, min_n),
                _mean(b_index, min_n),
                _welch(a_index, b_index, min_n),
                None,
                rate_now=float(x1 / n1) if n1 >= min_n else None,
                rate_before=float(x2 / n2) if n2 >= min_n else None,
                rate_difference=analysis.diff_proportions_ci(x1, n1, x2, n2, confidence=campaign_report.CONFIDENCE)
                if enough
                else None,
            )
        )
    return out


def _left_out(rows: list[dict[str, Any]]) -> tuple[LeftOut, ...]:
    count = Counter(
        (r["status"], tuple(r["flags"] or ()), r["review_reason"] or "") for r in rows if r["status"] in LEFT_OUT
    )
    return tuple(
        LeftOut(status, flags, reason, n)
        for (status, flags, reason), n in sorted(count.items(), key=lambda kv: (LEFT_OUT.index(kv[0][0]), -kv[1]))
    )


def flag_counts(left_out: tuple[LeftOut, ...]) -> dict[str, int]:
    """Left-out responses per signal code (a response with two flags counts under both)."""
    count: Counter[str] = Counter()
    for group in left_out:
        for flag in group.flags:
            count[flag] += group.count
    return dict(count.most_common())


def _comments(q: Questionnaire, rows: list[dict[str, Any]]) -> tuple[tuple[tuple[str, ...], Comment], ...]:
    """Free-text answers with phone and ID numbers masked, times to the hour, newest first; each with
    the dimensions its resident named among the answers of the questionnaire's multi items."""
    texts = [i for i in q.items if i.type in TEXT_TYPES]
    dimension_ids = [d.id for d in q.dimensions]
    reasons = [i for i in q.items if i.type == "multi"]
    out = []
    for row in sorted(rows, key=lambda r: r["submitted_at"], reverse=True):
        hour = privacy.to_hour(row["submitted_at"])
        named: list[str] = []
        for item in reasons:
            chosen = row["answers"].get(item.id)
            if isinstance(chosen, list):
                named += [d for d in dimension_ids if d in chosen and d not in named]
        for item in texts:
            value = row["answers"].get(item.id)
            if isinstance(value, str) and value.strip():
                out.append((tuple(named), Comment(item.text, privacy.mask_text(value), hour and local(hour))))
    return tuple(out)


def _comment_groups(
    q: Questionnaire, comments: tuple[tuple[tuple[str, ...], Comment], ...]
) -> tuple[CommentGroup, ...]:
    """Comments by the dimension their resident named (in the questionnaire's order; a comment whose
    resident named two is under both), then those naming none."""
    groups = [CommentGroup(d.id, d.title, tuple(c for named, c in comments if d.id in named)) for d in q.dimensions]
    rest = CommentGroup(None, None, tuple(c for named, c in comments if not named))
    return tuple(g for g in [*groups, rest] if g.comments)
