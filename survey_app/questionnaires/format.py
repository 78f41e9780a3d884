"""The questionnaire file format: frozen structures, loading, and validation with precise messages.

A questionnaire is data (`questionnaires/*.yaml`, documented in `questionnaires/README.md`). It is
validated once, when loaded, and every error reads `file: path.to.field: message`. Named scales
come from the shared library `questionnaires/_scales.yaml` or from the file's own `scales:`; the
validated questionnaire embeds the scales it uses, so a stored definition is self-contained.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import msgspec

from survey_app.datafiles import duplicates, msgspec_message, read_yaml
from survey_app.i18n import LANGUAGE_TAG, pick
from survey_app.questionnaires.conditions import Condition, holds, same, shape_error

SLUG = r"^[a-z0-9][a-z0-9-]{1,62}$"
ITEM_ID = r"^[A-Za-z][A-Za-z0-9_]{0,39}$"
SCALES_FILE = "_scales.yaml"

ItemType = Literal["rating", "choice", "multi", "yesno", "text", "longtext", "number", "date", "note"]
CHOICE_TYPES = ("choice", "multi")
TEXT_LIMITS = {"text": 200, "longtext": 2000}
# Item types whose answers are values with labels; the others are typed by the resident (a note has no answer).
LABELLED_TYPES = ("rating", "yesno", "choice", "multi")
# Fields added after questionnaires were first stored are UNSET when absent: left out of the canonical
# JSON, so definitions that do not use them keep their content hash.
UNSET: Any = msgspec.UNSET
# The stored answer of a resident who chose "don't know" (不清楚) on a rating item that offers it.
DONT_KNOW = "dk"


# Simplified Chinese is `zh` (the format's first spelling) or `zh-Hans`; both mean the same text.
SIMPLIFIED = ("zh", "zh-Hans")


class LocalText(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A text in Chinese (required) with an optional English translation and more languages.

    Written `{zh: …, en: …}` or with any BCP 47 tags: `{zh-Hans: …, zh-Hant: …, en: …, ug: …, bo: …}`.
    Languages other than Chinese and English are kept in `other` (left out when there are none, so
    `{zh, en}` texts keep the content hashes they had before).
    """

    zh: Annotated[str, msgspec.Meta(min_length=1)]
    en: str | None = None
    other: dict[Annotated[str, msgspec.Meta(pattern=LANGUAGE_TAG)], str] | msgspec.UnsetType = msgspec.UNSET


# Every text may be written as a plain string (Chinese) or as {zh: …, en: …, <tag>: …}.
Text = str | LocalText


def localise(text: Text | None, lang: str) -> str:
    """Return `text` in `lang`, falling back to Chinese when no translation exists."""
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    if not isinstance(text.other, msgspec.UnsetType) and text.other.get(lang):
        return text.other[lang]
    return pick(lang, text.zh, text.en)


def languages_of(text: Text | None) -> set[str]:
    """The languages a text is written in ("zh" for Simplified Chinese)."""
    if text is None:
        return set()
    if isinstance(text, str):
        return {"zh"}
    found = {"zh", *(["en"] if text.en else [])}
    return found | (set() if isinstance(text.other, msgspec.UnsetType) else set(text.other))


def _tagged_texts(node: Any) -> Any:
    """Texts written with language tags as `LocalText` fields: `zh-Hans` is `zh`, tags other than
    zh and en go under `other`. Only mappings of nothing but tagged strings, with a tag beyond zh and
    en, are rewritten; everything else is left as written (so `{zh, en}` is decoded as it always was)."""
    if isinstance(node, list):
        return [_tagged_texts(v) for v in node]
    if not isinstance(node, dict) or isinstance(node.get("other"), dict) and "zh" in node:
        return node  # not a mapping, or a text already in its stored form ({zh, en, other})
    keys = [k for k in node if isinstance(k, str)]
    is_text = (
        len(keys) == len(node)
        and all(re.match(LANGUAGE_TAG, k) and isinstance(v, str) for k, v in node.items())
        and set(keys) - {"zh", "en"}
    )
    if not is_text:
        return {k: _tagged_texts(v) for k, v in node.items()}
    text: dict[str, Any] = {"zh": node["zh"]} if "zh" in node else {"zh": node["zh-Hans"]} if "zh-Hans" in node else {}
    if "en" in node:
        text["en"] = node["en"]
    other = {k: v for k, v in node.items() if k not in (*SIMPLIFIED, "en")}
    if other:
        text["other"] = other
    if "zh" in node and "zh-Hans" in node:
        text["other"] = {**other, "zh-Hans": node["zh-Hans"]}  # both given: the checker names the duplicate
    return text


YES_NO: dict[Any, Text] = {True: LocalText(zh="是", en="Yes"), False: LocalText(zh="否", en="No")}


class Level(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One level of a rating scale; `value` is what is stored (e.g. 5 for 非常满意)."""

    value: int
    label: Text


class Scale(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A named ordered scale, best level first."""

    levels: Annotated[list[Level], msgspec.Meta(min_length=2, max_length=11)]
    #: How many of the best levels count as satisfied (满意率: 基本满意 and above = 3 of 5).
    satisfied_levels: int = 3
    #: How many of the worst levels count as a bad rating (差评: 不满意, 非常不满意).
    bad_levels: int = 2
    dont_know_label: Text = LocalText(zh="不清楚", en="Don't know")


class Option(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A choice of a single- or multiple-choice item."""

    value: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
    label: Text


class ShowIf(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Show an item only when another item's answer is one of `values`."""

    item: str
    values: Annotated[list[int | str | bool], msgspec.Meta(min_length=1)]


class OtherOf(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The option of the item before that a "please specify" text item belongs to."""

    item: str
    option: str


class Item(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One question."""

    id: Annotated[str, msgspec.Meta(pattern=ITEM_ID)]
    type: ItemType
    text: Text
    help: Text | None = None
    required: bool = False
    scale: str | None = None
    dimension: str | None = None
    weight: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    reverse: bool = False
    dont_know: bool = False
    options: list[Option] | None = None
    min: float | None = None
    max: float | None = None
    demographic: Literal["age_band", "sex", "residence"] | None = None
    show_if: ShowIf | None = None
    #: Shown only when this holds (and/or/not of tests of earlier items); see conditions.py.
    when: Condition | msgspec.UnsetType = UNSET
    #: The id of the group (section, or page on a paged form) the item belongs to.
    group: str | msgspec.UnsetType = UNSET
    required_message: Text | msgspec.UnsetType = UNSET
    #: Shown instead of the standard message when an answer breaks a constraint below (or min/max).
    constraint_message: Text | msgspec.UnsetType = UNSET
    min_length: Annotated[int, msgspec.Meta(ge=1)] | msgspec.UnsetType = UNSET
    max_length: Annotated[int, msgspec.Meta(ge=1)] | msgspec.UnsetType = UNSET
    #: A regular expression the whole (text) answer must match.
    pattern: str | msgspec.UnsetType = UNSET
    min_choices: Annotated[int, msgspec.Meta(ge=1)] | msgspec.UnsetType = UNSET
    max_choices: Annotated[int, msgspec.Meta(ge=1)] | msgspec.UnsetType = UNSET
    #: Choice and multi items: show the options in an order of each respondent's own (a list where the
    #: first options would be picked more only for being first). A reload of the form keeps it.
    randomize: bool | msgspec.UnsetType = UNSET
    #: "Other, please specify": a text item bound to an option of the item just before it, asked
    #: (and required, if `required`) only when that option is chosen.
    other_of: OtherOf | msgspec.UnsetType = UNSET

    @property
    def conditional(self) -> bool:
        """Whether the item has a condition of its own (a group's condition is the group's)."""
        own = (self.when, self.other_of)
        return self.show_if is not None or any(not isinstance(c, msgspec.UnsetType) for c in own)

    @property
    def answerable(self) -> bool:
        return self.type != "note"


class Group(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    """A titled run of consecutive items (a section; on a paged questionnaire, a page of its own)."""

    id: Annotated[str, msgspec.Meta(pattern=ITEM_ID)]
    title: Text
    help: Text | None = None
    #: The whole group is shown only when this holds; it may test items before the group only.
    when: Condition | None = None


class AnswerIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """An item answered with one of `values` (for a multi item: any of them ticked)."""

    item: str
    values: Annotated[list[int | str | bool], msgspec.Meta(min_length=1)]


class BadRating(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Which answers are a bad rating (差评) and open a case for the unit (the 好差评 closed loop).

    `item` is a rating item whose scale's worst `bad_levels` levels are bad (不满意, 非常不满意);
    null means no item does. `reasons` optionally lists answers that open a case whatever that item
    says (e.g. "staff asked for favours").
    """

    item: str | None
    reasons: AnswerIn | None = None


class Dimension(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A weighted group of rating items (维度); weights are normalised over the questionnaire."""

    id: Annotated[str, msgspec.Meta(pattern=ITEM_ID)]
    title: Text
    weight: Annotated[float, msgspec.Meta(gt=0)] = 1.0


class Questionnaire(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A validated questionnaire definition."""

    slug: Annotated[str, msgspec.Meta(pattern=SLUG)]
    version: Annotated[int, msgspec.Meta(ge=1)]
    title: Text
    items: Annotated[list[Item], msgspec.Meta(min_length=1)]
    intro: Text | None = None
    privacy: Text | None = None
    dimensions: list[Dimension] = []
    scales: dict[str, Scale] = {}
    # UNSET (absent) is left out of the canonical JSON, so definitions stored before this field
    # existed keep their content hash; absent means the default rule of `bad_rating_rule`.
    bad_rating: BadRating | msgspec.UnsetType = msgspec.UNSET
    groups: list[Group] | msgspec.UnsetType = UNSET
    #: One page per group (and per run of items between groups), answered page by page.
    paged: bool | msgspec.UnsetType = UNSET

    def item(self, item_id: str) -> Item:
        return next(i for i in self.items if i.id == item_id)

    def group_list(self) -> list[Group]:
        return [] if isinstance(self.groups, msgspec.UnsetType) else self.groups

    def group(self, group_id: str | msgspec.UnsetType) -> Group | None:
        return next((g for g in self.group_list() if g.id == group_id), None)

    def is_shown(self, item: Item, answers: Mapping[str, Any]) -> bool:
        """Whether `item` is asked, given the answers so far: its group's condition and its own hold."""
        group = self.group(item.group)
        if group is not None and group.when is not None and not holds(group.when, answers):
            return False
        condition = self.condition_of(item)
        return condition is None or holds(condition, answers)

    def condition_of(self, item: Item) -> Condition | None:
        """The item's own condition as one `Condition` (`show_if` is the old spelling of `is`; a
        "please specify" item is asked when its option is chosen)."""
        parts = []
        if not isinstance(item.other_of, msgspec.UnsetType):
            bound = self.item(item.other_of.item)
            option = item.other_of.option
            parts.append(
                Condition(item=bound.id, any_of=[option])
                if bound.type == "multi"
                else Condition(item=bound.id, is_=[option])
            )
        if item.show_if is not None:
            parts.append(Condition(item=item.show_if.item, is_=list(item.show_if.values)))
        if not isinstance(item.when, msgspec.UnsetType):
            parts.append(item.when)
        return None if not parts else parts[0] if len(parts) == 1 else Condition(all=parts)

    def pages(self) -> list[list[Item]]:
        """The items page by page: one page unless `paged`, then one per group and per run between groups."""
        if self.paged is not True:
            return [list(self.items)]
        pages: list[list[Item]] = []
        for item in self.items:
            if not pages or pages[-1][-1].group != item.group:
                pages.append([])
            pages[-1].append(item)
        return pages

    def numbers(self) -> dict[str, int]:
        """The number each question is shown with (第 n 题); notes are not numbered."""
        answerable = [i for i in self.items if i.answerable]
        return {item.id: n for n, item in enumerate(answerable, start=1)}

    def labels_of(self, item: Item) -> dict[Any, Text]:
        """Each value an answer to `item` may hold, with its label: the scale's levels and "don't know",
        yes and no, or the options; {} for typed answers."""
        if item.type == "rating":
            scale = self.scales[item.scale or ""]
            return {level.value: level.label for level in scale.levels} | {DONT_KNOW: scale.dont_know_label}
        if item.type == "yesno":
            return dict(YES_NO)
        return {o.value: o.label for o in item.options or []}

    def answer_labels(self, item: Item, value: Any) -> tuple[Text, ...]:
        """An answer in words: the label of each value it holds (a value without a label as written);
        () for no answer. Typed answers come back as written: staff pages mask them (privacy.py)."""
        if value is None:
            return ()
        values = value if isinstance(value, list) else [value]
        labels = self.labels_of(item)
        return tuple(labels.get(v, str(v)) for v in values)

    def rating_items(self) -> list[Item]:
        return [i for i in self.items if i.type == "rating"]

    def bad_rating_rule(self) -> BadRatingRule:
        """The resolved bad-rating rule: without `bad_rating`, the rating item `overall` if there is one."""
        rule = self.bad_rating
        if isinstance(rule, msgspec.UnsetType):
            overall = next((i for i in self.items if i.id == DEFAULT_BAD_RATING_ITEM and i.type == "rating"), None)
            rule = BadRating(item=overall.id if overall and not overall.reverse else None)
        bad_values: frozenset[int] = frozenset()
        if rule.item is not None:
            scale = self.scales[self.item(rule.item).scale or ""]
            bad_values = frozenset(level.value for level in scale.levels[len(scale.levels) - scale.bad_levels :])
        return BadRatingRule(rule.item, bad_values, rule.reasons)

    def languages(self) -> list[str]:
        """Every language some text of the questionnaire is written in, Chinese first.

        Asked on every request for a form, and a walk over every text takes milliseconds, so each
        process remembers the answer per questionnaire object (kept in the entry, so its `id()`
        cannot be reused meanwhile; questionnaires never change once loaded).
        """
        entry = _LANGUAGES.get(id(self))
        if entry is None or entry[0] is not self:
            if len(_LANGUAGES) >= 256:
                _LANGUAGES.clear()
            found = set().union(*(languages_of(text) for _, text in texts_in(self)))
            entry = _LANGUAGES[id(self)] = (self, ["zh", *sorted(found - {"zh"})])
        return list(entry[1])

    def to_json(self) -> bytes:
        """Canonical JSON: the stored definition and the input of `content_hash`."""
        return msgspec.json.encode(self, order="sorted")

    @property
    def content_hash(self) -> str:
        return hashlib.sha256(self.to_json()).hexdigest()


_LANGUAGES: dict[int, tuple[Questionnaire, list[str]]] = {}

# The item a questionnaire without `bad_rating` is judged by: the bundled ones call their overall
# judgement "overall" (questionnaires/README.md).
DEFAULT_BAD_RATING_ITEM = "overall"


@dataclass(frozen=True)
class BadRatingRule:
    """`bad_rating` resolved against the questionnaire's scales."""

    item: str | None
    bad_values: frozenset[int]
    reasons: AnswerIn | None

    def trigger(self, answers: Mapping[str, Any]) -> str | None:
        """Why these answers are a bad rating, as `item=value` (e.g. "overall=1"), or None."""
        if self.item is not None and answers.get(self.item) in self.bad_values:
            value = answers[self.item]
            if not isinstance(value, bool):  # True == 1 in Python; a yes/no answer is never a level
                return f"{self.item}={value}"
        if self.reasons is not None:
            answer = answers.get(self.reasons.item)
            given = answer if isinstance(answer, list) else [answer]
            for value in self.reasons.values:
                if any(type(value) is type(a) and value == a for a in given):
                    return f"{self.reasons.item}={str(value).lower() if isinstance(value, bool) else value}"
        return None


def texts_in(node: Any, path: str = "") -> list[tuple[str, LocalText]]:
    """Every translated text in a questionnaire (or part of one), with its path (`items.3.text`)."""
    if isinstance(node, LocalText):
        return [(path, node)]
    found: list[tuple[str, LocalText]] = []
    if isinstance(node, msgspec.Struct):
        for name in node.__struct_fields__:
            found += texts_in(getattr(node, name), f"{path}.{name}" if path else name)
    elif isinstance(node, list):
        for n, value in enumerate(node):
            found += texts_in(value, f"{path}.{n}")
    elif isinstance(node, dict):
        for key, value in node.items():
            found += texts_in(value, f"{path}.{key}")
    return found


_FIELDS = "slug, version, title, items…"  # named when a file holds no mapping


class QuestionnaireError(ValueError):
    """A questionnaire file is invalid; the message reads `file: path.to.field: message`."""


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a questionnaire file, for editors.

    Descriptions come from the docstrings, dedented here: msgspec releases differ in how they
    indent a docstring's later lines, and the published file must not depend on which is installed.
    """
    schema = _clean_descriptions(msgspec.json.schema(Questionnaire))
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Minping questionnaire"
    return schema


def _clean_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: inspect.cleandoc(v) if k == "description" else _clean_descriptions(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_clean_descriptions(v) for v in node]
    return node


def load_file(path: Path, library: Mapping[str, Scale] | None = None) -> Questionnaire:
    """Load and validate one questionnaire file.

    :param library: shared named scales; defaults to the `_scales.yaml` next to the file.
    :raise QuestionnaireError: on any structural or semantic error.
    """
    if library is None:
        library = load_scale_library(path.parent / SCALES_FILE)
    questionnaire = parse(path.read_bytes(), name=path.name, library=library)
    if questionnaire.slug != path.stem:
        raise QuestionnaireError(f"{path.name}: slug: must match the file name ({path.stem!r})")
    return questionnaire


def parse(source: bytes | str, *, name: str, library: Mapping[str, Scale]) -> Questionnaire:
    """Validate questionnaire source text (YAML or JSON); `name` prefixes every error message."""
    raw = _tagged_texts(read_yaml(source, name, QuestionnaireError, _FIELDS))
    try:
        questionnaire = msgspec.convert(raw, Questionnaire)
    except msgspec.ValidationError as exc:
        raise QuestionnaireError(f"{name}: {msgspec_message(exc, _ENUM_FIELDS)}") from None
    errors = _semantic_errors(questionnaire, library)
    if errors:
        raise QuestionnaireError(f"{name}: {errors[0]}")
    used = {i.scale for i in questionnaire.items if i.scale}
    scales = {s: questionnaire.scales.get(s) or library[s] for s in sorted(used)}
    return msgspec.structs.replace(questionnaire, scales=scales)


def from_json(data: bytes | str) -> Questionnaire:
    """Rebuild a stored (already validated) definition."""
    return msgspec.json.decode(data, type=Questionnaire)


def load_scale_library(path: Path) -> dict[str, Scale]:
    """Load the shared named scales; a missing file means no shared scales."""
    if not path.exists():
        return {}
    raw = read_yaml(path.read_bytes(), path.name, QuestionnaireError, "scale names, each with levels…")
    try:
        scales = msgspec.convert(raw, dict[str, Scale])
    except msgspec.ValidationError as exc:
        raise QuestionnaireError(f"{path.name}: {msgspec_message(exc, _ENUM_FIELDS)}") from None
    for scale_name, scale in scales.items():
        error = _scale_error(scale)
        if error:
            raise QuestionnaireError(f"{path.name}: {scale_name}.{error}")
    return scales


def load_directory(directory: Path) -> list[Questionnaire]:
    """Load every questionnaire in `directory` (files starting with `_` are libraries)."""
    library = load_scale_library(directory / SCALES_FILE)
    paths = sorted(p for p in directory.glob("*.yaml") if not p.name.startswith("_"))
    return [load_file(p, library) for p in paths]


# Fields whose type is a fixed set of words: an invalid value's message lists them.
DEMOGRAPHICS = ("age_band", "sex", "residence")
_ENUM_FIELDS = {"type": get_args(ItemType), "demographic": DEMOGRAPHICS}


def _scale_error(scale: Scale) -> str | None:
    values = [level.value for level in scale.levels]
    if len(set(values)) != len(values):
        return "levels: level values must be distinct"
    if not 1 <= scale.satisfied_levels < len(values):
        return "satisfied_levels: must be between 1 and the number of levels minus one"
    if not 0 <= scale.bad_levels < len(values):
        return "bad_levels: must be below the number of levels"
    return None


def _semantic_errors(q: Questionnaire, library: Mapping[str, Scale]) -> list[str]:
    """Rules a type cannot express, each as `path: message`; the first one is reported."""
    errors: list[str] = []
    for path, text in texts_in(q):
        if not isinstance(text.other, msgspec.UnsetType) and "zh-Hans" in text.other:
            errors.append(f"{path}: zh and zh-Hans are the same language; give one of them")
    for name, scale in q.scales.items():
        error = _scale_error(scale)
        if error:
            errors.append(f"scales.{name}.{error}")
    dimension_ids = [d.id for d in q.dimensions]
    errors += duplicates("dimensions", dimension_ids)
    errors += duplicates("items", [i.id for i in q.items])
    known_scales = set(library) | set(q.scales)
    seen: dict[str, Item] = {}
    for n, item in enumerate(q.items):
        where = f"items.{n}"
        if item.type == "rating":
            if item.scale is None:
                errors.append(f"{where}.scale: a rating item needs a scale")
            elif item.scale not in known_scales:
                known = ", ".join(sorted(known_scales)) or "none"
                errors.append(f"{where}.scale: unknown scale {item.scale!r} (known: {known})")
        else:
            for field in ("scale", "dimension"):
                if getattr(item, field) is not None:
                    errors.append(f"{where}.{field}: only rating items take a {field}")
            if item.reverse or item.dont_know:
                errors.append(f"{where}: reverse and dont_know apply to rating items only")
        if item.dimension is not None and item.dimension not in dimension_ids:
            errors.append(f"{where}.dimension: unknown dimension {item.dimension!r}")
        if item.type in CHOICE_TYPES:
            if not item.options or len(item.options) < 2:
                errors.append(f"{where}.options: a {item.type} item needs at least two options")
            else:
                errors += duplicates(f"{where}.options", [o.value for o in item.options])
        elif item.options is not None:
            errors.append(f"{where}.options: only choice and multi items take options")
        if item.type != "number" and (item.min is not None or item.max is not None):
            errors.append(f"{where}: min and max apply to number items only")
        if item.min is not None and item.max is not None and item.min > item.max:
            errors.append(f"{where}.max: must not be below min")
        if item.demographic and item.type != "choice":
            errors.append(f"{where}.demographic: a demographic item must be a choice item")
        errors += _constraint_errors(where, item)
        if not isinstance(item.other_of, msgspec.UnsetType):
            errors += _other_of_errors(where, item, q.items[n - 1] if n else None)
        if not isinstance(item.when, msgspec.UnsetType):
            errors += _condition_errors(f"{where}.when", item.when, seen, q, library)
        if item.show_if is not None:
            target = seen.get(item.show_if.item)
            if target is None:
                errors.append(f"{where}.show_if.item: {item.show_if.item!r} is not an earlier item")
            elif target.type not in ("rating", "choice", "yesno"):
                errors.append(f"{where}.show_if.item: must be a rating, choice or yes/no item")
            else:
                allowed = _answer_values(q, library, target)
                for v_n, value in enumerate(item.show_if.values):
                    if not any(type(value) is type(a) and value == a for a in allowed):
                        errors.append(f"{where}.show_if.values.{v_n}: {value!r} is not an answer of {target.id!r}")
        seen[item.id] = item
    shapes: dict[str, tuple[int, int, int]] = {}
    for n, item in enumerate(q.items):
        item_scale = q.scales.get(item.scale or "") or library.get(item.scale or "")
        if item.type == "rating" and item_scale is not None:
            shape = (len(item_scale.levels), item_scale.satisfied_levels, item_scale.bad_levels)
            if shapes and shape not in shapes.values():
                first = next(iter(shapes))
                errors.append(
                    f"items.{n}.scale: {item.scale!r} has {shape[0]} levels ({shape[1]} satisfied, {shape[2]} bad) "
                    f"but {first!r} has {shapes[first][0]} ({shapes[first][1]}, {shapes[first][2]}); "
                    "rating items are combined into one index, so their scales must have the same shape"
                )
            shapes.setdefault(item.scale or "", shape)
    for n, dimension in enumerate(q.dimensions):
        if not any(i.dimension == dimension.id for i in q.items):
            errors.append(f"dimensions.{n}: dimension {dimension.id!r} has no rating items")
    return errors + _group_errors(q, library) + _bad_rating_errors(q, seen)


def _constraint_errors(where: str, item: Item) -> list[str]:
    """Constraints that do not fit the item's type, or contradict each other."""
    errors = []
    given = {f: getattr(item, f) for f in _CONSTRAINTS if not isinstance(getattr(item, f), msgspec.UnsetType)}
    for field, types in _CONSTRAINTS.items():
        if field in given and item.type not in types:
            errors.append(f"{where}.{field}: applies to {' and '.join(types)} items only")
    for low, high in (("min_length", "max_length"), ("min_choices", "max_choices")):
        if low in given and high in given and given[low] > given[high]:
            errors.append(f"{where}.{high}: must not be below {low}")
    if "max_choices" in given and item.options and given["max_choices"] > len(item.options):
        errors.append(f"{where}.max_choices: the item has only {len(item.options)} options")
    if "pattern" in given:
        try:
            re.compile(given["pattern"])
        except re.error as exc:
            errors.append(f"{where}.pattern: not a valid regular expression ({exc})")
    if not isinstance(item.randomize, msgspec.UnsetType) and item.type not in CHOICE_TYPES:
        errors.append(f"{where}.randomize: applies to choice and multi items only (a scale keeps its order)")
    if item.type == "note" and item.required:
        errors.append(f"{where}.required: a note has no answer to require")
    if not isinstance(item.required_message, msgspec.UnsetType) and not item.required:
        errors.append(f"{where}.required_message: the item is not required")
    bounded = given or item.min is not None or item.max is not None
    if not isinstance(item.constraint_message, msgspec.UnsetType) and not bounded:
        errors.append(f"{where}.constraint_message: the item has no constraint (min, max, min_length, pattern…)")
    return errors


def _other_of_errors(where: str, item: Item, before: Item | None) -> list[str]:
    other = item.other_of
    assert not isinstance(other, msgspec.UnsetType)
    if item.type not in ("text", "longtext"):
        return [f'{where}.other_of: a "please specify" item is a text or longtext item']
    if before is None or before.id != other.item or before.type not in CHOICE_TYPES:
        return [f"{where}.other_of.item: must be the choice or multi item just before this one"]
    if other.option not in [o.value for o in before.options or []]:
        return [f"{where}.other_of.option: {other.option!r} is not an option of {before.id!r}"]
    return []


# Each constraint, with the item types it applies to.
_CONSTRAINTS = {
    "min_length": ("text", "longtext"),
    "max_length": ("text", "longtext"),
    "pattern": ("text",),
    "min_choices": ("multi",),
    "max_choices": ("multi",),
}


def _condition_errors(
    where: str, condition: Condition, earlier: Mapping[str, Item], q: Questionnaire, library: Mapping[str, Scale]
) -> list[str]:
    """What is wrong with a condition: its shape, or a test of an item that is not earlier or cannot pass it."""
    shape = shape_error(condition)
    if shape:
        return [f"{where}{shape}"]
    errors = []
    for name in ("all", "any"):
        for n, part in enumerate(getattr(condition, name) or []):
            errors += _condition_errors(f"{where}.{name}.{n}", part, earlier, q, library)
    if condition.not_ is not None:
        errors += _condition_errors(f"{where}.not", condition.not_, earlier, q, library)
    if condition.item is None:
        return errors
    target = earlier.get(condition.item)
    if target is None or not target.answerable:
        return [*errors, f"{where}.item: {condition.item!r} is not an earlier question"]
    if condition.is_ is not None:
        if target.type not in ("rating", "choice", "yesno", "number"):
            errors.append(f"{where}.is: tests a rating, choice, yes/no or number item (any_of for a multi item)")
        else:
            allowed = _answer_values(q, library, target) + ([DONT_KNOW] if target.dont_know else [])
            for value in condition.values:
                numeric = target.type == "number" and isinstance(value, int | float) and not isinstance(value, bool)
                if not numeric and not any(same(value, a) for a in allowed):
                    errors.append(f"{where}.is: {value!r} is not an answer of {target.id!r}")
    if condition.any_of is not None:
        if target.type != "multi":
            errors.append(f"{where}.any_of: tests a multi item only")
        else:
            options = [o.value for o in target.options or []]
            errors += [
                f"{where}.any_of: {v!r} is not an option of {target.id!r}" for v in condition.any_of if v not in options
            ]
    if condition.comparisons and target.type not in ("rating", "number"):
        errors.append(f"{where}: lt, le, gt and ge compare rating and number answers only")
    return errors


def _group_errors(q: Questionnaire, library: Mapping[str, Scale]) -> list[str]:
    """Groups: known, non-empty, each a run of consecutive items, conditions on items before the group."""
    groups = q.group_list()
    errors = duplicates("groups", [g.id for g in groups])
    ids = {g.id for g in groups}
    closed: set[str] = set()
    previous: str | None = None
    for n, item in enumerate(q.items):
        group = None if isinstance(item.group, msgspec.UnsetType) else item.group
        if group is not None and group not in ids:
            errors.append(f"items.{n}.group: unknown group {group!r}")
        if group != previous and previous is not None:
            closed.add(previous)
        if group is not None and group in closed:
            errors.append(f"items.{n}.group: the items of group {group!r} must be consecutive")
        previous = group
    for n, g in enumerate(groups):
        members = [i for i, item in enumerate(q.items) if item.group == g.id]
        if not members:
            errors.append(f"groups.{n}: group {g.id!r} has no items")
        elif g.when is not None:
            before = {item.id: item for item in q.items[: members[0]]}
            errors += _condition_errors(f"groups.{n}.when", g.when, before, q, library)
    return errors


def _bad_rating_errors(q: Questionnaire, items: Mapping[str, Item]) -> list[str]:
    rule = q.bad_rating
    if isinstance(rule, msgspec.UnsetType):
        return []
    errors = []
    if rule.item is not None:
        item = items.get(rule.item)
        if item is None or item.type != "rating":
            errors.append(f"bad_rating.item: {rule.item!r} is not a rating item")
        elif item.reverse:
            errors.append("bad_rating.item: must not be a reversed item (its worst levels would be its best)")
    if rule.reasons is not None:
        target = items.get(rule.reasons.item)
        if target is None or target.type not in ("choice", "multi", "yesno"):
            errors.append(f"bad_rating.reasons.item: {rule.reasons.item!r} is not a choice, multi or yes/no item")
        else:
            allowed = [True, False] if target.type == "yesno" else [o.value for o in target.options or []]
            for n, value in enumerate(rule.reasons.values):
                if not any(type(value) is type(a) and value == a for a in allowed):
                    errors.append(f"bad_rating.reasons.values.{n}: {value!r} is not an answer of {target.id!r}")
    return errors


def _answer_values(q: Questionnaire, library: Mapping[str, Scale], item: Item) -> list[int | str | bool]:
    """The values an answer to `item` can take (for checking `show_if` and `when`)."""
    if item.type == "yesno":
        return [True, False]
    if item.type == "choice":
        return [o.value for o in item.options or []]
    scale = q.scales.get(item.scale or "") or library.get(item.scale or "")
    return [level.value for level in scale.levels] if scale else []
