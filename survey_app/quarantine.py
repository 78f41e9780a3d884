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
  within an hour (`analysis.entries_over_rate`); ``keying_burst`` — more than 4 interviews or 15 sheets
  within ten minutes (`analysis.keying_bursts`); ``staff_shift`` — a worker's entries for a unit are
  distributed differently from that unit's residents' own answers (Mann–Whitney, Holm over the pairs,
  `analysis.channel_shift`); ``uniform_entries`` — a worker's entries vary far less than residents'
  answers (Brown–Forsythe, one-sided, Holm, `analysis.low_variance_workers`); ``serial_clone`` — sheets keyed in
  printed-number order with near-identical answers (`analysis.serial_runs`). Staff signals look only at
  entries with a worker (`entered_by`).

No signal looks at which way a rating goes (a rule that did could be used to suppress bad
ratings): mirroring every rating flags the same responses, which a test checks.

A pass only moves `counted` responses to `quarantined`, each change audited with actor "system".
It never touches a reviewed (included/excluded) or superseded response, never releases a
quarantined one (only an assessor does), and never deletes anything.

When it runs: every `flag_interval_s` (10 minutes), in one worker of all nodes, over the campaigns whose answers
can still change (open, or closed in the last 30 days: paper sheets are keyed after the close);
`minping flags CAMPAIGN` on demand; and before `minping report` prints a report. Report pages do
not run it, so a GET never writes; between passes a new answer counts until the next pass.
A pass by hand may meet the periodic one: the move is one conditional UPDATE per response, so a
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
from survey_app import audit, changes, paper_sheets, periodic
from survey_app.changes import Change, Kind
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
    "keying_burst": N_("集中录入"),
    "staff_shift": N_("录入与居民答卷不符"),
    "uniform_entries": N_("录入答卷过于一致"),
    "serial_clone": N_("连号雷同"),
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
    "keying_burst": N_("同一工作人员 10 分钟内录入过多：访谈超过 4 份，或纸质问卷超过 15 份。"),
    "staff_shift": N_("这位工作人员为该单位录入的答卷，评分分布与该单位居民自己提交的答卷明显不同（超出偶然范围）。"),
    "uniform_entries": N_("这位工作人员录入的答卷彼此差异远小于居民答卷之间的差异。"),
    "serial_clone": N_("按编号顺序录入的连续多张纸质问卷答案几乎相同。"),
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
    _staff_pattern_signals(questionnaire, rows, codes)
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


TEN_MINUTE_LIMITS = {
    Channel.interviewer: analysis.INTERVIEWS_PER_TEN_MINUTES,
    Channel.paper: analysis.SHEETS_PER_TEN_MINUTES,
}


def _staff_pattern_signals(q: Questionnaire, rows: Sequence[dict[str, Any]], codes: dict[int, list[str]]) -> None:
    """The statistical signals of staff-entered answers (see the module docstring): symmetric, per worker."""
    levels, _ = level_matrix(q, q.rating_items(), [r["answers"] for r in rows])
    with np.errstate(all="ignore"):  # a row without any rating answered: NaN, in no score-based signal
        scores = np.array([np.nanmean(row) if np.any(~np.isnan(row)) else np.nan for row in levels])
    staff = np.array([r["channel"] != Channel.qr and r["entered_by"] is not None for r in rows], dtype=bool)
    residents = np.array([r["channel"] == Channel.qr for r in rows], dtype=bool)
    considered = staff | residents
    worker = np.array([-1 if r["entered_by"] is None else r["entered_by"] for r in rows])
    unit = np.array([r["unit"] for r in rows])
    found = {
        "staff_shift": analysis.channel_shift(
            scores[considered], unit[considered], worker[considered], staff[considered]
        ).flag,
        "uniform_entries": analysis.low_variance_workers(
            scores[considered], unit[considered], worker[considered], staff[considered]
        ).flag,
    }
    ids = [r["id"] for r, keep in zip(rows, considered, strict=True) if keep]
    for code, flag in found.items():
        for row_id, flagged in zip(ids, flag, strict=True):
            if flagged:
                codes[row_id].append(code)
    for channel, limit in TEN_MINUTE_LIMITS.items():
        mine = np.flatnonzero(staff & np.array([r["channel"] == channel for r in rows], dtype=bool))
        if mine.size:
            times = np.array([rows[int(i)]["submitted_at"].timestamp() for i in mine])
            for i in mine[analysis.keying_bursts(times, worker[mine], limit)]:
                codes[rows[int(i)]["id"]].append("keying_burst")
    paper = np.flatnonzero(staff & np.array([r["channel"] == Channel.paper for r in rows], dtype=bool))
    if paper.size:
        numbers = np.array([float(rows[int(i)].get("sheet_number") or "nan") for i in paper])
        for i in paper[analysis.serial_runs(levels[paper], worker[paper], unit[paper], numbers)]:
            codes[rows[int(i)]["id"]].append("serial_clone")


async def signal_rows(campaign_id: int) -> list[dict[str, Any]]:
    """The campaign's responses the signals look at: every one but superseded revisions, paper sheets with
    their printed number."""
    rows = await (
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
    numbers = await paper_sheets.serial_numbers([r["id"] for r in rows if r["channel"] == Channel.paper])
    return [r | {"sheet_number": numbers.get(r["id"])} for r in rows]


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
        await changes.record(Kind.response, response_id, Change.status)
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
    interval = get_settings().flag_interval_s
    async with periodic.every(interval, flag_active, "fraud-flag pass", across_nodes="flag-pass"):
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
