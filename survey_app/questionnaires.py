"""Stored questionnaire versions: registering validated definitions and reading them back."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from survey_app.questionnaire_format import Questionnaire, from_json, load_directory, localise
from survey_app.settings import QUESTIONNAIRES_DIR
from survey_app.tables import QuestionnaireVersion


class QuestionnaireConflict(ValueError):
    """A definition differs from the stored one with the same slug and version."""


async def register(questionnaire: Questionnaire, *, bundled: bool = False) -> int:
    """Store a questionnaire version unless already stored; return its id.

    :raise QuestionnaireConflict: when the same slug and version is stored with other content,
        because a used version must never change (bump `version` instead).
    """
    existing = await (
        QuestionnaireVersion.select(QuestionnaireVersion.id, QuestionnaireVersion.content_hash)
        .where(QuestionnaireVersion.slug == questionnaire.slug)
        .where(QuestionnaireVersion.version == questionnaire.version)
        .first()
    )
    if existing is not None:
        if existing["content_hash"] != questionnaire.content_hash:
            raise QuestionnaireConflict(
                f"{questionnaire.slug} version {questionnaire.version} is already stored with "
                "different content; give the changed file a new version number"
            )
        return int(existing["id"])
    row = QuestionnaireVersion(
        slug=questionnaire.slug,
        version=questionnaire.version,
        title=localise(questionnaire.title, "zh"),
        definition=questionnaire.to_json().decode(),
        content_hash=questionnaire.content_hash,
        bundled=bundled,
    )
    await row.save()
    return int(row.id)


async def register_bundled(directory: Path = QUESTIONNAIRES_DIR) -> dict[str, int]:
    """Store every bundled questionnaire; return {slug: id} of the newest versions."""
    ids: dict[str, int] = {}
    for questionnaire in sorted(load_directory(directory), key=lambda q: (q.slug, q.version)):
        ids[questionnaire.slug] = await register(questionnaire, bundled=True)
    return ids


async def get(questionnaire_id: int) -> Questionnaire:
    """Return a stored questionnaire version by id."""
    row = await (
        QuestionnaireVersion.select(QuestionnaireVersion.definition)
        .where(QuestionnaireVersion.id == questionnaire_id)
        .first()
    )
    if row is None:
        raise LookupError(f"no questionnaire with id {questionnaire_id}")
    return _decode(row["definition"])


@lru_cache(maxsize=64)
def _decode(definition: str) -> Questionnaire:
    # Stored versions never change, so a decoded definition can be shared by every request.
    return from_json(definition)
