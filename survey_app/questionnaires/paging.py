"""Answering a paged questionnaire page by page, without JavaScript.

Each page is an ordinary form post. The answers of the other pages travel with it in one hidden
field, signed (HMAC with the secret key, bound to the link and the form token) so a page cannot be
fed answers the server never showed; they are still checked again, all together, when the last page
is submitted, and only then saved. A page whose every question is hidden by the answers so far is
skipped, forwards and backwards. The receipt exists only after the last page.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from survey_app import signing
from survey_app.questionnaires.conditions import may_hold
from survey_app.questionnaires.format import Item, Questionnaire

PAGE_FIELD = "_page"
CARRIED_FIELD = "_carried"
NAV_FIELD = "_nav"  # "next" or "back"; absent (or anything else) submits
PURPOSE = "pages"  # what the carried answers' signature is for (survey_app/signing.py)

Fields = dict[str, str | list[str]]


@dataclass(frozen=True)
class PageState:
    """Where a resident is: the page they posted and every item field so far (carried + this page)."""

    index: int
    fields: Fields
    nav: str


def read(q: Questionnaire, link_token: str, form_token: str, data: Mapping[str, Any]) -> PageState:
    """The posted page, with the carried answers of the other pages (dropped if the signature fails)."""
    pages = q.pages()
    raw_index = str(data.get(PAGE_FIELD, "0"))
    index = (
        min(int(raw_index), len(pages) - 1) if raw_index.isascii() and raw_index.isdigit() and len(raw_index) < 4 else 0
    )
    on_page = {item.id for item in pages[index]}
    fields: Fields = {k: v for k, v in _unsealed(link_token, form_token, str(data.get(CARRIED_FIELD, ""))).items()}
    fields = {k: v for k, v in fields.items() if k not in on_page}
    for item in pages[index]:
        if item.id in data:
            value = data[item.id]
            fields[item.id] = [str(v) for v in value] if isinstance(value, list) else str(value)
    nav = str(data.get(NAV_FIELD, ""))
    return PageState(index, fields, nav if nav in ("next", "back") else "")


def seal(link_token: str, form_token: str, fields: Mapping[str, Any], page: list[Item]) -> str:
    """The hidden field carrying the answers of every page but `page` (whose inputs post their own)."""
    on_page = {item.id for item in page}
    kept = {k: v for k, v in fields.items() if k not in on_page and not k.startswith("_")}
    if not kept:
        return ""
    body = base64.urlsafe_b64encode(msgspec.json.encode(kept, order="sorted")).decode().rstrip("=")
    return f"{body}.{signing.signature(PURPOSE, link_token, form_token, body)}"


def _unsealed(link_token: str, form_token: str, value: str) -> Fields:
    body, _, signature = value.partition(".")
    if not body or not signing.signed(signature, PURPOSE, link_token, form_token, body):  # any text: total
        return {}
    try:
        decoded = msgspec.json.decode(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)), type=Fields)
    except (ValueError, msgspec.DecodeError):
        return {}
    return decoded


def shown_pages(q: Questionnaire, answers: Mapping[str, Any]) -> list[int]:
    """The pages that have something to show given these answers (conditions test earlier items only)."""
    return [n for n, page in enumerate(q.pages()) if any(q.is_shown(item, answers) for item in page)]


def step(q: Questionnaire, index: int, answers: Mapping[str, Any], direction: int) -> int:
    """The next (+1) or previous (-1) page to show from `index`; `index` itself at either end."""
    shown = shown_pages(q, answers)
    candidates = [n for n in shown if (n - index) * direction > 0]
    if not candidates:
        return index
    return min(candidates) if direction > 0 else max(candidates)


def page_of(q: Questionnaire, item_ids: set[str]) -> int | None:
    """The first page holding one of these items (the first error to fix)."""
    for n, page in enumerate(q.pages()):
        if any(item.id in item_ids for item in page):
            return n
    return None


def _may_show(q: Questionnaire, item: Item, answers: Mapping[str, Any], still_open: set[str]) -> bool:
    group = q.group(item.group)
    conditions = [c for c in (q.condition_of(item), group.when if group else None) if c is not None]
    return all(may_hold(c, answers, still_open) is not False for c in conditions)


@dataclass(frozen=True)
class Progress:
    number: int  # 第 2 页
    total: int  # 共 4 页
    first: bool
    last: bool


def progress(q: Questionnaire, index: int, answers: Mapping[str, Any]) -> Progress:
    """Where `index` stands among the pages shown for these answers; a later page that unanswered
    questions of this page or later ones may still show counts as shown."""
    pages = q.pages()
    still_open = {item.id for page in pages[index:] for item in page}
    maybe = {n for n, page in enumerate(pages) if n > index and any(_may_show(q, i, answers, still_open) for i in page)}
    shown = sorted(set(shown_pages(q, answers)) | maybe | {index})
    position = shown.index(index)
    return Progress(position + 1, len(shown), position == 0, position == len(shown) - 1)
