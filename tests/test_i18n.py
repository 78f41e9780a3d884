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


def test_chinese_is_the_default_and_english_is_chosen_explicitly():
    assert language_of(b"", "") == "zh"
    assert language_of(b"lang=en", "") == "en"
    assert language_of(b"", "lang=en; other=1") == "en"
    assert language_of(b"lang=zh", "lang=en") == "zh"
    assert language_of(b"lang=fr", "lang=de") == "zh"
    assert translations("en").gettext("提交") == "Submit"
