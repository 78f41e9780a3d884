"""Questionnaire texts in any number of languages, keyed by BCP 47 tag; the resident page offers them."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from survey_app.questionnaires import importers, versions, xlsform
from survey_app.questionnaires.format import QuestionnaireError, load_file, localise
from tests.test_questionnaire_format import MINIMAL, write

MANY = MINIMAL.replace(
    "title: {zh: 小问卷, en: Mini}",
    "title: {zh-Hans: 小问卷, zh-Hant: 小問卷, en: Mini, ug: كىچىك سوئال, bo: དྲི་ཤོག་ཆུང་ཆུང་}",
).replace(
    "    text: 总体满意吗？\n",
    "    text: {zh-Hans: 总体满意吗？, ug: ئومۇمىي جەھەتتىن رازىمۇ؟}\n",
)


@pytest.fixture
def many(tmp_path: Path):
    return load_file(write(tmp_path, MANY))


def test_texts_in_many_languages_and_the_old_spelling_means_the_same(many, tmp_path):
    assert many.languages() == ["zh", "bo", "en", "ug", "zh-Hant"]
    assert [localise(many.title, lang) for lang in ("zh", "zh-Hant", "en", "ug", "fr")] == [
        "小问卷", "小問卷", "Mini", "كىچىك سوئال", "小问卷",
    ]  # fmt: skip
    assert localise(many.item("overall").text, "en") == "总体满意吗？"  # no English: Chinese
    plain = load_file(write(tmp_path, MINIMAL))
    same = load_file(write(tmp_path, MINIMAL.replace("{zh: 小问卷, en: Mini}", "{zh-Hans: 小问卷, en: Mini}")))
    assert same.content_hash == plain.content_hash and plain.languages() == ["zh", "en"]


@pytest.mark.parametrize(
    ("title", "message"),
    [
        ("{zh: 小, zh-Hans: 小}", "title: zh and zh-Hans are the same language; give one of them"),
        ("{en: Mini, ug: x}", "title: object missing required field zh"),
        ("{zh: 小, UG: x}", "title: object contains unknown field UG"),
    ],
)
def test_language_mistakes_are_named(tmp_path, title, message):
    with pytest.raises(QuestionnaireError) as caught:
        load_file(write(tmp_path, MINIMAL.replace("{zh: 小问卷, en: Mini}", title)))
    assert str(caught.value) == f"mini.yaml: {message}"


def test_more_languages_round_trip_through_xlsform(many):
    data = xlsform.export(many)
    again = importers.read(data, "mini.xlsx")
    assert again.questionnaire == many


def test_the_resident_page_offers_and_shows_the_questionnaires_languages(client, world, run, many):
    world.questionnaire_ids["mini"] = run(versions.register, many)
    token = world.tokens(world.campaign("mini", slug="mini-test"))[0]
    page = BeautifulSoup(client.get(f"/q/{token}").text, "html.parser")
    offered = [b.text for b in page.select("button[name=_lang]")]
    assert {"ئۇيغۇرچە", "བོད་སྐད་", "English", "繁體中文"} <= set(offered)
    uyghur = client.get(f"/q/{token}?lang=ug")
    soup = BeautifulSoup(uyghur.text, "html.parser")
    assert (soup.html["lang"], soup.html.get("dir")) == ("ug", "rtl")
    assert soup.select_one("legend").text.startswith("1. ئومۇمىي جەھەتتىن رازىمۇ؟")
    assert soup.select_one("form button[type=submit]").text == "提交"  # no interface catalog: Chinese
    # The switch posts the form: the language is kept in a cookie, the answers with the page.
    fields = {i["name"]: i.get("value", "") for i in soup.select("form input[type=hidden]")}
    switched = client.post(f"/q/{token}", data={**fields, "overall": "4", "_lang": "bo"})
    assert switched.status_code == 200 and BeautifulSoup(switched.text, "html.parser").html["lang"] == "bo"
    assert switched.cookies.get("lang") == "bo"
    # A questionnaire without Uyghur ignores the request.
    other = BeautifulSoup(client.get(f"/q/{world.token_a}?lang=ug").text, "html.parser")
    assert other.html["lang"] == "zh-CN"
