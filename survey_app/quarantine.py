"""Fraud flags: which responses of a campaign look stuffed or made up, sent to quarantine for review.

Signals (codes stored in `response.flags`, explained to assessors by `FLAG_TEXT`):

* residents' own answers (channel qr): ``burst`` — the link received far more answers in ten
  minutes than its normal rate (`analysis.burst_scan`); ``speeder`` with ``straight_line`` or
  ``clone`` — answered in under 30 % of the median time *and* every rating the same, or the exact
  answer vector of another response (`analysis.suspicious`: either pattern alone is common among
  honest residents, so neither flags on its own);
* ``device_units`` — one device (its keyed hash) answered for `analysis.DEVICE_UNIT_LIMIT` or
  more units of the campaign;
* staff entries: ``night_entry`` — an interview saved between 22:00 and 06:00 local time;
  ``entry_rate`` — one worker saved more than 12 interviews, or keyed more than 60 paper sheets,
  within an hour (`analysis.entries_over_rate`).

No signal looks at which way a rating goes (a rule that did could be used to suppress bad
ratings): mirroring every rating flags the same responses, which a test checks.

A pass only moves `counted` responses to `quarantined`, each change audited with actor "system".
It never touches a reviewed (included/excluded) or superseded response, never releases a
quarantined one (only an assessor does), and never deletes anything.

When it runs: every `flag_interval_s` (10 minutes) in each worker over the campaigns whose answers
can still change (open, or closed in the last 30 days: paper sheets are keyed after the close);
`minping flags CAMPAIGN` on demand; and before `minping report` prints a report. Report pages do
not run it, so a GET never writes; between passes a new answer counts until the next pass.
Several workers may pass at once: the move is one conditional UPDATE per response, so a
response is moved, and audited, once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

import analysis
from survey_app import audit, periodic
from survey_app.db import writing
from survey_app.i18n import N_
from survey_app.localtime import local
from survey_app.questionnaires import versions
from survey_app.questionnaires.format import Questionnaire
from survey_app.reporting.campaign_report import level_matrix
from survey_app.settings import get_settings
from survey_app.tables import Campaign, CampaignStatus, Channel, RatingCase, Response, ResponseStatus

SYSTEM_ACTOR = "system"
RECENTLY_CLOSED = timedelta(days=30)
ENTRY_LIMITS = {Channel.interviewer: analysis.INTERVIEWS_PER_HOUR, Channel.paper: analysis.SHEETS_PER_HOUR}

# Short names and plain explanations for assessors, in the order they are shown.
FLAG_NAMES = {
    "burst": N_("集中提交"),
    "speeder": N_("答题过快"),
    "straight_line": N_("评分全部相同"),
    "clone": N_("答案雷同"),
    "device_units": N_("一机多单位"),
    "night_entry": N_("夜间录入"),
    "entry_rate": N_("录入过快"),
    "inside_entry": N_("本单位人员录入"),
}
FLAG_TEXT = {
    "burst": N_("这个二维码在 10 分钟内收到的答卷远多于平时。"),
    "speeder": N_("用时不到本次评议答题时间中位数的三成。"),
    "straight_line": N_("所有评分题选了同一个等级（与“答题过快”同时出现才标记）。"),
    "clone": N_("答案与另一份答卷完全相同（与“答题过快”同时出现才标记）。"),
    "device_units": N_("同一台设备为本次评议中 3 个或更多单位作答。"),
    "night_entry": N_("访谈录入时间在夜间（22:00 至次日 6:00）。"),
    "entry_rate": N_("同一工作人员一小时内录入过多：访谈超过 12 份，或纸质问卷超过 60 份。"),
    "inside_entry": N_("由被评单位本身或其上级单位的工作人员录入：须由单位以外的人员确认后才计入。"),
}


@dataclass(frozen=True)
class FlagPass:
    campaign: str
    checked: int  # responses looked at (all but superseded)
    quarantined: int  # moved from counted to quarantined by this pass
    flagged: int  # responses the signals flag now, whatever their status


def compute_flags(questionnaire: Questionnaire, rows: Sequence[dict[str, Any]]) -> dict[int, tuple[str, ...]]:
    """The flag codes of each flagged row (rows: id, unit, link, channel, answers, submitted_at,
    duration_s, device_hash, entered_by). Pure: the same rows give the same flags."""
    codes: dict[int, list[str]] = {int(r["id"]): [] for r in rows}
    _resident_signals(questionnaire, [r for r in rows if r["channel"] == Channel.qr], codes)
    across = analysis.units_per_device(
        np.array([r["device_hash"] for r in rows], dtype=object), np.array([r["unit"] for r in rows])
    )
    for row, count in zip(rows, across, strict=True):
        if count >= analysis.DEVICE_UNIT_LIMIT:
            codes[row["id"]].append("device_units")
    _staff_entry_signals(rows, codes)
    order = list(FLAG_TEXT)
    return {i: tuple(sorted(set(c), key=order.index)) for i, c in codes.items() if c}


def _resident_signals(q: Questionnaire, rows: list[dict[str, Any]], codes: dict[int, list[str]]) -> None:
    if not rows:
        return
    levels, _ = level_matrix(q, q.rating_items(), [r["answers"] for r in rows])
    durations = np.array([np.nan if r["duration_s"] is None else r["duration_s"] for r in rows], dtype=float)
    times = np.array([r["submitted_at"].timestamp() for r in rows])
    links = np.array([-1 if r["link"] is None else r["link"] for r in rows])
    burst = analysis.burst_scan(times, links).flag
    fast = analysis.speeders(durations)
    same = analysis.straight_lining(levels)
    clone = analysis.identical_vectors(levels) > 1
    for n, row in enumerate(rows):
        found = codes[row["id"]]
        if burst[n]:
            found.append("burst")
        if fast[n] and (same[n] or clone[n]):
            found += ["speeder"] + ["straight_line"] * bool(same[n]) + ["clone"] * bool(clone[n])


def _staff_entry_signals(rows: Sequence[dict[str, Any]], codes: dict[int, list[str]]) -> None:
    for channel, limit in ENTRY_LIMITS.items():
        entries = [r for r in rows if r["channel"] == channel and r["entered_by"] is not None]
        if not entries:
            continue
        times = np.array([r["submitted_at"].timestamp() for r in entries])
        fast = analysis.entries_over_rate(times, np.array([r["entered_by"] for r in entries]), limit)
        hours = np.array([local(r["submitted_at"]).hour for r in entries])
        night = analysis.at_night(hours) if channel == Channel.interviewer else np.zeros(len(entries), bool)
        for n, row in enumerate(entries):
            codes[row["id"]] += ["entry_rate"] * bool(fast[n]) + ["night_entry"] * bool(night[n])


async def signal_rows(campaign_id: int) -> list[dict[str, Any]]:
    """The campaign's responses the signals look at: every one but superseded revisions."""
    return await (
        Response.select(
            Response.id,
            Response.unit,
            Response.link,
            Response.channel,
            Response.answers,
            Response.submitted_at,
            Response.duration_s,
            Response.device_hash,
            Response.entered_by,
            Response.status,
        )
        .where((Response.campaign == campaign_id) & (Response.status != ResponseStatus.superseded))
        .order_by(Response.id)
        .output(load_json=True)
    )


async def flag_campaign(slug: str) -> FlagPass:
    """Compute the flags of a campaign's responses and quarantine the newly flagged counted ones.

    :raise LookupError: when there is no such campaign.
    """
    campaign = await Campaign.select(Campaign.id, Campaign.questionnaire).where(Campaign.slug == slug).first()
    if campaign is None:
        raise LookupError(f"no campaign {slug!r}")
    rows = await signal_rows(campaign["id"])
    flags = compute_flags(await versions.get(campaign["questionnaire"]), rows)
    moved = 0
    for row in rows:
        codes = flags.get(row["id"])
        if codes and row["status"] == ResponseStatus.counted:
            moved += await _quarantine(row["id"], list(codes))
    return FlagPass(slug, len(rows), moved, len(flags))


async def _quarantine(response_id: int, codes: list[str]) -> int:
    async with writing():
        changed = await (
            Response.update({Response.status: ResponseStatus.quarantined, Response.flags: codes})
            .where((Response.id == response_id) & (Response.status == ResponseStatus.counted))
            .returning(Response.id)
        )
        if not changed:  # another worker's pass moved it first
            return 0
        await audit.record(
            SYSTEM_ACTOR,
            "response.quarantine",
            "response",
            response_id,
            before={"status": str(ResponseStatus.counted)},
            after={"status": str(ResponseStatus.quarantined), "flags": codes},
        )
    return 1


async def active_campaigns(now: datetime | None = None) -> list[str]:
    """Campaigns whose answers can still change: open, or closed within `RECENTLY_CLOSED`."""
    since = (now or datetime.now(UTC)) - RECENTLY_CLOSED
    rows = await Campaign.select(Campaign.slug, Campaign.status, Campaign.closes_at).order_by(Campaign.id)
    return [
        r["slug"]
        for r in rows
        if r["status"] == CampaignStatus.open
        or (r["status"] == CampaignStatus.closed and (r["closes_at"] is None or r["closes_at"] >= since))
    ]


async def flag_active() -> list[FlagPass]:
    """One pass over every active campaign."""
    return [await flag_campaign(slug) for slug in await active_campaigns()]


@contextlib.asynccontextmanager
async def lifespan(_app: object) -> AsyncIterator[None]:
    """Pass over the active campaigns every `flag_interval_s` while the worker runs (0 = never)."""
    async with periodic.every(get_settings().flag_interval_s, flag_active, "fraud-flag pass"):
        yield


@dataclass(frozen=True)
class Pending:
    """What still waits on people in some campaigns: what a confirmation page tells before an irreversible step."""

    quarantined: int  # flagged answers no assessor has decided on: they count in no score yet
    appeals: int  # appeals against bad ratings waiting for a decision
    open_campaigns: tuple[str, ...]  # titles of campaigns still taking answers


async def pending(campaign_ids: Sequence[int]) -> Pending:
    """Count what waits in `campaign_ids`: quarantined answers, undecided appeals, campaigns still open."""
    if not campaign_ids:
        return Pending(0, 0, ())
    ids = list(campaign_ids)
    quarantined = await Response.count().where(
        Response.campaign.is_in(ids) & (Response.status == ResponseStatus.quarantined)
    )
    appeals = await RatingCase.count().where(RatingCase.campaign.is_in(ids) & (RatingCase.appeal == "pending"))
    rows = await Campaign.select(Campaign.title).where(
        Campaign.id.is_in(ids) & (Campaign.status == CampaignStatus.open)
    )
    return Pending(quarantined, appeals, tuple(r["title"] for r in rows))
