"""The grown format: compound conditions, groups and pages, constraints, dates and notes; each mistake
named `file: path.to.field: message`, and the server ignoring answers its conditions hide."""

from __future__ import annotations

from pathlib import Path

import pytest

from survey_app.questionnaires.conditions import Condition, holds
from survey_app.questionnaires.format import QuestionnaireError, load_file, parse
from survey_app.responses import parse_answers
from survey_app.settings import QUESTIONNAIRES_DIR
from survey_app.web.forms import condition_css, condition_hints, page_view
from tests.test_questionnaire_format import LIBRARY, write

LOGIC = """\
slug: logic
version: 1
title: 逻辑
paged: true
groups:
  - {id: about, title: 关于您}
  - id: service
    title: 服务评价
    when: {all: [{item: used, is: true}, {not: {item: age, lt: 18}}]}
items:
  - {id: intro_note, type: note, text: 以下问题约需两分钟。, group: about}
  - {id: used, type: yesno, required: true, text: 用过服务吗？, group: about}
  - {id: age, type: number, min: 0, max: 120, text: 年龄, group: about}
  - {id: visited, type: date, text: 最近一次是哪天？, group: about, when: {item: used, is: true}}
  - id: overall
    type: rating
    scale: satisfaction
    required: true
    required_message: 请给服务打个分。
    text: 总体满意吗？
    group: service
  - id: reasons
    type: multi
    group: service
    max_choices: 2
    constraint_message: 最多选两个原因。
    when: {item: overall, le: 2}
    text: 原因
    options:
      - {value: slow, label: 慢}
      - {value: rude, label: 态度差}
      - {value: far, label: 远}
  - id: detail
    type: text
    group: service
    min_length: 2
    pattern: "[^0-9]*"
    when: {any: [{item: reasons, any_of: [rude]}, {item: overall, is: 1}]}
    text: 请具体说说
  - {id: phone_ok, type: yesno, text: 可以回访吗？}
"""


@pytest.fixture
def logic(tmp_path: Path):
    return load_file(write(tmp_path, LOGIC, "logic.yaml"))


def as_version_1(text: str) -> str:
    """A bundled version-2 file without what version 2 added (pages, groups and the service skip)."""
    kept, skipping = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith(("# Version 2", "paged:", "groups:")):
            skipping = line.startswith(("paged:", "groups:")) or skipping
            continue
        if skipping and (line.startswith(("  ", "\n")) or not line.strip()):
            if not line.strip():
                skipping = False
            continue
        if line.strip().startswith("group: "):
            continue
        kept.append(line)
    return "".join(kept).replace("\nversion: 2\n", "\nversion: 1\n", 1)


# The content hashes of the bundled files on main at e61287f, before the format grew.
VERSION_1_HASHES = {
    "community-services": "aaf1183123de",
    "department-conduct": "fdbb98c5974d",
    "safe-community": "d43f9d9a3497",
    "urban-village": "0fa302487250",
    "window-rating": "723794d18884",
}


def test_existing_files_keep_their_content_hashes():
    """Fields added since are left out of the stored definition when absent: each bundled file, less what
    its version 2 added, is byte for byte the definition (and hash) campaigns stored for version 1."""
    found = {}
    for path in sorted(QUESTIONNAIRES_DIR.glob("[!_]*.yaml")):
        q = parse(as_version_1(path.read_text(encoding="utf-8")), name=path.name, library=LIBRARY)
        found[q.slug] = (q.version, q.content_hash[:12])
    assert found == {slug: (1, digest) for slug, digest in VERSION_1_HASHES.items()}


def test_pages_follow_groups_and_a_file_without_paged_stays_one_page(logic, tmp_path):
    assert [[i.id for i in page] for page in logic.pages()] == [
        ["intro_note", "used", "age", "visited"],
        ["overall", "reasons", "detail"],
        ["phone_ok"],
    ]
    one = load_file(write(tmp_path, LOGIC.replace("paged: true\n", ""), "logic.yaml"))
    assert len(one.pages()) == 1
    assert logic.numbers()["used"] == 1  # notes are not numbered


@pytest.mark.parametrize(
    ("answers", "shown"),
    [
        ({"used": False}, {"intro_note", "used", "age", "phone_ok"}),
        ({"used": True, "age": 15, "overall": 1}, {"intro_note", "used", "age", "visited", "phone_ok"}),
        ({"used": True, "overall": 4}, {"intro_note", "used", "age", "visited", "overall", "phone_ok"}),
        (
            {"used": True, "age": 40, "overall": 2},
            {"intro_note", "used", "age", "visited", "overall", "reasons", "phone_ok"},
        ),
        ({"used": True, "overall": 2, "reasons": ["rude"]}, None),
        ({"used": True, "overall": 1}, None),
    ],
)
def test_compound_conditions_on_items_and_groups(logic, answers, shown):
    everything = {i.id for i in logic.items}
    got = {i.id for i in logic.items if logic.is_shown(i, answers)}
    assert got == (shown if shown is not None else everything)


def test_unanswered_and_dont_know_pass_no_comparison_and_types_are_never_mixed():
    assert not holds(Condition(item="x", le=2), {})
    assert not holds(Condition(item="x", le=2), {"x": "dk"})
    assert not holds(Condition(item="x", is_=1), {"x": True})  # True == 1 in Python, never here
    assert holds(Condition(not_=Condition(item="x", le=2)), {})
    assert holds(Condition(item="x", answered=False), {})


def test_hidden_answers_are_ignored_even_if_posted(logic):
    posted = {
        "used": "no",
        "visited": "2026-01-02",
        "overall": "1",
        "reasons": ["slow"],
        "detail": "很慢",
        "phone_ok": "yes",
    }
    answers, errors = parse_answers(logic, posted)
    assert answers == {"used": False, "phone_ok": True} and errors == {}


def test_constraints_dates_and_custom_messages(logic):
    posted = {"used": "yes", "visited": "2026-02-30", "reasons": ["slow", "rude", "far"], "detail": "a1"}
    answers, errors = parse_answers(logic, posted)
    assert errors["overall"].message == "请给服务打个分。"  # required, with its own message
    assert errors["visited"].message.startswith("请按“年-月-日”填写日期")
    assert "detail" not in errors  # overall unanswered: reasons and detail are hidden
    answers, errors = parse_answers(logic, {**posted, "overall": "2", "visited": "2026/3/1"})
    assert answers["visited"] == "2026-03-01"
    assert errors["reasons"].message == "最多选两个原因。"  # max_choices, with the constraint's message
    answers, errors = parse_answers(
        logic, {**posted, "overall": "1", "visited": "", "reasons": ["rude"], "detail": "a1"}
    )
    assert errors["detail"].message == "格式不对，请检查后重新填写。"  # pattern
    answers, errors = parse_answers(
        logic, {**posted, "overall": "1", "visited": "", "reasons": ["rude"], "detail": "慢"}
    )
    assert errors["detail"].params == {"limit": 2, "length": 1}  # min_length
    answers, errors = parse_answers(
        logic, {**posted, "overall": "1", "visited": "", "reasons": ["rude"], "detail": "太慢"}
    )
    assert errors == {} and answers["detail"] == "太慢" and "intro_note" not in answers


def test_a_page_after_earlier_pages_decides_its_conditions_on_the_server(logic):
    view = page_view(logic, {"used": "yes", "overall": "5"}, 0)
    assert [i.id for i in view.items] == ["intro_note", "used", "age", "visited"] and view.decided == frozenset()
    assert view.progress is not None and (view.progress.number, view.progress.total) == (1, 3)
    hidden = page_view(logic, {"used": "no"}, 0)
    assert hidden.progress is not None and hidden.progress.total == 2  # the service page is skipped


def test_hints_and_css_for_compound_conditions(logic):
    hints = condition_hints(logic, "zh")
    assert hints["visited"] == "如第 1 题选择“是”，请回答本题。"
    assert hints["reasons"] == "如第 4 题选择“不满意”/“非常不满意”，请回答本题。"
    assert hints["detail"] == "如第 5 题选了“态度差”中的任一项，或者第 4 题选择“非常不满意”，请回答本题。"
    assert hints["group:service"] == "如第 1 题选择“是”，并且并非（第 2 题小于 18），请回答这一部分。"
    css = str(condition_css(logic))
    assert 'form:not(:has([name="overall"][value="2"]:checked,[name="overall"][value="1"]:checked)) #q-reasons' in css
    either = ':is(:has([name="reasons"][value="rude"]:checked),:has([name="overall"][value="1"]:checked))'
    assert f"form:not({either}) #q-detail" in css
    assert "#g-service" not in css  # a typed number cannot be tested by CSS: shown, with its hint


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "when: {item: used, is: true}}",
            "when: {item: overall, is: 1}}",
            "items.3.when.item: 'overall' is not an earlier question",
        ),
        (
            "when: {item: used, is: true}}",
            "when: {item: used, is: 3}}",
            "items.3.when.is: 3 is not an answer of 'used'",
        ),
        (
            "when: {item: used, is: true}}",
            "when: {item: used}}",
            "items.3.when: say what to test: is, any_of, lt, le, gt, ge or answered",
        ),
        (
            "when: {item: used, is: true}}",
            "when: {item: used, lt: 3}}",
            "items.3.when: lt, le, gt and ge compare rating and number answers only",
        ),
        (
            "[{item: reasons, any_of: [rude]}",
            "[{item: reasons, any_of: [late]}",
            "items.6.when.any.0.any_of: 'late' is not an option of 'reasons'",
        ),
        (
            "[{item: reasons, any_of: [rude]}",
            "[{item: overall, any_of: [rude]}",
            "items.6.when.any.0.any_of: tests a multi item only",
        ),
        (
            "{not: {item: age, lt: 18}}",
            "{not: {item: overall, lt: 18}}",
            "groups.1.when.all.1.not.item: 'overall' is not an earlier question",
        ),
        (
            "{all: [{item: used",
            "{all: [], any: [{item: used",
            "groups.1.when: give either item (with is, any_of, lt, le, gt, ge or answered) or one of all, any, not",
        ),
        ("max_choices: 2", "max_choices: 4", "items.5.max_choices: the item has only 3 options"),
        ("min_length: 2", "min_choices: 2", "items.6.min_choices: applies to multi items only"),
        (
            'pattern: "[^0-9]*"',
            'pattern: "[0-9"',
            "items.6.pattern: not a valid regular expression (unterminated character set at position 0)",
        ),
        (
            "  - {id: about, title: 关于您}\n",
            "  - {id: about, title: 关于您}\n  - {id: about, title: 又一个}\n",
            "groups.1: duplicate 'about'",
        ),
        (
            "{id: phone_ok, type: yesno,",
            "{id: phone_ok, type: yesno, group: about,",
            "items.7.group: the items of group 'about' must be consecutive",
        ),
        (
            "{id: phone_ok, type: yesno,",
            "{id: phone_ok, type: yesno, group: other,",
            "items.7.group: unknown group 'other'",
        ),
        (
            "{id: intro_note, type: note,",
            "{id: intro_note, type: note, required: true,",
            "items.0.required: a note has no answer to require",
        ),
        (
            "    required: true\n    required_message",
            "    required_message",
            "items.4.required_message: the item is not required",
        ),
    ],
)
def test_mistakes_are_named_with_file_and_field(tmp_path, old, new, message):
    assert old in LOGIC
    with pytest.raises(QuestionnaireError) as caught:
        load_file(write(tmp_path, LOGIC.replace(old, new, 1), "logic.yaml"))
    assert str(caught.value) == f"logic.yaml: {message}"


def test_a_stored_definition_round_trips_with_its_conditions(logic):
    from survey_app.questionnaires.format import from_json

    again = from_json(logic.to_json())
    assert again == logic and again.content_hash == logic.content_hash
    assert parse(logic.to_json(), name="x.json", library=LIBRARY) == logic


OTHER = """\
slug: other
version: 1
title: 其他
items:
  - id: reasons
    type: multi
    randomize: true
    text: 原因
    options:
      - {value: slow, label: 慢}
      - {value: rude, label: 态度差}
      - {value: far, label: 远}
      - {value: dirty, label: 脏}
      - {value: other, label: 其他}
  - {id: reasons_other, type: text, required: true, other_of: {item: reasons, option: other}, text: 请注明}
  - {id: overall, type: rating, scale: satisfaction, text: 总体}
"""


def test_other_please_specify_is_asked_and_required_only_with_its_option(tmp_path):
    q = load_file(write(tmp_path, OTHER, "other.yaml"))
    answers, errors = parse_answers(q, {"reasons": ["slow"], "reasons_other": "不该有"})
    assert answers == {"reasons": ["slow"]} and errors == {}  # not chosen: not asked, a posted text ignored
    answers, errors = parse_answers(q, {"reasons": ["slow", "other"]})
    assert errors["reasons_other"].message == "请回答此题。"
    answers, errors = parse_answers(q, {"reasons": ["other"], "reasons_other": "停车难"})
    assert answers == {"reasons": ["other"], "reasons_other": "停车难"}
    assert 'form:not(:has([name="reasons"][value="other"]:checked)) #q-reasons_other' in str(condition_css(q))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("option: other}", "option: none}", "items.1.other_of.option: 'none' is not an option of 'reasons'"),
        (
            "{item: reasons, option",
            "{item: overall, option",
            "items.1.other_of.item: must be the choice or multi item just before this one",
        ),
        (
            "type: text, required: true, other_of",
            "type: yesno, required: true, other_of",
            'items.1.other_of: a "please specify" item is a text or longtext item',
        ),
        (
            "  - {id: overall, type: rating,",
            "  - {id: overall, randomize: true, type: rating,",
            "items.2.randomize: applies to choice and multi items only (a scale keeps its order)",
        ),
    ],
)
def test_other_and_randomize_mistakes_are_named(tmp_path, old, new, message):
    assert old in OTHER
    with pytest.raises(QuestionnaireError) as caught:
        load_file(write(tmp_path, OTHER.replace(old, new, 1), "other.yaml"))
    assert str(caught.value) == f"other.yaml: {message}"


def test_randomised_options_follow_the_submission_id(tmp_path):
    from dataclasses import replace

    q = load_file(write(tmp_path, OTHER, "other.yaml"))
    view = page_view(q, {})
    orders = {tuple(o.value for o in replace(view, seed=f"{n:032x}").options(q.item("reasons"))) for n in range(20)}
    assert len(orders) > 5  # respondents see different orders…
    same = replace(view, seed="ab" * 16)
    assert same.options(q.item("reasons")) == same.options(q.item("reasons"))  # …each always the same one
    assert [o.value for o in view.options(q.item("reasons"))] == ["slow", "rude", "far", "dirty", "other"]  # no seed
