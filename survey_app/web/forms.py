"""The resident's form as HTML: its context, the blank pages rendered once per worker, the question list,
and the hints and CSS of conditional items. The staff entry pages extend the same template."""

from __future__ import annotations

import dataclasses
import random
import re
import secrets
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment
from litestar import Request
from litestar.enums import MediaType
from litestar.response import Response, Template
from markupsafe import Markup

from survey_app import i18n, responses
from survey_app.campaigns import PublicLink
from survey_app.i18n import N_, current_language, gettext
from survey_app.questionnaires import paging
from survey_app.questionnaires.conditions import Condition, compares, referred
from survey_app.questionnaires.format import DONT_KNOW, Group, Item, Option, Questionnaire, localise
from survey_app.responses import FieldError
from survey_app.web import security
from survey_app.web.common import large_type

FORM_TOKEN_FIELD = "_form"
# Underscored like the form token: questionnaire item ids cannot start with "_".
INVITATION_FIELD = "_invite"
REVISE_FIELD = "_revise"


class BlankForms:
    """Blank form pages, each rendered once per worker and filled in per request.

    A blank form (no earlier answer, no invitation code typed in) is what every resident scanning a
    code gets, and it is the same for everyone who opens the same address in the same language but
    for two values: the signed form token and the CSP nonce. So it is rendered once, with a marker
    in place of each, split at the markers, and each request joins the pieces with its own token
    and nonce (both of characters that need no escaping). The key holds everything else the page
    depends on: the link as resolved for this request (so a renamed unit or a changed campaign is a
    new key), the language, the text size (大字版), the address and the questionnaire (kept in the
    entry, so its `id()` cannot be reused meanwhile). Stored questionnaire versions and templates do not change while a
    worker runs; with templates reloading (debug), nothing is kept.
    """

    TEMPLATE = "public/form.html"
    MAX_PAGES = 1024

    def __init__(self) -> None:
        self._pages: dict[tuple[Any, ...], tuple[Questionnaire, list[str]]] = {}
        self._token, self._nonce = f"minpingformtoken{secrets.token_hex(8)}", f"minpingnonce{secrets.token_hex(8)}"
        self._markers = re.compile(f"({self._token}|{self._nonce})")

    def page(self, request: Request[Any, Any, Any], link: PublicLink, questionnaire: Questionnaire) -> Response[str]:
        path = request.scope.get("root_path", "") + request.scope["path"]
        key = (link, current_language.get(), large_type(request), path, id(questionnaire))
        entry = self._pages.get(key)
        if entry is None or entry[0] is not questionnaire:
            parts = self._markers.split(self._render(request, link, questionnaire))
            if request.app.template_engine.engine.auto_reload:  # type: ignore[union-attr]
                entry = (questionnaire, parts)
            else:
                if len(self._pages) >= self.MAX_PAGES:
                    self._pages.clear()
                entry = self._pages[key] = (questionnaire, parts)
        fill = {self._token: responses.mint_form_token(link.token), self._nonce: security.current_nonce.get()}
        return Response("".join([fill.get(part, part) for part in entry[1]]), media_type=MediaType.HTML)

    def _render(self, request: Request[Any, Any, Any], link: PublicLink, questionnaire: Questionnaire) -> str:
        """The page as `_form_page` would render it, with the markers for the token and the nonce."""
        context = form_context(link, questionnaire, {INVITATION_FIELD: ""}, {}, form_token=self._token)
        context["revising"] = False
        template = Template(self.TEMPLATE, context=context)
        nonce = security.current_nonce.set(self._nonce)
        try:
            jinja = request.app.template_engine.get_template(self.TEMPLATE)  # type: ignore[union-attr]
            return str(jinja.render(**template.create_template_context(request)))
        finally:
            security.current_nonce.reset(nonce)


BLANK_FORMS = BlankForms()


def content_language(request: Request[Any, Any, Any], questionnaire: Questionnaire) -> None:
    """Read the page in a language of the questionnaire the interface lacks (ug, bo…) when asked for
    one: the middleware knows only the interface's languages."""
    asked = i18n.language_of(
        request.scope.get("query_string", b""), request.headers.get("cookie", ""), questionnaire.languages()
    )
    if asked not in i18n.LANGUAGES:
        current_language.set(asked)


def form_context(
    link: PublicLink,
    questionnaire: Questionnaire,
    posted: dict[str, Any],
    errors: dict[str, FieldError],
    *,
    form_token: str | None = None,
    notice: FieldError | None = None,
    page: int | None = 0,
) -> dict[str, Any]:
    """What `public/form.html` needs; staff entry pages extend that template with the same context.

    On a paged questionnaire, `page` is the page shown and the answers of the others are carried
    signed; None shows every page at once (staff entering a paper sheet).
    """
    form_token = form_token or responses.mint_form_token(link.token)
    # Options are ordered per respondent on the resident's form; staff entering a paper sheet see the sheet's order.
    seed = form_token.split(".")[0] if page is not None else ""
    view = dataclasses.replace(page_view(questionnaire, posted, page), seed=seed)
    return {
        "link": link,
        "q": questionnaire,
        "raw": {k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in posted.items()},
        "errors": {k: v for k, v in errors.items() if k in view.item_ids},
        "hints": condition_hints(questionnaire, current_language.get(), view.decided),
        "condition_css": condition_css(questionnaire, view.decided),
        "view": view,
        "carried": paging.seal(link.token, form_token, posted, view.items) if view.progress else "",
        "page_fields": (paging.PAGE_FIELD, paging.CARRIED_FIELD, paging.NAV_FIELD),
        "notice": notice,
        "form_token": form_token,
        "form_token_field": FORM_TOKEN_FIELD,
        # The invitation code field, when the campaign asks for one (kept as typed, or from ?code=).
        "invitation": str(posted.get(INVITATION_FIELD, "")) if link.invitation_only else None,
        "invitation_field": INVITATION_FIELD,
        "revising": False,
        "revise_field": REVISE_FIELD,
    }


@dataclass(frozen=True)
class PageView:
    """What one page of a form shows: its items (those hidden by earlier pages' answers left out),
    split into sections by group, and where it stands (None for a form of one page)."""

    index: int
    items: list[Item]
    sections: list[tuple[Group | None, list[Item]]]
    numbers: dict[str, int]
    progress: paging.Progress | None = None
    #: Conditions decided by answers of earlier pages (no hint, no CSS: the server knows).
    decided: frozenset[str] = field(default_factory=frozenset)
    #: The submission id: the order of a `randomize` item's options follows it, so a form shown
    #: again (after an error, a page change, a language switch) keeps the order.
    seed: str = ""

    def options(self, item: Item) -> list[Option]:
        """The item's options in the order this respondent sees them."""
        options = list(item.options or [])
        if item.randomize is True and self.seed:
            random.Random(f"{self.seed}|{item.id}").shuffle(options)
        return options

    @property
    def item_ids(self) -> set[str]:
        return {item.id for item in self.items}


def page_view(q: Questionnaire, posted: Mapping[str, Any], index: int | None = None) -> PageView:
    """The page `index` of `q` for what has been posted so far; every item when `q` has one page or
    `index` is None (the preview, and staff entering a paper sheet)."""
    pages = q.pages() if index is not None else [list(q.items)]
    index = min(max(index or 0, 0), len(pages) - 1)
    on_page = pages[index]
    progress, decided, shown = None, frozenset[str](), on_page
    if len(pages) > 1:
        answers, _ = responses.parse_answers(q, posted)
        earlier = {item.id for page in pages[:index] for item in page}
        decided = frozenset(item.id for item in on_page if set(_refs_of(q, item)) <= earlier and _refs_of(q, item))
        shown = [item for item in on_page if item.id not in decided or q.is_shown(item, answers)]
        progress = paging.progress(q, index, answers)
    sections: list[tuple[Group | None, list[Item]]] = []
    for item in shown:
        group = q.group(item.group)
        if not sections or sections[-1][0] is not group:
            sections.append((group, []))
        sections[-1][1].append(item)
    return PageView(index, shown, sections, q.numbers(), progress, decided)


def _refs_of(q: Questionnaire, item: Item) -> list[str]:
    condition = q.condition_of(item)
    return list(referred(condition)) if condition else []


class QuestionList:
    """The template global `question_list(q, raw, errors, hints, view)`: the form's questions as HTML.

    The questions are most of the work of rendering a form (a few hundred macro calls and escapes),
    and a blank one (no answers, no errors), which is what every resident scanning a code gets,
    depends only on the questionnaire and the language: `hints` is always `condition_hints(q, lang)`.
    So a blank form's questions are rendered once per questionnaire and language in each process
    and reused; forms with answers or errors are rendered each time. Stored questionnaire versions
    never change (survey_app/questionnaires/versions.py). An entry keeps its questionnaire object, so the
    `id()` it is filed under cannot be reused by another object while it is there. With templates
    reloading (debug), nothing is kept.
    """

    TEMPLATE = "public/_question_list.html"
    MAX_QUESTIONNAIRES = 64

    def __init__(self, env: Environment) -> None:
        self.env = env
        self._blank: dict[int, tuple[Questionnaire, dict[str, Markup]]] = {}

    def __call__(
        self,
        q: Questionnaire,
        raw: dict[str, list[str]],
        errors: dict[str, FieldError],
        hints: dict[str, Any],
        view: PageView | None = None,
    ) -> Markup:
        view = view or page_view(q, {})
        shuffled = any(item.randomize is True for item in q.items)  # each respondent's own order
        if errors or self.env.auto_reload or any(item.id in raw for item in q.items) or view.decided or shuffled:
            return self._render(q, raw, errors, hints, view)
        entry = self._blank.get(id(q))
        if entry is None:
            if len(self._blank) >= self.MAX_QUESTIONNAIRES:
                self._blank.clear()
            entry = self._blank[id(q)] = (q, {})
        key = f"{current_language.get()}|{view.index}"
        html = entry[1].get(key)
        if html is None:
            html = entry[1][key] = self._render(q, {}, {}, hints, view)
        return html

    def _render(
        self, q: Questionnaire, raw: dict[str, list[str]], errors: dict[str, FieldError], hints: Any, view: PageView
    ) -> Markup:
        template = self.env.get_template(self.TEMPLATE)
        return Markup(template.render(q=q, raw=raw, errors=errors, hints=hints, view=view))


def condition_hints(q: Questionnaire, lang: str, decided: Collection[str] = ()) -> dict[str, str]:
    """For each conditional item (by id) and group (by `group:<id>`) not `decided`: when to answer it, in words."""
    numbers = q.numbers()
    hints = {}
    for item in q.items:
        condition = q.condition_of(item)
        if condition is not None and item.id not in decided:
            hints[item.id] = _hint(q, condition, numbers, lang, N_("请回答本题。"))
    for group in q.group_list():
        if group.when is not None:
            hints[f"group:{group.id}"] = _hint(q, group.when, numbers, lang, N_("请回答这一部分。"))
    return hints


def _hint(q: Questionnaire, condition: Condition, numbers: dict[str, int], lang: str, then: str) -> str:
    """如第 3 题选择“是”，请回答本题。 (the old wording, kept for the simple case) or 如<rule>，<then>"""
    simple = condition.item is not None and condition.is_ is not None and not condition.comparisons
    if simple and then == N_("请回答本题。") and condition.any_of is None and condition.answered is None:
        choices = _choices(q, condition.item or "", condition.values, lang)
        return gettext(N_("如第 %(n)s 题选择“%(choices)s”，请回答本题。")) % {
            "n": numbers[condition.item or ""],
            "choices": choices,
        }
    return gettext(N_("如%(rule)s，%(then)s")) % {"rule": describe(q, condition, numbers, lang), "then": gettext(then)}


def _choices(q: Questionnaire, item_id: str, values: list[Any], lang: str) -> str:
    labels = q.labels_of(q.item(item_id))
    return "”/“".join(localise(labels[v], lang) if v in labels else str(v) for v in values)


def describe(q: Questionnaire, condition: Condition, numbers: dict[str, int], lang: str) -> str:
    """A condition in words, for the hint next to what it shows."""
    if condition.all is not None:
        return gettext(N_("，并且")).join(describe(q, c, numbers, lang) for c in condition.all)
    if condition.any is not None:
        return gettext(N_("，或者")).join(describe(q, c, numbers, lang) for c in condition.any)
    if condition.not_ is not None:
        return gettext(N_("并非（%(rule)s）")) % {"rule": describe(q, condition.not_, numbers, lang)}
    item = q.item(condition.item or "")
    n = numbers[item.id]
    parts = []
    if condition.answered is not None:
        parts.append(gettext(N_("已回答第 %(n)s 题") if condition.answered else N_("未回答第 %(n)s 题")) % {"n": n})
    on_levels = bool(condition.comparisons) and item.type == "rating"  # levels in words, not numbers
    if condition.comparisons and not on_levels:
        words = {
            "lt": N_("第 %(n)s 题小于 %(v)s"),
            "le": N_("第 %(n)s 题不大于 %(v)s"),
            "gt": N_("第 %(n)s 题大于 %(v)s"),
            "ge": N_("第 %(n)s 题不小于 %(v)s"),
        }
        parts += [gettext(words[op]) % {"n": n, "v": _number(v)} for op, v in condition.comparisons.items()]
    if condition.is_ is not None or on_levels:
        values = [v for v in condition.values or _levels(q, item) if compares(v, condition.comparisons)]
        parts.append(
            gettext(N_("第 %(n)s 题选择“%(choices)s”")) % {"n": n, "choices": _choices(q, item.id, values, lang)}
        )
    if condition.any_of is not None:
        choices = _choices(q, item.id, list(condition.any_of), lang)
        parts.append(gettext(N_("第 %(n)s 题选了“%(choices)s”中的任一项")) % {"n": n, "choices": choices})
    return gettext(N_("，并且")).join(parts)


def _levels(q: Questionnaire, item: Item) -> list[Any]:
    return [v for v in q.labels_of(item) if v != DONT_KNOW]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def condition_css(q: Questionnaire, decided: Collection[str] = ()) -> Markup:
    """CSS that hides a conditional item (or group) until its condition holds, with no JavaScript.

    Browsers without `:has()` ignore the rule and show the item with its hint, which still works;
    so do conditions CSS cannot test (comparisons of typed numbers, "answered"), and items whose
    condition earlier pages decided. A condition is a selector on the form: a test of an item is
    `:has(<its checked inputs>)`, all is the selectors in a row, any is `:is(…)`, not is `:not(…)`.
    Names and values are safe to write unquoted by construction: ids and option values are limited
    to [A-Za-z0-9_-] by the questionnaire format, and level values are integers.
    """
    rules = []
    targets: list[tuple[str, Condition | None]] = [
        (f"#q-{i.id}", q.condition_of(i)) for i in q.items if i.id not in decided
    ]
    targets += [(f"#g-{g.id}", g.when) for g in q.group_list()]
    for target, condition in targets:
        selector = _selector(q, condition) if condition is not None else None
        if selector is not None:
            rules.append(f"form:not({selector}) {target}{{display:none}}")
    return Markup("\n".join(rules))


def _selector(q: Questionnaire, condition: Condition) -> str | None:
    """The condition as a selector matching the form while it holds; None when CSS cannot test it."""
    if condition.all is not None or condition.any is not None:
        parts = [_selector(q, c) for c in condition.all or condition.any or []]
        if any(p is None for p in parts):
            return None
        return (
            "".join(p for p in parts if p) if condition.all is not None else f":is({','.join(p for p in parts if p)})"
        )
    if condition.not_ is not None:
        inner = _selector(q, condition.not_)
        return None if inner is None else f":not({inner})"
    item = q.item(condition.item or "")
    if condition.answered is not None or (condition.comparisons and item.type != "rating"):
        return None
    name = condition.item
    selectors = []
    if condition.is_ is not None or condition.comparisons:
        values = [v for v in condition.values or _levels(q, item) if compares(v, condition.comparisons)]
        if not values:  # no level passes: the condition never holds
            return ":not(form)"
        selectors.append(":has(" + ",".join(f'[name="{name}"][value="{_form_value(v)}"]:checked' for v in values) + ")")
    if condition.any_of is not None:
        selectors.append(":has(" + ",".join(f'[name="{name}"][value="{v}"]:checked' for v in condition.any_of) + ")")
    return "".join(selectors)


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
