"""Languages: Chinese first (Simplified, and Traditional for the interface), English available.

Templates and messages are written in Simplified Chinese; `locales/<lang>/LC_MESSAGES/messages.po`
translates them into English (`en`) and Traditional Chinese (`zh_Hant`; extract with `pybabel extract
-F babel.cfg -o messages.pot .`). The catalogs are compiled in memory at start-up, so there is no build
step. The language of a request comes from `?lang=`, then the `lang` cookie set by the switch, and is
Simplified Chinese otherwise: an elderly resident's phone set to English still gets the Chinese form
unless they ask. Names and titles that staff type exist in Chinese and English only, so a page in
Traditional Chinese shows them in the Chinese they were typed in (`pick`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Collection
from contextvars import ContextVar
from functools import cache
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from survey_app.settings import LOCALES_DIR

LANGUAGES = ("zh", "zh-Hant", "en")
# A questionnaire may be written in more languages than the interface (e.g. ug, bo): its own pages
# can be read in any of them, with the interface in Chinese (web/forms.py, `content_language`).
# A BCP 47 tag as questionnaire files write it:
LANGUAGE_TAG = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$"
DEFAULT_LANGUAGE = "zh"
LANG_COOKIE = "lang"
# Each language as its readers name it (the switch), its BCP 47 tag (<html lang>) and its catalog folder.
LANGUAGE_NAMES = {"zh": "简体中文", "zh-Hant": "繁體中文", "en": "English"}
HTML_LANG = {"zh": "zh-CN", "zh-Hant": "zh-Hant", "en": "en"}
CATALOG = {"zh-Hant": "zh_Hant", "en": "en"}

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


def pick(lang: str, zh: str, en: str | None) -> str:
    """The text for `lang`: the English when `lang` is English and there is one, else the Chinese.

    Chinese is the source language: every name and title has it, a translation may be missing.
    """
    return (en if lang == "en" else None) or zh


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


class Refusal(ValueError):
    """A request refused for a reason the person can act on.

    `message` is a Chinese msgid with %-parameters, translated where it is shown
    (`{{ _(error.message, **error.params) }}`); str() gives the Chinese text, for the command line.
    """

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message % params if params else message)
        self.message, self.params = message, params


@cache
def translations(lang: str) -> NullTranslations:
    """The compiled catalog of `lang` (Simplified Chinese, the source language, needs none)."""
    folder = CATALOG.get(lang)
    po_path = LOCALES_DIR / folder / "LC_MESSAGES" / "messages.po" if folder else None
    if po_path is None or not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as f:
        catalog = read_po(f, locale=folder)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def gettext(message: str) -> str:
    return translations(current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).ngettext(singular, plural, n)


def is_tag(tag: str) -> bool:
    """A well-formed language tag (not necessarily one the interface or any questionnaire has)."""
    return len(tag) <= 20 and re.match(LANGUAGE_TAG, tag) is not None


def asked_languages(query_string: bytes, cookie_header: str) -> list[str]:
    """What the request asks for, most specific first: `?lang=`, then the cookie (not yet checked)."""
    asked = [parse_qs(query_string.decode("latin-1")).get("lang", [""])[0]]
    morsel = SimpleCookie(cookie_header).get(LANG_COOKIE) if cookie_header else None
    return [a for a in [*asked, morsel.value if morsel is not None else ""] if a]


def language_of(query_string: bytes, cookie_header: str, extra: Collection[str] = ()) -> str:
    """Pick the language: `?lang=` first, then the cookie, then Chinese; `extra` are the languages of
    the questionnaire a page shows, beyond the interface's."""
    for asked in asked_languages(query_string, cookie_header):
        if asked in LANGUAGES or asked in extra:
            return asked
    return DEFAULT_LANGUAGE


def language_middleware(app: ASGIApp) -> ASGIApp:
    """Set `current_language` for everything that runs while the request is handled."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            headers = dict(scope["headers"])
            cookie = headers.get(b"cookie", b"").decode("latin-1")
            token = current_language.set(language_of(scope["query_string"], cookie))
            try:
                await app(scope, receive, send)
            finally:
                current_language.reset(token)
        else:
            await app(scope, receive, send)

    return middleware


def html_lang(lang: str | None = None) -> str:
    """The BCP 47 tag of `lang` (default: the current language), for `lang` attributes."""
    lang = lang or current_language.get()
    return HTML_LANG.get(lang, lang)


def language_name(tag: str) -> str:
    """A language as its readers name it: 简体中文, English, ئۇيغۇرچە, བོད་སྐད་ (babel's CLDR data)."""
    if tag in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[tag]
    try:
        locale = Locale.parse(tag.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return tag
    return locale.get_display_name(locale) or tag


def right_to_left(lang: str | None = None) -> bool:
    """Whether `lang` (default: the current language) is written right to left (ug in Arabic script)."""
    lang = lang or current_language.get()
    if lang in LANGUAGES:
        return False
    try:
        return bool(Locale.parse(lang.replace("-", "_")).character_order == "right-to-left")
    except (ValueError, UnknownLocaleError):
        return False


def other_languages(content: list[str] | None = None) -> list[tuple[str, str]]:
    """(code, name) of every language but the current one, for the switch; `content` adds the
    languages the page's questionnaire is written in beyond the interface's."""
    codes = [*LANGUAGES, *[c for c in content or [] if c not in LANGUAGES and c != "zh-Hans"]]
    return [(code, language_name(code)) for code in codes if code != current_language.get()]


def template_callables() -> dict[str, Callable[..., object]]:
    """What every template can call besides gettext: the current language, `pick(zh, en)` in it, and
    what the language switch shows."""
    return {
        "current_language": current_language.get,
        "pick": lambda zh, en=None: pick(current_language.get(), zh, en),
        "html_lang": html_lang,
        "other_languages": other_languages,
        "right_to_left": right_to_left,
    }
