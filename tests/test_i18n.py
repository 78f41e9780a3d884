"""Every message in the templates and code has an English translation, and placeholders match."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from survey_app.i18n import language_of, translations
from survey_app.settings import LOCALES_DIR

ROOT = Path(__file__).resolve().parent.parent
METHODS = [("survey_app/**.py", "python"), ("templates/**.html", "jinja2")]
OPTIONS = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def extracted() -> set[str]:
    found = extract_from_dir(ROOT, METHODS, options_map=OPTIONS, keywords={"_": None, "N_": None, "gettext": None})
    return {message if isinstance(message, str) else message[0] for _, _, message, _, _ in found}


def test_every_message_is_translated_with_the_same_placeholders():
    with (LOCALES_DIR / "en" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = {m.id: m.string for m in read_po(f) if m.id}
    messages = extracted()
    assert len(messages) > 50
    missing = sorted(m for m in messages if not catalog.get(m))
    assert missing == [], "run pybabel extract and translate (see survey_app/i18n.py)"
    for message in messages:
        assert sorted(re.findall(r"%\(\w+\)s", message)) == sorted(re.findall(r"%\(\w+\)s", catalog[message]))


def test_traditional_chinese_covers_every_message_in_traditional_characters():
    with (LOCALES_DIR / "zh_Hant" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        catalog = {m.id: m.string for m in read_po(f) if m.id}
    missing = sorted(m for m in extracted() if not catalog.get(m))
    assert missing == [], "draft with OpenCC (s2t), review, and add them to locales/zh_Hant (see its header)"
    for message, text in catalog.items():
        assert sorted(re.findall(r"%\(\w+\)s", message)) == sorted(re.findall(r"%\(\w+\)s", text))
    assert translations("zh-Hant").gettext("感谢您的评价！") == "感謝您的評價！"
    assert language_of(b"lang=zh-Hant", "") == "zh-Hant"


def test_chinese_is_the_default_and_english_is_chosen_explicitly():
    assert language_of(b"", "") == "zh"
    assert language_of(b"lang=en", "") == "en"
    assert language_of(b"", "lang=en; other=1") == "en"
    assert language_of(b"lang=zh", "lang=en") == "zh"
    assert language_of(b"lang=fr", "lang=de") == "zh"
    assert translations("en").gettext("提交") == "Submit"


def test_every_message_survives_the_formatting_the_templates_give_it():
    """Jinja's gettext formats every message it returns (`text % params`, even without parameters), so a
    lone % in a translation ("30 % of") is a 500 on the page that shows it."""
    for folder in ("en", "zh_Hant"):
        with (LOCALES_DIR / folder / "LC_MESSAGES" / "messages.po").open("rb") as f:
            catalog = [(m.id, m.string) for m in read_po(f) if m.id]
        for message, text in catalog:
            params = dict.fromkeys(re.findall(r"%\((\w+)\)s", message), "x")
            for shown in (message, text):
                try:
                    shown % params
                except (TypeError, ValueError, KeyError) as exc:
                    raise AssertionError(f"{folder}: {shown!r} cannot be formatted: {exc}") from exc
