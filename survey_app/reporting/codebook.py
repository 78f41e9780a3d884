"""A questionnaire's codebook: every item with its question, codes and labels in both languages.

What a system or an analyst needs to read the stored answers (`ResponseRecord.answers[].value`)
without the questionnaire file: for each item its type, dimension and scale, and each code with its
label; "don't know" (`dk`) is listed and marked `missing`, as it is left out of every score.
"""

from __future__ import annotations

import msgspec

from survey_app.questionnaires.format import DONT_KNOW, Questionnaire, Text, localise


class Label(msgspec.Struct, frozen=True):
    zh: str
    en: str


class Code(msgspec.Struct, frozen=True):
    value: float | str | bool
    label: Label
    missing: bool  # a declared missing value ("don't know"): not part of any score


class CodebookItem(msgspec.Struct, frozen=True):
    id: str
    type: str
    question: Label
    required: bool
    dimension: str | None
    scale: str | None
    reverse: bool
    codes: list[Code]  # empty for typed answers (numbers, text)
    shown_if: str | None  # "item in [values]" when the item is asked only after certain answers


class Codebook(msgspec.Struct, frozen=True):
    questionnaire: str
    version: int
    title: Label
    items: list[CodebookItem]


def _label(text: Text) -> Label:
    return Label(localise(text, "zh"), localise(text, "en"))


def build(q: Questionnaire) -> Codebook:
    items = []
    for item in q.items:
        codes = [
            Code(value, _label(label), value == DONT_KNOW)
            for value, label in q.labels_of(item).items()
            if item.type != "rating" or value != DONT_KNOW or item.dont_know
        ]
        condition = f"{item.show_if.item} in {list(item.show_if.values)}" if item.show_if else None
        items.append(
            CodebookItem(
                item.id,
                item.type,
                _label(item.text),
                item.required,
                item.dimension,
                item.scale,
                item.reverse,
                codes,
                condition,
            )
        )
    return Codebook(q.slug, q.version, _label(q.title), items)
