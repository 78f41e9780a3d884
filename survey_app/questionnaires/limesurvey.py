"""LimeSurvey survey structure files (.lss, XML) to Minping questionnaires, reported question by question.

Both layouts are read: LimeSurvey 4 and later keep texts in `*_l10ns` tables, older exports keep them
in the rows themselves. The XML is parsed with defusedxml (no entities, no external references).
Relevance equations (Expression Manager) are read for the forms Minping holds: comparisons of a
question code with a value (`Q1.NAOK == "A1"`, `eq`, `!=`, `<` …), `and`/`or`/`!`, `is_empty()`,
and a ticked option of a multiple-choice question (`Q2_SQ001 == "Y"`); anything else is reported
and the question kept unconditional and marked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from xml.etree.ElementTree import Element

import msgspec
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from survey_app.i18n import LANGUAGE_TAG
from survey_app.questionnaires import xpath
from survey_app.questionnaires.conditions import Condition
from survey_app.questionnaires.format import DONT_KNOW, Scale
from survey_app.questionnaires.importing import Imported, ImportRefused, Known, Report, ValueOf, build, library, text_of
from survey_app.questionnaires.xpath import Node, Unsupported

SUFFIXES = (".lss",)
MAX_BYTES = 4 * 1024 * 1024
_TAGS = re.compile(r"<[^>]+>")
_DONT_KNOW = {"不清楚", "不知道", "说不清", "不了解", "don't know", "dont know", "do not know", "not sure", "no answer"}

# LimeSurvey question types Minping holds, and how.
_SIMPLE = {"S": "text", "T": "longtext", "U": "longtext", "N": "number", "D": "date", "X": "note", "Y": "yesno"}
_LISTS = {"L": "choice", "!": "choice", "O": "choice"}
_TYPE_NAMES = {
    "A": "array (5 point)", "B": "array (10 point)", "C": "array (yes/no/uncertain)",
    "E": "array (increase/same/decrease)",
    "H": "array by column", "1": "dual-scale array", ";": "array of texts", ":": "array of numbers",
    "K": "multiple numerical", "Q": "multiple short texts", "R": "ranking", "|": "file upload", "*": "equation",
    "I": "language switch",
}  # fmt: skip


def _rows(root: Element, table: str) -> list[dict[str, str]]:
    found = root.find(table)
    if found is None or found.find("rows") is None:
        return []
    return [{child.tag: (child.text or "").strip() for child in row} for row in found.find("rows") or []]


def _order(text: str | None) -> int:
    """A sort order as LimeSurvey writes it (digits); anything else sorts first, as 0."""
    return int(text) if text and text.isascii() and text.isdigit() and len(text) < 10 else 0


def _plain(html: str) -> str:
    """Question texts are HTML in LimeSurvey; Minping texts are plain."""
    text = _TAGS.sub(" ", html).replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    return " ".join(text.split())


def read(data: bytes, filename: str) -> Imported:
    """Convert a LimeSurvey .lss file to a Minping questionnaire with its report.

    :raise ImportRefused: not LimeSurvey XML, too large, unsafe XML, or nothing Minping can hold.
    """
    name = filename or "survey.lss"
    if len(data) > MAX_BYTES:
        raise ImportRefused(f"{name}: the file is larger than {MAX_BYTES // 1024 // 1024} MB")
    try:
        root = ElementTree.fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise ImportRefused(f"{name}: not a LimeSurvey structure file ({' '.join(str(exc).split())[:200]})") from None
    if root.tag != "document" or (root.findtext("LimeSurveyDocType") or "").strip() != "Survey":
        raise ImportRefused(f"{name}: not a LimeSurvey survey structure file (.lss)")
    try:
        return _Converter(root, name).run()
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        if isinstance(exc, ImportRefused):
            raise
        # A structure this converter does not expect (a hand-edited or damaged file): a refusal, not a crash.
        raise ImportRefused(
            f"{name}: the survey structure is damaged or of an unknown layout ({type(exc).__name__}: {exc})"
        ) from None


class _Converter:
    def __init__(self, root: Element, name: str) -> None:
        self.root, self.name = root, name
        self.report = Report()
        self.marks: dict[str, list[str]] = {}
        self.known: dict[str, Known] = {}
        self.items: list[dict[str, Any]] = []
        self.groups: list[dict[str, Any]] = []
        self.scales: dict[str, Scale] = {}
        self.ids: set[str] = set()
        self.aliases: dict[str, str] = {}
        survey = (_rows(root, "surveys") or [{}])[0]
        languages = [survey.get("language", "")] + survey.get("additional_languages", "").split()
        languages = [lang for lang in languages if lang] or [(root.findtext("languages/language") or "en").strip()]
        zh = next((lang for lang in languages if lang.lower().startswith("zh")), languages[0])
        en = next((lang for lang in languages if lang.lower().startswith("en") and lang != zh), None)
        self.langs = {"zh": zh, **({"en": en} if en else {})}
        for lang in languages:
            if lang not in self.langs.values() and re.match(LANGUAGE_TAG, lang):
                self.langs[lang] = lang
        described = "，".join(f"{theirs} → {ours}" for ours, theirs in self.langs.items())
        self.report.add("survey", "carried", f"语言：{described}")
        for lang in languages:
            if lang not in self.langs.values():
                self.report.add("survey", "dropped", f"语言 {lang!r}：不是 BCP 47 语言代码")
        self.survey = survey

    def _text(self, by_lang: Mapping[str, str]) -> Any:
        texts = {ours: _plain(by_lang.get(lang, "")) for ours, lang in self.langs.items()}
        if not texts.get("zh"):
            texts["zh"] = next((t for t in texts.values() if t), "")
        text = text_of(texts)
        return msgspec.to_builtins(text) if text is not None else None

    def _texts_of(self, table: str, key: str, field_name: str, rows: list[dict[str, str]]) -> dict[str, dict[str, str]]:
        """{row key: {language: text}} from an l10ns table, or from the rows themselves (older files)."""
        found: dict[str, dict[str, str]] = {}
        for row in _rows(self.root, table) or rows:
            if field_name in row:
                found.setdefault(row.get(key, ""), {})[row.get("language", "")] = row[field_name]
        return found

    def run(self) -> Imported:
        questions = [q for q in _rows(self.root, "questions") if q.get("qid")]
        groups = [g for g in _rows(self.root, "groups") if g.get("gid")]
        group_names = self._texts_of("group_l10ns", "gid", "group_name", groups)
        question_texts = self._texts_of("question_l10ns", "qid", "question", questions)
        helps = self._texts_of("question_l10ns", "qid", "help", questions)
        answers = self._answers()
        order = {g["gid"]: _order(g.get("group_order")) for g in groups}
        tops = {q["qid"]: q for q in questions if q.get("parent_qid", "0") in ("0", "")}
        # Equations may name a question by its id instead of its code: Q481, or 494923X97X481 (SGQA).
        for q in tops.values():
            self.aliases[f"Q{q['qid']}"] = q.get("title", "")
            self.aliases[f"{q.get('sid', '')}X{q.get('gid', '')}X{q['qid']}"] = q.get("title", "")
        subs: dict[str, list[dict[str, str]]] = {}
        for q in questions:
            if q.get("parent_qid", "0") not in ("0", "") and q.get("scale_id", "0") in ("0", ""):
                subs.setdefault(q["parent_qid"], []).append(q)
        for children in subs.values():
            children.sort(key=lambda q: _order(q.get("question_order")))
        ordered = sorted(tops.values(), key=lambda q: (order.get(q.get("gid", ""), 0), _order(q.get("question_order"))))
        seen_groups: dict[str, str] = {}
        for gid in sorted({q.get("gid", "") for q in ordered}, key=lambda g: order.get(g, 0)):
            row = next((g for g in groups if g.get("gid") == gid), {})
            title = self._text(group_names.get(gid, {})) or f"第 {len(seen_groups) + 1} 部分"
            group_id = self._new_id(f"group_{gid}", None)
            group: dict[str, Any] = {"id": group_id, "title": title}
            relevance = row.get("grelevance", "")
            if relevance not in ("", "1"):
                try:
                    group["when"] = msgspec.to_builtins(self._condition(relevance))
                except Unsupported as exc:
                    self.report.add(
                        f"问题组 {gid}", "dropped", f"显示条件 {relevance!r} 无法表达（{exc}），改为总是显示"
                    )
                    group["failed"] = f"所在问题组的显示条件 {relevance!r} 无法表达，总是显示"
            seen_groups[gid] = group_id
            self.groups.append(group)
        for q in ordered:
            texts = question_texts.get(q["qid"], {})
            self._question(
                q, texts, helps.get(q["qid"], {}), subs.get(q["qid"], []), question_texts, answers, seen_groups
            )
        failed = {g["id"]: g.pop("failed") for g in self.groups if "failed" in g}
        for item in self.items:
            if item.get("group") in failed:
                self.marks.setdefault(item["id"], []).append(failed[item["group"]])
        used = {i.get("group") for i in self.items}
        self.groups = [g for g in self.groups if g["id"] in used]
        if not any(i["type"] != "note" for i in self.items):
            raise ImportRefused(f"{self.name}: no question Minping can hold (see the report)")
        return build(self._head(), self.marks, self.report, self.name)

    def _head(self) -> dict[str, Any]:
        settings = _rows(self.root, "surveys_languagesettings")
        titles = {r.get("surveyls_language", ""): r.get("surveyls_title", "") for r in settings}
        intros = {r.get("surveyls_language", ""): r.get("surveyls_description", "") for r in settings}
        sid = self.survey.get("sid", "") or "survey"
        raw: dict[str, Any] = {
            "slug": f"limesurvey-{re.sub(r'[^a-z0-9-]', '-', sid.lower())}"[:63],
            "version": 1,
            "title": self._text(titles) or self.name,
        }
        self.report.add("survey", "changed", f"slug {raw['slug']!r}（来自问卷编号 {sid}），version 1")
        intro = self._text(intros)
        if intro:
            raw["intro"] = intro
        if self.scales:
            raw["scales"] = {k: msgspec.to_builtins(v) for k, v in self.scales.items()}
        if len(self.groups) > 1 and (self.survey.get("format") or "G") in ("G", "S"):
            raw["paged"] = True
            self.report.add("survey", "carried", "按问题组分页（format G）→ paged: true")
        raw["groups"] = self.groups
        raw["items"] = self.items
        return raw

    def _answers(self) -> dict[str, list[tuple[str, dict[str, str]]]]:
        """{qid: [(code, {language: text})]} in sort order."""
        rows = _rows(self.root, "answers")
        l10n = self._texts_of("answer_l10ns", "aid", "answer", [])
        found: dict[str, list[tuple[int, str, dict[str, str]]]] = {}
        for row in rows:
            if row.get("scale_id", "0") not in ("0", "") or not row.get("qid") or not row.get("code"):
                continue
            texts = (
                l10n.get(row.get("aid", ""), {}) if "aid" in row else {row.get("language", ""): row.get("answer", "")}
            )
            entries = found.setdefault(row["qid"], [])
            existing = next((e for e in entries if e[1] == row["code"]), None)
            if existing is not None:
                existing[2].update(texts)
            else:
                entries.append((_order(row.get("sortorder")), row["code"], dict(texts)))
        return {qid: [(code, texts) for _, code, texts in sorted(entries)] for qid, entries in found.items()}

    def _question(
        self,
        q: dict[str, str],
        texts: dict[str, str],
        helps: dict[str, str],
        subs: list[dict[str, str]],
        all_texts: dict[str, dict[str, str]],
        answers: dict[str, list[tuple[str, dict[str, str]]]],
        groups: dict[str, str],
    ) -> None:
        code, kind = q.get("title", ""), q.get("type", "")
        where = f"问题 {code}"
        group = groups.get(q.get("gid", ""))
        if kind in _TYPE_NAMES:
            self.report.add(where, "dropped", f"Minping 没有“{_TYPE_NAMES[kind]}”（类型 {kind}）这类题")
            return
        if kind == "F":  # an array: one item per row, each with the array's answers
            self.report.add(where, "changed", f"矩阵题拆成 {len(subs)} 道单选题（{code}_子问题代码）")
            for sub in subs:
                sub_texts = {
                    lang: f"{_plain(texts.get(lang, ''))} {_plain(t)}".strip()
                    for lang, t in all_texts.get(sub["qid"], {}).items()
                }
                self._list(
                    q,
                    f"{code}_{sub.get('title', '')}",
                    sub_texts,
                    helps,
                    answers.get(q["qid"], []),
                    group,
                    where,
                    "choice",
                )
            return
        if kind in _LISTS or kind == "5" or kind == "G":
            options = answers.get(q["qid"], [])
            if kind == "5":
                options = [(str(v), {lang: str(v) for lang in self.langs.values()}) for v in (1, 2, 3, 4, 5)]
            if kind == "G":
                options = [("F", self._fixed("女", "Female")), ("M", self._fixed("男", "Male"))]
            if kind == "O":
                self.report.add(where, "dropped", "单选附加评论框没有保留")
            if q.get("other") == "Y":
                self.report.add(where, "dropped", "“其他”填空选项没有保留")
            self._list(q, code, texts, helps, options, group, where, "choice", five_point=kind == "5")
            return
        if kind in ("M", "P"):
            if kind == "P":
                self.report.add(where, "dropped", "多选附加评论框没有保留")
            if q.get("other") == "Y":
                self.report.add(where, "dropped", "“其他”填空选项没有保留")
            options = [(s.get("title", ""), all_texts.get(s["qid"], {})) for s in subs]
            self._list(q, code, texts, helps, options, group, where, "multi")
            return
        if kind not in _SIMPLE:
            self.report.add(where, "dropped", f"未知的题型 {kind!r}")
            return
        item = self._item(q, code, _SIMPLE[kind], texts, helps, group, where)
        if item is not None:
            values = {"Y": True, "N": False} if kind == "Y" else {}
            self._finish(item, q, where, Known(item["id"], item["type"], values))

    def _fixed(self, zh: str, en: str) -> dict[str, str]:
        """Texts LimeSurvey supplies itself (the gender question's options), in the import's languages."""
        return {self.langs["zh"]: zh, **({self.langs["en"]: en} if "en" in self.langs else {})}

    def _list(
        self,
        q: dict[str, str],
        code: str,
        texts: dict[str, str],
        helps: dict[str, str],
        options: list[tuple[str, dict[str, str]]],
        group: str | None,
        where: str,
        kind: str,
        five_point: bool = False,
    ) -> None:
        labels = [self._text(t) or c for c, t in options]
        zh = [label if isinstance(label, str) else label["zh"] for label in labels]
        if kind == "choice":
            rating = self._rating(code, [c for c, _ in options], labels, zh, five_point, where)
            if rating is not None:
                scale, values, dont_know = rating
                item = self._item(q, code, "rating", texts, helps, group, where)
                if item is not None:
                    item["scale"] = scale
                    if dont_know:
                        item["dont_know"] = True
                    self._finish(item, q, where, Known(item["id"], "rating", values))
                return
        item = self._item(q, code, kind, texts, helps, group, where)
        if item is None:
            return
        chosen: dict[str, Any] = {}
        item["options"] = []
        for (raw, _), label in zip(options, labels, strict=True):
            value = re.sub(r"[^A-Za-z0-9_-]", "_", raw)[:40] or f"o{len(chosen)}"
            chosen[raw] = value
            item["options"].append({"value": value, "label": label})
        if len(item["options"]) < 2:
            self.items.remove(item)
            self.report.add(where, "dropped", "选项少于两个")
            return
        self._finish(item, q, where, Known(item["id"], kind, chosen))

    def _rating(
        self, code: str, codes: list[str], labels: list[Any], zh: list[str], five_point: bool, where: str
    ) -> tuple[str, dict[str, Any], bool] | None:
        dont_know = [i for i, t in enumerate(zh) if t.strip().lower() in _DONT_KNOW]
        keep = [i for i in range(len(codes)) if i not in dont_know]
        if len(dont_know) > 1 or not 2 <= len(keep) <= 11:
            return None
        given = [zh[i] for i in keep]
        for scale_name, scale in library().items():
            levels = [level.label if isinstance(level.label, str) else level.label.zh for level in scale.levels]
            for order in (1, -1):
                if given == levels[::order]:
                    by_level = scale.levels[::order]
                    self.scales[scale_name] = scale  # the file stands alone wherever it is put
                    values: dict[str, Any] = {codes[i]: by_level[k].value for k, i in enumerate(keep)}
                    return scale_name, values | {codes[i]: DONT_KNOW for i in dont_know}, bool(dont_know)
        satisfaction = len(keep) == 5 and all("满意" in t or "satisf" in t.lower() for t in given)
        if not (satisfaction or five_point):
            return None
        best_first = satisfaction and "不" not in given[0] and "dis" not in given[0].lower()
        ordered = keep if best_first else keep[::-1]  # LimeSurvey's five-point choice lists 1 … 5, 5 best
        name = "five_point" if five_point else re.sub(r"[^A-Za-z0-9_-]", "_", code)
        own = [{"value": 5 - k, "label": labels[i]} for k, i in enumerate(ordered)]
        self.scales[name] = msgspec.convert({"levels": own}, Scale)
        what = "五分制评分题" if five_point else "五级满意度列表"
        self.report.add(where, "changed", f"{what} → 评分量表 {name!r}（5 = 最好）")
        values = {codes[i]: 5 - k for k, i in enumerate(ordered)} | {codes[i]: DONT_KNOW for i in dont_know}
        return name, values, bool(dont_know)

    def _item(
        self,
        q: dict[str, str],
        code: str,
        kind: str,
        texts: dict[str, str],
        helps: dict[str, str],
        group: str | None,
        where: str,
    ) -> dict[str, Any] | None:
        text = self._text(texts)
        if text is None:
            if kind == "note":
                self.report.add(where, "dropped", "没有文字的说明")
                return None
            text = code
            self.report.add(where, "changed", "没有题目文字，用问题代码代替")
        item: dict[str, Any] = {"id": self._new_id(code, where), "type": kind, "text": text}
        help_text = self._text(helps)
        if help_text:
            item["help"] = help_text
        if group:
            item["group"] = group
        self.items.append(item)
        return item

    def _new_id(self, code: str, where: str | None) -> str:
        clean = re.sub(r"[^A-Za-z0-9_]", "_", code) or "q"
        if not clean[0].isalpha():
            clean = f"q_{clean}"
        clean = clean[:40]
        while clean in self.ids:
            clean = f"{clean[:36]}_{len(self.ids)}"
        if clean != code and where is not None:
            self.report.add(where, "changed", f"问题代码 {code!r} → id {clean!r}")
        self.ids.add(clean)
        return clean

    def _finish(self, item: dict[str, Any], q: dict[str, str], where: str, known: Known) -> None:
        mandatory = q.get("mandatory", "N")
        if mandatory == "Y" and item["type"] != "note":
            item["required"] = True
        elif mandatory == "S":
            self.report.add(where, "changed", "“软必答”（可以跳过）→ 选答")
        relevance = q.get("relevance", "")
        if relevance not in ("", "1"):
            try:
                item["when"] = msgspec.to_builtins(self._condition(relevance))
            except Unsupported as exc:
                self.report.add(where, "dropped", f"显示条件 {relevance!r} 无法表达（{exc}），改为总是显示")
                self.marks.setdefault(item["id"], []).append(f"LimeSurvey 显示条件 {relevance!r} 无法表达，总是显示")
        if q.get("preg"):
            if item["type"] == "text":
                item["pattern"] = q["preg"].strip("/")
                self.report.add(where, "changed", f"输入校验 {q['preg']!r} → pattern（按 Python 正则解释）")
            else:
                self.report.add(where, "dropped", f"输入校验 {q['preg']!r} 没有保留")
        self.known[q.get("title", "")] = known
        self.report.add(where, "carried", f"→ {item['type']} {item['id']}")

    # -- relevance equations -----------------------------------------------------------------------

    def _condition(self, text: str) -> Condition:
        node = _Equation(text, set(self.known), self.aliases).parse()
        return xpath.condition_of_tree(
            node, self._type_of, ValueOf(self.known, "an answer code"), lambda n: self.known[n].id
        )

    def _type_of(self, name: str) -> str | None:
        known = self.known.get(name)
        return known.type if known else None


_TOKEN = re.compile(
    r"\s*(?:(?P<num>-?\d+(?:\.\d+)?)|(?P<str>\"[^\"]*\"|'[^']*')|(?P<op>==|!=|<=|>=|<|>|&&|\|\||!|\(|\)|,)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.]*))"
)
_WORDS = {"and": "&&", "or": "||", "not": "!", "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


class _Equation:
    """A LimeSurvey relevance equation as the expression tree `xpath` turns into conditions."""

    def __init__(self, text: str, codes: set[str], aliases: Mapping[str, str]) -> None:
        self.codes, self.aliases = codes, aliases
        self.tokens: list[tuple[str, str]] = []
        text = text.strip()
        while text.startswith("{") and text.endswith("}"):
            text = text[1:-1].strip()
        pos = 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                if text[pos:].strip() == "":
                    break
                raise Unsupported(f"cannot read {text[pos : pos + 20]!r}")
            kind = match.lastgroup or ""
            value = match.group(kind)
            if kind == "name" and value.lower() in _WORDS:
                kind, value = "op", _WORDS[value.lower()]
            self.tokens.append((kind, value))
            pos = match.end()
        self.pos = 0

    def parse(self) -> Node:
        try:
            node = self._or()
        except RecursionError:
            raise Unsupported("nested too deeply") from None
        if self.pos != len(self.tokens):
            raise Unsupported(f"unexpected {self.tokens[self.pos][1]!r}")
        return node

    def _peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token[0] == "end":
            raise Unsupported("the equation ends too early")
        self.pos += 1
        return token

    def _or(self) -> Node:
        parts = [self._and()]
        while self._peek() == ("op", "||"):
            self._take()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else Node("or", args=tuple(parts))

    def _and(self) -> Node:
        parts = [self._not()]
        while self._peek() == ("op", "&&"):
            self._take()
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else Node("and", args=tuple(parts))

    def _not(self) -> Node:
        if self._peek() == ("op", "!"):
            self._take()
            return Node("not", args=(self._not(),))
        return self._comparison()

    def _comparison(self) -> Node:
        left = self._operand()
        kind, op = self._peek()
        if kind == "op" and op in ("==", "!=", "<", "<=", ">", ">="):
            self._take()
            right = self._operand()
            return self._compare(left, "=" if op == "==" else op, right)
        return left

    def _compare(self, left: Node, op: str, right: Node) -> Node:
        # `Q2_SQ001 == "Y"`: an option of a multiple-choice question is ticked.
        for ref, lit in ((left, right), (right, left)):
            if ref.kind == "ref" and ref.value not in self.codes and "_" in ref.value and lit.kind == "lit":
                question, option = ref.value.rsplit("_", 1)
                if question in self.codes and lit.value == "Y" and op in ("=", "!="):
                    ticked = Node("call", "selected", (Node("ref", question), Node("lit", option)))
                    return ticked if op == "=" else Node("not", args=(ticked,))
        return Node("cmp", op, (left, right))

    def _operand(self) -> Node:
        kind, value = self._take()
        if kind == "op" and value == "(":
            inner = self._or()
            if self._take() != ("op", ")"):
                raise Unsupported("a parenthesis is not closed")
            return inner
        if kind == "num":
            return Node("num", float(value))
        if kind == "str":
            return Node("lit", value[1:-1])
        if kind == "name":
            if self._peek() == ("op", "("):
                self._take()
                argument = self._operand()
                if self._take() != ("op", ")"):
                    raise Unsupported(f"{value}() takes one argument here")
                if value == "is_empty":
                    return Node("cmp", "=", (argument, Node("lit", "")))
                raise Unsupported(f"the function {value}() is not supported")
            code = value.split(".")[0]
            if code not in self.codes:
                code = self.aliases.get(code, code)
            if value.count(".") > 1 or (value.count(".") == 1 and value.split(".")[1] not in ("NAOK", "value", "code")):
                raise Unsupported(f"{value!r} is not a plain question code")
            return Node("ref", code)
        raise Unsupported(f"unexpected {value!r}")
