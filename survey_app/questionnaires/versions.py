"""Stored questionnaire versions: registering validated definitions and reading them back."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from survey_app import audit
from survey_app.db import writing
from survey_app.questionnaires.format import (
    SCALES_FILE,
    Questionnaire,
    QuestionnaireError,
    from_json,
    load_directory,
    load_scale_library,
    localise,
    parse,
)
from survey_app.settings import QUESTIONNAIRES_DIR
from survey_app.tables import Campaign, CampaignUnit, QuestionnaireVersion


class QuestionnaireConflict(ValueError):
    """A definition differs from the stored one with the same slug and version."""


async def register(questionnaire: Questionnaire, *, bundled: bool = False) -> int:
    """Store a questionnaire version unless already stored; return its id.

    The unique index on (slug, version) decides between processes storing the same version at
    once (several workers starting together), not the look-up before the insert.

    :raise QuestionnaireConflict: when the same slug and version is stored with other content,
        because a used version must never change (bump `version` instead).
    """
    existing = await _stored(questionnaire)
    if existing is None:
        row = QuestionnaireVersion(
            slug=questionnaire.slug,
            version=questionnaire.version,
            title=localise(questionnaire.title, "zh"),
            definition=questionnaire.to_json().decode(),
            content_hash=questionnaire.content_hash,
            bundled=bundled,
        )
        try:
            async with writing():
                await row.save()
            return int(row.id)
        except Exception:  # the engines raise different unique-violation types
            existing = await _stored(questionnaire)
            if existing is None:
                raise
    if existing["content_hash"] != questionnaire.content_hash:
        raise QuestionnaireConflict(
            f"{questionnaire.slug} version {questionnaire.version} is already stored with "
            "different content; give the changed file a new version number"
        )
    return int(existing["id"])


async def _stored(questionnaire: Questionnaire) -> dict[str, Any] | None:
    return await (
        QuestionnaireVersion.select(QuestionnaireVersion.id, QuestionnaireVersion.content_hash)
        .where(QuestionnaireVersion.slug == questionnaire.slug)
        .where(QuestionnaireVersion.version == questionnaire.version)
        .first()
    )


async def register_bundled(directory: Path = QUESTIONNAIRES_DIR) -> dict[str, int]:
    """Store every bundled questionnaire; return {slug: id} of the newest versions."""
    ids: dict[str, int] = {}
    for questionnaire in sorted(load_directory(directory), key=lambda q: (q.slug, q.version)):
        ids[questionnaire.slug] = await register(questionnaire, bundled=True)
    return ids


# Stored versions are never changed or deleted, so each process keeps the ones it has read: the
# resident's form and every submission need their questionnaire, and this spares a query each time.
_by_id: dict[int, Questionnaire] = {}


async def get(questionnaire_id: int) -> Questionnaire:
    """Return a stored questionnaire version by id."""
    if questionnaire_id not in _by_id:
        row = await (
            QuestionnaireVersion.select(QuestionnaireVersion.definition)
            .where(QuestionnaireVersion.id == questionnaire_id)
            .first()
        )
        if row is None:
            raise LookupError(f"no questionnaire with id {questionnaire_id}")
        _by_id[questionnaire_id] = _decode(row["definition"])
    return _by_id[questionnaire_id]


# A campaign's questionnaire is fixed when the campaign is created, so this is remembered too.
_version_of_campaign: dict[int, int] = {}


async def of_campaign(campaign_id: int) -> Questionnaire:
    """Return the questionnaire version a campaign runs."""
    if campaign_id not in _version_of_campaign:
        row = await Campaign.select(Campaign.questionnaire).where(Campaign.id == campaign_id).first()
        if row is None:
            raise LookupError(f"no campaign with id {campaign_id}")
        _version_of_campaign[campaign_id] = int(row["questionnaire"])
    return await get(_version_of_campaign[campaign_id])


def forget_cached() -> None:
    """Drop what `get` and `of_campaign` remember; only for tests, which delete rows that production never deletes."""
    _by_id.clear()
    _version_of_campaign.clear()


@lru_cache(maxsize=64)
def _decode(definition: str) -> Questionnaire:
    # Stored versions never change, so a decoded definition can be shared by every request.
    return from_json(definition)


# --- Back office: the catalogue, previews and uploads ----------------------------------------

# The largest bundled file is 12 KB; 256 KB leaves room for long texts and stays quick to parse.
MAX_UPLOAD_BYTES = 256 * 1024


@dataclass(frozen=True)
class CampaignUse:
    slug: str
    title: str
    status: str


@dataclass(frozen=True)
class VersionInfo:
    """A questionnaire version as the catalogue lists it."""

    slug: str
    version: int
    title: str
    bundled: bool  # shipped in questionnaires/ (otherwise uploaded)
    stored: bool  # in the database, so a campaign can use it
    created_at: datetime | None
    campaigns: list[CampaignUse]


async def catalogue(visible: AbstractSet[int] | None) -> list[VersionInfo]:
    """Stored versions and bundled files not stored yet, by slug then newest version, each with the
    campaigns using it; a member limited to a subtree sees only campaigns covering one of their units."""
    rows = await QuestionnaireVersion.select(
        QuestionnaireVersion.id,
        QuestionnaireVersion.slug,
        QuestionnaireVersion.version,
        QuestionnaireVersion.title,
        QuestionnaireVersion.bundled,
        QuestionnaireVersion.created_at,
    )
    uses: dict[int, list[CampaignUse]] = {}
    for c in await _campaigns_seen(visible):
        uses.setdefault(c["questionnaire"], []).append(CampaignUse(c["slug"], c["title"], c["status"]))
    found = {
        (r["slug"], r["version"]): VersionInfo(
            r["slug"], r["version"], r["title"], r["bundled"], True, r["created_at"], uses.get(r["id"], [])
        )
        for r in rows
    }
    for q in _bundled():
        if (q.slug, q.version) not in found:
            found[(q.slug, q.version)] = VersionInfo(q.slug, q.version, localise(q.title, "zh"), True, False, None, [])
    return sorted(found.values(), key=lambda v: (v.slug, -v.version))


async def _campaigns_seen(visible: AbstractSet[int] | None) -> list[dict[str, Any]]:
    query = Campaign.select(Campaign.slug, Campaign.title, Campaign.status, Campaign.questionnaire).order_by(
        Campaign.slug
    )
    if visible is not None:
        covering = CampaignUnit.select(CampaignUnit.campaign).where(CampaignUnit.unit.is_in(list(visible) or [-1]))
        query = query.where(Campaign.id.is_in(covering))
    return await query


async def stored_id(slug: str, version: int | None = None) -> int | None:
    """The id of a stored version of `slug` (the latest when `version` is None), or None."""
    query = QuestionnaireVersion.select(QuestionnaireVersion.id).where(QuestionnaireVersion.slug == slug)
    if version is not None:
        query = query.where(QuestionnaireVersion.version == version)
    row = await query.order_by(QuestionnaireVersion.version, ascending=False).first()
    return None if row is None else int(row["id"])


async def find(slug: str, version: int) -> Questionnaire | None:
    """A stored version, or a bundled file not stored yet, or None."""
    row = await (
        QuestionnaireVersion.select(QuestionnaireVersion.definition)
        .where((QuestionnaireVersion.slug == slug) & (QuestionnaireVersion.version == version))
        .first()
    )
    if row is not None:
        return _decode(row["definition"])
    return next((q for q in _bundled() if q.slug == slug and q.version == version), None)


async def upload(source: bytes, filename: str, actor: str) -> tuple[Questionnaire, bool]:
    """Validate and store an uploaded questionnaire file; return it and whether it was new.

    :raise QuestionnaireError: `file: path.to.field: message` when the file is invalid, too large,
        or its slug and version are already taken by other content (stored or bundled).
    """
    name = Path(filename or "upload.yaml").name
    if len(source) > MAX_UPLOAD_BYTES:
        raise QuestionnaireError(f"{name}: the file is larger than {MAX_UPLOAD_BYTES // 1024} KB")
    library = load_scale_library(QUESTIONNAIRES_DIR / SCALES_FILE)
    questionnaire = parse(source, name=name, library=library)
    for bundled in _bundled():
        same_version = (bundled.slug, bundled.version) == (questionnaire.slug, questionnaire.version)
        if same_version and bundled.content_hash != questionnaire.content_hash:
            raise QuestionnaireError(
                f"{name}: version: {questionnaire.slug} version {questionnaire.version} is a bundled questionnaire "
                "with different content; give the changed file a new version number"
            )
    async with writing():
        stored = await (
            QuestionnaireVersion.select(QuestionnaireVersion.id)
            .where(QuestionnaireVersion.slug == questionnaire.slug)
            .where(QuestionnaireVersion.version == questionnaire.version)
            .first()
        )
        try:
            questionnaire_id = await register(questionnaire)
        except QuestionnaireConflict as exc:
            raise QuestionnaireError(f"{name}: version: {exc}") from None
        if stored is not None:
            return questionnaire, False
        after = {
            "slug": questionnaire.slug,
            "version": questionnaire.version,
            "title": localise(questionnaire.title, "zh"),
            "content_hash": questionnaire.content_hash,
            "file": name,
        }
        await audit.record(actor, "questionnaire.upload", "questionnaire", questionnaire_id, after=after)
    return questionnaire, True


def _bundled() -> list[Questionnaire]:
    return _bundled_in(QUESTIONNAIRES_DIR, _directory_stamp(QUESTIONNAIRES_DIR))


def _directory_stamp(directory: Path) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in directory.glob("*.yaml")))


@lru_cache(maxsize=2)
def _bundled_in(directory: Path, stamp: tuple[tuple[str, int], ...]) -> list[Questionnaire]:
    # Parsed again only when a file in the folder changes (`stamp`), e.g. after a deployment.
    return load_directory(directory)
