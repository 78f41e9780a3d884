"""Assessment periods: a scheme applied to its campaigns' stored responses, sealed into snapshots.

An open period's league table is computed from the responses on every view. Closing it freezes the
scheme, the data and the result into snapshot 1 with a manifest (scheme hash, data hash, questionnaire
versions, code version, seeds); a closed period never changes again, and a correction (e.g. after an
appeal excluded responses) is a new snapshot with its reason. `verify` recomputes the latest snapshot
from the stored responses and compares it byte for byte. Every change is audited.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from typing import Any

import msgspec

from survey_app import audit, campaigns, changes, quarantine, results
from survey_app.assessment.league import FLOAT_DECIMALS, SourceData, UnitName, canonical_json, score_group
from survey_app.assessment.schemes import Group, Scheme, from_json, semantic_errors
from survey_app.cases import figures
from survey_app.changes import Change, Kind
from survey_app.db import lock_row, writing
from survey_app.i18n import N_, Refusal, pick
from survey_app.localtime import start_of
from survey_app.questionnaires import versions
from survey_app.questionnaires.format import SLUG, Text
from survey_app.tables import (
    AssessmentPeriod,
    AssessmentSnapshot,
    CampaignUnit,
    PeriodRoster,
    PeriodStatus,
    Response,
    ResponseStatus,
    Unit,
)

# Scores count these statuses only: quarantined answers wait for review, excluded and superseded never count.
SCORED_STATUSES = (ResponseStatus.counted.value, ResponseStatus.included.value)
CANONICAL_RULE = f"sorted keys, no spaces, UTF-8, floats rounded to {FLOAT_DECIMALS} decimals, NaN as null"
# The web form for a new period lives at /assessments/new, so no period may take that address.
RESERVED_SLUGS = frozenset({"new"})
TITLE_MAX = 200  # the column's length


class AssessmentError(Refusal):
    """An assessment period change was refused."""


@dataclass(frozen=True)
class Period:
    id: int
    slug: str
    title: str
    title_en: str
    scheme: Scheme
    scheme_hash: str
    sources: dict[str, str]  # questionnaire slug → campaign slug
    status: str
    created_by: str
    created_at: datetime
    closed_by: str
    closed_at: datetime | None

    def display_title(self, lang: str) -> str:
        return pick(lang, self.title, self.title_en)


@dataclass(frozen=True)
class Snapshot:
    number: int
    manifest: bytes
    result: bytes
    manifest_hash: str
    result_hash: str
    data_hash: str
    created_by: str
    created_at: datetime
    reason: str


@dataclass(frozen=True)
class Sealed:
    """What a computation produces: exactly what a snapshot stores."""

    manifest: bytes
    result: bytes
    data_hash: str


# --- Periods --------------------------------------------------------------------------------


async def create(
    slug: str, scheme: Scheme, title: str, *, actor: str, title_en: str = "", campaigns_by_slug: dict[str, str] | None
) -> Period:
    """Open a period under `scheme`, scoring for each questionnaire the campaign named in
    `campaigns_by_slug` or, when not named, the only campaign that uses it."""
    if not re.match(SLUG, slug):
        raise AssessmentError(N_("考核期代码须为 2–63 个小写字母、数字或横线，例如 assessment-2026。"))
    if slug in RESERVED_SLUGS:
        raise AssessmentError(N_("考核期代码 %(slug)s 是保留字，请换一个。"), slug=slug)
    title, title_en = _title(title), _title(title_en)
    if not title:
        raise AssessmentError(N_("请填写考核期名称。"))
    candidates = await campaigns.using_questionnaires(scheme.questionnaire_slugs())
    sources = {}
    for q_slug, rows in candidates.items():
        sources[q_slug] = _campaign_for(q_slug, rows, (campaigns_by_slug or {}).get(q_slug))
    await _check_against_campaigns(scheme, sources)
    row = AssessmentPeriod(
        slug=slug,
        title=title,
        title_en=title_en,
        scheme=scheme.to_json().decode(),
        scheme_hash=scheme.content_hash,
        sources=canonical_json(sources).decode(),
        status=PeriodStatus.open,
        created_by=actor,
    )
    async with writing():
        if await AssessmentPeriod.exists().where(AssessmentPeriod.slug == slug):
            raise AssessmentError(N_("考核期 %(slug)s 已存在。"), slug=slug)
        await row.save()
        frozen = await _freeze_roster(int(row.id), sources)
        after = _audit_view(row) | {"roster": frozen}
        await audit.record(actor, "assessment.create", "assessment_period", slug, after=after)
    period = await get(slug)
    assert period is not None
    return period


async def _freeze_roster(period_id: int, sources: dict[str, str]) -> int:
    """Snapshot the kind, parent and population of every unit the period's campaigns cover (in the
    transaction that opens the period); return how many. Later unit edits apply to later periods only."""
    campaign_ids = [c.id for c in [await campaigns.by_slug(s) for s in sources.values()] if c is not None]
    covered = await CampaignUnit.select(CampaignUnit.unit).where(CampaignUnit.campaign.is_in(campaign_ids))
    ids = sorted({r["unit"] for r in covered})
    if not ids:
        return 0
    rows = await Unit.select(Unit.id, Unit.kind, Unit.parent, Unit.population).where(Unit.id.is_in(ids))
    await PeriodRoster.insert(
        *(
            PeriodRoster(period=period_id, unit=r["id"], kind=r["kind"], parent=r["parent"], population=r["population"])
            for r in rows
        )
    )
    return len(rows)


def _title(text: str) -> str:
    """A title as stored: trimmed; refused when too long for the column or holding control characters."""
    text = text.strip()
    if len(text) > TITLE_MAX or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise AssessmentError(N_("名称不能超过 %(n)s 个字，也不能含控制字符。"), n=TITLE_MAX)
    return text


def _campaign_for(q_slug: str, rows: list[campaigns.CampaignInfo], chosen: str | None) -> str:
    if chosen is not None:
        if not any(c.slug == chosen for c in rows):
            raise AssessmentError(N_("测评活动 %(campaign)s 不存在或不使用问卷 %(q)s。"), campaign=chosen, q=q_slug)
        return chosen
    if not rows:
        raise AssessmentError(N_("还没有使用问卷 %(q)s 的测评活动，请先创建一个。"), q=q_slug)
    if len(rows) != 1:
        names = ", ".join(c.slug for c in rows)
        raise AssessmentError(N_("问卷 %(q)s 需要指定一个测评活动（现有：%(names)s）。"), q=q_slug, names=names)
    return rows[0].slug


async def _check_against_campaigns(scheme: Scheme, sources: dict[str, str]) -> None:
    """The scheme was checked against the bundled questionnaires; check it against the stored versions used."""
    used = {}
    for q_slug, c_slug in sources.items():
        campaign = await campaigns.by_slug(c_slug)
        assert campaign is not None
        used[q_slug] = await versions.get(campaign.questionnaire_id)
    errors = semantic_errors(scheme, used)
    if errors:
        detail = f"{scheme.slug}: {errors[0]}"
        raise AssessmentError(N_("所选测评活动的问卷版本不符合考核方案：%(detail)s"), detail=detail)


async def get(slug: str) -> Period | None:
    row = await AssessmentPeriod.select().where(AssessmentPeriod.slug == slug).first()
    return None if row is None else _period(row)


async def listing() -> list[tuple[Period, int]]:
    """Every period, newest first, with its number of snapshots."""
    rows = await AssessmentPeriod.select().order_by(AssessmentPeriod.id, ascending=False)
    counts: dict[int, int] = {}
    for r in await AssessmentSnapshot.select(AssessmentSnapshot.period, AssessmentSnapshot.number):
        counts[r["period"]] = max(counts.get(r["period"], 0), r["number"])
    return [(_period(r), counts.get(r["id"], 0)) for r in rows]


def _period(row: dict[str, Any]) -> Period:
    return Period(
        id=row["id"],
        slug=row["slug"],
        title=row["title"],
        title_en=row["title_en"],
        scheme=from_json(row["scheme"]),
        scheme_hash=row["scheme_hash"],
        sources=json.loads(row["sources"]),
        status=row["status"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        closed_by=row["closed_by"],
        closed_at=row["closed_at"],
    )


def _audit_view(row: AssessmentPeriod) -> dict[str, Any]:
    return {"slug": row.slug, "title": row.title, "scheme_hash": row.scheme_hash, "sources": row.sources}


# --- Computing, sealing, verifying ------------------------------------------------------------


async def compute(period: Period, as_of: datetime | None = None) -> Sealed:
    """The period's manifest and result from the responses stored now, and the bad-rating cases as they
    stood at `as_of` (default now; a snapshot records it, so `verify` judges the cases at the same moment)."""
    sealed, _changes_at = await _evaluate(period, as_of or datetime.now(UTC), seal=True)
    return sealed


class _DataHash:
    """The hash of what a period read, line by line in canonical JSON; off, it costs nothing (the league
    page needs the result only, and encoding every response again was a third of its time)."""

    def __init__(self, on: bool) -> None:
        self.digest = hashlib.sha256() if on else None

    def add(self, value: Any) -> None:
        if self.digest is not None:
            self.digest.update(canonical_json(value) + b"\n")

    def hexdigest(self) -> str:
        return "" if self.digest is None else self.digest.hexdigest()


async def _evaluate(period: Period, as_of: datetime, *, seal: bool) -> tuple[Sealed, datetime | None]:
    """What `compute` returns, the data hash left empty unless `seal`; and the first moment after `as_of`
    at which the result may change with no data changing (an open case's deadline passing), if any."""
    digest = _DataHash(seal)
    changes_at: datetime | None = None
    counted_cases = 0
    groups = []
    used_versions = []
    responses = 0
    units_seen: dict[str, UnitName] = {}
    loaded = {}
    for q_slug, c_slug in period.sources.items():
        campaign = await campaigns.by_slug(c_slug)
        if campaign is None:
            raise AssessmentError(N_("测评活动 %(campaign)s 不存在。"), campaign=c_slug)
        q = await versions.get(campaign.questionnaire_id)
        rows = await (
            Response.select(Response.id, Response.unit.code.as_alias("unit"), Response.answers, Response.channel)
            .where(Response.campaign == campaign.id, Response.status.is_in(list(SCORED_STATUSES)))
            .order_by(Response.id)
        )
        for r in rows:  # msgspec decodes the same values as Piccolo's json.loads, in a quarter of the time
            r["answers"] = _decode_answers(r["answers"])
        used_versions.append(
            {"questionnaire": q.slug, "version": q.version, "sha256": q.content_hash, "campaign": c_slug}
        )
        digest.add({"campaign": c_slug, "questionnaire": q.content_hash})
        if seal:
            by_channel = period.scheme.channels is not None  # the channel decides only under channel rules
            for r in rows:
                digest.add([r["id"], r["unit"], r["answers"]] + ([r["channel"]] if by_channel else []))
        responses += len(rows)
        loaded[q_slug] = (campaign.id, q, rows)
    for group in period.scheme.groups:
        campaign_ids = [loaded[s.questionnaire][0] for s in group.sources]
        units = await _units_of(period.id, campaign_ids, group.kind)
        units_seen |= {u.code: u for u in units}
        sources = [
            SourceData(
                s,
                loaded[s.questionnaire][1],
                [r["unit"] for r in loaded[s.questionnaire][2]],
                [r["answers"] for r in loaded[s.questionnaire][2]],
                [r["channel"] for r in loaded[s.questionnaire][2]],
            )
            for s in group.sources
        ]
        unit_figures = None
        if group.case_handling is not None:
            ids = await _unit_ids([u.code for u in units])
            case_rows = await _cases_of(group, list(ids.values()), campaign_ids, as_of)
            digest.add({"cases": group.kind, "as_of": _iso(as_of)})
            for case in case_rows:
                digest.add(case.sealed())
            counted_cases += len(case_rows)
            by_id = figures.tally(case_rows, list(ids.values()), as_of)
            unit_figures = {code: by_id[unit_id] for code, unit_id in ids.items()}
            deadlines = [c.close_due for c in case_rows if not c.handled and c.close_due > as_of]
            changes_at = min([*deadlines, *([changes_at] if changes_at else [])], default=None)
        groups.append(score_group(period.scheme, group, units, sources, unit_figures))
    for code in sorted(units_seen):  # names are part of what is sealed: a rename shows as changed data
        u = units_seen[code]
        digest.add([u.code, u.name, u.name_en])
    data_hash = digest.hexdigest()
    result = canonical_json({"period": period.slug, "scheme": period.scheme.slug, "groups": groups})
    cases = {}
    if any(g.case_handling for g in period.scheme.groups):  # schemes without case figures keep their manifest
        cases = {"cases": {"as_of": _iso(as_of), "counted": counted_cases}}
    manifest = canonical_json(
        cases
        | {
            "period": period.slug,
            "scheme": {
                "slug": period.scheme.slug,
                "version": period.scheme.version,
                "sha256": period.scheme_hash,
            },
            "data": {"sha256": data_hash, "responses": responses, "statuses": list(SCORED_STATUSES)},
            "questionnaires": used_versions,
            "code": code_version(),
            "seeds": {"rank_intervals": period.scheme.rank_seed},
            "canonical_json": CANONICAL_RULE,
            "result_sha256": hashlib.sha256(result).hexdigest(),
        }
    )
    return Sealed(manifest, result, data_hash), changes_at


_json = msgspec.json.Decoder()


def _decode_answers(stored: Any) -> Any:
    """A response's answers from their stored JSON text (what `output(load_json=True)` gives, faster)."""
    return _json.decode(stored) if isinstance(stored, str | bytes) else stored


def code_version() -> dict[str, str]:
    """The versions whose arithmetic produced a result."""
    return {
        "minping": version("minping"),
        "numpy": version("numpy"),
        "scipy": version("scipy"),
        "python": platform.python_version(),
    }


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


async def _cases_of(
    group: Group, unit_ids: list[int], campaign_ids: list[int], as_of: datetime
) -> list[figures.CaseAsOf]:
    """The group's counted cases as they stood at `as_of`: opened on the scheme's days (city time), or,
    without them, opened from the ratings of the group's campaigns."""
    assert group.case_handling is not None
    ids = unit_ids
    window = group.case_handling.period
    if window is None:
        return await figures.rows_as_of(ids, datetime(2000, 1, 1, tzinfo=UTC), as_of, as_of, campaign_ids)
    start = start_of(window.start)
    end = start_of(window.end + timedelta(days=1))
    return await figures.rows_as_of(ids, start, end, as_of)


async def _unit_ids(codes: list[str]) -> dict[str, int]:
    """Unit code → id, in the order of `codes`."""
    rows = await Unit.select(Unit.id, Unit.code).where(Unit.code.is_in(codes)) if codes else []
    found = {r["code"]: r["id"] for r in rows}
    return {code: found[code] for code in codes}


async def _units_of(period_id: int, campaign_ids: list[int], kind: str) -> list[UnitName]:
    """The group's units: the campaigns' units whose kind on the period's roster (frozen at opening) is `kind`."""
    covered = await CampaignUnit.select(CampaignUnit.unit).where(CampaignUnit.campaign.is_in(campaign_ids))
    ids = list({r["unit"] for r in covered})
    if not ids:
        return []
    rows = await (
        PeriodRoster.select(
            PeriodRoster.unit.code.as_alias("code"),
            PeriodRoster.unit.name.as_alias("name"),
            PeriodRoster.unit.name_en.as_alias("name_en"),
        )
        .where((PeriodRoster.period == period_id) & (PeriodRoster.kind == kind) & PeriodRoster.unit.is_in(ids))
        .order_by(PeriodRoster.unit.code)
    )
    return [UnitName(**r) for r in rows]


async def close(period: Period, actor: str) -> Snapshot:
    """Seal the period: snapshot 1 of the scheme, data and result; the period never changes again."""
    async with writing():
        await lock_row(AssessmentPeriod, period.id)  # a second admin sealing at the same moment waits, then is told
        row = await AssessmentPeriod.select(AssessmentPeriod.status).where(AssessmentPeriod.id == period.id).first()
        if row is None or row["status"] != PeriodStatus.open:
            raise AssessmentError(N_("考核期 %(slug)s 已封存，不能再关闭；更正请新建快照。"), slug=period.slug)
        now = datetime.now(UTC)
        sealed = await compute(period, now)
        await AssessmentPeriod.update(
            {
                AssessmentPeriod.status: PeriodStatus.closed,
                AssessmentPeriod.closed_by: actor,
                AssessmentPeriod.closed_at: now,
            }
        ).where(AssessmentPeriod.id == period.id)
        await changes.record(Kind.period, period.id, Change.status)  # sealed: the `period.sealed` webhook
        return await _store(period, 1, sealed, actor, "", "assessment.close")


async def correct(period: Period, actor: str, reason: str) -> Snapshot:
    """A new snapshot of a closed period, recomputed from the responses stored now, with its reason."""
    reason = reason.strip()
    if not reason:
        raise AssessmentError(N_("更正必须写明原因。"))
    async with writing():
        await lock_row(AssessmentPeriod, period.id)  # simultaneous corrections get numbers one after the other
        row = await AssessmentPeriod.select(AssessmentPeriod.status).where(AssessmentPeriod.id == period.id).first()
        if row is None or row["status"] != PeriodStatus.closed:
            raise AssessmentError(N_("考核期 %(slug)s 尚未封存：开放中的考核期无需更正。"), slug=period.slug)
        latest = await latest_snapshot(period)
        number = (latest.number if latest else 0) + 1
        sealed = await compute(period, datetime.now(UTC))
        return await _store(period, number, sealed, actor, reason, "assessment.correct")


async def _store(period: Period, number: int, sealed: Sealed, actor: str, reason: str, action: str) -> Snapshot:
    row = AssessmentSnapshot(
        period=period.id,
        number=number,
        manifest=sealed.manifest.decode(),
        result=sealed.result.decode(),
        manifest_hash=hashlib.sha256(sealed.manifest).hexdigest(),
        result_hash=hashlib.sha256(sealed.result).hexdigest(),
        data_hash=sealed.data_hash,
        created_by=actor,
        reason=reason,
    )
    await row.save()
    after = {
        "number": number,
        "manifest_sha256": row.manifest_hash,
        "result_sha256": row.result_hash,
        "data_sha256": row.data_hash,
        "reason": reason,
    }
    await audit.record(actor, action, "assessment_period", period.slug, after=after)
    snapshot = await latest_snapshot(period)
    assert snapshot is not None
    return snapshot


async def latest_snapshot(period: Period) -> Snapshot | None:
    row = await (
        AssessmentSnapshot.select()
        .where(AssessmentSnapshot.period == period.id)
        .order_by(AssessmentSnapshot.number, ascending=False)
        .first()
    )
    if row is None:
        return None
    return Snapshot(
        number=row["number"],
        manifest=row["manifest"].encode(),
        result=row["result"].encode(),
        manifest_hash=row["manifest_hash"],
        result_hash=row["result_hash"],
        data_hash=row["data_hash"],
        created_by=row["created_by"],
        created_at=row["created_at"],
        reason=row["reason"],
    )


@dataclass(frozen=True)
class Verification:
    snapshot: int
    differences: list[str]  # empty when everything matches
    note: str = ""  # e.g. a newer code version that reproduced the same bytes

    @property
    def ok(self) -> bool:
        return not self.differences


async def verify(period: Period) -> Verification:
    """Recompute the latest snapshot from the stored responses; list what no longer matches."""
    snapshot = await latest_snapshot(period)
    if snapshot is None:
        raise AssessmentError(N_("考核期 %(slug)s 尚未封存，没有可核验的快照。"), slug=period.slug)
    stored = json.loads(snapshot.manifest)
    # Cases are judged as they stood when the snapshot was taken (cases that moved on since do not count).
    as_of = datetime.fromisoformat(stored["cases"]["as_of"]) if "cases" in stored else None
    now = await compute(period, as_of)
    fresh = json.loads(now.manifest)
    differences = []
    if hashlib.sha256(snapshot.manifest).hexdigest() != snapshot.manifest_hash:
        differences.append("stored manifest does not match its hash")
    if hashlib.sha256(snapshot.result).hexdigest() != snapshot.result_hash:
        differences.append("stored result does not match its hash")
    if now.data_hash != snapshot.data_hash:
        differences.append(
            f"data hash differs (sealed {snapshot.data_hash[:12]}…, now {now.data_hash[:12]}…; "
            f"{stored['data']['responses']} responses sealed, {fresh['data']['responses']} now"
            + (f"; {stored['cases']['counted']} cases sealed, {fresh['cases']['counted']} now" if as_of else "")
            + ")"
        )
    if stored["questionnaires"] != fresh["questionnaires"]:
        differences.append("questionnaire versions differ")
    if now.result != snapshot.result:
        changed = _changed_units(json.loads(snapshot.result), json.loads(now.result))
        differences.append(f"result differs ({changed})")
    note = ""
    if stored["code"] != fresh["code"]:
        # Not a difference by itself: newer code reproducing the same bytes is what verification is for.
        note = f"code version differs (sealed {_versions(stored['code'])}, now {_versions(fresh['code'])})"
        if differences:
            differences.append(note)
    elif not differences and now.manifest != snapshot.manifest:
        differences.append("manifest differs")
    return Verification(snapshot.number, differences, note)


def _versions(code: dict[str, str]) -> str:
    return " ".join(f"{k} {v}" for k, v in sorted(code.items()))


def _changed_units(old: dict[str, Any], new: dict[str, Any]) -> str:
    before = {u["code"]: u for g in old["groups"] for u in g["units"]}
    after = {u["code"]: u for g in new["groups"] for u in g["units"]}
    changed = sorted(c for c in before.keys() | after.keys() if before.get(c) != after.get(c))
    if not changed:
        return "outside the unit rows"
    shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
    return f"units {shown}"


async def league(period: Period) -> tuple[dict[str, Any], Snapshot | None]:
    """The period's league tables: the latest snapshot of a closed period, computed for an open one
    (kept while its campaigns' data is unchanged, survey_app/results.py; no data hash: only sealing
    and verifying need one)."""
    snapshot = await latest_snapshot(period)
    if snapshot is not None:
        return json.loads(snapshot.result), snapshot
    return json.loads(await live_result(period)), None


async def live_result(period: Period) -> bytes:
    """The result `compute` gives now (the same bytes), from the cache while nothing it reads changed."""
    found = [await campaigns.by_slug(slug) for slug in period.sources.values()]
    campaign_ids = [c.id for c in found if c is not None]
    everything = any(g.case_handling for g in period.scheme.groups)  # cases of a window: any campaign's
    read = await results.versions(campaign_ids, everything=everything)
    key = ("league", period.id, period.scheme_hash, tuple(sorted(period.sources.items())), tuple(campaign_ids), read)

    async def evaluate() -> results.Expiring:
        sealed, changes_at = await _evaluate(period, datetime.now(UTC), seal=False)
        return results.Expiring(sealed.result, changes_at)

    result: bytes = await results.cached(key, evaluate)
    return result


async def margin_cells(period: Period) -> dict[str, dict[str, list[Text]]]:
    """Each weighting margin's cells (share keys) in questionnaire option order, with the labels of their
    options, from the first of the period's questionnaires that asks it: what the report names."""
    weighting = period.scheme.weighting
    cells: dict[str, dict[str, list[Text]]] = {}
    if weighting is None:
        return cells
    for c_slug in period.sources.values():
        campaign = await campaigns.by_slug(c_slug)
        items = (await versions.get(campaign.questionnaire_id)).items if campaign else []
        for item in items:
            margin = item.demographic
            if margin is not None and margin in weighting.margins and margin not in cells:
                cell_of = weighting.cell_of(margin)
                cells[margin] = {}
                for option in item.options or []:
                    cells[margin].setdefault(cell_of[option.value], []).append(option.label)
    return cells


async def unit_codes(ids: AbstractSet[int] | None) -> set[str] | None:
    """Codes of the units with these ids (None = every unit)."""
    if ids is None:
        return None
    rows = await Unit.select(Unit.code).where(Unit.id.is_in(list(ids))) if ids else []
    return {r["code"] for r in rows}


def restrict(result: dict[str, Any], visible_codes: set[str] | None) -> dict[str, Any] | None:
    """The league tables limited to the rows a staff member may see (ranks stay those among all units);
    None when no row is left."""
    if visible_codes is None:
        return result
    groups = []
    for group in result["groups"]:
        rows = [u for u in group["units"] if u["code"] in visible_codes]
        if rows:
            groups.append({**group, "units": rows})
    return {**result, "groups": groups} if groups else None


async def pending(period: Period) -> quarantine.Pending:
    """What still waits in the period's campaigns: what sealing would freeze out of its scores."""
    ids = [c.id for c in [await campaigns.by_slug(slug) for slug in period.sources.values()] if c is not None]
    return await quarantine.pending(ids)
