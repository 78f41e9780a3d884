"""The assessment scheme file format: frozen structures, loading, and validation with precise messages.

A scheme (`schemes/*.yaml`, documented in `schemes/README.md`) says how residents' scores become a
unit's points and grade in the annual assessment: which questionnaires and dimensions feed which
unit kinds with what weights, the minimum n, the points rule, the grade bands and the review zone.
It is validated once, when loaded, and every error reads `file: path.to.field: message`, like a
questionnaire's (the helpers are in survey_app/datafiles.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import msgspec

from survey_app.datafiles import duplicates, msgspec_message, read_yaml
from survey_app.questionnaires.format import (
    DEMOGRAPHICS,
    ITEM_ID,
    SLUG,
    Questionnaire,
    Text,
)
from survey_app.questionnaires.format import load_directory as load_questionnaires
from survey_app.tables import UnitKind

UNIT_KINDS = tuple(k.value for k in UnitKind)
POINT_METHODS = ("linear", "thresholds", "rank")
CASE_MEASURES = ("callback_rate", "on_time_rate", "rectified_rate")
# Both margins below are the cut-offs analysis.md A.5 recommends; a scheme may ask for more, never less.
LOWEST_MIN_N = 10
Percent = Annotated[float, msgspec.Meta(ge=0, le=100)]


class Source(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One campaign's questionnaire feeding a unit kind's score, with its weight.

    `dimensions` (dimension id → weight) picks and weights dimensions; without it the
    questionnaire's own overall index (its own dimension weights) is used.
    """

    questionnaire: Annotated[str, msgspec.Meta(pattern=SLUG)]
    weight: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    dimensions: dict[Annotated[str, msgspec.Meta(pattern=ITEM_ID)], Annotated[float, msgspec.Meta(gt=0)]] | None = None


class CaseWindow(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Cases opened on the days start..end (both included, China time)."""

    start: date
    end: date


class CaseHandling(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A bad-rating case rate (×100) as a component of the score, with this share of the weight.

    Without `period`, the cases counted are those of the group's campaigns' ratings, opened up to
    the sealing time. A unit with no case to judge leaves the component out (see schemes/README.md).
    """

    weight: Annotated[float, msgspec.Meta(gt=0, lt=1)]
    measure: Literal["callback_rate", "on_time_rate", "rectified_rate"]
    period: CaseWindow | None = None


class Group(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """The units of one kind, ranked against each other, and the sources of their score.

    omit_defaults: a group without `case_handling` encodes (and hashes) as it did before the field existed.
    """

    kind: Literal["city", "district", "street", "community", "department"]
    title: Text
    sources: Annotated[list[Source], msgspec.Meta(min_length=1)]
    case_handling: CaseHandling | None = None


class Linear(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="method", tag="linear"):
    """points = max × score / 100."""

    max: Annotated[float, msgspec.Meta(gt=0)] = 100.0


class Step(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    min: Percent
    points: Annotated[float, msgspec.Meta(ge=0)]


class Thresholds(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="method", tag="thresholds"):
    """points of the first step whose `min` the score reaches (steps best first, the last at 0)."""

    steps: Annotated[list[Step], msgspec.Meta(min_length=1)]


class ByRank(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="method", tag="rank"):
    """points = max × (1 − (rank − 1)/(N − 1) × spread): first gets max, last max × (1 − spread)."""

    max: Annotated[float, msgspec.Meta(gt=0)] = 100.0
    spread: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.4


class Band(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A grade for scores in [min, the next better band's min)."""

    label: Text
    min: Percent


# A share's key may join several options into one cell, so a scheme can weight by coarser groups.
CELL_JOIN = "+"
# Census shares are printed rounded: they may miss 1 by this much, and are then normalised.
SHARE_SUM_TOLERANCE = 0.01


class Weighting(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """Every unit's respondents raked to one population's margins (direct standardisation).

    `margins`: demographic (as questionnaire items are marked) → {option value: population share},
    every option of that item listed, shares summing to 1. `basis` says where the shares come from
    (shown in the methodology). `max_weight`: weights above this × the mean are trimmed.
    """

    margins: Annotated[dict[str, dict[str, float]], msgspec.Meta(min_length=1)]
    basis: Text
    max_weight: Annotated[float, msgspec.Meta(gt=1)] | None = None

    def cell_of(self, margin: str) -> dict[str, str]:
        """Option value → the share key holding it: "18-29+30-44" shares one cell between two options."""
        return {option: key for key in self.margins[margin] for option in key.split(CELL_JOIN)}


CHANNELS = ("qr", "interviewer", "paper", "import")  # tables.Channel's values
STAFF_CHANNELS = ("interviewer", "paper", "import")  # entered by staff, not by the resident


class StaffChannels(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Which channels' answers count in the score, and at most what share of a unit's counted answers (per
    source) may come from staff channels; answers over the share are left out, the latest first."""

    counted: Annotated[tuple[Literal["qr", "interviewer", "paper", "import"], ...], msgspec.Meta(min_length=1)]
    max_staff_share: Annotated[float, msgspec.Meta(ge=0, le=1)] = 1.0


class Scheme(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A validated assessment scheme.

    `channels` is None in schemes written before it existed: every channel counts, no share limit, and the
    league rows carry no channel mix, so periods sealed under them verify as they did.
    """

    slug: Annotated[str, msgspec.Meta(pattern=SLUG)]
    version: Annotated[int, msgspec.Meta(ge=1)]
    title: Text
    groups: Annotated[list[Group], msgspec.Meta(min_length=1)]
    points: Linear | Thresholds | ByRank
    grades: Annotated[list[Band], msgspec.Meta(min_length=2)]
    description: Text | None = None
    min_n: Annotated[int, msgspec.Meta(ge=LOWEST_MIN_N)] = 30
    small_n: Annotated[int, msgspec.Meta(ge=LOWEST_MIN_N)] = 60
    confidence: Annotated[float, msgspec.Meta(gt=0.5, lt=1)] = 0.95
    rank_by: Literal["shrunken", "score"] = "shrunken"
    rank_level: Annotated[float, msgspec.Meta(gt=0.5, lt=1)] = 0.90
    rank_seed: Annotated[int, msgspec.Meta(ge=0)] = 20261124
    weighting: Weighting | None = None
    channels: StaffChannels | None = None

    def to_json(self) -> bytes:
        """Canonical JSON: what a period stores and the input of `content_hash`."""
        return msgspec.json.encode(self, order="sorted")

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.to_json()).hexdigest()

    def questionnaire_slugs(self) -> list[str]:
        """Every questionnaire the scheme reads, in first-use order."""
        return list(dict.fromkeys(s.questionnaire for g in self.groups for s in g.sources))


class SchemeError(ValueError):
    """A scheme file is invalid; the message reads `file: path.to.field: message`."""


_ENUMS = {"kind": UNIT_KINDS, "rank_by": ("shrunken", "score"), "measure": CASE_MEASURES, "counted": CHANNELS}


def load_file(path: Path, questionnaires: Mapping[str, Questionnaire] | None = None) -> Scheme:
    """Load and validate one scheme file against the questionnaires it names.

    :param questionnaires: by slug; defaults to the bundled questionnaires.
    :raise SchemeError: on any structural or semantic error.
    """
    scheme = parse(path.read_bytes(), name=path.name, questionnaires=questionnaires)
    if scheme.slug != path.stem:
        raise SchemeError(f"{path.name}: slug: must match the file name ({path.stem!r})")
    return scheme


def parse(source: bytes | str, *, name: str, questionnaires: Mapping[str, Questionnaire] | None = None) -> Scheme:
    """Validate scheme source text (YAML or JSON); `name` prefixes every error message."""
    raw = read_yaml(source, name, SchemeError, "slug, version, title, groups, points, grades…")
    try:
        scheme = msgspec.convert(raw, Scheme)
    except msgspec.ValidationError as exc:
        message = msgspec_message(exc, _ENUMS)
        if message.startswith("points.method: invalid value"):
            message += f" (allowed: {', '.join(POINT_METHODS)})"
        if message.startswith("weighting.margins: expected object"):
            message += " (write each as demographic: {option: population share})"
        raise SchemeError(f"{name}: {message}") from None
    if questionnaires is None:
        questionnaires = bundled_questionnaires()
    errors = semantic_errors(scheme, questionnaires)
    if errors:
        raise SchemeError(f"{name}: {errors[0]}")
    return scheme


def from_json(data: bytes | str) -> Scheme:
    """Rebuild a stored (already validated) scheme."""
    return msgspec.json.decode(data, type=Scheme)


def load_directory(directory: Path, questionnaires: Mapping[str, Questionnaire] | None = None) -> list[Scheme]:
    """Load every scheme in `directory`."""
    return [load_file(p, questionnaires) for p in sorted(directory.glob("*.yaml"))]


def bundled_questionnaires() -> dict[str, Questionnaire]:
    from survey_app.settings import QUESTIONNAIRES_DIR

    return {q.slug: q for q in load_questionnaires(QUESTIONNAIRES_DIR)}


def bundled_schemes() -> dict[str, Scheme]:
    """The schemes shipped in `schemes/`, by slug, validated against the bundled questionnaires."""
    from survey_app.settings import QUESTIONNAIRES_DIR, SCHEMES_DIR

    return dict(_bundled_schemes(SCHEMES_DIR, _stamp(SCHEMES_DIR), _stamp(QUESTIONNAIRES_DIR)))


def _stamp(directory: Path) -> tuple[tuple[str, int], ...]:
    return tuple(sorted((p.name, p.stat().st_mtime_ns) for p in directory.glob("*.yaml")))


@lru_cache(maxsize=2)
def _bundled_schemes(directory: Path, *stamps: tuple[tuple[str, int], ...]) -> dict[str, Scheme]:
    # Loading validates against every bundled questionnaire (about 0.1 s): done again only when a file
    # in either folder changes (`stamps`), e.g. after a deployment.
    return {s.slug: s for s in load_directory(directory)}


def semantic_errors(s: Scheme, questionnaires: Mapping[str, Questionnaire]) -> list[str]:
    """Rules a type cannot express, each as `path: message`; the first one is reported."""
    errors: list[str] = []
    if s.small_n < s.min_n:
        errors.append("small_n: must not be below min_n")
    errors += duplicates("groups", [g.kind for g in s.groups])
    for g_n, group in enumerate(s.groups):
        errors += duplicates(f"groups.{g_n}.sources", [src.questionnaire for src in group.sources])
        window = group.case_handling.period if group.case_handling else None
        if window is not None and window.end < window.start:
            errors.append(f"groups.{g_n}.case_handling.period.end: must not be before start")
        for s_n, src in enumerate(group.sources):
            where = f"groups.{g_n}.sources.{s_n}"
            q = questionnaires.get(src.questionnaire)
            if q is None:
                known = ", ".join(sorted(questionnaires)) or "none"
                errors.append(f"{where}.questionnaire: unknown questionnaire {src.questionnaire!r} (known: {known})")
                continue
            if not q.rating_items():
                errors.append(f"{where}.questionnaire: {q.slug!r} has no rating items to score")
            known_dims = [d.id for d in q.dimensions]
            for dim in src.dimensions or {}:
                if dim not in known_dims:
                    listed = ", ".join(known_dims) or "none"
                    errors.append(f"{where}.dimensions.{dim}: {q.slug!r} has no dimension {dim!r} (known: {listed})")
    if s.weighting is not None:
        errors += _weighting_errors(s, questionnaires)
    if s.channels is not None:
        errors += duplicates("channels.counted", list(s.channels.counted))
    if isinstance(s.points, Thresholds):
        errors += _descending("points.steps", [step.min for step in s.points.steps])
    errors += _descending("grades", [band.min for band in s.grades])
    labels = [band.label if isinstance(band.label, str) else band.label.zh for band in s.grades]
    errors += duplicates("grades", labels)
    return errors


def _weighting_errors(s: Scheme, questionnaires: Mapping[str, Questionnaire]) -> list[str]:
    """Each margin's shares sum to 1 and cover the options of the demographic item of every source once."""
    assert s.weighting is not None
    errors = []
    for margin, shares in s.weighting.margins.items():
        where = f"weighting.margins.{margin}"
        if margin not in DEMOGRAPHICS:
            errors.append(f"{where}: not a demographic (allowed: {', '.join(DEMOGRAPHICS)})")
            continue
        errors += [
            f"{where}.{key}: a share must be above 0 and at most 1" for key, x in shares.items() if not 0 < x <= 1
        ]
        total = sum(shares.values())
        if abs(total - 1) > SHARE_SUM_TOLERANCE:
            errors.append(f"{where}: the shares sum to {total:g}; they must sum to 1")
        for q in (questionnaires.get(q_slug) for q_slug in s.questionnaire_slugs()):
            if q is not None:  # an unknown questionnaire is reported at its source
                errors += _margin_errors(where, margin, list(shares), q)
    return errors


def _margin_errors(where: str, margin: str, keys: list[str], q: Questionnaire) -> list[str]:
    """The share keys of one margin against the options of q's item marked with that demographic."""
    item = next((i for i in q.items if i.demographic == margin), None)
    if item is None:
        return [f"{where}: questionnaire {q.slug!r} has no item marked `demographic: {margin}`"]
    options = [o.value for o in item.options or []]
    cells = [option for key in keys for option in key.split(CELL_JOIN)]
    errors = []
    for value in options:
        if value not in cells:
            errors.append(f"{where}: no share for option {value!r} of {q.slug}.{item.id}")
        elif cells.count(value) > 1:
            errors.append(f"{where}: option {value!r} of {q.slug}.{item.id} is in more than one share")
    for key in keys:
        unknown = [value for value in key.split(CELL_JOIN) if value not in options]
        if unknown:
            listed = ", ".join(options)
            errors.append(f"{where}.{key}: {q.slug}.{item.id} has no option {unknown[0]!r} (options: {listed})")
    return errors


def _descending(where: str, mins: list[float]) -> list[str]:
    """Bands best first, each `min` strictly below the one before, the last at 0 so every score has one."""
    errors = [f"{where}.{n}.min: must be below the previous min" for n in range(1, len(mins)) if mins[n] >= mins[n - 1]]
    if mins and mins[-1] != 0:
        errors.append(f"{where}.{len(mins) - 1}.min: the last must be 0, so every score falls in one")
    return errors
