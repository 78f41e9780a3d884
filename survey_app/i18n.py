"""Languages: Chinese first, English available.

Templates and messages are written in Chinese; `locales/en/LC_MESSAGES/messages.po` translates them
(extract with `pybabel extract -F babel.cfg -o messages.pot .`). The catalog is compiled in memory at
start-up, so there is no build step. The language of a request comes from `?lang=`, then the `lang`
cookie set by the switch link, and is Chinese otherwise: an elderly resident's phone set to English
still gets the Chinese form unless they ask.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from contextvars import ContextVar
from functools import cache
from http.cookies import SimpleCookie
from urllib.parse import parse_qs

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from survey_app.settings import LOCALES_DIR

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
LANG_COOKIE = "lang"

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
    """The compiled catalog of `lang` (Chinese, the source language, needs none)."""
    po_path = LOCALES_DIR / lang / "LC_MESSAGES" / "messages.po"
    if lang == DEFAULT_LANGUAGE or not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def gettext(message: str) -> str:
    return translations(current_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language.get()).ngettext(singular, plural, n)


def language_of(query_string: bytes, cookie_header: str) -> str:
    """Pick the language: `?lang=` first, then the cookie, then Chinese."""
    asked = parse_qs(query_string.decode("latin-1")).get("lang", [""])[0]
    if asked in LANGUAGES:
        return asked
    morsel = SimpleCookie(cookie_header).get(LANG_COOKIE) if cookie_header else None
    if morsel is not None and morsel.value in LANGUAGES:
        return morsel.value
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


def template_callables() -> dict[str, Callable[..., object]]:
    """What every template can call besides gettext: the current language, and `pick(zh, en)` in it."""
    return {"current_language": current_language.get, "pick": lambda zh, en=None: pick(current_language.get(), zh, en)}
