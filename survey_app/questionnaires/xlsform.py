"""XLSForm (the ODK / KoboToolbox spreadsheet standard) to a Minping questionnaire, and back.

Import: pyxform converts the file first (a form pyxform refuses is refused with pyxform's reason),
then its own reader (`pyxform.xls2json_backends.get_xlsform`) gives the sheets row by row, which
this module maps, reporting each row (`importing.Report`). Export: a workbook pyxform converts
without error; what XLSForm has no column for (dimensions, weights, scales' satisfied and bad
levels, the bad-rating rule…) rides in `minping_*` columns and a `minping` settings cell, which
pyxform ignores, so `import(export(q)) == q`.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
import openpyxl
from babel import Locale, UnknownLocaleError
from pyxform import aliases, constants
from pyxform.errors import PyXFormError
from pyxform.parsing import parameters
from pyxform.parsing.sheet_headers import process_header
from pyxform.question import MultipleChoiceQuestion
from pyxform.question_type_dictionary import QUESTION_TYPE_DICT
from pyxform.xls2json_backends import get_xlsform
from pyxform.xls2xform import convert

from survey_app.i18n import LANGUAGE_TAG
from survey_app.questionnaires import xpath
from survey_app.questionnaires.conditions import Condition
from survey_app.questionnaires.format import (
    DONT_KNOW,
    ITEM_ID,
    SLUG,
    Item,
    LocalText,
    OtherOf,
    Questionnaire,
    Scale,
    ShowIf,
    Text,
)
from survey_app.questionnaires.importing import Imported, ImportRefused, Known, Report, ValueOf, build, library, text_of

SUFFIXES = (".xlsx", ".xls", ".csv")
MAX_BYTES = 2 * 1024 * 1024

# Question types Minping has no counterpart for: dropped with their row.
_METADATA = {"start", "end", "today", "deviceid", "subscriberid", "simserial", "phonenumber", "username", "email"}
_METADATA |= {"audit", "start-geopoint", "background-audio", "instanceid", "uri:deviceid"}
_UNHELD = {"geopoint", "geotrace", "geoshape", "image", "audio", "video", "file", "barcode", "time", "datetime"}
_UNHELD |= {"rank", "acknowledge", "trigger", "calculate", "hidden", "background-geopoint", "xml-external"}
_UNHELD |= {"csv-external", "select_one_from_file", "select_multiple_from_file", "begin repeat", "end repeat"}
_UNHELD |= {"begin_repeat", "end_repeat", "range"}
_TYPES = {"text": "text", "integer": "number", "decimal": "number", "date": "date", "note": "note"}
# Columns Minping reads; any other column with a value is reported as dropped.
_READ = {"type", "name", "label", "hint", "required", "required_message", "relevant", "constraint"}
_READ |= {"constraint_message", "appearance", "parameters", "choice_filter"}  # choice_filter: reported with its select
_DONT_KNOW_LABELS = {"不清楚", "不知道", "说不清", "不了解", "don't know", "dont know", "do not know", "not sure"}


@dataclass
class _Sheets:
    survey: list[dict[str, str]]
    choices: list[dict[str, str]]
    settings: dict[str, str]
    langs: dict[str, str]  # minping language (zh, en) -> XLSForm language ("" = the plain column)


def read(data: bytes, filename: str) -> Imported:
    """Convert an XLSForm file to a Minping questionnaire with its report.

    :raise ImportRefused: a file of another kind, too large, or one pyxform itself refuses.
    """
    name = filename or "form.xlsx"
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in SUFFIXES:
        raise ImportRefused(f"{name}: not an XLSForm file (.xlsx, .xls or .csv)")
    if len(data) > MAX_BYTES:
        raise ImportRefused(f"{name}: the file is larger than {MAX_BYTES // 1024 // 1024} MB")
    try:
        convert(xlsform=data, file_type=suffix, warnings=[], form_name="data")
        definition = get_xlsform(data, file_type=suffix)
    except PyXFormError as exc:
        raise ImportRefused(f"{name}: pyxform refuses the form: {_one_line(str(exc))}") from None
    except Exception as exc:  # noqa: BLE001 - a damaged workbook fails inside openpyxl/xlrd in many ways
        raise ImportRefused(
            f"{name}: the file cannot be read as {suffix} ({_one_line(str(exc)) or type(exc).__name__})"
        ) from None
    settings = (
        _normalised(definition.settings or [{}], aliases.settings_header, set())[0] if definition.settings else {}
    )
    survey = _normalised(definition.survey or [], aliases.survey_header, _SURVEY_COLUMNS)
    choices = _normalised(definition.choices or [], aliases.list_header, _CHOICES_COLUMNS)
    for row in survey:
        if "type" in row:
            row["type"] = _normal_type(str(row["type"]))
    try:
        return _Converter(_Sheets(survey, choices, settings, _languages(survey, settings)), name).run()
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        if isinstance(exc, ImportRefused):
            raise
        # A sheet pyxform accepts but this converter does not expect: a refusal naming the file, not a crash.
        raise ImportRefused(f"{name}: the form could not be converted ({type(exc).__name__}: {exc})") from None


_SURVEY_COLUMNS = set(MultipleChoiceQuestion.get_slot_names())
_CHOICES_COLUMNS = {constants.LIST_NAME_S, constants.NAME, constants.LABEL, "image", "audio", "video"}
# pyxform's names for a row's parts (bind, control…) back to the XLSForm columns this module reads.
_GROUPED = {
    ("bind", "relevant"): "relevant",
    ("bind", "required"): "required",
    ("bind", "constraint"): "constraint",
    ("bind", "jr:constraintMsg"): "constraint_message",
    ("bind", "jr:requiredMsg"): "required_message",
    ("bind", "calculate"): "calculation",
    ("bind", "readonly"): "read_only",
    ("control", "appearance"): "appearance",
    ("control", "jr:count"): "repeat_count",
}


def _normalised(rows: Any, header_aliases: Any, columns: set[str]) -> list[dict[str, str]]:
    """Rows with pyxform's own reading of the headers (aliases such as `relevance`, `list name`,
    `label:English`, any case), written back as the columns this module reads (`label::English`)."""
    headers = {h for row in rows for h in row}
    double = any("::" in h for h in headers)
    names: dict[str, str] = {}
    for header in headers:
        _, tokens = process_header(header, double, header_aliases, columns)
        tokens = tuple(str(t) for t in tokens)
        key = _GROUPED.get(tokens[:2])
        rest = tokens[2:] if key else tokens[1:]
        first = key or ("list_name" if tokens[0] in ("list name", "list_name") else tokens[0])
        names[header] = "::".join((first, *rest)) if rest else first
    return [{names[h]: v for h, v in row.items()} for row in rows]


_SELECTS = sorted(aliases.select.items(), key=lambda pair: -len(pair[0]))


def _normal_type(kind: str) -> str:
    """`select one from yn or specify other` → `select_one yn or_other`, as pyxform reads the aliases."""
    text = " ".join(kind.split())
    low = text.lower()
    suffix = ""
    for other in (" or specify other", " or_other"):
        if low.endswith(other):
            text, low, suffix = text[: -len(other)], low[: -len(other)], " or_other"
    for alias, canonical in _SELECTS:
        if low.startswith(alias + " "):
            word = {constants.SELECT_ONE: "select_one", constants.SELECT_ALL_THAT_APPLY: "select_multiple"}.get(
                canonical, alias.replace(" ", "_")
            )
            if alias in aliases.select_from_file or alias == "select_one_external":
                word = alias.replace(" ", "_")
            return f"{word} {text[len(alias) :].strip()}{suffix}"
    return text + suffix


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


def _languages(survey: list[dict[str, str]], settings: Mapping[str, str]) -> dict[str, str]:
    """Which XLSForm language becomes Minping's Chinese (required), English, and each other language
    whose column names its BCP 47 tag (`label::Uyghur (ug)`)."""
    found: list[str] = []
    for row in survey:
        for column in row:
            if column == "label":
                found.append("")
            elif column.startswith("label::"):
                found.append(column.split("::", 1)[1])
    langs = list(dict.fromkeys(found))
    default = str(settings.get("default_language", ""))

    def code(lang: str) -> str:
        match = re.search(r"\(([A-Za-z-]+)\)\s*$", lang)
        tag = (match.group(1) if match else lang).lower()
        if tag.startswith("zh") or tag in ("chinese", "中文", "简体中文", "汉语", "普通话"):
            return "zh"
        if tag.startswith("en") or tag == "english":
            return "en"
        return tag

    chosen: dict[str, str] = {}
    for lang in langs:
        if code(lang) in ("zh", "en"):
            chosen.setdefault(code(lang), lang)
    for lang in langs:
        match = re.search(r"\(([A-Za-z0-9-]+)\)\s*$", lang)
        if match and code(lang) not in ("zh", "en") and re.match(LANGUAGE_TAG, match.group(1)):
            chosen.setdefault(match.group(1), lang)
    if "zh" not in chosen:  # no Chinese: the default (or first) language stands in for it
        rest = [lang for lang in langs if lang != chosen.get("en")]
        pick = default if default in rest else "" if "" in rest else rest[0] if rest else chosen.get("en", "")
        chosen["zh"] = pick
        chosen = {ours: lang for ours, lang in chosen.items() if ours == "zh" or lang != pick}
    return chosen


class _Converter:
    def __init__(self, sheets: _Sheets, name: str) -> None:
        self.s, self.name = sheets, name
        self.report = Report()
        self.marks: dict[str, list[str]] = {}
        self.known: dict[str, Known] = {}
        self.items: list[dict[str, Any]] = []
        self.groups: list[dict[str, Any]] = []
        self.scales: dict[str, Scale] = {}
        self.extras: dict[str, Any] = {}
        self.lists: dict[str, list[tuple[int, dict[str, str]]]] = {}
        self.ids: set[str] = set()

    # -- the whole form --------------------------------------------------------------------------

    def run(self) -> Imported:
        raw_extras = self.s.settings.get("minping")
        if raw_extras:
            self.extras = _decoded(raw_extras, dict[str, Any]) or {}
            if not isinstance(self.extras.get("scales", {}), dict) or not self.extras:
                self.extras = {}
                self.report.add("settings", "dropped", "minping 列不是有效的 Minping 设置，已忽略")
        for n, row in enumerate(self.s.choices, start=2):
            if row.get("list_name") and row.get("name"):
                self.lists.setdefault(str(row["list_name"]).strip(), []).append((n, row))
        self._languages_note()
        self._survey()
        if not any(i["type"] != "note" for i in self.items):
            raise ImportRefused(f"{self.name}: no question Minping can hold (see the report)")
        raw = self._head()
        return build(raw, self.marks, self.report, self.name)

    def _languages_note(self) -> None:
        described = ", ".join(f"{lang or '(无语言后缀)'} → {ours}" for ours, lang in self.s.langs.items())
        self.report.add("survey 表头", "carried", f"语言：{described}")
        kept = set(self.s.langs.values())
        others = {c.split("::", 1)[1] for row in self.s.survey for c in row if c.startswith("label::")}
        for lang in sorted(others - kept):
            self.report.add("survey 表头", "dropped", f"语言 {lang!r}：列名没有写出语言代码，如 label::Uyghur (ug)")

    def _head(self) -> dict[str, Any]:
        settings = self.s.settings
        slug = str(self.extras.get("slug") or settings.get(constants.ID_STRING) or self.name.rsplit(".", 1)[0])
        clean = re.sub(r"[^a-z0-9-]+", "-", slug.lower()).strip("-")[:63] or "imported"
        if len(clean) < 2:
            clean = f"{clean}-form"
        if clean != slug:
            self.report.add("settings", "changed", f"form_id {slug!r} → slug {clean!r}")
        version_text = str(settings.get("version", "1"))
        ascii_digits = version_text.isascii() and version_text.isdigit()
        version = int(version_text) if ascii_digits and 0 < int(version_text) < 2**31 else 1
        if str(version) != version_text:
            self.report.add("settings", "changed", f"version {version_text!r} → {version}")
        title = self.extras.get("title") or settings.get(constants.TITLE) or clean
        raw: dict[str, Any] = {"slug": clean, "version": version, "title": title}
        for key in ("intro", "privacy", "dimensions", "bad_rating"):
            if key in self.extras:
                raw[key] = self.extras[key]
        if self.scales:  # every scale it uses, so the file stands alone wherever it is put
            raw["scales"] = {k: msgspec.to_builtins(v) for k, v in self.scales.items()}
        if self.groups:
            raw["groups"] = self.groups
        if str(settings.get("style", "")).strip() == "pages":
            raw["paged"] = True
            self.report.add("settings", "carried", "style pages → paged: true（每组一页）")
        raw["items"] = self.items
        assert re.match(SLUG, clean)
        return raw

    # -- rows ------------------------------------------------------------------------------------

    def _texts(self, row: Mapping[str, str], column: str) -> Text | None:
        texts = {
            ours: str(row.get(f"{column}::{lang}" if lang else column, "") or "") for ours, lang in self.s.langs.items()
        }
        if not texts.get("zh") and any(texts.values()):
            texts["zh"] = next(v for v in texts.values() if v)
        return text_of(texts)

    def _survey(self) -> None:
        stack: list[dict[str, Any]] = []  # open groups: {"row", "name", "group" (Minping group or None), "when"}
        for n, row in enumerate(self.s.survey, start=2):
            where = f"survey 第 {n} 行"
            kind = " ".join(str(row.get("type", "")).split())
            if not kind:
                if row:
                    self.report.add(where, "dropped", "没有 type 的行")
                continue
            base = kind.split(" ")[0].lower()
            if base in ("begin", "begin_group") and (kind.lower() in ("begin group", "begin_group")):
                stack.append(self._begin_group(row, where, stack))
                continue
            if kind.lower() in ("end group", "end_group"):
                if stack:
                    stack.pop()
                continue
            if kind.lower() in ("begin repeat", "begin_repeat") or kind.lower().startswith("begin loop"):
                stack.append({"repeat": True, "group": None, "when": None, "name": row.get("name")})
                self.report.add(
                    where, "dropped", f"重复组 {row.get('name')!r}：Minping 没有可重复的题组，组内各题一并舍弃"
                )
                continue
            if kind.lower() in ("end repeat", "end_repeat", "end loop", "end_loop"):
                if stack:
                    stack.pop()
                continue
            if any(g.get("repeat") for g in stack):
                self.report.add(where, "dropped", f"{row.get('name')!r} 在重复组内")
                continue
            self._question(row, kind, where, stack)

    def _begin_group(self, row: Mapping[str, str], where: str, stack: list[dict[str, Any]]) -> dict[str, Any]:
        name = str(row.get("name", ""))
        when, failed = self._relevant(row, where, f"组 {name!r}")
        title = self._texts(row, "label")
        outer = next((g for g in reversed(stack) if g.get("group")), None)
        if outer is not None or title is None:
            # Minping groups do not nest and need a title: the items join the enclosing group, and
            # the group's condition is carried on each of them.
            why = "嵌套在另一个组内" if outer is not None else "没有标题"
            self.report.add(where, "changed", f"组 {name!r} {why}：不单独成组，组的显示条件并入组内每道题")
            return {"row": where, "name": name, "group": None, "when": when, "failed": failed}
        group_id = self._new_id(name, where)
        group: dict[str, Any] = {"id": group_id, "title": title}
        help_text = self._texts(row, "hint")
        if help_text is not None:
            group["help"] = help_text
        if when is not None:
            group["when"] = msgspec.to_builtins(when)
        self.groups.append(group)
        self.report.add(where, "carried", f"组 {name!r} → group {group_id}" + ("（带显示条件）" if when else ""))
        return {"row": where, "name": name, "group": group_id, "when": None, "failed": failed}

    def _question(self, row: Mapping[str, str], kind: str, where: str, stack: list[dict[str, Any]]) -> None:
        name = str(row.get("name", ""))
        words = kind.split(" ")
        base = words[0].lower()
        if base in _METADATA or kind.lower() in _METADATA:
            self.report.add(where, "dropped", f"{name!r}（{kind}）：设备和时间元数据，Minping 自己记录提交时间")
            return
        if base in ("select_one", "select_multiple") and len(words) >= 2:
            self._select(row, base, words[1], name, where, stack, or_other=words[2:] == ["or_other"])
            return
        held = _TYPES.get(base) or _TYPES.get(kind.lower())
        if held is None and kind.lower() not in _UNHELD and base not in _UNHELD:
            # Another name pyxform knows for a plain input (`phone number`, `string`, `int`…): by what it stores.
            stored = QUESTION_TYPE_DICT.get(kind.lower(), {}).get("bind", {}).get("type")
            held = {"string": "text", "int": "number", "decimal": "number", "date": "date"}.get(str(stored))
            if held is not None and QUESTION_TYPE_DICT[kind.lower()].get("control", {}).get("tag") == "input":
                extra = QUESTION_TYPE_DICT[kind.lower()]["bind"].get("constraint")
                note = f"，其内置检查 {extra!r} 没有保留" if extra else ""
                self.report.add(where, "changed", f"{name!r}：{kind!r} → {held}{note}")
            else:
                held = None
        if held is None:
            self.report.add(where, "dropped", f"{name!r}：Minping 没有 {kind!r} 类型的题")
            return
        item_type = held
        if base not in _TYPES:  # an alias: judged by what it became from here on
            base = held
        if base == "text" and "multiline" in str(row.get("appearance", "")):
            item_type = "longtext"
        item = self._item(row, name, item_type, where, stack)
        if item is None:
            return
        if base == "integer":
            self.report.add(where, "changed", f"{name!r}：integer → number（小数也会被接受）")
        self._finish(item, row, where, stack, Known(item["id"], item_type))

    def _select(
        self,
        row: Mapping[str, str],
        base: str,
        list_name: str,
        name: str,
        where: str,
        stack: list[Any],
        or_other: bool = False,
    ) -> None:
        options = self.lists.get(list_name)
        if not options:
            self.report.add(where, "dropped", f"{name!r}：choices 表里没有列表 {list_name!r}")
            return
        if row.get("choice_filter"):
            self.report.add(where, "dropped", f"{name!r}：choice_filter（级联选项）没有保留，所有选项都会显示")
        if base == "select_one" and not or_other:
            rating = self._rating(list_name, options, row)
            if rating is not None:
                scale, by_name, dont_know = rating
                item = self._item(row, name, "rating", where, stack)
                if item is None:
                    return
                item["scale"] = scale
                if dont_know:
                    item["dont_know"] = True
                self._finish(item, row, where, stack, Known(item["id"], "rating", by_name))
                return
            names = [str(r["name"]).strip() for _, r in options]
            if sorted(n.lower() for n in names) == ["no", "yes"]:
                item = self._item(row, name, "yesno", where, stack)
                if item is not None:
                    answers: dict[str, Any] = {n: n.lower() == "yes" for n in names}
                    self._finish(item, row, where, stack, Known(item["id"], "yesno", answers))
                return
        item_type = "choice" if base == "select_one" else "multi"
        item = self._item(row, name, item_type, where, stack)
        if item is None:
            return
        values: dict[str, Any] = {}
        item["options"] = []
        for n, option in options:
            raw_value = str(option["name"]).strip()
            value = re.sub(r"[^A-Za-z0-9_-]", "_", raw_value)[:40] or f"o{n}"
            while value in values.values():
                value = f"{value[:36]}_{n}"
            if value != raw_value:
                self.report.add(f"choices 第 {n} 行", "changed", f"选项 {raw_value!r} → {value!r}")
            label = self._texts(option, "label") or raw_value
            values[raw_value] = value
            item["options"].append({"value": value, "label": msgspec.to_builtins(label)})
        if or_other and "other" not in values.values():
            # pyxform's or_other: an option "other" and a text question `<name>_other` asked when it is chosen.
            values["other"] = "other"
            item["options"].append({"value": "other", "label": {"zh": "其他", "en": "Other"}})
        if len(item["options"]) < 2:
            self.report.add(where, "dropped", f"{name!r}：选项少于两个")
            self.items.remove(item)
            return
        self._finish(item, row, where, stack, Known(item["id"], item_type, values))
        if or_other:  # `_item` returns None only for a note without text
            specify = self._item(
                {}, f"{name}_other", "text", where, stack, text={"zh": "请注明", "en": "Please specify"}
            )
            assert specify is not None
            specify["other_of"] = {"item": item["id"], "option": "other"}
            self.known[f"{name}_other"] = Known(specify["id"], "text")
            self.report.add(
                where, "changed", f"{name!r}：or_other → 选项 other 和注明题 {specify['id']}（选“其他”时填写）"
            )

    def _rating(
        self, list_name: str, options: list[tuple[int, dict[str, str]]], row: Mapping[str, str]
    ) -> tuple[str, dict[str, Any], bool] | None:
        """A list that is a rating scale: a Minping export's (its scale, by name), a library scale by its
        labels, or a five-level satisfaction list (满意 … 不满意) under its own name."""
        names = [str(r["name"]).strip() for _, r in options]
        labels = [self._texts(r, "label") for _, r in options]
        zh = [_zh(label) for label in labels]
        dont_know = [
            i for i, text in enumerate(zh) if text.strip().lower() in _DONT_KNOW_LABELS or names[i] == DONT_KNOW
        ]
        if len(dont_know) > 1:
            return None
        keep = [i for i in range(len(names)) if i not in dont_know]
        if not 2 <= len(keep) <= 11:
            return None
        exported = (self.extras.get("scales") or {}).get(str(row.get("minping_scale") or list_name))
        scales = dict(library())
        try:
            if exported is not None:
                scales[str(row.get("minping_scale") or list_name)] = msgspec.convert(exported, Scale)
        except msgspec.ValidationError:
            self.report.add(f"choices {list_name!r}", "dropped", "minping 设置里的量表定义无效，已忽略")
        for scale_name, scale in scales.items():
            levels = [_zh(level.label) for level in scale.levels]
            given = [zh[i] for i in keep]
            for order in (1, -1):
                if given == levels[::order]:
                    by_level = scale.levels[::order]
                    values: dict[str, Any] = {names[i]: by_level[k].value for k, i in enumerate(keep)}
                    values |= {names[i]: DONT_KNOW for i in dont_know}
                    self.scales[scale_name] = scale
                    return scale_name, values, bool(dont_know)
        given = [zh[i] for i in keep]
        if len(keep) == 5 and all("满意" in t or "satisf" in t.lower() for t in given):
            best_first = "不" not in given[0] and "dis" not in given[0].lower()
            ordered = keep if best_first else keep[::-1]
            scale_name = re.sub(r"[^A-Za-z0-9_-]", "_", list_name)
            own = [{"value": 5 - k, "label": msgspec.to_builtins(labels[i])} for k, i in enumerate(ordered)]
            self.scales[scale_name] = msgspec.convert({"levels": own}, Scale)
            values = {names[i]: 5 - k for k, i in enumerate(ordered)}
            values |= {names[i]: DONT_KNOW for i in dont_know}
            self.report.add(
                f"choices {list_name!r}", "changed", f"五级满意度列表 → 评分量表 {scale_name!r}（5 = 最满意）"
            )
            return scale_name, values, bool(dont_know)
        return None

    def _item(
        self,
        row: Mapping[str, str],
        name: str,
        item_type: str,
        where: str,
        stack: list[dict[str, Any]],
        text: Any = None,
    ) -> dict[str, Any] | None:
        text = text or self._texts(row, "label")
        if text is None:
            if item_type == "note":
                self.report.add(where, "dropped", f"{name!r}：没有文字的说明")
                return None
            text = name
            self.report.add(where, "changed", f"{name!r}：没有题目文字，用题目名代替")
        item_id = self._new_id(name, where)
        item: dict[str, Any] = {"id": item_id, "type": item_type, "text": msgspec.to_builtins(text)}
        help_text = self._texts(row, "hint")
        if help_text is not None:
            item["help"] = msgspec.to_builtins(help_text)
        group = next((g["group"] for g in reversed(stack) if g.get("group")), None)
        if group is not None:
            item["group"] = group
        self.items.append(item)
        return item

    def _new_id(self, name: str, where: str) -> str:
        clean = re.sub(r"[^A-Za-z0-9_]", "_", name)
        if not clean or not clean[0].isalpha():
            clean = f"q_{clean}"
        clean = clean[:40]
        while clean in self.ids:
            clean = f"{clean[:36]}_{len(self.ids)}"
        if clean != name:
            self.report.add(where, "changed", f"名称 {name!r} → id {clean!r}")
        assert re.match(ITEM_ID, clean)
        self.ids.add(clean)
        return clean

    def _finish(
        self, item: dict[str, Any], row: Mapping[str, str], where: str, stack: list[dict[str, Any]], known: Known
    ) -> None:
        """Required, conditions, constraints and the Minping extras of a kept item; then it is known."""
        name = str(row.get("name", ""))
        # Conditions of the untitled or nested groups around it (a titled group holds its own).
        stack_conditions = [g["when"] for g in stack if g.get("when") is not None]
        for g in stack:
            if g.get("failed"):
                self._mark(item, f"所在组 {g['name']!r} 的{g['failed']}")
        required = str(row.get("required", "")).strip().lower()
        if required in ("yes", "true", "true()", "1"):
            if item["type"] == "note":
                self.report.add(where, "dropped", f"{name!r}：说明不能必答")
            else:
                item["required"] = True
                message = self._texts(row, "required_message")
                if message is not None:
                    item["required_message"] = msgspec.to_builtins(message)
        elif required not in ("", "no", "false", "false()", "0"):
            self.report.add(where, "dropped", f"{name!r}：必答条件 {required!r} 无法表达，本题改为选答")
            self._mark(item, f"XLSForm 的必答条件 {required!r} 没有保留，本题为选答")
        when, failed = self._relevant(row, where, f"{name!r}")
        if failed:
            self._mark(item, failed)
        parts = [*stack_conditions, *([when] if when is not None else [])]
        other_of = _decoded(row.get("minping_other_of"), OtherOf)
        if other_of is not None and other_of.item in {k.id for k in self.known.values()}:
            kind = self._kind(other_of.item)
            option = [other_of.option]
            bound = (
                Condition(item=other_of.item, any_of=option)
                if kind == "multi"
                else Condition(item=other_of.item, is_=option)
            )
            if xpath.of_condition(bound, self._form_value, self._kind) == str(row.get("relevant", "")).strip():
                item["other_of"] = msgspec.to_builtins(other_of)  # a Minping export's "please specify"
                when, parts = None, stack_conditions
        show_if = _decoded(row.get("minping_show_if"), ShowIf)
        if show_if is not None and when is not None:  # a Minping export's show_if, unless `relevant` was edited
            as_condition = Condition(item=show_if.item, is_=list(show_if.values))
            if xpath.of_condition(as_condition, self._form_value, self._kind) == str(row.get("relevant", "")).strip():
                item["show_if"] = msgspec.to_builtins(show_if)
                parts = stack_conditions
        if parts:
            item["when"] = msgspec.to_builtins(parts[0] if len(parts) == 1 else Condition(all=parts))
        self._checks(item, row, where)
        self._parameters(item, row, where)
        for column, key in (("minping_dimension", "dimension"), ("minping_demographic", "demographic")):
            if row.get(column):
                item[key] = str(row[column])
        weight = _decoded(row.get("minping_weight"), float)
        if weight is not None:
            item["weight"] = weight
        if str(row.get("minping_reverse", "")).lower() in ("yes", "true", "1"):
            item["reverse"] = True
        for column in row:
            if (
                row.get(column) not in (None, "")
                and column.split("::")[0] not in _READ
                and not column.startswith("minping_")
            ):
                self.report.add(where, "dropped", f"{name!r}：{column} 列（{str(row[column])[:40]!r}）没有保留")
        self.known[name] = known
        outcome_text = f"{name!r} → {item['type']} {item['id']}"
        self.report.add(where, "carried", outcome_text)

    def _relevant(self, row: Mapping[str, str], where: str, what: str) -> tuple[Condition | None, str | None]:
        """The row's `relevant` as a condition, or (None, why) when it cannot be held."""
        text = str(row.get("relevant", "") or "").strip()
        if not text:
            return None, None
        exact = row.get("minping_when")
        if exact:  # a Minping export: its own condition, unless `relevant` was edited since
            try:
                condition = msgspec.json.decode(str(exact), type=Condition)
                if xpath.of_condition(condition, self._form_value, self._kind) == text:
                    return condition, None
            except (msgspec.DecodeError, msgspec.ValidationError, KeyError, StopIteration):
                pass
        try:
            return xpath.condition(
                text, self._type_of, ValueOf(self.known, "a choice", refuse_typed=True), self._id_of
            ), None
        except xpath.Unsupported as exc:
            self.report.add(where, "dropped", f"{what} 的显示条件 {text!r} 无法表达（{exc}），改为总是显示")
            return None, f"XLSForm 显示条件 {text!r} 无法表达（{exc}），总是显示"

    def _mark(self, item: dict[str, Any], text: str) -> None:
        self.marks.setdefault(item["id"], []).append(text)

    def _parameters(self, item: dict[str, Any], row: Mapping[str, str], where: str) -> None:
        """`randomize=true` on a select (read by pyxform's own parameter parser); the rest is reported."""
        text = str(row.get("parameters", "") or "").strip()
        if not text:
            return
        try:
            found = dict(parameters.parse(text, 0))
        except PyXFormError:
            found = {}
        if str(found.pop("randomize", "")).lower() == "true" and item["type"] in ("choice", "multi"):
            item["randomize"] = True
        found.pop("seed", None) if item.get("randomize") else None
        for key, value in found.items():
            self.report.add(where, "dropped", f"{row.get('name')!r}：参数 {key}={value} 没有保留")

    def _checks(self, item: dict[str, Any], row: Mapping[str, str], where: str) -> None:
        text = str(row.get("constraint", "") or "").strip()
        if not text:
            return
        name = str(row.get("name", ""))
        try:
            found = xpath.constraints(text, item["type"])
        except xpath.Unsupported as exc:
            self.report.add(where, "dropped", f"{name!r} 的约束 {text!r} 无法表达（{exc}），不再检查")
            self._mark(item, f"XLSForm 的约束 {text!r} 没有保留（{exc}）")
            return
        item.update(found)
        message = self._texts(row, "constraint_message")
        if message is not None:
            item["constraint_message"] = msgspec.to_builtins(message)

    # -- what conditions need to know about earlier items ----------------------------------------

    def _type_of(self, name: str) -> str | None:
        known = self.known.get(name)
        return known.type if known else None

    def _id_of(self, name: str) -> str:
        return self.known[name].id

    def _kind(self, item_id: str) -> str:
        return next((k.type for k in self.known.values() if k.id == item_id), "")

    def _form_value(self, item_id: str, value: Any) -> str:
        """A stored value as the XLSForm choice name (the inverse of `_ValueOf`)."""
        known = next((k for k in self.known.values() if k.id == item_id), None)
        if known is not None:
            for choice, stored in known.values.items():
                if type(stored) is type(value) and stored == value:
                    return choice
        return _plain(value)


def _decoded(value: Any, kind: Any) -> Any:
    """A `minping_*` cell as `kind` (JSON), or None when it is empty or not valid: then the standard columns rule."""
    if value in (None, ""):
        return None
    try:
        return msgspec.json.decode(str(value), type=kind)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None


def _zh(text: Text | None) -> str:
    if text is None:
        return ""
    return text if isinstance(text, str) else text.zh


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --- export -----------------------------------------------------------------------------------------

LANG_COLUMNS = {"zh": "Chinese (zh)", "en": "English (en)"}


def export(q: Questionnaire) -> bytes:
    """The questionnaire as an XLSForm workbook (.xlsx) that pyxform converts without error."""
    survey: list[dict[str, Any]] = []
    choices: list[dict[str, Any]] = []
    lists: set[str] = set()

    languages = [lang for lang in q.languages() if lang not in ("zh", "en")]

    def texts(column: str, text: Text | None) -> dict[str, str]:
        if text is None:
            return {}
        local = LocalText(zh=text) if isinstance(text, str) else text
        found = {f"{column}::{LANG_COLUMNS['zh']}": local.zh}
        if local.en:
            found[f"{column}::{LANG_COLUMNS['en']}"] = local.en
        for lang in languages:
            if not isinstance(local.other, msgspec.UnsetType) and local.other.get(lang):
                found[f"{column}::{_column_language(lang)}"] = local.other[lang]
        return found

    def add_list(list_name: str, rows: list[tuple[str, Text]]) -> None:
        if list_name not in lists:
            lists.add(list_name)
            choices.extend({"list_name": list_name, "name": value, **texts("label", label)} for value, label in rows)

    def form_value(item_id: str, value: Any) -> str:
        return _plain(value)

    kinds = {i.id: i.type for i in q.items}
    open_group: str | None = None
    for item in q.items:
        group = q.group(item.group)
        if (group.id if group else None) != open_group:
            if open_group is not None:
                survey.append({"type": "end group", "name": ""})
            if group is not None:
                row = {
                    "type": "begin group",
                    "name": group.id,
                    **texts("label", group.title),
                    **texts("hint", group.help),
                }
                if group.when is not None:
                    row["relevant"] = xpath.of_condition(group.when, form_value, kinds.__getitem__)
                    row["minping_when"] = msgspec.json.encode(group.when).decode()
                survey.append(row)
            open_group = group.id if group else None
        survey.append(_export_item(q, item, texts, add_list, form_value, kinds))
    if open_group is not None:
        survey.append({"type": "end group", "name": ""})
    extras = {
        "slug": q.slug,
        "title": msgspec.to_builtins(q.title),
        "scales": msgspec.to_builtins(q.scales),
        "dimensions": msgspec.to_builtins(q.dimensions),
    }
    for key in ("intro", "privacy"):
        if getattr(q, key) is not None:
            extras[key] = msgspec.to_builtins(getattr(q, key))
    if not isinstance(q.bad_rating, msgspec.UnsetType):
        extras["bad_rating"] = msgspec.to_builtins(q.bad_rating)
    if not extras["dimensions"]:
        del extras["dimensions"]
    settings = {
        "form_title": _zh(q.title),
        "form_id": q.slug,
        "version": str(q.version),
        "default_language": LANG_COLUMNS["zh"],
        "minping": json.dumps(extras, ensure_ascii=False, sort_keys=True),
    }
    if q.paged is True:
        settings["style"] = "pages"
    return _workbook({"survey": survey, "choices": choices, "settings": [settings]})


def _export_item(
    q: Questionnaire, item: Item, texts: Any, add_list: Any, form_value: Any, kinds: Mapping[str, str]
) -> dict[str, Any]:
    row: dict[str, Any] = {"name": item.id, **texts("label", item.text), **texts("hint", item.help)}
    if item.type == "rating":
        scale = q.scales[item.scale or ""]
        list_name = f"{item.scale}_dk" if item.dont_know else str(item.scale)
        levels = [(str(level.value), level.label) for level in scale.levels]
        add_list(list_name, levels + ([(DONT_KNOW, scale.dont_know_label)] if item.dont_know else []))
        row["type"] = f"select_one {list_name}"
        row["minping_scale"] = item.scale
    elif item.type in ("choice", "multi"):
        list_name = f"{item.id}_options"
        add_list(list_name, [(o.value, o.label) for o in item.options or []])
        row["type"] = f"{'select_one' if item.type == 'choice' else 'select_multiple'} {list_name}"
    elif item.type == "yesno":
        add_list("yesno", [("yes", LocalText(zh="是", en="Yes")), ("no", LocalText(zh="否", en="No"))])
        row["type"] = "select_one yesno"
    elif item.type == "longtext":
        row["type"], row["appearance"] = "text", "multiline"
    elif item.type == "number":
        row["type"] = "decimal"
    else:
        row["type"] = item.type  # text, date, note
    if item.randomize is True:
        row["parameters"] = "randomize=true"
    if item.required:
        row["required"] = "yes"
        row |= texts(
            "required_message", None if isinstance(item.required_message, msgspec.UnsetType) else item.required_message
        )
    condition = q.condition_of(item)
    if not isinstance(item.other_of, msgspec.UnsetType):
        row["minping_other_of"] = msgspec.json.encode(item.other_of).decode()
        if item.show_if is not None or not isinstance(item.when, msgspec.UnsetType):
            raise ValueError(f"{item.id}: a please-specify item with a condition of its own cannot be exported")
    elif item.show_if is not None and isinstance(item.when, msgspec.UnsetType):
        row["minping_show_if"] = msgspec.json.encode(item.show_if).decode()
    elif condition is not None:
        row["minping_when"] = msgspec.json.encode(condition).decode()
        if item.show_if is not None:
            raise ValueError(f"{item.id}: an item with both show_if and when cannot be exported")
    if condition is not None:
        row["relevant"] = xpath.of_condition(condition, form_value, kinds.__getitem__)
    checks = {
        f: getattr(item, f) for f in ("min", "max", "min_length", "max_length", "pattern", "min_choices", "max_choices")
    }
    checks = {f: v for f, v in checks.items() if v is not None and not isinstance(v, msgspec.UnsetType)}
    if checks:
        row["constraint"] = xpath.of_constraints(checks)
    if not isinstance(item.constraint_message, msgspec.UnsetType):
        row |= texts("constraint_message", item.constraint_message)
    if item.dimension:
        row["minping_dimension"] = item.dimension
    if item.weight != 1.0:
        row["minping_weight"] = repr(item.weight)
    if item.reverse:
        row["minping_reverse"] = "yes"
    if item.demographic:
        row["minping_demographic"] = item.demographic
    return row


def _column_language(tag: str) -> str:
    """An XLSForm language column name for a tag: `Uyghur (ug)` (pyxform wants the code in brackets)."""
    try:
        name = Locale.parse(tag.replace("-", "_")).get_display_name("en") or tag
    except (ValueError, UnknownLocaleError):
        name = tag
    return f"{name} ({tag})"


def _workbook(sheets: dict[str, list[dict[str, Any]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        columns = list(dict.fromkeys(c for row in rows for c in row))
        sheet.append(columns)
        for row in rows:
            sheet.append([row.get(c, "") for c in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
