"""What an import from another tool's format produces: a Minping questionnaire file and a report.

The report has one line per row (XLSForm) or question (LimeSurvey) that was carried over, changed or
dropped, saying where (`survey 第 7 行`, `choices 第 3 行`, `问题 Q01`) and what. An import never
silently changes meaning: a condition or constraint it cannot express is a `dropped` line, the item is
kept without it, and the written file marks the item with a comment saying so.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec
import yaml

from survey_app.questionnaires.format import (
    DONT_KNOW,
    SCALES_FILE,
    LocalText,
    Questionnaire,
    QuestionnaireError,
    Scale,
    load_scale_library,
    parse,
)
from survey_app.questionnaires.xpath import Unsupported
from survey_app.settings import QUESTIONNAIRES_DIR

Outcome = Literal["carried", "changed", "dropped"]
OUTCOME_WORDS = {"carried": "保留", "changed": "改动", "dropped": "舍弃"}


class ImportRefused(ValueError):
    """The file cannot be imported at all; the message is one line naming the file."""


@dataclass(frozen=True)
class Line:
    where: str  # "survey 第 7 行", "问题 Q01"
    outcome: Outcome
    what: str


@dataclass
class Report:
    lines: list[Line] = field(default_factory=list)

    def add(self, where: str, outcome: Outcome, what: str) -> None:
        self.lines.append(Line(where, outcome, what))

    def count(self, outcome: Outcome) -> int:
        return sum(1 for line in self.lines if line.outcome == outcome)

    @property
    def complete(self) -> bool:
        """Nothing was dropped: the questionnaire means what the file meant."""
        return self.count("dropped") == 0

    def text(self) -> str:
        """The report as plain lines, for the command line."""
        summary = "，".join(f"{OUTCOME_WORDS[o]} {self.count(o)}" for o in ("carried", "changed", "dropped"))
        body = [f"{line.where}: {OUTCOME_WORDS[line.outcome]}: {line.what}" for line in self.lines]
        return "\n".join([*body, summary])


@dataclass(frozen=True)
class Imported:
    questionnaire: Questionnaire
    source: str  # the Minping questionnaire file (YAML), with a comment on each marked item
    report: Report


def text_of(texts: Mapping[str, str]) -> str | LocalText | None:
    """{"zh": …, "en": …, "ug": …} as a Minping text: a plain string when there is only Chinese."""
    zh, en = (texts.get("zh") or "").strip(), (texts.get("en") or "").strip()
    other = {tag: text.strip() for tag, text in texts.items() if tag not in ("zh", "en") and text and text.strip()}
    if not zh:
        return None
    if not en and not other:
        return zh
    return LocalText(zh=zh, en=en or None, other=other or msgspec.UNSET)


def library() -> dict[str, Scale]:
    return load_scale_library(QUESTIONNAIRES_DIR / SCALES_FILE)


def build(raw: dict[str, Any], marks: Mapping[str, list[str]], report: Report, name: str) -> Imported:
    """Validate the converted questionnaire and write it as YAML, each marked item with its comment.

    :raise ImportRefused: when the result is not a valid questionnaire (the converter's fault or the
        file's, e.g. no question Minping can hold): one line.
    """
    _report_piping(raw, report)
    head = {k: v for k, v in raw.items() if k != "items"}
    parts = [_dump(head)]
    parts.append("items:\n")
    for item in raw["items"]:
        for mark in marks.get(item["id"], []):
            parts.append(f"  # 导入说明: {mark}\n")
        parts.append(_indent(_dump([item])))
    source = "".join(parts)
    try:
        questionnaire = parse(source, name=f"{raw.get('slug', 'import')}.yaml", library=library())
    except QuestionnaireError as exc:
        raise ImportRefused(f"{name}: the converted questionnaire is not valid: {exc}") from None
    return Imported(questionnaire, source, report)


# Texts that show another answer: XLSForm `${name}`, LimeSurvey `{Q1.shown}`. Minping shows texts as written.
_PIPING = re.compile(r"\$\{[^}]+\}|\{[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z]+)?\}")


def _report_piping(raw: Mapping[str, Any], report: Report) -> None:
    texts = [(f"题组 {g['id']}", g.get("title")) for g in raw.get("groups", [])]
    texts += [(f"题目 {i['id']}", i.get(field)) for i in raw["items"] for field in ("text", "help")]
    for where, text in texts:
        found = {
            m
            for value in (text.values() if isinstance(text, dict) else [text])
            for m in _PIPING.findall(str(value or ""))
        }
        if found:
            report.add(where, "changed", f"文字里引用其他答案的 {', '.join(sorted(found))} 不会替换成答案，按原文显示")


def _dump(value: Any) -> str:
    plain = _zh_first(msgspec.to_builtins(value))
    return yaml.safe_dump(plain, allow_unicode=True, sort_keys=False, width=120, default_flow_style=False)


def _zh_first(value: Any) -> Any:
    """Texts read Chinese first ({zh: …, en: …}), as the bundled files are written."""
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: ("zh", "en").index(k) if k in ("zh", "en") else 2)
        return {k: _zh_first(value[k]) for k in keys}
    if isinstance(value, list):
        return [_zh_first(v) for v in value]
    return value


def _indent(text: str) -> str:
    return "".join(f"  {line}" if line.strip() else line for line in text.splitlines(keepends=True))


def write(imported: Imported, directory: Path) -> Path:
    """Write the questionnaire file as `<slug>.yaml` in `directory`."""
    path = directory / f"{imported.questionnaire.slug}.yaml"
    path.write_text(imported.source, encoding="utf-8")
    return path


@dataclass
class Known:
    """An item an importer has kept so far, by its name in the source file: its Minping id and type,
    and its options' values (source code -> stored value)."""

    id: str
    type: str
    values: dict[str, Any] = field(default_factory=dict)


class ValueOf:
    """Turns a literal of a source condition into the stored value of the item it tests (the `value_of`
    of `xpath.condition`); `option` is what the source calls an option, for the refusal."""

    def __init__(self, known: Mapping[str, Known], option: str, refuse_typed: bool = False) -> None:
        self.known, self.option, self.refuse_typed = known, option, refuse_typed

    def __call__(self, name: str, literal: str) -> Any:
        known = self.known[name]
        if known.type == "number":
            try:
                number = float(literal)
            except ValueError:
                raise Unsupported(f"{literal!r} is not a number") from None
            return int(number) if number.is_integer() else number
        if self.refuse_typed and known.type in ("text", "longtext", "date"):
            raise Unsupported(f"testing the typed answer of {name!r} for a value")
        if literal not in known.values:
            raise Unsupported(f"{literal!r} is not {self.option} of {name!r}")
        return known.values[literal]

    def names(self, name: str) -> list[str]:
        return [code for code, value in self.known[name].values.items() if value != DONT_KNOW]
